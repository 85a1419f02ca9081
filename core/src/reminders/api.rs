//! The reminders' `Vault` methods: writing them into the pairing or group they belong to (judged
//! by the same rules every other device applies), reading them, and what is due for this device.
//!
//! A group's sessions and where it went on (`next`) are read here from its document (protocol
//! 11/29.1), not through `crate::groups`: the groups domain carries a group's open reminders into
//! its new period ([`carry_open`]), so it depends on this one, and the house allows no cycle.

use automerge::{AutoCommit, ROOT};

use super::due::Due;
use super::{NewReminder, Reminder, ReminderFor, ReminderKind};
use crate::error::{Error, Result};
use crate::space::doc::{int, read_all, string};
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

/// Copies a group's open reminders ([`super::is_open`]: not deleted, a one-off not yet done, every
/// repeating one with its completions) into its new period's document, each under its own id and
/// now written by `carrier_hex` (the facilitator who starts the period and signs it). Returns how
/// many were carried.
pub(crate) fn carry_open(
    from: &AutoCommit,
    to: &mut AutoCommit,
    carrier_hex: &str,
    now_ms: i64,
) -> Result<u32> {
    let mut n = 0;
    for r in super::list(from).into_iter().filter(super::is_open) {
        super::carry(to, &r, carrier_hex, now_ms)?;
        n += 1;
    }
    Ok(n)
}

/// A group's sessions with a date, read as one-off session reminders under each session's id
/// (the `sessions` container: id -> `{date: int ms, facilitator: str, ...}`), noticed
/// [`super::SESSION_LEAD_MINUTES`] before.
fn group_sessions(doc: &AutoCommit) -> Vec<Reminder> {
    read_all(doc, "sessions", |doc, id, s| {
        let date_ms = int(doc, s, "date").filter(|d| *d > 0)?;
        Some(Reminder {
            id: id.to_string(),
            kind: ReminderKind::Session,
            for_whom: ReminderFor::Everyone,
            text: String::new(),
            schedule: super::Schedule::Once {
                at_secs: date_ms.div_euclid(1000),
                offset_minutes: 0,
            },
            by: string(doc, s, "facilitator").unwrap_or_default(),
            created_ms: 0,
            done: Default::default(),
            lead_minutes: super::SESSION_LEAD_MINUTES,
        })
    })
}

impl Vault {
    /// The reminders of a pairing or group this device is to be told of: those for everyone and
    /// those for its side of a pairing (the export and [`Vault::reminders_due`]). A group has no
    /// one-sided reminder. Its sessions are not among them.
    pub(crate) fn reminders_for_me(&self, s: &Space) -> Vec<Reminder> {
        let side = side(s, &self.identity.device, self.person_id().map(|p| p.0));
        super::list(&s.doc)
            .into_iter()
            .filter(|r| s.kind != SpaceKind::Group || r.for_whom == ReminderFor::Everyone)
            .filter(|r| for_me(r, side))
            .collect()
    }

    /// Whether a group went on in a new period this device holds and reads: its reminders were
    /// carried there, and are told of from there only.
    fn went_on(&self, s: &Space) -> bool {
        let me = self.identity.device;
        s.kind == SpaceKind::Group
            && string(&s.doc, &ROOT, "next")
                .and_then(|h| SpaceId::from_hex(&h).ok())
                .and_then(|id| self.shared.get(&id))
                .is_some_and(|n| n.membership().is_member(&me))
    }

    fn reminder_space(&self, space: &SpaceId) -> Result<&Space> {
        let s = self.shared.get(space).ok_or(Error::NotFound("space"))?;
        match s.kind {
            SpaceKind::Pairing | SpaceKind::Group => Ok(s),
            _ => Err(Error::InvalidInput(
                "reminders belong to a pairing or a group".into(),
            )),
        }
    }

    /// A pairing's member who is no admin (the participant's side) writes reminders only once every
    /// member device judges under rules that accept them (`SINCE`, protocol 12.2): a device on
    /// older rules would refuse the write and hold back everything this device writes in the
    /// pairing after it. [`Error::WaitingForUpdates`] until then, with nothing written: the write
    /// is not kept for later, as every later change of this device would wait behind it.
    fn wait_for_older_rules(&mut self, space: &SpaceId) -> Result<()> {
        let me = self.identity.device;
        let s = self.shared.get_mut(space).ok_or(Error::NotFound("space"))?;
        // A device that is no member (or no longer) is told `NotAllowed` by the write itself.
        if s.kind == SpaceKind::Pairing
            && s.membership().role(&me) == Some(sebaya_proto::membership::Role::Member)
        {
            s.wait_for_rules(crate::space::rules::reminders::SINCE)?;
        }
        Ok(())
    }

