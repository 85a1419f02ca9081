//! The reminders' `Vault` methods: writing them into the pairing or group they belong to (judged
//! by the same rules every other device applies), reading them, and what is due for this device.

use super::due::Due;
use super::{NewReminder, Reminder, ReminderFor, ReminderKind};
use crate::error::{Error, Result};
use crate::space::{Space, SpaceKind};
use crate::store::clock::now_ms;
use crate::{SpaceId, Vault};

/// Which side of a pairing a device is on, or a group's member.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Participant,
    Supporter,
    Member,
}

/// This device's side in a pairing: the participant's (the `participant` device, or another
/// device of its person as the log records it) or the supporter's (everyone else who holds it: the
/// supporter's devices, a handed-over successor).
fn side(s: &Space, me: &sebaya_proto::DeviceId, my_person: Option<[u8; 32]>) -> Side {
    if s.kind != SpaceKind::Pairing {
        return Side::Member;
    }
    let Some(p) = crate::pairing::participant(&s.doc) else {
        return Side::Supporter;
    };
    let mine = me.to_hex() == p;
    let same_person = sebaya_proto::DeviceId::from_hex(&p).ok().is_some_and(|d| {
        my_person.is_some() && s.membership().persons.get(&d).copied() == my_person
    });
    if mine || same_person {
        Side::Participant
    } else {
        Side::Supporter
    }
}

fn for_me(r: &Reminder, side: Side) -> bool {
    matches!(
        (r.for_whom, side),
        (ReminderFor::Everyone, _)
            | (ReminderFor::Participant, Side::Participant)
            | (ReminderFor::Supporter, Side::Supporter)
    )
}

impl Vault {
    fn reminder_space(&self, space: &SpaceId) -> Result<&Space> {
        let s = self.shared.get(space).ok_or(Error::NotFound("space"))?;
        match s.kind {
            SpaceKind::Pairing | SpaceKind::Group => Ok(s),
            _ => Err(Error::InvalidInput(
                "reminders belong to a pairing or a group".into(),
            )),
        }
    }

    /// Adds a reminder to a pairing or group; returns its id. In a pairing either person adds a
    /// cadence, a session date or a task, and only the supporter's side a follow-up; in a group a
    /// facilitator adds tasks for everyone (its session dates are its sessions). A one-off whose
    /// time has passed is [`Error::ReminderInPast`]; other values out of range `InvalidInput`; a
    /// role that does not write it `NotAllowed`. Nothing is written then.
    pub fn add_reminder(&mut self, space: &SpaceId, new: &NewReminder) -> Result<String> {
        let kind = self.reminder_space(space)?.kind;
        if kind == SpaceKind::Group {
            match new.kind {
                ReminderKind::Task => {}
                ReminderKind::Session => {
                    return Err(Error::InvalidInput(
                        "a group's session dates are its sessions: add a session".into(),
                    ));
                }
                _ => {
                    return Err(Error::InvalidInput(
                        "cadences and follow-ups belong to a pairing".into(),
                    ));
                }
            }
            if new.for_whom != ReminderFor::Everyone {
                return Err(Error::InvalidInput(
                    "a group's reminder is for everyone".into(),
                ));
            }
        }
        super::check(new, now_ms())?;
        let id = hex::encode(crate::crypto::random::<8>()?);
        let by = self.identity.device.to_hex();
        self.with_space(space, |doc, now| super::add(doc, &id, new, &by, now))?;
        Ok(id)
    }

    /// Every reminder of a pairing or group that stands, whoever it is for.
    pub fn reminders(&self, space: &SpaceId) -> Result<Vec<Reminder>> {
        Ok(super::list(&self.reminder_space(space)?.doc))
    }

    /// Marks one occurrence of a reminder done (0 for a one-off), for everyone who sees it.
    pub fn complete_reminder(&mut self, space: &SpaceId, id: &str, occurrence: u64) -> Result<()> {
        self.reminder_space(space)?;
        self.with_space(space, |doc, now| super::complete(doc, id, occurrence, now))
    }

    /// Deletes a reminder for everyone.
    pub fn delete_reminder(&mut self, space: &SpaceId, id: &str) -> Result<()> {
        self.reminder_space(space)?;
        self.with_space(space, |doc, now| super::delete(doc, id, now))
    }

    /// What is due for this device at `now_secs` (UTC seconds, as the phone's clock says now) with
    /// the phone at UTC offset `offset_minutes` now: the occurrences to schedule as local
    /// notifications in the next two weeks and those overdue, over every pairing and group this
    /// device is a member of, for the reminders addressed to its side, and its groups' sessions.
    /// A pure answer for the `now` given: the app asks again after a sync, on opening, when the
    /// zone or clock changes, and daily, and replaces what it scheduled (keys are stable).
    pub fn reminders_due(&self, now_secs: i64, offset_minutes: i32) -> Result<Due> {
        super::check_offset(offset_minutes)?;
        let me = self.identity.device;
        let person = self.person_id().map(|p| p.0);
        let mut items = Vec::new();
        for s in self.shared.values() {
            if !matches!(s.kind, SpaceKind::Pairing | SpaceKind::Group)
                || !s.membership().is_member(&me)
            {
                continue;
            }
            let space = s.id.to_hex();
            let side = side(s, &me, person);
            for r in super::list(&s.doc) {
                // A group has no follow-up or one-sided reminder: it is for everyone.
                if s.kind == SpaceKind::Group && r.for_whom != ReminderFor::Everyone {
                    continue;
                }
                if for_me(&r, side) {
                    items.push((space.clone(), r));
                }
            }
            if s.kind == SpaceKind::Group {
                items.extend(
                    crate::groups::sessions(&s.doc)
                        .into_iter()
                        .filter(|g| g.date_ms > 0)
                        .map(|g| (space.clone(), session_reminder(&g))),
                );
            }
        }
        Ok(super::due::due(&items, now_secs, offset_minutes))
    }
}

/// A group's session, read as a one-off session reminder under the session's own id.
fn session_reminder(g: &crate::groups::GroupSession) -> Reminder {
    Reminder {
        id: g.id.clone(),
        kind: ReminderKind::Session,
        for_whom: ReminderFor::Everyone,
        text: String::new(),
        schedule: super::Schedule::Once {
            at_secs: g.date_ms.div_euclid(1000),
            offset_minutes: 0,
        },
        by: g.facilitator.clone(),
        created_ms: 0,
        done: Default::default(),
    }
}
