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
//! Copies of one entry meet in the new journal in any order: the erasing device's copy, a device's
//! carried copy, another device's carried copy of the same entry. Automerge keeps concurrent puts of
//! one root key side by side and picks one by operation id, which says nothing about which is newer;
//! so every reader takes the copy last edited (`space::doc::root_record`, protocol 27.4), a carried
//! copy goes into a record the new journal already holds only when it is newer (`carry_into`), and
//! nothing any erasure removed is carried, whichever erasure it was (issue 15, item 8).
//!
//! What remains (documented in `docs/threat-model.md`): the index's own history still holds the old
//! keys (sealed under index keys the phrase opens), but the ciphertext they opened is gone from the
//! relay and from every device that synced; copies taken before the erasure (a relay backup, a device
//! that never syncs again) are not reached.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::space::doc::{record_time, root_record};
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
    let changes = space.unacked_changes(store).unwrap_or_default();
    roots_touched(space, &changes)
}

/// The root keys of `space` that changes of its document the erasing device had not received
/// wrote into (`seen`: each actor's highest change it had, from the index's marker): what only
/// this device can carry over, whenever it was written.
fn unseen_roots(space: &mut Space, seen: &BTreeMap<Vec<u8>, u64>) -> Vec<String> {
    let unseen: Vec<automerge::Change> = space
        .doc
        .get_changes(&[])
        .into_iter()
        .filter(|c| c.seq() > seen.get(c.actor_id().to_bytes()).copied().unwrap_or(0))
        .collect();
    roots_touched(space, &unseen)
}

/// What a device had received of a document: each actor's highest change.
fn received(doc: &mut AutoCommit) -> BTreeMap<Vec<u8>, u64> {
    let mut out = BTreeMap::new();
    for c in doc.get_changes(&[]) {
        let seq = out.entry(c.actor_id().to_bytes().to_vec()).or_insert(0);
        *seq = c.seq().max(*seq);
    }
    out
}

/// The root keys of `space`'s document that `changes` wrote into: keys they put or deleted, and the
/// keys of the records holding the objects they changed.
fn roots_touched(space: &mut Space, changes: &[automerge::Change]) -> Vec<String> {
    let mut roots = Vec::new();
    for change in changes {
        let Some(expanded) = crate::space::rules::expand(change) else {
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
    crate::order::sort(&mut roots);
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
            copy_root_key(from, &k, to)?;
        }
    }
    to.commit();
    Ok(())
}

/// Copies root key `k` of `from` to `to`: its record (of copies put there concurrently, the one
/// every device reads, protocol 27.4), or whatever other value is there.
fn copy_root_key(from: &AutoCommit, k: &str, to: &mut AutoCommit) -> Result<()> {
    match root_record(from, k) {
        Some(src) => {
            let dst = to.put_object(ROOT, k, ObjType::Map)?;
            for f in from.keys(&src).collect::<Vec<_>>() {
                copy_value(from, &src, automerge::Prop::Map(f), to, &dst)?;
            }
            Ok(())
        }
        None => copy_value(from, &ROOT, automerge::Prop::Map(k.to_string()), to, &ROOT),
    }
}

/// Writes the carried record `k` into the new journal `to` (protocol 27.4). A key the journal does
/// not hold gets the carried copy: another device's copy may be on its way, and readers choose
/// between them by time, whichever arrives first. A key it holds keeps its record when that is as
/// new as the carried copy or newer; otherwise the record takes the carried copy's fields, in the
/// same map, so edits made concurrently to it still merge and no second copy competes with it.
fn carry_into(carry: &AutoCommit, k: &str, to: &mut AutoCommit) -> Result<()> {
    let Some(existing) = root_record(to, k) else {
        if to.get(ROOT, k)?.is_some() {
            // Something other than a record is there (not written by Sebaya): left alone.
            return Ok(());
        }
        return copy_root_key(carry, k, to);
    };
    let Some(carried) = root_record(carry, k) else {
        return Ok(());
    };
    if record_time(carry, &carried) <= record_time(to, &existing) {
        return Ok(());
    }
    let fields: Vec<String> = carry.keys(&carried).collect();
    for f in to.keys(&existing).collect::<Vec<_>>() {
        if !fields.contains(&f) {
            to.delete(&existing, f.as_str())?;
        }
    }
    for f in fields {
        let same = to.get_all(&existing, f.as_str())?.len() == 1
            && matches!(
                (carry.get(&carried, f.as_str())?, to.get(&existing, f.as_str())?),
                (Some((Value::Scalar(a), _)), Some((Value::Scalar(b), _))) if a == b
            );
        if !same {
            copy_value(carry, &carried, automerge::Prop::Map(f), to, &existing)?;
        }
    }
    Ok(())
}

/// The time of the record under root key `key` (the largest of its `created`, `edited`, `added`,
/// `at`).
fn root_time(doc: &AutoCommit, key: &str) -> Option<i64> {
    record_time(doc, &root_record(doc, key)?)
}

