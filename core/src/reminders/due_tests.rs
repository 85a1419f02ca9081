//! `due` over random schedules, offsets and clock jumps (issue 18, item 4): for any `now`, every
//! occurrence in the window is listed exactly once, none twice, none outside it, with a key that
//! does not depend on the offset; what is done is never listed again, whatever the clock says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::due::{HORIZON_SECS, MAX_UPCOMING, due};
use super::{Reminder, ReminderFor, ReminderKind, Schedule};

const DAY: i64 = 86_400;

fn cadence(
    id: &str,
    every_days: u32,
    start_day: i64,
    minute_of_day: u32,
    done: &[u64],
) -> Reminder {
    Reminder {
        id: id.into(),
        kind: ReminderKind::Cadence,
        for_whom: ReminderFor::Everyone,
        text: String::new(),
        schedule: Schedule::Every {
            every_days,
            start_day,
            minute_of_day,
        },
        by: String::new(),
        created_ms: 0,
        done: done.iter().copied().collect(),
        lead_minutes: 0,
    }
}

/// The occurrences a schedule has in `(now, now + HORIZON_SECS]`, by walking every one from the
/// first: an independent count of what `due` must list.
fn brute(r: &Reminder, now: i64, offset_minutes: i32) -> BTreeMap<u64, i64> {
    let mut out = BTreeMap::new();
    let Schedule::Every {
        every_days,
        start_day,
        minute_of_day,
    } = r.schedule
    else {
        return out;
    };
    let mut k: u64 = 0;
    loop {
        let local_day = start_day + k as i64 * i64::from(every_days);
        let at = local_day * DAY + i64::from(minute_of_day) * 60 - i64::from(offset_minutes) * 60;
        if at > now + HORIZON_SECS {
            break;
        }
        if at > now && !r.done.contains(&k) {
            out.insert(k, at);
        }
        k += 1;
    }
    out
}

fn schedule() -> impl Strategy<Value = (u32, i64, u32)> {
    // Every 1 to 365 days, starting up to about five years before the clock's first reading or a
    // year after it, at any minute of the day.
    (1u32..=365, -2_000i64..400, 0u32..1440)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_occurrence_in_the_window_is_listed_once_whatever_the_clock_and_zone(
        schedules in prop::collection::vec(schedule(), 1..4),
        done in prop::collection::btree_set(0u64..3_000, 0..20),
        // A phone's clock over its life: jumps forward and back, across zones.
        steps in prop::collection::vec((-400i64..400, -720i32..=840), 1..25),
        start in 9_000i64..24_000,
    ) {
        let done: Vec<u64> = done.into_iter().collect();
        let items: Vec<(String, Reminder)> = schedules
            .iter()
            .enumerate()
            .map(|(i, (n, d, m))| ("ab".repeat(16), cadence(&format!("{i:016x}"), *n, start + *d, *m, &done)))
            .collect();
        let mut now = start * DAY;
        let mut keys_at: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
        for (jump_hours, offset) in steps {
            now += jump_hours * 3600;
            let d = due(&items, now, offset);
            let listed: Vec<(String, u64)> =
                d.upcoming.iter().map(|n| (n.reminder.clone(), n.occurrence)).collect();
            let unique: BTreeSet<&(String, u64)> = listed.iter().collect();
            prop_assert_eq!(unique.len(), listed.len(), "an occurrence listed twice");
            let keys: BTreeSet<&String> = d.upcoming.iter().map(|n| &n.key).collect();
            prop_assert_eq!(keys.len(), listed.len(), "two occurrences under one key");
            for n in &d.upcoming {
                prop_assert!(n.at_secs > now && n.at_secs <= now + HORIZON_SECS);
                keys_at.entry((n.reminder.clone(), n.occurrence)).or_default().insert(n.key.clone());
            }
            for n in &d.overdue {
                prop_assert!(n.at_secs <= now);
                prop_assert!(!done.contains(&n.occurrence));
            }
            let mut want: Vec<(i64, String, u64)> = Vec::new();
            for (_, r) in &items {
                for (k, at) in brute(r, now, offset) {
                    want.push((at, r.id.clone(), k));
                }
            }
            want.sort();
            let got: Vec<(i64, String, u64)> = d
                .upcoming
                .iter()
                .map(|n| (n.at_secs, n.reminder.clone(), n.occurrence))
                .collect();
            if want.len() <= MAX_UPCOMING {
                prop_assert_eq!(&got, &want, "skipped or invented an occurrence");
            } else {
                prop_assert_eq!(got.len(), MAX_UPCOMING);
                prop_assert_eq!(&got[..], &want[..MAX_UPCOMING], "not the soonest");
            }
            // The latest past occurrence not done is overdue, and nothing else of a cadence.
            for (_, r) in &items {
                let Schedule::Every { every_days, start_day, minute_of_day } = r.schedule else {
                    continue;
                };
                let latest = (0u64..)
                    .map(|k| (k, (start_day + k as i64 * i64::from(every_days)) * DAY
                        + i64::from(minute_of_day) * 60 - i64::from(offset) * 60))
                    .take_while(|(_, at)| *at <= now)
                    .last();
                let over: Vec<u64> = d.overdue.iter().filter(|n| n.reminder == r.id).map(|n| n.occurrence).collect();
                match latest {
                    Some((k, _)) if !r.done.contains(&k) => prop_assert_eq!(over, vec![k]),
                    _ => prop_assert!(over.is_empty()),
                }
            }
        }
        // One occurrence, one key, whatever the offset it was computed under.
        for ((_, _), keys) in keys_at {
            prop_assert_eq!(keys.len(), 1);
        }
    }
}

