//! Reminders between vaults that exchange bundles (issue 18, item 4): kept in the pairing or group
//! they belong to, seen by both people, computed as due for the `now` and UTC offset the app gives
//! (a phone that crossed time zones or whose clock was set back gets the right answer), refused
//! when they make no sense, and refused on receipt from someone whose role does not write them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_proto::membership::Role;

use super::{NewReminder, ReminderFor, ReminderKind, Schedule};
use crate::error::Error;
use crate::store::clock::now_ms;
use crate::{SpaceId, Vault};

const DAY: i64 = 86_400;

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

/// Everything `from` holds, carried to `to` in a file; how many envelopes `to` set aside.
fn carry(from: &mut Vault, to: &mut Vault) -> u32 {
    let bundle = from.export_bundle(&[], None).expect("export");
    to.import_bundle(&bundle).expect("import").quarantined
}

/// A supporter and a participant in a pairing under a programme, in step.
fn pairing(dir: &tempfile::TempDir) -> (Vault, Vault, SpaceId) {
    let mut sup = vault(dir, "sup", 1);
    let mut part = vault(dir, "part", 2);
    let p = crate::pairing::programme_tests::trained_programme(&mut sup);
    let (id, response) = sup
        .create_pairing(&part.link_request().unwrap(), &p)
        .unwrap();
    part.join_space(&response).unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    (sup, part, id)
}

fn now_secs() -> i64 {
    now_ms() / 1000
}

fn once(kind: ReminderKind, for_whom: ReminderFor, text: &str, at_secs: i64) -> NewReminder {
    NewReminder {
        kind,
        for_whom,
        text: text.into(),
        schedule: Schedule::Once {
            at_secs,
            offset_minutes: 7 * 60,
        },
        lead_minutes: 0,
    }
}

/// Every Monday 16:00 in Jakarta (UTC+7), from the Monday after `now`.
fn weekly_monday_16(now: i64) -> NewReminder {
    // 1970-01-05 was a Monday: local day numbers with (day - 4) % 7 == 0 are Mondays.
    let local_day = (now + 7 * 3600).div_euclid(DAY);
    let monday = local_day + (7 - (local_day - 4).rem_euclid(7));
    NewReminder {
        kind: ReminderKind::Cadence,
        for_whom: ReminderFor::Everyone,
        text: String::new(),
        schedule: Schedule::Every {
            every_days: 7,
            start_day: monday,
            minute_of_day: 16 * 60,
        },
        lead_minutes: 0,
    }
}

#[test]
fn both_people_see_the_pairings_reminders_and_each_is_due_for_whom_it_is_for() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    let cadence = sup.add_reminder(&id, &weekly_monday_16(now)).unwrap();
    let follow = sup
        .add_reminder(
            &id,
            &once(
                ReminderKind::FollowUp,
                ReminderFor::Supporter,
                "",
                now + DAY,
            ),
        )
        .unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    let task = part
        .add_reminder(
            &id,
            &once(
                ReminderKind::Task,
                ReminderFor::Participant,
                "latihan napas tiap pagi",
                now + 2 * DAY,
            ),
        )
        .unwrap();
    assert_eq!(carry(&mut part, &mut sup), 0);

    for v in [&sup, &part] {
        let mut ids: Vec<String> = v
            .reminders(&id)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        ids.sort();
        let mut want = vec![cadence.clone(), follow.clone(), task.clone()];
        want.sort();
        assert_eq!(ids, want);
    }
    let due_ids = |v: &Vault| -> Vec<String> {
        v.reminders_due(now, 7 * 60)
            .unwrap()
            .upcoming
            .into_iter()
            .map(|n| n.reminder)
            .collect()
    };
    let s = due_ids(&sup);
    let p = due_ids(&part);
    assert!(
        s.contains(&cadence) && p.contains(&cadence),
        "the cadence is both people's"
    );
    assert!(
        s.contains(&follow) && !p.contains(&follow),
        "a follow-up is the supporter's"
    );
    assert!(
        p.contains(&task) && !s.contains(&task),
        "this task is the participant's"
    );
}

