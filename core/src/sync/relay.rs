//! Sync with a relay: one signed HTTP request pushes what the relay has not acknowledged and pulls what
//! this device lacks, for every space at once; paged answers continue until nothing is left.
//!
//! The exchange itself is a sans-I/O state machine, [`RelaySync`]: it hands out the next HTTP request
//! and takes the answer, touching the vault only in those two calls. Whoever drives it does the I/O, so
//! the FFI layer can release the vault between the two and a person can keep writing while a slow sync
//! waits on the network. HTTP sits behind [`HttpClient`] so an app can hand in its platform's HTTP
//! stack; `ReqwestClient` (blocking, rustls on ring; feature `reqwest-client`) is the desktop default. Every step is idempotent: an
//! interrupted sync loses nothing, and the next one re-sends only what the relay has not acknowledged.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use sebaya_proto::membership::{MAX_NEW_STATEMENTS_PER_REQUEST, MAX_NEW_STATEMENTS_PER_SPACE};
use sebaya_proto::sync::{
    self as wire, JoinAnswer, JoinPost, JoinTaken, MAX_AUTHORS, Rejected, SpaceVector, SyncRequest,
    SyncResponse,
};
use sebaya_proto::{DeviceId, Envelope, Kind, SpaceId};

use crate::crypto;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::space::Space;
use crate::store::Store;
use std::collections::{BTreeMap, HashMap, HashSet};

/// An HTTP request as the core needs it: small, explicit, easy for a platform to implement.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// "GET" or "POST".
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Extra headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
}

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The one network capability sync needs. Implementations return `Err` only when no HTTP answer
/// arrived (no route, timeout, TLS failure); any status code is an `Ok`.
pub trait HttpClient: Send + Sync {
    /// Sends one request and waits for its answer.
    fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, String>;
}

/// The default HTTP client: reqwest, blocking, rustls on ring (no OpenSSL, no second crypto library).
/// Only with the `reqwest-client` feature: the mobile library leaves it out and takes the platform's
/// HTTP stack instead (docs/size.md).
#[cfg(feature = "reqwest-client")]
pub struct ReqwestClient {
    client: reqwest::blocking::Client,
}

#[cfg(feature = "reqwest-client")]
impl ReqwestClient {
    /// Builds a client with a 60-second timeout per request.
    pub fn new() -> Result<ReqwestClient> {
        // Installing the provider twice is harmless; the second call reports the first one won.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Network(format!("cannot build HTTP client: {e}")))?;
        Ok(ReqwestClient { client })
    }
}

#[cfg(feature = "reqwest-client")]
impl HttpClient for ReqwestClient {
    fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, String> {
        let mut rb = match request.method.as_str() {
            "GET" => self.client.get(&request.url),
            "POST" => self.client.post(&request.url).body(request.body),
            other => return Err(format!("unsupported method {other}")),
        };
        for (k, v) in &request.headers {
            rb = rb.header(k, v);
        }
        let resp = rb.send().map_err(|e| describe_reqwest(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().map_err(|e| describe_reqwest(&e))?.to_vec();
        Ok(HttpResponse { status, body })
    }
}

#[cfg(feature = "reqwest-client")]
fn describe_reqwest(e: &reqwest::Error) -> String {
    // Never include the URL's query or any body: only the kind of failure.
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "request failed".into()
    }
}

/// What one sync did, for the app's status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Envelopes sent and acknowledged.
    pub pushed: u32,
    /// Envelopes received and newly stored.
    pub pulled: u32,
    /// Envelopes whose changes reached the document.
    pub applied: u32,
    /// Received envelopes set aside (content could not be applied).
    pub quarantined: u32,
    /// Pushed envelopes the relay refused.
    pub rejected: u32,
    /// Spaces the relay would not serve to this device (not, or no longer, a member).
    pub refused_spaces: u32,
    /// HTTP round trips made.
    pub round_trips: u32,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Join requests for this device's invites, opened and waiting for a decision.
    pub join_requests: u32,
    /// Join requests or answers refused on arrival: made without the invite's secret, forged, or for
    /// a join this device did not ask for.
    pub joins_refused: u32,
    /// Spaces this device started holding because an admin approved its join request.
    pub joined: u32,
    /// Spaces this device started holding from its person's index (after linking, or after restoring
    /// from the recovery phrase).
    pub from_index: u32,
    /// New periods of groups this device is in, started by a facilitator, now followed.
    pub new_periods: u32,
    /// Spaces whose content was deleted by destroying their key (by this device or another of the
    /// person's), now erased at the relay and on this device.
    pub erased: u32,
    /// Envelopes the relay would not take because it admits only programmes' people and did not
    /// admit this device or the space (`not-admitted`, even after this device showed its
    /// credentials): the app tells the person to ask their coordinator.
    pub not_admitted: u32,
    /// Requests sent again after no answer arrived (a cut, a stall that timed out, a lost answer).
    pub retries: u32,
    /// Envelopes sent again by those retries: only the chunk that was in flight, never one the relay
    /// had acknowledged.
    pub resent: u32,
}

/// What a device remembers of a relay between syncs (issue 16, item 3), so that a sync is one round
/// trip: the id its requests are signed for, how far its clock is from the device's, and the
/// programmes it admits. Each may go stale, and each is asked again when the relay's answer shows it
/// (protocol 9.6, rule 8): `bad-signature` for an id, `clock-skew` for the clock, `not-admitted` for
/// a listing of none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownRelay {
    /// The relay's id, hex (as `/v1/info` gives it).
    relay_id: String,
    /// The relay's clock minus the device's, in seconds, when last learned.
    offset: i64,
    /// The programmes the relay listed, hex.
    #[serde(default)]
    programmes: Vec<String>,
}

