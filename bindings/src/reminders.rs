//! Reminders through the bindings (`Vault.reminders()`, issue 18, item 4): a pairing's check-in
//! cadence, session dates, tasks agreed between sessions and a supporter's follow-ups, kept in the
//! pairing or group they belong to; `due` says what to schedule as local notifications, with the
//! neutral text in the person's language and never the reminder's words.

use super::{ReminderFor, ReminderKind, Result, Shared, parse_space, with};
use sebaya_core::reminders::{NewReminder, Schedule};

/// A reminder as a list shows it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Reminder {
    /// Its id.
    pub id: String,
    /// What it is for.
    pub kind: ReminderKind,
    /// Whose devices it notifies.
    pub for_whom: ReminderFor,
    /// Its words (a task's; may be empty). Show them in the app, never in a notification.
    pub text: String,
    /// A one-off's instant, UTC seconds; null for a repeating reminder.
    pub at_secs: Option<i64>,
    /// A one-off's writer's UTC offset when they chose it, in minutes (0 for a repeating one).
    pub offset_minutes: i32,
    /// Days between occurrences; 0 for a one-off.
    pub every_days: u32,
    /// A repeating reminder's first local date (days since 1970-01-01); 0 for a one-off.
    pub start_day: i64,
    /// A repeating reminder's local time of day, minutes after midnight; 0 for a one-off.
    pub minute_of_day: u32,
    /// The device (hex) that wrote it.
    pub by: String,
    /// Written, ms since the Unix epoch.
    pub created_ms: i64,
    /// The occurrences marked done (0 for a one-off), ascending.
    pub done: Vec<u64>,
    /// How many minutes before each occurrence the notice comes (0: at the time).
    pub lead_minutes: u32,
}

/// One occurrence to schedule or show as overdue.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ReminderNotice {
    /// A stable key for the platform's notification id (ids and a number): the same occurrence
    /// has the same key whatever the zone, so scheduling again replaces it.
    pub key: String,
    /// The pairing or group (hex).
    pub space_id: String,
    /// The reminder's id (a group session's id for a group's session).
    pub reminder_id: String,
    /// The occurrence number (0 for a one-off); `Reminders.complete` takes it.
    pub occurrence: u64,
    /// When, UTC seconds.
    pub at_secs: i64,
    /// When to notify, UTC seconds: `at_secs` less the reminder's lead time. Schedule the local
    /// notification at this time.
    pub notify_at_secs: i64,
    /// What it is for (for the app's own screens).
    pub kind: ReminderKind,
    /// The notification text's catalogue id.
    pub message_id: String,
    /// The notification text in the language asked for: neutral, the same for every reminder.
    pub text: String,
}

/// A change of the phone's UTC offset ahead (a daylight-saving start or end), for `Reminders.due`.
#[derive(Clone, Debug, uniffi::Record)]
pub struct OffsetChange {
    /// From this UTC second on...
    pub from_secs: i64,
    /// ...the phone's UTC offset is this, minutes.
    pub offset_minutes: i32,
}

/// What is due (`Reminders.due`).
#[derive(Clone, Debug, uniffi::Record)]
pub struct DueReminders {
    /// To schedule: the next two weeks, soonest first, at most 64. Replace what was scheduled.
    pub upcoming: Vec<ReminderNotice>,
    /// Past and not done: a task or follow-up whose time passed, the latest occurrence of a
    /// repeating one. Sessions are never overdue.
    pub overdue: Vec<ReminderNotice>,
}

/// Reminders, handed out by `Vault.reminders()`. It holds the vault's shared state, so
/// `Vault.lock()` locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Reminders {
    pub(crate) inner: Shared,
}

fn notice(n: sebaya_core::reminders::due::Notice, locale: &str) -> ReminderNotice {
    ReminderNotice {
        text: sebaya_core::i18n::message(locale, n.message_id, &[]),
        message_id: n.message_id.to_string(),
        key: n.key,
        space_id: n.space,
        reminder_id: n.reminder,
        occurrence: n.occurrence,
        at_secs: n.at_secs,
        notify_at_secs: n.notify_at_secs,
        kind: n.kind.into(),
    }
}

