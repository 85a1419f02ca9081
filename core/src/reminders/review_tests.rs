//! What a review of the reminders found (review-reminders.md): an offset at the ends of `i32`
//! (M1), a verdict that depended on arrival order (M2), a member rewriting the other's record (M4)
//! and group tasks overdue forever (M6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use sebaya_proto::DeviceId;
use sebaya_proto::membership::Role;

use super::{NewReminder, ReminderFor, ReminderKind, Schedule};
use crate::error::Error;
use crate::space::SpaceKind;
use crate::store::clock::now_ms;
use crate::{SpaceId, Vault};

const DAY: i64 = 86_400;

pub(super) fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

pub(super) fn carry(from: &mut Vault, to: &mut Vault) -> u32 {
    let bundle = from.export_bundle(&[], None).expect("export");
    to.import_bundle(&bundle).expect("import").quarantined
}

pub(super) fn pairing(dir: &tempfile::TempDir) -> (Vault, Vault, SpaceId) {
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

pub(super) fn once(
    kind: ReminderKind,
    for_whom: ReminderFor,
    text: &str,
    at_secs: i64,
) -> NewReminder {
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

pub(super) fn now_secs() -> i64 {
    now_ms() / 1000
}

// ---- M1 ------------------------------------------------------------------------------------------

#[test]
fn an_offset_at_the_ends_of_i32_is_refused_never_a_panic() {
    for o in [i32::MIN, i32::MIN + 1, -841, 841, i32::MAX] {
        assert!(
            matches!(super::check_offset(o), Err(Error::InvalidInput(_))),
            "{o}"
        );
        assert!(matches!(
            Schedule::every_from(now_secs() + DAY, o, 7),
            Err(Error::InvalidInput(_))
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, _part, id) = pairing(&dir);
    let mut t = once(
        ReminderKind::Task,
        ReminderFor::Everyone,
        "x",
        now_secs() + DAY,
    );
    t.schedule = Schedule::Once {
        at_secs: now_secs() + DAY,
        offset_minutes: i32::MIN,
    };
    assert!(matches!(
        sup.add_reminder(&id, &t),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        sup.reminders_due(now_secs(), i32::MIN),
        Err(Error::InvalidInput(_))
    ));
}

/// A record a modified client wrote with an offset out of range, or none, is skipped when read
/// (protocol 29.1), and what is due neither lists it nor panics.
#[test]
fn a_record_with_a_hostile_offset_is_skipped() {
    let now = now_ms();
    for offset in [Some(i64::from(i32::MIN)), Some(1 << 40), Some(841), None] {
        let mut doc = AutoCommit::new();
        let r = doc
            .put_object(ROOT, "reminder/00000000000000d1", ObjType::Map)
            .unwrap();
        doc.put(&r, "v", 1).unwrap();
        doc.put(&r, "kind", "task").unwrap();
        doc.put(&r, "for", "everyone").unwrap();
        doc.put(&r, "text", "x").unwrap();
        doc.put(&r, "at", now / 1000 + DAY).unwrap();
        if let Some(o) = offset {
            doc.put(&r, "offset", o).unwrap();
        }
        doc.put_object(&r, "done", ObjType::Map).unwrap();
        assert!(super::list(&doc).is_empty(), "{offset:?}");
    }
}

// ---- M4 and M2: judged on receipt --------------------------------------------------------------

/// The record under `reminder/<id>` that a document shows.
fn record(doc: &AutoCommit, id: &str) -> ObjId {
    match doc.get(ROOT, format!("reminder/{id}").as_str()).unwrap() {
        Some((Value::Object(ObjType::Map), r)) => r,
        _ => panic!("no record {id}"),
    }
}

/// Whether `device`'s change `edit`, made on the space's document as `sup` holds it, is accepted
/// by the rules every device applies.
fn judged(
    sup: &Vault,
    id: &SpaceId,
    device: &DeviceId,
    edit: impl FnOnce(&mut AutoCommit),
) -> bool {
    let s = sup.shared.get(id).unwrap();
    let mut doc = s.doc.clone();
    let before = doc.get_heads();
    let mut trial = doc.fork().with_actor(crate::space::actor_of(device));
    edit(&mut trial);
    let changes = trial.get_changes(&before);
    assert!(!changes.is_empty());
    let members = s.membership().clone();
    let a = crate::space::rules::author(&members, s.creator(), (*device, 1), None);
    crate::space::rules::allowed(&s.doc, s.kind, &a, &changes)
}

fn participant_of(sup: &Vault, id: &SpaceId) -> DeviceId {
    let s = sup.shared.get(id).unwrap();
    DeviceId::from_hex(&crate::pairing::participant(&s.doc).unwrap()).unwrap()
}

#[test]
fn a_member_completes_or_deletes_the_others_record_and_changes_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, _part, id) = pairing(&dir);
    let task = sup
        .add_reminder(
            &id,
            &once(
                ReminderKind::Task,
                ReminderFor::Participant,
                "telepon konselor Kamis",
                now_secs() + DAY,
            ),
        )
        .unwrap();
    let every = NewReminder {
        kind: ReminderKind::Cadence,
        for_whom: ReminderFor::Everyone,
        text: String::new(),
        schedule: Schedule::every_from(now_secs() - 20 * DAY, 420, 7).unwrap(),
        lead_minutes: 0,
    };
    let cadence = sup.add_reminder(&id, &every).unwrap();
    sup.complete_reminder(&id, &cadence, 0).unwrap();
    let pd = participant_of(&sup, &id);
    let doc = sup.shared.get(&id).unwrap().doc.clone();
    let t = record(&doc, &task);
    let c = record(&doc, &cadence);
    let done = match doc.get(&c, "done").unwrap() {
        Some((Value::Object(ObjType::Map), d)) => d,
        _ => panic!("no done"),
    };
    type Edit<'a> = Box<dyn FnOnce(&mut AutoCommit) + 'a>;
    let refused: Vec<(&str, Edit<'_>)> = vec![
        (
            "rewrite the text",
            Box::new(|d| d.put(&t, "text", "lain").unwrap()),
        ),
        (
            "move it to everyone",
            Box::new(|d| d.put(&t, "for", "everyone").unwrap()),
        ),
        (
            "claim it",
            Box::new(|d| d.put(&t, "by", pd.to_hex()).unwrap()),
        ),
        (
            "remove who set it",
            Box::new(|d| d.delete(&t, "by").unwrap()),
        ),
        (
            "move its time",
            Box::new(|d| d.put(&t, "at", now_secs() + 2 * DAY).unwrap()),
        ),
        (
            "undo a completion",
            Box::new(|d| d.delete(&done, "0").unwrap()),
        ),
        (
            "undelete",
            Box::new(|d| d.put(&t, "deleted", false).unwrap()),
        ),
        (
            "shift the occurrences",
            Box::new(|d| d.put(&c, "day", 1).unwrap()),
        ),
        (
            "a completion as text",
            Box::new(|d| d.put(&done, "1", "x").unwrap()),
        ),
        (
            "a completion not a number",
            Box::new(|d| d.put(&done, "01", 5).unwrap()),
        ),
    ];
    for (what, edit) in refused {
        assert!(!judged(&sup, &id, &pd, edit), "{what}");
    }
    assert!(
        judged(&sup, &id, &pd, |d| d.put(&done, "1", now_ms()).unwrap()),
        "complete"
    );
    assert!(
        judged(&sup, &id, &pd, |d| d.put(&t, "deleted", true).unwrap()),
        "delete"
    );
}

/// Two devices make the same `reminder/<id>` concurrently (a participant's modified client racing
/// the supporter's follow-up): every device reaches the same verdicts whatever order they arrive
/// in, and the follow-up stays the supporter's.
#[test]
fn concurrent_makes_of_one_key_are_judged_the_same_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let (sup, _part, id) = pairing(&dir);
    let s = sup.shared.get(&id).unwrap();
    let mut base = s.doc.clone();
    let heads = base.get_heads();
    let members = s.membership().clone();
    let pd = participant_of(&sup, &id);
    let sd = sup.identity.device;
    let now = now_ms();
    let make = |device: &DeviceId, r: &NewReminder| {
        let mut d = base.clone().with_actor(crate::space::actor_of(device));
        super::add(&mut d, "00000000000000e7", r, &device.to_hex(), now).unwrap();
        d.get_changes(&heads)
    };
    let f = make(
        &sd,
        &once(
            ReminderKind::FollowUp,
            ReminderFor::Supporter,
            "",
            now / 1000 + DAY,
        ),
    );
    let c = make(
        &pd,
        &once(
            ReminderKind::Task,
            ReminderFor::Everyone,
            "x",
            now / 1000 + DAY,
        ),
    );
    let by = |d: &DeviceId| crate::space::rules::author(&members, s.creator(), (*d, 1), None);
    let (sup_a, part_a) = (by(&sd), by(&pd));
    let mut with_f = base.clone();
    with_f.apply_changes(f.clone()).unwrap();
    let mut with_c = base.clone();
    with_c.apply_changes(c.clone()).unwrap();
    assert!(crate::space::rules::allowed(
        &base,
        SpaceKind::Pairing,
        &sup_a,
        &f
    ));
    assert!(crate::space::rules::allowed(
        &base,
        SpaceKind::Pairing,
        &part_a,
        &c
    ));
    assert!(
        crate::space::rules::allowed(&with_f, SpaceKind::Pairing, &part_a, &c),
        "the participant's concurrent make, after the follow-up"
    );
    assert!(
        crate::space::rules::allowed(&with_c, SpaceKind::Pairing, &sup_a, &f),
        "the supporter's follow-up, after the concurrent make"
    );
    with_f.apply_changes(c).unwrap();
    with_c.apply_changes(f).unwrap();
    assert_eq!(
        super::list(&with_f),
        super::list(&with_c),
        "one winner everywhere"
    );
    // The follow-up's record stays the supporter's to complete, whichever value shows.
    let all = with_f.get_all(ROOT, "reminder/00000000000000e7").unwrap();
    let follow = all
        .iter()
        .find_map(|(_, r)| {
            (crate::space::doc::string(&with_f, r, "kind").as_deref() == Some("follow-up"))
                .then(|| r.clone())
        })
        .unwrap();
    let done = match with_f.get(&follow, "done").unwrap() {
        Some((Value::Object(ObjType::Map), d)) => d,
        _ => panic!("no done"),
    };
    let h = with_f.get_heads();
    let mut trial = with_f.fork().with_actor(crate::space::actor_of(&pd));
    trial.put(&done, "0", now).unwrap();
    let ch = trial.get_changes(&h);
    assert!(!crate::space::rules::allowed(
        &with_f,
        SpaceKind::Pairing,
        &part_a,
        &ch
    ));
}

// ---- M6 ------------------------------------------------------------------------------------------

/// A group's task is a notice for everyone: members cannot complete it, so it is never overdue for
/// anyone (it would otherwise stay overdue forever on every member's phone).
#[test]
fn a_groups_task_is_never_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = vault(&dir, "f", 1);
    let mut m = vault(&dir, "m", 2);
    let g = f.create_group("Kelompok").unwrap();
    let resp = f
        .approve_group_member(&g, &m.link_request().unwrap(), Role::Member)
        .unwrap();
    m.join_group(&resp).unwrap();
    assert_eq!(carry(&mut f, &mut m), 0);
    let now = now_secs();
    let t = f
        .add_reminder(
            &g,
            &once(ReminderKind::Task, ReminderFor::Everyone, "pr", now + 60),
        )
        .unwrap();
    assert_eq!(carry(&mut f, &mut m), 0);
    for v in [&f, &m] {
        let due = v.reminders_due(now, 420).unwrap();
        assert!(due.upcoming.iter().any(|n| n.reminder == t));
        let later = v.reminders_due(now + DAY, 420).unwrap();
        assert!(later.overdue.iter().all(|n| n.reminder != t));
    }
    // In a pairing, a task past its time is overdue (the pair completes it).
    let (mut sup, _part, id) = pairing(&tempfile::tempdir().unwrap());
    let p = sup
        .add_reminder(
            &id,
            &once(ReminderKind::Task, ReminderFor::Everyone, "pr", now + 60),
        )
        .unwrap();
    let later = sup.reminders_due(now + DAY, 420).unwrap();
    assert!(later.overdue.iter().any(|n| n.reminder == p));
}
