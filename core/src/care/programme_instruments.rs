//! Programme-defined instruments (issue 14, item 8): a published instrument a programme adds as data
//! (PHQ-A for adolescents, PCL-5 after a disaster, SDQ in schools), beside the four built in.
//!
//! Why data: which instrument fits depends on who a programme serves, and the instrument that counts
//! is the published one with its own items, scoring, bands and cut-offs, which this core must not
//! invent or approximate. So a coordinator supplies the whole definition (schema
//! `sebaya-instrument/1`, `docs/protocol.md` 22.3) with its citation, and it is checked strictly here:
//! every fault has its own [`DefinitionError`], so a coordinator learns exactly what to fix, and
//! nothing half-valid is kept. What the checks guarantee is what scoring relies on: every answer
//! has a value, every total falls in exactly one band, and every risk rule names a real item and
//! answer. The risk rules then work as the built-ins' do: a flag (`<id>-item<n>`) raises the same
//! sealed referral, whatever the total.
//!
//! Ids live in their own namespace ([`ID_PREFIX`]) so that a programme's instrument can never be
//! taken for a built-in one, in a stored screening or in a referral's reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::care::instruments::Instrument;
use crate::care::wordings::normalize_language;
use crate::error::{Error, Result};

/// The schema id of a programme instrument's JSON, in its `schema` field.
pub const SCHEMA: &str = "sebaya-instrument/1";
/// Every programme instrument's id starts with this: the built-ins' ids never do.
pub const ID_PREFIX: &str = "x-";
/// Longest id after the prefix: `x-` + 24 + `-item` + 3 digits stays within the 40 characters a
/// referral's reason may have.
pub const MAX_ID_SUFFIX: usize = 24;
/// Largest definition JSON accepted, in bytes (all its languages).
pub const MAX_JSON_BYTES: usize = 256 * 1024;
/// Most items an instrument may have.
pub const MAX_ITEMS: usize = 200;
/// Highest answer value.
pub const MAX_VALUE: u8 = 20;
/// Largest multiplier.
pub const MAX_MULTIPLIER: u32 = 100;
/// Most languages in one definition.
pub const MAX_LANGUAGES: usize = 16;
/// Most bands.
pub const MAX_BANDS: usize = 12;
/// Longest name, version, licence or citation field, in characters.
pub const MAX_FIELD_CHARS: usize = 500;
/// Longest item text, instructions or label, in characters (as for wordings).
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Oldest year a citation may give.
pub const MIN_YEAR: u16 = 1900;
/// Highest age limit, in years.
pub const MAX_AGE: u32 = 120;

