//! Sebaya's device core: everything one phone, tablet or laptop does, with no FFI types and no async
//! runtime in its API.
//!
//! A [`Vault`] is the device's encrypted store; it holds the device identity and the person's journal
//! (an Automerge document), seals local changes into signed envelopes and syncs them through a relay.
//! All methods perform disk I/O (and `sync` network I/O): call them off the UI thread. A `Vault` is
//! used from one thread at a time (`&mut self`); the FFI layer wraps it in a mutex.
//!
//! Start with `docs/architecture.md` for the map of the crates.

pub mod care;
pub mod crypto;
pub mod error;
pub mod export;
pub mod groups;
pub mod i18n;
pub mod identity;
pub mod journal;
pub mod pairing;
pub mod reports;
pub mod space;
pub mod store;
pub mod sync;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub use error::{Error, Result};
pub use identity::person::{RecoveryPhrase, verify_device_certificate};
pub use journal::JournalEntry;
pub use sebaya_proto::invite::InviteId;
pub use sebaya_proto::membership::{InviteStatus, Role};
pub use sebaya_proto::programme::ProgrammeRole;
pub use sebaya_proto::{DeviceCertificate, DeviceId, PersonId, SpaceId};
#[cfg(feature = "reqwest-client")]
pub use sync::relay::ReqwestClient;
pub use sync::relay::{Chunking, HttpClient, HttpRequest, HttpResponse, RelaySync, SyncReport};

use identity::Identity;
use identity::person::{PersonKey, RecoverySecret};
use space::{Space, SpaceKind};
use store::Store;

pub(crate) const JOURNAL_SPACE: &str = "journal-space";
const SEEN_DEVICES: &str = "seen-journal-devices";

/// The payload codec this build writes (see `docs/protocol.md`, "Changes payload").
pub const DEFAULT_CODEC: u8 = space::CODEC_BUNDLE;

/// A device's vault: its identity, its person (once created or restored), its journal, and sync.
pub struct Vault {
    store: Store,
    identity: Identity,
    person: Option<PersonKey>,
    journal: Option<Space>,
    /// Shared spaces (groups, pairings, case notes) this device belongs to, by space id.
    shared: std::collections::BTreeMap<SpaceId, Space>,
    codec: u8,
    /// The person's index while it is being pulled as its author (recovery from the phrase).
    recovering: Option<Space>,
}