#[test]
fn a_notice_says_nothing_of_what_the_reminder_is() {
    let dir = tempfile::tempdir().unwrap();
    let (_sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    part.add_reminder(
        &id,
        &once(
            ReminderKind::Task,
            ReminderFor::Participant,
            "tulis tiga hal baik",
            now + 3600,
        ),
    )
    .unwrap();
    let due = part.reminders_due(now, 7 * 60).unwrap();
    assert_eq!(due.upcoming.len(), 1);
    let n = &due.upcoming[0];
    assert_eq!(n.message_id, super::due::NOTICE_MESSAGE);
    for lang in crate::i18n::LANGUAGES {
        let text = crate::i18n::message(lang, n.message_id, &[]);
        assert!(!text.contains("tulis") && !text.to_lowercase().contains("hal baik"));
    }
    // The key is ids and a number, nothing typed; no field of the notice carries the words.
    assert!(!n.key.contains("tulis"));
    let whole = format!("{n:?}");
    assert!(
        !whole.contains("tulis") && !whole.contains("hal baik"),
        "{whole}"
    );
}

#[test]
fn every_monday_at_16_stays_16_local_where_the_phone_is() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, _part, id) = pairing(&dir);
    let now = now_secs();
    let r = sup.add_reminder(&id, &weekly_monday_16(now)).unwrap();
    let jakarta = sup.reminders_due(now, 7 * 60).unwrap();
    let jayapura = sup.reminders_due(now, 9 * 60).unwrap();
    let a: Vec<_> = jakarta
        .upcoming
        .iter()
        .filter(|n| n.reminder == r)
        .collect();
    let b: Vec<_> = jayapura
        .upcoming
        .iter()
        .filter(|n| n.reminder == r)
        .collect();
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        // The same occurrence, the same key, two hours earlier in UTC two zones east.
        assert_eq!((x.occurrence, &x.key), (y.occurrence, &y.key));
        assert_eq!(x.at_secs - y.at_secs, 2 * 3600);
        assert_eq!((x.at_secs + 7 * 3600).rem_euclid(DAY), 16 * 3600);
        assert_eq!((y.at_secs + 9 * 3600).rem_euclid(DAY), 16 * 3600);
        assert_eq!(
            ((x.at_secs + 7 * 3600).div_euclid(DAY) - 4).rem_euclid(7),
            0
        );
    }
}

#[test]
fn a_clock_set_back_neither_repeats_a_completed_occurrence_nor_loses_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    let r = sup.add_reminder(&id, &weekly_monday_16(now)).unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    let first = part.reminders_due(now, 7 * 60).unwrap().upcoming[0].clone();
    assert_eq!(first.reminder, r);
    // A week later the participant checks in and marks the occurrence done.
    let later = first.at_secs + 3600;
    let overdue = part.reminders_due(later, 7 * 60).unwrap().overdue;
    assert!(
        overdue.iter().any(|n| n.key == first.key),
        "missed, so overdue"
    );
    part.complete_reminder(&id, &r, first.occurrence).unwrap();
    let after = part.reminders_due(later, 7 * 60).unwrap();
    assert!(after.overdue.iter().all(|n| n.key != first.key));
    // The phone's clock is set back a day before that occurrence: it is not due again...
    let back = part.reminders_due(first.at_secs - DAY, 7 * 60).unwrap();
    assert!(back.upcoming.iter().all(|n| n.key != first.key));
    // ...and the next one still is, once.
    let next: Vec<_> = back
        .upcoming
        .iter()
        .filter(|n| n.reminder == r && n.occurrence == first.occurrence + 1)
        .collect();
    assert_eq!(next.len(), 1);
    // The supporter's device sees the same completion.
    assert_eq!(carry(&mut part, &mut sup), 0);
    let done = &sup
        .reminders(&id)
        .unwrap()
        .into_iter()
        .find(|x| x.id == r)
        .unwrap()
        .done;
    assert!(done.contains(&first.occurrence));
}

