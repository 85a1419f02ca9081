//! Who is there to receive a referral, and by when (issue 14, items 2 and 3): the coordinators a
//! care record can reach, the programme's on-call list and whether it names two coordinators, the
//! programme's acknowledgement deadline, and the coordinators' caseload with what is overdue first.
//! Nothing here blocks help: a record with no coordinator still takes the referral, which waits in
//! it for the first coordinator added; an on-call list that is too short is a warning, never a gate.

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

/// The care record's root key holding the programme's settings for it (`ack_hours`, `on_call`).
pub(super) const POLICY: &str = "policy";

/// The care record's `policy` map, made on first use: every programme setting a coordinator carries
/// into a record (on-call rota, instruments, duty of care) lands in this one map, so one reader finds
/// them all.
pub(super) fn policy_map(d: &mut AutoCommit) -> Result<automerge::ObjId> {
    match d.get(ROOT, POLICY)? {
        Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
        _ => Ok(d.put_object(ROOT, POLICY, ObjType::Map)?),
    }
}

/// The fewest persons a programme should have on call: one person is never a rota (a coordinator
/// is ill, asleep or away, and a referral must still reach someone; `shared/design/care.md`).
pub const MIN_ON_CALL: u32 = 2;
/// The most persons an on-call list names (it travels in every care record of the programme).
pub const MAX_ON_CALL: usize = 16;

/// Where a care record stands on who will receive its referrals, as a warning the app shows (at
/// enrolment, and on the record) without ever blocking enrolment, consent or a referral. Each has a
/// message in Indonesian and English ([`OnCallState::message_id`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnCallState {
    /// At least two persons on call hold `coordinator` now, and the record reaches at least two
    /// coordinators.
    Ready,
    /// The programme has declared no on-call list that this device knows.
    NotDeclared,
    /// The list names fewer than two persons who hold `coordinator` now.
    FewerThanTwoOnCall,
    /// The list is good, but this record reaches fewer than two coordinators: add the on-call
    /// coordinators to it (a referral reaches only the record's members).
    FewerThanTwoReached,
}

impl OnCallState {
    /// The message to show, in Indonesian and English (`i18n::message`).
    pub fn message_id(self) -> &'static str {
        match self {
            Self::Ready => "care-on-call-ready",
            Self::NotDeclared => "care-on-call-not-declared",
            Self::FewerThanTwoOnCall => "care-on-call-fewer-than-two",
            Self::FewerThanTwoReached => "care-on-call-not-in-record",
        }
    }

    /// Whether the app should show it as a warning (everything but [`OnCallState::Ready`]).
    pub fn warning(self) -> bool {
        self != Self::Ready
    }
}

/// Who will receive a care record's referrals, as this device can tell: the programme's on-call
/// list, how many of its persons hold `coordinator` now, and how many coordinators the record
/// itself reaches (a referral reaches only members).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnCallStatus {
    /// The care record.
    pub care: SpaceId,
    /// Persons the programme's on-call list names (0: none declared).
    pub declared: u32,
    /// Of those, persons who hold `coordinator` in the programme now.
    pub on_call: u32,
    /// Coordinator persons among the record's members now: who a referral here will reach.
    pub coordinators: u32,
    /// The warning to show, if any.
    pub state: OnCallState,
}

/// The on-call list a care record carries (`policy.on_call`: person ids in lowercase hex, joined by
/// commas), with when it was set (`policy.on_call_at`, ms); `None` when absent or malformed (a
/// malformed list is read as none declared: the warning stays, never a false "ready").
pub(crate) fn on_call_list(doc: &AutoCommit) -> Option<(Vec<[u8; 32]>, i64)> {
    let Ok(Some((Value::Object(ObjType::Map), policy))) = doc.get(ROOT, POLICY) else {
        return None;
    };
    let text = crate::space::doc::string(doc, &policy, "on_call")?;
    let at = crate::space::doc::int(doc, &policy, "on_call_at").unwrap_or(0);
    let out = person_list(&text, MAX_ON_CALL)?;
    (!out.is_empty()).then_some((out, at))
}

