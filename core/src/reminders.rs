//! Reminders (issue 18, item 4): a pairing's check-in cadence, session dates, tasks agreed between
//! sessions (PM+ homework) and a supporter's follow-ups, kept as synced data in the space they
//! belong to, so both people see them; the core computes what is due ([`due`]) and the app
//! schedules a local notification with a neutral text.
//!
//! Shape (reminders version 1, protocol section 29). Each reminder is its own root key of a pairing
//! or group document, `reminder/<16 hex id>` → map:
//! - `v`: int 1;
//! - `kind`: `"cadence"` | `"session"` | `"task"` | `"follow-up"`;
//! - `for`: `"everyone"` | `"participant"` | `"supporter"` (whose devices it notifies);
//! - `text`: str, at most 500 characters (a task's words; never shown in a notification; empty for a
//!   follow-up, which the participant also sees: the supporter's words go in case notes);
//! - `at`: int, UTC seconds (a one-off), with `offset`: int, the writer's UTC offset in minutes
//!   when they chose it (to show it as they meant it); or, for a repeating reminder, `every`: int
//!   days (1–365), `day`: int, the first occurrence's local date (days since 1970-01-01), `minute`:
//!   int, its local time of day (0–1439) — "every N days at HH:MM in the phone's local time";
//! - `by`: str, the writing device (checked against the signer on receipt); `created`: int ms;
//! - `done`: map occurrence number (decimal) → int ms: completions, keyed by occurrence, never by
//!   a local time; `deleted`: bool, once true never shown.
//!
//! A root key per reminder, not a container, so reminders come to pairings and groups made before
//! them without anyone laying a container out (two devices laying one out at once would lose one's
//! contents). Who writes which kind is judged on receipt (`space/rules/reminders.rs`): in a pairing
//! either person writes cadences, sessions and tasks, and only the supporter's side follow-ups; in
//! a group the facilitators (admins) write tasks, and session dates are the group's sessions
//! (`groups.rs`), read as reminders rather than copied.
//!
//! The folder holds `due.rs` (what is due for a given `now` and offset: no clock of its own, no
//! stored "last fired") and `api.rs` (the `Vault` methods).

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::error::{Error, Result};
use crate::space::doc::{
    boolean, check_device, check_id, check_short, int, is_lower_hex, map_obj, string, write,
};

mod api;
pub mod due;
#[cfg(test)]
mod due_tests;
#[cfg(test)]
mod more_tests;
#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod rules_floor_tests;
#[cfg(test)]
mod tests;

pub use crate::space::rules::reminders::PREFIX;
pub(crate) use api::carry_open;

/// The version of a reminder's shape written here.
pub const VERSION: i64 = 1;
/// The longest repeat, in days: a cadence longer than a year is a mistake.
pub const MAX_EVERY_DAYS: u32 = 365;
/// The farthest offset from UTC accepted, in minutes (real zones run from -12:00 to +14:00).
pub const MAX_OFFSET_MINUTES: i32 = 14 * 60;
/// How far ahead a reminder may be set: ten years.
pub const MAX_AHEAD_SECS: i64 = 10 * 366 * 86_400;
/// The longest lead time, in minutes: a week before.
pub const MAX_LEAD_MINUTES: u32 = 7 * 24 * 60;
/// The lead a group's session is noticed with (its record holds none): an hour before.
pub const SESSION_LEAD_MINUTES: u32 = 60;

/// What a reminder is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReminderKind {
    /// A check-in cadence agreed by the pair (repeating).
    Cadence,
    /// A session's date.
    Session,
    /// A task agreed between sessions (PM+ homework).
    Task,
    /// A supporter's follow-up on the pairing.
    FollowUp,
}

