//! Deleting for good by destroying keys (issue 4, the right to erasure).
//!
//! Automerge keeps deleted text in a document's history, so deleting a journal entry the ordinary way
//! leaves it readable to anyone holding the journal's key and its envelopes. To delete for good, the
//! journal goes on in a new space under a fresh key holding everything but the deleted entries (a new
//! document, with no history), and the old one is destroyed everywhere:
//!
//! - **this device** destroys the old space at once: its record (every epoch key), document chunks,
//!   envelopes and membership statements (`Space::destroy`);
//! - **the index** (the recovery wraps): the old journal's entry and every epoch key listed for it are
//!   deleted, and an `erased` marker (`s/<id>/erased` = time, ms) is written, so every device of the
//!   person deletes those keys again whenever a concurrent write brought them back, and nobody adopts
//!   the old journal again (the marker and its upkeep are the index's, `space/index.rs`);
//! - **the relay** is asked, with the next sync, to erase the old space (section 23): every envelope
//!   but its membership statements is deleted, and nothing more of it is taken or served;
//! - **the person's other devices** learn it at their next sync (the relay refuses the old space as
//!   erased, and the index marks it): each carries over what it wrote there after the erasure (entries
//!   made offline meanwhile, by their creation or edit time), destroys the old space, and follows the
//!   index into the new journal.
//!
//! What remains (documented in `docs/threat-model.md`): the index's own history still holds the old
//! keys (sealed under index keys the phrase opens), but the ciphertext they opened is gone from the
//! relay and from every device that synced; copies taken before the erasure (a relay backup, a device
//! that never syncs again) are not reached.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::{Error, Result};
use crate::space::{Space, SpaceKind};
use crate::{SpaceId, Vault};

const PENDING: &str = "erase/pending";
const CARRY: &str = "erase/carry";

#[derive(Serialize, Deserialize, Default)]
struct Pending(Vec<ByteBuf>);

/// The root keys of `space` that this device wrote and the relay has not acknowledged: its unsealed
/// changes, and those in its sealed envelopes the relay never took. A journal erased elsewhere keeps
/// them (they are this device's writes that nobody else has).
fn unacked_roots(store: &crate::store::Store, space: &mut Space) -> Vec<String> {
    let mut roots = Vec::new();
    for change in space.unacked_changes(store).unwrap_or_default() {
        let Some(expanded) = crate::space::rules::expand(&change) else {
            continue;
        };
        for op in expanded.operations {
            if let (automerge::legacy::ObjectId::Root, automerge::legacy::Key::Map(k)) =
                (&op.obj, &op.key)
            {
                roots.push(k.to_string());
            } else if let automerge::legacy::ObjectId::Id(id) = &op.obj {
                let text = format!("{}@{}", id.counter(), id.actor());
                if let Ok(obj) = space.doc.import_obj(&text) {
                    if let Ok(parents) = space.doc.parents(&obj) {
                        if let Some((_, automerge::Prop::Map(k))) = parents.path().first() {
                            roots.push(k.clone());
                        }
                    }
                }
            }
        }
    }
    roots.sort_unstable();
    roots.dedup();
    roots
}

