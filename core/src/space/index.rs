//! A person's index space: the list of their spaces and keys, found again from the recovery phrase
//! alone (`docs/protocol.md`, section 19.1 of the recovery part).
//!
//! Its id, its key and its first author all derive from the index key (HKDF of the phrase's entropy,
//! `identity/person.rs`), so a phone restored from the phrase can name the space, pull it from the relay as the
//! index author (the genesis admin), and read it. The person's devices write one flat entry per space:
//! its kind, its membership heads (the anchors a new device's vouch is made on), every epoch key held,
//! and whether the person has left it. Flat keys with scalar values, so two devices writing at once
//! never create competing maps: the merge keeps one value per key, and every sync writes them again.
//!
//! A new device of the person (linked, or restored) then vouches itself into each listed space with
//! its certificate (`Op::Vouch`); once the relay holds the vouch it serves the space, and the keys from
//! the index open it.
//!
//! A space erased for good (`journal/erase.rs`) is marked here: `s/<id>/erased` (when, ms),
//! `e/<id>/keys` (the root keys erased from it) and `e/<id>/seen` (what the erasing device had
//! received of it), and its entry and keys are deleted; every device
//! of the person deletes them again whenever a concurrent write brought them back
//! (`Vault::scrub_index`), and nobody follows or records a space so marked.

use automerge::transaction::Transactable;
use std::collections::BTreeMap;

use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::membership::{Op, Role, Statement, StatementId};
use sebaya_proto::{EpochId, SpaceId};

use crate::Vault;
use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::space::{Space, SpaceKind};
use crate::store::Store;

/// HKDF label of the index space id (its first 16 bytes), from the index key.
pub const INDEX_ID_LABEL: &[u8] = b"sebaya/v1/index-space-id";
/// HKDF label of the index author's Ed25519 seed, from the index key.
pub const INDEX_AUTHOR_LABEL: &[u8] = b"sebaya/v1/index-author";
/// HKDF label of the index space's first key, from the index key. Derived (not the index key
/// itself) so that a device holding the space's key cannot derive the index author from it.
pub const INDEX_KEY_LABEL: &[u8] = b"sebaya/v1/index-space-key";
/// HKDF label of the index author's X25519 secret, from its seed (never used to receive keys).
pub const INDEX_AUTHOR_X25519_LABEL: &[u8] = b"sebaya/v1/index-author-x25519";

/// What the index key determines.
pub(crate) struct IndexKeys {
    /// The index space's id.
    pub id: SpaceId,
    /// Its first epoch key.
    pub key: Key32,
    /// The author of its genesis: an identity anyone holding the phrase can act as.
    pub author: Identity,
}

/// Derives the index space's id, key and author from the index key.
pub(crate) fn keys(index_key: &Key32) -> Result<IndexKeys> {
    let id = crypto::derive(index_key.as_ref(), INDEX_ID_LABEL)?;
    let id = SpaceId::from_slice(&id[..16])?;
    let seed = crypto::derive(index_key.as_ref(), INDEX_AUTHOR_LABEL)?;
    Ok(IndexKeys {
        id,
        key: crypto::derive(index_key.as_ref(), INDEX_KEY_LABEL)?,
        author: Identity::derived(seed, INDEX_AUTHOR_X25519_LABEL)?,
    })
}

/// The index's genesis: signed by the index author at time 0, so every holder of the phrase computes
/// the same statement (Ed25519 signatures are deterministic).
pub(crate) fn genesis(k: &IndexKeys) -> Statement {
    Statement::new(
        k.id,
        Vec::new(),
        k.author.device,
        0,
        Op::Genesis {
            admin: k.author.device,
            // Rotated index keys are wrapped for the author too, so the phrase still opens the index
            // after a device was removed from it.
            x25519: Some(k.author.x25519_public),
        },
    )
}

