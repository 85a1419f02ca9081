//! A programme's screening settings, kept in its care records (issue 14, item 8): the instruments it
//! adds ([`super::programme_instruments`]) and SRQ-20's cut-off and age limits with their citation.
//!
//! Why in the care records: that is the programme's document every member device already holds,
//! the participant's phone first, where screening is scored offline; and the `policy` map they live
//! in is written only by a member holding `coordinator` in the programme, checked by every device on
//! receipt (`space/rules.rs`), like the acknowledgement deadline and the on-call list. A supporter or
//! a participant's modified app cannot slip in an instrument or lower a cut-off.
//!
//! Keys in `policy`: `instrument/<id>` (the definition, canonical `sebaya-instrument/1` JSON) with
//! `instrument_at/<id>` (ms, when set: the newest wins across records); `srq20` (JSON `{cutoff,
//! min_age, max_age, citation}`) with `srq20_at`. A value that does not check is read as absent
//! (the built-in default stands, or the instrument is not offered): never half-read.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};

use sebaya_proto::programme::ProgrammeRole;

use crate::care::instruments::DEFAULT_SRQ20_CUTOFF;
use crate::care::programme_instruments::{Definition, parse};
use crate::error::{Error, Result};
use crate::space::doc::{int, string};
use crate::{SpaceId, Vault};

use super::oncall::POLICY;

/// The citation of [`DEFAULT_SRQ20_CUTOFF`], the cut-off that stands when a programme set none.
pub const DEFAULT_SRQ20_CITATION: &str = "Riskesdas, Indonesia's national basic health research \
survey (Ministry of Health of the Republic of Indonesia): 6 or more yes answers on the SRQ-20 as \
mental-emotional distress.";
/// Longest citation of a programme's SRQ-20 settings, in characters.
pub const MAX_CITATION_CHARS: usize = 500;

const INSTRUMENT_PREFIX: &str = "instrument/";
const INSTRUMENT_AT_PREFIX: &str = "instrument_at/";
const SRQ20_KEY: &str = "srq20";
const SRQ20_AT_KEY: &str = "srq20_at";

/// SRQ-20's cut-off and age limits as they stand on this device, with where they come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Srq20Settings {
    /// Yes answers from which a screen is positive (1 to 20).
    pub cutoff: u32,
    /// Youngest age, in years, the programme screens with SRQ-20 (`None`: no lower limit set).
    pub min_age: Option<u32>,
    /// Oldest age, in years (`None`: no upper limit set).
    pub max_age: Option<u32>,
    /// Where the cut-off and limits come from.
    pub citation: String,
    /// True when no programme set its own: [`DEFAULT_SRQ20_CUTOFF`], no age limits,
    /// [`DEFAULT_SRQ20_CITATION`].
    #[serde(skip)]
    pub default: bool,
}

impl Srq20Settings {
    /// The settings when no programme set its own.
    pub fn builtin() -> Self {
        Srq20Settings {
            cutoff: DEFAULT_SRQ20_CUTOFF,
            min_age: None,
            max_age: None,
            citation: DEFAULT_SRQ20_CITATION.into(),
            default: true,
        }
    }

    fn check(&self) -> Result<()> {
        if !(1..=20).contains(&self.cutoff) {
            return Err(Error::InvalidInput(
                "an SRQ-20 cut-off is 1 to 20 yes answers".into(),
            ));
        }
        if let (Some(lo), Some(hi)) = (self.min_age, self.max_age) {
            if lo > hi {
                return Err(Error::InvalidInput(
                    "the youngest age is above the oldest".into(),
                ));
            }
        }
        if self
            .min_age
            .into_iter()
            .chain(self.max_age)
            .any(|a| a > 120)
        {
            return Err(Error::InvalidInput(
                "an age limit is at most 120 years".into(),
            ));
        }
        let c = &self.citation;
        if c.trim().is_empty()
            || c.chars().count() > MAX_CITATION_CHARS
            || c.chars().any(char::is_control)
        {
            return Err(Error::InvalidInput(format!(
                "a citation of 1 to {MAX_CITATION_CHARS} characters, without control characters, is required"
            )));
        }
        Ok(())
    }

    /// Whether SRQ-20 is for a person of `age` years under these limits.
    pub fn suits_age(&self, age: u32) -> bool {
        self.min_age.is_none_or(|lo| age >= lo) && self.max_age.is_none_or(|hi| age <= hi)
    }
}

fn policy(doc: &AutoCommit) -> Option<automerge::ObjId> {
    match doc.get(ROOT, POLICY) {
        Ok(Some((Value::Object(ObjType::Map), p))) => Some(p),
        _ => None,
    }
}

/// Every programme instrument a care record carries that checks, with when it was set.
pub(crate) fn instruments_in(doc: &AutoCommit) -> Vec<(Definition, i64)> {
    let Some(p) = policy(doc) else {
        return Vec::new();
    };
    doc.keys(&p)
        .filter_map(|k| {
            let id = k.strip_prefix(INSTRUMENT_PREFIX)?;
            let d = parse(&string(doc, &p, &k)?).ok()?;
            // The key names the instrument it holds: a definition under another's key is not it.
            if d.id != id {
                return None;
            }
            let at = int(doc, &p, &format!("{INSTRUMENT_AT_PREFIX}{id}")).unwrap_or(0);
            Some((d, at))
        })
        .collect()
}