/// Copies `from[key]` (a scalar, or a map, list or text with everything inside) to `to[key]` in the
/// object `dst`.
fn copy_value(
    from: &AutoCommit,
    src: &ObjId,
    prop: automerge::Prop,
    to: &mut AutoCommit,
    dst: &ObjId,
) -> Result<()> {
    let Some((value, obj)) = from.get(src, prop.clone())? else {
        return Ok(());
    };
    let put_obj = |to: &mut AutoCommit, t: ObjType| -> Result<ObjId> {
        Ok(match &prop {
            automerge::Prop::Map(k) => to.put_object(dst, k.as_str(), t)?,
            automerge::Prop::Seq(i) => to.insert_object(dst, *i, t)?,
        })
    };
    match value {
        Value::Scalar(s) => match &prop {
            automerge::Prop::Map(k) => to.put(dst, k.as_str(), s.into_owned())?,
            automerge::Prop::Seq(i) => to.insert(dst, *i, s.into_owned())?,
        },
        Value::Object(ObjType::Text) => {
            let t = put_obj(to, ObjType::Text)?;
            let text = from.text(&obj)?;
            to.splice_text(&t, 0, 0, &text)?;
        }
        Value::Object(ObjType::Map) | Value::Object(ObjType::Table) => {
            let m = put_obj(to, ObjType::Map)?;
            for k in from.keys(&obj) {
                copy_value(from, &obj, automerge::Prop::Map(k), to, &m)?;
            }
        }
        Value::Object(ObjType::List) => {
            let l = put_obj(to, ObjType::List)?;
            for i in 0..from.length(&obj) {
                copy_value(from, &obj, automerge::Prop::Seq(i), to, &l)?;
            }
        }
    }
    Ok(())
}

/// Copies every root key of `from` that `keep` accepts into `to`, in one commit.
fn copy_root(from: &AutoCommit, to: &mut AutoCommit, keep: impl Fn(&str) -> bool) -> Result<()> {
    for k in from.keys(ROOT).collect::<Vec<_>>() {
        if keep(&k) {
            copy_value(from, &ROOT, automerge::Prop::Map(k), to, &ROOT)?;
        }
    }
    to.commit();
    Ok(())
}

/// The newest time a root record of a journal document carries (`created`, `edited`, `added`, `at`).
fn record_time(doc: &AutoCommit, key: &str) -> Option<i64> {
    let Ok(Some((Value::Object(ObjType::Map), obj))) = doc.get(ROOT, key) else {
        return None;
    };
    ["created", "edited", "added", "at"]
        .iter()
        .filter_map(|f| crate::space::doc::int(doc, &obj, f))
        .max()
}

impl Vault {
    fn pending_erasures(&self) -> Result<Vec<SpaceId>> {
        let p: Pending = match self.store.kv_get(PENDING)? {
            None => Pending::default(),
            Some(b) => ciborium::from_reader(b.as_slice())
                .map_err(|_| Error::Corrupt("pending erasures"))?,
        };
        Ok(p.0
            .iter()
            .filter_map(|b| SpaceId::from_slice(b).ok())
            .collect())
    }

    fn set_pending_erasures(&self, list: &[SpaceId]) -> Result<()> {
        let p = Pending(list.iter().map(|s| ByteBuf::from(s.0.to_vec())).collect());
        let mut out = Vec::new();
        ciborium::into_writer(&p, &mut out).map_err(|_| Error::Internal("encode erasures"))?;
        self.store.kv_put(PENDING, &out)
    }

    /// Deletes journal entries for good, by destroying the key they were written under (see the
    /// module doc). The journal goes on in a new space, under a fresh key, with everything else it
    /// held (other entries, the safety plan, screening totals); the old one is destroyed on this
    /// device now, erased at the relay at the next sync, and on the person's other devices at theirs.
    /// Unknown ids are `NotFound` and nothing changes. Returns the new journal's id.
    pub fn erase_journal_entries(&mut self, ids: &[String], now_ms: i64) -> Result<SpaceId> {
        let old = self.journal.as_ref().ok_or(Error::NotFound("journal"))?;
        for id in ids {
            if crate::journal::get(&old.doc, id).is_none() {
                return Err(Error::NotFound("journal entry"));
            }
        }
        let old_id = old.id;
        let mut fresh = Space::create(&self.store, SpaceKind::Journal, &self.identity)?;
        copy_root(&old.doc, &mut fresh.doc, |k| !ids.iter().any(|i| i == k))?;
        // An entry's text as shown may be a merge of concurrent versions (journal::get): the copy
        // took only one of them, so it gets the text the person saw, and the versions that could
        // not be merged are kept beside it until the person's next edit.
        for entry in crate::journal::list(&old.doc) {
            if ids.contains(&entry.id) {
                continue;
            }
            crate::journal::set_text_as_copied(&mut fresh.doc, &entry)?;
        }
        fresh.doc.commit();
        fresh.persist(&self.store)?;
        let new_id = fresh.id;

        let mut pending = self.pending_erasures()?;
        if !pending.contains(&old_id) {
            pending.push(old_id);
        }
        self.set_pending_erasures(&pending)?;
        self.mark_erased(&old_id, now_ms, ids)?;
        self.store.kv_put(crate::JOURNAL_SPACE, &new_id.0)?;
        self.journal = Some(fresh);
        Space::destroy(&self.store, &old_id)?;
        if let Some(me) = self.person_id() {
            self.claim_spaces(me.0)?;
        }
        self.refresh_index()?;
        Ok(new_id)
    }