#[uniffi::export]
impl Reminders {
    /// Adds a reminder to a pairing or group; returns its id. `first_at_secs` is its (first)
    /// time in UTC seconds as the person picked it at UTC offset `offset_minutes`; `every_days`
    /// 0 makes it a one-off at that instant, 1 to 365 repeats it every so many days at that local
    /// time of day wherever the phone is then (a cadence must repeat). In a pairing either person
    /// adds a cadence, a session date or a task; only the supporter's side a follow-up (for the
    /// supporter, without text: the participant sees it too). In a group a facilitator adds tasks
    /// for everyone; its session dates are its sessions (`Groups.add_session`). Throws
    /// `ReminderInPast` for a one-off whose time has passed, `InvalidInput` for values out of
    /// range (a cadence of 0 or over 365 days, an offset beyond ±14:00, a task without text or
    /// over 500 characters, a follow-up with text, a lead over a week), `NotAllowed` for a role
    /// that does not write it; nothing is written then. `lead_minutes` (default 0) brings each
    /// notice that many minutes before its occurrence (`ReminderNotice.notify_at_secs`), e.g. 60
    /// for an hour before a session; at most 10080 (a week).
    // Flat arguments read as one call in each language; a record would be one more type to build.
    #[allow(clippy::too_many_arguments)]
    #[uniffi::method(default(lead_minutes = 0))]
    pub fn add(
        &self,
        space_id: String,
        kind: ReminderKind,
        for_whom: ReminderFor,
        text: String,
        first_at_secs: i64,
        offset_minutes: i32,
        every_days: u32,
        lead_minutes: u32,
    ) -> Result<String> {
        let s = parse_space(&space_id)?;
        let schedule = match every_days {
            0 => Schedule::Once {
                at_secs: first_at_secs,
                offset_minutes,
            },
            n => Schedule::every_from(first_at_secs, offset_minutes, n)?,
        };
        let new = NewReminder {
            kind: kind.into(),
            for_whom: for_whom.into(),
            text,
            schedule,
            lead_minutes,
        };
        with(&self.inner, |v| v.add_reminder(&s, &new))
    }

    /// Every reminder of a pairing or group that stands, oldest first, whoever it is for.
    pub fn list(&self, space_id: String) -> Result<Vec<Reminder>> {
        let s = parse_space(&space_id)?;
        let list = with(&self.inner, |v| v.reminders(&s))?;
        Ok(list
            .into_iter()
            .map(|r| {
                let (at_secs, offset_minutes, every_days, start_day, minute_of_day) =
                    match r.schedule {
                        Schedule::Once {
                            at_secs,
                            offset_minutes,
                        } => (Some(at_secs), offset_minutes, 0, 0, 0),
                        Schedule::Every {
                            every_days,
                            start_day,
                            minute_of_day,
                        } => (None, 0, every_days, start_day, minute_of_day),
                    };
                Reminder {
                    id: r.id,
                    kind: r.kind.into(),
                    for_whom: r.for_whom.into(),
                    text: r.text,
                    at_secs,
                    offset_minutes,
                    every_days,
                    start_day,
                    minute_of_day,
                    by: r.by,
                    created_ms: r.created_ms,
                    done: r.done.into_iter().collect(),
                    lead_minutes: r.lead_minutes,
                }
            })
            .collect())
    }

    /// Marks one occurrence done (0 for a one-off) for everyone who sees the reminder: kept by
    /// occurrence, so a clock set back or a zone crossed never brings it back.
    pub fn complete(&self, space_id: String, reminder_id: String, occurrence: u64) -> Result<()> {
        let s = parse_space(&space_id)?;
        with(&self.inner, |v| {
            v.complete_reminder(&s, &reminder_id, occurrence)
        })
    }

    /// Deletes a reminder for everyone.
    pub fn delete(&self, space_id: String, reminder_id: String) -> Result<()> {
        let s = parse_space(&space_id)?;
        with(&self.inner, |v| v.delete_reminder(&s, &reminder_id))
    }

    /// What is due for this device at `now_secs` (the phone's clock now, UTC seconds) with the
    /// phone at UTC offset `offset_minutes` now, the notification text in `locale` ("id" or
    /// "en"). A pure answer for the `now` given (nothing remembered of earlier calls): call it on
    /// opening, after a sync (or a `SpaceListener` notice), when the time zone or clock changes,
    /// and once a day, and replace every notification scheduled before by `upcoming` (keys are
    /// stable). `offset_changes` (default none): the zone's changes of offset in the next two
    /// weeks, ascending (Android `ZoneRules.nextTransition`, iOS
    /// `TimeZone.nextDaylightSavingTimeTransition(after:)`), so an occurrence after a
    /// daylight-saving change is at its local time too. `InvalidInput` for an offset beyond
    /// ±14:00 or changes out of order.
    #[uniffi::method(default(offset_changes = []))]
    pub fn due(
        &self,
        now_secs: i64,
        offset_minutes: i32,
        locale: String,
        offset_changes: Vec<OffsetChange>,
    ) -> Result<DueReminders> {
        let zone = sebaya_core::reminders::due::Zone {
            offset_minutes,
            changes: offset_changes
                .into_iter()
                .map(|c| (c.from_secs, c.offset_minutes))
                .collect(),
        };
        let d = with(&self.inner, |v| v.reminders_due_in(now_secs, &zone))?;
        Ok(DueReminders {
            upcoming: d.upcoming.into_iter().map(|n| notice(n, &locale)).collect(),
            overdue: d.overdue.into_iter().map(|n| notice(n, &locale)).collect(),
        })
    }
}