#[derive(Deserialize)]
struct RelayInfo {
    relay_id: String,
    time: u64,
    /// Programmes whose people the relay admits (protocol 9.8), hex; absent at a relay open to all.
    #[serde(default)]
    programmes: Vec<String>,
}

#[derive(Deserialize)]
struct RelayErrorBody {
    error: String,
    #[serde(default)]
    relay_time: Option<u64>,
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Largest push batch per request on a fast link, leaving room under the relay's message limit.
const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;
/// Most envelopes carried for others in one request, and most spaces they may name.
const MAX_CARRIED_PUSH: usize = 512;
const MAX_CARRIED_SPACES: usize = 64;
/// Largest answer page asked for on a fast link.
const PAGE_BYTES: u64 = 4 * 1024 * 1024;
/// Default chunk on a metered or slow link: about 10 s at 50 kbit/s, so one request fits well inside
/// an HTTP client's timeout and a cut costs at most that much.
pub const METERED_CHUNK_BYTES: u64 = 64 * 1024;
/// Smallest chunk a policy may set: below it, signatures and vectors outweigh the envelopes.
pub const MIN_CHUNK_BYTES: u64 = 4 * 1024;
/// Requests sent again in a row before a sync gives up (it resumes on the next call).
const DEFAULT_RETRIES: u32 = 3;
/// First wait before a retry; it doubles with each failure in a row, up to [`MAX_BACKOFF_MS`].
const DEFAULT_BACKOFF_MS: u64 = 250;
const MAX_BACKOFF_MS: u64 = 30_000;

/// How one sync spends the link: how much one request pushes and one answer page brings, and how it
/// rides out requests that got no answer. Small chunks on a slow or metered link make a sync
/// resumable: every answer acknowledges what its request pushed (the relay's vectors), so a cut loses
/// at most the chunk in flight, and a retry re-sends nothing acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    /// Most envelope bytes pushed per request (one larger envelope still goes, alone).
    pub push_bytes: usize,
    /// Most envelope bytes asked per answer page (the relay sends at least one envelope).
    pub page_bytes: u64,
    /// Requests without an answer retried in a row before the sync stops with a network error.
    pub retries: u32,
    /// First wait before a retry, ms; doubles with each failure in a row (at most 30 s).
    pub backoff_ms: u64,
}

impl Default for Chunking {
    /// A fast link: large batches, the relay's own page limit.
    fn default() -> Chunking {
        Chunking {
            push_bytes: MAX_PUSH_BYTES,
            page_bytes: PAGE_BYTES,
            retries: DEFAULT_RETRIES,
            backoff_ms: DEFAULT_BACKOFF_MS,
        }
    }
}

impl Chunking {
    /// A slow or metered link: `chunk` bytes each way per request (0: [`METERED_CHUNK_BYTES`]),
    /// clamped to [`MIN_CHUNK_BYTES`] and the fast-link sizes.
    pub fn chunked(chunk: u64) -> Chunking {
        let c = if chunk == 0 {
            METERED_CHUNK_BYTES
        } else {
            chunk.clamp(MIN_CHUNK_BYTES, PAGE_BYTES)
        };
        Chunking {
            push_bytes: usize::try_from(c).unwrap_or(MAX_PUSH_BYTES),
            page_bytes: c,
            ..Chunking::default()
        }
    }
}
/// Round trips after which a sync stops and reports (it resumes on the next call).
const MAX_ROUNDS: u32 = 10_000;
/// The relay's reason for statements it left unjudged (`server/src/exchange/push.rs`, protocol 9.5).
const TOO_MANY_STATEMENTS: &str = "too-many-statements";

enum Stage {
    /// Ask the relay for its id and clock.
    Info,
    /// Exchange vectors and envelopes; `retry` re-sends the previous body once after a clock fix.
    Exchange { retry: Option<Vec<u8>> },
    /// Finished.
    Done,
}

