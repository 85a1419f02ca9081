//! Programme-defined instruments and SRQ-20's cut-off through the bindings (`Vault.care()`; issue 14,
//! item 8): a coordinator adds a published instrument as JSON (schema `sebaya-instrument/1`,
//! `docs/protocol.md` 22.3), checked first with `check_programme_instrument` (a typed fault), and sets
//! SRQ-20's cut-off and age limits with their citation; the participant's app screens with it
//! through `submit_programme_screening`, the same ladder as the built-ins.

use super::care::{Care, Escalation, escalation};
use super::programmes::parse_programme;
use super::wordings::WordingAnswer;
use super::{Instrument, Result, parse_space, with};

/// Where a programme instrument was published.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InstrumentCitation {
    /// The authors or the publishing body.
    pub authors: String,
    /// Year of publication.
    pub year: u16,
    /// Title of the publication.
    pub title: String,
    /// Journal, volume and pages, publisher, or report number.
    pub published_in: String,
}

/// A band of totals, inclusive.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InstrumentBand {
    /// Its id; its label in a language is in `ProgrammeInstrumentForm.band_labels`.
    pub id: String,
    /// Lowest total in it.
    pub min: u32,
    /// Highest total in it.
    pub max: u32,
    /// Whether a total in it is a positive screen.
    pub positive: bool,
}

/// A risk rule of a programme instrument: these answers to this item raise a flag whatever the
/// total.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InstrumentRiskRule {
    /// The item, from 1.
    pub item: u32,
    /// The answer values that raise it.
    pub values: Vec<u8>,
    /// The flag it raises (`<id>-item<n>`): the rule a referral carries, sealed for coordinators.
    pub flag: String,
}

/// A programme-defined instrument as this device holds it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ProgrammeInstrument {
    /// Its id (`x-…`).
    pub id: String,
    /// Its name as published.
    pub name: String,
    /// Its version, kept with every screening.
    pub version: String,
    /// Where it was published.
    pub citation: InstrumentCitation,
    /// Its licence terms.
    pub licence: String,
    /// Youngest age it is validated for, in years: offer it only from there.
    pub min_age: u32,
    /// Oldest age it is validated for, in years.
    pub max_age: u32,
    /// How many items it has.
    pub items: u32,
    /// The languages it has a form in (lowercase BCP 47 tags).
    pub languages: Vec<String>,
    /// The bands, lowest first.
    pub bands: Vec<InstrumentBand>,
    /// The risk rules.
    pub risk_items: Vec<InstrumentRiskRule>,
}

impl From<sebaya_core::care::programme_instruments::Definition> for ProgrammeInstrument {
    fn from(d: sebaya_core::care::programme_instruments::Definition) -> Self {
        ProgrammeInstrument {
            items: u32::try_from(d.items()).unwrap_or(u32::MAX),
            languages: d.languages.iter().map(|l| l.language.clone()).collect(),
            bands: d
                .bands
                .iter()
                .map(|b| InstrumentBand {
                    id: b.id.clone(),
                    min: b.min,
                    max: b.max,
                    positive: b.positive,
                })
                .collect(),
            risk_items: d
                .risk
                .iter()
                .map(|r| InstrumentRiskRule {
                    item: r.item,
                    values: r.values.clone(),
                    flag: sebaya_core::care::programme_instruments::flag_id(&d.id, r.item),
                })
                .collect(),
            citation: InstrumentCitation {
                authors: d.citation.authors,
                year: d.citation.year,
                title: d.citation.title,
                published_in: d.citation.published_in,
            },
            id: d.id,
            name: d.name,
            version: d.version,
            licence: d.licence,
            min_age: d.min_age,
            max_age: d.max_age,
        }
    }
}

/// A band's label in one language.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct BandLabel {
    /// The band's id.
    pub band: String,
    /// Its label.
    pub label: String,
}

/// A programme instrument's form in one language, as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ProgrammeInstrumentForm {
    /// The instrument's id.
    pub instrument: String,
    /// The language of the form.
    pub language: String,
    /// Shown above the items; may be empty.
    pub instructions: String,
    /// One text per item, in order.
    pub items: Vec<String>,
    /// The answer labels in printed order, each with the value to record when tapped.
    pub options: Vec<WordingAnswer>,
    /// Each band's label in this language.
    pub band_labels: Vec<BandLabel>,
}

/// A programme instrument's score: the participant's own, never sent anywhere.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ProgrammeScore {
    /// The instrument's id.
    pub instrument: String,
    /// Its version.
    pub version: String,
    /// The total.
    pub total: u32,
    /// The band's id (its label: `ProgrammeInstrumentForm.band_labels`).
    pub band: String,
    /// Whether the band is a positive screen.
    pub positive_screen: bool,
    /// Risk flags raised (`<id>-item<n>`).
    pub risk: Vec<String>,
}

impl From<sebaya_core::care::programme_instruments::ProgrammeScore> for ProgrammeScore {
    fn from(s: sebaya_core::care::programme_instruments::ProgrammeScore) -> Self {
        ProgrammeScore {
            instrument: s.instrument,
            version: s.version,
            total: s.total,
            band: s.band,
            positive_screen: s.positive_screen,
            risk: s.risk,
        }
    }
}