    /// Adds a reminder to a pairing or group; returns its id. In a pairing either person adds a
    /// cadence, a session date or a task, and only the supporter's side a follow-up; in a group a
    /// facilitator adds tasks for everyone (its session dates are its sessions). A one-off whose
    /// time has passed is [`Error::ReminderInPast`]; other values out of range `InvalidInput`; a
    /// role that does not write it `NotAllowed`, and so is one into a minor's pairing that waits for
    /// a guardian (`Vault::check_pairing_open`: a task's text is a message). Nothing is written then.
    pub fn add_reminder(&mut self, space: &SpaceId, new: &NewReminder) -> Result<String> {
        let kind = self.reminder_space(space)?.kind;
        if kind == SpaceKind::Pairing {
            self.check_pairing_open(space)?;
        }
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
        // What no update makes right is refused before any wait: a follow-up is the supporter's
        // side's (the rules refuse it from anyone else, at every version).
        let me = self.identity.device;
        let plain_member = self.reminder_space(space)?.membership().role(&me)
            == Some(sebaya_proto::membership::Role::Member);
        if kind == SpaceKind::Pairing && plain_member && new.kind == ReminderKind::FollowUp {
            return Err(Error::NotAllowed("a follow-up is the supporter's to set"));
        }
        self.wait_for_older_rules(space)?;
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
        self.wait_for_older_rules(space)?;
        self.with_space(space, |doc, now| super::complete(doc, id, occurrence, now))
    }

    /// Deletes a reminder for everyone.
    pub fn delete_reminder(&mut self, space: &SpaceId, id: &str) -> Result<()> {
        self.reminder_space(space)?;
        self.wait_for_older_rules(space)?;
        self.with_space(space, |doc, now| super::delete(doc, id, now))
    }

    /// What is due for this device at `now_secs` (UTC seconds, as the phone's clock says now) with
    /// the phone at UTC offset `offset_minutes` now: the occurrences to schedule as local
    /// notifications in the next two weeks and those overdue, over every pairing and group this
    /// device is a member of, for the reminders addressed to its side, and its groups' sessions.
    /// A pure answer for the `now` given: the app asks again after a sync, on opening, when the
    /// zone or clock changes, and daily, and replaces what it scheduled (keys are stable).
    pub fn reminders_due(&self, now_secs: i64, offset_minutes: i32) -> Result<Due> {
        self.reminders_due_in(now_secs, &super::due::Zone::fixed(offset_minutes))
    }

    /// [`Vault::reminders_due`] for a phone whose zone changes in the window (a daylight-saving
    /// start or end, `zone.changes`): each repeating occurrence at its own local time.
    /// `InvalidInput` for an offset beyond ±14:00 or changes out of order.
    pub fn reminders_due_in(&self, now_secs: i64, zone: &super::due::Zone) -> Result<Due> {
        zone.check()?;
        let me = self.identity.device;
        let mut items = Vec::new();
        let mut groups = std::collections::BTreeSet::new();
        for s in self.shared.values() {
            if !matches!(s.kind, SpaceKind::Pairing | SpaceKind::Group)
                || !s.membership().is_member(&me)
            {
                continue;
            }
            let space = s.id.to_hex();
            if s.kind == SpaceKind::Group {
                groups.insert(space.clone());
            }
            if !self.went_on(s) {
                items.extend(
                    self.reminders_for_me(s)
                        .into_iter()
                        .map(|r| (space.clone(), r)),
                );
            }
            // Sessions stay in the period they belong to.
            if s.kind == SpaceKind::Group {
                items.extend(
                    group_sessions(&s.doc)
                        .into_iter()
                        .map(|r| (space.clone(), r)),
                );
            }
        }
        let mut due = super::due::due_in(&items, now_secs, zone);
        // A group's reminder is a notice for everyone that members cannot complete: never overdue
        // (it would stay so forever on every member's phone; review M6).
        due.overdue.retain(|n| !groups.contains(&n.space));
        Ok(due)
    }
}
