//! Records are their authors' (rules version 6, issue 18, item 2): inside a group's or a pairing's
//! containers only a record's author (any device of the same person) edits or deletes it; a
//! facilitator may hide a group record, never rewrite it. Every envelope here is hand-built (written
//! straight into the sender's document, past the honest client's check), as a modified app would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc, Value};

use super::tests::{Device, device, group, joined, outgoing};
use crate::groups;
use crate::pairing;
use crate::space::doc::{container_in, string};
use crate::space::{Space, SpaceKind};

const N1: &str = "00000000000000a1";
const N2: &str = "00000000000000a2";

/// What `d` sealed since the last call, remembering what was sent.
fn sent(d: &Device, s: &mut Space, seen: &mut Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let new: Vec<Vec<u8>> = outgoing(d, s)
        .into_iter()
        .filter(|e| !seen.contains(e))
        .collect();
    seen.extend(new.iter().cloned());
    new
}

/// A group made by `f` with members `a` and `b`, where `a` wrote note N1 and the facilitator an
/// agenda item N2, every device holding all of it. Returns the three copies and what each sent.
struct Three {
    f: Device,
    a: Device,
    b: Device,
    fs: Space,
    as_: Space,
    bs: Space,
    f_seen: Vec<Vec<u8>>,
    a_seen: Vec<Vec<u8>>,
    b_seen: Vec<Vec<u8>>,
}

fn three() -> Three {
    let f = device(1);
    let a = device(2);
    let b = device(3);
    let mut fs = group(&f);
    let mut as_ = joined(&f, &mut fs, &a, None);
    let mut bs = joined(&f, &mut fs, &b, None);
    groups::add_agenda_item(&mut fs.doc, N2, "Perkenalan", 2_000).unwrap();
    fs.persist(&f.store).unwrap();
    let mut f_seen = Vec::new();
    let from_f = sent(&f, &mut fs, &mut f_seen);
    assert_eq!(
        as_.receive(&a.store, &a.id, &from_f).unwrap().quarantined,
        0
    );
    assert_eq!(bs.receive(&b.store, &b.id, &from_f).unwrap().quarantined, 0);
    let a_me = a.id.device.to_hex();
    groups::add_note(&mut as_.doc, N1, "", "punya a", &a_me, 3_000).unwrap();
    as_.persist(&a.store).unwrap();
    let mut a_seen = Vec::new();
    let note = sent(&a, &mut as_, &mut a_seen);
    assert_eq!(fs.receive(&f.store, &f.id, &note).unwrap().quarantined, 0);
    assert_eq!(bs.receive(&b.store, &b.id, &note).unwrap().quarantined, 0);
    assert!(groups::note(&bs.doc, N1).is_some());
    let mut b_seen = Vec::new();
    let _ = sent(&b, &mut bs, &mut b_seen);
    Three {
        f,
        a,
        b,
        fs,
        as_,
        bs,
        f_seen,
        a_seen,
        b_seen,
    }
}

/// The note N1 as a map object in `doc`.
fn note_obj(doc: &automerge::AutoCommit) -> automerge::ObjId {
    let c = container_in(doc, "notes", "group").unwrap();
    match doc.get(&c, N1).unwrap() {
        Some((Value::Object(ObjType::Map), n)) => n,
        _ => panic!("note missing"),
    }
}

/// What a modified app does to someone else's note.
fn tamper(doc: &mut automerge::AutoCommit, how: &str, me: &str) {
    let c = container_in(doc, "notes", "group").unwrap();
    match how {
        "edit" => groups::edit_note(doc, N1, None, Some("diubah"), 9_000).unwrap(),
        "retitle" => groups::edit_note(doc, N1, Some("judul lain"), None, 9_000).unwrap(),
        "delete" => groups::delete_note(doc, N1, 9_000).unwrap(),
        "replace" => {
            let n = doc.put_object(&c, N1, ObjType::Map).unwrap();
            doc.put(&n, "title", "").unwrap();
            doc.put(&n, "author", me).unwrap();
            doc.commit();
        }
        "claim" => {
            let n = note_obj(doc);
            doc.put(&n, "author", me).unwrap();
            doc.commit();
        }
        _ => panic!("unknown attempt"),
    }
}