/// What is wrong with a definition: one case per fault a coordinator must fix. The message (and
/// [`DefinitionError::code`]) names the fault and where, never the text given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    /// Not JSON, or not the shape of the schema (a missing or unknown field, a wrong type).
    #[error("not valid definition JSON (line {line}, column {column})")]
    Json {
        /// Line of the fault.
        line: usize,
        /// Column of the fault.
        column: usize,
    },
    /// Larger than [`MAX_JSON_BYTES`].
    #[error("larger than {MAX_JSON_BYTES} bytes")]
    TooLarge,
    /// Another schema than [`SCHEMA`].
    #[error("schema must be {SCHEMA}")]
    Schema,
    /// The id is not `x-` and 1 to 24 of `a-z`, `0-9`, `-`.
    #[error("id must be x- and 1 to 24 of a-z, 0-9 and -")]
    Id,
    /// The id is a built-in instrument's, or lacks the programme namespace (`x-`).
    #[error("id is a built-in instrument's or outside the x- namespace")]
    ReservedId,
    /// No citation, or one without authors, a year from 1900, a title and where it was published.
    #[error("a citation with authors, year, title and where it was published is required")]
    MissingCitation,
    /// No licence note.
    #[error("a licence note is required")]
    MissingLicence,
    /// The name or version is empty or too long.
    #[error("name and version are required, each at most {MAX_FIELD_CHARS} characters")]
    NameOrVersion,
    /// A text is empty, too long, or holds a control character.
    #[error("a text is empty, too long, or holds a control character")]
    Text,
    /// No language given.
    #[error("at least one language is required")]
    NoLanguage,
    /// A language tag is malformed, given twice, or there are too many.
    #[error("a language tag is malformed or given twice")]
    Language,
    /// The languages disagree on the number of items, or it is 0 or above [`MAX_ITEMS`].
    #[error("every language needs the same number of items, 1 to {MAX_ITEMS}")]
    ItemCount,
    /// An answer label has no value.
    #[error("every answer label needs its value")]
    LabelWithoutValue,
    /// Answer values are not one run of whole numbers, each once, the same in every language, at
    /// most [`MAX_VALUE`].
    #[error(
        "answer values must be one run of whole numbers up to {MAX_VALUE}, each once, the same in every language"
    )]
    AnswerValues,
    /// Two labels of one language are the same.
    #[error("two answer labels are the same")]
    DuplicateLabel,
    /// A reverse-scored item number is not an item.
    #[error("reverse-scored item {item} is not an item")]
    ReverseItemOutOfRange {
        /// The item number given.
        item: u32,
    },
    /// The multiplier is not 1 to [`MAX_MULTIPLIER`].
    #[error("the multiplier must be 1 to {MAX_MULTIPLIER}")]
    Multiplier,
    /// A band is malformed: a bad or repeated id, its lowest above its highest, beyond the possible
    /// totals, too many bands, or a language without its label.
    #[error("a band is malformed or lacks a label in a language")]
    Band(&'static str),
    /// Two bands both hold the total `at`.
    #[error("bands overlap at total {at}")]
    BandsOverlap {
        /// The first total in both.
        at: u32,
    },
    /// No band holds the total `at`.
    #[error("no band holds total {at}")]
    BandsGap {
        /// The first total in none.
        at: u32,
    },
    /// A risk rule names an item the instrument does not have (or one twice).
    #[error("risk item {item} is not an item, or is given twice")]
    RiskItemOutOfRange {
        /// The item number given.
        item: u32,
    },
    /// A risk rule names no answer, or one outside the answer values.
    #[error("risk item {item} needs answers among the answer values")]
    RiskValueOutOfRange {
        /// The item number.
        item: u32,
    },
    /// The age range is upside down or beyond [`MAX_AGE`].
    #[error("the age range must be min to max years, at most {MAX_AGE}")]
    Age,
}

impl DefinitionError {
    /// A stable code for the fault (the start of the [`Error::InvalidInput`] message), for apps and
    /// tests to tell faults apart.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json { .. } => "json",
            Self::TooLarge => "too-large",
            Self::Schema => "schema",
            Self::Id => "id",
            Self::ReservedId => "reserved-id",
            Self::MissingCitation => "missing-citation",
            Self::MissingLicence => "missing-licence",
            Self::NameOrVersion => "name-or-version",
            Self::Text => "text",
            Self::NoLanguage => "no-language",
            Self::Language => "language",
            Self::ItemCount => "item-count",
            Self::LabelWithoutValue => "label-without-value",
            Self::AnswerValues => "answer-values",
            Self::DuplicateLabel => "duplicate-label",
            Self::ReverseItemOutOfRange { .. } => "reverse-item-out-of-range",
            Self::Multiplier => "multiplier",
            Self::Band(_) => "band",
            Self::BandsOverlap { .. } => "bands-overlap",
            Self::BandsGap { .. } => "bands-gap",
            Self::RiskItemOutOfRange { .. } => "risk-item-out-of-range",
            Self::RiskValueOutOfRange { .. } => "risk-value-out-of-range",
            Self::Age => "age",
        }
    }
}

impl From<DefinitionError> for Error {
    fn from(e: DefinitionError) -> Self {
        Error::InvalidInput(format!("{}: {e}", e.code()))
    }
}

