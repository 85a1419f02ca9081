//! Reminders with the rest of a person's data (issue 18, item 4): in their export, erased with
//! their space, carried into a group's new period, brought forward by a lead time, and a
//! completion only for an occurrence that exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

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

fn carry(from: &mut Vault, to: &mut Vault) -> u32 {
    let bundle = from.export_bundle(&[], None).expect("export");
    to.import_bundle(&bundle).expect("import").quarantined
}

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

fn weekly(kind: ReminderKind, text: &str, now: i64) -> NewReminder {
    NewReminder {
        kind,
        for_whom: ReminderFor::Everyone,
        text: text.into(),
        schedule: Schedule::every_from(now + DAY, 7 * 60, 7).unwrap(),
        lead_minutes: 0,
    }
}

/// The ids of the reminders an export lists for the first pairing or group.
fn exported(v: &Vault, section: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(&v.export_all(now_ms()).unwrap()).unwrap();
    json[section][0]["reminders"]
        .as_array()
        .unwrap_or_else(|| panic!("{section} has no reminders"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_person_exports_the_reminders_told_to_them_and_erasing_the_pairing_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    let cadence = sup
        .add_reminder(&id, &weekly(ReminderKind::Cadence, "", now))
        .unwrap();
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
                "latihan napas pagi",
                now + 2 * DAY,
            ),
        )
        .unwrap();
    part.complete_reminder(&id, &cadence, 0).unwrap();
    assert_eq!(carry(&mut part, &mut sup), 0);

    // The participant's export: what their devices are told of, with a task's words and what is done.
    assert_eq!(
        exported(&part, "pairings"),
        BTreeSet::from([cadence.clone(), task.clone()])
    );
    let json: serde_json::Value =
        serde_json::from_str(&part.export_all(now_ms()).unwrap()).unwrap();
    let rs = json["pairings"][0]["reminders"].as_array().unwrap();
    let t = rs.iter().find(|r| r["id"] == task.as_str()).unwrap();
    assert_eq!(t["kind"], "task");
    assert_eq!(t["for"], "participant");
    assert_eq!(t["text"], "latihan napas pagi");
    assert_eq!(t["at"], now + 2 * DAY);
    let c = rs.iter().find(|r| r["id"] == cadence.as_str()).unwrap();
    assert_eq!(c["every"], 7);
    assert_eq!(c["done"], serde_json::json!([0]));
    // The supporter's: the cadence and their follow-up; the participant's own task is not theirs.
    assert_eq!(
        exported(&sup, "pairings"),
        BTreeSet::from([cadence.clone(), follow])
    );

    // Erased with the pairing, like everything in it.
    part.erase_pairing(&id).unwrap();
    assert!(matches!(part.reminders(&id), Err(Error::NotFound(_))));
    let due = part.reminders_due(now, 7 * 60).unwrap();
    assert!(due.upcoming.is_empty() && due.overdue.is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&part.export_all(now_ms()).unwrap()).unwrap();
    assert_eq!(json["pairings"], serde_json::json!([]));
}

#[test]
fn a_groups_new_period_carries_its_open_reminders_and_lists_them_once() {
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
    let task = |text: &str, at: i64| once(ReminderKind::Task, ReminderFor::Everyone, text, at);
    let open = f
        .add_reminder(&g, &task("coba latihan", now + DAY))
        .unwrap();
    let done = f.add_reminder(&g, &task("sudah", now + DAY)).unwrap();
    f.complete_reminder(&g, &done, 0).unwrap();
    let gone = f.add_reminder(&g, &task("hapus", now + DAY)).unwrap();
    f.delete_reminder(&g, &gone).unwrap();
    let mut lead = weekly(ReminderKind::Task, "jurnal mingguan", now);
    lead.lead_minutes = 30;
    let repeating = f.add_reminder(&g, &lead).unwrap();
    f.complete_reminder(&g, &repeating, 0).unwrap();
    assert_eq!(
        exported(&f, "groups").len(),
        3,
        "a done one-off stands until deleted"
    );

    let next = f.start_period(&g).unwrap();
    let carried = f.reminders(&next).unwrap();
    let ids: BTreeSet<String> = carried.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, BTreeSet::from([open.clone(), repeating.clone()]));
    let r = carried.iter().find(|r| r.id == repeating).unwrap();
    assert_eq!(r.done, BTreeSet::from([0]), "completions come along");
    assert_eq!(r.lead_minutes, 30);
    assert_eq!(r.text, "jurnal mingguan");
    assert_eq!(r.by, f.identity.device.to_hex(), "the carrier writes it");
    // The old period keeps its record; what is due comes from the new one only, once.
    assert_eq!(f.reminders(&g).unwrap().len(), 3);
    let due = f.reminders_due(now, 7 * 60).unwrap();
    let of_open: Vec<_> = due.upcoming.iter().filter(|n| n.reminder == open).collect();
    assert_eq!(of_open.len(), 1);
    assert_eq!(of_open[0].space, next.to_hex());

    // Every member's device judges the carried records as written by a facilitator.
    assert_eq!(carry(&mut f, &mut m), 0);
}

