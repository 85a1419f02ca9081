//! Passing a report on to the group's facilitator (protocol 31.4): a coordinator's device seals it
//! again in the programme's safeguarding space, for the facilitator devices the report names and the
//! coordinators there, without the reporter. The safeguarding space holds the programme's
//! coordinators and supporters (a facilitator is a peer supporter), never a participant's device, so
//! the reported participant never holds the copy either, and nothing in it names the reporter: its
//! writer is the coordinator's device, its id ([`passon_id`]) is not the care record's, and its
//! plaintext names no facilitator list.

use automerge::ReadDoc;

use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use crate::error::Result;
use crate::space::doc::is_lower_hex;
use crate::space::{SpaceKind, rules};
use crate::{DeviceId, SpaceId, Vault};

use super::ROUTES;
use super::reports::{Opened, devices_with, passon_id};

/// The most facilitator devices a copy is sealed for besides the coordinators.
const MAX_NAMED: usize = 8;

#[cfg(test)]
thread_local! {
    /// Tests only: how many of the next pass-ons on this thread fail (review M5).
    pub(super) static FAIL_NEXT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Vault {
    /// On a coordinator's device: passes each report it opens in a care record, whose route names
    /// the facilitator, on into its programme's safeguarding space, sealed for the named facilitator
    /// devices that belong to that space and for its coordinators, as
    /// `report/<pass-on id>/<this device>`; once per report (a device that finds any copy of it
    /// writes none; copies two coordinator devices write at once both stand, and readers list one).
    /// A report whose facilitator is not (yet) in the space, or whose write fails, waits for a
    /// later call; the others go. Returns how many were passed on. Called before every sync and
    /// listing.
    pub fn pass_on_reports(&mut self) -> Result<u32> {
        let mut n = 0;
        for r in self.opened() {
            if r.passed_on || r.plain.route != ROUTES[0] || r.plain.facilitators.is_empty() {
                continue;
            }
            // One that fails (its space, its write) is tried again at the next call; the others
            // still go (review M5).
            if let Ok(true) = self.pass_on(r) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Passes one report on; whether a copy was written.
    fn pass_on(&mut self, r: Opened) -> Result<bool> {
        #[cfg(test)]
        if FAIL_NEXT.with(|f| f.replace(f.get().saturating_sub(1))) > 0 {
            return Err(crate::error::Error::Internal("a pass-on made to fail"));
        }
        let me = self.identity.device;
        let Some(care) = self.shared.get(&r.space) else {
            return Ok(false);
        };
        if care.kind != SpaceKind::Care
            || !devices_with(care, ProgrammeRole::Coordinator)
                .iter()
                .any(|(d, _)| *d == me)
        {
            return Ok(false);
        }
        let Some(programme) = rules::programme_of(&care.doc) else {
            return Ok(false);
        };
        let Some(space) = self.safeguarding_of(&programme) else {
            return Ok(false);
        };
        // Every device of the safeguarding space must take reports first, or it would hold
        // back this coordinator's later writes there (acknowledging concerns): until then the
        // report waits here for a later call.
        let ready = self
            .shared
            .get_mut(&space)
            .is_some_and(|s| s.wait_for_rules(rules::REPORTS_SINCE).is_ok());
        if !ready {
            return Ok(false);
        }
        let id = passon_id(&r.key, &space);
        // The report's facilitator list is its writer's word (review M3): where this device holds
        // the group, only the group's admins count; at most eight, lower-case device ids only.
        let group_admins: Option<Vec<DeviceId>> = SpaceId::from_hex(&r.plain.space)
            .ok()
            .and_then(|g| self.shared.get(&g))
            .filter(|g| g.membership().is_member(&me))
            .map(|g| {
                let gm = g.membership();
                gm.members
                    .keys()
                    .filter(|d| gm.role(d) == Some(Role::Admin))
                    .copied()
                    .collect()
            });
        // A facilitator who holds the reporter's care record (their supporter) sees the report
        // written there and would link the copy to it by its time: never for them (second review
        // R1); with none left, nothing is passed on.
        let holders: Vec<DeviceId> = self
            .shared
            .get(&r.space)
            .map(|c| {
                // The coordinators read the report anyway: only the record's other holders (the
                // supporter) count (second review R16).
                let cm = c.membership();
                let readers = devices_with(c, ProgrammeRole::Coordinator);
                let reader_persons: Vec<[u8; 32]> = readers
                    .iter()
                    .filter_map(|(d, _)| cm.proven_person(d))
                    .collect();
                let others: Vec<DeviceId> = cm
                    .members
                    .keys()
                    .filter(|d| {
                        !readers.iter().any(|(r, _)| r == *d)
                            && cm
                                .proven_person(d)
                                .is_none_or(|p| !reader_persons.contains(&p))
                    })
                    .copied()
                    .collect();
                let persons: Vec<[u8; 32]> =
                    others.iter().filter_map(|d| cm.proven_person(d)).collect();
                (others, persons)
            })
            .map(|(devices, persons)| {
                let sm = self.shared.get(&space).map(|x| x.membership());
                let mut all = devices.clone();
                if let Some(sm) = sm {
                    all.extend(sm.members.keys().filter(|d| {
                        !devices.contains(d)
                            && sm.proven_person(d).is_some_and(|p| persons.contains(&p))
                    }));
                }
                all
            })
            .unwrap_or_default();
        let s = self.held_ref(&space)?;
        let copies = format!("{}{id}/", rules::REPORT_PREFIX);
        if s.doc.keys(automerge::ROOT).any(|k| k.starts_with(&copies)) {
            return Ok(false);
        }
        let m = s.membership();
        // Never for a device of the reported person or of the reporter; and a report about a
        // coordinator is never passed on at all (review H2): it stays with the coordinators.
        let about = DeviceId::from_hex(&r.plain.about).ok();
        let about_person = about.and_then(|d| m.proven_person(&d));
        let is_about = |d: &DeviceId| {
            Some(*d) == about || (about_person.is_some() && m.proven_person(d) == about_person)
        };
        let theirs = |d: &DeviceId| {
            is_about(d) || (r.reporter.is_some() && m.proven_person(d) == r.reporter)
        };
        let mut recipients = devices_with(s, ProgrammeRole::Coordinator);
        // About any member of the safeguarding space (a coordinator, a peer supporter): they would
        // see the copy appear there, so it stays with the coordinators (second review R14).
        if m.members.keys().any(is_about) {
            return Ok(false);
        }
        // Any facilitator named who holds the reporter's care record: nothing goes to their
        // co-facilitators either, whose copy left out for one of them would point at the reporter
        // (second review R15).
        if r.plain
            .facilitators
            .iter()
            .any(|h| DeviceId::from_hex(h).is_ok_and(|d| holders.contains(&d)))
        {
            return Ok(false);
        }
        let named: Vec<(DeviceId, [u8; 32])> = r
            .plain
            .facilitators
            .iter()
            .take(MAX_NAMED)
            .filter(|h| is_lower_hex(h, 64))
            .filter_map(|h| DeviceId::from_hex(h).ok())
            .filter(|d| group_admins.as_ref().is_none_or(|a| a.contains(d)))
            .filter(|d| m.is_member(d) && !theirs(d))
            .filter_map(|d| Some((d, *m.x25519.get(&d)?)))
            .collect();
        if named.is_empty() {
            return Ok(false);
        }
        for x in named {
            if !recipients.iter().any(|(d, _)| *d == x.0) {
                recipients.push(x);
            }
        }
        let mut plain = r.plain;
        plain.facilitators = Vec::new();
        let key = crate::crypto::random_key()?;
        self.put_sealed(
            &space,
            &format!("{id}/{}", me.to_hex()),
            &key,
            &plain,
            &recipients,
        )?;
        Ok(true)
    }

    /// The safeguarding space of `programme` this device belongs to (the first by id).
    fn safeguarding_of(&self, programme: &[u8; 32]) -> Option<SpaceId> {
        self.held_of_kind(SpaceKind::Safeguarding)
            .filter(|s| {
                rules::programme_of(&s.doc).as_ref() == Some(programme)
                    && s.membership().is_member(&self.identity.device)
            })
            .map(|s| s.id)
            .min_by_key(|i| i.0)
    }
}
