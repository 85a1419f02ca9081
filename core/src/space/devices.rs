//! A person's devices, which are the members of their journal (and index) spaces, as the `Vault`
//! handles them: linking a new device (request, approval, completion), noticing devices linked
//! elsewhere, and removing a lost one from every space; and adding any device to a space by its
//! request code (`approve_into`) and joining one from a response (`adopt_from_response`). The codes
//! themselves are `identity/link.rs`. This lives in `space/`, not `identity/`, because it works on
//! spaces (`identity/` sits below `space/`).

use sebaya_proto::DeviceId;
use sebaya_proto::membership::Role;

use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::identity::person::verify_device_certificate;
use crate::space::{Space, SpaceKind};
use crate::store::Store;
use crate::{JOURNAL_SPACE, Vault, store::clock::now_ms};

/// Vault key of the journal devices this person has already been told about.
const SEEN_DEVICES: &str = "seen-journal-devices";

/// Whether a space's document holds anything: any root key at all. A journal space has no layout of
/// its own (everything in it — entries, the safety plan, screening totals — is a root key, and a
/// deleted one is gone from the keys), so this is "this device has written something there".
fn holds_anything(space: &Space) -> bool {
    automerge::ReadDoc::keys(&space.doc, automerge::ROOT)
        .next()
        .is_some()
}

impl Vault {
    /// The code a new device shows so that another device of the same person can link it: this
    /// device's id and X25519 public key. Changes nothing.
    pub fn link_request(&self) -> Result<String> {
        crate::identity::link::LinkRequest {
            device: self.identity.device,
            x25519: self.identity.x25519_public,
            certificate: self.device_certificate().ok(),
        }
        .to_code()
    }

    /// Links the device that showed `request` to this person's journal (creating the journal if
    /// needed): adds it to the journal's membership as an admin (a person's own devices administer
    /// their own journal) and wraps the journal key for it. Returns the response code to show it.
    pub fn approve_link(&mut self, request: &str) -> Result<String> {
        self.journal()?;
        let (store, identity) = (&self.store, &self.identity);
        let j = self
            .journal
            .as_mut()
            .ok_or(Error::Internal("journal missing"))?;
        let person = self.person.as_ref().map(|p| p.id().0);
        let mut response = approve_into(store, identity, j, request, Role::Admin, person)?;
        // With a person here: certify the new device and let it into the index, from which it
        // vouches itself into every other space of the person.
        if let Some(p) = &self.person {
            let req = crate::identity::link::LinkRequest::from_code(request)?;
            let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
            let cert = p.certify(req.device, req.x25519, now)?;
            response.certificate = Some(cert.as_bytes().to_vec());
            if let Some(idx) = self.held_index() {
                let (store, identity) = (&self.store, &self.identity);
                if let Some(index) = self.shared.get_mut(&idx) {
                    if index.membership().is_admin(&identity.device) {
                        if !index.membership().is_member(&req.device) {
                            index.add_member(
                                store,
                                identity,
                                req.device,
                                req.x25519,
                                Role::Admin,
                                Some(p.id().0),
                            )?;
                        }
                        response.index = Some(crate::identity::link::LinkedIndex {
                            space: index.id,
                            epoch: index.epoch,
                            wrap: crate::crypto::keywrap::wrap(
                                index.key(),
                                &req.x25519,
                                &index.id,
                                &index.epoch,
                            )?,
                            history: index.history_for_link()?,
                        });
                    }
                }
            }
        }
        // This device approved it: nothing new to tell the person here.
        self.acknowledge_linked_devices()?;
        response.to_code()
    }