/// What is wrong with a programme instrument's JSON: one case per fault a coordinator fixes.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum InstrumentProblem {
    /// Not JSON, or not the schema's shape (a missing or unknown field, a wrong type).
    Json {
        /// Line of the fault.
        line: u32,
        /// Column of the fault.
        column: u32,
    },
    /// Too large.
    TooLarge,
    /// Another schema than `sebaya-instrument/1`.
    Schema,
    /// A malformed id (`x-` and 1 to 24 of a-z, 0-9, -).
    Id,
    /// A built-in instrument's id, or one outside the `x-` namespace.
    ReservedId,
    /// No citation, or an incomplete one.
    MissingCitation,
    /// No licence note.
    MissingLicence,
    /// Name or version empty or too long.
    NameOrVersion,
    /// A text empty, too long, or with a control character.
    Text,
    /// No language.
    NoLanguage,
    /// A malformed or repeated language tag.
    Language,
    /// Languages disagree on the number of items, or it is 0 or too many.
    ItemCount,
    /// An answer label without its value.
    LabelWithoutValue,
    /// Answer values not one run of whole numbers, each once, the same in every language.
    AnswerValues,
    /// Two labels the same.
    DuplicateLabel,
    /// A reverse-scored item that is not an item.
    ReverseItemOutOfRange {
        /// The item given.
        item: u32,
    },
    /// A multiplier out of range.
    Multiplier,
    /// A malformed band, or one without its label in a language.
    Band,
    /// Two bands hold the same total.
    BandsOverlap {
        /// The first total in both.
        at: u32,
    },
    /// No band holds a total.
    BandsGap {
        /// The first total in none.
        at: u32,
    },
    /// A risk item that is not an item.
    RiskItemOutOfRange {
        /// The item given.
        item: u32,
    },
    /// A risk item with no answer, or one outside the answer values.
    RiskValueOutOfRange {
        /// The item.
        item: u32,
    },
    /// An age range upside down or too high.
    Age,
}

impl From<sebaya_core::care::programme_instruments::DefinitionError> for InstrumentProblem {
    fn from(e: sebaya_core::care::programme_instruments::DefinitionError) -> Self {
        use sebaya_core::care::programme_instruments::DefinitionError as E;
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        match e {
            E::Json { line, column } => Self::Json {
                line: n(line),
                column: n(column),
            },
            E::TooLarge => Self::TooLarge,
            E::Schema => Self::Schema,
            E::Id => Self::Id,
            E::ReservedId => Self::ReservedId,
            E::MissingCitation => Self::MissingCitation,
            E::MissingLicence => Self::MissingLicence,
            E::NameOrVersion => Self::NameOrVersion,
            E::Text => Self::Text,
            E::NoLanguage => Self::NoLanguage,
            E::Language => Self::Language,
            E::ItemCount => Self::ItemCount,
            E::LabelWithoutValue => Self::LabelWithoutValue,
            E::AnswerValues => Self::AnswerValues,
            E::DuplicateLabel => Self::DuplicateLabel,
            E::ReverseItemOutOfRange { item } => Self::ReverseItemOutOfRange { item },
            E::Multiplier => Self::Multiplier,
            E::Band(_) => Self::Band,
            E::BandsOverlap { at } => Self::BandsOverlap { at },
            E::BandsGap { at } => Self::BandsGap { at },
            E::RiskItemOutOfRange { item } => Self::RiskItemOutOfRange { item },
            E::RiskValueOutOfRange { item } => Self::RiskValueOutOfRange { item },
            E::Age => Self::Age,
        }
    }
}

/// What is wrong with a programme instrument's JSON, without a vault: `null` when it checks (then
/// `set_programme_instrument` keeps it), else the first fault, typed. `set_programme_instrument`
/// refuses exactly these, as `InvalidInput` whose message starts with the fault's code.
#[uniffi::export]
pub fn check_programme_instrument(json: String) -> Option<InstrumentProblem> {
    sebaya_core::care::programme_instruments::parse(&json)
        .err()
        .map(Into::into)
}

/// SRQ-20's cut-off and age limits as they stand on this device.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Srq20Settings {
    /// Yes answers from which a screen is positive.
    pub cutoff: u32,
    /// Youngest age to offer it to, in years (null: no limit).
    pub min_age: Option<u32>,
    /// Oldest age, in years (null: no limit).
    pub max_age: Option<u32>,
    /// Where the cut-off and limits come from.
    pub citation: String,
    /// True when no programme set its own (cut-off 6, the national survey's, no age limits).
    pub is_default: bool,
}