/// A policy list of person ids (64 lowercase hex each, joined by `,`; empty text: no one), at most
/// `max` of them, each once; `None` when any part breaks that. Read no further than the bound: a
/// list is never read to the end of a long text.
pub(super) fn person_list(text: &str, max: usize) -> Option<Vec<[u8; 32]>> {
    let mut out: Vec<[u8; 32]> = Vec::new();
    if text.is_empty() {
        return Some(out);
    }
    for part in text.split(',') {
        if out.len() == max {
            return None;
        }
        let lower_hex = part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let mut id = [0u8; 32];
        if part.len() != 64
            || !lower_hex
            || hex::decode_to_slice(part, &mut id).is_err()
            || out.contains(&id)
        {
            return None;
        }
        out.push(id);
    }
    Some(out)
}

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
/// proven to belong to a person holding the coordinator role in the record's programme now, and
/// whom the record does not list as a minor (`minor_staff.rs`).
pub(crate) fn coordinators_in(space: &Space, now_secs: u64) -> u32 {
    u32::try_from(coordinator_persons(space, now_secs).len()).unwrap_or(u32::MAX)
}

/// The coordinator persons a referral in this record will reach (see [`coordinators_in`]), sorted:
/// an escalation counts them per programme, each person once however many records they are in.
pub(crate) fn coordinator_persons(space: &Space, now_secs: u64) -> Vec<[u8; 32]> {
    let Some(programme) = rules::programme_of(&space.doc) else {
        return Vec::new();
    };
    let registry = rules::registry_of(&space.doc, programme);
    let members = space.membership();
    // A listed minor is never counted as reached: a referral must rest on an adult.
    let minors = super::minor_staff::minors_of(&space.doc);
    let mut persons: Vec<[u8; 32]> = members
        .members
        .keys()
        .filter_map(|d| members.proven_person(d))
        .filter(|p| !minors.contains(p))
        .filter(|p| {
            registry
                .role_of(&crate::PersonId(*p), now_secs)
                .is_some_and(|r| r >= ProgrammeRole::Coordinator)
        })
        .collect();
    crate::order::sort(&mut persons);
    persons.dedup();
    persons
}