/// A member abusing their rights: another member's hand-built envelope that edits, retitles,
/// deletes, replaces or claims a note is refused on receipt by the facilitator's device and by the
/// note's author's; the note stands as its author wrote it.
#[test]
fn a_members_edit_or_delete_of_anothers_note_is_refused_by_every_device() {
    for how in ["edit", "retitle", "delete", "replace", "claim"] {
        let mut t = three();
        let b_me = t.b.id.device.to_hex();
        tamper(&mut t.bs.doc, how, &b_me);
        t.bs.persist(&t.b.store).unwrap();
        let env = sent(&t.b, &mut t.bs, &mut t.b_seen);
        assert_eq!(env.len(), 1, "{how}");
        let r = t.fs.receive(&t.f.store, &t.f.id, &env).unwrap();
        assert_eq!(r.quarantined, 1, "{how}: refused by the facilitator");
        let r = t.as_.receive(&t.a.store, &t.a.id, &env).unwrap();
        assert_eq!(r.quarantined, 1, "{how}: refused by the author");
        for doc in [&t.fs.doc, &t.as_.doc] {
            let n = groups::note(doc, N1).expect(how);
            assert_eq!(
                (n.text.as_str(), n.title.as_str()),
                ("punya a", ""),
                "{how}"
            );
            assert_eq!(n.author, t.a.id.device.to_hex(), "{how}");
        }
    }
}

/// A facilitator may not rewrite a member's note either (nor delete it): refused by both members.
#[test]
fn a_facilitators_rewrite_of_a_members_note_is_refused() {
    for how in ["edit", "delete"] {
        let mut t = three();
        let f_me = t.f.id.device.to_hex();
        tamper(&mut t.fs.doc, how, &f_me);
        t.fs.persist(&t.f.store).unwrap();
        // (With it, whatever else the facilitator's device had to send: a statement, a key wrap.)
        let env = sent(&t.f, &mut t.fs, &mut t.f_seen);
        let r = t.as_.receive(&t.a.store, &t.a.id, &env).unwrap();
        assert_eq!(r.quarantined, 1, "{how}: refused by the author");
        let r = t.bs.receive(&t.b.store, &t.b.id, &env).unwrap();
        assert_eq!(r.quarantined, 1, "{how}: refused by the other member");
        assert_eq!(groups::note(&t.bs.doc, N1).unwrap().text, "punya a");
    }
}

/// The author edits and deletes its own note: every device takes both.
#[test]
fn an_author_edits_and_deletes_its_own_note() {
    let mut t = three();
    groups::edit_note(&mut t.as_.doc, N1, Some("judul"), Some("lebih baik"), 9_000).unwrap();
    t.as_.persist(&t.a.store).unwrap();
    let edit = sent(&t.a, &mut t.as_, &mut t.a_seen);
    assert_eq!(
        t.fs.receive(&t.f.store, &t.f.id, &edit)
            .unwrap()
            .quarantined,
        0
    );
    assert_eq!(
        t.bs.receive(&t.b.store, &t.b.id, &edit)
            .unwrap()
            .quarantined,
        0
    );
    assert_eq!(groups::note(&t.bs.doc, N1).unwrap().text, "lebih baik");
    groups::delete_note(&mut t.as_.doc, N1, 10_000).unwrap();
    t.as_.persist(&t.a.store).unwrap();
    let delete = sent(&t.a, &mut t.as_, &mut t.a_seen);
    assert_eq!(
        t.fs.receive(&t.f.store, &t.f.id, &delete)
            .unwrap()
            .quarantined,
        0
    );
    assert!(groups::note(&t.fs.doc, N1).is_none());
}