    /// Joins the journal named in a link response made for this device. Refused if this device keeps
    /// anything of its own in its journal space (journal entries, safety plan items, screening
    /// totals: they would be orphaned), if the response was made for another device, or if its
    /// membership log does not admit this device; nothing changes then.
    pub fn complete_link(&mut self, response: &str) -> Result<()> {
        let resp = crate::identity::link::LinkResponse::from_code(response)?;
        if self.journal.as_ref().is_some_and(holds_anything) {
            return Err(Error::AlreadyLinked);
        }
        // A certificate must name this very device; the index key must open for it.
        let certificate = match &resp.certificate {
            Some(c) => {
                let cert = verify_device_certificate(c)?;
                if cert.device != self.identity.device || cert.x25519 != self.identity.x25519_public
                {
                    return Err(Error::BadLinkCode);
                }
                Some(c.clone())
            }
            None => None,
        };
        let index = match &resp.index {
            Some(i) => Some((
                i.clone(),
                self.identity
                    .unwrap_key(&i.wrap, &i.space, &i.epoch)
                    .map_err(|_| Error::BadLinkCode)?,
            )),
            None => None,
        };
        let space = adopt_from_response(&self.store, &self.identity, resp, SpaceKind::Journal)?;
        if let Some(c) = certificate {
            if self.person.is_none() {
                crate::identity::person::store_certificate(&self.store, &c)?;
            }
        }
        if let Some((i, key)) = index {
            if !self.shared.contains_key(&i.space) {
                let mut idx = Space::adopt_at(
                    &self.store,
                    i.space,
                    SpaceKind::Index,
                    key,
                    i.epoch,
                    self.identity.device,
                )?;
                idx.take_history(&i.history)?;
                idx.save_record(&self.store)?;
                self.keep_shared(idx)?;
            }
        }
        self.store.kv_put(JOURNAL_SPACE, &space.id.0)?;
        self.journal = Some(space);
        // The person is holding this new device and the one that linked it: both are known.
        self.acknowledge_linked_devices()?;
        Ok(())
    }

    /// The journal's membership as this device knows it (`None` before the journal exists).
    pub fn journal_membership(&self) -> Option<&sebaya_proto::membership::MembershipState> {
        self.journal.as_ref().map(|j| j.membership())
    }

    /// Removes one of this person's devices (a lost or sold phone) from the journal, and from every
    /// group where this device is a facilitator and the lost one a member, rotating each space's key:
    /// the removed device reads nothing written from now on, and what it writes after its last accepted
    /// envelope is refused everywhere. Sync afterwards to tell the relay and the others. The report
    /// sums the rotations.
    pub fn remove_device(&mut self, device: &DeviceId) -> Result<crate::space::RotationReport> {
        if *device == self.identity.device {
            return Err(Error::InvalidInput("a device cannot remove itself".into()));
        }
        let j = self.journal.as_mut().ok_or(Error::NotFound("journal"))?;
        // A device lost before it saw a journal erasure is in no journal any more (the new one
        // never admitted it): its groups and pairings must still lose it.
        let mut found = j.membership().is_member(device);
        let mut total = if found {
            j.remove_member(&self.store, &self.identity, *device)?
        } else {
            crate::space::RotationReport::default()
        };
        // Where this device is not an admin, the person's own word removes the lost device: a
        // revocation signed by the person key (held by the device that made, restored or replaced
        // the person); that space's admins rotate its key at their next sync.
        let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
        let revocation = match &self.person {
            Some(p) => Some(p.revoke(*device, now)?),
            None => None,
        };
        let me = self.identity.device;
        let person = self.person_id();
        for g in self.shared.values_mut() {
            let m = g.membership();
            if !m.is_member(device) {
                continue;
            }
            found = true;
            if m.is_admin(&me) {
                let r = g.remove_member(&self.store, &self.identity, *device)?;
                total.wrapped += r.wrapped;
                total.without_key += r.without_key;
                total.bytes += r.bytes;
            } else if let (Some(rev), Some(p)) = (&revocation, person) {
                if m.is_member(&me) && m.persons.get(device) == Some(&p.0) {
                    let signature = rev.signature()?;
                    let last_seq = g.vector.get(device);
                    g.write_statement(
                        &self.store,
                        &self.identity,
                        sebaya_proto::membership::Op::RevokeDevice {
                            device: *device,
                            person: p.0,
                            time: now,
                            signature,
                            last_seq,
                        },
                    )?;
                }
            }
        }
        if !found {
            return Err(Error::NotFound("member"));
        }
        Ok(total)
    }

    /// Devices that joined this person's journal since this device last acknowledged its device list:
    /// what the app shows as "a new device was linked" (someone who linked a device with your phone
    /// would be noticed on your other devices).
    pub fn new_linked_devices(&self) -> Result<Vec<DeviceId>> {
        let Some(m) = self.journal_membership() else {
            return Ok(Vec::new());
        };
        let seen = self.seen_devices()?;
        Ok(m.members
            .keys()
            .filter(|d| **d != self.identity.device && !seen.contains(d))
            .copied()
            .collect())
    }