/// How many of `persons` hold `coordinator` (or above) now, by the credentials `doc` holds, and
/// are not listed there as minors (an on-call list of pupils is no rota).
fn holding_coordinator(doc: &AutoCommit, persons: &[[u8; 32]], now_secs: u64) -> u32 {
    let Some(programme) = rules::programme_of(doc) else {
        return 0;
    };
    let registry = rules::registry_of(doc, programme);
    let minors = super::minor_staff::minors_of(doc);
    let n = persons
        .iter()
        .filter(|p| !minors.contains(*p))
        .filter(|p| {
            registry
                .role_of(&crate::PersonId(**p), now_secs)
                .is_some_and(|r| r >= ProgrammeRole::Coordinator)
        })
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
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
        self.write_policy(programme, |d, policy, _| {
            d.put(policy, "ack_hours", u64::from(hours))?;
            Ok(())
        })
    }

    /// Writes into the `policy` map of every care record of `programme` this device holds (made
    /// first in records older than it), and returns how many were written. Every record is tried:
    /// one that refuses does not leave the others on the old setting; only when none takes it is
    /// the refusal returned.
    pub(super) fn write_policy(
        &mut self,
        programme: &[u8; 32],
        set: impl Fn(&mut AutoCommit, &automerge::ObjId, i64) -> Result<()>,
    ) -> Result<u32> {
        let targets = self.care_records_of(programme);
        let mut n = 0;
        let mut refused = None;
        for t in targets {
            let done = self.with_space(&t, |doc, now| {
                write(doc, now, |d| {
                    let policy = policy_map(d)?;
                    set(d, &policy, now)
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

    /// A coordinator declares the programme's on-call coordinators (1 to [`MAX_ON_CALL`] persons,
    /// each once; at least [`MIN_ON_CALL`] holding `coordinator` for it to be a rota) in every care
    /// record of `programme` this device holds, replacing the list there. The list travels inside
    /// the care records, which only their members read, so it tells no one outside a record who is
    /// enrolled; it names coordinators, whom every member already sees. A short list is accepted
    /// and reported ([`Vault::on_call_status`]): a warning, never a gate. Not a coordinator there:
    /// `NotAllowed`. Returns how many records were written.
    pub fn set_on_call(
        &mut self,
        programme: &[u8; 32],
        persons: &[crate::PersonId],
    ) -> Result<u32> {
        if persons.is_empty() || persons.len() > MAX_ON_CALL {
            return Err(Error::InvalidInput(format!(
                "an on-call list names 1 to {MAX_ON_CALL} persons"
            )));
        }
        let ids: Vec<String> = persons.iter().map(|p| hex::encode(p.0)).collect();
        if ids.iter().enumerate().any(|(i, a)| ids[..i].contains(a)) {
            return Err(Error::InvalidInput(
                "an on-call list names each person once".into(),
            ));
        }
        self.check_can_bind(Some(*programme), ProgrammeRole::Coordinator)?;
        let list = ids.join(",");
        self.write_policy(programme, |d, policy, now| {
            d.put(policy, "on_call", list.as_str())?;
            d.put(policy, "on_call_at", now)?;
            Ok(())
        })
    }

    /// Who will receive a care record's referrals ([`OnCallStatus`]), for the warning shown at
    /// enrolment and on the record. The on-call list is the record's own; a record that carries
    /// none yet (one just enrolled: only a coordinator writes the list) is judged by the newest list
    /// among the programme's other records on this device, so a supporter who enrols sees at once
    /// whether the programme has a rota, and that the new record reaches no one until the on-call
    /// coordinators are added to it.
    pub fn on_call_status(&self, care: &SpaceId) -> Result<OnCallStatus> {
        let space = self.care_ref(care)?;
        let now = u64::try_from(crate::store::clock::now_ms() / 1000).unwrap_or(0);
        let coordinators = coordinators_in(space, now);
        let own = on_call_list(&space.doc).map(|(l, at)| (l, at, &space.doc));
        let declared = own.or_else(|| {
            let programme = rules::programme_of(&space.doc)?;
            self.care_records_of(&programme)
                .iter()
                .filter_map(|id| self.shared.get(id))
                .filter_map(|s| on_call_list(&s.doc).map(|(l, at)| (l, at, &s.doc)))
                .max_by_key(|(_, at, _)| *at)
        });
        let reached = coordinator_persons(space, now);
        let (declared, on_call, reached_on_call) = match &declared {
            Some((list, _, doc)) => (
                u32::try_from(list.len()).unwrap_or(u32::MAX),
                holding_coordinator(doc, list, now),
                // Of those on call, the ones this record's referrals reach: coordinators who are
                // members here but not on call do not make the record ready.
                u32::try_from(list.iter().filter(|p| reached.contains(p)).count())
                    .unwrap_or(u32::MAX),
            ),
            None => (0, 0, 0),
        };
        let state = if declared == 0 {
            OnCallState::NotDeclared
        } else if on_call < MIN_ON_CALL {
            OnCallState::FewerThanTwoOnCall
        } else if coordinators < MIN_ON_CALL || reached_on_call < MIN_ON_CALL {
            OnCallState::FewerThanTwoReached
        } else {
            OnCallState::Ready
        };
        Ok(OnCallStatus {
            care: *care,
            declared,
            on_call,
            coordinators,
            state,
        })
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
        // Safeguarding concerns, which live in the programme's safeguarding space, not in a care
        // record (issue 14, item 14): the same deadline, acknowledgement and order.
        if let Ok(list) = self.concerns_as_referrals(now_ms) {
            out.extend(list.into_iter().filter(|r| r.state != "closed"));
        }
        // The care record and referral ids break every tie.
        crate::order::sort_by(&mut out, |a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then_with(|| b.age_ms.cmp(&a.age_ms))
                .then_with(|| a.care.0.cmp(&b.care.0))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with_list(text: &str) -> AutoCommit {
        let mut d = AutoCommit::new();
        let p = d.put_object(ROOT, POLICY, ObjType::Map).unwrap();
        d.put(&p, "on_call", text).unwrap();
        d.put(&p, "on_call_at", 5_i64).unwrap();
        d
    }

    /// An on-call list reads only as written (protocol 22): 1 to 16 distinct person ids in lowercase
    /// hex joined by commas; anything else reads as none declared, so the warning stays and a
    /// malformed list never shows "ready". A list far over the bound is not read to its end.
    #[test]
    fn an_on_call_list_reads_only_as_written() {
        let a = "ab".repeat(32);
        let b = "cd".repeat(32);
        let (list, at) = on_call_list(&with_list(&format!("{a},{b}"))).unwrap();
        assert_eq!((list.len(), at), (2, 5));
        let many: Vec<String> = (0..=MAX_ON_CALL)
            .map(|i| format!("{:064x}", i + 1))
            .collect();
        for bad in [
            String::new(),
            a.clone() + ",",
            format!("{a},{a}"),
            a.to_uppercase(),
            a[..62].to_string(),
            many.join(","),
            many.join(",").repeat(4_000),
        ] {
            assert_eq!(
                on_call_list(&with_list(&bad)),
                None,
                "{}",
                &bad[..bad.len().min(80)]
            );
        }
        assert_eq!(on_call_list(&AutoCommit::new()), None);
    }
}