#[uniffi::export]
impl Care {
    /// A coordinator adds or replaces (by id) a programme-defined instrument (JSON, schema
    /// `sebaya-instrument/1`) in the programme's care records, so every member device gets it.
    /// Throws `InvalidInput` (message starting with the fault's code; `check_programme_instrument`
    /// gives it typed), `NotAllowed` for anyone but a coordinator, `NotFound` when this device holds
    /// no care record of the programme yet.
    pub fn set_programme_instrument(
        &self,
        programme_id: String,
        json: String,
    ) -> Result<ProgrammeInstrument> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| {
            v.set_programme_instrument(&p, &json).map(Into::into)
        })
    }

    /// The programme instruments this device's care records carry.
    pub fn programme_instruments(&self) -> Result<Vec<ProgrammeInstrument>> {
        with(&self.inner, |v| {
            Ok(v.programme_instruments()
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Whether programme instrument `id` has a form in `language`: hide it when false (never show
    /// another language). Throws `NotFound` for an instrument this device does not hold.
    pub fn programme_instrument_offered(&self, id: String, language: String) -> Result<bool> {
        with(&self.inner, |v| {
            v.programme_instrument_offered(&id, &language)
        })
    }

    /// The form of programme instrument `id` in `language` (its tag or its primary language).
    /// Throws `NotFound` when it has none there.
    pub fn programme_instrument_form(
        &self,
        id: String,
        language: String,
    ) -> Result<ProgrammeInstrumentForm> {
        with(&self.inner, |v| {
            sebaya_core::care::wordings::normalize_language(&language)?;
            let d = v.programme_instrument(&id)?;
            let f = d.form(&language).ok_or(sebaya_core::Error::NotFound(
                "programme instrument in this language",
            ))?;
            Ok(ProgrammeInstrumentForm {
                instrument: d.id.clone(),
                language: f.language.clone(),
                instructions: f.instructions.clone(),
                items: f.items.clone(),
                options: f
                    .options
                    .iter()
                    .map(|o| WordingAnswer {
                        label: o.label.clone(),
                        value: o.value,
                    })
                    .collect(),
                band_labels: f
                    .bands
                    .iter()
                    .map(|(band, label)| BandLabel {
                        band: band.clone(),
                        label: label.clone(),
                    })
                    .collect(),
            })
        })
    }

    /// Scores programme instrument `id` answered in `language`, keeps the total with its version,
    /// wording and language, and runs the same ladder as `submit_screening`: a risk rule that fires
    /// refers (its flag is in `rules` as `RiskFlag.Unknown { raw: "<id>-item<n>" }`), and the
    /// crisis numbers always come back; the score is in `programme_score`. Throws `NotFound` for
    /// an instrument or language this device has no form for, `InvalidInput` for answers that
    /// cannot be scored: on any error, show `emergency_help` at once.
    pub fn submit_programme_screening(
        &self,
        id: String,
        language: String,
        answers: Vec<u8>,
        country: String,
    ) -> Result<Escalation> {
        with(&self.inner, |v| {
            v.submit_programme_screening(&id, &language, &answers, &country)
        })
        .map(escalation)
    }

    /// A programme instrument a supporter reads aloud and enters for the participant: escalated by
    /// the same rules as `submit_screening_for`; no score is returned or kept.
    pub fn submit_programme_screening_for(
        &self,
        care_id: String,
        id: String,
        answers: Vec<u8>,
        country: String,
    ) -> Result<Escalation> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| {
            v.submit_programme_screening_for(&c, &id, &answers, &country)
        })
        .map(escalation)
    }

    /// `submit_screening` for a form shown in `language`: the kept screening names the wording,
    /// its language and the scoring version. Throws `NotFound` when the instrument has no wording
    /// in that language (it was not offered).
    pub fn submit_screening_with(
        &self,
        instrument: Instrument,
        language: String,
        answers: Vec<u8>,
        country: String,
    ) -> Result<Escalation> {
        let inst = instrument.to_core()?;
        with(&self.inner, |v| {
            v.submit_screening_with(inst, &language, &answers, &country)
        })
        .map(escalation)
    }

    /// A coordinator sets SRQ-20's cut-off (1 to 20 yes answers) and age limits (null: none) for
    /// the programme, with their citation (required). Throws `NotAllowed` for anyone else,
    /// `InvalidInput` for a bad value or a missing citation. Returns how many records were written.
    pub fn set_srq20_settings(
        &self,
        programme_id: String,
        cutoff: u32,
        min_age: Option<u32>,
        max_age: Option<u32>,
        citation: String,
    ) -> Result<u32> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| {
            v.set_srq20_settings(&p, cutoff, min_age, max_age, &citation)
        })
    }

    /// SRQ-20's cut-off and age limits on this device (the programme's, else the default).
    pub fn srq20_settings(&self) -> Result<Srq20Settings> {
        with(&self.inner, |v| {
            let s = v.srq20_settings();
            Ok(Srq20Settings {
                cutoff: s.cutoff,
                min_age: s.min_age,
                max_age: s.max_age,
                citation: s.citation,
                is_default: s.default,
            })
        })
    }

    /// Whether SRQ-20 is for a person of `age` years here: ask before offering it.
    pub fn srq20_suits_age(&self, age: u32) -> Result<bool> {
        with(&self.inner, |v| Ok(v.srq20_suits_age(age)))
    }
}
