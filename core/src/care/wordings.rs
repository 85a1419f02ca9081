//! Instrument item wordings as data (issue 4; explicit answer values and no silent language
//! fallback: issue 14, items 6 and 7).
//!
//! Scoring is code (`instruments.rs`); what a person reads is data, because the wording that counts is
//! the validated one, and a programme may hold a licensed or validated translation this core must not
//! invent. Every wording carries its `source` (a citation); a wording without one is marked
//! unvalidated and that mark reaches the app, which must say so on screen.
//!
//! Every answer label carries the value it scores, and the order the form prints the labels in is
//! kept apart from the values: a form that prints "Ya" before "Tidak" scores "Ya" as 1 all the same,
//! and the risk rules (PHQ-9 item 9, SRQ-20 item 17) keep firing. A wording also names the items its
//! instrument's risk rule watches (`risk_items`), checked against the scoring code on import, so a
//! programme states in its own file what it believes and a mismatch is refused.
//!
//! Built in: the English wordings of PHQ-9, GAD-7, WHO-5 and SRQ-20, each with its citation (checked
//! against several independent copies of the published forms; punctuation differs slightly between
//! printings, words do not). There is no built-in Indonesian wording on purpose (the exact text must
//! come from the instrument owner's translation or a published validation study). A language with no
//! wording is not offered at all ([`Error::NotFound`], [`Vault::instrument_offered`] is false): the
//! app hides that screening rather than show English to someone who asked for another language.
//!
//! A programme supplies its own wording as JSON (schema `sebaya-wording/2`, see `docs/care-data.md`);
//! it is checked strictly and kept in the vault's encrypted key-value store, one per instrument and
//! language, replaced by the next import for the same pair. [`preview`] shows, without importing,
//! how each label will score and which items raise a risk flag. Schema `sebaya-wording/1` (labels
//! listed value 0 first, no values) is no longer imported; one already stored reads as before.

use serde::{Deserialize, Serialize};

use crate::Vault;
use crate::care::instruments::{Instrument, RiskFlag, score};
use crate::error::{Error, Result};

/// The schema id of the wording JSON a programme imports, in its `schema` field.
pub const SCHEMA_V2: &str = "sebaya-wording/2";
/// The first schema (answer labels listed value 0 first, without values). No longer imported: a form
/// listed in its printed order would silently swap the values. Still read when a device kept one.
pub const SCHEMA_V1: &str = "sebaya-wording/1";
/// Largest wording JSON accepted, in bytes (the longest real instrument is a few kilobytes).
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Longest instructions text, in characters.
pub const MAX_INSTRUCTIONS_CHARS: usize = 2_000;
/// Longest item text, in characters.
pub const MAX_ITEM_CHARS: usize = 500;
/// Longest answer label, in characters.
pub const MAX_OPTION_CHARS: usize = 100;
/// Longest source citation, in characters.
pub const MAX_SOURCE_CHARS: usize = 500;
/// Longest language tag, in characters.
pub const MAX_LANGUAGE_CHARS: usize = 35;

/// One wording of an instrument in one language, as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wording {
    /// Which instrument the wording is for.
    pub instrument: Instrument,
    /// The language of the text (a lowercase BCP 47 tag: "en", "id", "id-id").
    pub language: String,
    /// The instructions or stem shown above the items; empty when the source gives none that could
    /// be checked.
    pub instructions: String,
    /// One text per item, in the instrument's order.
    pub items: Vec<String>,
    /// One label per answer value: `options[v]` is the label of answer `v` (0 first).
    pub options: Vec<String>,
    /// The answer values in the order the form prints their labels (each value once): the app shows
    /// `options[display_order[0]]` first, and records the value of the label tapped.
    pub display_order: Vec<u8>,
    /// The items (numbered from 1) whose answer can raise a risk flag: PHQ-9 `[9]`, SRQ-20 `[17]`,
    /// GAD-7 and WHO-5 none.
    pub risk_items: Vec<u32>,
    /// The citation of the wording; `None` for a wording nobody vouched for.
    pub source: Option<String>,
    /// True only when a source is cited: the app shows "unvalidated wording" otherwise.
    pub validated: bool,
    /// True when this is the wording built into the core (not a programme's).
    pub builtin: bool,
}

/// One answer label with the value it scores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerPreview {
    /// The label as the form prints it.
    pub label: String,
    /// The value it scores (0 to the instrument's highest answer).
    pub value: u8,
}

/// An item whose answer raises a risk flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskItemPreview {
    /// The item's number, from 1.
    pub item: u32,
    /// The item's text in this wording.
    pub text: String,
    /// The flag it raises.
    pub flag: RiskFlag,
    /// The answers that raise it, in the printed order.
    pub raised_by: Vec<AnswerPreview>,
}

/// What a wording JSON will do once imported: how each label scores and which items raise a risk
/// flag, for a coordinator to check before importing ([`preview`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordingPreview {
    /// The wording as an import would keep it.
    pub wording: Wording,
    /// Every answer label with its value, in the printed order.
    pub answers: Vec<AnswerPreview>,
    /// The items that raise a risk flag, in item order.
    pub risk: Vec<RiskItemPreview>,
}

/// Only the schema id of a wording JSON, read first to pick the shape (other fields ignored here).
#[derive(Deserialize)]
struct SchemaOnly {
    schema: String,
}

/// One answer of a `sebaya-wording/2` JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionJson {
    label: String,
    value: u8,
}

/// The JSON a programme supplies (schema `sebaya-wording/2`); unknown fields are refused so a typo
/// cannot silently drop a field such as `source`. `options` are listed in the printed order, each
/// with its value; `risk_items` has no default: a programme must say which items its rule watches.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WordingJsonV2 {
    schema: String,
    instrument: String,
    language: String,
    #[serde(default)]
    instructions: String,
    items: Vec<String>,
    options: Vec<OptionJson>,
    risk_items: Vec<u32>,
    source: Option<String>,
}

/// The first schema (`sebaya-wording/1`): labels listed value 0 first. Read only from the vault.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordingJsonV1 {
    /// Already read (through [`SchemaOnly`]); named so `deny_unknown_fields` accepts it.
    #[serde(rename = "schema")]
    _schema: String,
    instrument: String,
    language: String,
    #[serde(default)]
    instructions: String,
    items: Vec<String>,
    options: Vec<String>,
    source: Option<String>,
}

/// The number of answer labels an instrument needs (one per answer value).
pub fn option_count(instrument: Instrument) -> usize {
    usize::from(instrument.max_answer()) + 1
}

/// The risk flags one answer raises on its own (every other item answered 0), from the scoring code
/// itself so that what a wording says and what scoring does cannot drift apart.
fn flags_raised(instrument: Instrument, item: usize, value: u8) -> Vec<RiskFlag> {
    let mut answers = vec![0u8; instrument.items()];
    let baseline = score(instrument, &answers)
        .map(|s| s.risk)
        .unwrap_or_default();
    if let Some(a) = answers.get_mut(item) {
        *a = value;
    }
    score(instrument, &answers)
        .map(|s| s.risk)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| !baseline.contains(f))
        .collect()
}