impl Vault {
    fn pending_erasures(&self) -> Result<Vec<SpaceId>> {
        let p: Pending = match self.store.kv_get(PENDING)? {
            None => Pending::default(),
            Some(b) => sebaya_proto::cbor::decode(b.as_slice(), 256)
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
        // What this device had received of the old journal goes into the index's marker: another
        // device carries over exactly what is missing from it (protocol 23).
        let seen = received(&mut self.journal.as_mut().ok_or(Error::NotFound("journal"))?.doc);
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
        self.mark_erased(&old_id, now_ms, ids, &seen)?;
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
                // Nothing any erasure removed is carried, this one's or an earlier or later one's.
                let erased_keys = self.every_erased_key_in_index();
                // What the erasing device had not received (its marker says, by actor; a marker
                // of an older version does not), what the relay never took from this device, and
                // records written after the erasure's time.
                let mut touched = unacked_roots(&self.store, &mut old);
                if let Some(seen) = self.erased_seen_in_index(space) {
                    touched.extend(unseen_roots(&mut old, &seen));
                }
                let mut carry = AutoCommit::new();
                copy_root(&old.doc, &mut carry, |k| {
                    !erased_keys.iter().any(|e| e == k)
                        && (touched.iter().any(|t| t == k)
                            || root_time(&old.doc, k).is_some_and(|t| t > *at))
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
        // An erasure this device learnt of after carrying (the carried keys were checked against
        // the index then) must not be undone either.
        let erased = self.every_erased_key_in_index();
        let Some(j) = self.journal.as_mut() else {
            return Ok(());
        };
        let carry = AutoCommit::load(&bytes).map_err(|_| Error::Corrupt("carried entries"))?;
        for k in carry.keys(ROOT).collect::<Vec<_>>() {
            if !erased.contains(&k) {
                carry_into(&carry, &k, &mut j.doc)?;
            }
        }
        j.doc.commit();
        j.persist(&self.store)?;
        self.store.kv_put(CARRY, &[])?;
        Ok(())
    }

    /// Spaces waiting to be erased at the relay (for the sync).
    pub(crate) fn erasures_to_send(&self) -> Result<Vec<SpaceId>> {
        self.pending_erasures()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::journal;

    const E: &str = "1000000000000000";

    /// A carried-over document holding entry `E` with `text`, edited at `edited`.
    fn carried(text: &str, edited: i64) -> AutoCommit {
        let mut d = AutoCommit::new();
        journal::add(&mut d, E, "as written", 3, &[], 1).unwrap();
        journal::edit(&mut d, E, Some(text), Some(4), None, edited).unwrap();
        d
    }

    #[test]
    fn a_carried_copy_newer_than_the_record_held_is_written_into_that_record() {
        let mut held = AutoCommit::new();
        journal::add(&mut held, E, "as written", 3, &[], 1).unwrap();
        let before = held.get(ROOT, E).unwrap().unwrap().1;
        carry_into(&carried("carried", 20), E, &mut held).unwrap();
        held.commit();
        // The same map, so an edit made concurrently to it elsewhere still merges.
        assert_eq!(held.get_all(ROOT, E).unwrap().len(), 1);
        assert_eq!(held.get(ROOT, E).unwrap().unwrap().1, before);
        let e = journal::get(&held, E).unwrap();
        assert_eq!((e.text.as_str(), e.mood, e.edited_ms), ("carried", 4, 20));
        // Carrying the same again writes nothing.
        let heads = held.get_heads();
        carry_into(&carried("carried", 20), E, &mut held).unwrap();
        held.commit();
        assert_eq!(held.get_heads(), heads);
    }

    #[test]
    fn a_record_held_as_new_or_newer_than_the_carried_copy_stays() {
        let mut held = AutoCommit::new();
        journal::add(&mut held, E, "as written", 3, &[], 1).unwrap();
        journal::edit(&mut held, E, Some("edited here later"), None, None, 30).unwrap();
        carry_into(&carried("carried", 20), E, &mut held).unwrap();
        held.commit();
        assert_eq!(journal::get(&held, E).unwrap().text, "edited here later");
        let mut equal = AutoCommit::new();
        journal::add(&mut equal, E, "as written", 3, &[], 1).unwrap();
        journal::edit(&mut equal, E, Some("edited here at 20"), None, None, 20).unwrap();
        carry_into(&carried("carried", 20), E, &mut equal).unwrap();
        equal.commit();
        assert_eq!(journal::get(&equal, E).unwrap().text, "edited here at 20");
    }

    #[test]
    fn a_key_not_held_gets_the_carried_copy() {
        let mut held = AutoCommit::new();
        carry_into(&carried("carried", 20), E, &mut held).unwrap();
        held.commit();
        assert_eq!(journal::get(&held, E).unwrap().text, "carried");
    }
}
