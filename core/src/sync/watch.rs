//! What changed in a vault between two moments, for "this space changed" notifications.
//!
//! A snapshot holds each open space's Automerge heads. Comparing the snapshot taken before a call
//! with the one taken after it names every space whose content changed, whichever path changed it
//! (a local write, a relay sync, a bundle import, a join) — without each of those paths having to
//! report it. Heads are a handful of hashes per space, so a snapshot is cheap; the FFI layer takes one
//! only while somebody listens.

use std::collections::BTreeMap;

use automerge::ChangeHash;

use crate::space::SpaceKind;
use crate::{SpaceId, Vault};

/// The heads of every space held, at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    spaces: BTreeMap<SpaceId, (SpaceKind, Vec<ChangeHash>)>,
}

/// One space whose content changed between two snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceChange {
    /// The space.
    pub space: SpaceId,
    /// What kind of space it is.
    pub kind: SpaceKind,
}

impl Snapshot {
    /// The spaces whose heads differ from `earlier` (changed, new, or no longer held), in id order.
    pub fn changed_since(&self, earlier: &Snapshot) -> Vec<SpaceChange> {
        let mut out = Vec::new();
        for (id, (kind, heads)) in &self.spaces {
            if earlier.spaces.get(id).map(|(_, h)| h) != Some(heads) {
                out.push(SpaceChange {
                    space: *id,
                    kind: *kind,
                });
            }
        }
        for (id, (kind, _)) in &earlier.spaces {
            if !self.spaces.contains_key(id) {
                out.push(SpaceChange {
                    space: *id,
                    kind: *kind,
                });
            }
        }
        crate::order::sort_by_key(&mut out, |c| c.space);
        out
    }
}

impl Vault {
    /// The heads of every space this vault holds now (its journal and every shared space).
    pub fn snapshot(&mut self) -> Snapshot {
        let mut spaces = BTreeMap::new();
        for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
            let heads = s.doc.get_heads();
            spaces.insert(s.id, (s.kind, heads));
        }
        Snapshot { spaces }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vault() -> (tempfile::TempDir, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(&dir.path().join("v.db"), &[7u8; 32]).unwrap();
        (dir, v)
    }

    #[test]
    fn a_local_write_names_its_space_and_a_read_names_none() {
        let (_d, mut v) = vault();
        let before = v.snapshot();
        let _ = v.journal_list();
        assert!(v.snapshot().changed_since(&before).is_empty());
        v.journal_add("hari ini berat", 2, &[]).unwrap();
        let after = v.snapshot();
        let changed = after.changed_since(&before);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].kind, SpaceKind::Journal);
        // Nothing changed since `after`.
        assert!(v.snapshot().changed_since(&after).is_empty());
    }

    #[test]
    fn a_new_group_and_a_write_in_it_are_reported() {
        let (_d, mut v) = vault();
        let before = v.snapshot();
        let g = v.create_group_in("Kelompok Rabu", None).unwrap();
        let changed = v.snapshot().changed_since(&before);
        assert!(
            changed
                .iter()
                .any(|c| c.space == g && c.kind == SpaceKind::Group)
        );
        let mid = v.snapshot();
        let me = v.device_id().to_hex();
        v.with_space(&g, |doc, now| {
            crate::groups::add_note(doc, "00112233445566aa", "", "catatan", &me, now)
        })
        .unwrap();
        let changed = v.snapshot().changed_since(&mid);
        assert_eq!(
            changed,
            vec![SpaceChange {
                space: g,
                kind: SpaceKind::Group
            }]
        );
    }
}
