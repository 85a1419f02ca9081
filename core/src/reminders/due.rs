//! What is due: for a given `now` (UTC seconds) and the phone's UTC offset now, the occurrences
//! to schedule as local notifications and those overdue. A pure function of the reminders, `now`
//! and the offset: nothing here reads a clock or remembers what it answered, so a clock set back
//! or forward, or a phone that crossed zones, gets the answer for the `now` it gives. Completions
//! are kept by occurrence number in the document ([`super::complete`]).
//!
//! Occurrence `k` of a repeating reminder falls on local date `start_day + k * every_days` at
//! `minute_of_day`, turned into UTC with the offset given here (the offset the phone has now; the
//! core holds no zone database, so a daylight-saving change or a new zone takes effect when the
//! app asks again, as it must on the platform's time-zone-changed notice). A one-off is occurrence
//! 0 at its instant.

use super::{MAX_OFFSET_MINUTES, Reminder, ReminderKind, Schedule};
use crate::error::{Error, Result};

/// How far ahead occurrences are listed: two weeks.
pub const HORIZON_SECS: i64 = 14 * 86_400;
/// At most this many upcoming occurrences, the soonest first (iOS keeps 64 pending local
/// notifications per app).
pub const MAX_UPCOMING: usize = 64;
/// The catalogue id of every reminder's notification text (`i18n`): the care records' neutral
/// notice ("Ada pembaruan baru." / "You have a new update."), never what the reminder says.
pub const NOTICE_MESSAGE: &str = "notify-neutral";

/// One occurrence of a reminder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// A stable key for the platform's notification id: `<space hex>/<reminder id>/<occurrence>`
    /// (ids and a number, never anything a person wrote). The same occurrence has the same key
    /// whatever the offset, so rescheduling replaces rather than adds.
    pub key: String,
    /// The space it belongs to (hex).
    pub space: String,
    /// The reminder's id.
    pub reminder: String,
    /// The occurrence number (0 for a one-off).
    pub occurrence: u64,
    /// When, UTC seconds.
    pub at_secs: i64,
    /// When to notify, UTC seconds: `at_secs` less the reminder's lead time (the same as
    /// `at_secs` without one). What the app schedules the notification at.
    pub notify_at_secs: i64,
    /// What it is for (the app may show it in its own screens, never in the notification).
    pub kind: ReminderKind,
    /// The catalogue id of the notification's text ([`NOTICE_MESSAGE`]).
    pub message_id: &'static str,
}

/// What [`due`] answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// Occurrences in `(now, now + HORIZON_SECS]` not marked done whose notice is still ahead
    /// (`notify_at_secs > now`), by notice time, at most [`MAX_UPCOMING`]: what the app schedules
    /// (replacing what it scheduled before). An occurrence whose notice time has passed, when a
    /// lead reaches back before `now`, is no longer listed: its notice was scheduled by an earlier
    /// ask, or came after it was due (asking again never notifies twice).
    pub upcoming: Vec<Notice>,
    /// Occurrences at or before `now` not marked done, soonest first: a one-off task or follow-up
    /// whose time passed, and the latest occurrence of a repeating one (earlier ones do not pile
    /// up). A session is never overdue: once past, it is past.
    pub overdue: Vec<Notice>,
}

const DAY: i128 = 86_400;

/// The most offset changes a [`Zone`] holds (a zone changes at most a few times in two weeks).
pub const MAX_CHANGES: usize = 64;

/// The phone's time zone over the window, as the app reads it from the platform (review M5): its
/// UTC offset now, and the changes ahead (a daylight-saving start or end), each the UTC second
/// from which an offset holds, ascending. The offset at a time is that of the last change at or
/// before it, or `offset_minutes` before every change. The core holds no zone database: the app
/// lists the transitions of its zone in the next two weeks (Android `ZoneRules.nextTransition`,
/// iOS `TimeZone.nextDaylightSavingTimeTransition(after:)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// The offset now, minutes.
    pub offset_minutes: i32,
    /// `(from UTC second, offset minutes)`, strictly ascending by time.
    pub changes: Vec<(i64, i32)>,
}

impl Zone {
    /// A zone whose offset does not change.
    pub fn fixed(offset_minutes: i32) -> Zone {
        Zone {
            offset_minutes,
            changes: Vec::new(),
        }
    }

    /// Offsets within ±14:00, changes strictly ascending, at most [`MAX_CHANGES`].
    pub fn check(&self) -> Result<()> {
        super::check_offset(self.offset_minutes)?;
        if self.changes.len() > MAX_CHANGES {
            return Err(Error::InvalidInput(format!(
                "at most {MAX_CHANGES} offset changes"
            )));
        }
        for (i, (from, o)) in self.changes.iter().enumerate() {
            super::check_offset(*o)?;
            if i > 0 && self.changes[i - 1].0 >= *from {
                return Err(Error::InvalidInput(
                    "offset changes are in time order".into(),
                ));
            }
        }
        Ok(())
    }

    fn offset_at(&self, utc: i128) -> i128 {
        let o = self
            .changes
            .iter()
            .take_while(|(from, _)| i128::from(*from) <= utc)
            .last()
            .map_or(self.offset_minutes, |(_, o)| *o);
        i128::from(o) * 60
    }