/// The items (numbered from 1) whose answer can raise a risk flag under the instrument's scoring:
/// PHQ-9 `[9]`, SRQ-20 `[17]`, GAD-7 and WHO-5 none.
pub fn risk_items(instrument: Instrument) -> Vec<u32> {
    (1..=instrument.items())
        .filter(|&n| {
            (1..=instrument.max_answer()).any(|v| !flags_raised(instrument, n - 1, v).is_empty())
        })
        .filter_map(|n| u32::try_from(n).ok())
        .collect()
}

/// Normalises and checks a language tag: letters, digits and `-` (an `_` reads as `-`), starting
/// with a 2–3 letter primary subtag, lowercase. Old Android reports Indonesian as `in` (and Hebrew as
/// `iw`, Yiddish as `ji`): those primary subtags read as today's `id`, `he`, `yi`.
pub fn normalize_language(tag: &str) -> Result<String> {
    let t = tag.trim().replace('_', "-").to_ascii_lowercase();
    let bad = || Error::InvalidInput("language must be a BCP 47 tag such as en or id-ID".into());
    if t.is_empty() || t.len() > MAX_LANGUAGE_CHARS {
        return Err(bad());
    }
    let mut parts = t.split('-');
    let primary = parts.next().unwrap_or_default();
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(bad());
    }
    let rest: Vec<&str> = parts.collect();
    for p in &rest {
        if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
    }
    let primary = match primary {
        "in" => "id",
        "iw" => "he",
        "ji" => "yi",
        p => p,
    };
    Ok(std::iter::once(primary)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("-"))
}