#[test]
fn a_one_off_is_upcoming_then_overdue_then_gone_once_done() {
    let mut r = cadence("00000000000000a1", 1, 0, 0, &[]);
    r.kind = ReminderKind::Task;
    r.schedule = Schedule::Once {
        at_secs: 20_000 * DAY,
        offset_minutes: 420,
    };
    let items = vec![("ab".repeat(16), r.clone())];
    let before = due(&items, 20_000 * DAY - 60, 0);
    assert_eq!(before.upcoming.len(), 1);
    assert!(before.overdue.is_empty());
    // The offset the app gives does not move an instant.
    assert_eq!(
        due(&items, 20_000 * DAY - 60, 600).upcoming[0].at_secs,
        20_000 * DAY
    );
    let after = due(&items, 20_000 * DAY + 60, 0);
    assert!(after.upcoming.is_empty());
    assert_eq!(after.overdue.len(), 1);
    r.done.insert(0);
    let items = vec![("ab".repeat(16), r)];
    assert!(due(&items, 20_000 * DAY + 60, 0).overdue.is_empty());
    assert!(
        due(&items, 20_000 * DAY - 60, 0).upcoming.is_empty(),
        "a clock set back"
    );
}

#[test]
fn a_session_is_never_overdue_and_far_clocks_do_not_overflow() {
    let mut r = cadence("00000000000000a1", 7, 20_000, 600, &[]);
    r.kind = ReminderKind::Session;
    let items = vec![("ab".repeat(16), r)];
    assert!(due(&items, 20_100 * DAY, 0).overdue.is_empty());
    for now in [i64::MIN, -1, 0, i64::MAX] {
        let d = due(&items, now, 0);
        assert!(d.upcoming.len() <= MAX_UPCOMING);
    }
}

/// Protocol 29.4.
#[test]
fn the_protocol_vector_holds() {
    let space = "ab".repeat(16);
    let r = cadence("00000000000000a1", 7, 20_458, 960, &[]);
    let items = vec![(space.clone(), r.clone())];
    let now = 1_767_571_200;
    let at = |d: &super::due::Due| -> Vec<(u64, i64, String)> {
        d.upcoming
            .iter()
            .map(|n| (n.occurrence, n.at_secs, n.key.clone()))
            .collect()
    };
    let key = |k: u64| format!("{space}/00000000000000a1/{k}");
    assert_eq!(
        at(&due(&items, now, 420)),
        vec![(0, 1_767_603_600, key(0)), (1, 1_768_208_400, key(1))]
    );
    assert_eq!(
        at(&due(&items, now, 540)),
        vec![(0, 1_767_596_400, key(0)), (1, 1_768_201_200, key(1))]
    );
    let later = due(&items, 1_767_603_600 + 3600, 420);
    assert_eq!(
        later
            .overdue
            .iter()
            .map(|n| n.occurrence)
            .collect::<Vec<_>>(),
        vec![0]
    );
    assert_eq!(
        later
            .upcoming
            .iter()
            .map(|n| n.occurrence)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    let done = vec![(
        space.clone(),
        cadence("00000000000000a1", 7, 20_458, 960, &[0]),
    )];
    assert!(due(&done, 1_767_603_600 + 3600, 420).overdue.is_empty());
    let mut once = r;
    once.kind = ReminderKind::Task;
    once.schedule = Schedule::Once {
        at_secs: 1_767_603_600,
        offset_minutes: 420,
    };
    let d = due(&[(space, once)], 1_767_603_600, 420);
    assert_eq!((d.overdue.len(), d.upcoming.len()), (1, 0));
}

/// Protocol 29.4, the lead: the notice comes `lead` minutes before, under the same key and
/// occurrence; once the notice's time has passed the occurrence is no longer to schedule.
#[test]
fn a_lead_moves_the_notice_not_the_occurrence() {
    let space = "ab".repeat(16);
    let mut r = cadence("00000000000000a1", 7, 20_458, 960, &[]);
    r.lead_minutes = 60;
    let items = vec![(space.clone(), r)];
    let d = due(&items, 1_767_571_200, 420);
    let got: Vec<(u64, i64, i64)> = d
        .upcoming
        .iter()
        .map(|n| (n.occurrence, n.at_secs, n.notify_at_secs))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 1_767_603_600, 1_767_600_000),
            (1, 1_768_208_400, 1_768_204_800)
        ]
    );
    assert_eq!(d.upcoming[0].key, format!("{space}/00000000000000a1/0"));
    // Between the notice and the occurrence: nothing to schedule for it, nothing overdue.
    let between = due(&items, 1_767_600_000, 420);
    assert_eq!(between.upcoming[0].occurrence, 1);
    assert!(between.overdue.is_empty());
    // Without a lead the notice is the occurrence.
    let plain = due(
        &[(space, cadence("00000000000000a1", 7, 20_458, 960, &[]))],
        1_767_571_200,
        420,
    );
    assert!(plain.upcoming.iter().all(|n| n.notify_at_secs == n.at_secs));
}