/// The wall clock in ms since the Unix epoch (0 before 1970; saturating far in the future): the
/// time every record written on this device carries.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Vault {
    /// Opens the vault file at `path` (creating it, and the device identity, on first use) with the
    /// 32-byte master key the platform keeps. A wrong key gives [`Error::WrongKey`] and changes nothing.
    pub fn open(path: &Path, master_key: &[u8]) -> Result<Vault> {
        let key: [u8; 32] = master_key
            .try_into()
            .map_err(|_| Error::InvalidInput("the master key must be 32 bytes".into()))?;
        let key = zeroize::Zeroizing::new(key);
        let store = Store::open(path, &key)?;
        let identity = Identity::load_or_create(&store)?;
        let person = PersonKey::load(&store)?;
        let journal = match store.kv_get(JOURNAL_SPACE)? {
            Some(id) => Some(Space::load(
                &store,
                &SpaceId::from_slice(&id).map_err(|_| Error::Corrupt("journal id"))?,
                &identity,
            )?),
            None => None,
        };
        let mut shared = std::collections::BTreeMap::new();
        for id in space::held::index(&store)? {
            shared.insert(id, Space::load(&store, &id, &identity)?);
        }
        Ok(Vault {
            store,
            identity,
            person,
            journal,
            shared,
            codec: DEFAULT_CODEC,
            recovering: None,
        })
    }

    /// This device's id (its Ed25519 public key).
    pub fn device_id(&self) -> DeviceId {
        self.identity.device
    }

    /// This device's X25519 public key: what its certificate carries and what keys are wrapped for.
    pub fn device_x25519_public(&self) -> [u8; 32] {
        self.identity.x25519_public
    }

    /// Opens a key wrapped for this device's X25519 key (for `space` in `epoch`); anything else gives
    /// [`Error::BadKeyWrap`]. The shared-spaces work calls this when a key-wraps envelope arrives.
    pub fn unwrap_key(
        &self,
        wrap: &crypto::keywrap::KeyWrap,
        space: &SpaceId,
        epoch: &sebaya_proto::EpochId,
    ) -> Result<crypto::Key32> {
        self.identity.unwrap_key(wrap, space, epoch)
    }

    /// Makes a new person on this device: fresh 128-bit entropy, from which the person root key (and the
    /// recovery and index keys) derive; certifies this device; keeps the root key sealed in the vault.
    /// Returns the recovery phrase (12 words), which is never stored: show it once so the person writes
    /// it down. A vault that already has a person gives [`Error::AlreadyHasPerson`] and changes nothing.
    pub fn create_person(&mut self) -> Result<RecoveryPhrase> {
        if self.person.is_some() {
            return Err(Error::AlreadyHasPerson);
        }
        let secret = RecoverySecret::generate()?;
        let phrase = secret.phrase()?;
        self.adopt_person(&secret)?;
        self.create_index()?;
        Ok(phrase)
    }

    /// Restores a person from their recovery phrase onto this vault, which must have no person yet: the
    /// same person id as before, while this device keeps its own, new device keys (a restored phone is a
    /// new device, never a replay of an old author). A wrong or mistyped phrase gives
    /// [`Error::BadRecoveryPhrase`] and changes nothing; a vault that already has a person gives
    /// [`Error::AlreadyHasPerson`].
    pub fn restore_person(&mut self, phrase: &str) -> Result<()> {
        if self.person.is_some() {
            return Err(Error::AlreadyHasPerson);
        }
        let secret = RecoverySecret::from_phrase(phrase)?;
        self.adopt_person(&secret)
    }

    fn adopt_person(&mut self, secret: &RecoverySecret) -> Result<()> {
        let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
        let person = identity::person::adopt(
            &self.store,
            secret,
            self.identity.device,
            self.identity.x25519_public,
            now,
        )?;
        self.person = Some(person);
        Ok(())
    }

    /// The person this device belongs to: created or restored here, or named by the certificate
    /// this device received when it was linked.
    pub fn person_id(&self) -> Option<PersonId> {
        if let Some(p) = &self.person {
            return Some(p.id());
        }
        let cert = identity::person::stored_certificate(&self.store).ok()??;
        verify_device_certificate(&cert).ok().map(|c| c.person)
    }

    /// This device's certificate, signed by its person's root key: made when the person was created
    /// or restored here, or received when this device was linked. [`Error::NoPerson`] before that.
    pub fn device_certificate(&self) -> Result<Vec<u8>> {
        match identity::person::stored_certificate(&self.store)? {
            Some(c) => Ok(c),
            None if self.person.is_none() => Err(Error::NoPerson),
            None => Err(Error::Corrupt("device certificate")),
        }
    }

    /// Chooses the payload codec for envelopes sealed from now on (benchmarks compare them).
    pub fn set_codec(&mut self, codec: u8) -> Result<()> {
        if codec != space::CODEC_BUNDLE && codec != space::CODEC_DEFLATE_CHANGES {
            return Err(Error::InvalidInput("unknown payload codec".into()));
        }
        self.codec = codec;
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
    pub fn remove_device(&mut self, device: &DeviceId) -> Result<space::RotationReport> {
        if *device == self.identity.device {
            return Err(Error::InvalidInput("a device cannot remove itself".into()));
        }
        let j = self.journal.as_mut().ok_or(Error::NotFound("journal"))?;
        let mut total = j.remove_member(&self.store, &self.identity, *device)?;
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
        let ids: Vec<serde_bytes::ByteBuf> =
            ciborium::from_reader(bytes.as_slice()).map_err(|_| Error::Corrupt("device list"))?;
        ids.iter()
            .map(|b| DeviceId::from_slice(b).map_err(|_| Error::Corrupt("device list")))
            .collect()
    }

    /// Seals local changes into envelopes now (sync does this too). Returns how many were sealed.
    pub fn seal_pending(&mut self) -> Result<u32> {
        self.seal_pending_with(true)
    }

    /// [`Vault::seal_pending`], with or without the snapshots that are due: a sync on a metered link
    /// leaves them for the next unmetered one (a snapshot is a whole document; the changes it would
    /// stand for are already on their way).
    pub(crate) fn seal_pending_with(&mut self, snapshots: bool) -> Result<u32> {
        let codec = self.codec;
        let every = if snapshots { self.snapshot_every()? } else { 0 };
        let mut sealed = 0;
        for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
            s.compact_if_needed(&self.store)?;
            if s.needs_rotation() {
                s.rotate(&self.store, &self.identity)?;
            }
            sealed += s.seal_outgoing(&self.store, &self.identity, codec)?;
            if s.snapshot_if_due(&self.store, &self.identity, every)?
                .is_some()
            {
                sealed += 1;
            }
        }
        Ok(sealed)
    }

    /// Syncs every space with the relay at `relay_url` through `http`, holding `&mut self` throughout.
    /// (The FFI drives [`Vault::sync_next_request`] and [`Vault::sync_handle_response`] itself so the
    /// vault is free while the network is slow.)
    pub fn sync_with(&mut self, http: &dyn HttpClient, relay_url: &str) -> Result<SyncReport> {
        let mut s = self.sync_begin(relay_url)?;
        self.drive_sync(http, &mut s)?;
        Ok(s.report().clone())
    }

    /// Drives a begun sync to its end through `http`. A request that gets no answer is sent again
    /// (re-signed) after a growing wait, as the sync's [`sync::relay::Chunking`] allows; once the retries in
    /// a row are spent the sync stops with a network error, keeping everything acknowledged so far.
    pub fn drive_sync(&mut self, http: &dyn HttpClient, sync: &mut RelaySync) -> Result<()> {
        while let Some(req) = self.sync_next_request(sync)? {
            match http.send(req) {
                Ok(resp) => self.sync_handle_response(sync, resp)?,
                Err(e) => std::thread::sleep(sync.network_failed(e)?),
            }
        }
        Ok(())
    }

    /// Starts a sync: seals local changes and returns the state machine to drive.
    pub fn sync_begin(&mut self, relay_url: &str) -> Result<RelaySync> {
        self.sync_begin_sealing(relay_url, true)
    }

    /// [`Vault::sync_begin`], sealing due snapshots or not (see [`Vault::seal_pending_with`]).
    pub(crate) fn sync_begin_sealing(
        &mut self,
        relay_url: &str,
        snapshots: bool,
    ) -> Result<RelaySync> {
        self.refresh_index()?;
        self.scrub_index()?;
        self.seal_pending_with(snapshots)?;
        let (posts, answers, taken) = self.join_outbox()?;
        let mut sync = RelaySync::new(relay_url)
            .with_joins(posts, answers, taken)
            .with_erase(self.erasures_to_send()?)
            .with_carried(self.carried()?);
        if self.begin_index_recovery()? {
            sync.set_recovery(true);
        }
        Ok(sync)
    }

    /// The next request of a sync, or `None` when it is complete. A sync may run several exchanges:
    /// first the person's index pulled as its author (after a restore from the phrase), then the
    /// device's own; when an exchange brings join answers or index entries, the spaces they open are
    /// pulled in one more exchange of the same sync.
    pub fn sync_next_request(&mut self, sync: &mut RelaySync) -> Result<Option<HttpRequest>> {
        // Each pass either returns a request or moves the sync to a later phase; at most 4 passes.
        for _ in 0..4 {
            let next = if sync.recovery() {
                let (author, space) = self.recovery_parts()?;
                sync.next_request(&self.store, &author, &[space])?
            } else {
                let spaces: Vec<&Space> = self
                    .journal
                    .iter()
                    .chain(self.shared.values())
                    .filter(|s| sync.covers(&s.id))
                    .collect();
                sync.next_request(&self.store, &self.identity, &spaces)?
            };
            if next.is_some() {
                return Ok(next);
            }
            if sync.recovery() {
                self.finish_index_recovery()?;
                sync.set_recovery(false);
                sync.again();
                continue;
            }
            let Some(j) = sync.take_joins() else {
                self.note_relay_synced(sync)?;
                return Ok(None);
            };
            let outcome = self.take_join_results(
                &j.forget,
                &j.posts,
                &j.answers,
                &j.refused_posts,
                &j.refused_answers,
                &j.requests,
                &j.delivered,
            )?;
            sync.note_joins(outcome.received, outcome.refused, outcome.joined);
            // Spaces erased (by this person's other device, or confirmed for this one) go before the
            // index is followed, so the new journal takes the old one's place.
            let delivered = sync.take_carried_done();
            self.drop_carried(&delivered)?;
            let (confirmed, seen) = sync.take_erasures();
            let erased = self.apply_erasures(&confirmed, &seen)?;
            sync.note_erased(erased);
            self.scrub_index()?;
            let adopted = self.follow_index()?;
            self.take_carried()?;
            sync.note_from_index(adopted);
            let periods = self.follow_periods()?;
            sync.note_periods(periods);
            // A removal learned in this exchange that the key in use does not follow: rotate now
            // and send the new key in one more exchange.
            let mut rotated = 0;
            for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
                if s.needs_rotation() {
                    s.rotate(&self.store, &self.identity)?;
                    rotated += 1;
                }
            }
            let adopted = adopted + periods + rotated;
            let taken = self.taken_answers()?;
            if outcome.joined == 0 && adopted == 0 && taken.is_empty() {
                self.note_relay_synced(sync)?;
                return Ok(None);
            }
            sync.set_taken(taken);
            sync.again();
        }
        Ok(None)
    }

    /// Records the spaces a finished sync covered as synced through the relay.
    fn note_relay_synced(&self, sync: &RelaySync) -> Result<()> {
        let ids: Vec<SpaceId> = self
            .journal
            .iter()
            .chain(self.shared.values())
            .map(|s| s.id)
            .filter(|id| sync.covers(id))
            .collect();
        self.note_synced(&ids, "relay")
    }

    /// Applies the answer to the last request of a sync.
    pub fn sync_handle_response(
        &mut self,
        sync: &mut RelaySync,
        response: HttpResponse,
    ) -> Result<()> {
        if sync.recovery() {
            let keys = self
                .index_keys()?
                .ok_or(Error::Internal("recovery without index"))?;
            let space = self
                .recovering
                .as_mut()
                .ok_or(Error::Internal("recovery without index"))?;
            return sync.handle_response(&self.store, &keys.author, &mut [space], response);
        }
        let mut spaces: Vec<&mut Space> = self
            .journal
            .iter_mut()
            .chain(self.shared.values_mut())
            .collect();
        sync.handle_response(&self.store, &self.identity, &mut spaces, response)
    }

    /// Syncs with the relay using the default HTTP client (feature `reqwest-client`; without it, drive
    /// [`Vault::sync_with`] with the platform's HTTP client).
    #[cfg(feature = "reqwest-client")]
    pub fn sync(&mut self, relay_url: &str) -> Result<SyncReport> {
        let http = ReqwestClient::new()?;
        self.sync_with(&http, relay_url)
    }

    /// The code a new device shows so that another device of the same person can link it: this
    /// device's id and X25519 public key. Changes nothing.
    pub fn link_request(&self) -> Result<String> {
        identity::link::LinkRequest {
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
            let req = identity::link::LinkRequest::from_code(request)?;
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
                        response.index = Some(identity::link::LinkedIndex {
                            space: index.id,
                            epoch: index.epoch,
                            wrap: crypto::keywrap::wrap(
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
    /// journal entries or safety plan items of its own (they would be orphaned), if the response was
    /// made for another device, or if its membership log does not admit this device; nothing changes
    /// then.
    pub fn complete_link(&mut self, response: &str) -> Result<()> {
        let resp = identity::link::LinkResponse::from_code(response)?;
        if !self.journal_list().is_empty() || !self.safety_plan().is_empty() {
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
                identity::person::store_certificate(&self.store, &c)?;
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

    /// Counts of envelopes held by state (waiting, applied, quarantined), for status screens and tests.
    pub fn envelope_counts(&self) -> Result<(u64, u64, u64)> {
        let mut out = [0u64; 3];
        let mut stmt = self
            .store
            .conn
            .prepare("SELECT state, count(*) FROM envelopes GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (s, n) = row?;
            if let Some(slot) = usize::try_from(s).ok().and_then(|i| out.get_mut(i)) {
                *slot = n as u64;
            }
        }
        Ok((out[0], out[1], out[2]))
    }

    /// Receives envelopes from any path (tests, bundles later); each is verified on its own.
    pub fn receive_envelopes(&mut self, envelopes: &[Vec<u8>]) -> Result<space::ReceiveReport> {
        let j = self.journal.as_mut().ok_or(Error::NotFound("journal"))?;
        j.receive(&self.store, &self.identity, envelopes)
    }

    /// Every envelope of the journal this device holds that the relay has not acknowledged.
    pub fn outgoing_envelopes(&mut self) -> Result<Vec<Vec<u8>>> {
        self.seal_pending()?;
        let (store, j) = self.parts()?;
        j.unacked(store)
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
) -> Result<identity::link::LinkResponse> {
    let req = identity::link::LinkRequest::from_code(request)?;
    if req.device == identity.device {
        return Err(Error::InvalidInput("a device cannot add itself".into()));
    }
    if !space.membership().is_member(&req.device) {
        let person = person.or(req.person());
        space.add_member(store, identity, req.device, req.x25519, role, person)?;
    }
    let wrap = crypto::keywrap::wrap(space.key(), &req.x25519, &space.id, &space.epoch)?;
    Ok(identity::link::LinkResponse {
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
    resp: identity::link::LinkResponse,
    kind: SpaceKind,
) -> Result<Space> {
    if resp.kind != kind.to_byte() {
        return Err(Error::BadLinkCode);
    }
    let key = identity
        .unwrap_key(&resp.wrap, &resp.space, &resp.epoch)
        .map_err(|_| Error::BadLinkCode)?;
    let commit = *crypto::derive(key.as_ref(), space::KEY_COMMIT_LABEL)?;
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
    let genesis_ok = space::genesis_epoch(&resp.space, &key)? == resp.epoch;
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