/// Where the instrument was published: what a coordinator and a reviewer check it against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// The authors (or the body that published it).
    pub authors: String,
    /// The year of publication.
    pub year: u16,
    /// The title of the instrument's publication.
    pub title: String,
    /// Where it was published (journal, volume and pages; a publisher; a report number).
    pub published_in: String,
}

/// A band: the totals from `min` to `max`, inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreBand {
    /// Its id (1 to 40 of `a-z`, `0-9`, `-`).
    pub id: String,
    /// Lowest total in it.
    pub min: u32,
    /// Highest total in it.
    pub max: u32,
    /// Whether a total in it is a positive screen (the published cut-off).
    pub positive: bool,
}

/// A risk rule: these answers to this item raise a flag whatever the total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRule {
    /// The item, numbered from 1.
    pub item: u32,
    /// The answer values that raise it.
    pub values: Vec<u8>,
}

/// One answer label with the value it scores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerOption {
    /// The label as the form prints it.
    pub label: String,
    /// The value it scores.
    pub value: u8,
}

/// The instrument in one language, as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageForm {
    /// A lowercase BCP 47 tag.
    pub language: String,
    /// Shown above the items; may be empty.
    #[serde(default)]
    pub instructions: String,
    /// One text per item, in order.
    pub items: Vec<String>,
    /// The answer labels in printed order, each with its value.
    pub options: Vec<AnswerOption>,
    /// Each band's label in this language, by band id.
    pub bands: BTreeMap<String, String>,
}

/// How totals are made: the sum of the item values (reverse-scored items counted from the other
/// end), times the multiplier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Items (from 1) whose value counts as `highest + lowest - value`.
    #[serde(default)]
    pub reverse_items: Vec<u32>,
    /// What the sum is multiplied by (1 when absent).
    #[serde(default = "one")]
    pub multiplier: u32,
}

fn one() -> u32 {
    1
}

/// The ages, in whole years, the instrument was validated for (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRange {
    /// Youngest.
    pub min: u32,
    /// Oldest.
    pub max: u32,
}

/// A checked programme instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// Its id (`x-…`).
    pub id: String,
    /// Its name as published.
    pub name: String,
    /// The version of the instrument (as its publisher numbers it), kept with every screening.
    pub version: String,
    /// Where it was published.
    pub citation: Citation,
    /// Its licence terms (free to use, permission obtained from…).
    pub licence: String,
    /// Youngest age it is validated for, in years.
    pub min_age: u32,
    /// Oldest age it is validated for, in years.
    pub max_age: u32,
    /// How totals are made.
    pub scoring: Scoring,
    /// The bands, lowest first, covering every total once.
    pub bands: Vec<ScoreBand>,
    /// The risk rules, by item.
    pub risk: Vec<RiskRule>,
    /// The forms, one per language.
    pub languages: Vec<LanguageForm>,
}

/// A scored programme instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgrammeScore {
    /// The instrument's id.
    pub instrument: String,
    /// Its version.
    pub version: String,
    /// The total.
    pub total: u32,
    /// The id of the band it falls in.
    pub band: String,
    /// Whether the band is a positive screen.
    pub positive_screen: bool,
    /// Risk flags raised (`<id>-item<n>`), in item order.
    pub risk: Vec<String>,
}