impl ReminderKind {
    /// The stored string.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Cadence => "cadence",
            ReminderKind::Session => "session",
            ReminderKind::Task => "task",
            ReminderKind::FollowUp => "follow-up",
        }
    }

    /// The kind a stored string names (`None` for a kind a newer version wrote: not shown).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cadence" => Some(ReminderKind::Cadence),
            "session" => Some(ReminderKind::Session),
            "task" => Some(ReminderKind::Task),
            "follow-up" => Some(ReminderKind::FollowUp),
            _ => None,
        }
    }
}

/// Whose devices a reminder notifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReminderFor {
    /// Every member.
    Everyone,
    /// The pairing's participant.
    Participant,
    /// The pairing's supporter.
    Supporter,
}

impl ReminderFor {
    /// The stored string.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderFor::Everyone => "everyone",
            ReminderFor::Participant => "participant",
            ReminderFor::Supporter => "supporter",
        }
    }

    /// The value a stored string names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "everyone" => Some(ReminderFor::Everyone),
            "participant" => Some(ReminderFor::Participant),
            "supporter" => Some(ReminderFor::Supporter),
            _ => None,
        }
    }
}

/// When a reminder falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Once, at an instant: a session, a task's due time, a follow-up. A real instant: a phone
    /// that crosses zones shows it at the same moment, in its new local time.
    Once {
        /// UTC seconds.
        at_secs: i64,
        /// The writer's UTC offset when they chose it, in minutes (for showing it as meant).
        offset_minutes: i32,
    },
    /// Every `every_days` days at `minute_of_day` in the phone's local time, from local date
    /// `start_day`: "every Monday 16:00" stays 16:00 wherever the phone is and across daylight
    /// saving, computed with the offset the app gives [`due::due`].
    Every {
        /// Days between occurrences, 1 to [`MAX_EVERY_DAYS`].
        every_days: u32,
        /// The first occurrence's local date, days since 1970-01-01.
        start_day: i64,
        /// Local time of day, minutes after midnight (0–1439).
        minute_of_day: u32,
    },
}

