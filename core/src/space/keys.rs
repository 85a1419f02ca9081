//! A space's keys over time: an epoch's key learnt from a key wrap, removing a member and rotating
//! to a new key, and the sealed history that lets a linked device read the earlier epochs.

use sebaya_proto::membership::{Op, SignedStatement, StatementId};
use sebaya_proto::{DeviceId, Envelope, EpochId};

use crate::crypto::keywrap::{self, KeyWrap};
use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::store::Store;

use super::history::{open_history, seal_history};
use super::{KEY_COMMIT_LABEL, RotationReport, Space, SpaceKind};

impl Space {
    pub(super) fn key_for(&self, epoch: &EpochId) -> Option<&[u8; 32]> {
        if *epoch == self.epoch {
            Some(&self.key)
        } else {
            self.older.get(epoch).map(|k| &**k)
        }
    }

    /// Takes the keys a key-wraps envelope carries for this device. `Ok(false)`: its rotation is not
    /// known yet (it waits). An error: not from the rotation's author, or a key that does not match
    /// the rotation's commitment (quarantined).
    pub(super) fn take_key_wraps(&mut self, env: &Envelope, identity: &Identity) -> Result<bool> {
        let set = sebaya_proto::keywraps::KeyWrapSet::from_envelope(env)?;
        let h = env.header()?;
        let Some(rotation) = self
            .members
            .epochs
            .iter()
            .find(|e| e.id == set.epoch)
            .cloned()
        else {
            return Ok(false);
        };
        if rotation.author != h.author {
            return Err(Error::Content("key wraps not from the rotation's author"));
        }
        self.recipients
            .insert(set.epoch, set.wraps.iter().map(|(d, _)| *d).collect());
        let Some((_, wrap)) = set.wraps.iter().find(|(d, _)| *d == identity.device) else {
            // Nothing for this device (it is not among the recipients): nothing to take.
            return Ok(true);
        };
        let wrap = KeyWrap::from_bytes(wrap)?;
        let key = identity.unwrap_key(&wrap, &self.id, &set.epoch)?;
        if *crypto::derive(key.as_ref(), KEY_COMMIT_LABEL)? != rotation.commit {
            return Err(Error::Content("wrapped key does not match the rotation"));
        }
        for (old, sealed) in &set.history {
            if self.key_for(old).is_none() {
                let k = open_history(&key, &self.id, &set.epoch, old, sealed)?;
                self.older.insert(*old, k);
            }
        }
        self.learn_epoch_key(set.epoch, key);
        Ok(true)
    }

    /// Files a newly learned epoch key and moves writing to the newest epoch this device can use.
    fn learn_epoch_key(&mut self, epoch: EpochId, key: Key32) {
        if self.key_for(&epoch).is_none() {
            self.older.insert(epoch, key);
        }
        self.use_newest_epoch();
    }

    /// Moves writing to the newest epoch of the log whose key this device holds.
    pub(super) fn use_newest_epoch(&mut self) {
        let newest = self
            .members
            .epochs
            .iter()
            .rev()
            .map(|e| e.id)
            .find(|e| self.key_for(e).is_some());
        if let Some(newest) = newest {
            if newest != self.epoch {
                if let Some(k) = self.older.remove(&newest) {
                    let prev_key = std::mem::replace(&mut self.key, k);
                    let prev_epoch = std::mem::replace(&mut self.epoch, newest);
                    self.older.insert(prev_epoch, prev_key);
                }
            }
        }
    }

    /// Every epoch key this device holds, current first, sealed under `new_key` for the history part of
    /// a key-wraps envelope or a link response.
    fn sealed_history(
        &self,
        new_key: &[u8; 32],
        new_epoch: &EpochId,
    ) -> Result<Vec<(EpochId, Vec<u8>)>> {
        let mut out = vec![(
            self.epoch,
            seal_history(new_key, &self.id, new_epoch, &self.epoch, &self.key)?,
        )];
        for (e, k) in &self.older {
            if e != new_epoch {
                out.push((*e, seal_history(new_key, &self.id, new_epoch, e, k)?));
            }
        }
        out.retain(|(e, _)| e != new_epoch);
        Ok(out)
    }