#[test]
fn bad_reminders_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, _part, id) = pairing(&dir);
    let now = now_secs();
    // A one-off whose time has passed: a typed error.
    let past = once(ReminderKind::Task, ReminderFor::Participant, "x", now - 60);
    assert!(matches!(
        sup.add_reminder(&id, &past),
        Err(Error::ReminderInPast)
    ));
    // A cadence of 0 days, or of more than a year.
    for every_days in [0, 366, u32::MAX] {
        let mut c = weekly_monday_16(now);
        c.schedule = Schedule::Every {
            every_days,
            start_day: now / DAY,
            minute_of_day: 600,
        };
        assert!(
            matches!(sup.add_reminder(&id, &c), Err(Error::InvalidInput(_))),
            "{every_days}"
        );
    }
    // A time of day past midnight, an offset no zone has, a date decades away.
    let mut c = weekly_monday_16(now);
    c.schedule = Schedule::Every {
        every_days: 1,
        start_day: now / DAY,
        minute_of_day: 1440,
    };
    assert!(matches!(
        sup.add_reminder(&id, &c),
        Err(Error::InvalidInput(_))
    ));
    let mut o = once(ReminderKind::Task, ReminderFor::Participant, "x", now + 60);
    o.schedule = Schedule::Once {
        at_secs: now + 60,
        offset_minutes: 15 * 60,
    };
    assert!(matches!(
        sup.add_reminder(&id, &o),
        Err(Error::InvalidInput(_))
    ));
    let far = once(
        ReminderKind::Task,
        ReminderFor::Participant,
        "x",
        now + 20 * 365 * DAY,
    );
    assert!(matches!(
        sup.add_reminder(&id, &far),
        Err(Error::InvalidInput(_))
    ));
    // A task without text, or with too much.
    let empty = once(ReminderKind::Task, ReminderFor::Participant, " ", now + 60);
    assert!(matches!(
        sup.add_reminder(&id, &empty),
        Err(Error::InvalidInput(_))
    ));
    let long = once(
        ReminderKind::Task,
        ReminderFor::Participant,
        &"a".repeat(crate::space::doc::MAX_SHORT_CHARS + 1),
        now + 60,
    );
    assert!(matches!(
        sup.add_reminder(&id, &long),
        Err(Error::InvalidInput(_))
    ));
    // A follow-up for the participant, a cadence that does not repeat.
    let wrong = once(
        ReminderKind::FollowUp,
        ReminderFor::Participant,
        "",
        now + 60,
    );
    assert!(matches!(
        sup.add_reminder(&id, &wrong),
        Err(Error::InvalidInput(_))
    ));
    let single = once(ReminderKind::Cadence, ReminderFor::Everyone, "", now + 60);
    assert!(matches!(
        sup.add_reminder(&id, &single),
        Err(Error::InvalidInput(_))
    ));
    // An offset no zone has, asked of `due`.
    assert!(matches!(
        sup.reminders_due(now, -15 * 60),
        Err(Error::InvalidInput(_))
    ));
    assert!(
        sup.reminders(&id).unwrap().is_empty(),
        "nothing was written"
    );
}

#[test]
fn a_reminder_received_after_its_time_is_shown_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    let r = part
        .add_reminder(
            &id,
            &once(
                ReminderKind::Task,
                ReminderFor::Supporter,
                "kirim lembar kerja",
                now + 120,
            ),
        )
        .unwrap();
    assert_eq!(carry(&mut part, &mut sup), 0);
    // The supporter's phone was offline: it asks only once the time has passed.
    let due = sup.reminders_due(now + 3600, 7 * 60).unwrap();
    assert!(due.upcoming.iter().all(|n| n.reminder != r));
    assert!(due.overdue.iter().any(|n| n.reminder == r));
    sup.complete_reminder(&id, &r, 0).unwrap();
    let due = sup.reminders_due(now + 3600, 7 * 60).unwrap();
    assert!(due.overdue.iter().all(|n| n.reminder != r));
    // Deleted: gone for both once it travels.
    sup.delete_reminder(&id, &r).unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    assert!(part.reminders(&id).unwrap().iter().all(|x| x.id != r));
}