    /// Records that the person has seen the journal's current device list.
    pub fn acknowledge_linked_devices(&mut self) -> Result<()> {
        let Some(m) = self.journal_membership() else {
            return Ok(());
        };
        let ids: Vec<serde_bytes::ByteBuf> = m
            .members
            .keys()
            .map(|d| serde_bytes::ByteBuf::from(d.0.to_vec()))
            .collect();
        let mut out = Vec::new();
        ciborium::into_writer(&ids, &mut out).map_err(|_| Error::Internal("encode device list"))?;
        self.store.kv_put(SEEN_DEVICES, &out)
    }

    fn seen_devices(&self) -> Result<Vec<DeviceId>> {
        let Some(bytes) = self.store.kv_get(SEEN_DEVICES)? else {
            return Ok(Vec::new());
        };
        let ids: Vec<serde_bytes::ByteBuf> = sebaya_proto::cbor::decode(bytes.as_slice(), 256)
            .map_err(|_| Error::Corrupt("device list"))?;
        ids.iter()
            .map(|b| DeviceId::from_slice(b).map_err(|_| Error::Corrupt("device list")))
            .collect()
    }
}

/// Adds the device that showed `request` to `space` with `role` (unless it is a member already) and
/// answers with the space's id, epoch, key wrapped for that device, membership envelopes, and, when
/// `with_history`, every earlier epoch key (a person's own devices read everything; a group's newcomer
/// reads from its joining on).
pub(crate) fn approve_into(
    store: &Store,
    identity: &Identity,
    space: &mut Space,
    request: &str,
    role: Role,
    person: Option<[u8; 32]>,
) -> Result<crate::identity::link::LinkResponse> {
    let req = crate::identity::link::LinkRequest::from_code(request)?;
    if req.device == identity.device {
        return Err(Error::InvalidInput("a device cannot add itself".into()));
    }
    if !space.membership().is_member(&req.device) {
        let person = person.or(req.person());
        space.add_member(store, identity, req.device, req.x25519, role, person)?;
    }
    let wrap = crate::crypto::keywrap::wrap(space.key(), &req.x25519, &space.id, &space.epoch)?;
    Ok(crate::identity::link::LinkResponse {
        space: space.id,
        kind: space.kind.to_byte(),
        epoch: space.epoch,
        wrap,
        envelopes: space.membership_envelopes(store)?,
        // Everyone gets the earlier keys: an Automerge document's state is built from its whole
        // history, so a newcomer without the earlier changes could not apply the later ones.
        history: space.history_for_link()?,
        certificate: None,
        index: None,
    })
}

/// Opens a response made for this device: unwraps the key, checks it against its epoch's commitment
/// and that the membership log admits this device, and only then starts holding the space.
pub(crate) fn adopt_from_response(
    store: &Store,
    identity: &Identity,
    resp: crate::identity::link::LinkResponse,
    kind: SpaceKind,
) -> Result<Space> {
    if resp.kind != kind.to_byte() {
        return Err(Error::BadLinkCode);
    }
    let key = identity
        .unwrap_key(&resp.wrap, &resp.space, &resp.epoch)
        .map_err(|_| Error::BadLinkCode)?;
    let commit = *crate::crypto::derive(key.as_ref(), crate::space::KEY_COMMIT_LABEL)?;
    let mut log = sebaya_proto::membership::MembershipLog::new(resp.space);
    for bytes in &resp.envelopes {
        let env = sebaya_proto::Envelope::parse(bytes).map_err(|_| Error::BadLinkCode)?;
        let st = sebaya_proto::membership::SignedStatement::from_envelope(&env)
            .map_err(|_| Error::BadLinkCode)?;
        log.insert(st).map_err(|_| Error::BadLinkCode)?;
    }
    let state = log.state();
    if !state.is_member(&identity.device) {
        return Err(Error::BadLinkCode);
    }
    // The key must be the one its epoch committed to: the genesis key, or a rotation's.
    let genesis_ok = crate::space::genesis_epoch(&resp.space, &key)? == resp.epoch;
    let rotation_ok = state
        .epochs
        .iter()
        .any(|e| e.id == resp.epoch && e.commit == commit);
    if !genesis_ok && !rotation_ok {
        return Err(Error::BadLinkCode);
    }
    let mut space = Space::adopt_at(store, resp.space, kind, key, resp.epoch, identity.device)?;
    // The whole log, at once: it was judged above already, and nothing would send the rest again.
    space.receive_all(store, identity, &resp.envelopes)?;
    space.take_history(&resp.history)?;
    space.save_record(store)?;
    Ok(space)
}