    /// Removes `device` from this space and rotates to a new epoch whose key is wrapped for every
    /// remaining device: the removed device cannot read anything written from now on, and the relay,
    /// peers and carriers refuse what it writes after its last accepted sequence number.
    pub fn remove_member(
        &mut self,
        store: &Store,
        id: &Identity,
        device: DeviceId,
    ) -> Result<RotationReport> {
        if !self.members.is_admin(&id.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can remove members",
            ));
        }
        if !self.members.is_member(&device) {
            return Err(Error::NotFound("member"));
        }
        let last_seq = self.vector.get(&device);
        self.write_statement(store, id, Op::Remove { device, last_seq })?;
        self.rotate(store, id)
    }

    /// This device leaves the space on its own word (protocol 15.11): a `Leave` statement carried in
    /// the membership envelope numbered as its cutoff, so what it sealed before stays and nothing
    /// later counts. It picks no new key: a remaining admin that learns of it rotates
    /// ([`Space::needs_rotation`]). Refused when this device is not a member, or is the only admin
    /// (nobody would be left to rotate the key away from it). The caller seals this device's
    /// pending changes first.
    pub fn leave(&mut self, store: &Store, id: &Identity) -> Result<()> {
        if !self.members.is_member(&id.device) {
            return Err(Error::NotFound("membership"));
        }
        let other_admin = self
            .members
            .members
            .iter()
            .any(|(d, r)| *d != id.device && *r == sebaya_proto::membership::Role::Admin);
        if !other_admin {
            return Err(Error::NotAllowed(
                "the only admin cannot leave: nobody would rotate the key",
            ));
        }
        let last_seq = self.next_seq;
        self.write_statement(
            store,
            id,
            Op::Leave {
                device: id.device,
                last_seq,
            },
        )?;
        Ok(())
    }

    /// This device ends its own writing here (protocol 15.11): one `End` statement carried in the
    /// membership envelope numbered as its cutoff, naming this device alone. Nobody's writing but
    /// this device's stops: in a pairing the other party's device signs its own end when it learns
    /// of this one ([`Space::needs_end`]), and what it wrote until then stands. Refused when this
    /// device is not a member or has ended already. The caller seals this device's pending
    /// changes first.
    pub fn end(&mut self, store: &Store, id: &Identity) -> Result<()> {
        if !self.members.is_member(&id.device) {
            return Err(Error::NotFound("membership"));
        }
        if self.members.ended.contains_key(&id.device) {
            return Err(Error::NotAllowed("this space has ended already"));
        }
        let last_seq = self.next_seq;
        self.write_statement(
            store,
            id,
            Op::End {
                device: id.device,
                last_seq,
            },
        )?;
        Ok(())
    }

    /// Whether this device writes nothing more here (protocol 15.11): its own end counts, or the
    /// space is a pairing whose other party's end counts (this device's own end is on its way). No
    /// write, asked for or automatic (credentials), goes into such a space.
    pub fn ended_here(&self) -> bool {
        self.members.ended.contains_key(&self.me)
            || (self.kind == SpaceKind::Pairing && self.members.is_ended())
    }

    /// Whether this device should sign its own end now (protocol 15.11): the space is a pairing,
    /// another party's end counts, and this device, still a member, has not ended yet nor signed an
    /// end the log set aside (so a refused end is not signed again at every sync).
    pub fn needs_end(&self) -> bool {
        self.kind == SpaceKind::Pairing
            && self.members.is_ended()
            && self.members.is_member(&self.me)
            && !self.members.ended.contains_key(&self.me)
            && !self.log.statements().any(|s| {
                let st = s.statement();
                st.author == self.me && matches!(st.op, Op::End { .. })
            })
    }

    /// Starts a new epoch: a `Rotate` statement committing to a fresh key, then one key-wraps envelope
    /// with the key wrapped for every current member device and the earlier keys sealed under it.
    pub fn rotate(&mut self, store: &Store, id: &Identity) -> Result<RotationReport> {
        if !self.members.is_admin(&id.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can rotate its key",
            ));
        }
        let new_key = crypto::random_key()?;
        let commit = *crypto::derive(new_key.as_ref(), KEY_COMMIT_LABEL)?;
        let env = self.write_statement(store, id, Op::Rotate { commit })?;
        let st = SignedStatement::from_envelope(&Envelope::parse(&env)?)?;
        let epoch = EpochId(st.id().0);
        let mut report = RotationReport::default();
        let mut wraps = Vec::new();
        for device in self.members.members.keys() {
            if *device == id.device {
                continue;
            }
            match self.members.x25519.get(device) {
                Some(x) => {
                    wraps.push((
                        *device,
                        keywrap::wrap(&new_key, x, &self.id, &epoch)?.to_bytes(),
                    ));
                    report.wrapped += 1;
                }
                None => report.without_key += 1,
            }
        }
        let set = sebaya_proto::keywraps::KeyWrapSet {
            epoch,
            wraps,
            history: self.sealed_history(&new_key, &epoch)?,
        };
        let signer = id.signing_key()?;
        let env = set.to_envelope(self.id, id.device, self.next_seq, &signer)?;
        report.bytes = env.as_bytes().len() as u64;
        self.recipients
            .insert(epoch, set.wraps.iter().map(|(d, _)| *d).collect());
        let tx = store.durable_transaction()?;
        Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
        self.vector.insert(self.me, self.next_seq);
        self.next_seq += 1;
        self.learn_epoch_key(epoch, new_key);
        self.save_record(store)?;
        tx.commit()?;
        Ok(report)
    }

    /// Whether the key this device writes under may be held by a device that is no longer a member: a
    /// rotation that was concurrent with a removal wrapped its key for the removed device. An admin
    /// then rotates again (at its next sync).
    pub fn needs_rotation(&self) -> bool {
        if !self.members.is_admin(&self.me) {
            return false;
        }
        // A key wrapped for a device that is no longer a member (a rotation concurrent with a
        // removal), or a removal the epoch in use does not follow (a person revoking a lost phone
        // from a group where it is a plain member, or a removal by another admin that did not rotate).
        let wrapped_for_gone = self
            .recipients
            .get(&self.epoch)
            .is_some_and(|ds| ds.iter().any(|d| !self.members.is_member(d)));
        let started_by = self
            .members
            .epochs
            .iter()
            .find(|e| e.id == self.epoch)
            .map(|e| StatementId(e.id.0));
        wrapped_for_gone || self.log.removed_since(started_by.as_ref())
    }

    /// Earlier epoch keys sealed under the current one, for a device being linked (own devices read
    /// all history).
    pub fn history_for_link(&self) -> Result<Vec<(EpochId, Vec<u8>)>> {
        let mut out = Vec::new();
        for (e, k) in &self.older {
            out.push((*e, seal_history(&self.key, &self.id, &self.epoch, e, k)?));
        }
        Ok(out)
    }

    /// Takes earlier epoch keys sealed under the current key (from a link response).
    pub fn take_history(&mut self, history: &[(EpochId, Vec<u8>)]) -> Result<()> {
        for (e, sealed) in history {
            if self.key_for(e).is_none() {
                let k = open_history(&self.key, &self.id, &self.epoch, e, sealed)?;
                self.older.insert(*e, k);
            }
        }
        Ok(())
    }
}