/// The JSON shape. `citation`, `licence` and each option's `value` are read as optional so that
/// their absence is its own fault, not a generic JSON error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionJson {
    schema: String,
    id: String,
    name: String,
    version: String,
    citation: Option<Citation>,
    licence: Option<String>,
    age: AgeRange,
    scoring: Scoring,
    bands: Vec<ScoreBand>,
    risk_items: Vec<RiskRule>,
    languages: Vec<LanguageJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LanguageJson {
    language: String,
    #[serde(default)]
    instructions: String,
    items: Vec<String>,
    options: Vec<OptionJson>,
    bands: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionJson {
    label: String,
    value: Option<u8>,
}

/// Whether `reason` is a programme instrument's risk flag: `x-<id>-item<n>`, a token a referral may
/// carry. (`record.rs` accepts it as a rule's reason; which instrument it came from is the
/// participant's programme's business, and it is sealed for the coordinators like the built-ins'.)
pub fn is_programme_flag(reason: &str) -> bool {
    let Some(rest) = reason.strip_prefix(ID_PREFIX) else {
        return false;
    };
    let Some((id, n)) = rest.rsplit_once("-item") else {
        return false;
    };
    valid_suffix(id)
        && (1..=3).contains(&n.len())
        && n.bytes().all(|b| b.is_ascii_digit())
        && !n.starts_with('0')
}

fn valid_suffix(s: &str) -> bool {
    (1..=MAX_ID_SUFFIX).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn text_ok(s: &str, max: usize, may_be_empty: bool, newlines: bool) -> bool {
    (may_be_empty || !s.trim().is_empty())
        && s.chars().count() <= max
        && !s
            .chars()
            .any(|c| c.is_control() && !(newlines && c == '\n'))
}

/// The flag id item `n` of instrument `id` raises.
pub fn flag_id(id: &str, item: u32) -> String {
    format!("{id}-item{item}")
}

/// Reads and checks a definition (schema [`SCHEMA`]). Every fault is its own [`DefinitionError`];
/// the first found is returned and nothing is kept.
pub fn parse(json: &str) -> std::result::Result<Definition, DefinitionError> {
    use DefinitionError as E;
    if json.len() > MAX_JSON_BYTES {
        return Err(E::TooLarge);
    }
    let raw: DefinitionJson = serde_json::from_str(json).map_err(|e| E::Json {
        line: e.line(),
        column: e.column(),
    })?;
    if raw.schema != SCHEMA {
        return Err(E::Schema);
    }
    // The id first: it names the instrument in every later fault a coordinator reads about.
    if Instrument::from_id(&raw.id).is_ok() || !raw.id.starts_with(ID_PREFIX) {
        return Err(E::ReservedId);
    }
    if !valid_suffix(&raw.id[ID_PREFIX.len()..]) {
        return Err(E::Id);
    }
    let citation = raw.citation.ok_or(E::MissingCitation)?;
    let cited = [&citation.authors, &citation.title, &citation.published_in]
        .iter()
        .all(|s| text_ok(s, MAX_FIELD_CHARS, false, false))
        && citation.year >= MIN_YEAR;
    if !cited {
        return Err(E::MissingCitation);
    }
    let licence = raw.licence.unwrap_or_default();
    if !text_ok(&licence, MAX_FIELD_CHARS, false, false) {
        return Err(E::MissingLicence);
    }
    if !text_ok(&raw.name, MAX_FIELD_CHARS, false, false)
        || !text_ok(&raw.version, MAX_FIELD_CHARS, false, false)
    {
        return Err(E::NameOrVersion);
    }
    if raw.age.min > raw.age.max || raw.age.max > MAX_AGE {
        return Err(E::Age);
    }
    let languages = check_languages(raw.languages)?;
    let items = languages.first().map(|l| l.items.len()).unwrap_or(0);
    let (lowest, highest) = value_range(&languages[0].options);
    let scoring = raw.scoring;
    if !(1..=MAX_MULTIPLIER).contains(&scoring.multiplier) {
        return Err(E::Multiplier);
    }
    for &r in &scoring.reverse_items {
        if r == 0
            || r as usize > items
            || scoring.reverse_items.iter().filter(|&&x| x == r).count() > 1
        {
            return Err(E::ReverseItemOutOfRange { item: r });
        }
    }
    let n = u32::try_from(items).map_err(|_| E::ItemCount)?;
    let min_total = n * u32::from(lowest) * scoring.multiplier;
    let max_total = n * u32::from(highest) * scoring.multiplier;
    let bands = check_bands(raw.bands, min_total, max_total, &languages)?;
    let mut risk = raw.risk_items;
    for (i, r) in risk.iter().enumerate() {
        if r.item == 0 || r.item as usize > items || risk[..i].iter().any(|p| p.item == r.item) {
            return Err(E::RiskItemOutOfRange { item: r.item });
        }
        if r.values.is_empty() || r.values.iter().any(|v| *v < lowest || *v > highest) {
            return Err(E::RiskValueOutOfRange { item: r.item });
        }
    }
    crate::order::sort_by_key(&mut risk, |r| r.item);
    for r in &mut risk {
        crate::order::sort(&mut r.values);
        r.values.dedup();
    }
    Ok(Definition {
        id: raw.id,
        name: raw.name,
        version: raw.version,
        citation,
        licence,
        min_age: raw.age.min,
        max_age: raw.age.max,
        scoring,
        bands,
        risk,
        languages,
    })
}

/// The lowest and highest answer value of checked options.
fn value_range(options: &[AnswerOption]) -> (u8, u8) {
    let lo = options.iter().map(|o| o.value).min().unwrap_or(0);
    let hi = options.iter().map(|o| o.value).max().unwrap_or(0);
    (lo, hi)
}

fn check_languages(
    given: Vec<LanguageJson>,
) -> std::result::Result<Vec<LanguageForm>, DefinitionError> {
    use DefinitionError as E;
    if given.is_empty() {
        return Err(E::NoLanguage);
    }
    if given.len() > MAX_LANGUAGES {
        return Err(E::Language);
    }
    let mut out: Vec<LanguageForm> = Vec::with_capacity(given.len());
    let mut first_values: Option<Vec<u8>> = None;
    for l in given {
        let language = normalize_language(&l.language).map_err(|_| E::Language)?;
        if out.iter().any(|o| o.language == language) {
            return Err(E::Language);
        }
        if l.items.is_empty()
            || l.items.len() > MAX_ITEMS
            || out.first().is_some_and(|f| f.items.len() != l.items.len())
        {
            return Err(E::ItemCount);
        }
        let mut options = Vec::with_capacity(l.options.len());
        for o in l.options {
            let value = o.value.ok_or(E::LabelWithoutValue)?;
            options.push(AnswerOption {
                label: o.label,
                value,
            });
        }
        let mut values: Vec<u8> = options.iter().map(|o| o.value).collect();
        crate::order::sort(&mut values);
        let run = values.len() >= 2
            && values.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]))
            && values.last().is_some_and(|v| *v <= MAX_VALUE);
        if !run || first_values.as_ref().is_some_and(|f| *f != values) {
            return Err(E::AnswerValues);
        }
        first_values.get_or_insert(values);
        let texts_ok = text_ok(&l.instructions, MAX_TEXT_CHARS, true, true)
            && l.items
                .iter()
                .all(|i| text_ok(i, MAX_TEXT_CHARS, false, false))
            && options
                .iter()
                .all(|o| text_ok(&o.label, MAX_TEXT_CHARS, false, false))
            && l.bands
                .values()
                .all(|b| text_ok(b, MAX_FIELD_CHARS, false, false));
        if !texts_ok {
            return Err(E::Text);
        }
        for (i, o) in options.iter().enumerate() {
            if options[..i]
                .iter()
                .any(|p| p.label.trim() == o.label.trim())
            {
                return Err(E::DuplicateLabel);
            }
        }
        out.push(LanguageForm {
            language,
            instructions: l.instructions,
            items: l.items,
            options,
            bands: l.bands,
        });
    }
    Ok(out)
}