#[test]
fn a_lead_time_brings_the_notice_forward_and_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = pairing(&dir);
    let now = now_secs();
    let at = now + 2 * DAY;
    let mut session = once(ReminderKind::Session, ReminderFor::Everyone, "", at);
    session.lead_minutes = 60;
    let r = sup.add_reminder(&id, &session).unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    let listed = part.reminders(&id).unwrap();
    assert_eq!(listed[0].lead_minutes, 60);
    let due = part.reminders_due(now, 7 * 60).unwrap();
    let n = due.upcoming.iter().find(|n| n.reminder == r).unwrap();
    assert_eq!((n.at_secs, n.notify_at_secs), (at, at - 3600));
    // Once the notice's time has passed, it is no longer to schedule (and a session never overdue).
    let due = part.reminders_due(at - 1800, 7 * 60).unwrap();
    assert!(due.upcoming.iter().all(|n| n.reminder != r));
    assert!(due.overdue.iter().all(|n| n.reminder != r));

    for lead in [super::MAX_LEAD_MINUTES + 1, u32::MAX] {
        session.lead_minutes = lead;
        assert!(matches!(
            sup.add_reminder(&id, &session),
            Err(Error::InvalidInput(_))
        ));
    }
    assert_eq!(sup.reminders(&id).unwrap().len(), 1);
}

#[test]
fn a_completion_is_only_for_an_occurrence_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, _part, id) = pairing(&dir);
    let now = now_secs();
    let task = sup
        .add_reminder(
            &id,
            &once(ReminderKind::Task, ReminderFor::Everyone, "x", now + DAY),
        )
        .unwrap();
    let cadence = sup
        .add_reminder(&id, &weekly(ReminderKind::Cadence, "", now))
        .unwrap();
    assert!(matches!(
        sup.complete_reminder(&id, &task, 1),
        Err(Error::InvalidInput(_))
    ));
    // Occurrences further ahead than a reminder may be set, or past any date, do not exist.
    for k in [10_000, 1_000_000_000, u64::MAX] {
        assert!(
            matches!(
                sup.complete_reminder(&id, &cadence, k),
                Err(Error::InvalidInput(_))
            ),
            "occurrence {k}"
        );
    }
    assert!(matches!(
        sup.complete_reminder(&id, "00000000000000ff", 0),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        sup.complete_reminder(&id, "not an id", 0),
        Err(Error::InvalidInput(_))
    ));
    assert!(
        sup.reminders(&id)
            .unwrap()
            .iter()
            .all(|r| r.done.is_empty())
    );
    sup.complete_reminder(&id, &cadence, 3).unwrap();
    sup.complete_reminder(&id, &task, 0).unwrap();
}

#[test]
fn a_groups_session_is_noticed_an_hour_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = vault(&dir, "f", 1);
    let g = f.create_group("Kelompok").unwrap();
    let now = now_secs();
    let me = f.identity.device.to_hex();
    f.with_group_sessions(&g, |doc, t| {
        crate::groups::add_session(doc, "00000000000000b1", (now + DAY) * 1000, "Sesi", &me, t)
    })
    .unwrap();
    let due = f.reminders_due(now, 0).unwrap();
    let n = due
        .upcoming
        .iter()
        .find(|n| n.reminder == "00000000000000b1")
        .unwrap();
    assert_eq!(
        (n.at_secs, n.notify_at_secs),
        (
            now + DAY,
            now + DAY - i64::from(super::SESSION_LEAD_MINUTES) * 60
        )
    );
}

/// Protocol 29.1: a lead is stored as `lead`, minutes, only when there is one.
#[test]
fn a_lead_is_stored_as_specified() {
    use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};
    let mut doc = AutoCommit::new();
    let now = now_ms();
    let mut s = once(
        ReminderKind::Session,
        ReminderFor::Everyone,
        "",
        now / 1000 + 600,
    );
    s.lead_minutes = 90;
    super::add(&mut doc, "00000000000000c1", &s, &"cd".repeat(32), now).unwrap();
    let Some((Value::Object(_), r)) = doc.get(ROOT, "reminder/00000000000000c1").unwrap() else {
        panic!("no record");
    };
    assert!(matches!(
        doc.get(&r, "lead").unwrap(),
        Some((Value::Scalar(v), _)) if *v == ScalarValue::Int(90)
    ));
    assert_eq!(super::list(&doc)[0].lead_minutes, 90);
}