/// Creates the index on the device that made the person: the index author's genesis and its add of
/// this device as an admin of the person.
pub(crate) fn create(
    store: &Store,
    k: &IndexKeys,
    me: &Identity,
    person: [u8; 32],
) -> Result<Space> {
    let mut space = Space::adopt(store, k.id, SpaceKind::Index, k.key.clone(), me.device)?;
    let g = genesis(k);
    let gid = g.sign(&k.author.signing_key()?)?.id();
    space.write_foreign_statement(store, &k.author, 1, g)?;
    let add = Statement::new(
        k.id,
        vec![gid],
        k.author.device,
        0,
        Op::Add {
            device: me.device,
            role: Role::Admin,
            person: Some(person),
            x25519: Some(me.x25519_public),
        },
    );
    space.write_foreign_statement(store, &k.author, 2, add)?;
    Ok(space)
}

/// One space as the index lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub space: SpaceId,
    pub kind: SpaceKind,
    /// Membership heads when last written: what a vouch is made on.
    pub anchors: Vec<StatementId>,
    /// Every epoch key the person's devices held.
    pub keys: Vec<(EpochId, [u8; 32])>,
    /// The person no longer belongs to the space.
    pub left: bool,
}

fn kind_key(space: &SpaceId) -> String {
    format!("s/{}/kind", space.to_hex())
}
fn anchors_key(space: &SpaceId) -> String {
    format!("s/{}/anchors", space.to_hex())
}
fn left_key(space: &SpaceId) -> String {
    format!("s/{}/left", space.to_hex())
}
fn epoch_key(space: &SpaceId, epoch: &EpochId) -> String {
    format!("k/{}/{}", space.to_hex(), epoch.to_hex())
}

/// Root key of the index's erased marker for a space (`s/<id>/erased` = time, ms).
pub(crate) fn erased_key(space: &SpaceId) -> String {
    format!("s/{}/erased", space.to_hex())
}

/// Root key of the index's list of the root keys erased from a space (comma-separated entry ids).
fn erased_keys_key(space: &SpaceId) -> String {
    format!("e/{}/keys", space.to_hex())
}

/// Root key of what the device that erased a space had received of it (`e/<id>/seen`, written with
/// the erased marker in the form of [`seen_text`]).
fn erased_seen_key(space: &SpaceId) -> String {
    format!("e/{}/seen", space.to_hex())
}