/// Review M5: the phone's zone changes inside the window (a daylight-saving start): each
/// occurrence takes the offset that holds at its own local time, under the same keys.
#[test]
fn an_offset_change_in_the_window_keeps_each_occurrence_local() {
    use super::due::{Zone, due_in};
    let space = "ab".repeat(16);
    // Every Monday 16:00 from Monday 2026-03-23 (day 20535); in Berlin, +01:00 until Sunday
    // 2026-03-29 01:00Z, then +02:00.
    let items = vec![(
        space.clone(),
        cadence("00000000000000a1", 7, 20_535, 960, &[]),
    )];
    let now = 1_774_224_000; // 2026-03-23T00:00:00Z
    let zone = Zone {
        offset_minutes: 60,
        changes: vec![(1_774_746_000, 120)],
    };
    zone.check().unwrap();
    let d = due_in(&items, now, &zone);
    let got: Vec<(u64, i64)> = d
        .upcoming
        .iter()
        .map(|n| (n.occurrence, n.at_secs))
        .collect();
    assert_eq!(got, vec![(0, 1_774_278_000), (1, 1_774_879_200)]);
    let fixed = due(&items, now, 60);
    assert_eq!(
        fixed.upcoming[1].at_secs, 1_774_882_800,
        "one offset: an hour off"
    );
    assert_eq!(
        d.upcoming.iter().map(|n| &n.key).collect::<Vec<_>>(),
        fixed.upcoming.iter().map(|n| &n.key).collect::<Vec<_>>()
    );
}

/// A local time the change skips (02:30 on the spring-forward night) comes at the first valid
/// time after, shifted by the gap (03:30); one it repeats (02:30 on the fall-back night) comes
/// the first time.
#[test]
fn a_skipped_local_time_moves_on_and_a_repeated_one_comes_first() {
    use super::due::{Zone, due_in};
    let space = "ab".repeat(16);
    let spring = Zone {
        offset_minutes: 60,
        changes: vec![(1_774_746_000, 120)],
    };
    let gap = vec![(
        space.clone(),
        cadence("00000000000000a1", 1, 20_541, 150, &[]),
    )];
    let d = due_in(&gap, 1_774_742_400 - 3600, &spring);
    assert_eq!(d.upcoming[0].at_secs, 1_774_747_800, "01:30Z, 03:30 local");
    let autumn = Zone {
        offset_minutes: 120,
        changes: vec![(1_792_890_000, 60)],
    };
    let overlap = vec![(space, cadence("00000000000000a1", 1, 20_751, 150, &[]))];
    let d = due_in(&overlap, 1_792_886_400 - 7200, &autumn);
    assert_eq!(
        d.upcoming[0].at_secs, 1_792_888_200,
        "00:30Z, the first 02:30"
    );
}

#[test]
fn a_zone_out_of_range_or_out_of_order_is_refused() {
    use super::due::Zone;
    let bad = [
        Zone {
            offset_minutes: i32::MIN,
            changes: vec![],
        },
        Zone {
            offset_minutes: 60,
            changes: vec![(10, 841)],
        },
        Zone {
            offset_minutes: 60,
            changes: vec![(10, 120), (10, 60)],
        },
        Zone {
            offset_minutes: 60,
            changes: vec![(20, 120), (10, 60)],
        },
        Zone {
            offset_minutes: 60,
            changes: (0..65).map(|i| (i, 60)).collect(),
        },
    ];
    for z in bad {
        assert!(z.check().is_err(), "{:?}", z.changes.len());
    }
}
