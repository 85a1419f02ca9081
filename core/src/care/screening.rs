//! Screening results kept in the participant's journal: a total and the risk rules that fired per
//! completed instrument, never the answers.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use serde::Serialize;

use crate::Vault;
use crate::care::instruments::{Instrument, Score};
use crate::error::Result;
use crate::space::doc::{int, string, write};
use crate::store::clock::now_ms;

use super::record::new_id;

/// Prefix of the journal's root keys holding screening results (`screening/<id>` -> `{ instrument,
/// total, risk: str (comma-separated rule ids), at: ms }`): the participant's own record, private to
/// their devices. The answers themselves are not kept.
pub const SCREENING_PREFIX: &str = "screening/";

/// A screening result kept in the participant's journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreeningRecord {
    /// Record id (16 hex).
    pub id: String,
    /// Instrument id (`phq9`…).
    pub instrument: String,
    /// Its total (WHO-5: raw 0–25).
    pub total: u32,
    /// Risk rules that fired.
    pub risk: Vec<String>,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

pub(super) fn store_screening(
    doc: &mut AutoCommit,
    id: &str,
    score: &Score,
    now_ms: i64,
) -> Result<()> {
    let key = format!("{SCREENING_PREFIX}{id}");
    let risk: Vec<&str> = score.risk.iter().map(|f| f.id()).collect();
    write(doc, now_ms, |d| {
        let r = d.put_object(ROOT, key.as_str(), ObjType::Map)?;
        d.put(&r, "instrument", score.instrument.id())?;
        d.put(&r, "total", i64::from(score.total))?;
        d.put(&r, "risk", risk.join(","))?;
        d.put(&r, "at", now_ms)?;
        Ok(())
    })
}

/// Every screening result in a journal document, oldest first.
pub fn screenings(doc: &AutoCommit) -> Vec<ScreeningRecord> {
    let mut out: Vec<ScreeningRecord> = doc
        .keys(ROOT)
        .filter_map(|k| {
            let id = k.strip_prefix(SCREENING_PREFIX)?;
            crate::space::doc::check_id(id, "screening").ok()?;
            // Of copies put concurrently by an erasure's carry-over, one (protocol 27.4).
            let r = crate::space::doc::root_record(doc, &k)?;
            let instrument = string(doc, &r, "instrument")?;
            Instrument::from_id(&instrument).ok()?;
            let risk = string(doc, &r, "risk").unwrap_or_default();
            Some(ScreeningRecord {
                id: id.to_string(),
                instrument,
                total: u32::try_from(int(doc, &r, "total")?).ok()?,
                risk: risk
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                at_ms: int(doc, &r, "at")?,
            })
        })
        .collect();
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

impl Vault {
    /// Keeps a screening's total in the journal, durably.
    pub(super) fn save_screening(&mut self, score: &Score) -> Result<()> {
        let id = new_id()?;
        self.journal()?;
        let (store, j) = self.parts()?;
        store_screening(&mut j.doc, &id, score, now_ms())?;
        j.persist(store)
    }

    /// The participant's screening results kept in their journal, oldest first.
    pub fn screenings(&self) -> Vec<ScreeningRecord> {
        self.journal
            .as_ref()
            .map(|j| screenings(&j.doc))
            .unwrap_or_default()
    }
}