/// One sync with one relay, as a state machine: call [`RelaySync::next_request`], send it, hand the
/// answer to [`RelaySync::handle_response`], until `next_request` returns `None`.
pub struct RelaySync {
    base: String,
    stage: Stage,
    relay_id: Vec<u8>,
    offset: i64,
    /// Envelope ids sent in this sync, so a refused one is not re-sent in a loop.
    sent: HashSet<[u8; 32]>,
    /// What the request in flight pushed, and whether a push batch was cut short.
    in_flight: (u32, bool),
    /// Ids of the envelopes the request in flight pushed, in order: a `too-many-statements` refusal
    /// names one by its index, and it goes again in the next request.
    in_flight_ids: Vec<[u8; 32]>,
    /// (space, author, seq) of each envelope of the request in flight that came from a space this
    /// device holds (`None` for carried ones), to find what a `conflict` refers to.
    in_flight_heads: Vec<Option<(SpaceId, DeviceId, u64)>>,
    last_body: Vec<u8>,
    rounds: u32,
    report: SyncReport,
    joins: JoinExchange,
    /// While true the exchange pulls the person's index as the index author (recovery from the
    /// phrase); join requests and answers wait for the device's own exchange.
    recovery: bool,
    /// Envelopes this device carries for others (`carry.rs`), pushed once with its own exchange; and
    /// the ids of those the relay answered for.
    carried: Vec<Vec<u8>>,
    carried_sent: Vec<[u8; 32]>,
    carried_done: Vec<[u8; 32]>,
    /// When set, the only spaces this sync covers (a policy's urgent scope).
    only: Option<Vec<SpaceId>>,
    /// The first exchange names the care records alone; then every space ([`RelaySync::widen`]).
    widen_after: bool,
    /// Spaces whose refused own envelopes were sealed again in this sync (at most once each).
    resealed: Vec<SpaceId>,
    /// Spaces to ask the relay to erase (section 23), sent once with the device's own exchange.
    erase: Vec<SpaceId>,
    erase_sent: bool,
    /// Signed erasure statements of shared spaces (section 23.2), sent with the same exchange.
    erasure_statements: Vec<Vec<u8>>,
    /// Erasure statements the relay handed over, since the last call.
    erasures_in: Vec<Vec<u8>>,
    /// Spaces whose erasure the relay answered (erased, or refused), and spaces it refused to serve
    /// because they were erased.
    erased: (Vec<SpaceId>, Vec<SpaceId>),
    chunking: Chunking,
    /// Requests in a row that got no answer.
    failures: u32,
    /// The proof of admission to send with the next request, once the relay answered `not-admitted`
    /// (protocol 9.8); sent at most once per sync.
    admission: Option<sebaya_proto::sync::Admission>,
    admission_sent: bool,
    /// The programmes the relay lists in `/v1/info`: a proof goes only to a relay listing some, and
    /// holds only their grants.
    listed: Vec<[u8; 32]>,
    /// The relay's id, clock and programmes came from an earlier sync and no answer of this one has
    /// confirmed them yet: a refusal that stale knowledge explains sends the sync to ask again.
    remembered: bool,
    /// The relay's id, clock or programmes changed in this sync: the vault keeps them for the next.
    learned: bool,
    /// `/v1/info` was asked in this sync: what the relay lists is known fresh.
    asked: bool,
    /// The body to send again once the relay's id is asked again (it was refused for its signature).
    resend: Option<Vec<u8>>,
    /// Asked again because the relay refused `not-admitted` while remembered as listing nothing: the
    /// proof goes with the next request if the fresh listing names a programme.
    prove_after_info: bool,
}

/// What one sync sends and brings for invites (section 18), kept until the vault takes it.
#[derive(Default)]
pub(crate) struct JoinExchange {
    /// Join requests to leave at the relay (sent with the first exchange).
    pub posts: Vec<JoinPost>,
    /// Answers to leave at the relay (sent with the first exchange).
    pub answers: Vec<JoinAnswer>,
    /// Answers this device took, for the relay to forget (sent with each exchange's first request).
    pub forget: Vec<JoinTaken>,
    taken_sent: bool,
    sent: bool,
    /// Answers go with the request that carries the last push batch, so the `admit` each needs is
    /// pushed in the same request or before it.
    answers_sent: bool,
    /// Refusals of `posts`, by index.
    pub refused_posts: Vec<Rejected>,
    /// Refusals of `answers`, by index.
    pub refused_answers: Vec<Rejected>,
    /// Requests delivered for this device's invites.
    pub requests: Vec<JoinPost>,
    /// Answers delivered for this device.
    pub delivered: Vec<JoinAnswer>,
    /// Whether the vault has taken the results of the finished exchange.
    taken: bool,
}

impl RelaySync {
    /// A sync with the relay at `base_url`.
    pub fn new(base_url: &str) -> RelaySync {
        RelaySync {
            base: base_url.trim_end_matches('/').to_string(),
            stage: Stage::Info,
            relay_id: Vec::new(),
            offset: 0,
            sent: HashSet::new(),
            in_flight: (0, false),
            in_flight_ids: Vec::new(),
            in_flight_heads: Vec::new(),
            last_body: Vec::new(),
            rounds: 0,
            report: SyncReport::default(),
            joins: JoinExchange::default(),
            recovery: false,
            only: None,
            widen_after: false,
            resealed: Vec::new(),
            carried: Vec::new(),
            carried_sent: Vec::new(),
            carried_done: Vec::new(),
            erase: Vec::new(),
            erase_sent: false,
            erasure_statements: Vec::new(),
            erasures_in: Vec::new(),
            erased: (Vec::new(), Vec::new()),
            chunking: Chunking::default(),
            failures: 0,
            admission: None,
            admission_sent: false,
            listed: Vec::new(),
            remembered: false,
            learned: false,
            asked: false,
            resend: None,
            prove_after_info: false,
        }
    }

    /// Starts from what an earlier sync learned of this relay: the first request is then the
    /// exchange itself, one round trip in all when nothing else is needed. A `known` that does not
    /// read (a damaged setting) is ignored and the relay is asked.
    pub(crate) fn with_known(mut self, known: &KnownRelay) -> RelaySync {
        let Ok(relay_id) = hex::decode(&known.relay_id) else {
            return self;
        };
        if relay_id.is_empty() {
            return self;
        }
        self.relay_id = relay_id;
        self.offset = known.offset;
        self.listed = read_listed(&known.programmes);
        self.remembered = true;
        self.stage = Stage::Exchange { retry: None };
        self
    }

    /// The relay's id, clock and programmes, once this sync has learned them anew (from `/v1/info`
    /// or a clock correction), for the vault to keep; `None` when nothing changed since the last
    /// call.
    pub(crate) fn take_learned(&mut self) -> Option<KnownRelay> {
        if !std::mem::take(&mut self.learned) || self.relay_id.is_empty() {
            return None;
        }
        Some(KnownRelay {
            relay_id: hex::encode(&self.relay_id),
            offset: self.offset,
            programmes: self.listed.iter().map(hex::encode).collect(),
        })
    }

    /// The relay's id and clock offset when known (from an earlier sync or this one): what a wait
    /// (section 28) is signed with.
    pub(crate) fn signer(&self) -> Option<(&[u8], i64)> {
        (!self.relay_id.is_empty()).then_some((self.relay_id.as_slice(), self.offset))
    }