fn check_bands(
    mut bands: Vec<ScoreBand>,
    min_total: u32,
    max_total: u32,
    languages: &[LanguageForm],
) -> std::result::Result<Vec<ScoreBand>, DefinitionError> {
    use DefinitionError as E;
    if bands.is_empty() || bands.len() > MAX_BANDS {
        return Err(E::Band("one to twelve bands"));
    }
    for (i, b) in bands.iter().enumerate() {
        if !super::record::token(&b.id) || bands[..i].iter().any(|p| p.id == b.id) {
            return Err(E::Band("a band id is malformed or repeated"));
        }
        if b.min > b.max || b.max > max_total {
            return Err(E::Band("a band is upside down or beyond the highest total"));
        }
    }
    crate::order::sort_by_key(&mut bands, |b| (b.min, b.max));
    let mut next = min_total;
    for b in &bands {
        if b.min > next {
            return Err(E::BandsGap { at: next });
        }
        if b.min < next {
            // Below the lowest total (the first band), or into the band before.
            return match next == min_total {
                true => Err(E::Band("a band starts below the lowest total")),
                false => Err(E::BandsOverlap { at: b.min }),
            };
        }
        next = b.max.saturating_add(1);
    }
    if next <= max_total {
        return Err(E::BandsGap { at: next });
    }
    for l in languages {
        if l.bands.len() != bands.len() || bands.iter().any(|b| !l.bands.contains_key(&b.id)) {
            return Err(E::Band("every language labels every band, and only those"));
        }
    }
    Ok(bands)
}

