//! Instrument item wordings through the bindings (`Vault.care()`; issue 4, issue 14 items 6 and 7): a
//! programme imports its own wording (JSON, schema `sebaya-wording/2`, `docs/care-data.md`), each
//! answer label with the value it scores, after checking it with `preview_instrument_wording`; the
//! app asks `instrument_offered` first and hides a screening that is not offered in the person's
//! language (check-ins and "I need help now" stay), then shows `instrument_wording`, marked when
//! `validated` is false, its labels in `display_order`.

use super::care::Care;
use super::{Instrument, Result, RiskFlag, with};

/// The wording of an instrument to show, with where it comes from.
#[derive(Clone, Debug, uniffi::Record)]
pub struct InstrumentWording {
    /// Which instrument.
    pub instrument: Instrument,
    /// The language of the text (lowercase BCP 47 tag, "en", "id", "id-id").
    pub language: String,
    /// Instructions shown above the items; may be empty.
    pub instructions: String,
    /// One text per item, in order.
    pub items: Vec<String>,
    /// One label per answer value: `options[v]` labels answer `v` (0 first).
    pub options: Vec<String>,
    /// The answer values in the order the form prints them (each once): show
    /// `options[display_order[0]]` first, and record the value of the label tapped.
    pub display_order: Vec<u8>,
    /// The items (numbered from 1) whose answer can raise a risk flag: PHQ-9 `[9]`, SRQ-20 `[17]`,
    /// GAD-7 and WHO-5 none.
    pub risk_items: Vec<u32>,
    /// The citation; null for a wording nobody vouched for.
    pub source: Option<String>,
    /// False when no source is cited: show "unvalidated wording".
    pub validated: bool,
    /// True for the wording built into the core (English, cited).
    pub builtin: bool,
}

impl From<sebaya_core::care::wordings::Wording> for InstrumentWording {
    fn from(w: sebaya_core::care::wordings::Wording) -> Self {
        InstrumentWording {
            instrument: w.instrument.into(),
            language: w.language,
            instructions: w.instructions,
            items: w.items,
            options: w.options,
            display_order: w.display_order,
            risk_items: w.risk_items,
            source: w.source,
            validated: w.validated,
            builtin: w.builtin,
        }
    }
}

/// One answer label with the value it scores.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct WordingAnswer {
    /// The label as the form prints it.
    pub label: String,
    /// The value it scores.
    pub value: u8,
}

impl From<sebaya_core::care::wordings::AnswerPreview> for WordingAnswer {
    fn from(a: sebaya_core::care::wordings::AnswerPreview) -> Self {
        WordingAnswer {
            label: a.label,
            value: a.value,
        }
    }
}

/// An item whose answer raises a risk flag, and the answers that raise it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct WordingRiskItem {
    /// The item's number, from 1.
    pub item: u32,
    /// The item's text in this wording.
    pub text: String,
    /// The flag it raises.
    pub flag: RiskFlag,
    /// The answers that raise it, in the printed order.
    pub raised_by: Vec<WordingAnswer>,
}

/// What a wording JSON does once imported, for a coordinator to check first.
#[derive(Clone, Debug, uniffi::Record)]
pub struct WordingPreview {
    /// The wording as an import would keep it.
    pub wording: InstrumentWording,
    /// Every answer label with the value it scores, in the printed order.
    pub answers: Vec<WordingAnswer>,
    /// The items that raise a risk flag (PHQ-9 item 9, SRQ-20 item 17), with the answers that do.
    pub risk_items: Vec<WordingRiskItem>,
}

/// How a programme's wording JSON (schema `sebaya-wording/2`) will score, without importing it and
/// without a vault: each label with its value in the printed order, and which items raise a risk
/// flag on which answers. Throws `InvalidInput` for exactly what `import_instrument_wording` refuses
/// (a `sebaya-wording/1` JSON included); the message never repeats the text given.
#[uniffi::export]
pub fn preview_instrument_wording(json: String) -> Result<WordingPreview> {
    let p = sebaya_core::care::wordings::preview(&json)?;
    Ok(WordingPreview {
        wording: p.wording.into(),
        answers: p.answers.into_iter().map(Into::into).collect(),
        risk_items: p
            .risk
            .into_iter()
            .map(|r| WordingRiskItem {
                item: r.item,
                text: r.text,
                flag: r.flag.into(),
                raised_by: r.raised_by.into_iter().map(Into::into).collect(),
            })
            .collect(),
    })
}

#[uniffi::export]
impl Care {
    /// Keeps a programme's wording (JSON, schema `sebaya-wording/2`) on this device, replacing the
    /// earlier one for the same instrument and language; returns it. Throws `InvalidInput` (nothing
    /// kept) for malformed JSON, another schema (`sebaya-wording/1` included: its labels carry no
    /// values), an unknown instrument, wrong item or label counts, answer values other than 0 to the
    /// highest answer each once, `risk_items` other than the instrument's rule's, oversized texts or
    /// control characters.
    pub fn import_instrument_wording(&self, json: String) -> Result<InstrumentWording> {
        with(&self.inner, |v| {
            v.import_instrument_wording(&json).map(Into::into)
        })
    }

    /// The wording to show for `instrument` in `language` ("id", "en", "id-ID"; Android's old "in"
    /// reads as "id"): the programme's for that tag or its primary language, else for English the
    /// built-in English one. Throws `NotFound` when the language has none: the screening is not
    /// offered in it (never English instead); ask `instrument_offered` first.
    pub fn instrument_wording(
        &self,
        instrument: Instrument,
        language: String,
    ) -> Result<InstrumentWording> {
        let inst = instrument.to_core()?;
        with(&self.inner, |v| {
            v.instrument_wording(inst, &language).map(Into::into)
        })
    }

    /// Whether `instrument` has a wording in `language`, so `instrument_wording` will answer: when
    /// false the app hides this screening (check-ins and "I need help now" stay available). Throws
    /// `InvalidInput` for an unknown instrument or a malformed language tag.
    pub fn instrument_offered(&self, instrument: Instrument, language: String) -> Result<bool> {
        let inst = instrument.to_core()?;
        with(&self.inner, |v| v.instrument_offered(inst, &language))
    }
}