    /// The relay's base address, which names what the vault remembers of it.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sets how much each request carries and how failures are retried (before the first request).
    pub fn set_chunking(&mut self, chunking: Chunking) {
        self.chunking = chunking;
    }

    /// The chunking in force.
    pub fn chunking(&self) -> Chunking {
        self.chunking
    }

    /// Tells the sync that the last request got no answer (`reason`: the client's error). The
    /// request may or may not have reached the relay; either way re-sending is safe: the same body
    /// goes again under a fresh signature and request id (the relay refuses a repeated id), and the
    /// relay stores an envelope, join request or erasure it already holds as a harmless duplicate.
    /// Returns how long to wait before the next request, or a network error once the retries in a
    /// row are spent (the sync is then over; the next one re-sends only what is unacknowledged).
    pub fn network_failed(&mut self, reason: String) -> Result<std::time::Duration> {
        self.failures += 1;
        if self.failures > self.chunking.retries || matches!(self.stage, Stage::Done) {
            self.stage = Stage::Done;
            return Err(Error::Network(reason));
        }
        if let Stage::Exchange { retry } = &mut self.stage {
            if !self.last_body.is_empty() {
                *retry = Some(std::mem::take(&mut self.last_body));
                self.report.resent += self.in_flight.0;
            }
        }
        self.report.retries += 1;
        let shift = (self.failures - 1).min(16);
        let ms = self
            .chunking
            .backoff_ms
            .saturating_mul(1u64 << shift)
            .min(MAX_BACKOFF_MS);
        // Equal jitter: half the wait fixed, half random, so devices cut off by one outage do not
        // all come back at the same instant (a failed random source falls back to the full wait).
        let half = ms / 2;
        let spread = crate::crypto::random::<8>()
            .map(|b| u64::from_le_bytes(b) % (ms - half + 1))
            .unwrap_or(ms - half);
        Ok(std::time::Duration::from_millis(half + spread))
    }

    /// Limits the sync to `spaces` (None: every space).
    pub(crate) fn set_only(&mut self, spaces: Option<Vec<SpaceId>>) {
        self.only = spaces;
        self.widen_after = false;
    }

    /// Makes the first exchange of an unlimited sync name `care` alone (the device's care records):
    /// the relay sees ciphertext and pages its answers in arrival order, so only asking for them
    /// first brings referrals and acknowledgements before any other space's backlog. Then
    /// [`RelaySync::widen`] opens the sync to every space.
    pub(crate) fn care_first(&mut self, care: Vec<SpaceId>) {
        if self.only.is_none() && !care.is_empty() {
            self.only = Some(care);
            self.widen_after = true;
        }
    }

    /// After the care records' exchange: every space, in a further exchange. False when there is
    /// nothing to widen.
    pub(crate) fn widen(&mut self) -> bool {
        if !self.widen_after || !matches!(self.stage, Stage::Done) || self.relay_id.is_empty() {
            return false;
        }
        self.widen_after = false;
        self.only = None;
        self.again();
        true
    }