/// The index's form of what a device had received of a space's document: for each actor (in the
/// order of its bytes), `<actor in lowercase hex>:<its highest change's seq>`, comma-separated
/// (protocol 23). Every change of an actor up to that seq was received, none above.
pub(crate) fn seen_text(received: &BTreeMap<Vec<u8>, u64>) -> String {
    received
        .iter()
        .map(|(actor, seq)| format!("{}:{seq}", hex::encode(actor)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads [`seen_text`]'s form; `None` when any part is malformed (a device then carries by time
/// and by what the relay never took, as for a marker without it).
pub(crate) fn parse_seen(text: &str) -> Option<BTreeMap<Vec<u8>, u64>> {
    let mut out = BTreeMap::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (actor, seq) = part.split_once(':')?;
        out.insert(hex::decode(actor).ok()?, seq.parse().ok()?);
    }
    Some(out)
}

/// Deletes a space's entry and keys from an index document (its erased marker stays). Returns
/// whether anything was there.
fn forget_in_index(doc: &mut AutoCommit, space: &SpaceId) -> Result<bool> {
    let hex = space.to_hex();
    let entry = format!("s/{hex}/");
    let keys = format!("k/{hex}/");
    let marker = erased_key(space);
    let doomed: Vec<String> = doc
        .keys(ROOT)
        .filter(|k| (k.starts_with(&entry) && *k != marker) || k.starts_with(&keys))
        .collect();
    for k in &doomed {
        doc.delete(ROOT, k.as_str())?;
    }
    Ok(!doomed.is_empty())
}

fn scalar(doc: &AutoCommit, key: &str) -> Option<ScalarValue> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

fn put_if_changed(doc: &mut AutoCommit, key: &str, value: ScalarValue) -> Result<bool> {
    if scalar(doc, key).as_ref() == Some(&value) {
        return Ok(false);
    }
    doc.put(ROOT, key, value)?;
    Ok(true)
}

/// Writes an entry (only the values that changed). Returns whether anything changed.
pub(crate) fn record(doc: &mut AutoCommit, e: &IndexEntry) -> Result<bool> {
    let mut changed = false;
    changed |= put_if_changed(
        doc,
        &kind_key(&e.space),
        ScalarValue::Uint(u64::from(e.kind.to_byte())),
    )?;
    let anchors: Vec<String> = e.anchors.iter().map(|a| a.to_hex()).collect();
    changed |= put_if_changed(
        doc,
        &anchors_key(&e.space),
        ScalarValue::Str(anchors.join(",").into()),
    )?;
    changed |= put_if_changed(doc, &left_key(&e.space), ScalarValue::Boolean(e.left))?;
    for (epoch, key) in &e.keys {
        changed |= put_if_changed(
            doc,
            &epoch_key(&e.space, epoch),
            ScalarValue::Str(hex::encode(key).into()),
        )?;
    }
    Ok(changed)
}

/// Every well-formed entry (anything else — written by a buggy or hostile device of the person — is
/// skipped, never trusted).
pub(crate) fn entries(doc: &AutoCommit) -> Vec<IndexEntry> {
    let mut out: Vec<IndexEntry> = Vec::new();
    for key in doc.keys(ROOT) {
        let Some(rest) = key.strip_prefix("s/") else {
            continue;
        };
        let Some(hex_id) = rest.strip_suffix("/kind") else {
            continue;
        };
        let Ok(space) = SpaceId::from_hex(hex_id) else {
            continue;
        };
        let kind = match scalar(doc, &key) {
            Some(ScalarValue::Uint(b)) => u8::try_from(b)
                .ok()
                .and_then(|b| SpaceKind::from_byte(b).ok()),
            _ => None,
        };
        let Some(kind) = kind else {
            continue;
        };
        let anchors = match scalar(doc, &anchors_key(&space)) {
            Some(ScalarValue::Str(s)) => s
                .split(',')
                .filter(|a| !a.is_empty())
                .filter_map(|a| StatementId::from_hex(a).ok())
                .collect(),
            _ => Vec::new(),
        };
        let left = matches!(
            scalar(doc, &left_key(&space)),
            Some(ScalarValue::Boolean(true))
        );
        let prefix = format!("k/{}/", space.to_hex());
        let keys = doc
            .keys(ROOT)
            .filter_map(|k| {
                let epoch = EpochId::from_hex(k.strip_prefix(&prefix)?).ok()?;
                let Some(ScalarValue::Str(v)) = scalar(doc, &k) else {
                    return None;
                };
                let key: [u8; 32] = hex::decode(v.as_str()).ok()?.try_into().ok()?;
                Some((epoch, key))
            })
            .collect();
        out.push(IndexEntry {
            space,
            kind,
            anchors,
            keys,
            left,
        });
    }
    out
}

/// The vouch this device signs into a space of its person: its certificate, as an op.
pub(crate) fn vouch_op(certificate: &[u8]) -> Result<Op> {
    let signed = sebaya_proto::SignedDeviceCertificate::from_bytes(certificate)
        .map_err(Error::BadCertificate)?;
    let cert = signed.verify().map_err(Error::BadCertificate)?;
    let signature = signed.signature().map_err(Error::BadCertificate)?;
    Ok(Op::Vouch {
        person: cert.person.0,
        x25519: cert.x25519,
        created: cert.created,
        signature,
    })
}

impl Vault {
    /// The index keys, when this device belongs to a person whose index key it holds (the device
    /// that made or restored the person).
    pub(crate) fn index_keys(&self) -> Result<Option<IndexKeys>> {
        match crate::identity::person::index_key(&self.store)? {
            None => Ok(None),
            Some(k) => keys(&k).map(Some),
        }
    }

    /// The id of the person's current index, if this device holds it: the one the index key names
    /// (after a phrase replacement the old index is still held but no longer written), or, on a
    /// linked device without the index key, the one index it holds.
    pub(crate) fn held_index(&self) -> Option<SpaceId> {
        if let Ok(Some(k)) = self.index_keys() {
            return self.shared.contains_key(&k.id).then_some(k.id);
        }
        self.shared
            .values()
            .find(|s| s.kind == SpaceKind::Index)
            .map(|s| s.id)
    }

    /// Starts the person's index on the device that made the person.
    pub(crate) fn create_index(&mut self) -> Result<()> {
        let Some(k) = self.index_keys()? else {
            return Ok(());
        };
        if self.shared.contains_key(&k.id) {
            return Ok(());
        }
        let person = self.person_id().ok_or(Error::NoPerson)?;
        let space = create(&self.store, &k, &self.identity, person.0)?;
        self.keep_shared(space)?;
        self.refresh_index()
    }

    /// Makes, once, the person's certificate for its index author (on a device holding the person key
    /// and the index key), for a relay that admits by credential (protocol 9.8).
    fn certify_index_author(&mut self) -> Result<()> {
        use crate::identity::person::{
            store_index_author_certificate, stored_index_author_certificate,
        };
        let (Some(person), Some(k)) = (self.person.as_ref(), self.index_keys()?) else {
            return Ok(());
        };
        if let Some(kept) = stored_index_author_certificate(&self.store)? {
            if crate::identity::person::verify_device_certificate(&kept)
                .is_ok_and(|c| c.device == k.author.device && c.person == person.id())
            {
                return Ok(());
            }
        }
        let cert = person.certify(k.author.device, k.author.x25519_public, 0)?;
        store_index_author_certificate(&self.store, cert.as_bytes())
    }

    /// Writes every space this device holds into the index (only what changed). Runs before each
    /// sync, so the index follows joins, removals and rotations.
    pub(crate) fn refresh_index(&mut self) -> Result<()> {
        let Some(person) = self.person_id() else {
            return Ok(());
        };
        self.certify_index_author()?;
        self.claim_spaces(person.0)?;
        let me = self.identity.device;
        for s in self.shared.values_mut() {
            if s.membership().is_member(&me) {
                super::credentials::publish_credentials(&self.store, s)?;
            }
        }
        let Some(idx) = self.held_index() else {
            return Ok(());
        };
        let me = self.identity.device;
        let erased: Vec<SpaceId> = self.erased_in_index().into_iter().map(|(s, _)| s).collect();
        let entries: Vec<IndexEntry> = self
            .journal
            .iter()
            .chain(self.shared.values())
            .filter(|s| s.kind != SpaceKind::Index && !s.membership().members.is_empty())
            .filter(|s| !erased.contains(&s.id))
            .map(|s| IndexEntry {
                space: s.id,
                kind: s.kind,
                anchors: s.membership().heads.clone(),
                keys: s.all_keys(),
                left: !s.membership().is_member(&me) && !s.membership().has_person(&person.0),
            })
            .collect();
        let Some(space) = self.shared.get_mut(&idx) else {
            return Ok(());
        };
        if !space.membership().is_member(&me) {
            return Ok(());
        }
        let mut changed = false;
        for e in &entries {
            changed |= record(&mut space.doc, e)?;
        }
        if changed {
            space.doc.commit();
            space.persist(&self.store)?;
        }
        Ok(())
    }

    /// Records, in every space where this device is a member but the log does not yet say whose
    /// device it is (spaces it created, or joined before it had a person), that it belongs to
    /// `person`: a recertify with its certificate. The person's other devices can then vouch
    /// themselves in.
    pub(crate) fn claim_spaces(&mut self, person: [u8; 32]) -> Result<()> {
        self.claim_in(person, None)
    }

    /// [`Vault::claim_spaces`] in `space` alone: a write there that needs the person (a report in
    /// a care record) proves it without writing into any other space.
    pub(crate) fn claim_space(&mut self, space: &SpaceId, person: [u8; 32]) -> Result<()> {
        self.claim_in(person, Some(space))
    }

    fn claim_in(&mut self, person: [u8; 32], only: Option<&SpaceId>) -> Result<()> {
        let me = self.identity.device;
        let Ok(cert) = self.device_certificate() else {
            return Ok(());
        };
        let Op::Vouch {
            x25519,
            created,
            signature,
            ..
        } = vouch_op(&cert)?
        else {
            return Ok(());
        };
        let op = Op::Recertify {
            device: me,
            person,
            x25519,
            created,
            signature,
        };
        let (store, identity) = (&self.store, &self.identity);
        for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
            if only.is_some_and(|o| *o != s.id) {
                continue;
            }
            let m = s.membership();
            // Only where the log names no person for this device: a device whose person was moved
            // on by a phrase replacement elsewhere must not move itself back.
            // Also where an admin named this person for this device without proof: the recertify
            // proves it (never where another person is named).
            if m.is_member(&me)
                && !m.proven.contains(&me)
                && m.persons.get(&me).is_none_or(|p| *p == person)
            {
                s.write_statement(store, identity, op)?;
            }
        }
        Ok(())
    }

    /// Replaces the recovery phrase: a new person key and index, after which the old phrase opens
    /// nothing new (section 20.5). On this device, which must hold the person key:
    /// 1. in every space this device holds, a succession signed by the old person key hands every
    ///    device of the old person to the new one, so the old person has no device left there and
    ///    the old phrase vouches for nothing;
    /// 2. the old index's phrase-derived author is removed from it and its key rotated, so the old
    ///    phrase reads nothing written to it afterwards; this device stops holding it;
    /// 3. a new index is started and filled;
    /// 4. every space this device administers is rotated, so keys the old index listed open nothing
    ///    written from now on.
    ///
    /// Returns the new phrase, shown once. Sync afterwards.
    pub fn replace_recovery_phrase(&mut self) -> Result<crate::RecoveryPhrase> {
        let old_person = self.person_id().ok_or(Error::NoPerson)?;
        if self.person.is_none() {
            return Err(Error::NoPerson);
        }
        let old_index = self.index_keys()?;
        let secret = crate::identity::person::RecoverySecret::generate()?;
        let phrase = secret.phrase()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let new_key = secret.person_key()?;
        let new_person = new_key.id().0;
        let me = self.identity.device;
        // 1. Hand every device of the old person over to the new one, in every space this device
        //    holds, on the old person key's word (before the stored person changes, so a failure
        //    leaves the old phrase in force).
        let old_key = self.person.as_ref().ok_or(Error::NoPerson)?;
        let signature = old_key.sign_succession(&new_key.id())?;
        let op = Op::Succession {
            old: old_person.0,
            new: new_person,
            signature,
        };
        let (store, identity) = (&self.store, &self.identity);
        for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
            let m = s.membership();
            if m.is_member(&me) && m.has_person(&old_person.0) {
                s.write_statement(store, identity, op)?;
            }
        }
        // 2. Close the old index to the old phrase: remove its phrase-derived author and rotate.
        //    This device keeps holding it (a member, so it syncs), but writes only to the new one.
        if let Some(k) = &old_index {
            if let Some(idx) = self.shared.get_mut(&k.id) {
                if idx.membership().is_admin(&me) && idx.membership().is_member(&k.author.device) {
                    idx.remove_member(&self.store, &self.identity, k.author.device)?;
                }
            }
        }
        // 3. The new person and index.
        let person = crate::identity::person::adopt(
            &self.store,
            &secret,
            self.identity.device,
            self.identity.x25519_public,
            now,
        )?;
        self.person = Some(person);
        self.create_index()?;
        // 4. Rotate what this device administers (the new index excepted: it is new; the old one
        //    was rotated in step 2).
        let new_index = self.held_index();
        let old_id = old_index.as_ref().map(|k| k.id);
        let (store, identity) = (&self.store, &self.identity);
        for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
            if Some(s.id) != new_index && Some(s.id) != old_id && s.membership().is_admin(&me) {
                s.rotate(store, identity)?;
            }
        }
        self.refresh_index()?;
        Ok(phrase)
    }

    /// Whether this sync must first pull the index as its author: a person restored here whose index
    /// this device does not hold yet. Prepares the space to pull into.
    pub(crate) fn begin_index_recovery(&mut self) -> Result<bool> {
        if self.person.is_none() {
            return Ok(false);
        }
        let Some(k) = self.index_keys()? else {
            return Ok(false);
        };
        if self.shared.contains_key(&k.id) {
            return Ok(false);
        }
        if self.recovering.is_none() {
            let space = match Space::load(&self.store, &k.id, &self.identity) {
                Ok(s) => s,
                Err(Error::NotFound(_)) => Space::adopt(
                    &self.store,
                    k.id,
                    SpaceKind::Index,
                    k.key.clone(),
                    self.identity.device,
                )?,
                Err(e) => return Err(e),
            };
            self.recovering = Some(space);
        }
        Ok(true)
    }

    /// The identity and space a recovery exchange uses.
    pub(crate) fn recovery_parts(&self) -> Result<(Identity, &Space)> {
        let k = self
            .index_keys()?
            .ok_or(Error::Internal("recovery without index"))?;
        let space = self
            .recovering
            .as_ref()
            .ok_or(Error::Internal("recovery without index"))?;
        Ok((k.author, space))
    }

    /// After pulling the index as its author: this device vouches itself into it (as the person's
    /// device) and holds it. If the relay has no index for this person (never synced, or made before
    /// indexes existed), this device starts one.
    pub(crate) fn finish_index_recovery(&mut self) -> Result<()> {
        let Some(mut space) = self.recovering.take() else {
            return Ok(());
        };
        if space.membership().members.is_empty() {
            drop(space);
            return self.create_index();
        }
        let op = vouch_op(&self.device_certificate()?)?;
        let heads = space.membership().heads.clone();
        space.write_statement_after(&self.store, &self.identity, heads, op)?;
        self.keep_shared(space)?;
        Ok(())
    }

    /// Marks a space erased in the index (with the root keys that were erased from it, so no other
    /// device carries them back, and what this device had received of it, so each other device
    /// carries what it lacked) and deletes its entry and keys there. Erasing journal entries
    /// (`journal/erase.rs`) calls this.
    pub(crate) fn mark_erased(
        &mut self,
        space: &SpaceId,
        now_ms: i64,
        erased: &[String],
        received: &BTreeMap<Vec<u8>, u64>,
    ) -> Result<()> {
        let Some(idx) = self.held_index() else {
            return Ok(());
        };
        let Some(index) = self.shared.get_mut(&idx) else {
            return Ok(());
        };
        if !index.membership().is_member(&self.identity.device) {
            return Ok(());
        }
        let key = erased_key(space);
        if index.doc.get(ROOT, key.as_str())?.is_none() {
            index.doc.put(ROOT, key.as_str(), now_ms)?;
            index
                .doc
                .put(ROOT, erased_keys_key(space).as_str(), erased.join(","))?;
            index
                .doc
                .put(ROOT, erased_seen_key(space).as_str(), seen_text(received))?;
        }
        forget_in_index(&mut index.doc, space)?;
        index.doc.commit();
        index.persist(&self.store)
    }

    /// The root keys erased from `space`, as its index marker lists them.
    pub(crate) fn erased_keys_in_index(&self, space: &SpaceId) -> Vec<String> {
        let Some(index) = self.held_index().and_then(|i| self.shared.get(&i)) else {
            return Vec::new();
        };
        match index.doc.get(ROOT, erased_keys_key(space).as_str()) {
            Ok(Some((Value::Scalar(s), _))) => s
                .as_str()
                .unwrap_or_default()
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// What the device that erased `space` had received of it, by actor (its highest change), as
    /// its marker says; `None` for a marker without it (written by an older version) or malformed.
    pub(crate) fn erased_seen_in_index(&self, space: &SpaceId) -> Option<BTreeMap<Vec<u8>, u64>> {
        let index = self.held_index().and_then(|i| self.shared.get(&i))?;
        match index.doc.get(ROOT, erased_seen_key(space).as_str()) {
            Ok(Some((Value::Scalar(s), _))) => parse_seen(s.as_str()?),
            _ => None,
        }
    }

    /// Every root key the index lists as erased from any space (every `e/<id>/keys`): what a carried
    /// copy must never write back, whichever erasure removed it (a device may learn of several at
    /// once, and carry from the first into a journal a later one made).
    pub(crate) fn every_erased_key_in_index(&self) -> Vec<String> {
        let Some(index) = self.held_index().and_then(|i| self.shared.get(&i)) else {
            return Vec::new();
        };
        let mut out: Vec<String> = index
            .doc
            .keys(ROOT)
            .filter_map(|k| {
                let hex = k.strip_prefix("e/")?.strip_suffix("/keys")?;
                SpaceId::from_hex(hex).ok()
            })
            .flat_map(|space| self.erased_keys_in_index(&space))
            .collect();
        crate::order::sort(&mut out);
        out.dedup();
        out
    }

    /// Spaces the index marks erased, with when.
    pub(crate) fn erased_in_index(&self) -> Vec<(SpaceId, i64)> {
        let Some(index) = self.held_index().and_then(|i| self.shared.get(&i)) else {
            return Vec::new();
        };
        index
            .doc
            .keys(ROOT)
            .filter_map(|k| {
                let hex = k.strip_prefix("s/")?.strip_suffix("/erased")?;
                let id = SpaceId::from_hex(hex).ok()?;
                let at = match index.doc.get(ROOT, k.as_str()).ok().flatten() {
                    Some((Value::Scalar(s), _)) => match s.as_ref() {
                        ScalarValue::Int(i) => *i,
                        ScalarValue::Uint(u) => i64::try_from(*u).ok()?,
                        _ => return None,
                    },
                    _ => return None,
                };
                Some((id, at))
            })
            .collect()
    }

    /// Keeps the index clean: deletes, in the index, the entry and keys of every space it marks
    /// erased (a device that had not yet learnt of the erasure may have written them back).
    pub(crate) fn scrub_index(&mut self) -> Result<()> {
        let marked = self.erased_in_index();
        if marked.is_empty() {
            return Ok(());
        }
        let Some(idx) = self.held_index() else {
            return Ok(());
        };
        let Some(index) = self.shared.get_mut(&idx) else {
            return Ok(());
        };
        if !index.membership().is_member(&self.identity.device) {
            return Ok(());
        }
        let mut changed = false;
        for (space, _) in &marked {
            changed |= forget_in_index(&mut index.doc, space)?;
        }
        if changed {
            index.doc.commit();
            index.persist(&self.store)?;
        }
        Ok(())
    }

    /// Starts holding every space the index lists that this device does not hold yet, vouching itself
    /// into each on the anchors the index records. Returns how many. The vouches go out at the next
    /// exchange; the relay serves each space once it holds the vouch.
    pub(crate) fn follow_index(&mut self) -> Result<u32> {
        let Some(idx) = self.held_index() else {
            return Ok(0);
        };
        let me = self.identity.device;
        let Some(index) = self.shared.get(&idx) else {
            return Ok(0);
        };
        if !index.membership().is_member(&me) {
            return Ok(0);
        }
        let Ok(cert) = self.device_certificate() else {
            return Ok(0);
        };
        let op = vouch_op(&cert)?;
        let erased: Vec<SpaceId> = self.erased_in_index().into_iter().map(|(s, _)| s).collect();
        let mut n = 0;
        let index = self
            .shared
            .get(&idx)
            .ok_or(Error::Internal("index missing"))?;
        for e in entries(&index.doc) {
            if erased.contains(&e.space) || self.is_tombstoned(&e.space) {
                continue;
            }
            let held = self.shared.contains_key(&e.space)
                || self.journal.as_ref().is_some_and(|j| j.id == e.space);
            if held
                || e.left
                || e.kind == SpaceKind::Index
                || e.anchors.is_empty()
                || (e.kind == SpaceKind::Journal && self.journal.is_some())
            {
                continue;
            }
            let mut space = match Space::adopt_with_keys(&self.store, e.space, e.kind, &e.keys, me)
            {
                Ok(s) => s,
                // An entry without the key its genesis commits to cannot be opened: skip it.
                Err(Error::Corrupt(_)) => continue,
                Err(err) => return Err(err),
            };
            space.write_statement_after(&self.store, &self.identity, e.anchors.clone(), op)?;
            if e.kind == SpaceKind::Journal {
                self.store.kv_put(crate::JOURNAL_SPACE, &e.space.0)?;
                self.journal = Some(space);
            } else {
                self.keep_shared(space)?;
            }
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    /// The vector of docs/protocol.md section 23 for `e/<id>/seen`.
    fn the_seen_text_of_an_erased_marker_is_stable_and_reads_back() {
        let received = BTreeMap::from([(vec![2u8; 32], 1u64), (vec![1u8; 32], 2u64)]);
        let text = seen_text(&received);
        assert_eq!(text, format!("{}:2,{}:1", "01".repeat(32), "02".repeat(32)));
        assert_eq!(parse_seen(&text), Some(received));
        assert_eq!(parse_seen(""), Some(BTreeMap::new()));
        for bad in ["01:x", "zz:1", "0101", "01:1:2", "01:-1"] {
            assert_eq!(parse_seen(bad), None, "{bad}");
        }
    }

    #[test]
    fn entries_round_trip_and_merge_without_losing_keys() {
        let mut a = AutoCommit::new();
        let s = SpaceId([7; 16]);
        let e = IndexEntry {
            space: s,
            kind: SpaceKind::Group,
            anchors: vec![StatementId([1; 32]), StatementId([2; 32])],
            keys: vec![(EpochId([3; 32]), [4; 32])],
            left: false,
        };
        assert!(record(&mut a, &e).unwrap());
        assert!(
            !record(&mut a, &e).unwrap(),
            "writing the same entry changes nothing"
        );
        assert_eq!(entries(&a), vec![e.clone()]);
        // Two devices add different keys of the same space at once: both survive the merge.
        let mut b = a.fork().with_actor(automerge::ActorId::from(vec![9u8; 16]));
        let mut e2 = e.clone();
        e2.keys = vec![(EpochId([5; 32]), [6; 32])];
        record(&mut b, &e2).unwrap();
        let mut e1 = e.clone();
        e1.keys.push((EpochId([8; 32]), [8; 32]));
        record(&mut a, &e1).unwrap();
        a.merge(&mut b).unwrap();
        let got = &entries(&a)[0];
        assert_eq!(got.keys.len(), 3);
        // Garbage under the prefixes is skipped.
        a.put(ROOT, "s/zz/kind", 2u64).unwrap();
        a.put(ROOT, format!("k/{}/nothex", s.to_hex()), "x")
            .unwrap();
        assert_eq!(entries(&a).len(), 1);
    }
}