impl Schedule {
    /// A repeating schedule whose first occurrence is the instant `first_at_secs` as seen at UTC
    /// offset `offset_minutes` (what a person picks on their phone).
    pub fn every_from(first_at_secs: i64, offset_minutes: i32, every_days: u32) -> Result<Self> {
        check_offset(offset_minutes)?;
        let local = first_at_secs
            .checked_add(i64::from(offset_minutes) * 60)
            .ok_or_else(|| Error::InvalidInput("time out of range".into()))?;
        let s = Schedule::Every {
            every_days,
            start_day: local.div_euclid(86_400),
            minute_of_day: u32::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0),
        };
        s.check(0)?;
        Ok(s)
    }

    /// Whether it repeats.
    pub fn repeats(&self) -> bool {
        matches!(self, Schedule::Every { .. })
    }

    /// Checks the values are ones a person can mean; `now_secs` bounds how far ahead (0: not
    /// checked against a clock).
    fn check(&self, now_secs: i64) -> Result<()> {
        match *self {
            Schedule::Once {
                at_secs,
                offset_minutes,
            } => {
                check_offset(offset_minutes)?;
                if at_secs < 0 || (now_secs > 0 && at_secs > now_secs + MAX_AHEAD_SECS) {
                    return Err(Error::InvalidInput(
                        "a reminder's time is out of range".into(),
                    ));
                }
            }
            Schedule::Every {
                every_days,
                start_day,
                minute_of_day,
            } => {
                if every_days == 0 || every_days > MAX_EVERY_DAYS {
                    return Err(Error::InvalidInput(format!(
                        "a reminder repeats every 1 to {MAX_EVERY_DAYS} days"
                    )));
                }
                if minute_of_day >= 1440 {
                    return Err(Error::InvalidInput(
                        "a time of day is under 24 hours".into(),
                    ));
                }
                let day_secs = start_day.saturating_mul(86_400);
                if start_day < 0 || (now_secs > 0 && day_secs > now_secs + MAX_AHEAD_SECS) {
                    return Err(Error::InvalidInput(
                        "a reminder's first date is out of range".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn check_offset(offset_minutes: i32) -> Result<()> {
    // A range, not `abs()`: `i32::MIN` has no absolute value (review M1).
    if !(-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&offset_minutes) {
        return Err(Error::InvalidInput(
            "a UTC offset is between -14:00 and +14:00".into(),
        ));
    }
    Ok(())
}

/// A reminder to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReminder {
    /// What it is for.
    pub kind: ReminderKind,
    /// Whose devices it notifies.
    pub for_whom: ReminderFor,
    /// A task's words (required for a task; optional otherwise). Never in a notification.
    pub text: String,
    /// When.
    pub schedule: Schedule,
    /// How many minutes before each occurrence the notice comes (0: at the time; at most
    /// [`MAX_LEAD_MINUTES`]).
    pub lead_minutes: u32,
}

/// A reminder as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reminder {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// What it is for.
    pub kind: ReminderKind,
    /// Whose devices it notifies.
    pub for_whom: ReminderFor,
    /// Its words (may be empty).
    pub text: String,
    /// When.
    pub schedule: Schedule,
    /// The device that wrote it (hex; empty when unreadable).
    pub by: String,
    /// When it was written, ms since the Unix epoch.
    pub created_ms: i64,
    /// The occurrences marked done (0 for a one-off).
    pub done: BTreeSet<u64>,
    /// How many minutes before each occurrence the notice comes (0: at the time).
    pub lead_minutes: u32,
}

fn key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

/// Checks a new reminder's values against each other and the clock (`now_ms`): a one-off whose
/// time has passed is [`Error::ReminderInPast`]; a repeating one may start in the past (its next
/// occurrences are what count).
pub fn check(new: &NewReminder, now_ms: i64) -> Result<()> {
    let now = now_ms.div_euclid(1000);
    new.schedule.check(now.max(1))?;
    match new.kind {
        ReminderKind::Task => check_short(&new.text, "task", true)?,
        _ => check_short(&new.text, "reminder text", false)?,
    }
    if new.lead_minutes > MAX_LEAD_MINUTES {
        return Err(Error::InvalidInput(format!(
            "a reminder comes at most {MAX_LEAD_MINUTES} minutes before"
        )));
    }
    if new.text.chars().any(char::is_control) {
        return Err(Error::InvalidInput("a reminder's text is one line".into()));
    }
    if new.kind == ReminderKind::Cadence && !new.schedule.repeats() {
        return Err(Error::InvalidInput("a cadence repeats".into()));
    }
    if new.kind == ReminderKind::FollowUp && new.for_whom != ReminderFor::Supporter {
        return Err(Error::InvalidInput(
            "a follow-up is for the supporter".into(),
        ));
    }
    // The participant holds the pairing too: a supporter's words about them go in case notes.
    if new.kind == ReminderKind::FollowUp && !new.text.is_empty() {
        return Err(Error::InvalidInput(
            "a follow-up carries no text: keep notes in case notes".into(),
        ));
    }
    if let Schedule::Once { at_secs, .. } = new.schedule {
        if at_secs <= now {
            return Err(Error::ReminderInPast);
        }
    }
    Ok(())
}

/// Adds a reminder under its own root key; one commit. Refused as [`check`] says, and when the
/// id is taken (by any value, deleted or not).
pub fn add(
    doc: &mut AutoCommit,
    id: &str,
    new: &NewReminder,
    by_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "reminder")?;
    check_device(by_hex, "reminder's author")?;
    check(new, now_ms)?;
    let k = key(id);
    if doc.get(ROOT, k.as_str())?.is_some() {
        return Err(Error::InvalidInput("a reminder with this id exists".into()));
    }
    write(doc, now_ms, |doc| {
        let r = doc.put_object(ROOT, k.as_str(), ObjType::Map)?;
        doc.put(&r, "v", VERSION)?;
        doc.put(&r, "kind", new.kind.as_str())?;
        doc.put(&r, "for", new.for_whom.as_str())?;
        doc.put(&r, "text", new.text.as_str())?;
        put_schedule(doc, &r, &new.schedule)?;
        if new.lead_minutes > 0 {
            doc.put(&r, "lead", i64::from(new.lead_minutes))?;
        }
        doc.put(&r, "by", by_hex)?;
        doc.put(&r, "created", now_ms)?;
        doc.put_object(&r, "done", ObjType::Map)?;
        Ok(())
    })
}

/// Writes `r`, read from another document, as a new record under its own id: for a group's new
/// period, by `by_hex` (the carrier, who signs it), with its completions; one commit. Not checked
/// against the clock: an overdue task goes on being overdue.
pub(crate) fn carry(doc: &mut AutoCommit, r: &Reminder, by_hex: &str, now_ms: i64) -> Result<()> {
    check_id(&r.id, "reminder")?;
    check_device(by_hex, "reminder's author")?;
    r.schedule.check(0)?;
    let k = key(&r.id);
    if doc.get(ROOT, k.as_str())?.is_some() {
        return Err(Error::InvalidInput("a reminder with this id exists".into()));
    }
    write(doc, now_ms, |doc| {
        let o = doc.put_object(ROOT, k.as_str(), ObjType::Map)?;
        doc.put(&o, "v", VERSION)?;
        doc.put(&o, "kind", r.kind.as_str())?;
        doc.put(&o, "for", r.for_whom.as_str())?;
        doc.put(&o, "text", r.text.as_str())?;
        put_schedule(doc, &o, &r.schedule)?;
        if r.lead_minutes > 0 {
            doc.put(&o, "lead", i64::from(r.lead_minutes))?;
        }
        doc.put(&o, "by", by_hex)?;
        doc.put(&o, "created", r.created_ms)?;
        let d = doc.put_object(&o, "done", ObjType::Map)?;
        for k in &r.done {
            doc.put(&d, k.to_string().as_str(), now_ms)?;
        }
        Ok(())
    })
}

fn put_schedule(doc: &mut AutoCommit, r: &ObjId, schedule: &Schedule) -> Result<()> {
    match *schedule {
        Schedule::Once {
            at_secs,
            offset_minutes,
        } => {
            doc.put(r, "at", at_secs)?;
            doc.put(r, "offset", i64::from(offset_minutes))?;
        }
        Schedule::Every {
            every_days,
            start_day,
            minute_of_day,
        } => {
            doc.put(r, "every", i64::from(every_days))?;
            doc.put(r, "day", start_day)?;
            doc.put(r, "minute", i64::from(minute_of_day))?;
        }
    }
    Ok(())
}

/// Whether a reminder is still open, for carrying into a group's new period: a repeating one
/// always (it goes on), a one-off until it is marked done.
pub(crate) fn is_open(r: &Reminder) -> bool {
    r.schedule.repeats() || !r.done.contains(&0)
}

/// The record of a reminder that stands (not deleted), for writing.
fn standing(doc: &AutoCommit, id: &str) -> Result<ObjId> {
    check_id(id, "reminder")?;
    match doc.get(ROOT, key(id).as_str())? {
        Some((Value::Object(ObjType::Map), r)) if boolean(doc, &r, "deleted") != Some(true) => {
            Ok(r)
        }
        _ => Err(Error::NotFound("reminder")),
    }
}

/// Marks occurrence `occurrence` of a reminder done (0 for a one-off); one commit, none when it
/// already is. Keyed by occurrence, so a clock set back or a zone crossed never undoes it.
pub fn complete(doc: &mut AutoCommit, id: &str, occurrence: u64, now_ms: i64) -> Result<()> {
    let r = standing(doc, id)?;
    let read = read(doc, id, &r).ok_or(Error::NotFound("reminder"))?;
    if !read.schedule.repeats() && occurrence != 0 {
        return Err(Error::InvalidInput(
            "a one-off reminder has occurrence 0 only".into(),
        ));
    }
    if let Schedule::Every {
        every_days,
        start_day,
        ..
    } = read.schedule
    {
        // An occurrence exists when its date is one a reminder may be set for: no later than
        // the farthest ahead from now (and a number that overflows a date is none).
        let limit = now_ms.div_euclid(1000).saturating_add(MAX_AHEAD_SECS) / 86_400;
        let day = i64::try_from(occurrence)
            .ok()
            .and_then(|k| k.checked_mul(i64::from(every_days)))
            .and_then(|d| d.checked_add(start_day));
        if day.is_none_or(|d| d > limit) {
            return Err(Error::InvalidInput(
                "no such occurrence of this reminder".into(),
            ));
        }
    }
    if read.done.contains(&occurrence) {
        return Ok(());
    }
    write(doc, now_ms, |doc| {
        let d = map_obj(doc, &r, "done")?;
        doc.put(&d, occurrence.to_string().as_str(), now_ms)?;
        Ok(())
    })
}

/// Deletes a reminder for everyone (a tombstone: `deleted` true); one commit.
pub fn delete(doc: &mut AutoCommit, id: &str, now_ms: i64) -> Result<()> {
    let r = standing(doc, id)?;
    write(doc, now_ms, |doc| {
        doc.put(&r, "deleted", true)?;
        Ok(())
    })
}

fn read(doc: &AutoCommit, id: &str, r: &ObjId) -> Option<Reminder> {
    if boolean(doc, r, "deleted") == Some(true) {
        return None;
    }
    let kind = ReminderKind::parse(&string(doc, r, "kind")?)?;
    let for_whom = ReminderFor::parse(&string(doc, r, "for")?)?;
    let schedule = match int(doc, r, "every") {
        Some(every) => Schedule::Every {
            every_days: u32::try_from(every).ok()?,
            start_day: int(doc, r, "day")?,
            minute_of_day: u32::try_from(int(doc, r, "minute")?).ok()?,
        },
        // An offset is required and an `i32`; its range is checked below.
        None => Schedule::Once {
            at_secs: int(doc, r, "at")?,
            offset_minutes: i32::try_from(int(doc, r, "offset")?).ok()?,
        },
    };
    // What a damaged or hostile record holds beyond what a person can mean is not shown.
    schedule.check(0).ok()?;
    let lead_minutes = match int(doc, r, "lead") {
        None => 0,
        Some(l) => u32::try_from(l).ok().filter(|l| *l <= MAX_LEAD_MINUTES)?,
    };
    let mut done = BTreeSet::new();
    if let Some((Value::Object(ObjType::Map), d)) = doc.get(r, "done").ok().flatten() {
        for k in doc.keys(&d) {
            if let Ok(n) = k.parse::<u64>() {
                if n.to_string() == k {
                    done.insert(n);
                }
            }
        }
    }
    Some(Reminder {
        id: id.to_string(),
        kind,
        for_whom,
        text: string(doc, r, "text").unwrap_or_default(),
        schedule,
        by: string(doc, r, "by").unwrap_or_default(),
        created_ms: int(doc, r, "created").unwrap_or(0),
        done,
        lead_minutes,
    })
}

/// Every reminder that stands, by creation time, then id. Records of an unknown kind (a newer
/// version's) or with values out of range are skipped.
pub fn list(doc: &AutoCommit) -> Vec<Reminder> {
    let mut out: Vec<Reminder> = doc
        .keys(ROOT)
        .filter_map(|k| {
            let id = k.strip_prefix(PREFIX)?;
            if !is_lower_hex(id, 16) {
                return None;
            }
            match doc.get(ROOT, k.as_str()).ok().flatten() {
                Some((Value::Object(ObjType::Map), r)) => read(doc, id, &r),
                _ => None,
            }
        })
        .collect();
    crate::order::sort_by(&mut out, |a, b| {
        a.created_ms
            .cmp(&b.created_ms)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}
