//! Peer supporters and coordinators who are themselves minors (issue 14, item 15): a school's peer
//! counsellors are pupils. They take part as any supporter does, but a minor is never a referral's
//! only recipient. A coordinator lists the programme's minor staff; every count of "who a referral
//! reaches" (the escalation's result, each referral's notice, the on-call warning) then counts adult
//! coordinators only, and an acknowledgement, in-care or closing state written by a minor's device
//! moves no referral on: the referral stays open, and overdue, until an adult acts on it. A minor
//! coordinator still sees the referral (nothing is hidden from a member); they are just never the one
//! it depends on. With only minors to reach, the participant is told plainly that no one can be told
//! yet, with the crisis lines, as when a record has no coordinator at all.
//!
//! Where the list lives: the `policy` map of every care record of the programme (written only by a
//! member holding `coordinator`, judged on receipt by every device, `space/rules.rs`), as the on-call
//! list: `minor_staff` (person ids, 64 lowercase hex, joined by `,`; empty for none) with
//! `minor_staff_at` (ms, when set). A record read without a list counts everyone as an adult, so a
//! coordinator's device carries its newest list into each record it enrols.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value};
use sebaya_proto::programme::ProgrammeRole;

use crate::error::{Error, Result};
use crate::space::Space;
use crate::{PersonId, SpaceId, Vault};

use super::oncall::POLICY;
use super::record::StateRecord;

/// The most persons a programme lists as minor staff (the list travels in every care record).
pub const MAX_MINOR_STAFF: usize = 64;

const KEY: &str = "minor_staff";
const AT_KEY: &str = "minor_staff_at";

/// The minor staff a care record lists, with when the list was set; `None` when it lists none or
/// the list does not read (a part that is not a person id, a repeat, or more than
/// [`MAX_MINOR_STAFF`]). An empty text is an empty list: a coordinator cleared it.
pub(crate) fn minor_staff_in(doc: &AutoCommit) -> Option<(Vec<[u8; 32]>, i64)> {
    let Ok(Some((Value::Object(ObjType::Map), policy))) = doc.get(ROOT, POLICY) else {
        return None;
    };
    let text = crate::space::doc::string(doc, &policy, KEY)?;
    let at = crate::space::doc::int(doc, &policy, AT_KEY).unwrap_or(0);
    Some((super::oncall::person_list(&text, MAX_MINOR_STAFF)?, at))
}

/// The persons a care record lists as minors among its staff (empty when it lists none).
pub(crate) fn minors_of(doc: &AutoCommit) -> Vec<[u8; 32]> {
    minor_staff_in(doc).map(|(l, _)| l).unwrap_or_default()
}

/// A care record's referral states that count: those not written by a device proven to belong to a
/// listed minor. A minor's acknowledgement would otherwise end the overdue alert and leave the
/// referral resting on a child.
pub(crate) fn counted_states(space: &Space, states: Vec<StateRecord>) -> Vec<StateRecord> {
    let minors = minors_of(&space.doc);
    if minors.is_empty() {
        return states;
    }
    let members = space.membership();
    states
        .into_iter()
        .filter(|s| {
            let person = crate::DeviceId::from_hex(&s.by)
                .ok()
                .and_then(|d| members.proven_person(&d));
            !person.is_some_and(|p| minors.contains(&p))
        })
        .collect()
}

fn encode(persons: &[[u8; 32]]) -> String {
    persons
        .iter()
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(",")
}

impl Vault {
    /// A coordinator lists the programme's peer supporters and coordinators who are minors (0 to
    /// [`MAX_MINOR_STAFF`] persons, each once; an empty list clears it), in every care record of
    /// `programme` this device holds, replacing the list there. From then on a referral counts only
    /// adult coordinators as reached, and only an adult's acknowledgement moves it on. Not a
    /// coordinator there: `NotAllowed`. Returns how many records were written.
    pub fn set_minor_staff(&mut self, programme: &[u8; 32], persons: &[PersonId]) -> Result<u32> {
        if persons.len() > MAX_MINOR_STAFF {
            return Err(Error::InvalidInput(format!(
                "a minor staff list names at most {MAX_MINOR_STAFF} persons"
            )));
        }
        let ids: Vec<[u8; 32]> = persons.iter().map(|p| p.0).collect();
        if ids.iter().enumerate().any(|(i, a)| ids[..i].contains(a)) {
            return Err(Error::InvalidInput(
                "a minor staff list names each person once".into(),
            ));
        }
        self.check_can_bind(Some(*programme), ProgrammeRole::Coordinator)?;
        let list = encode(&ids);
        self.write_policy(programme, |d, policy, now| {
            d.put(policy, KEY, list.as_str())?;
            d.put(policy, AT_KEY, now)?;
            Ok(())
        })
    }

    /// The persons a care record lists as minor staff (empty when none are listed).
    pub fn minor_staff(&self, care: &SpaceId) -> Result<Vec<PersonId>> {
        let space = self.care_ref(care)?;
        Ok(minors_of(&space.doc).into_iter().map(PersonId).collect())
    }

    /// Gives a care record just made by this device, a coordinator's, the newest minor staff list
    /// among the programme's other records here, so that no adult count in it includes a listed
    /// minor. Best effort, as the other settings: the enrolment stands whatever happens here.
    pub(super) fn carry_minor_staff(&mut self, care: &SpaceId, programme: &[u8; 32]) {
        if self
            .check_can_bind(Some(*programme), ProgrammeRole::Coordinator)
            .is_err()
        {
            return;
        }
        let newest = self
            .care_records_of(programme)
            .iter()
            .filter(|id| *id != care)
            .filter_map(|id| self.shared.get(id))
            .filter_map(|s| minor_staff_in(&s.doc))
            .max_by_key(|(_, at)| *at);
        let Some((list, at)) = newest else {
            return;
        };
        let text = encode(&list);
        let _ = self.with_space(care, |doc, now| {
            crate::space::doc::write(doc, now, |d| {
                let policy = super::oncall::policy_map(d)?;
                d.put(&policy, KEY, text.as_str())?;
                d.put(&policy, AT_KEY, at)?;
                Ok(())
            })
        });
    }
}
