//! Instrument item wordings through the bindings (`Vault.care()`; issue 4): a programme imports its own wording
//! (JSON, schema `sebaya-wording/1`, `docs/care-data.md`); the app asks for the wording to show and
//! must mark it when `validated` is false or `fallback_language` is true.

use super::care::Care;
use super::{Instrument, Result, with};

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
    /// The citation; null for a wording nobody vouched for.
    pub source: Option<String>,
    /// False when no source is cited: show "unvalidated wording".
    pub validated: bool,
    /// True for the wording built into the core (English, cited).
    pub builtin: bool,
    /// True when the requested language has no wording and this one (English) is shown instead.
    pub fallback_language: bool,
}

impl From<sebaya_core::care::wordings::Wording> for InstrumentWording {
    fn from(w: sebaya_core::care::wordings::Wording) -> Self {
        InstrumentWording {
            instrument: w.instrument.into(),
            language: w.language,
            instructions: w.instructions,
            items: w.items,
            options: w.options,
            source: w.source,
            validated: w.validated,
            builtin: w.builtin,
            fallback_language: w.fallback_language,
        }
    }
}

#[uniffi::export]
impl Care {
    /// Keeps a programme's wording (JSON, schema `sebaya-wording/1`) on this device, replacing the
    /// earlier one for the same instrument and language; returns it. Throws `InvalidInput` (nothing
    /// kept) for malformed JSON, another schema, an unknown instrument, wrong item or label counts,
    /// oversized texts or control characters.
    pub fn import_instrument_wording(&self, json: String) -> Result<InstrumentWording> {
        with(&self.inner, |v| {
            v.import_instrument_wording(&json).map(Into::into)
        })
    }

    /// The wording to show for `instrument` in `language` ("id", "en", "id-ID"): the programme's
    /// if it supplied one, else English (built in), with `fallback_language` set when the language
    /// asked for had none.
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
}
