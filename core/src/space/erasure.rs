//! Erasing a shared space for good by destroying its keys (issue 14, item 17): a group by its
//! facilitator, a pairing and a care record by the participant they are about (who may is
//! `rules::may_erase`, judged by every device). The same guarantees as the journal's erasure
//! (`journal/erase.rs`):
//!
//! - **the erasing device** destroys the space at once (`Space::destroy`: every epoch key, the
//!   document, envelopes and membership statements; the vault file overwrites deleted rows,
//!   `secure_delete`), keeps a tombstone, and marks the space erased in its person's index, so none
//!   of the person's devices (nor one restored from the phrase) adopts it again;
//! - **a signed erasure statement** (protocol 23.2: the device's signature over the space id) goes
//!   to the relay with the next sync. The relay keeps it from a current member, hands it to every
//!   member that syncs the space, and deletes the space's ciphertext when its author is an admin;
//! - **every other member's device** that receives the statement checks it itself (signature,
//!   author, and that the author may erase this space by its own log and document) and destroys its
//!   copy the same way. A relay cannot forge one, and a statement of another space, or by someone
//!   without the right, destroys nothing. An admin's device that learns of a participant's erasure
//!   sends its own statement, so that the relay deletes the ciphertext;
//! - **nothing brings it back**: a join code, an index entry or a bundle for a tombstoned space is
//!   refused (`NotAllowed`), and the relay refuses the space as erased.
//!
//! What remains (docs/threat-model.md): copies made before the erasure (a device that never syncs
//! again, a relay backup) are not reached, and an admin can have the relay delete a space's
//! ciphertext without anyone's right to erase it (the other members' devices keep their copies then).

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;

use sebaya_proto::erasure::Erasure;
use sebaya_proto::membership::Role;

use crate::error::{Error, Result};
use crate::space::{Space, SpaceKind, rules};
use crate::store::clock::now_ms;
use crate::{SpaceId, Vault};

/// Shared spaces erased on this device, with their kind: never held again.
const TOMBSTONES: &str = "erase/shared";
/// Signed erasure statements to send to the relay.
const OUTBOX: &str = "erase/statements";

#[derive(Serialize, Deserialize, Default)]
struct Tombstones(Vec<(ByteBuf, u8)>);

#[derive(Serialize, Deserialize, Default)]
struct Outbox(Vec<ByteBuf>);

/// A space erased on this device, as a list screen shows it ("erased": by this device, or by
/// another member whose statement this device checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasedSpace {
    /// The erased space's id.
    pub id: SpaceId,
    /// What it was.
    pub kind: SpaceKind,
}

fn read<T: for<'de> Deserialize<'de> + Default>(
    store: &crate::store::Store,
    key: &str,
) -> Result<T> {
    match store.kv_get(key)? {
        None => Ok(T::default()),
        Some(b) if b.is_empty() => Ok(T::default()),
        Some(b) => {
            sebaya_proto::cbor::decode(b.as_slice(), 256).map_err(|_| Error::Corrupt("erasures"))
        }
    }
}

fn write<T: Serialize>(store: &crate::store::Store, key: &str, value: &T) -> Result<()> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|_| Error::Internal("encode erasures"))?;
    store.kv_put(key, &out)
}

impl Vault {
    /// Erases the shared space `space` of `kind` for good (see the module doc). `NotFound` when
    /// this device holds no such space, `InvalidInput` when it is of another kind, `NotAllowed`
    /// when this device may not erase it (`rules::may_erase`); nothing changes then. The domain
    /// calls check their own conditions first (a care record's open referrals).
    pub(crate) fn erase_shared(&mut self, space: &SpaceId, kind: SpaceKind) -> Result<()> {
        self.check_erase(space, kind)?;
        let statement = Erasure {
            space: *space,
            author: self.identity.device,
            time: u64::try_from(now_ms() / 1000).unwrap_or(0),
        }
        .sign(&self.identity.signing_key()?)?;
        self.queue_erasure(statement)?;
        self.destroy_erased(space, kind)
    }