#[test]
fn a_participants_follow_up_from_a_modified_client_is_refused_on_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    // The honest client says no before writing.
    let fu = once(
        ReminderKind::FollowUp,
        ReminderFor::Supporter,
        "",
        now + 600,
    );
    assert!(matches!(
        part.add_reminder(&id, &fu),
        Err(Error::NotAllowed(_))
    ));
    // A modified client writes it anyway, straight into the document.
    let me = part.identity.device.to_hex();
    {
        let s = part.shared.get_mut(&id).unwrap();
        super::add(&mut s.doc, "00000000000000f1", &fu, &me, now_ms()).unwrap();
        s.persist(&part.store).unwrap();
    }
    assert_eq!(carry(&mut part, &mut sup), 1, "refused whole");
    assert!(sup.reminders(&id).unwrap().is_empty());
}

/// A member's modified client deletes the other's reminder at the root (not by its tombstone):
/// refused on receipt, the reminder stays.
#[test]
fn a_reminder_is_never_deleted_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    let keep = sup
        .add_reminder(
            &id,
            &once(ReminderKind::Session, ReminderFor::Everyone, "", now + DAY),
        )
        .unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    assert!(part.reminders(&id).unwrap().iter().any(|r| r.id == keep));
    {
        use automerge::transaction::Transactable;
        let s = part.shared.get_mut(&id).unwrap();
        s.doc
            .delete(automerge::ROOT, format!("{}{keep}", super::PREFIX).as_str())
            .unwrap();
        s.doc.commit();
        s.persist(&part.store).unwrap();
    }
    assert_eq!(carry(&mut part, &mut sup), 1, "refused whole");
    let ids: Vec<String> = sup
        .reminders(&id)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![keep]);
}