    /// Whether this sync covers `space`.
    pub(crate) fn covers(&self, space: &SpaceId) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(space))
    }

    /// Hands the sync the envelopes this device carries for others.
    pub(crate) fn with_carried(mut self, envelopes: Vec<Vec<u8>>) -> RelaySync {
        self.carried = envelopes;
        self
    }

    /// Ids of carried envelopes the relay answered for (accepted or refused), since the last call.
    pub(crate) fn take_carried_done(&mut self) -> Vec<[u8; 32]> {
        std::mem::take(&mut self.carried_done)
    }

    /// Hands the sync the spaces to ask the relay to erase.
    pub(crate) fn with_erase(mut self, spaces: Vec<SpaceId>) -> RelaySync {
        self.erase = spaces;
        self
    }

    /// Hands the sync the signed erasure statements to send (section 23.2).
    pub(crate) fn with_erasure_statements(mut self, statements: Vec<Vec<u8>>) -> RelaySync {
        self.erasure_statements = statements;
        self
    }

    /// Sends `statements` with the next exchange of this sync (its spaces' erasures were sent
    /// already): an admin's device that destroyed a space on a member's statement has the relay
    /// delete it now, not at its next sync.
    pub(crate) fn send_erasures_again(&mut self, statements: Vec<Vec<u8>>) {
        self.erasure_statements = statements;
        self.erase_sent = false;
    }

    /// The erasure statements the relay handed over, since the last call.
    pub(crate) fn take_erasure_statements(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.erasures_in)
    }

    /// The spaces the relay confirmed erased and those it refused as erased, since the last call.
    pub(crate) fn take_erasures(&mut self) -> (Vec<SpaceId>, Vec<SpaceId>) {
        std::mem::take(&mut self.erased)
    }

    /// Counts spaces dropped because they were erased.
    pub(crate) fn note_erased(&mut self, n: u32) {
        self.report.erased += n;
    }

    /// Whether the exchange runs as the index author (see [`RelaySync::set_recovery`]).
    pub(crate) fn recovery(&self) -> bool {
        self.recovery
    }

    /// Switches between pulling the index as its author and the device's own exchange.
    pub(crate) fn set_recovery(&mut self, on: bool) {
        self.recovery = on;
    }

    /// Hands the sync what it carries for invites: join requests to leave and answers to deliver.
    pub(crate) fn with_joins(
        mut self,
        posts: Vec<JoinPost>,
        answers: Vec<JoinAnswer>,
        taken: Vec<JoinTaken>,
    ) -> RelaySync {
        self.joins.posts = posts;
        self.joins.answers = answers;
        self.joins.forget = taken;
        self
    }

    /// Answers taken since the exchange began, to send with the next exchange's first request.
    pub(crate) fn set_taken(&mut self, taken: Vec<JoinTaken>) {
        self.joins.forget = taken;
        self.joins.taken_sent = false;
    }

    /// Once the exchange is done, what it brought for invites (once; `None` after the first call or
    /// while the exchange runs).
    pub(crate) fn take_joins(&mut self) -> Option<JoinExchange> {
        if !matches!(self.stage, Stage::Done) || self.joins.taken || self.recovery {
            return None;
        }
        let taken = std::mem::take(&mut self.joins);
        self.joins.taken = true;
        self.joins.sent = true;
        self.joins.answers_sent = true;
        Some(taken)
    }

    /// Runs one more exchange after a finished one (a join answer brought a new space to pull).
    pub(crate) fn again(&mut self) {
        if matches!(self.stage, Stage::Done) && !self.relay_id.is_empty() {
            self.stage = Stage::Exchange { retry: None };
            self.joins.taken = false;
        }
    }

    /// Adds what the vault did with invites to the report.
    pub(crate) fn note_joins(&mut self, received: u32, refused: u32, joined: u32) {
        self.report.join_requests += received;
        self.report.joins_refused += refused;
        self.report.joined += joined;
    }

    /// Adds the new group periods this device started following to the report.
    pub(crate) fn note_periods(&mut self, n: u32) {
        self.report.new_periods += n;
    }

    /// Adds the spaces taken from the person's index to the report.
    pub(crate) fn note_from_index(&mut self, n: u32) {
        self.report.from_index += n;
    }

    /// What the sync has done so far.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// The next request to send, or `None` when the sync is complete.
    pub fn next_request(
        &mut self,
        store: &Store,
        identity: &Identity,
        spaces: &[&Space],
    ) -> Result<Option<HttpRequest>> {
        match &mut self.stage {
            Stage::Done => Ok(None),
            Stage::Info => Ok(Some(HttpRequest {
                method: "GET".into(),
                url: format!("{}/v1/info", self.base),
                headers: vec![],
                body: vec![],
            })),
            Stage::Exchange { retry } => {
                let body = match retry.take() {
                    Some(b) => b,
                    None => self.build_body(store, spaces)?,
                };
                self.last_body = body.clone();
                self.report.bytes_sent += body.len() as u64;
                Ok(Some(super::signed::signed_cbor_post(
                    identity,
                    (&self.relay_id, self.offset),
                    &self.base,
                    "/v1/sync",
                    body,
                )?))
            }
        }
    }

    fn build_body(&mut self, store: &Store, spaces: &[&Space]) -> Result<Vec<u8>> {
        // A space whose vector lists more authors than the protocol carries is left out alone: the
        // relay would refuse it, and the request's other spaces must go on (issue 15, item 3).
        let spaces: Vec<&Space> = spaces
            .iter()
            .filter(|s| s.vector.contiguous().len() <= MAX_AUTHORS)
            .copied()
            .collect();
        let spaces = spaces.as_slice();
        let mut push: Vec<serde_bytes::ByteBuf> = Vec::new();
        let mut push_ids: Vec<[u8; 32]> = Vec::new();
        let mut push_heads: Vec<Option<(SpaceId, DeviceId, u64)>> = Vec::new();
        let mut push_bytes = 0usize;
        let mut cut = false;
        // Membership statements pushed, per space and in all: the relay judges only so many per
        // request (`too-many-statements`), so the rest wait for the next request of this sync.
        let mut statements: HashMap<SpaceId, usize> = HashMap::new();
        let mut statements_in_all = 0usize;
        let is_statement =
            |env: &[u8]| Envelope::parse(env).is_ok_and(|e| e.kind() == Kind::Membership);
        'spaces: for s in spaces {
            for env in s.unacked(store)? {
                let id = crypto::sha256(&env);
                if self.sent.contains(&id) {
                    continue;
                }
                if push_bytes + env.len() > self.chunking.push_bytes && !push.is_empty() {
                    cut = true;
                    break 'spaces;
                }
                if is_statement(&env) {
                    let here = statements.entry(s.id).or_default();
                    if *here >= MAX_NEW_STATEMENTS_PER_SPACE
                        || statements_in_all >= MAX_NEW_STATEMENTS_PER_REQUEST
                    {
                        cut = true;
                        break 'spaces;
                    }
                    *here += 1;
                    statements_in_all += 1;
                }
                push_bytes += env.len();
                self.sent.insert(id);
                push_ids.push(id);
                push_heads.push(
                    Envelope::parse(&env)
                        .and_then(|e| e.header())
                        .ok()
                        .map(|h| (h.space, h.author, h.seq)),
                );
                push.push(serde_bytes::ByteBuf::from(env));
            }
        }
        // Envelopes carried for others ride along once, with room left, never during recovery: the
        // relay judges each by its author; their spaces are named with an empty vector (the relay
        // will not serve them to this device, and nothing is expected back).
        let mut named: Vec<SpaceVector> = spaces
            .iter()
            .map(|s| SpaceVector::new(s.id, s.vector.contiguous()))
            .collect();
        if !cut && !self.recovery && !self.carried.is_empty() {
            let mut extra: Vec<SpaceId> = Vec::new();
            for env in std::mem::take(&mut self.carried) {
                let Ok((space, kind)) = Envelope::parse(&env).map(|e| (e.space(), e.kind())) else {
                    continue;
                };
                if spaces.iter().any(|s| s.id == space)
                    || push.len() >= MAX_CARRIED_PUSH
                    || push_bytes + env.len() > self.chunking.push_bytes
                {
                    continue;
                }
                // Statements beyond what the relay judges in one request stay carried for the next
                // sync.
                if kind == Kind::Membership {
                    let here = statements.entry(space).or_default();
                    if *here >= MAX_NEW_STATEMENTS_PER_SPACE
                        || statements_in_all >= MAX_NEW_STATEMENTS_PER_REQUEST
                    {
                        continue;
                    }
                    *here += 1;
                    statements_in_all += 1;
                }
                if !extra.contains(&space) {
                    if named.len() + extra.len() >= MAX_CARRIED_SPACES + spaces.len() {
                        continue;
                    }
                    extra.push(space);
                }
                push_bytes += env.len();
                let id = crypto::sha256(&env);
                self.carried_sent.push(id);
                push_ids.push(id);
                push_heads.push(None);
                push.push(serde_bytes::ByteBuf::from(env));
            }
            named.extend(
                extra
                    .into_iter()
                    .map(|s| SpaceVector::new(s, &BTreeMap::new())),
            );
        }
        self.in_flight = (push.len() as u32, cut);
        self.in_flight_ids = push_ids;
        self.in_flight_heads = push_heads;
        let req = SyncRequest {
            v: wire::SYNC_VERSION,
            spaces: named,
            envelopes: push,
            max_response_bytes: self.chunking.page_bytes,
            join_requests: if self.joins.sent || self.recovery {
                Vec::new()
            } else {
                self.joins.posts.clone()
            },
            // Not in the care records' own first exchange: an answer's admitting statement is in
            // a space that exchange does not push, and the relay would refuse it (`not-authorised`).
            join_answers: if self.joins.answers_sent || self.recovery || cut || self.widen_after {
                Vec::new()
            } else {
                self.joins.answers.clone()
            },
            taken_join_answers: if self.joins.taken_sent || self.recovery {
                Vec::new()
            } else {
                self.joins.forget.clone()
            },
            // Kept until an answer arrives: a request lost on the way is built again with it.
            admission: self.admission.clone(),
            erase: if self.erase_sent || self.recovery {
                Vec::new()
            } else {
                self.erase
                    .iter()
                    .take(sebaya_proto::sync::MAX_ERASE)
                    .map(|s| serde_bytes::ByteBuf::from(s.0.to_vec()))
                    .collect()
            },
            erasures: if self.erase_sent || self.recovery {
                Vec::new()
            } else {
                self.erasure_statements
                    .iter()
                    .take(sebaya_proto::sync::MAX_ERASE)
                    .map(|s| serde_bytes::ByteBuf::from(s.clone()))
                    .collect()
            },
        };
        if !self.recovery {
            self.erase_sent = true;
        }
        if !self.recovery {
            self.joins.taken_sent = true;
        }
        if !self.recovery {
            self.joins.sent = true;
            if !cut && !self.widen_after {
                self.joins.answers_sent = true;
            }
        }
        Ok(wire::encode(&req)?)
    }

    /// Takes the answer to the last request. A network failure is not an answer: the caller reports it
    /// and drops this sync; everything acknowledged so far stays acknowledged.
    pub fn handle_response(
        &mut self,
        store: &Store,
        identity: &Identity,
        spaces: &mut [&mut Space],
        resp: HttpResponse,
    ) -> Result<()> {
        self.report.round_trips += 1;
        self.report.bytes_received += resp.body.len() as u64;
        self.failures = 0;
        match self.stage {
            Stage::Done => Ok(()),
            Stage::Info => {
                if resp.status != 200 {
                    return Err(Error::Relay {
                        status: resp.status,
                        code: "info-unavailable".into(),
                    });
                }
                let bad = || Error::Relay {
                    status: 200,
                    code: "bad-info".into(),
                };
                let info: RelayInfo = serde_json::from_slice(&resp.body).map_err(|_| bad())?;
                self.relay_id = hex::decode(&info.relay_id).map_err(|_| bad())?;
                self.listed = read_listed(&info.programmes);
                self.offset = info.time as i64 - now_secs();
                self.remembered = false;
                self.learned = true;
                self.asked = true;
                if std::mem::take(&mut self.prove_after_info) {
                    self.admission = self.proof(store, identity);
                }
                self.stage = Stage::Exchange {
                    retry: self.resend.take(),
                };
                Ok(())
            }
            Stage::Exchange { .. } => {
                if resp.status != 200 {
                    let err: Option<RelayErrorBody> = serde_json::from_slice(&resp.body).ok();
                    let code = err
                        .as_ref()
                        .map(|e| e.error.clone())
                        .unwrap_or_else(|| "unknown".into());
                    // A relay remembered from an earlier sync that does not know the signature: the
                    // address now leads to another relay (or one restored without its id). Ask it
                    // who it is, once, and send the same body again.
                    if code == "bad-signature" && self.remembered && !self.last_body.is_empty() {
                        self.remembered = false;
                        self.resend = Some(std::mem::take(&mut self.last_body));
                        self.stage = Stage::Info;
                        return Ok(());
                    }
                    if code == "clock-skew" && !self.last_body.is_empty() {
                        if let Some(t) = err.and_then(|e| e.relay_time) {
                            // The relay's clock wins; re-sign the same body once.
                            self.offset = t as i64 - now_secs();
                            self.learned = true;
                            let body = std::mem::take(&mut self.last_body);
                            self.stage = Stage::Exchange { retry: Some(body) };
                            return Ok(());
                        }
                    }
                    self.stage = Stage::Done;
                    return Err(Error::Relay {
                        status: resp.status,
                        code,
                    });
                }
                self.last_body.clear();
                let answer: SyncResponse = wire::decode(&resp.body)?;
                answer.check()?;
                // Statements the relay left unjudged (more than it judges in one request) go again:
                // this device's own in the next request of this sync, carried ones at the next sync.
                let unjudged: HashSet<[u8; 32]> = answer
                    .rejected
                    .iter()
                    .filter(|r| r.reason == TOO_MANY_STATEMENTS)
                    .filter_map(|r| self.in_flight_ids.get(r.index as usize).copied())
                    .collect();
                for id in &unjudged {
                    self.sent.remove(id);
                }
                self.carried_sent.retain(|id| !unjudged.contains(id));
                let mut again = !unjudged.is_empty();
                // The answer came: the proof it carried, if any, has done its work.
                self.admission = None;
                // Envelopes of this device's spaces the relay did not admit: once per sync, the device
                // shows its credentials (protocol 9.8) to a relay that lists programmes, and pushes
                // them again in the next request, with what waited on a refused genesis. Carried
                // envelopes are others' and are not pushed again.
                // This device's own pushes: its spaces' envelopes, whoever signed them (its index
                // author's too); carried ones have no head.
                let own = |r: &Rejected| {
                    self.in_flight_heads
                        .get(r.index as usize)
                        .copied()
                        .flatten()
                        .is_some()
                };
                let not_admitted: Vec<&Rejected> = answer
                    .rejected
                    .iter()
                    .filter(|r| r.reason == sebaya_proto::reason::NOT_ADMITTED && own(r))
                    .collect();
                let mut retried = 0u32;
                // Own envelopes this answer sends again in this sync (counted once in `retried`).
                let mut requeued: HashSet<[u8; 32]> = HashSet::new();
                // What the relay lists was remembered from an earlier sync: it may list this
                // person's programme now. Ask it again (once per sync) and show a proof built from
                // the fresh listing.
                let ask_again = !self.asked;
                if !not_admitted.is_empty()
                    && !self.admission_sent
                    && (!self.listed.is_empty() || ask_again)
                {
                    self.admission_sent = true;
                    let proof = if ask_again {
                        None
                    } else {
                        self.proof(store, identity)
                    };
                    if proof.is_some() || ask_again {
                        self.prove_after_info = ask_again;
                        self.admission = proof;
                        let again_ids: Vec<[u8; 32]> = answer
                            .rejected
                            .iter()
                            .filter(|r| {
                                own(r)
                                    && (r.reason == sebaya_proto::reason::NOT_ADMITTED
                                        || r.reason == sebaya_proto::reason::UNKNOWN_SPACE)
                            })
                            .filter_map(|r| self.in_flight_ids.get(r.index as usize).copied())
                            .collect();
                        for id in &again_ids {
                            self.sent.remove(id);
                        }
                        retried = again_ids.len() as u32;
                        requeued.extend(again_ids);
                        again = true;
                    }
                }
                if retried == 0 {
                    self.report.not_admitted += not_admitted.len() as u32;
                }
                // The relay judged every other carried envelope of this request: accepted or
                // refused, there is nothing more to do with it.
                self.carried_done.append(&mut self.carried_sent);
                let (pushed_now, cut) = self.in_flight;
                self.report.rejected += (answer.rejected.len() as u32).saturating_sub(retried);
                for r in &answer.rejected {
                    log::debug!(
                        target: "sebaya::sync",
                        "the relay refused an envelope: {}",
                        loggable_code(&r.reason)
                    );
                }
                self.report.refused_spaces = answer.refused_spaces.len() as u32;
                self.report.pushed += pushed_now.saturating_sub(answer.rejected.len() as u32);
                self.joins
                    .refused_posts
                    .extend(answer.refused_join_requests.iter().cloned());
                self.joins
                    .refused_answers
                    .extend(answer.refused_join_answers.iter().cloned());
                self.joins
                    .requests
                    .extend(answer.join_requests.iter().cloned());
                self.joins
                    .delivered
                    .extend(answer.join_answers.iter().cloned());
                // Erased or refused: either way the relay has answered, and asking again changes
                // nothing.
                for e in answer
                    .erased
                    .iter()
                    .map(|b| b.as_slice())
                    .chain(answer.refused_erase.iter().map(|r| r.space.as_slice()))
                {
                    if let Ok(id) = SpaceId::from_slice(e) {
                        self.erased.0.push(id);
                    }
                }
                self.erasures_in
                    .extend(answer.erasures.iter().map(|s| s.to_vec()));
                for r in &answer.refused_spaces {
                    if r.reason == "erased" {
                        if let Ok(id) = SpaceId::from_slice(&r.space) {
                            self.erased.1.push(id);
                        }
                    }
                }
                // This device's own envelopes the relay refused because it holds different ones at
                // those numbers (a vault restored from an older copy): sealed again above the
                // relay's counter after its vector is taken, and sent in one more request.
                let refused_own: Vec<(SpaceId, u64)> = answer
                    .rejected
                    .iter()
                    .filter(|r| r.reason == sebaya_proto::reason::CONFLICT)
                    .filter_map(|r| {
                        self.in_flight_heads
                            .get(r.index as usize)
                            .copied()
                            .flatten()
                    })
                    .filter(|(_, author, _)| *author == identity.device)
                    .map(|(space, _, seq)| (space, seq))
                    .collect();
                // Spaces the relay holds no genesis of (9.6): whatever an earlier answer counted is
                // not there now (another relay at this address, or one restored from an older
                // backup). This device counts nothing as held there and pushes the space again from
                // its start, in this sync, its refused envelopes included.
                let unknown: Vec<SpaceId> = answer
                    .refused_spaces
                    .iter()
                    .filter(|r| r.reason == sebaya_proto::reason::UNKNOWN_SPACE)
                    .filter_map(|r| SpaceId::from_slice(&r.space).ok())
                    .collect();
                let incoming: Vec<Vec<u8>> =
                    answer.envelopes.into_iter().map(|b| b.into_vec()).collect();
                for s in spaces.iter_mut() {
                    let mine: Vec<Vec<u8>> = incoming
                        .iter()
                        .filter(|e| e.len() >= 22 && e[6..22] == s.id.0)
                        .cloned()
                        .collect();
                    // The relay's vector first: a snapshot in this answer may stand for envelopes
                    // only this vector shows exist (protocol 26.3).
                    if let Some(v) = answer.spaces.iter().find(|v| v.space == s.id.0) {
                        // A vector that does not read (too many authors, an author twice) sets
                        // this space aside for this answer, and only this space (issue 15, item
                        // 3).
                        let Ok((_, acked)) = v.parse() else {
                            self.report.refused_spaces += 1;
                            continue;
                        };
                        s.set_relay_acked(store, acked)?;
                    }
                    if unknown.contains(&s.id) && s.relay_counts_any() {
                        s.set_relay_acked(store, BTreeMap::new())?;
                        let refused: Vec<[u8; 32]> = answer
                            .rejected
                            .iter()
                            .filter(|r| r.reason == sebaya_proto::reason::UNKNOWN_SPACE)
                            .filter(|r| {
                                self.in_flight_heads
                                    .get(r.index as usize)
                                    .copied()
                                    .flatten()
                                    .is_some_and(|(space, _, _)| space == s.id)
                            })
                            .filter_map(|r| self.in_flight_ids.get(r.index as usize).copied())
                            .filter(|id| !requeued.contains(id))
                            .collect();
                        for id in &refused {
                            self.sent.remove(id);
                        }
                        // Sent again in this sync: not refusals the app needs to hear of.
                        self.report.rejected =
                            self.report.rejected.saturating_sub(refused.len() as u32);
                        again = true;
                    }
                    let here = s.id;
                    // Once per space per sync: a relay answering `conflict` to everything must not
                    // make the device re-seal round after round (the next sync tries again).
                    let refused_here: Vec<u64> = refused_own
                        .iter()
                        .filter(|(space, _)| *space == here)
                        .map(|(_, seq)| *seq)
                        .collect();
                    if !refused_here.is_empty() && !self.resealed.contains(&here) {
                        self.resealed.push(here);
                        for seq in refused_here {
                            again |= s.reseal_refused(store, identity, seq)?;
                        }
                    }
                    if !mine.is_empty() {
                        let r = s.receive(store, identity, &mine)?;
                        self.report.pulled += r.stored;
                        self.report.applied += r.applied;
                        self.report.quarantined += r.quarantined;
                        // Statements left for later come again in the next answer, as long as
                        // each round takes some.
                        again |= r.deferred > 0 && r.stored > 0;
                    }
                }
                self.rounds += 1;
                // Whatever this answer held, the relay took this device's signature: what was
                // remembered of it is confirmed (a listing asked again goes to `Info` below, which
                // confirms it afresh).
                self.remembered = false;
                self.stage = if self.prove_after_info && self.rounds < MAX_ROUNDS {
                    Stage::Info
                } else if (answer.more || cut || again) && self.rounds < MAX_ROUNDS {
                    Stage::Exchange { retry: None }
                } else {
                    Stage::Done
                };
                Ok(())
            }
        }
    }
}