    /// Whether this device may erase `space` as a `kind` (the errors of [`Vault::erase_shared`]),
    /// changing nothing.
    pub(crate) fn check_erase(&self, space: &SpaceId, kind: SpaceKind) -> Result<()> {
        let me = self.identity.device;
        if self.journal.as_ref().is_some_and(|j| j.id == *space) {
            return Err(Error::InvalidInput(
                "a journal is erased entry by entry (erase_journal_entries)".into(),
            ));
        }
        let s = self.shared.get(space).ok_or(Error::NotFound("space"))?;
        if s.kind != kind {
            return Err(Error::InvalidInput("this space is of another kind".into()));
        }
        if !rules::may_erase(&s.doc, kind, s.membership(), &me) {
            return Err(Error::NotAllowed(match kind {
                SpaceKind::Group => "only the group's facilitator erases it",
                _ => "only the participant erases their own record",
            }));
        }
        Ok(())
    }

    fn queue_erasure(&self, statement: Vec<u8>) -> Result<()> {
        let mut out: Outbox = read(&self.store, OUTBOX)?;
        out.0.push(ByteBuf::from(statement));
        write(&self.store, OUTBOX, &out)
    }

    /// Destroys a shared space here: tombstone first (so a crash between the steps leaves it
    /// refused, never half-held), the index's marker, then the space and its keys.
    fn destroy_erased(&mut self, space: &SpaceId, kind: SpaceKind) -> Result<()> {
        let mut t: Tombstones = read(&self.store, TOMBSTONES)?;
        if !t.0.iter().any(|(id, _)| id.as_slice() == space.0) {
            t.0.push((ByteBuf::from(space.0.to_vec()), kind.to_byte()));
            write(&self.store, TOMBSTONES, &t)?;
        }
        self.mark_erased(space, now_ms(), &[], &BTreeMap::new())?;
        self.shared.remove(space);
        crate::space::held::save_index(
            &self.store,
            &self.shared.keys().copied().collect::<Vec<_>>(),
        )?;
        Space::destroy(&self.store, space)?;
        self.refresh_index()?;
        // The vault overwrites deleted rows (`secure_delete`), but in WAL mode the pages as they were
        // before stay in the log until a checkpoint: copy the overwritten pages into the file and
        // empty the log now (erasing is rare). A reader keeping the log busy only delays this to the
        // next checkpoint; it never fails the erasure, which is committed.
        let _ = self
            .store
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        Ok(())
    }

    /// Whether this device erased `space` (or destroyed it on another member's statement): it is
    /// never held again.
    pub(crate) fn is_tombstoned(&self, space: &SpaceId) -> bool {
        self.erased_spaces().iter().any(|e| e.id == *space)
    }

    /// Every shared space erased on this device, in the order they were erased.
    pub fn erased_spaces(&self) -> Vec<ErasedSpace> {
        let t: Tombstones = read(&self.store, TOMBSTONES).unwrap_or_default();
        t.0.iter()
            .filter_map(|(id, k)| {
                Some(ErasedSpace {
                    id: SpaceId::from_slice(id).ok()?,
                    kind: SpaceKind::from_byte(*k).ok()?,
                })
            })
            .collect()
    }

    /// Erasure statements to send to the relay (at most as many as one request carries).
    pub(crate) fn erasure_statements_to_send(&self) -> Result<Vec<Vec<u8>>> {
        let out: Outbox = read(&self.store, OUTBOX)?;
        Ok(out
            .0
            .into_iter()
            .take(sebaya_proto::sync::MAX_ERASE)
            .map(|b| b.into_vec())
            .collect())
    }