impl Definition {
    /// How many items it has.
    pub fn items(&self) -> usize {
        self.languages.first().map(|l| l.items.len()).unwrap_or(0)
    }

    /// The lowest and highest answer value.
    pub fn value_range(&self) -> (u8, u8) {
        self.languages
            .first()
            .map(|l| value_range(&l.options))
            .unwrap_or((0, 0))
    }

    /// The form for `language`: its exact tag, else its primary language; `None` when it has none
    /// (the screening is not offered in that language: never another language instead).
    pub fn form(&self, language: &str) -> Option<&LanguageForm> {
        let lang = normalize_language(language).ok()?;
        let primary = lang.split('-').next().unwrap_or(&lang).to_string();
        self.languages
            .iter()
            .find(|l| l.language == lang)
            .or_else(|| self.languages.iter().find(|l| l.language == primary))
    }

    /// Whether the instrument is validated for a person of `age` years.
    pub fn suits_age(&self, age: u32) -> bool {
        (self.min_age..=self.max_age).contains(&age)
    }

    /// Scores one completed form: one answer per item, each among the answer values; anything else
    /// is [`Error::InvalidInput`] and nothing is scored.
    pub fn score(&self, answers: &[u8]) -> Result<ProgrammeScore> {
        if answers.len() != self.items() {
            return Err(Error::InvalidInput(format!(
                "{} has {} items, {} answers given",
                self.id,
                self.items(),
                answers.len()
            )));
        }
        let (lo, hi) = self.value_range();
        if let Some(pos) = answers.iter().position(|a| *a < lo || *a > hi) {
            return Err(Error::InvalidInput(format!(
                "answer {} of {} is out of range {lo} to {hi}",
                pos + 1,
                self.id
            )));
        }
        let mut sum: u32 = 0;
        for (i, &a) in answers.iter().enumerate() {
            let reversed = self
                .scoring
                .reverse_items
                .iter()
                .any(|r| *r as usize == i + 1);
            let v = if reversed { hi + lo - a } else { a };
            sum += u32::from(v);
        }
        let total = sum * self.scoring.multiplier;
        let band = self
            .bands
            .iter()
            .find(|b| (b.min..=b.max).contains(&total))
            .ok_or(Error::Internal(
                "a checked definition's bands cover every total",
            ))?;
        let risk = self
            .risk
            .iter()
            .filter(|r| {
                answers
                    .get(r.item as usize - 1)
                    .is_some_and(|a| r.values.contains(a))
            })
            .map(|r| flag_id(&self.id, r.item))
            .collect();
        Ok(ProgrammeScore {
            instrument: self.id.clone(),
            version: self.version.clone(),
            total,
            band: band.id.clone(),
            positive_screen: band.positive,
            risk,
        })
    }

    /// The definition as canonical `sebaya-instrument/1` JSON (how a care record keeps it).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&DefinitionJson {
            schema: SCHEMA.into(),
            id: self.id.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            citation: Some(self.citation.clone()),
            licence: Some(self.licence.clone()),
            age: AgeRange {
                min: self.min_age,
                max: self.max_age,
            },
            scoring: self.scoring.clone(),
            bands: self.bands.clone(),
            risk_items: self.risk.clone(),
            languages: self
                .languages
                .iter()
                .map(|l| LanguageJson {
                    language: l.language.clone(),
                    instructions: l.instructions.clone(),
                    items: l.items.clone(),
                    options: l
                        .options
                        .iter()
                        .map(|o| OptionJson {
                            label: o.label.clone(),
                            value: Some(o.value),
                        })
                        .collect(),
                    bands: l.bands.clone(),
                })
                .collect(),
        })
        .map_err(|_| Error::Internal("encode instrument definition"))
    }
}