/// Writes the hide marker of note N1 by hand: `hidden/notes/<id>` at the root, `{ by, at }`.
fn hide_by_hand(doc: &mut automerge::AutoCommit, by: &str) {
    let h = doc
        .put_object(ROOT, format!("hidden/notes/{N1}").as_str(), ObjType::Map)
        .unwrap();
    doc.put(&h, "by", by).unwrap();
    doc.put(&h, "at", 9_000_i64).unwrap();
    doc.commit();
}

/// A facilitator's hide is taken by every member (the note stays in the document); a member's hide
/// is refused, and so is a member's unhide.
#[test]
fn a_facilitators_hide_is_accepted_and_a_members_is_refused() {
    let mut t = three();
    let key = format!("hidden/notes/{N1}");
    let b_me = t.b.id.device.to_hex();
    hide_by_hand(&mut t.bs.doc, &b_me);
    t.bs.persist(&t.b.store).unwrap();
    let env = sent(&t.b, &mut t.bs, &mut t.b_seen);
    assert_eq!(
        t.fs.receive(&t.f.store, &t.f.id, &env).unwrap().quarantined,
        1
    );
    assert_eq!(
        t.as_
            .receive(&t.a.store, &t.a.id, &env)
            .unwrap()
            .quarantined,
        1
    );
    assert!(t.as_.doc.get(ROOT, key.as_str()).unwrap().is_none());

    let f_me = t.f.id.device.to_hex();
    hide_by_hand(&mut t.fs.doc, &f_me);
    t.fs.persist(&t.f.store).unwrap();
    let env = sent(&t.f, &mut t.fs, &mut t.f_seen);
    assert_eq!(
        t.as_
            .receive(&t.a.store, &t.a.id, &env)
            .unwrap()
            .quarantined,
        0
    );
    let h = match t.as_.doc.get(ROOT, key.as_str()).unwrap() {
        Some((Value::Object(ObjType::Map), h)) => h,
        _ => panic!("the hide is there"),
    };
    assert_eq!(string(&t.as_.doc, &h, "by"), Some(f_me));
    assert!(
        groups::note(&t.as_.doc, N1).is_some(),
        "kept in the document"
    );
    // The author, a plain member, cannot take the hide off.
    t.as_.doc.delete(ROOT, key.as_str()).unwrap();
    t.as_.doc.commit();
    t.as_.persist(&t.a.store).unwrap();
    let env = sent(&t.a, &mut t.as_, &mut t.a_seen);
    assert_eq!(
        t.fs.receive(&t.f.store, &t.f.id, &env).unwrap().quarantined,
        1
    );
    assert!(t.fs.doc.get(ROOT, key.as_str()).unwrap().is_some());
}

/// A member who writes an author into a record that had none (an agenda item) makes it theirs:
/// refused; marking it done (records without an author are the group's) is taken.
#[test]
fn a_record_without_an_author_stays_the_groups() {
    let mut t = three();
    let b_me = t.b.id.device.to_hex();
    let c = container_in(&t.bs.doc, "agenda", "group").unwrap();
    let item = match t.bs.doc.get(&c, N2).unwrap() {
        Some((Value::Object(ObjType::Map), i)) => i,
        _ => panic!("agenda item missing"),
    };
    t.bs.doc.put(&item, "author", b_me.as_str()).unwrap();
    t.bs.doc.commit();
    t.bs.persist(&t.b.store).unwrap();
    let env = sent(&t.b, &mut t.bs, &mut t.b_seen);
    assert_eq!(
        t.fs.receive(&t.f.store, &t.f.id, &env).unwrap().quarantined,
        1
    );

    groups::set_agenda_done(&mut t.as_.doc, N2, true, 9_000).unwrap();
    t.as_.persist(&t.a.store).unwrap();
    let env = sent(&t.a, &mut t.as_, &mut t.a_seen);
    assert_eq!(
        t.fs.receive(&t.f.store, &t.f.id, &env).unwrap().quarantined,
        0
    );
    assert!(groups::agenda(&t.fs.doc)[0].done);
}

