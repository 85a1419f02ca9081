//! Review M3 of the reminders: a supporter's device on rules older than 8 refuses a participant's
//! reminder, and every later envelope of the participant in that pairing waited on it. The
//! participant's device now writes one only once every member device announced rules 8 or later
//! (docs/protocol.md 12.2), and says so with `WaitingForUpdates` until then.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::review_tests::{carry, now_secs, once, pairing};
use super::{ReminderFor, ReminderKind};
use crate::error::Error;
use crate::space::rules::RULES_VERSION;

const DAY: i64 = 86_400;

#[test]
fn a_participants_reminder_never_holds_back_their_later_writes_on_an_older_supporter() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    // The supporter's device judges under rules 7 (reminders came with 8), and says so.
    sup.shared.get_mut(&id).unwrap().play_rules(7);
    carry(&mut sup, &mut part);
    let task = once(
        ReminderKind::Task,
        ReminderFor::Everyone,
        "jalan pagi",
        now_secs() + DAY,
    );
    let early = part.add_reminder(&id, &task);
    carry(&mut part, &mut sup);
    let me = part.device_id().to_hex();
    part.with_space(&id, |d, now| {
        crate::pairing::add_checkin(d, "00000000000000c1", 3, "", &me, now)
    })
    .unwrap();
    carry(&mut part, &mut sup);
    // The check-in reaches the supporter's device: nothing waits behind a refused reminder.
    let on_sup = crate::pairing::checkins(&sup.shared.get(&id).unwrap().doc);
    assert_eq!(on_sup.len(), 1, "the participant's check-in is held back");
    assert!(matches!(early, Err(Error::WaitingForUpdates)), "{early:?}");
    assert!(sup.reminders(&id).unwrap().is_empty());
    // The supporter's device updates and announces it: the reminder goes through.
    sup.shared.get_mut(&id).unwrap().play_rules(RULES_VERSION);
    carry(&mut sup, &mut part);
    let rid = part.add_reminder(&id, &task).unwrap();
    assert_eq!(carry(&mut part, &mut sup), 0);
    assert!(sup.reminders(&id).unwrap().iter().any(|r| r.id == rid));
}

/// The supporter's side (an admin) writes reminders whatever the floor: rules 7 took them.
#[test]
fn the_supporters_side_writes_reminders_whatever_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    part.shared.get_mut(&id).unwrap().play_rules(7);
    carry(&mut part, &mut sup);
    let task = once(
        ReminderKind::Task,
        ReminderFor::Everyone,
        "jalan pagi",
        now_secs() + DAY,
    );
    let rid = sup.add_reminder(&id, &task).unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    assert!(part.reminders(&id).unwrap().iter().any(|r| r.id == rid));
}

/// Review M3 of rules 12.2: completing or deleting the pair's reminder writes inside a `reminder/`
/// record, which rules 7 refused from the participant as it refused a make; those wait too, and
/// the participant's check-in after them reaches the supporter's device.
#[test]
fn a_participants_completion_or_deletion_waits_too_and_nothing_after_it_stalls() {
    for delete in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (mut sup, mut part, id) = pairing(&dir);
        let task = once(
            ReminderKind::Task,
            ReminderFor::Everyone,
            "jalan pagi",
            now_secs() + DAY,
        );
        let rid = sup.add_reminder(&id, &task).unwrap();
        assert_eq!(carry(&mut sup, &mut part), 0);
        sup.shared.get_mut(&id).unwrap().play_rules(7);
        carry(&mut sup, &mut part);
        let early = match delete {
            false => part.complete_reminder(&id, &rid, 0),
            true => part.delete_reminder(&id, &rid),
        };
        carry(&mut part, &mut sup);
        let me = part.device_id().to_hex();
        part.with_space(&id, |d, now| {
            crate::pairing::add_checkin(d, "00000000000000c2", 4, "", &me, now)
        })
        .unwrap();
        carry(&mut part, &mut sup);
        let on_sup = crate::pairing::checkins(&sup.shared.get(&id).unwrap().doc);
        assert_eq!(on_sup.len(), 1, "held back (delete: {delete})");
        assert!(matches!(early, Err(Error::WaitingForUpdates)), "{early:?}");
    }
}

/// Review L5 of rules 12.2: a write no update makes right (a participant's follow-up) is
/// `NotAllowed` at once, never "wait for updates" first.
#[test]
fn a_participants_follow_up_is_not_allowed_whatever_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = super::review_tests::vault(&dir, "sup", 1);
    let mut part = super::review_tests::vault(&dir, "part", 2);
    let p = crate::pairing::programme_tests::trained_programme(&mut sup);
    let (id, response) = sup
        .create_pairing(&part.link_request().unwrap(), &p)
        .unwrap();
    part.join_space(&response).unwrap();
    // Nothing synced: the supporter's device has said nothing here yet.
    assert_eq!(part.rules_status(&id).unwrap().floor, 0);
    let follow = once(
        ReminderKind::FollowUp,
        ReminderFor::Supporter,
        "",
        now_secs() + DAY,
    );
    let r = part.add_reminder(&id, &follow);
    assert!(matches!(r, Err(Error::NotAllowed(_))), "{r:?}");
}