/// Whether `id` is a well-formed programme instrument id (`x-` and 1 to 24 of `a-z`, `0-9`, `-`).
pub fn is_programme_id(id: &str) -> bool {
    id.strip_prefix(ID_PREFIX).is_some_and(valid_suffix)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The smallest definition, FICTIONAL ("TEST-2": two placeholder items answered 0 or 1), in the
    /// key order and spacing a coordinator might use; its canonical form is the vector of
    /// docs/protocol.md (22.3).
    const VECTOR_INPUT: &str = r#"{
      "schema": "sebaya-instrument/1", "id": "x-test2", "name": "TEST-2", "version": "1",
      "citation": {"authors": "Fixture", "year": 2026, "title": "TEST-2", "published_in": "none"},
      "licence": "fictional", "age": {"min": 10, "max": 19},
      "scoring": {"multiplier": 2},
      "bands": [{"id": "b", "min": 2, "max": 4, "positive": true}, {"id": "a", "min": 0, "max": 1, "positive": false}],
      "risk_items": [{"item": 2, "values": [1, 1]}],
      "languages": [{"language": "EN", "items": ["I1", "I2"],
        "options": [{"label": "Y", "value": 1}, {"label": "N", "value": 0}], "bands": {"b": "B", "a": "A"}}]
    }"#;

    const VECTOR_CANONICAL: &str = r#"{"schema":"sebaya-instrument/1","id":"x-test2","name":"TEST-2","version":"1","citation":{"authors":"Fixture","year":2026,"title":"TEST-2","published_in":"none"},"licence":"fictional","age":{"min":10,"max":19},"scoring":{"reverse_items":[],"multiplier":2},"bands":[{"id":"a","min":0,"max":1,"positive":false},{"id":"b","min":2,"max":4,"positive":true}],"risk_items":[{"item":2,"values":[1]}],"languages":[{"language":"en","instructions":"","items":["I1","I2"],"options":[{"label":"Y","value":1},{"label":"N","value":0}],"bands":{"a":"A","b":"B"}}]}"#;

    #[test]
    fn the_canonical_form_is_the_documented_vector() {
        let d = parse(VECTOR_INPUT).unwrap();
        let json = d.to_json().unwrap();
        assert_eq!(json, VECTOR_CANONICAL);
        // The canonical form reads back to the same definition, and is its own canonical form.
        assert_eq!(parse(&json).unwrap(), d);
        assert_eq!(parse(&json).unwrap().to_json().unwrap(), json);
        assert_eq!(flag_id(&d.id, 2), "x-test2-item2");
        assert!(is_programme_flag("x-test2-item2"));
        for not in [
            "x-test2-item0",
            "x-test2-item",
            "x--item2",
            "phq9-item9",
            "x-test2-item1000",
        ] {
            assert!(!is_programme_flag(not), "{not}");
        }
    }

    /// Review finding: two answer labels both valued 255 overflowed `w[0] + 1` while the values
    /// were checked (a panic with overflow checks on, on every device that reads the policy).
    #[test]
    fn answer_values_at_the_top_of_the_range_are_refused_without_overflow() {
        let json = VECTOR_INPUT
            .replace(
                r#"{"label": "Y", "value": 1}"#,
                r#"{"label": "Y", "value": 255}"#,
            )
            .replace(
                r#"{"label": "N", "value": 0}"#,
                r#"{"label": "N", "value": 255}"#,
            );
        assert_ne!(json, VECTOR_INPUT);
        assert_eq!(parse(&json), Err(DefinitionError::AnswerValues));
    }
}