/// In a pairing, the supporter (its admin) cannot rewrite the participant's message or delete
/// their check-in; a goal (no author) stays both people's; the participant edits its own message.
#[test]
fn in_a_pairing_records_are_their_authors() {
    for how in ["message", "checkin", "goal", "own"] {
        let s = device(1);
        let p = device(2);
        let mut ss = Space::create(&s.store, SpaceKind::Pairing, &s.id).unwrap();
        let p_me = p.id.device.to_hex();
        let s_me = s.id.device.to_hex();
        pairing::init(&mut ss.doc, &p_me, &s_me, 1_000).unwrap();
        pairing::add_goal(&mut ss.doc, N2, "Tidur cukup", 1_500).unwrap();
        ss.persist(&s.store).unwrap();
        let mut ps = joined(&s, &mut ss, &p, None);
        let mut s_seen = outgoing(&s, &mut ss);
        pairing::send_message(&mut ps.doc, N1, "halo", &p_me, 2_000).unwrap();
        pairing::add_checkin(&mut ps.doc, N1, 2, "berat", &p_me, 2_000).unwrap();
        ps.persist(&p.store).unwrap();
        let mut p_seen = Vec::new();
        let env = sent(&p, &mut ps, &mut p_seen);
        assert_eq!(ss.receive(&s.store, &s.id, &env).unwrap().quarantined, 0);
        let (doc, from_supporter) = match how {
            "own" => (&mut ps.doc, false),
            _ => (&mut ss.doc, true),
        };
        match how {
            "message" | "own" => {
                let c = container_in(doc, "messages", "pairing").unwrap();
                let m = match doc.get(&c, N1).unwrap() {
                    Some((Value::Object(ObjType::Map), m)) => m,
                    _ => panic!("message missing"),
                };
                let t = match doc.get(&m, "text").unwrap() {
                    Some((Value::Object(ObjType::Text), t)) => t,
                    _ => panic!("text missing"),
                };
                doc.splice_text(&t, 0, 4, "bukan").unwrap();
            }
            "checkin" => {
                let c = container_in(doc, "checkins", "pairing").unwrap();
                doc.delete(&c, N1).unwrap();
            }
            _ => pairing::set_goal_progress(doc, N2, 50, 3_000).unwrap(),
        }
        doc.commit();
        if from_supporter {
            ss.persist(&s.store).unwrap();
            let env = sent(&s, &mut ss, &mut s_seen);
            let r = ps.receive(&p.store, &p.id, &env).unwrap();
            let expect = usize::from(how != "goal");
            assert_eq!(r.quarantined as usize, expect, "{how}");
            assert_eq!(pairing::messages(&ps.doc)[0].text, "halo", "{how}");
            assert_eq!(pairing::checkins(&ps.doc).len(), 1, "{how}");
        } else {
            ps.persist(&p.store).unwrap();
            let env = sent(&p, &mut ps, &mut p_seen);
            assert_eq!(ss.receive(&s.store, &s.id, &env).unwrap().quarantined, 0);
            assert_eq!(pairing::messages(&ss.doc)[0].text, "bukan");
        }
    }
}

/// The marker keys of protocol section 29's test vectors.
#[test]
fn hide_keys_are_as_protocol_29_specifies() {
    use super::records::is_hide_key;
    for key in [
        "hidden/notes/00000000000000a1",
        "hidden/coping/0123456789abcdef",
    ] {
        assert!(is_hide_key(key), "{key}");
    }
    for key in [
        "hidden/notes/00000000000000A1",
        "hidden/sessions/00000000000000a1",
        "hidden/notes/00a1",
        "hidden/notes",
    ] {
        assert!(!is_hide_key(key), "{key}");
    }
}