#[test]
fn in_a_group_the_facilitator_writes_reminders_and_sessions_are_reminders_already() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = vault(&dir, "f", 1);
    let mut m = vault(&dir, "m", 2);
    let g = f.create_group("Kelompok PM+").unwrap();
    let resp = f
        .approve_group_member(&g, &m.link_request().unwrap(), Role::Member)
        .unwrap();
    m.join_group(&resp).unwrap();
    assert_eq!(carry(&mut f, &mut m), 0);
    let now = now_secs();
    let me = f.identity.device.to_hex();
    f.with_group_sessions(&g, |doc, t| {
        crate::groups::add_session(
            doc,
            "00000000000000a1",
            (now + DAY) * 1000,
            "Sesi 2",
            &me,
            t,
        )
    })
    .unwrap();
    let task = f
        .add_reminder(
            &g,
            &once(
                ReminderKind::Task,
                ReminderFor::Everyone,
                "coba latihan",
                now + 2 * DAY,
            ),
        )
        .unwrap();
    assert_eq!(carry(&mut f, &mut m), 0);
    let due = m.reminders_due(now, 7 * 60).unwrap();
    assert!(due.upcoming.iter().any(|n| n.reminder == task));
    let session: Vec<_> = due
        .upcoming
        .iter()
        .filter(|n| n.kind == ReminderKind::Session)
        .collect();
    assert_eq!(session.len(), 1, "the group's session, derived, not copied");
    assert_eq!(session[0].at_secs, now + DAY);
    // A member does not write the group's reminders; a session date is added as a session.
    let t = once(ReminderKind::Task, ReminderFor::Everyone, "x", now + DAY);
    assert!(matches!(m.add_reminder(&g, &t), Err(Error::NotAllowed(_))));
    let s = once(ReminderKind::Session, ReminderFor::Everyone, "", now + DAY);
    assert!(matches!(
        f.add_reminder(&g, &s),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn a_device_outside_the_space_has_no_reminders_there() {
    let dir = tempfile::tempdir().unwrap();
    let (_sup, _part, id) = pairing(&dir);
    let mut stranger = vault(&dir, "stranger", 3);
    let now = now_secs();
    let t = once(ReminderKind::Task, ReminderFor::Everyone, "x", now + DAY);
    assert!(matches!(
        stranger.add_reminder(&id, &t),
        Err(Error::NotFound(_))
    ));
    assert!(stranger.reminders_due(now, 0).unwrap().upcoming.is_empty());
}

/// Whoever the space's log does not list as a member (a stranger holding a leaked key, a removed
/// device's later envelope) writes no reminder: judged by the rules every device applies.
#[test]
fn a_non_member_writes_no_reminder_on_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let (sup, _part, id) = pairing(&dir);
    let stranger = vault(&dir, "stranger", 3);
    let s = sup.shared.get(&id).unwrap();
    let mut doc = s.doc.clone();
    let before = doc.get_heads();
    let mut trial = doc
        .fork()
        .with_actor(crate::space::actor_of(&stranger.identity.device));
    let t = once(
        ReminderKind::Task,
        ReminderFor::Everyone,
        "x",
        now_secs() + DAY,
    );
    let by = stranger.identity.device.to_hex();
    super::add(&mut trial, "00000000000000e1", &t, &by, now_ms()).unwrap();
    let changes = trial.get_changes(&before);
    let members = s.membership().clone();
    let a = crate::space::rules::author(&members, s.creator(), (stranger.identity.device, 1), None);
    assert!(!crate::space::rules::allowed(
        &s.doc,
        crate::space::SpaceKind::Pairing,
        &a,
        &changes
    ));
    // The same change from the participant, a member, is a reminder they may write.
    let part_dev = crate::pairing::participant(&s.doc).unwrap();
    let pd = sebaya_proto::DeviceId::from_hex(&part_dev).unwrap();
    let mut trial = doc.fork().with_actor(crate::space::actor_of(&pd));
    super::add(&mut trial, "00000000000000e1", &t, &part_dev, now_ms()).unwrap();
    let changes = trial.get_changes(&before);
    let a = crate::space::rules::author(&members, s.creator(), (pd, 1), None);
    assert!(crate::space::rules::allowed(
        &s.doc,
        crate::space::SpaceKind::Pairing,
        &a,
        &changes
    ));
}

/// Protocol 29.1: the fields a reminder's record holds, under its own root key.
#[test]
fn the_layout_is_as_specified() {
    use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value};
    let mut doc = AutoCommit::new();
    let by = "cd".repeat(32);
    let now = now_ms();
    let task = once(
        ReminderKind::Task,
        ReminderFor::Participant,
        "napas",
        now / 1000 + 60,
    );
    super::add(&mut doc, "00000000000000a1", &task, &by, now).unwrap();
    let every = NewReminder {
        schedule: Schedule::every_from(now / 1000 + 60, 420, 7).unwrap(),
        kind: ReminderKind::Cadence,
        for_whom: ReminderFor::Everyone,
        text: String::new(),
        lead_minutes: 0,
    };
    super::add(&mut doc, "00000000000000a2", &every, &by, now).unwrap();
    super::complete(&mut doc, "00000000000000a2", 3, now).unwrap();
    let keys = |k: &str| -> Vec<String> {
        match doc.get(ROOT, k).unwrap() {
            Some((Value::Object(ObjType::Map), r)) => doc.keys(&r).collect(),
            _ => panic!("{k} is no map"),
        }
    };
    assert_eq!(
        keys("reminder/00000000000000a1"),
        [
            "at", "by", "created", "done", "for", "kind", "offset", "text", "v"
        ]
    );
    assert_eq!(
        keys("reminder/00000000000000a2"),
        [
            "by", "created", "day", "done", "every", "for", "kind", "minute", "text", "v"
        ]
    );
    let r = &super::list(&doc)[1];
    assert_eq!(r.done.iter().copied().collect::<Vec<_>>(), vec![3]);
    assert_eq!(super::list(&doc)[0].kind.as_str(), "task");
    super::delete(&mut doc, "00000000000000a1", now).unwrap();
    assert_eq!(super::list(&doc).len(), 1, "a tombstone is not shown");
}
