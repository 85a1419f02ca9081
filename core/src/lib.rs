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
pub mod lock;
pub mod moderation;
pub mod order;
pub mod pairing;
pub mod reminders;
pub mod reports;
pub mod space;
pub mod store;
pub mod sync;

use std::path::Path;

pub use error::{Error, PushRefusal, Result};
pub use identity::person::{RecoveryPhrase, verify_device_certificate};
pub use journal::JournalEntry;
pub use sebaya_proto::invite::InviteId;
pub use sebaya_proto::membership::{InviteStatus, Role};
pub use sebaya_proto::programme::ProgrammeRole;
pub use sebaya_proto::{DeviceCertificate, DeviceId, PersonId, SpaceId};
#[cfg(any(test, feature = "test-escapes"))]
pub use space::rules::judged_as_rules_9_for_tests;
#[cfg(any(test, feature = "test-escapes"))]
pub use space::rules::rewraps::key_for_tests as rewrap_key_for_tests;
pub use sync::push::WebPushSubscription;
#[cfg(feature = "reqwest-client")]
pub use sync::relay::ReqwestClient;
pub use sync::relay::{Chunking, HttpClient, HttpRequest, HttpResponse, RelaySync, SyncReport};
pub use sync::stop::SyncStop;

use identity::Identity;
use identity::person::PersonKey;
use space::Space;
use store::Store;

