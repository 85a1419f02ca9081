//! Who is there to receive a referral, and by when (issue 14, items 2 and 3): the coordinators a
//! care record can reach, the programme's acknowledgement deadline, and the coordinators' caseload
//! with what is overdue first. Nothing here blocks help: a record with no coordinator still takes
//! the referral, which waits in it for the first coordinator added.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use sebaya_proto::programme::ProgrammeRole;

use crate::error::{Error, Result};
use crate::space::doc::write;
use crate::space::{Space, rules};
use crate::{SpaceId, Vault};

use super::escalation::ReferralView;

/// Hours within which a coordinator should acknowledge a referral when the programme set none:
/// the same day, as PHQ-9 item 9 asks of any answer above 0 (`shared/design/care.md`).
pub const DEFAULT_ACK_HOURS: u32 = 24;
/// The longest deadline a programme may set: a week. A referral waiting longer is not "on call".
pub const MAX_ACK_HOURS: u32 = 168;

/// The care record's root key holding the programme's settings for it (`ack_hours`).
pub(super) const POLICY: &str = "policy";

/// The acknowledgement deadline a care record carries, in hours ([`DEFAULT_ACK_HOURS`] when none
/// or a malformed one is set).
pub fn ack_hours(doc: &AutoCommit) -> u32 {
    let Ok(Some((Value::Object(ObjType::Map), policy))) = doc.get(ROOT, POLICY) else {
        return DEFAULT_ACK_HOURS;
    };
    match doc.get(&policy, "ack_hours") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Uint(h) => u32::try_from(*h).ok(),
            ScalarValue::Int(h) => u32::try_from(*h).ok(),
            _ => None,
        }
        .filter(|h| (1..=MAX_ACK_HOURS).contains(h))
        .unwrap_or(DEFAULT_ACK_HOURS),
        _ => DEFAULT_ACK_HOURS,
    }
}

/// How many persons a referral in this record will reach as coordinators: members whose device is
/// proven to belong to a person holding the coordinator role in the record's programme now.
pub(crate) fn coordinators_in(space: &Space, now_secs: u64) -> u32 {
    let Some(programme) = rules::programme_of(&space.doc) else {
        return 0;
    };
    let registry = rules::registry_of(&space.doc, programme);
    let members = space.membership();
    let mut persons: Vec<[u8; 32]> = members
        .members
        .keys()
        .filter_map(|d| members.proven_person(d))
        .filter(|p| {
            registry
                .role_of(&crate::PersonId(*p), now_secs)
                .is_some_and(|r| r >= ProgrammeRole::Coordinator)
        })
        .collect();
    persons.sort_unstable();
    persons.dedup();
    u32::try_from(persons.len()).unwrap_or(u32::MAX)
}

impl Vault {
    /// A coordinator sets the programme's acknowledgement deadline (1 to [`MAX_ACK_HOURS`] hours) in
    /// every care record of `programme` this device holds. Past it, an unacknowledged referral is
    /// overdue: the participant is shown the crisis lines again, the supporter is told to phone the
    /// coordinator, and it leads every coordinator's caseload. Returns how many records were written.
    pub fn set_ack_deadline(&mut self, programme: &[u8; 32], hours: u32) -> Result<u32> {
        if !(1..=MAX_ACK_HOURS).contains(&hours) {
            return Err(Error::InvalidInput(format!(
                "an acknowledgement deadline is 1 to {MAX_ACK_HOURS} hours"
            )));
        }
        let targets = self.care_records_of(programme);
        let mut n = 0;
        let mut refused = None;
        for t in targets {
            // Every record is tried: one that refuses does not leave the others on the old deadline.
            let done = self.with_space(&t, |doc, now| {
                write(doc, now, |d| {
                    // Records made before the deadline existed have no `policy` yet.
                    let policy = match d.get(ROOT, POLICY)? {
                        Some((Value::Object(ObjType::Map), obj)) => obj,
                        _ => d.put_object(ROOT, POLICY, ObjType::Map)?,
                    };
                    d.put(&policy, "ack_hours", u64::from(hours))?;
                    Ok(())
                })
            });
            match done {
                Ok(()) => n += 1,
                Err(e) => refused = Some(e),
            }
        }
        match (n, refused) {
            (0, Some(e)) => Err(e),
            _ => Ok(n),
        }
    }

    /// The acknowledgement deadline of a care record, in hours.
    pub fn ack_deadline_hours(&self, care: &SpaceId) -> Result<u32> {
        Ok(ack_hours(&self.care_ref(care)?.doc))
    }

    /// A coordinator's caseload now: see [`Vault::caseload_at`].
    pub fn caseload(&mut self) -> Result<Vec<ReferralView>> {
        self.caseload_at(crate::store::clock::now_ms())
    }

    /// A coordinator's caseload as of `now_ms`: every referral not yet closed, in every care record
    /// where this device's person is a coordinator, overdue ones first, then oldest first, each
    /// with its age and who acknowledged it. Empty for anyone who coordinates nothing.
    pub fn caseload_at(&mut self, now_ms: i64) -> Result<Vec<ReferralView>> {
        let mine: Vec<SpaceId> = self
            .care_records()
            .into_iter()
            .filter(|c| c.viewer == "coordinator")
            .map(|c| c.id)
            .collect();
        let mut out = Vec::new();
        let mut failed = 0usize;
        for care in &mine {
            // One record that cannot be read must not blank the others' referrals.
            match self.referrals_at(care, now_ms) {
                Ok(list) => out.extend(list.into_iter().filter(|r| r.state != "closed")),
                Err(_) => failed += 1,
            }
        }
        if failed > 0 && failed == mine.len() {
            return Err(Error::Corrupt("care records"));
        }
        // Unstable: the care record and referral ids break every tie (and a stable sort's code would
        // cost the mobile library kilobytes, docs/size.md).
        out.sort_unstable_by(|a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then_with(|| b.age_ms.cmp(&a.age_ms))
                .then_with(|| a.care.0.cmp(&b.care.0))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }
}