impl RelaySync {
    /// The proof of admission this device can show the relay for the programmes it lists, if any; a
    /// proof that cannot be made (a damaged certificate) only means none is shown.
    fn proof(&self, store: &Store, identity: &Identity) -> Option<sebaya_proto::sync::Admission> {
        let now = u64::try_from(now_secs() + self.offset).unwrap_or(0);
        let relay: [u8; 16] = self.relay_id.as_slice().try_into().ok()?;
        super::admission::proof(store, now, &relay, &identity.device, &self.listed)
            .ok()
            .flatten()
    }
}

/// The programmes of a listing that read as keys: one that does not is ignored (no proof goes for
/// it).
fn read_listed(programmes: &[String]) -> Vec<[u8; 32]> {
    programmes
        .iter()
        .filter_map(|p| hex::decode(p).ok()?.try_into().ok())
        .collect()
}

/// `code` when it reads as one of the relay's reason codes (short lowercase words joined by hyphens,
/// not hex), else `other`: a code arrives from the network, and a log line must never carry what a
/// relay chose to put there (an id, or anything else).
pub fn loggable_code(code: &str) -> &str {
    let word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
    let plain = !code.is_empty() && code.len() <= 40 && code.bytes().all(word);
    // Hex digits and hyphens alone could be an id cut short: no reason code looks like that.
    let hex_like = code.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if plain && !hex_like { code } else { "other" }
}

#[cfg(test)]
mod backoff_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Issue 15, item 9: after a relay outage every device must not retry at the same instant. The
    /// wait after the first failure is spread over [backoff / 2, backoff], never beyond.
    #[test]
    fn retries_are_spread_with_jitter_within_the_backoff() {
        let waits: Vec<u64> = (0..64)
            .map(|_| {
                let mut s = RelaySync::new("http://127.0.0.1:9");
                u64::try_from(s.network_failed("down".into()).unwrap().as_millis()).unwrap()
            })
            .collect();
        let first = waits[0];
        assert!(waits.iter().any(|w| *w != first), "no jitter: {waits:?}");
        for w in &waits {
            assert!(
                (DEFAULT_BACKOFF_MS / 2..=DEFAULT_BACKOFF_MS).contains(w),
                "{w} outside the backoff"
            );
        }
        // The cap holds with jitter too.
        let mut s = RelaySync::new("http://127.0.0.1:9");
        s.chunking.retries = 64;
        for _ in 0..40 {
            let w = s.network_failed("down".into()).unwrap().as_millis();
            assert!(w <= u128::from(MAX_BACKOFF_MS));
        }
    }
}