fn primary(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

fn check_text(what: &str, s: &str, max: usize, newlines: bool) -> Result<()> {
    if s.chars().count() > max {
        return Err(Error::InvalidInput(format!(
            "{what} is longer than {max} characters"
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && !(newlines && c == '\n'))
    {
        return Err(Error::InvalidInput(format!(
            "{what} contains a control character"
        )));
    }
    Ok(())
}

fn check_nonempty(what: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::InvalidInput(format!("{what} is empty")));
    }
    check_text(what, s, max, false)
}

/// Checks a wording against its instrument: item and label counts, answer values exactly 0 to the
/// highest answer each once, distinct labels, the risk items of the instrument's rule, sizes, control
/// characters, an empty-or-cited source.
fn check(w: &Wording) -> Result<()> {
    let instrument = w.instrument;
    let id = instrument.id();
    check_text(
        "instructions",
        &w.instructions,
        MAX_INSTRUCTIONS_CHARS,
        true,
    )?;
    if w.items.len() != instrument.items() {
        return Err(Error::InvalidInput(format!(
            "{id} needs {} items, {} given",
            instrument.items(),
            w.items.len()
        )));
    }
    let max = instrument.max_answer();
    if w.display_order.len() != option_count(instrument) {
        return Err(Error::InvalidInput(format!(
            "{id} needs {} answer labels (values 0 to {max}), {} given",
            option_count(instrument),
            w.display_order.len()
        )));
    }
    let mut values = w.display_order.clone();
    crate::order::sort(&mut values);
    if values != (0..=max).collect::<Vec<u8>>() || w.options.len() != values.len() {
        return Err(Error::InvalidInput(format!(
            "{id} answer values must be 0 to {max}, each exactly once"
        )));
    }
    for (i, item) in w.items.iter().enumerate() {
        check_nonempty(&format!("item {}", i + 1), item, MAX_ITEM_CHARS)?;
    }
    for (v, o) in w.options.iter().enumerate() {
        check_nonempty(&format!("answer label of value {v}"), o, MAX_OPTION_CHARS)?;
    }
    for (v, o) in w.options.iter().enumerate() {
        if w.options[..v].iter().any(|p| p.trim() == o.trim()) {
            return Err(Error::InvalidInput(format!(
                "answer label of value {v} is the same as another answer's"
            )));
        }
    }
    let expected = risk_items(instrument);
    let mut given = w.risk_items.clone();
    crate::order::sort(&mut given);
    if given != expected {
        return Err(Error::InvalidInput(format!(
            "{id} risk_items must be {expected:?}: the items its risk rule watches (numbered from 1)"
        )));
    }
    if let Some(s) = &w.source {
        check_nonempty("source", s, MAX_SOURCE_CHARS)?;
    }
    Ok(())
}

/// A serde error as a message that names the position and the kind of fault, never the text (serde's
/// own message may quote a field name or a value).
fn json_error(e: &serde_json::Error) -> Error {
    Error::InvalidInput(format!(
        "wording JSON is not valid (line {}, column {}, {:?})",
        e.line(),
        e.column(),
        e.classify()
    ))
}

/// Reads a wording JSON of either schema; `sebaya-wording/1` only when `accept_v1` (reading what the
/// vault kept).
fn parse_json(json: &str, accept_v1: bool) -> Result<Wording> {
    if json.len() > MAX_JSON_BYTES {
        return Err(Error::InvalidInput(format!(
            "wording JSON is larger than {MAX_JSON_BYTES} bytes"
        )));
    }
    let schema = serde_json::from_str::<SchemaOnly>(json)
        .map_err(|e| json_error(&e))?
        .schema;
    let w = if schema == SCHEMA_V2 {
        let w: WordingJsonV2 = serde_json::from_str(json).map_err(|e| json_error(&e))?;
        let instrument = Instrument::from_id(&w.instrument)?;
        let mut options = vec![String::new(); option_count(instrument)];
        for o in &w.options {
            if let Some(slot) = options.get_mut(usize::from(o.value)) {
                slot.clone_from(&o.label);
            }
        }
        Wording {
            instrument,
            language: normalize_language(&w.language)?,
            instructions: w.instructions,
            items: w.items,
            options,
            display_order: w.options.iter().map(|o| o.value).collect(),
            risk_items: w.risk_items,
            validated: w.source.is_some(),
            source: w.source,
            builtin: false,
        }
    } else if schema == SCHEMA_V1 && accept_v1 {
        let w: WordingJsonV1 = serde_json::from_str(json).map_err(|e| json_error(&e))?;
        let instrument = Instrument::from_id(&w.instrument)?;
        Wording {
            instrument,
            language: normalize_language(&w.language)?,
            instructions: w.instructions,
            items: w.items,
            display_order: (0..=instrument.max_answer())
                .take(w.options.len())
                .collect(),
            options: w.options,
            risk_items: risk_items(instrument),
            validated: w.source.is_some(),
            source: w.source,
            builtin: false,
        }
    } else if schema == SCHEMA_V1 {
        return Err(Error::InvalidInput(format!(
            "wording schema {SCHEMA_V1} is no longer imported: its answer labels carry no values, so \
             a form listed in its printed order would score the wrong answers; list each label with \
             its value and the risk_items in schema {SCHEMA_V2}"
        )));
    } else {
        return Err(Error::InvalidInput(format!(
            "wording schema must be {SCHEMA_V2}"
        )));
    };
    check(&w)?;
    Ok(w)
}

/// Reads and checks a programme's wording JSON (schema `sebaya-wording/2`). Anything malformed,
/// oversized, of another schema (`sebaya-wording/1` included), for an unknown instrument, with the
/// wrong counts, answer values that are not exactly 0 to the highest answer each once, or risk items
/// other than those of the instrument's rule is [`Error::InvalidInput`]; the message never repeats
/// the text given.
pub fn parse(json: &str) -> Result<Wording> {
    parse_json(json, false)
}

/// What `json` would be once imported, without importing it: every label with the value it scores
/// (in the printed order) and the items that raise a risk flag with the answers that raise it. Refuses
/// exactly what [`Vault::import_instrument_wording`] refuses, with the same errors.
pub fn preview(json: &str) -> Result<WordingPreview> {
    let wording = parse(json)?;
    let answer = |v: u8| AnswerPreview {
        label: wording
            .options
            .get(usize::from(v))
            .cloned()
            .unwrap_or_default(),
        value: v,
    };
    let answers = wording.display_order.iter().map(|&v| answer(v)).collect();
    let mut risk = Vec::new();
    for &n in &wording.risk_items {
        let Some(index) = usize::try_from(n).ok().and_then(|n| n.checked_sub(1)) else {
            continue;
        };
        // One entry per flag the item raises (one today), with the answers that raise it.
        let mut flags: Vec<RiskFlag> = Vec::new();
        for &v in &wording.display_order {
            for f in flags_raised(wording.instrument, index, v) {
                if !flags.contains(&f) {
                    flags.push(f);
                }
            }
        }
        for flag in flags {
            risk.push(RiskItemPreview {
                item: n,
                text: wording.items.get(index).cloned().unwrap_or_default(),
                flag,
                raised_by: wording
                    .display_order
                    .iter()
                    .filter(|&&v| flags_raised(wording.instrument, index, v).contains(&flag))
                    .map(|&v| answer(v))
                    .collect(),
            });
        }
    }
    crate::order::sort_by_key(&mut risk, |r| r.item);
    Ok(WordingPreview {
        wording,
        answers,
        risk,
    })
}

/// A wording as `sebaya-wording/2` JSON (how the vault keeps it).
fn to_json(w: &Wording) -> Result<Vec<u8>> {
    serde_json::to_vec(&WordingJsonV2 {
        schema: SCHEMA_V2.into(),
        instrument: w.instrument.id().into(),
        language: w.language.clone(),
        instructions: w.instructions.clone(),
        items: w.items.clone(),
        options: w
            .display_order
            .iter()
            .map(|&v| OptionJson {
                label: w.options.get(usize::from(v)).cloned().unwrap_or_default(),
                value: v,
            })
            .collect(),
        risk_items: w.risk_items.clone(),
        source: w.source.clone(),
    })
    .map_err(|_| Error::Internal("encode wording"))
}

/// The id a kept screening names its wording by (issue 14, item 8): `builtin:<instrument>/<language>`
/// for a built-in wording, else `programme:` and the first 16 hex digits of the SHA-256 of the
/// wording as the vault keeps it (`sebaya-wording/2` JSON): wordings carry no version of their own,
/// and any change to their text, labels or values changes this id.
pub fn wording_id(w: &Wording) -> String {
    if w.builtin {
        return format!("builtin:{}/{}", w.instrument.id(), w.language);
    }
    let bytes = to_json(w).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    format!("programme:{}", hex::encode(&digest.as_ref()[..8]))
}

const PFIZER_STEM: &str = "Over the last 2 weeks, how often have you been bothered by";
const PFIZER_OPTIONS: [&str; 4] = [
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
];
const PHQ9_SOURCE: &str = "PHQ-9, English. Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, \
Kurt Kroenke and colleagues, with an educational grant from Pfizer Inc. No permission required to \
reproduce, translate, display or distribute. Kroenke K, Spitzer RL, Williams JBW. J Gen Intern Med \
2001;16(9):606-613.";
const PHQ9_ITEMS: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself \u{2014} or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite \u{2014} being so \
fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
];
const GAD7_SOURCE: &str = "GAD-7, English. Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, \
Kurt Kroenke and colleagues, with an educational grant from Pfizer Inc. No permission required to \
reproduce, translate, display or distribute. Spitzer RL, Kroenke K, Williams JBW, Löwe B. Arch Intern \
Med 2006;166(10):1092-1097.";
const GAD7_ITEMS: [&str; 7] = [
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
];
const WHO5_SOURCE: &str = "WHO-5 Well-Being Index (1998 version), English. Psychiatric Research \
Unit, WHO Collaborating Centre in Mental Health, Mental Health Centre North Zealand, Hillerød, \
Denmark; WHO Regional Office for Europe. Free to use.";
const WHO5_INSTRUCTIONS: &str = "Please indicate for each of the five statements which is closest \
to how you have been feeling over the last two weeks. Notice that higher numbers mean better \
well-being.";
const WHO5_ITEMS: [&str; 5] = [
    "I have felt cheerful and in good spirits",
    "I have felt calm and relaxed",
    "I have felt active and vigorous",
    "I woke up feeling fresh and rested",
    "My daily life has been filled with things that interest me",
];
/// Answer labels by value: 0 "At no time" to 5 "All of the time".
const WHO5_OPTIONS: [&str; 6] = [
    "At no time",
    "Some of the time",
    "Less than half of the time",
    "More than half of the time",
    "Most of the time",
    "All of the time",
];
const SRQ20_SOURCE: &str = "SRQ-20, English. Beusenberg M, Orley J. A user's guide to the self \
reporting questionnaire (SRQ). World Health Organization, Division of Mental Health, Geneva, 1994 \
(WHO/MNH/PSF/94.8).";
const SRQ20_ITEMS: [&str; 20] = [
    "Do you often have headaches?",
    "Is your appetite poor?",
    "Do you sleep badly?",
    "Are you easily frightened?",
    "Do your hands shake?",
    "Do you feel nervous, tense or worried?",
    "Is your digestion poor?",
    "Do you have trouble thinking clearly?",
    "Do you feel unhappy?",
    "Do you cry more than usual?",
    "Do you find it difficult to enjoy your daily activities?",
    "Do you find it difficult to make decisions?",
    "Is your daily work suffering?",
    "Are you unable to play a useful part in life?",
    "Have you lost interest in things?",
    "Do you feel that you are a worthless person?",
    "Has the thought of ending your life been on your mind?",
    "Do you feel tired all the time?",
    "Do you have uncomfortable feelings in your stomach?",
    "Are you easily tired?",
];
/// Answer labels by value: 0 no, 1 yes (one point per yes).
const SRQ20_OPTIONS: [&str; 2] = ["No", "Yes"];

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// The wording built into the core for an instrument: English, cited. (The SRQ-20 instructions are
/// left empty: the exact text of the WHO guide's instructions could not be checked against the guide
/// itself, so a programme supplies them with its own wording.) Printed order: PHQ-9 and GAD-7 from
/// "Not at all" (0) up, as their published forms; WHO-5 from "All of the time" (5) down, as its
/// published form; SRQ-20 "No" then "Yes" (the layout of the WHO guide's form could not be checked,
/// and the order does not change the score).
pub fn builtin(instrument: Instrument) -> Wording {
    let (instructions, items, options, display_order, source): (
        String,
        Vec<String>,
        Vec<String>,
        Vec<u8>,
        &str,
    ) = match instrument {
        Instrument::Phq9 => (
            format!("{PFIZER_STEM} any of the following problems?"),
            strings(&PHQ9_ITEMS),
            strings(&PFIZER_OPTIONS),
            vec![0, 1, 2, 3],
            PHQ9_SOURCE,
        ),
        Instrument::Gad7 => (
            format!("{PFIZER_STEM} the following problems?"),
            strings(&GAD7_ITEMS),
            strings(&PFIZER_OPTIONS),
            vec![0, 1, 2, 3],
            GAD7_SOURCE,
        ),
        Instrument::Who5 => (
            WHO5_INSTRUCTIONS.to_string(),
            strings(&WHO5_ITEMS),
            strings(&WHO5_OPTIONS),
            vec![5, 4, 3, 2, 1, 0],
            WHO5_SOURCE,
        ),
        Instrument::Srq20 => (
            String::new(),
            strings(&SRQ20_ITEMS),
            strings(&SRQ20_OPTIONS),
            vec![0, 1],
            SRQ20_SOURCE,
        ),
    };
    Wording {
        instrument,
        language: "en".into(),
        instructions,
        items,
        options,
        display_order,
        risk_items: risk_items(instrument),
        source: Some(source.to_string()),
        validated: true,
        builtin: true,
    }
}

/// The vault key a programme's wording lives under.
fn kv_name(instrument: Instrument, language: &str) -> String {
    format!("wording/{}/{}", instrument.id(), language)
}

/// What `instrument_wording` finds for a language.
enum Found {
    /// A programme's wording, kept under this tag.
    Programme(String),
    /// The built-in English wording.
    Builtin,
}

impl Vault {
    /// Keeps a programme-supplied wording (JSON, schema `sebaya-wording/2`) on this device, replacing
    /// any earlier one for the same instrument and language, kept in `sebaya-wording/2` form. Returns
    /// it as it will be shown. Refused whole, nothing kept, with [`Error::InvalidInput`] when it does
    /// not check (see [`parse`]; a `sebaya-wording/1` JSON is refused).
    pub fn import_instrument_wording(&mut self, json: &str) -> Result<Wording> {
        let w = parse(json)?;
        self.store
            .kv_put(&kv_name(w.instrument, &w.language), &to_json(&w)?)?;
        Ok(w)
    }

    fn stored_wording(&self, instrument: Instrument, language: &str) -> Result<Option<Wording>> {
        match self.store.kv_get(&kv_name(instrument, language))? {
            None => Ok(None),
            Some(bytes) => {
                let json = std::str::from_utf8(&bytes).map_err(|_| Error::Corrupt("wording"))?;
                // What an earlier build kept as `sebaya-wording/1` reads as before.
                parse_json(json, true)
                    .map(Some)
                    .map_err(|_| Error::Corrupt("wording"))
            }
        }
    }

    /// Where the wording for `instrument` in `language` comes from, if there is one.
    fn find_wording(&self, instrument: Instrument, language: &str) -> Result<Option<Found>> {
        let lang = normalize_language(language)?;
        let wanted = primary(&lang).to_string();
        let mut tags = vec![lang.clone()];
        if wanted != lang {
            tags.push(wanted.clone());
        }
        for tag in tags {
            if self.store.kv_get(&kv_name(instrument, &tag))?.is_some() {
                return Ok(Some(Found::Programme(tag)));
            }
        }
        Ok((wanted == "en").then_some(Found::Builtin))
    }

    /// The wording to show for `instrument` in `language`: the programme's for that exact tag, else
    /// for its primary language ("id" for "id-ID"; "in" reads as "id"), else for English the built-in
    /// English one. Any other language without a programme wording is [`Error::NotFound`]: the
    /// screening is not offered in that language (never English instead); check-ins and asking for
    /// help do not depend on it. `validated` and `source` are always set so the app can mark an
    /// unvalidated wording.
    pub fn instrument_wording(&self, instrument: Instrument, language: &str) -> Result<Wording> {
        match self.find_wording(instrument, language)? {
            Some(Found::Programme(tag)) => self
                .stored_wording(instrument, &tag)?
                .ok_or(Error::NotFound("instrument wording in this language")),
            Some(Found::Builtin) => Ok(builtin(instrument)),
            None => Err(Error::NotFound("instrument wording in this language")),
        }
    }

    /// Whether `instrument` has a wording in `language` (see [`Vault::instrument_wording`]): the app
    /// asks first and hides the screening when it is not offered. Malformed tags are
    /// [`Error::InvalidInput`].
    pub fn instrument_offered(&self, instrument: Instrument, language: &str) -> Result<bool> {
        Ok(self.find_wording(instrument, language)?.is_some())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::care::instruments::{RiskFlag, score};

    const ALL: [Instrument; 4] = [
        Instrument::Phq9,
        Instrument::Gad7,
        Instrument::Who5,
        Instrument::Srq20,
    ];

    /// The risk items each instrument's rule watches, written out here (not derived) so the test
    /// checks the derivation.
    fn expected_risk(instrument: &str) -> Vec<u32> {
        match instrument {
            "phq9" => vec![9],
            "srq20" => vec![17],
            _ => vec![],
        }
    }

    /// A programme wording (schema `sebaya-wording/2`) with `items` items and `options` answers,
    /// listed value 0 first, and the risk items of its rule.
    fn doc_for(
        instrument: &str,
        items: usize,
        options: usize,
        source: Option<&str>,
    ) -> serde_json::Value {
        serde_json::json!({
            "schema": SCHEMA_V2,
            "instrument": instrument,
            "language": "id",
            "instructions": "Petunjuk\nbaris dua",
            "items": (0..items).map(|i| format!("butir {i}")).collect::<Vec<_>>(),
            "options": (0..options)
                .map(|v| serde_json::json!({"label": format!("pilihan {v}"), "value": v}))
                .collect::<Vec<_>>(),
            "risk_items": expected_risk(instrument),
            "source": source,
        })
    }

    fn json_for(instrument: &str, items: usize, options: usize, source: Option<&str>) -> String {
        doc_for(instrument, items, options, source).to_string()
    }

    /// An SRQ-20 form as an Indonesian programme prints it: "Ya" before "Tidak".
    fn srq20_printed_ya_first() -> serde_json::Value {
        serde_json::json!({
            "schema": "sebaya-wording/2",
            "instrument": "srq20",
            "language": "id",
            "items": (1..=20).map(|i| format!("pertanyaan {i}")).collect::<Vec<_>>(),
            "options": [{"label": "Ya", "value": 1}, {"label": "Tidak", "value": 0}],
            "risk_items": [17],
            "source": "Program X, 2025",
        })
    }

    fn invalid(json: &str) -> bool {
        matches!(parse(json), Err(Error::InvalidInput(_)))
    }

    fn message(json: &str) -> String {
        match parse(json) {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    /// The value a wording gives the answer labelled `label`, found the way an app finds it: through
    /// the printed order.
    fn value_of(w: &Wording, label: &str) -> u8 {
        *w.display_order
            .iter()
            .find(|&&v| w.options[usize::from(v)] == label)
            .unwrap()
    }

    #[test]
    fn builtins_match_the_instruments_and_are_cited() {
        for inst in ALL {
            let w = builtin(inst);
            assert_eq!(w.items.len(), inst.items(), "{}", inst.id());
            assert_eq!(w.options.len(), option_count(inst), "{}", inst.id());
            assert!(w.validated && w.source.as_deref().is_some_and(|s| !s.is_empty()));
            assert_eq!(w.language, "en");
            // The printed order names every value once; the risk items are the rule's.
            let mut order = w.display_order.clone();
            order.sort_unstable();
            assert_eq!(
                order,
                (0..=inst.max_answer()).collect::<Vec<_>>(),
                "{}",
                inst.id()
            );
            assert_eq!(w.risk_items, expected_risk(inst.id()), "{}", inst.id());
            assert_eq!(risk_items(inst), expected_risk(inst.id()), "{}", inst.id());
            // What the built-ins hold passes the same checks a programme's wording must.
            let doc = serde_json::json!({
                "schema": SCHEMA_V2,
                "instrument": inst.id(),
                "language": "en",
                "instructions": w.instructions,
                "items": w.items,
                "options": w.display_order.iter()
                    .map(|&v| serde_json::json!({"label": w.options[usize::from(v)], "value": v}))
                    .collect::<Vec<_>>(),
                "risk_items": w.risk_items,
                "source": w.source,
            });
            let again = parse(&doc.to_string()).unwrap();
            assert_eq!(
                (again.options, again.display_order, again.items),
                (w.options.clone(), w.display_order.clone(), w.items.clone())
            );
        }
        // The risk items the scoring rules watch are where the scoring expects them.
        assert!(builtin(Instrument::Phq9).items[8].contains("better off dead"));
        assert!(builtin(Instrument::Srq20).items[16].contains("ending your life"));
        assert_eq!(builtin(Instrument::Who5).options[0], "At no time");
        assert_eq!(builtin(Instrument::Srq20).options[1], "Yes");
        // PHQ-9 and GAD-7 print "Not at all" (0) first; WHO-5 prints "All of the time" (5) first.
        assert_eq!(builtin(Instrument::Phq9).display_order, vec![0, 1, 2, 3]);
        assert_eq!(builtin(Instrument::Gad7).display_order, vec![0, 1, 2, 3]);
        assert_eq!(
            builtin(Instrument::Who5).display_order,
            vec![5, 4, 3, 2, 1, 0]
        );
        assert_eq!(builtin(Instrument::Srq20).display_order, vec![0, 1]);
    }

    #[test]
    fn a_form_in_printed_order_ya_before_tidak_scores_ya_as_one_and_keeps_the_risk_rule() {
        let w = parse(&srq20_printed_ya_first().to_string()).unwrap();
        // Labels by value, whatever the order they were listed in; the printed order kept apart.
        assert_eq!(w.options, vec!["Tidak", "Ya"]);
        assert_eq!(w.display_order, vec![1, 0]);
        assert_eq!(w.risk_items, vec![17]);
        assert_eq!((value_of(&w, "Ya"), value_of(&w, "Tidak")), (1, 0));
        // Item 17 answered "Ya", every other "Tidak": one point, and the suicide-risk rule fires.
        let mut answers = vec![value_of(&w, "Tidak"); 20];
        answers[16] = value_of(&w, "Ya");
        let s = score(Instrument::Srq20, &answers).unwrap();
        assert_eq!(s.total, 1);
        assert_eq!(s.risk, vec![RiskFlag::Srq20Item17]);
        // Everything "Tidak": nothing scores, nothing fires.
        let s = score(Instrument::Srq20, &[value_of(&w, "Tidak"); 20]).unwrap();
        assert_eq!((s.total, s.risk.len()), (0, 0));

        // PHQ-9 printed from the highest value down: item 9 "Hampir setiap hari" is 3 and fires.
        let mut doc = doc_for("phq9", 9, 4, Some("s"));
        doc["options"] = serde_json::json!([
            {"label": "Hampir setiap hari", "value": 3},
            {"label": "Lebih dari separuh waktu", "value": 2},
            {"label": "Beberapa hari", "value": 1},
            {"label": "Tidak sama sekali", "value": 0},
        ]);
        let w = parse(&doc.to_string()).unwrap();
        assert_eq!(w.display_order, vec![3, 2, 1, 0]);
        assert_eq!(w.options[0], "Tidak sama sekali");
        let mut answers = vec![value_of(&w, "Tidak sama sekali"); 9];
        answers[8] = value_of(&w, "Hampir setiap hari");
        let s = score(Instrument::Phq9, &answers).unwrap();
        assert_eq!((s.total, s.risk.clone()), (3, vec![RiskFlag::Phq9Item9]));
    }

    #[test]
    fn the_preview_shows_how_each_label_scores_and_which_items_raise_a_flag() {
        let p = preview(&srq20_printed_ya_first().to_string()).unwrap();
        // Each label with its value, in the printed order.
        let answers: Vec<(&str, u8)> = p
            .answers
            .iter()
            .map(|a| (a.label.as_str(), a.value))
            .collect();
        assert_eq!(answers, vec![("Ya", 1), ("Tidak", 0)]);
        assert_eq!(p.risk.len(), 1);
        let r = &p.risk[0];
        assert_eq!((r.item, r.text.as_str()), (17, "pertanyaan 17"));
        assert_eq!(r.flag, RiskFlag::Srq20Item17);
        let raised: Vec<(&str, u8)> = r
            .raised_by
            .iter()
            .map(|a| (a.label.as_str(), a.value))
            .collect();
        assert_eq!(raised, vec![("Ya", 1)]);
        assert_eq!(
            p.wording,
            parse(&srq20_printed_ya_first().to_string()).unwrap()
        );

        // PHQ-9: item 9 raises the flag on every answer above 0, in the printed order.
        let mut doc = doc_for("phq9", 9, 4, None);
        doc["options"] = serde_json::json!([
            {"label": "c", "value": 2},
            {"label": "a", "value": 0},
            {"label": "d", "value": 3},
            {"label": "b", "value": 1},
        ]);
        let p = preview(&doc.to_string()).unwrap();
        assert_eq!(
            p.answers.iter().map(|a| a.value).collect::<Vec<_>>(),
            vec![2, 0, 3, 1]
        );
        assert_eq!(p.risk.len(), 1);
        assert_eq!((p.risk[0].item, p.risk[0].flag), (9, RiskFlag::Phq9Item9));
        assert_eq!(
            p.risk[0]
                .raised_by
                .iter()
                .map(|a| a.label.as_str())
                .collect::<Vec<_>>(),
            vec!["c", "d", "b"]
        );
        // GAD-7 and WHO-5 have no item risk rule.
        assert!(
            preview(&json_for("gad7", 7, 4, None))
                .unwrap()
                .risk
                .is_empty()
        );
        assert!(
            preview(&json_for("who5", 5, 6, None))
                .unwrap()
                .risk
                .is_empty()
        );
        // The preview refuses what an import refuses.
        let mut bad = srq20_printed_ya_first();
        bad["risk_items"] = serde_json::json!([16]);
        assert!(matches!(
            preview(&bad.to_string()),
            Err(Error::InvalidInput(_))
        ));
    }

    /// The accepted test vector of `docs/care-data.md`, and what it yields.
    #[test]
    fn the_documented_test_vector() {
        let mut doc = srq20_printed_ya_first();
        doc["language"] = "in-ID".into();
        let p = preview(&doc.to_string()).unwrap();
        let w = &p.wording;
        assert_eq!(w.language, "id-id");
        assert_eq!(w.options, vec!["Tidak", "Ya"]);
        assert_eq!(
            (w.display_order.clone(), w.risk_items.clone()),
            (vec![1, 0], vec![17])
        );
        assert!(w.validated && !w.builtin && w.instructions.is_empty());
        assert_eq!(
            p.answers,
            vec![
                AnswerPreview {
                    label: "Ya".into(),
                    value: 1
                },
                AnswerPreview {
                    label: "Tidak".into(),
                    value: 0
                },
            ]
        );
        assert_eq!(
            p.risk,
            vec![RiskItemPreview {
                item: 17,
                text: "pertanyaan 17".into(),
                flag: RiskFlag::Srq20Item17,
                raised_by: vec![AnswerPreview {
                    label: "Ya".into(),
                    value: 1
                }],
            }]
        );
        // Each refused change of the document's table.
        let refused = [
            (
                "options",
                serde_json::json!([{"label": "Ya", "value": 1}, {"label": "Tidak", "value": 1}]),
            ),
            (
                "options",
                serde_json::json!([{"label": "Ya", "value": 2}, {"label": "Tidak", "value": 0}]),
            ),
            ("options", serde_json::json!(["Ya", "Tidak"])),
            (
                "options",
                serde_json::json!([{"label": "Ya", "value": 1}, {"label": "Ya", "value": 0}]),
            ),
            (
                "options",
                serde_json::json!([{"label": "Ya", "value": 1, "score": 1}, {"label": "Tidak", "value": 0}]),
            ),
            ("risk_items", serde_json::json!([16])),
            ("risk_items", serde_json::json!([])),
            ("risk_items", serde_json::json!([17, 17])),
            ("instrument", serde_json::json!("phq9")),
            ("schema", serde_json::json!("sebaya-wording/1")),
            ("sourse", serde_json::json!("x")),
        ];
        for (field, value) in refused {
            let mut d = doc.clone();
            d[field] = value;
            assert!(invalid(&d.to_string()), "{field}");
        }
        let mut d = doc.clone();
        d.as_object_mut().unwrap().remove("risk_items");
        assert!(invalid(&d.to_string()));
    }

    #[test]
    fn wrong_or_missing_risk_items_are_refused_naming_the_expected_items() {
        for (inst, items, options, wrong) in [
            ("srq20", 20, 2, serde_json::json!([16])),
            ("srq20", 20, 2, serde_json::json!([])),
            ("srq20", 20, 2, serde_json::json!([17, 17])),
            ("srq20", 20, 2, serde_json::json!([9, 17])),
            ("srq20", 20, 2, serde_json::json!([0])),
            ("phq9", 9, 4, serde_json::json!([17])),
            ("phq9", 9, 4, serde_json::json!([])),
            ("phq9", 9, 4, serde_json::json!([8])),
            ("gad7", 7, 4, serde_json::json!([9])),
            ("who5", 5, 6, serde_json::json!([1])),
        ] {
            let mut doc = doc_for(inst, items, options, Some("s"));
            doc["risk_items"] = wrong.clone();
            let m = message(&doc.to_string());
            let expected = format!("{:?}", expected_risk(inst));
            assert!(
                m.contains(&expected),
                "{inst} {wrong}: {m} names {expected}"
            );
        }
        // Missing, or not a list of item numbers.
        for bad in [
            serde_json::Value::Null,
            serde_json::json!(17),
            serde_json::json!(["17"]),
            serde_json::json!([-1]),
        ] {
            let mut doc = srq20_printed_ya_first();
            if bad.is_null() {
                doc.as_object_mut().unwrap().remove("risk_items");
            } else {
                doc["risk_items"] = bad;
            }
            assert!(invalid(&doc.to_string()));
        }
        // In another order the same items are accepted (there is one per instrument today).
        for inst in ALL {
            assert!(!invalid(&json_for(
                inst.id(),
                inst.items(),
                option_count(inst),
                None
            )));
        }
    }

    #[test]
    fn answer_values_must_be_exactly_zero_to_max_each_once() {
        let with_options = |inst: &str, items: usize, options: serde_json::Value| {
            let mut doc = doc_for(inst, items, 0, Some("s"));
            doc["options"] = options;
            doc.to_string()
        };
        let refused = [
            // A value twice (and so one missing).
            with_options(
                "srq20",
                20,
                serde_json::json!([{"label": "Ya", "value": 1}, {"label": "Tidak", "value": 1}]),
            ),
            // Out of range.
            with_options(
                "srq20",
                20,
                serde_json::json!([{"label": "Ya", "value": 2}, {"label": "Tidak", "value": 0}]),
            ),
            with_options(
                "phq9",
                9,
                serde_json::json!([
                    {"label": "a", "value": 0}, {"label": "b", "value": 1},
                    {"label": "c", "value": 2}, {"label": "d", "value": 4},
                ]),
            ),
            // Too few, too many.
            with_options(
                "phq9",
                9,
                serde_json::json!([
                    {"label": "a", "value": 0}, {"label": "b", "value": 1}, {"label": "c", "value": 2},
                ]),
            ),
            with_options(
                "srq20",
                20,
                serde_json::json!([
                    {"label": "Ya", "value": 1}, {"label": "Tidak", "value": 0},
                    {"label": "Mungkin", "value": 2},
                ]),
            ),
            // Not a value: negative, text, missing; a bare label (the v1 shape); an extra field.
            with_options(
                "srq20",
                20,
                serde_json::json!([{"label": "Ya", "value": -1}, {"label": "Tidak", "value": 0}]),
            ),
            with_options(
                "srq20",
                20,
                serde_json::json!([{"label": "Ya", "value": "1"}, {"label": "Tidak", "value": 0}]),
            ),
            with_options(
                "srq20",
                20,
                serde_json::json!([{"label": "Ya"}, {"label": "Tidak", "value": 0}]),
            ),
            with_options("srq20", 20, serde_json::json!(["Ya", "Tidak"])),
            with_options(
                "srq20",
                20,
                serde_json::json!([
                    {"label": "Ya", "value": 1, "score": 1}, {"label": "Tidak", "value": 0},
                ]),
            ),
            // Two answers with the same label cannot be told apart.
            with_options(
                "srq20",
                20,
                serde_json::json!([{"label": "Ya", "value": 1}, {"label": "Ya", "value": 0}]),
            ),
        ];
        for json in refused {
            assert!(invalid(&json), "{json}");
        }
        assert!(message(&refused_twice()).contains("0 to 1"));
    }

    fn refused_twice() -> String {
        let mut doc = srq20_printed_ya_first();
        doc["options"] =
            serde_json::json!([{"label": "Ya", "value": 1}, {"label": "Tidak", "value": 1}]);
        doc.to_string()
    }

    #[test]
    fn a_programme_wording_parses_and_is_validated_only_with_a_source() {
        for inst in ALL {
            let n = option_count(inst);
            let w = parse(&json_for(
                inst.id(),
                inst.items(),
                n,
                Some("Programme X, 2025"),
            ))
            .unwrap();
            assert!(w.validated && !w.builtin && w.instrument == inst);
            assert_eq!(w.display_order, (0..=inst.max_answer()).collect::<Vec<_>>());
            let u = parse(&json_for(inst.id(), inst.items(), n, None)).unwrap();
            assert!(!u.validated && u.source.is_none());
            assert_eq!(u.instructions, "Petunjuk\nbaris dua");
        }
    }

    /// The id a kept screening names a programme wording by (docs/protocol.md, 22.3): `programme:`
    /// and the first 8 bytes, hex, of SHA-256 over the wording as kept (compact `sebaya-wording/2`
    /// JSON, fields in schema order, labels in printed order). A fictional WHO-5-shaped wording.
    #[test]
    fn a_programme_wordings_id_is_the_documented_vector() {
        let w = parse(&json_for("who5", 5, 6, Some("S"))).unwrap();
        let kept = String::from_utf8(to_json(&w).unwrap()).unwrap();
        assert_eq!(
            kept,
            concat!(
                r#"{"schema":"sebaya-wording/2","instrument":"who5","language":"id","#,
                r#""instructions":"Petunjuk\nbaris dua","items":["butir 0","butir 1","butir 2","#,
                r#""butir 3","butir 4"],"options":[{"label":"pilihan 0","value":0},"#,
                r#"{"label":"pilihan 1","value":1},{"label":"pilihan 2","value":2},"#,
                r#"{"label":"pilihan 3","value":3},{"label":"pilihan 4","value":4},"#,
                r#"{"label":"pilihan 5","value":5}],"risk_items":[],"source":"S"}"#
            )
        );
        assert_eq!(wording_id(&w), "programme:f88b913407b99aac");
        assert_eq!(wording_id(&builtin(Instrument::Who5)), "builtin:who5/en");
        // Any change to a label changes the id.
        let mut other = w.clone();
        other.options[5] = "pilihan lima".into();
        assert_ne!(wording_id(&other), wording_id(&w));
    }

    #[test]
    fn a_v1_wording_is_refused_with_a_pointer_to_v2() {
        let v1 = serde_json::json!({
            "schema": "sebaya-wording/1",
            "instrument": "srq20",
            "language": "id",
            "items": (1..=20).map(|i| format!("pertanyaan {i}")).collect::<Vec<_>>(),
            "options": ["Ya", "Tidak"],
            "source": null,
        })
        .to_string();
        let m = message(&v1);
        assert!(m.contains("sebaya-wording/2"), "{m}");
        assert!(matches!(preview(&v1), Err(Error::InvalidInput(_))));
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vault::open(&dir.path().join("v1.db"), &[4u8; 32]).unwrap();
        assert!(matches!(
            v.import_instrument_wording(&v1),
            Err(Error::InvalidInput(_))
        ));
        assert!(!v.instrument_offered(Instrument::Srq20, "id").unwrap());
    }

    #[test]
    fn a_v1_wording_already_stored_reads_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vault::open(&dir.path().join("old.db"), &[5u8; 32]).unwrap();
        // What an earlier build kept: labels by value, 0 first.
        let old = serde_json::json!({
            "schema": "sebaya-wording/1",
            "instrument": "phq9",
            "language": "id",
            "instructions": "",
            "items": (1..=9).map(|i| format!("butir {i}")).collect::<Vec<_>>(),
            "options": ["nol", "satu", "dua", "tiga"],
            "source": "Program Lama",
        })
        .to_string();
        v.store
            .kv_put(&kv_name(Instrument::Phq9, "id"), old.as_bytes())
            .unwrap();
        let w = v.instrument_wording(Instrument::Phq9, "id-ID").unwrap();
        assert_eq!(w.options, vec!["nol", "satu", "dua", "tiga"]);
        assert_eq!(w.display_order, vec![0, 1, 2, 3]);
        assert_eq!(w.risk_items, vec![9]);
        assert!(w.validated && !w.builtin);
        assert!(v.instrument_offered(Instrument::Phq9, "id").unwrap());
        // A new import replaces it, kept in v2 form with its printed order.
        let mut doc = doc_for("phq9", 9, 4, Some("Program Baru"));
        doc["options"] = serde_json::json!([
            {"label": "tiga", "value": 3}, {"label": "dua", "value": 2},
            {"label": "satu", "value": 1}, {"label": "nol", "value": 0},
        ]);
        v.import_instrument_wording(&doc.to_string()).unwrap();
        let stored = v
            .store
            .kv_get(&kv_name(Instrument::Phq9, "id"))
            .unwrap()
            .unwrap();
        let stored: serde_json::Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(stored["schema"], SCHEMA_V2);
        let w = v.instrument_wording(Instrument::Phq9, "id").unwrap();
        assert_eq!(w.display_order, vec![3, 2, 1, 0]);
        assert_eq!(w.options, vec!["nol", "satu", "dua", "tiga"]);
    }

    #[test]
    fn wrong_counts_unknown_instruments_and_bad_json_are_refused() {
        assert!(invalid(&json_for("phq9", 8, 4, None)));
        assert!(invalid(&json_for("phq9", 10, 4, None)));
        assert!(invalid(&json_for("phq9", 9, 3, None)));
        assert!(invalid(&json_for("who5", 5, 5, None)));
        assert!(invalid(&json_for("srq20", 20, 4, None)));
        assert!(invalid(&json_for("gad7", 9, 4, None)));
        assert!(invalid(&json_for("phq10", 9, 4, None)));
        assert!(invalid("{not json"));
        assert!(invalid("[]"));
        assert!(invalid(""));
        // Another schema, a missing field, an unknown field.
        for schema in [
            "sebaya-wording/3",
            "sebaya-wording/1",
            "",
            "Sebaya-Wording/2",
        ] {
            let mut v = doc_for("gad7", 7, 4, None);
            v["schema"] = schema.into();
            assert!(invalid(&v.to_string()), "{schema}");
        }
        let mut v = doc_for("gad7", 7, 4, None);
        v.as_object_mut().unwrap().remove("schema");
        assert!(invalid(&v.to_string()));
        let mut v = doc_for("gad7", 7, 4, None);
        v.as_object_mut().unwrap().remove("items");
        assert!(invalid(&v.to_string()));
        let mut v = doc_for("gad7", 7, 4, None);
        v.as_object_mut().unwrap().remove("options");
        assert!(invalid(&v.to_string()));
        let mut v = doc_for("gad7", 7, 4, None);
        v["sourse"] = "typo".into();
        assert!(invalid(&v.to_string()));
        let mut v = doc_for("gad7", 7, 4, None);
        v["display_order"] = serde_json::json!([0, 1, 2, 3]);
        assert!(invalid(&v.to_string()), "the order is the order listed");
    }

    #[test]
    fn oversized_empty_and_control_characters_are_refused() {
        let base = || doc_for("gad7", 7, 4, Some("s"));
        let mut v = base();
        v["items"][0] = "x".repeat(MAX_ITEM_CHARS + 1).into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["items"][0] = "x".repeat(MAX_ITEM_CHARS).into();
        assert!(!invalid(&v.to_string()), "the limit itself is accepted");
        let mut v = base();
        v["items"][3] = "  ".into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["items"][2] = "a\u{0007}b".into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["items"][2] = "a\nb".into();
        assert!(invalid(&v.to_string()), "newlines only in instructions");
        let mut v = base();
        v["options"][1]["label"] = "x".repeat(MAX_OPTION_CHARS + 1).into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["options"][1]["label"] = " ".into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["options"][1]["label"] = "a\u{0000}".into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["source"] = "".into();
        assert!(invalid(&v.to_string()), "an empty citation is no citation");
        let mut v = base();
        v["source"] = "x".repeat(MAX_SOURCE_CHARS + 1).into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["instructions"] = "x".repeat(MAX_INSTRUCTIONS_CHARS + 1).into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["instructions"] = "tab\there".into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["language"] = "indonesian".into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["language"] = "id-\u{0000}".into();
        assert!(invalid(&v.to_string()));
        let mut v = base();
        v["instructions"] = "x".repeat(MAX_JSON_BYTES).into();
        assert!(invalid(&v.to_string()));
    }

    #[test]
    fn errors_never_echo_what_was_written() {
        const SECRET: &str = "RAHASIA";
        let mut cases = Vec::new();
        let mut v = srq20_printed_ya_first();
        v["items"][4] = format!("{SECRET}\u{0007}").into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v["options"][0]["label"] = format!("{SECRET}{}", "x".repeat(MAX_OPTION_CHARS)).into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v[SECRET] = SECRET.into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v["options"][0][SECRET] = 1.into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v["options"][0]["value"] = SECRET.into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v["instrument"] = SECRET.into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v["schema"] = SECRET.into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v["language"] = SECRET.into();
        cases.push(v);
        let mut v = srq20_printed_ya_first();
        v["options"] =
            serde_json::json!([{"label": SECRET, "value": 1}, {"label": SECRET, "value": 0}]);
        cases.push(v);
        for case in cases {
            let m = message(&case.to_string());
            assert!(!m.contains(SECRET), "{m}");
            assert!(
                !format!("{:?}", preview(&case.to_string())).contains(SECRET),
                "{m}"
            );
        }
        assert!(!message(&format!("{{\"{SECRET}\": 1")).contains(SECRET));
    }

    #[test]
    fn language_tags_normalise() {
        assert_eq!(normalize_language("id_ID").unwrap(), "id-id");
        assert_eq!(normalize_language(" EN ").unwrap(), "en");
        // Old Android reports Indonesian as "in".
        assert_eq!(normalize_language("in").unwrap(), "id");
        assert_eq!(normalize_language("in-ID").unwrap(), "id-id");
        assert_eq!(normalize_language("in_ID").unwrap(), "id-id");
        assert_eq!(normalize_language("ind").unwrap(), "ind");
        assert_eq!(
            normalize_language("en-IN").unwrap(),
            "en-in",
            "only the primary subtag"
        );
        assert!(normalize_language("").is_err());
        assert!(normalize_language("i").is_err());
        assert!(normalize_language("id--x").is_err());
        assert!(normalize_language("id-toolongsubtag").is_err());
    }

    #[test]
    fn indonesian_without_a_programme_wording_is_not_offered() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vault::open(&dir.path().join("n.db"), &[6u8; 32]).unwrap();
        for inst in ALL {
            for tag in ["id", "id-ID", "in", "in-ID", "jv", "ms"] {
                assert!(!v.instrument_offered(inst, tag).unwrap(), "{tag}");
                assert!(matches!(
                    v.instrument_wording(inst, tag),
                    Err(Error::NotFound(_))
                ));
            }
            for tag in ["en", "en-GB", "EN_us"] {
                assert!(v.instrument_offered(inst, tag).unwrap(), "{tag}");
                let w = v.instrument_wording(inst, tag).unwrap();
                assert!(w.builtin && w.language == "en");
            }
        }
        assert!(matches!(
            v.instrument_offered(Instrument::Phq9, "??"),
            Err(Error::InvalidInput(_))
        ));
        // A programme's Indonesian wording, imported as "in-ID", is offered for "id", "in", "id-ID".
        let mut doc = srq20_printed_ya_first();
        doc["language"] = "in-ID".into();
        let w = v.import_instrument_wording(&doc.to_string()).unwrap();
        assert_eq!(w.language, "id-id");
        assert!(v.instrument_offered(Instrument::Srq20, "in-ID").unwrap());
        assert!(
            !v.instrument_offered(Instrument::Srq20, "in").unwrap(),
            "the exact tag or its primary language, not a sibling"
        );
        doc["language"] = "id".into();
        v.import_instrument_wording(&doc.to_string()).unwrap();
        for tag in ["id", "in", "id-ID", "in-ID", "id-x-test"] {
            assert!(
                v.instrument_offered(Instrument::Srq20, tag).unwrap(),
                "{tag}"
            );
            let w = v.instrument_wording(Instrument::Srq20, tag).unwrap();
            assert!(!w.builtin && w.display_order == vec![1, 0]);
        }
        // Other instruments are still not offered in Indonesian.
        assert!(!v.instrument_offered(Instrument::Phq9, "in").unwrap());
    }

    #[test]
    fn the_vault_keeps_a_programme_wording() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let key = [3u8; 32];
        {
            let mut v = Vault::open(&path, &key).unwrap();
            assert!(matches!(
                v.instrument_wording(Instrument::Phq9, "id-ID"),
                Err(Error::NotFound(_))
            ));
            let w = v.instrument_wording(Instrument::Phq9, "en").unwrap();
            assert!(w.builtin && w.validated);
            assert!(matches!(
                v.instrument_wording(Instrument::Phq9, "??"),
                Err(Error::InvalidInput(_))
            ));
            // An unvalidated Indonesian wording is used for Indonesian, and says it is unvalidated.
            v.import_instrument_wording(&json_for("phq9", 9, 4, None))
                .unwrap();
            // A refused import changes nothing.
            assert!(
                v.import_instrument_wording(&json_for("phq9", 8, 4, Some("x")))
                    .is_err()
            );
        }
        let mut v = Vault::open(&path, &key).unwrap();
        let w = v.instrument_wording(Instrument::Phq9, "id-ID").unwrap();
        assert!(!w.builtin && !w.validated && w.source.is_none());
        assert_eq!(w.items[0], "butir 0");
        assert_eq!(w.risk_items, vec![9]);
        assert!(matches!(
            v.instrument_wording(Instrument::Gad7, "id"),
            Err(Error::NotFound(_))
        ));
        assert!(
            v.instrument_wording(Instrument::Phq9, "en")
                .unwrap()
                .builtin
        );
        // Replaced by the next import for the same pair, now cited.
        v.import_instrument_wording(&json_for("phq9", 9, 4, Some("Programme X")))
            .unwrap();
        let w = v.instrument_wording(Instrument::Phq9, "id").unwrap();
        assert!(w.validated && w.source.as_deref() == Some("Programme X"));
        // A programme's English wording wins over the built-in one for English, and is never shown
        // for Indonesian.
        let mut en = doc_for("who5", 5, 6, Some("Y"));
        en["language"] = "en".into();
        v.import_instrument_wording(&en.to_string()).unwrap();
        let w = v.instrument_wording(Instrument::Who5, "en-AU").unwrap();
        assert!(!w.builtin && w.language == "en");
        assert!(matches!(
            v.instrument_wording(Instrument::Who5, "id"),
            Err(Error::NotFound(_))
        ));
    }
}