pub(crate) const JOURNAL_SPACE: &str = "journal-space";

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
    /// Tests only: every automatic end fails (stands in for a log that takes no more statements).
    #[cfg(any(test, feature = "test-escapes"))]
    fail_automatic_ends: bool,
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
            #[cfg(any(test, feature = "test-escapes"))]
            fail_automatic_ends: false,
        })
    }

    /// The journal space, made (and its id kept in the vault) on first use: the first write makes
    /// it. The journal's entries, the safety plan and screening totals all live in its document.
    pub(crate) fn journal(&mut self) -> Result<&mut Space> {
        if self.journal.is_none() {
            let s = Space::create(&self.store, space::SpaceKind::Journal, &self.identity)?;
            self.store.kv_put(JOURNAL_SPACE, &s.id.0)?;
            self.journal = Some(s);
        }
        self.journal
            .as_mut()
            .ok_or(Error::Internal("journal missing"))
    }

    /// The store and the journal space borrowed apart, so a typed-view edit can persist (`NotFound`
    /// before the journal exists).
    pub(crate) fn parts(&mut self) -> Result<(&Store, &mut Space)> {
        let j = self.journal.as_mut().ok_or(Error::NotFound("journal"))?;
        Ok((&self.store, j))
    }

    /// Makes a new person on this device: fresh 128-bit entropy, from which the person root key
    /// (and the recovery and index keys) derive; certifies this device; keeps the root key sealed
    /// in the vault; starts the person's index (`space/index.rs`). Returns the recovery phrase (12
    /// words), which is never stored: show it once so the person writes it down. A vault that
    /// already has a person gives [`Error::AlreadyHasPerson`] and changes nothing.
    pub fn create_person(&mut self) -> Result<RecoveryPhrase> {
        let phrase = self.new_person()?;
        self.create_index()?;
        Ok(phrase)
    }

    /// Chooses the payload codec for envelopes sealed from now on (benchmarks compare them).
    pub fn set_codec(&mut self, codec: u8) -> Result<()> {
        if codec != space::CODEC_BUNDLE && codec != space::CODEC_DEFLATE_CHANGES {
            return Err(Error::InvalidInput("unknown payload codec".into()));
        }
        self.codec = codec;
        Ok(())
    }

    /// Makes every automatic end of this vault fail: **for tests only** (compiled in only with the
    /// `test-escapes` feature or under `cfg(test)`; the bindings never reach it). It stands in for
    /// an end the log cannot take (a pairing whose log a modified client filled).
    #[cfg(any(test, feature = "test-escapes"))]
    pub fn fail_automatic_ends_for_tests(&mut self, fail: bool) {
        self.fail_automatic_ends = fail;
    }

    #[cfg(any(test, feature = "test-escapes"))]
    fn injected_end_failure(&self) -> bool {
        self.fail_automatic_ends
    }

    #[cfg(not(any(test, feature = "test-escapes")))]
    fn injected_end_failure(&self) -> bool {
        false
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
        let fail = self.injected_end_failure();
        let mut failed_ends = 0u32;
        for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
            s.compact_if_needed(&self.store)?;
            if s.needs_rotation() {
                s.rotate(&self.store, &self.identity)?;
            }
            sealed += s.seal_outgoing(&self.store, &self.identity, codec)?;
            // The other party ended the pairing: this device ends its side, after what it wrote.
            // Never a reason to stop sealing the other spaces (a care record's referral must
            // leave): a failed end is noted and tried again next time.
            if s.needs_end() {
                match end_automatically(s, &self.store, &self.identity, fail) {
                    Ok(()) => sealed += 1,
                    Err(_) => failed_ends += 1,
                }
            }
            if s.snapshot_if_due(&self.store, &self.identity, every)?
                .is_some()
            {
                sealed += 1;
            }
        }
        note_failed_ends(failed_ends);
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
        self.drive_sync_until(http, sync, &SyncStop::new())
    }

    /// [`Vault::drive_sync`] that `stop` can end: checked before each request is sent, and a retry's wait
    /// ends the moment it is cancelled or its deadline comes (`Cancelled`, `DeadlineExceeded`). An
    /// answer that arrives is always taken first, so stopping loses nothing.
    pub fn drive_sync_until(
        &mut self,
        http: &dyn HttpClient,
        sync: &mut RelaySync,
        stop: &SyncStop,
    ) -> Result<()> {
        loop {
            // Asked first: when no request is left, the sync ends (and records itself) even if a
            // cancel came during the last one.
            let Some(req) = self.sync_next_request(sync)? else {
                return Ok(());
            };
            stop.check()?;
            match http.send(req) {
                Ok(resp) => self.sync_handle_response(sync, resp)?,
                Err(e) => stop.sleep(sync.network_failed(e)?)?,
            }
        }
    }

    /// Starts a sync: seals local changes and returns the state machine to drive.
    pub fn sync_begin(&mut self, relay_url: &str) -> Result<RelaySync> {
        self.sync_begin_sealing(relay_url, true)
    }

    /// What the domains do before anything leaves this device by any path (a relay sync, a peer
    /// session, a bundle) and after it joins a safeguarding space: safeguarding concerns waiting
    /// on this phone for a space to go to are written there (issue 14, item 14). Best effort:
    /// whatever cannot be written stays queued for the next time.
    pub(crate) fn before_sending(&mut self) {
        let _ = self.send_queued_concerns();
        // Earlier concerns wrapped for coordinator devices added since (review M2).
        let _ = self.rewrap_concerns();
        let _ = self.pass_on_reports();
        // Block notices that had to wait (review M5).
        let _ = self.send_block_notices();
    }

    /// [`Vault::sync_begin`], sealing due snapshots or not (see [`Vault::seal_pending_with`]).
    pub(crate) fn sync_begin_sealing(
        &mut self,
        relay_url: &str,
        snapshots: bool,
    ) -> Result<RelaySync> {
        self.refresh_index()?;
        self.scrub_index()?;
        self.bind_pairings_outside_programmes()?;
        self.before_sending();
        self.seal_pending_with(snapshots)?;
        let (posts, answers, taken) = self.join_outbox()?;
        let mut sync = self
            .recall_relay(RelaySync::new(relay_url))?
            .with_joins(posts, answers, taken)
            .with_erase(self.erasures_to_send()?)
            .with_erasure_statements(self.erasure_statements_to_send()?)
            .with_carried(self.carried()?);
        sync.care_first(
            self.shared
                .values()
                .filter(|s| {
                    matches!(
                        s.kind,
                        crate::space::SpaceKind::Care | crate::space::SpaceKind::Safeguarding
                    )
                })
                .map(|s| s.id)
                .collect(),
        );
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
        // Each pass either returns a request or moves the sync to a later phase; at most 5 passes.
        for _ in 0..5 {
            let next = if sync.recovery() {
                let (author, space) = self.recovery_parts()?;
                sync.next_request(&self.store, &author, &[space])?
            } else {
                // Care records first: referrals, acknowledgements and consents must not wait behind
                // a journal's backlog on a short connection; then the journal, then the rest.
                let care = |s: &&Space| s.kind == crate::space::SpaceKind::Care;
                let spaces: Vec<&Space> = self
                    .shared
                    .values()
                    .filter(care)
                    .chain(self.journal.iter())
                    .chain(self.shared.values().filter(|s| !care(s)))
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
            // The care records' own exchange is done: now every space.
            if sync.widen() {
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
            let statements = sync.take_erasure_statements();
            let erased = self.apply_erasure_statements(&confirmed, &seen, &statements)?;
            sync.note_erased(erased);
            // An admin's device that destroyed a space on another member's statement sends its
            // own in one more exchange, so the relay deletes the ciphertext now.
            let own = if erased > 0 {
                self.erasure_statements_to_send()?
            } else {
                Vec::new()
            };
            let erasing = !own.is_empty();
            if erasing {
                sync.send_erasures_again(own);
            }
            self.scrub_index()?;
            let adopted = self.follow_index()?;
            self.adopt_erase_carry_over()?;
            sync.note_from_index(adopted);
            let periods = self.follow_periods()?;
            sync.note_periods(periods);
            // A record that now says its participant is a minor takes back what the gates would
            // stop today (sharing, outcomes); the withdrawal is sealed and sent at the next sync.
            // Never a reason for the sync to fail (it carries the referrals): tried again next time.
            let _ = self.apply_minor_gates();
            // A removal learned in this exchange that the key in use does not follow: rotate now
            // and send the new key in one more exchange. An end of a pairing learned in it: end
            // this device's side (after sealing what it wrote) and send that too.
            let mut rotated = 0;
            let codec = self.codec;
            let fail = self.injected_end_failure();
            let mut failed_ends = 0u32;
            for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
                if s.needs_rotation() {
                    s.rotate(&self.store, &self.identity)?;
                    rotated += 1;
                }
                if s.needs_end() {
                    // Best effort, as in `seal_pending_with`: a failed end stops no other space.
                    match s
                        .seal_outgoing(&self.store, &self.identity, codec)
                        .and_then(|_| end_automatically(s, &self.store, &self.identity, fail))
                    {
                        Ok(()) => rotated += 1,
                        Err(_) => failed_ends += 1,
                    }
                }
            }
            note_failed_ends(failed_ends);
            let adopted = adopted + periods + rotated;
            let taken = self.taken_answers()?;
            if outcome.joined == 0 && adopted == 0 && taken.is_empty() && !erasing {
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
            sync.handle_response(&self.store, &keys.author, &mut [space], response)?;
            return self.remember_relay(sync);
        }
        let mut spaces: Vec<&mut Space> = self
            .journal
            .iter_mut()
            .chain(self.shared.values_mut())
            .collect();
        sync.handle_response(&self.store, &self.identity, &mut spaces, response)?;
        self.remember_relay(sync)
    }

    /// Syncs with the relay using the default HTTP client (feature `reqwest-client`; without it, drive
    /// [`Vault::sync_with`] with the platform's HTTP client).
    #[cfg(feature = "reqwest-client")]
    pub fn sync(&mut self, relay_url: &str) -> Result<SyncReport> {
        let http = ReqwestClient::new()?;
        self.sync_with(&http, relay_url)
    }
}

/// This device's own end of a pairing the other party ended (protocol 15.11), signed without being
/// asked; `fail` (tests only) makes it fail as a full log would.
fn end_automatically(s: &mut Space, store: &Store, identity: &Identity, fail: bool) -> Result<()> {
    if fail {
        return Err(Error::Internal(
            "the automatic end failed (injected for tests)",
        ));
    }
    s.end(store, identity)
}

/// Notes how many automatic ends failed (a count only: no space, device or content).
fn note_failed_ends(failed: u32) {
    if failed > 0 {
        log::warn!("{failed} automatic end(s) failed; tried again at the next sync");
    }
}