    /// After an exchange: forgets the statements of spaces the relay answered for (erased there,
    /// or refused), and judges the statements it handed over: each that this device can check
    /// (signed by its author, for a space held here, by a device that may erase it by this
    /// device's own log and document) destroys the space here; an admin's device then sends a
    /// statement of its own, so the relay deletes the ciphertext. Anything else destroys nothing.
    /// Returns how many spaces were destroyed.
    ///
    /// A care record holding a referral no coordinator has acknowledged is kept while the relay
    /// still holds the space (`relay_erased` lists those it answered as erased: there an admin's
    /// device, which waits the same way, has had it deleted, and nothing more can arrive).
    pub(crate) fn apply_erasure_statements(
        &mut self,
        answered: &[SpaceId],
        relay_erased: &[SpaceId],
        statements: &[Vec<u8>],
    ) -> Result<u32> {
        if !answered.is_empty() {
            let mut out: Outbox = read(&self.store, OUTBOX)?;
            let before = out.0.len();
            out.0
                .retain(|s| Erasure::verify(s).is_ok_and(|e| !answered.contains(&e.space)));
            if out.0.len() != before {
                write(&self.store, OUTBOX, &out)?;
            }
        }
        let me = self.identity.device;
        let mut n = 0;
        for raw in statements {
            let Ok(e) = Erasure::verify(raw) else {
                continue;
            };
            let Some(s) = self.shared.get(&e.space) else {
                continue;
            };
            let kind = s.kind;
            if !rules::may_erase(&s.doc, kind, s.membership(), &e.author) {
                continue;
            }
            // A referral no coordinator has acknowledged keeps the record here, and no statement
            // of this device's goes out for it, until it is (the relay serves this one again).
            if rules::erasure_waits(&s.doc, kind) && !relay_erased.contains(&e.space) {
                continue;
            }
            if e.author != me && s.membership().role(&me) == Some(Role::Admin) {
                let own = Erasure {
                    space: e.space,
                    author: me,
                    time: u64::try_from(now_ms() / 1000).unwrap_or(0),
                }
                .sign(&self.identity.signing_key()?)?;
                self.queue_erasure(own)?;
            }
            self.destroy_erased(&e.space, kind)?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn statement(v: &Vault, space: SpaceId) -> Vec<u8> {
        Erasure {
            space,
            author: v.identity.device,
            time: 1,
        }
        .sign(&v.identity.signing_key().unwrap())
        .unwrap()
    }

    /// A device destroys a space only on a statement it checks itself: a plain member's, one of a
    /// space it does not hold, one altered, or bytes that are no statement destroy nothing; the
    /// facilitator's does, and the space is never held again.
    #[test]
    fn only_a_statement_by_someone_entitled_destroys_a_space_here() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Vault::open(&dir.path().join("f.db"), &[1; 32]).unwrap();
        let mut m = Vault::open(&dir.path().join("m.db"), &[2; 32]).unwrap();
        let group = f.create_group("Kelompok").unwrap();
        let code = f
            .approve_group_member(&group, &m.link_request().unwrap(), Role::Member)
            .unwrap();
        m.join_space(&code).unwrap();

        let by_member = statement(&m, group);
        let elsewhere = statement(&f, SpaceId([9; 16]));
        let mut altered = statement(&f, group);
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(
            f.apply_erasure_statements(
                &[],
                &[],
                &[by_member.clone(), elsewhere, altered, vec![0; 12]]
            )
            .unwrap(),
            0
        );
        assert!(f.shared.contains_key(&group));
        assert_eq!(
            m.apply_erasure_statements(&[], &[], &[by_member]).unwrap(),
            0
        );
        assert!(m.shared.contains_key(&group));

        let by_facilitator = statement(&f, group);
        let wal = dir.path().join("m.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        assert_eq!(
            m.apply_erasure_statements(&[], &[], std::slice::from_ref(&by_facilitator))
                .unwrap(),
            1
        );
        assert!(!m.shared.contains_key(&group));
        // No page as it was before the erasure is left in the write-ahead log.
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        assert_eq!(
            m.erased_spaces(),
            vec![ErasedSpace {
                id: group,
                kind: SpaceKind::Group
            }]
        );
        // Learning of it again changes nothing; the join code never brings it back.
        assert_eq!(
            m.apply_erasure_statements(&[], &[], &[by_facilitator])
                .unwrap(),
            0
        );
        assert!(matches!(m.join_space(&code), Err(Error::NotAllowed(_))));
    }
}