/// The SRQ-20 settings a care record carries, with when they were set; `None` when absent or not
/// checking.
fn srq20_in(doc: &AutoCommit) -> Option<(Srq20Settings, i64)> {
    let p = policy(doc)?;
    let s: Srq20Settings = serde_json::from_str(&string(doc, &p, SRQ20_KEY)?).ok()?;
    s.check().ok()?;
    Some((s, int(doc, &p, SRQ20_AT_KEY).unwrap_or(0)))
}

impl Vault {
    /// A coordinator adds (or replaces, by its id) a programme-defined instrument in every care
    /// record of `programme` this device holds, from JSON (schema `sebaya-instrument/1`). Refused
    /// whole, nothing written: a definition that does not check is `InvalidInput` whose message
    /// starts with its [`super::programme_instruments::DefinitionError::code`]; not a coordinator
    /// there, `NotAllowed`; no care record of the programme here yet, `NotFound` (it would be
    /// kept nowhere). Returns the definition as kept.
    pub fn set_programme_instrument(
        &mut self,
        programme: &[u8; 32],
        json: &str,
    ) -> Result<Definition> {
        let d = parse(json)?;
        self.check_can_bind(Some(*programme), ProgrammeRole::Coordinator)?;
        if self.care_records_of(programme).is_empty() {
            return Err(Error::NotFound(
                "care record of this programme (enrol a participant first)",
            ));
        }
        let canonical = d.to_json()?;
        let key = format!("{INSTRUMENT_PREFIX}{}", d.id);
        let at_key = format!("{INSTRUMENT_AT_PREFIX}{}", d.id);
        self.write_policy(programme, |doc, policy, now| {
            doc.put(policy, key.as_str(), canonical.as_str())?;
            doc.put(policy, at_key.as_str(), now)?;
            Ok(())
        })?;
        Ok(d)
    }

    /// The programme instruments this device's care records carry, each id once (the newest set
    /// where records differ), by id.
    pub fn programme_instruments(&self) -> Vec<Definition> {
        let mut best: std::collections::BTreeMap<String, (Definition, i64)> = Default::default();
        for s in self.shared.values() {
            if s.kind != crate::space::SpaceKind::Care {
                continue;
            }
            for (d, at) in instruments_in(&s.doc) {
                match best.get(&d.id) {
                    Some((_, have)) if *have >= at => {}
                    _ => {
                        best.insert(d.id.clone(), (d, at));
                    }
                }
            }
        }
        best.into_values().map(|(d, _)| d).collect()
    }

    /// Every definition of the programme instrument `id` this device's care records carry, one per
    /// record that holds it. Two programmes may publish different instruments under one id; a risk
    /// rule of any of them must fire (review finding: the newest alone silenced the others).
    pub(crate) fn programme_instrument_all(&self, id: &str) -> Vec<Definition> {
        self.shared
            .values()
            .filter(|s| s.kind == crate::space::SpaceKind::Care)
            .filter_map(|s| instruments_in(&s.doc).into_iter().find(|(d, _)| d.id == id))
            .map(|(d, _)| d)
            .collect()
    }

    /// The programme instrument `id` as the care record `care` carries it (its own programme's
    /// definition, never another programme's of the same id); `NotFound` when it holds none.
    pub(crate) fn programme_instrument_in(&self, care: &SpaceId, id: &str) -> Result<Definition> {
        let s = self.care_ref(care)?;
        instruments_in(&s.doc)
            .into_iter()
            .filter(|(d, _)| d.id == id)
            .max_by_key(|(_, at)| *at)
            .map(|(d, _)| d)
            .ok_or(Error::NotFound("programme instrument"))
    }

    /// The programme instrument `id` as this device holds it; `NotFound` when none.
    pub fn programme_instrument(&self, id: &str) -> Result<Definition> {
        self.programme_instruments()
            .into_iter()
            .find(|d| d.id == id)
            .ok_or(Error::NotFound("programme instrument"))
    }

    /// Whether the programme instrument `id` has a form in `language` (its exact tag or its
    /// primary language; never another language instead): the app hides it when false. `NotFound`
    /// when this device holds no such instrument; `InvalidInput` for a malformed tag.
    pub fn programme_instrument_offered(&self, id: &str, language: &str) -> Result<bool> {
        crate::care::wordings::normalize_language(language)?;
        Ok(self.programme_instrument(id)?.form(language).is_some())
    }

