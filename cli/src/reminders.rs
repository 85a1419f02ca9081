//! `sebaya reminders`: a device's reminders from the command line (issue 18, item 4): add one to a
//! pairing or group, list them, and show what is due with the neutral notification text a phone
//! would show. The vault is the one `sebaya nearby` keeps (`--vault DIR`).

use sebaya_core::reminders::due::Due;
use sebaya_core::reminders::{NewReminder, Reminder, ReminderFor, ReminderKind, Schedule};
use sebaya_core::space::SpaceKind;
use sebaya_core::{Error, SpaceId, Vault};

use crate::nearby::{flag, open_vault};

pub const USAGE: &str = "usage:
  sebaya reminders add  --vault DIR --space ID --kind task|session|cadence|follow-up
                        [--for everyone|participant|supporter] (--in MINUTES | --at UNIX_SECS)
                        [--every DAYS] [--lead MINUTES] [--offset MINUTES] [TEXT]
                                                   add a reminder to a pairing or group (prints its id)
  sebaya reminders list --vault DIR [--offset MINUTES] [--lang id|en]
                                                   every pairing's and group's reminders, then what
                                                   is due now with the notification's neutral text
--offset is the UTC offset in minutes (default 420, UTC+7, Jakarta).";

pub fn command(args: &[String]) -> std::process::ExitCode {
    match run(args, now_secs()) {
        Ok(out) => {
            print!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sebaya reminders: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn number<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match flag(args, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("bad {name}")),
    }
}

/// Runs one command at `now` (UTC seconds); returns what it prints.
pub fn run(args: &[String], now: i64) -> Result<String, String> {
    let Some(dir) = flag(args, "--vault") else {
        return Err(format!("--vault DIR is required\n{USAGE}"));
    };
    let offset: i32 = number(args, "--offset", 7 * 60)?;
    match args.first().map(String::as_str) {
        Some("add") => {
            let mut v = open_vault(dir)?;
            let space = SpaceId::from_hex(flag(args, "--space").ok_or("--space ID is required")?)
                .map_err(|_| "bad --space")?;
            let kind = match flag(args, "--kind") {
                Some("task") => ReminderKind::Task,
                Some("session") => ReminderKind::Session,
                Some("cadence") => ReminderKind::Cadence,
                Some("follow-up") => ReminderKind::FollowUp,
                _ => return Err("--kind task|session|cadence|follow-up is required".into()),
            };
            let for_whom = match flag(args, "--for") {
                None if kind == ReminderKind::FollowUp => ReminderFor::Supporter,
                None | Some("everyone") => ReminderFor::Everyone,
                Some("participant") => ReminderFor::Participant,
                Some("supporter") => ReminderFor::Supporter,
                Some(_) => return Err("--for everyone|participant|supporter".into()),
            };
            let at = match (flag(args, "--at"), flag(args, "--in")) {
                (Some(a), None) => a.parse::<i64>().map_err(|_| "bad --at")?,
                (None, Some(m)) => {
                    now.saturating_add(m.parse::<i64>().map_err(|_| "bad --in")?.saturating_mul(60))
                }
                _ => return Err("one of --at UNIX_SECS or --in MINUTES".into()),
            };
            let every: u32 = number(args, "--every", 0)?;
            let schedule = match every {
                0 => Schedule::Once {
                    at_secs: at,
                    offset_minutes: offset,
                },
                n => Schedule::every_from(at, offset, n).map_err(|e| e.to_string())?,
            };
            let text = text_arg(args).unwrap_or_default();
            let new = NewReminder {
                kind,
                for_whom,
                text,
                schedule,
                lead_minutes: number(args, "--lead", 0)?,
            };
            let id = v.add_reminder(&space, &new).map_err(|e| e.to_string())?;
            Ok(format!("{id}\n"))
        }
        Some("list") => {
            let v = open_vault(dir)?;
            let lang = flag(args, "--lang").unwrap_or("id");
            list(&v, now, offset, lang).map_err(|e| e.to_string())
        }
        _ => Err(USAGE.into()),
    }
}

/// The last argument that is neither a flag nor a flag's value.
fn text_arg(args: &[String]) -> Option<String> {
    let mut skip = true; // the subcommand
    let mut out = None;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with("--") {
            skip = true;
            continue;
        }
        out = Some(a.clone());
    }
    out
}

/// A day number (days since 1970-01-01) as a calendar date, YYYY-MM-DD (proleptic Gregorian).
fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn when(r: &Reminder) -> String {
    let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    match r.schedule {
        Schedule::Once {
            at_secs,
            offset_minutes,
        } => {
            let local = at_secs + i64::from(offset_minutes) * 60;
            format!(
                "once, {} at {} (UTC{:+} min)",
                date(local.div_euclid(86_400)),
                hm(local.rem_euclid(86_400) / 60),
                offset_minutes
            )
        }
        Schedule::Every {
            every_days,
            start_day,
            minute_of_day,
        } => format!(
            "every {every_days} day(s) from {} at {} local",
            date(start_day),
            hm(i64::from(minute_of_day))
        ),
    }
}

