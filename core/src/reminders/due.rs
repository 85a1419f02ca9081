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

use super::{Reminder, ReminderKind, Schedule};

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

/// The UTC second occurrence `k` falls at, seen at `offset_minutes`.
fn at(start_day: i64, every: u32, minute: u32, offset_minutes: i32, k: i128) -> i128 {
    (i128::from(start_day) + k * i128::from(every)) * DAY + i128::from(minute) * 60
        - i128::from(offset_minutes) * 60
}

/// An occurrence: its number and its UTC second.
type Occ = (u64, i64);

/// The occurrences `(k, at)` of `r` in `(from, to]`, and the latest at or before `from`.
fn occurrences(r: &Reminder, from: i128, to: i128, offset_minutes: i32) -> (Vec<Occ>, Option<Occ>) {
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
            let f = |k: i128| at(start_day, every_days, minute_of_day, offset_minutes, k);
            // The first k past `from`: from below by whole periods, then step by one.
            let base = f(0);
            let period = i128::from(every_days) * DAY;
            let mut k = ((from - base).div_euclid(period) - 1).max(0);
            while f(k) <= from {
                k += 1;
            }
            let last = (k > 0).then(|| k - 1);
            // At most 15 steps: a window of 14 days, a period of at least one.
            while f(k) <= to {
                match (u64::try_from(k), i64::try_from(f(k))) {
                    (Ok(n), Ok(t)) => out.push((n, t)),
                    _ => break,
                }
                k += 1;
            }
            let latest =
                last.and_then(|l| Some((u64::try_from(l).ok()?, i64::try_from(f(l)).ok()?)));
            (out, latest)
        }
    }
}

/// What is due at `now` (UTC seconds) for a phone at UTC offset `offset_minutes`, over `items`
/// (each a space's id in hex and one of its reminders this device is to be told of).
pub fn due(items: &[(String, Reminder)], now: i64, offset_minutes: i32) -> Due {
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
        let (next, latest) = occurrences(r, from, to, offset_minutes);
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
    d.upcoming.sort_unstable_by(by_notice);
    d.upcoming.truncate(MAX_UPCOMING);
    let order = |a: &Notice, b: &Notice| a.at_secs.cmp(&b.at_secs).then_with(|| a.key.cmp(&b.key));
    d.overdue.sort_unstable_by(order);
    d
}
