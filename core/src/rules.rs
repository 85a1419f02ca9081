//! Who may write which part of a shared document, checked by every receiving device.
//!
//! A member's honest client only offers what its role allows; these rules make the same limits hold
//! against a modified client. Each kind of space names the root containers a plain member may write
//! (for a group: notes, agenda, actions and coping ideas, but not the group's name or its sessions
//! and attendance, which belong to facilitators). Admins write everything. On receipt, every
//! operation of every change from a restricted author is traced to the root container it writes —
//! through the objects the document already holds, or objects the same envelope creates — and an
//! envelope with any operation outside its author's containers is refused whole (quarantined). The
//! table is in `docs/roles.md`.

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{AutoCommit, Change, Prop, ReadDoc};

use sebaya_proto::membership::Role;

use crate::space::SpaceKind;

const GROUP_MEMBER: &[&str] = &["notes", "agenda", "actions", "coping"];
const PAIRING_MEMBER: &[&str] = &["checkins", "goals", "messages"];

/// The root containers an author with `role` may write in a space of `kind`; `None` means the
/// whole document (admins, and every kind without finer rules).
pub(crate) fn member_containers(
    kind: SpaceKind,
    role: Option<Role>,
) -> Option<&'static [&'static str]> {
    match (kind, role) {
        (_, Some(Role::Admin)) => None,
        (SpaceKind::Group, _) => Some(GROUP_MEMBER),
        (SpaceKind::Pairing, _) => Some(PAIRING_MEMBER),
        // Journals and indexes hold only the person's own devices (all admins); case notes only
        // the supporter and the supervisor (both admins). A non-admin writes nothing there.
        (SpaceKind::Journal | SpaceKind::Index | SpaceKind::CaseNotes, _) => Some(&[]),
    }
}

fn opid_text(id: &OpId) -> String {
    format!("{}@{}", id.counter(), id.actor())
}

/// The root container an object lives under: from objects created earlier in the same envelope,
/// or from the document.
fn root_of(doc: &AutoCommit, id: &OpId, created: &HashMap<OpId, String>) -> Option<String> {
    if let Some(r) = created.get(id) {
        return Some(r.clone());
    }
    let ex = doc.import_obj(&opid_text(id)).ok()?;
    let path = doc.parents(&ex).ok()?.path();
    match path.first() {
        Some((_, Prop::Map(k))) => Some(k.clone()),
        _ => None,
    }
}

/// Whether every operation of `changes` (one envelope, in order) writes inside `allowed`. An
/// operation on an object this device cannot place is refused too.
pub(crate) fn within(doc: &AutoCommit, changes: &[Change], allowed: &[&str]) -> bool {
    let mut created: HashMap<OpId, String> = HashMap::new();
    for change in changes {
        let expanded = change.decode();
        let start = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            let root = match &op.obj {
                ObjectId::Root => match &op.key {
                    Key::Map(k) => Some(k.to_string()),
                    Key::Seq(_) => None,
                },
                ObjectId::Id(id) => root_of(doc, id, &created),
            };
            let Some(root) = root else {
                return false;
            };
            if !allowed.contains(&root.as_str()) {
                return false;
            }
            if matches!(op.action, OpType::Make(_)) {
                let id = OpId::new(start + i as u64, &expanded.actor_id);
                created.insert(id, root);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::groups;
    use crate::identity::Identity;
    use crate::space::{CODEC_BUNDLE as DEFAULT_TEST_CODEC, Space};
    use crate::vault::Store;

    struct Device {
        _dir: tempfile::TempDir,
        store: Store,
        id: Identity,
    }

    fn device(seed: u8) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("v.db"), &[seed; 32]).unwrap();
        let id = Identity::load_or_create(&store).unwrap();
        Device {
            _dir: dir,
            store,
            id,
        }
    }

    fn outgoing(d: &Device, s: &mut Space) -> Vec<Vec<u8>> {
        s.seal_outgoing(&d.store, &d.id, DEFAULT_TEST_CODEC)
            .unwrap();
        s.unacked(&d.store).unwrap()
    }

    /// A member whose client skips the local check (a modified app) writes a session, renames the
    /// group, and adds a note: the facilitator's device takes the note and refuses the rest.
    #[test]
    fn a_members_writes_outside_its_containers_are_refused_on_receipt() {
        let f = device(1);
        let m = device(2);
        let mut fs = Space::create(&f.store, SpaceKind::Group, &f.id).unwrap();
        groups::init(&mut fs.doc, "Kelompok", 1).unwrap();
        fs.persist(&f.store).unwrap();
        fs.add_member(
            &f.store,
            &f.id,
            m.id.device,
            m.id.x25519_public,
            Role::Member,
            None,
        )
        .unwrap();
        let mut ms = Space::adopt_at(
            &m.store,
            fs.id,
            SpaceKind::Group,
            zeroize::Zeroizing::new(*fs.key()),
            fs.epoch,
            m.id.device,
        )
        .unwrap();
        ms.receive(&m.store, &m.id, &outgoing(&f, &mut fs)).unwrap();
        assert_eq!(groups::name(&ms.doc), "Kelompok");

        // A legitimate note, in its own envelope.
        let me = m.id.device.to_hex();
        groups::add_note(&mut ms.doc, "00000000000000a1", "", "boleh", &me, 2).unwrap();
        ms.persist(&m.store).unwrap();
        let note = outgoing(&m, &mut ms);
        // Then, bypassing the client's check: a session with attendance, and a rename.
        groups::add_session(&mut ms.doc, "00000000000000b1", 3, "palsu", &me, 3).unwrap();
        ms.persist(&m.store).unwrap();
        let session = outgoing(&m, &mut ms);
        groups::rename(&mut ms.doc, "Nama lain", 4).unwrap();
        ms.persist(&m.store).unwrap();

        let r = fs.receive(&f.store, &f.id, &note).unwrap();
        assert_eq!(r.quarantined, 0);
        assert!(groups::note(&fs.doc, "00000000000000a1").is_some());
        // Everything after the note: the session envelope and the rename envelope.
        let all: Vec<Vec<u8>> = outgoing(&m, &mut ms)
            .into_iter()
            .filter(|e| !note.contains(e))
            .collect();
        assert_eq!(all.len(), 2);
        assert!(
            session
                .iter()
                .filter(|e| !note.contains(e))
                .all(|e| all.contains(e))
        );
        let r = fs.receive(&f.store, &f.id, &all).unwrap();
        assert_eq!(r.quarantined, 1, "the session envelope is refused whole");
        assert!(groups::sessions(&fs.doc).is_empty());
        assert_eq!(
            groups::name(&fs.doc),
            "Kelompok",
            "the rename waits on the refused change"
        );
    }

    #[test]
    fn container_table() {
        assert_eq!(member_containers(SpaceKind::Group, Some(Role::Admin)), None);
        assert_eq!(
            member_containers(SpaceKind::Group, Some(Role::Member)),
            Some(GROUP_MEMBER)
        );
        assert_eq!(
            member_containers(SpaceKind::Pairing, None),
            Some(PAIRING_MEMBER)
        );
        assert_eq!(
            member_containers(SpaceKind::CaseNotes, Some(Role::Member)),
            Some(&[][..])
        );
    }
}
