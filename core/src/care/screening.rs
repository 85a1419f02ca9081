//! Screening results kept in the participant's journal: a total and the risk rules that fired per
//! completed instrument, never the answers; and, since issue 14 item 8, what the total means: the
//! instrument's version, the wording and the language the participant answered in (a total read
//! against another version's bands, or a wording nobody validated, is not the same result).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use serde::Serialize;

use crate::Vault;
use crate::care::instruments::Instrument;
use crate::error::Result;
use crate::space::doc::{int, string, write};
use crate::store::clock::now_ms;

use super::record::new_id;

/// Prefix of the journal's root keys holding screening results (`screening/<id>` -> `{ instrument,
/// total, risk: str (comma-separated rule ids), at: ms }`, and since issue 14 item 8 optionally
/// `version`, `language`, `wording`: str): the participant's own record, private to their devices.
/// The answers themselves are not kept. A record without the later fields reads with them `None`.
pub const SCREENING_PREFIX: &str = "screening/";

/// A screening result kept in the participant's journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreeningRecord {
    /// Record id (16 hex).
    pub id: String,
    /// Instrument id (`phq9`…, or a programme's `x-…`).
    pub instrument: String,
    /// Its total (WHO-5: raw 0–25).
    pub total: u32,
    /// Risk rules that fired.
    pub risk: Vec<String>,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// The instrument's version: a programme instrument's own, or
    /// [`crate::care::instruments::BUILTIN_VERSION`]; `None` in records kept before issue 14 item 8.
    pub instrument_version: Option<String>,
    /// The language the participant answered in (a lowercase BCP 47 tag); `None` when the app did not
    /// say (`submit_screening`) or in older records.
    pub language: Option<String>,
    /// Which wording: `builtin:<instrument>/<language>`, `programme:<16 hex>` (the start of the
    /// SHA-256 of the imported wording as kept) or `<x-id>@<version>/<language>`; `None` as for
    /// `language`.
    pub wording: Option<String>,
}

/// What a screening was answered with, kept beside its total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Used {
    /// The instrument's version.
    pub version: String,
    /// The language answered in, when known.
    pub language: Option<String>,
    /// The wording's id, when known.
    pub wording: Option<String>,
}

/// One result to keep: the instrument's id, its total and the risk rules that fired.
pub(super) struct Kept<'a> {
    pub(super) instrument: &'a str,
    pub(super) total: u32,
    pub(super) risk: &'a [String],
    pub(super) used: &'a Used,
}

pub(super) fn store_screening(
    doc: &mut AutoCommit,
    id: &str,
    result: &Kept<'_>,
    now_ms: i64,
) -> Result<()> {
    let key = format!("{SCREENING_PREFIX}{id}");
    write(doc, now_ms, |d| {
        let r = d.put_object(ROOT, key.as_str(), ObjType::Map)?;
        d.put(&r, "instrument", result.instrument)?;
        d.put(&r, "total", i64::from(result.total))?;
        d.put(&r, "risk", result.risk.join(","))?;
        d.put(&r, "at", now_ms)?;
        d.put(&r, "version", result.used.version.as_str())?;
        if let Some(l) = &result.used.language {
            d.put(&r, "language", l.as_str())?;
        }
        if let Some(w) = &result.used.wording {
            d.put(&r, "wording", w.as_str())?;
        }
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
            let known = Instrument::from_id(&instrument).is_ok()
                || crate::care::programme_instruments::is_programme_id(&instrument);
            if !known {
                return None;
            }
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
                instrument_version: string(doc, &r, "version"),
                language: string(doc, &r, "language"),
                wording: string(doc, &r, "wording"),
            })
        })
        .collect();
    crate::order::sort_by(&mut out, |a, b| {
        a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id))
    });
    out
}

impl Vault {
    /// Keeps a screening's total in the journal, durably.
    pub(super) fn save_screening(&mut self, result: &Kept<'_>) -> Result<()> {
        let id = new_id()?;
        self.journal()?;
        let (store, j) = self.parts()?;
        store_screening(&mut j.doc, &id, result, now_ms())?;
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