    /// The UTC second a local wall time (seconds) falls at. A local time that occurs twice (an
    /// offset going back) is the first; one that does not occur (an offset going forward) is
    /// moved on by the gap, as the platforms do.
    fn to_utc(&self, local: i128) -> i128 {
        let span = i128::from(MAX_OFFSET_MINUTES) * 60;
        let before = self.offset_at(local - span);
        let mut valid: Option<i128> = None;
        let candidates = std::iter::once(before).chain(
            self.changes
                .iter()
                .filter(|(from, _)| {
                    let f = i128::from(*from);
                    f > local - span && f <= local + span
                })
                .map(|(_, o)| i128::from(*o) * 60),
        );
        for o in candidates {
            if self.offset_at(local - o) == o && valid.is_none_or(|v| o > v) {
                valid = Some(o);
            }
        }
        local - valid.unwrap_or(before)
    }
}

/// An occurrence: its number and its UTC second.
type Occ = (u64, i64);

/// The occurrences `(k, at)` of `r` in `(from, to]`, and the latest at or before `from`.
fn occurrences(r: &Reminder, from: i128, to: i128, zone: &Zone) -> (Vec<Occ>, Option<Occ>) {
    let mut out = Vec::new();
    match r.schedule {
        Schedule::Once { at_secs, .. } => {
            let t = i128::from(at_secs);
            if t > from && t <= to {
                out.push((0, at_secs));
                return (out, None);
            }
            (out, (t <= from).then_some((0, at_secs)))
        }
        Schedule::Every {
            every_days,
            start_day,
            minute_of_day,
        } => {
            if every_days == 0 {
                return (out, None);
            }
            let period = i128::from(every_days) * DAY;
            let local = |k: i128| {
                (i128::from(start_day) + k * i128::from(every_days)) * DAY
                    + i128::from(minute_of_day) * 60
            };
            // Every occurrence whose local time could fall in the window at any offset, and one
            // period before it for the latest past one: at most 19 steps (a window of 14 days,
            // a period of at least one, two margins of 14 hours).
            let margin = 2 * i128::from(MAX_OFFSET_MINUTES) * 60;
            let mut k = ((from - margin - period - local(0)).div_euclid(period)).max(0);
            let mut latest: Option<(i128, i128)> = None;
            while local(k) <= to + margin {
                let t = zone.to_utc(local(k));
                if t <= from {
                    if latest.is_none_or(|(_, lt)| t > lt) {
                        latest = Some((k, t));
                    }
                } else if t <= to {
                    match (u64::try_from(k), i64::try_from(t)) {
                        (Ok(n), Ok(t)) => out.push((n, t)),
                        _ => break,
                    }
                }
                k += 1;
            }
            let latest =
                latest.and_then(|(k, t)| Some((u64::try_from(k).ok()?, i64::try_from(t).ok()?)));
            (out, latest)
        }
    }
}

/// What is due at `now` (UTC seconds) for a phone at UTC offset `offset_minutes` that does not
/// change in the window, over `items` (each a space's id in hex and one of its reminders this
/// device is to be told of).
pub fn due(items: &[(String, Reminder)], now: i64, offset_minutes: i32) -> Due {
    due_in(items, now, &Zone::fixed(offset_minutes))
}

/// What is due at `now` (UTC seconds) for a phone in `zone` (its offset now and the changes
/// ahead: each repeating occurrence takes the offset that holds at its own local time).
pub fn due_in(items: &[(String, Reminder)], now: i64, zone: &Zone) -> Due {
    let from = i128::from(now);
    let to = from + i128::from(HORIZON_SECS);
    let mut d = Due::default();
    for (space, r) in items {
        let lead = i64::from(r.lead_minutes) * 60;
        let notice = |k: u64, t: i64| Notice {
            key: format!("{space}/{}/{k}", r.id),
            space: space.clone(),
            reminder: r.id.clone(),
            occurrence: k,
            at_secs: t,
            notify_at_secs: t.saturating_sub(lead),
            kind: r.kind,
            message_id: NOTICE_MESSAGE,
        };
        let (next, latest) = occurrences(r, from, to, zone);
        for (k, t) in next {
            if !r.done.contains(&k) && t.saturating_sub(lead) > now {
                d.upcoming.push(notice(k, t));
            }
        }
        if let Some((k, t)) = latest {
            if r.kind != ReminderKind::Session && !r.done.contains(&k) {
                d.overdue.push(notice(k, t));
            }
        }
    }
    let by_notice = |a: &Notice, b: &Notice| {
        (a.notify_at_secs, a.at_secs, &a.key).cmp(&(b.notify_at_secs, b.at_secs, &b.key))
    };
    crate::order::sort_by(&mut d.upcoming, by_notice);
    d.upcoming.truncate(MAX_UPCOMING);
    let order = |a: &Notice, b: &Notice| a.at_secs.cmp(&b.at_secs).then_with(|| a.key.cmp(&b.key));
    crate::order::sort_by(&mut d.overdue, order);
    d
}
