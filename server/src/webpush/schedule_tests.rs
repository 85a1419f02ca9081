//! The wake-up schedule: one per recipient per interval, each jittered, no wish lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::schedule::{Scheduled, WakeSchedule};

#[test]
fn a_first_wake_up_leaves_after_its_jitter_and_later_wishes_ride_on_it() {
    let mut s = WakeSchedule::new(60_000, 15_000, 100);
    assert_eq!(s.wake("a", 1_000, 7), Scheduled::At(1_007));
    assert_eq!(s.wake("a", 1_005, 9_999), Scheduled::Coalesced);
    assert_eq!(s.next_due(), Some(1_007));
    assert!(s.due(1_006).is_empty());
    assert_eq!(s.due(1_007), vec!["a"]);
    assert_eq!(s.next_due(), None);
    // The jitter is taken from the random number, never larger than the setting.
    assert_eq!(s.wake("b", 0, 15_000), Scheduled::At(15_000));
    assert_eq!(s.wake("c", 0, 15_001), Scheduled::At(0));
}

#[test]
fn a_recipient_is_woken_at_most_once_per_interval() {
    let mut s = WakeSchedule::new(60_000, 0, 100);
    assert_eq!(s.wake("a", 0, 0), Scheduled::At(0));
    assert_eq!(s.due(0), vec!["a"]);
    // Woken again 10 s later: it waits for the interval to pass since the last one left.
    assert_eq!(s.wake("a", 10_000, 0), Scheduled::At(60_000));
    assert!(s.due(59_999).is_empty());
    assert_eq!(s.due(60_500), vec!["a"]);
    // An interval after that one left, at once again.
    assert_eq!(s.wake("a", 200_000, 0), Scheduled::At(200_000));
}

#[test]
fn the_members_of_one_group_woken_by_one_push_leave_at_their_own_times() {
    let mut s = WakeSchedule::new(60_000, 15_000, 100);
    let times: Vec<Scheduled> = [(1u8, 3_301u64), (2, 11_017), (3, 424)]
        .iter()
        .map(|(k, r)| s.wake(*k, 50_000, *r))
        .collect();
    assert_eq!(
        times,
        vec![
            Scheduled::At(53_301),
            Scheduled::At(61_017),
            Scheduled::At(50_424)
        ]
    );
    assert_eq!(s.due(53_301), vec![3, 1]);
    assert_eq!(s.due(70_000), vec![2]);
}

#[test]
fn a_removed_recipient_is_never_woken_and_a_full_schedule_drops_new_wishes_until_some_are_idle() {
    let mut s = WakeSchedule::new(1_000, 0, 2);
    s.wake("a", 0, 0);
    s.wake("b", 0, 0);
    s.remove(&"a");
    assert_eq!(s.due(0), vec!["b"]);
    assert_eq!(s.wake("c", 0, 0), Scheduled::At(0));
    // b was woken at 0 and c is pending: two remembered, a third is refused...
    assert_eq!(s.wake("d", 500, 0), Scheduled::Full);
    assert_eq!(s.len(), 2);
    // ...until b's interval has passed and it can be forgotten.
    assert_eq!(s.wake("d", 1_000, 0), Scheduled::At(1_000));
    assert_eq!(s.due(1_000), vec!["c", "d"]);
}

#[derive(Clone, Debug)]
enum Op {
    Wake(u8, u64, u64),
    Due(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..5, 0u64..5_000, any::<u64>()).prop_map(|(k, dt, r)| Op::Wake(k, dt, r)),
        (0u64..5_000).prop_map(Op::Due),
    ]
}

proptest! {
    /// Over any run: no recipient is woken twice within the interval, and every wish is followed by
    /// a wake-up of its recipient at or after it (none is lost), once time has run far enough.
    #[test]
    fn never_twice_within_the_interval_and_no_wish_lost(ops in prop::collection::vec(op(), 1..200)) {
        const INTERVAL: u64 = 3_000;
        const JITTER: u64 = 1_000;
        let mut s = WakeSchedule::new(INTERVAL, JITTER, 1_000);
        let mut now = 0u64;
        let mut sent: Vec<(u8, u64)> = Vec::new();
        let mut wishes: Vec<(u8, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Wake(k, dt, r) => {
                    now += dt;
                    prop_assert_ne!(s.wake(k, now, r), Scheduled::Full);
                    wishes.push((k, now));
                }
                Op::Due(dt) => {
                    now += dt;
                    sent.extend(s.due(now).into_iter().map(|k| (k, now)));
                }
            }
        }
        now += INTERVAL + JITTER + 1;
        sent.extend(s.due(now).into_iter().map(|k| (k, now)));
        prop_assert_eq!(s.next_due(), None);
        for k in 0u8..5 {
            let times: Vec<u64> = sent.iter().filter(|(key, _)| *key == k).map(|(_, t)| *t).collect();
            for pair in times.windows(2) {
                prop_assert!(pair[1] >= pair[0] + INTERVAL, "{k} woken at {} and {}", pair[0], pair[1]);
            }
        }
        for (k, at) in wishes {
            prop_assert!(sent.iter().any(|(key, t)| *key == k && *t >= at), "wish of {k} at {at} lost");
        }
    }
}