    /// After an exchange: forgets erasures the relay confirmed, and destroys here the spaces it
    /// refused as erased (the journal after carrying over what this device wrote there since the
    /// erasure, once the index says when that was). Returns how many spaces were destroyed here.
    pub(crate) fn apply_erasures(
        &mut self,
        confirmed: &[SpaceId],
        seen: &[SpaceId],
    ) -> Result<u32> {
        if !confirmed.is_empty() {
            let pending: Vec<SpaceId> = self
                .pending_erasures()?
                .into_iter()
                .filter(|s| !confirmed.contains(s))
                .collect();
            self.set_pending_erasures(&pending)?;
        }
        // Only what this person's own index marks erased is destroyed here: a relay (breached, or
        // asked by some other admin) saying "erased" about anything else is a refusal to serve, like
        // any other; the space and its keys stay on this device.
        let marked = self.erased_in_index();
        let mut n = 0;
        for space in seen {
            let Some((_, at)) = marked.iter().find(|(s, _)| s == space) else {
                continue;
            };
            if self.journal.as_ref().is_some_and(|j| j.id == *space) {
                let Some(mut old) = self.journal.take() else {
                    continue;
                };
                let erased_keys = self.erased_keys_in_index(space);
                let touched = unacked_roots(&self.store, &mut old);
                let mut carry = AutoCommit::new();
                copy_root(&old.doc, &mut carry, |k| {
                    !erased_keys.iter().any(|e| e == k)
                        && (touched.iter().any(|t| t == k)
                            || record_time(&old.doc, k).is_some_and(|t| t > *at))
                })?;
                if carry.keys(ROOT).next().is_some() {
                    self.store.kv_put(CARRY, &carry.save())?;
                }
                self.store.kv_put(crate::JOURNAL_SPACE, &[])?;
                Space::destroy(&self.store, space)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Writes what was carried over from an erased journal (this device's writes there that the
    /// erasure would have lost, kept by `Vault::apply_erasures`) into the journal this device holds
    /// now. Not to be confused with carrying envelopes for others (`sync/carry.rs`).
    pub(crate) fn adopt_erase_carry_over(&mut self) -> Result<()> {
        let Some(bytes) = self.store.kv_get(CARRY)? else {
            return Ok(());
        };
        if bytes.is_empty() {
            return Ok(());
        }
        let Some(j) = self.journal.as_mut() else {
            return Ok(());
        };
        let carry = AutoCommit::load(&bytes).map_err(|_| Error::Corrupt("carried entries"))?;
        // What the new journal already holds under a key wins.
        let existing: std::collections::HashSet<String> = j.doc.keys(ROOT).collect();
        copy_root(&carry, &mut j.doc, |k| !existing.contains(k))?;
        j.persist(&self.store)?;
        self.store.kv_put(CARRY, &[])?;
        Ok(())
    }

    /// Spaces waiting to be erased at the relay (for the sync).
    pub(crate) fn erasures_to_send(&self) -> Result<Vec<SpaceId>> {
        self.pending_erasures()
    }
}