    /// A coordinator sets SRQ-20's cut-off (1 to 20 yes answers) and age limits (years; `None`: no
    /// limit) for `programme`, with the citation they come from (required), in every care record of
    /// it this device holds. `NotAllowed` for anyone but a coordinator there. Returns how many
    /// records were written.
    pub fn set_srq20_settings(
        &mut self,
        programme: &[u8; 32],
        cutoff: u32,
        min_age: Option<u32>,
        max_age: Option<u32>,
        citation: &str,
    ) -> Result<u32> {
        let s = Srq20Settings {
            cutoff,
            min_age,
            max_age,
            citation: citation.trim().to_string(),
            default: false,
        };
        s.check()?;
        self.check_can_bind(Some(*programme), ProgrammeRole::Coordinator)?;
        let json = serde_json::to_string(&s).map_err(|_| Error::Internal("encode srq20"))?;
        self.write_policy(programme, |doc, policy, now| {
            doc.put(policy, SRQ20_KEY, json.as_str())?;
            doc.put(policy, SRQ20_AT_KEY, now)?;
            Ok(())
        })
    }

    /// Gives a care record just made by this device the programme's instruments and SRQ-20
    /// settings, the newest of each among the programme's other records here, with the times they
    /// were set: they live in each record, and a record made later would otherwise start without
    /// them (its participant not offered the instrument, scored against the default cut-off). Only
    /// a coordinator may write them, so a supporter's enrolment carries nothing (the coordinator
    /// sets them again). Best effort: the enrolment stands whatever happens here.
    pub(super) fn carry_programme_settings(&mut self, care: &crate::SpaceId, programme: &[u8; 32]) {
        if self
            .check_can_bind(Some(*programme), ProgrammeRole::Coordinator)
            .is_err()
        {
            return;
        }
        let mut instruments: std::collections::BTreeMap<String, (String, i64)> = Default::default();
        let mut srq20: Option<(String, i64)> = None;
        for other in self.care_records_of(programme) {
            if other == *care {
                continue;
            }
            let Some(space) = self.shared.get(&other) else {
                continue;
            };
            for (d, at) in instruments_in(&space.doc) {
                let Ok(json) = d.to_json() else {
                    continue;
                };
                match instruments.get(&d.id) {
                    Some((_, have)) if *have >= at => {}
                    _ => {
                        instruments.insert(d.id.clone(), (json, at));
                    }
                }
            }
            if let Some((set, at)) = srq20_in(&space.doc) {
                if srq20.as_ref().is_none_or(|(_, have)| at > *have) {
                    if let Ok(json) = serde_json::to_string(&set) {
                        srq20 = Some((json, at));
                    }
                }
            }
        }
        if instruments.is_empty() && srq20.is_none() {
            return;
        }
        let _ = self.with_space(care, |doc, now| {
            crate::space::doc::write(doc, now, |d| {
                let policy = super::oncall::policy_map(d)?;
                for (id, (json, at)) in &instruments {
                    d.put(
                        &policy,
                        format!("{INSTRUMENT_PREFIX}{id}").as_str(),
                        json.as_str(),
                    )?;
                    d.put(&policy, format!("{INSTRUMENT_AT_PREFIX}{id}").as_str(), *at)?;
                }
                if let Some((json, at)) = &srq20 {
                    d.put(&policy, SRQ20_KEY, json.as_str())?;
                    d.put(&policy, SRQ20_AT_KEY, *at)?;
                }
                Ok(())
            })
        });
    }

    /// SRQ-20's settings as they stand on this device: the programme's (the newest in each of this
    /// device's care records; where a person is in several programmes that set their own, the
    /// lowest cut-off, so no programme's positive screen is missed), else [`Srq20Settings::builtin`].
    /// The item 17 risk rule never depends on them.
    pub fn srq20_settings(&self) -> Srq20Settings {
        // Per programme the newest (its records may not all have the latest yet), then the lowest.
        let mut per_programme: std::collections::BTreeMap<[u8; 32], (Srq20Settings, i64)> =
            Default::default();
        for s in self.shared.values() {
            if s.kind != crate::space::SpaceKind::Care {
                continue;
            }
            let (Some(programme), Some((set, at))) =
                (crate::space::rules::programme_of(&s.doc), srq20_in(&s.doc))
            else {
                continue;
            };
            match per_programme.get(&programme) {
                Some((_, have)) if *have >= at => {}
                _ => {
                    per_programme.insert(programme, (set, at));
                }
            }
        }
        per_programme
            .into_values()
            .map(|(s, _)| s)
            .min_by_key(|s| s.cutoff)
            .unwrap_or_else(Srq20Settings::builtin)
    }

    /// Whether SRQ-20 is for a person of `age` years under [`Vault::srq20_settings`]: the app asks
    /// before offering it (the core is never told a person's age).
    pub fn srq20_suits_age(&self, age: u32) -> bool {
        self.srq20_settings().suits_age(age)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The stored form of a programme's SRQ-20 settings (docs/protocol.md, 22.3).
    #[test]
    fn srq20_settings_are_stored_as_the_documented_json() {
        let s = Srq20Settings {
            cutoff: 8,
            min_age: Some(18),
            max_age: None,
            citation: "Fictional study (2026)".into(),
            default: false,
        };
        s.check().unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"cutoff":8,"min_age":18,"max_age":null,"citation":"Fictional study (2026)"}"#
        );
        let back: Srq20Settings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(back.suits_age(18) && !back.suits_age(17) && back.suits_age(99));
        assert!(Srq20Settings::builtin().suits_age(5));
        assert_eq!(Srq20Settings::builtin().cutoff, 6);
    }
}