/// Every pairing's and group's reminders, then what is due at `now`.
pub fn list(v: &Vault, now: i64, offset: i32, lang: &str) -> Result<String, Error> {
    let mut out = String::new();
    for (id, kind, _) in v.shared_spaces() {
        if !matches!(kind, SpaceKind::Pairing | SpaceKind::Group) {
            continue;
        }
        let rs = v.reminders(&id)?;
        out.push_str(&format!(
            "{kind:?} {}: {} reminder(s)\n",
            id.to_hex(),
            rs.len()
        ));
        for r in rs {
            let lead = if r.lead_minutes > 0 {
                format!(", notice {} min before", r.lead_minutes)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {} {} for {}: {}{lead}{}{}\n",
                r.id,
                r.kind.as_str(),
                r.for_whom.as_str(),
                when(&r),
                if r.text.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", r.text)
                },
                if r.done.is_empty() {
                    String::new()
                } else {
                    format!(" (done: {:?})", r.done)
                },
            ));
        }
    }
    let due: Due = v.reminders_due(now, offset)?;
    out.push_str(&format!(
        "due: {} to schedule, {} overdue\n",
        due.upcoming.len(),
        due.overdue.len()
    ));
    for (what, list) in [("notify", &due.upcoming), ("overdue", &due.overdue)] {
        for n in list {
            out.push_str(&format!(
                "  {what} at {} ({} in {}s): \"{}\" [{}]\n",
                n.notify_at_secs,
                n.kind.as_str(),
                n.at_secs - now,
                sebaya_core::i18n::message(lang, n.message_id, &[]),
                n.key
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    /// A facilitator adds a task and a weekly cadence to a group from the command line; the list
    /// shows them with their words, and what is due with the neutral text only.
    #[test]
    fn add_and_list_reminders_from_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let vdir = dir.path().join("f");
        let d = vdir.to_str().unwrap();
        let g = {
            let mut v = open_vault(d).unwrap();
            v.create_person().unwrap();
            v.create_group("Kelompok Kamis").unwrap().to_hex()
        };
        let now = now_secs();
        let id = run(
            &args(&[
                "add",
                "--vault",
                d,
                "--space",
                &g,
                "--kind",
                "task",
                "--at",
                &(now + 3600).to_string(),
                "--lead",
                "30",
                "latihan napas",
            ]),
            now,
        )
        .unwrap();
        assert_eq!(id.trim().len(), 16);
        let listed = run(&args(&["list", "--vault", d, "--lang", "en"]), now).unwrap();
        assert!(
            listed.contains(id.trim()) && listed.contains("latihan napas"),
            "{listed}"
        );
        assert!(listed.contains("notice 30 min before"), "{listed}");
        assert!(
            listed.contains(&format!("notify at {}", now + 1800)),
            "{listed}"
        );
        let due_lines: Vec<&str> = listed.lines().filter(|l| l.contains("notify at")).collect();
        assert_eq!(due_lines.len(), 1, "{listed}");
        assert!(
            !due_lines[0].contains("latihan"),
            "the notice never says what it is"
        );
        assert!(due_lines[0].contains("You have a new update."), "{listed}");

        // Bad input: a time in the past, a huge cadence, no --kind, a bad space.
        let past = run(
            &args(&[
                "add",
                "--vault",
                d,
                "--space",
                &g,
                "--kind",
                "task",
                "--at",
                &(now - 60).to_string(),
                "x",
            ]),
            now,
        );
        assert!(past.is_err());
        let huge = run(
            &args(&[
                "add",
                "--vault",
                d,
                "--space",
                &g,
                "--kind",
                "task",
                "--in",
                "60",
                "--every",
                "4294967295",
                "x",
            ]),
            now,
        );
        assert!(huge.is_err());
        assert!(
            run(
                &args(&["add", "--vault", d, "--space", &g, "--in", "5"]),
                now
            )
            .is_err()
        );
        assert!(
            run(
                &args(&[
                    "add", "--vault", d, "--space", "zz", "--kind", "task", "--in", "5", "x"
                ]),
                now
            )
            .is_err()
        );
        let listed = run(&args(&["list", "--vault", d]), now).unwrap();
        assert!(listed.contains("1 reminder(s)"), "{listed}");
        assert_eq!(date(20_458), "2026-01-05");
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(11_016), "2000-02-29");
    }
}
