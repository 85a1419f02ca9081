//! Peer-to-peer sync (issue 5; protocol section 25): two devices that meet — over Bluetooth, Nearby,
//! Multipeer, a shared Wi-Fi or a phone hotspot — sync directly, with no relay.
//!
//! [`PeerSession`] is a sans-I/O state machine: bytes in ([`PeerSession::receive`]), frames out
//! ([`PeerSession::take_outgoing`]). Whoever drives it owns the byte stream, so the same code runs
//! over a TCP socket, a Bluetooth socket or a platform's message channel. The session holds the Noise
//! state and what it still has to send; the vault is handed in only while a frame is handled, so an
//! app can keep writing between frames.
//!
//! Nothing about any space leaves the device before both sides are authenticated: a Noise XX
//! handshake with the devices' X25519 keys, then each sends its device certificate, accepted only if
//! its X25519 key is the key the handshake proved. Each side then lists its vectors only for the
//! spaces where it counts the other device as a current member; a device that is a member of none
//! gets a refusal and nothing else. Envelopes travel in acknowledged chunks; an acknowledgement is
//! sent only after the chunk is stored, and every new session starts from the vectors, so whatever
//! was acknowledged is never sent again. Any frame that does not decrypt in order (altered, cut,
//! replayed, reordered) ends the session with a typed error, and nothing of that frame is kept.
//!
//! Carrying (section 25.2): a device that carries envelopes for others names the carried spaces it
//! does not hold by tags keyed with the handshake hash; the other device asks for those it holds as a
//! member by want tags only a device that knows the space id can make (an echo of the offer is
//! refused), and judges each carried envelope itself (its log's `may_write`, then `Space::receive`).
//! Its acknowledgement is not authoritative (its log may be stale, or it may lie), so the carrier
//! keeps carrying everything it handed on; only the relay's answer drops carried envelopes. Ids of
//! spaces the other device does not hold never leave the carrier.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_bytes::ByteBuf;
use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{CryptoResolver, FallbackResolver, RingResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use snow::{HandshakeState, TransportState};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use sebaya_proto::peer::{
    self as wire, Ack, CARRY_TAG_LEN, CARRY_VERSION, Carrying, Chunk, Done, Hello, MAX_CARRY_TAGS,
    NOISE_PARAMS, PEER_VERSION, PROLOGUE, PeerMessage, Refuse, Vectors, Wanted,
};
use sebaya_proto::sync::{MAX_AUTHORS, MAX_SPACES, SpaceVector};
use sebaya_proto::{DeviceId, Envelope, Kind, SpaceId};

use crate::Vault;
use crate::error::{Error, Result};
use crate::space::Space;

/// Envelopes per chunk stop growing past this many bytes (one envelope larger than it travels alone).
pub const CHUNK_BYTES: usize = 48 * 1024;
/// Chunks sent and not yet acknowledged, at most: enough to keep a slow link busy, few enough that a
/// cut loses little.
pub const WINDOW: u32 = 4;
/// Reason code of a [`Refuse`] sent to a device that is a member of no space this device holds.
pub const REFUSE_NOT_MEMBER: &str = "not-a-member";

/// What one peer session did, for the app's status line and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerReport {
    /// The other device, once its certificate was accepted.
    pub remote_device: Option<DeviceId>,
    /// Spaces both devices hold with each other as members (the ones synced).
    pub spaces: u32,
    /// Envelopes sent.
    pub sent: u32,
    /// Envelopes sent whose chunk the other device acknowledged (stored).
    pub acked: u32,
    /// Envelopes received.
    pub received: u32,
    /// Envelopes received and newly stored.
    pub stored: u32,
    /// Envelopes received that were already held.
    pub duplicates: u32,
    /// Envelopes whose changes reached the documents.
    pub applied: u32,
    /// Envelopes set aside or refused (content that cannot be applied, an author who may not write).
    pub quarantined: u32,
    /// Chunks sent.
    pub chunks_sent: u32,
    /// Chunks received.
    pub chunks_received: u32,
    /// Bytes handed out in frames.
    pub bytes_sent: u64,
    /// Bytes taken in.
    pub bytes_received: u64,
    /// Envelopes this device carries for others that it handed to the other device (section 25.2).
    pub carried_sent: u32,
    /// Of those, the ones the other device acknowledged (judged: kept or refused). A peer's
    /// acknowledgement is not authoritative, so they all stay carried until the relay answers.
    pub carried_answered: u32,
    /// Envelopes the other device carried for spaces this device holds, received here.
    pub carried_received: u32,
    /// Of those, the ones refused or set aside: not an envelope, of a space not asked for, a bad
    /// signature, an author the space's log does not let write, content that cannot be applied.
    pub carried_refused: u32,
    /// Envelopes received (own or carried) whose authors the space's log does not admit (yet):
    /// held apart, not stored (`ReceiveReport::held_apart`).
    pub held_apart: u32,
}

/// X25519 for snow, over the x25519-dalek the core already uses (so no second curve library). The
/// secret is wiped when dropped.
#[derive(Default)]
struct X25519 {
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

impl Dh for X25519 {
    fn name(&self) -> &'static str {
        "25519"
    }
    fn pub_len(&self) -> usize {
        32
    }
    fn priv_len(&self) -> usize {
        32
    }
    fn set(&mut self, privkey: &[u8]) {
        let mut k = Zeroizing::new([0u8; 32]);
        let n = privkey.len().min(32);
        k[..n].copy_from_slice(&privkey[..n]);
        self.public = PublicKey::from(&StaticSecret::from(*k)).to_bytes();
        self.secret = k;
    }
    fn generate(&mut self, rng: &mut dyn Random) -> std::result::Result<(), snow::Error> {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.try_fill_bytes(&mut k[..])?;
        self.set(&k[..]);
        Ok(())
    }
    fn pubkey(&self) -> &[u8] {
        &self.public
    }
    fn privkey(&self) -> &[u8] {
        &self.secret[..]
    }
    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> std::result::Result<(), snow::Error> {
        // snow hands in its whole key buffer; the key is its first 32 bytes.
        let pk: [u8; 32] = pubkey
            .get(..32)
            .and_then(|k| k.try_into().ok())
            .ok_or(snow::Error::Dh)?;
        let shared = StaticSecret::from(*self.secret).diffie_hellman(&PublicKey::from(pk));
        // A low-order point gives an all-zero secret: refused, as key wraps refuse it.
        if !shared.was_contributory() {
            return Err(snow::Error::Dh);
        }
        out.get_mut(..32)
            .ok_or(snow::Error::Dh)?
            .copy_from_slice(shared.as_bytes());
        Ok(())
    }
}

/// Ring for hashing, the cipher and randomness; our X25519 for the curve.
struct OurDh;

impl CryptoResolver for OurDh {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        None
    }
    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        match choice {
            DHChoice::Curve25519 => Some(Box::<X25519>::default()),
            _ => None,
        }
    }
    fn resolve_hash(&self, _: &HashChoice) -> Option<Box<dyn Hash>> {
        None
    }
    fn resolve_cipher(&self, _: &CipherChoice) -> Option<Box<dyn Cipher>> {
        None
    }
}

fn noise_err(_: snow::Error) -> Error {
    Error::BadPeerMessage("a frame did not decrypt or the handshake failed")
}

/// Builds the Noise handshake with a static key and, for test vectors only, a fixed ephemeral key.
pub(crate) fn handshake(
    initiator: bool,
    static_secret: &[u8],
    fixed_ephemeral: Option<&[u8]>,
) -> Result<HandshakeState> {
    let params = NOISE_PARAMS
        .parse()
        .map_err(|_| Error::Internal("noise parameters"))?;
    let resolver = FallbackResolver::new(Box::new(RingResolver), Box::new(OurDh));
    let mut b = snow::Builder::with_resolver(params, Box::new(resolver))
        .prologue(PROLOGUE)
        .map_err(|_| Error::Internal("noise prologue"))?
        .local_private_key(static_secret)
        .map_err(|_| Error::Internal("noise static key"))?;
    if let Some(e) = fixed_ephemeral {
        b = b.fixed_ephemeral_key_for_testing_only(e);
    }
    let hs = if initiator {
        b.build_initiator()
    } else {
        b.build_responder()
    };
    hs.map_err(|_| Error::Internal("noise handshake"))
}

enum Noise {
    Handshake(Box<HandshakeState>),
    Transport(Box<TransportState>),
    Closed,
}

/// Where the exchange stands after the handshake.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    /// Handshake under way.
    Handshake,
    /// Waiting for the other device's certificate.
    Hello,
    /// Waiting for its vectors.
    Vectors,
    /// Exchanging chunks.
    Exchange,
    /// Both sides have everything; nothing more is sent or accepted.
    Finished,
    /// Ended by an error (the error was returned once; later input gives it again).
    Failed,
}

/// One sync with one nearby device over one reliable byte stream. Start with
/// [`Vault::peer_session`]; feed what arrives to [`PeerSession::receive`]; write out what
/// [`PeerSession::take_outgoing`] gives; stop when [`PeerSession::is_finished`] (after writing the
/// last frames) or at the first error.
pub struct PeerSession {
    initiator: bool,
    noise: Noise,
    stage: Stage,
    failure: Option<&'static str>,
    refused: bool,
    /// Stream bytes that do not make a whole frame yet.
    inbuf: Vec<u8>,
    /// Fragments of a message being reassembled.
    partial: Vec<u8>,
    out: Vec<Vec<u8>>,
    remote: Option<DeviceId>,
    remote_static: Option<[u8; 32]>,
    /// Spaces offered to the other device (it is a member there, as this device sees it).
    offered: BTreeSet<SpaceId>,
    /// Spaces both sides offered: the only ones whose envelopes are sent or accepted.
    shared: BTreeSet<SpaceId>,
    /// What the other device lacks, loaded one chunk at a time.
    to_send: VecDeque<(SpaceId, DeviceId, u64)>,
    /// Envelope count of each chunk sent and not yet acknowledged, by chunk number.
    in_flight: BTreeMap<u32, u32>,
    next_chunk: u32,
    done_sent: bool,
    remote_done: Option<u32>,
    next_expected: u32,
    /// Type bytes of the messages received, in order (for diagnostics and for the tests that show
    /// what a refused device was told).
    kinds: Vec<u8>,
    /// Type bytes of the messages sent, in order.
    sent_kinds: Vec<u8>,
    report: PeerReport,
    /// The Noise handshake hash: the key of this session's carried-space tags (section 25.2).
    handshake_hash: Vec<u8>,
    /// This device announces the carrying exchange in its Hello (always, but for the tests that
    /// play a version-1 device).
    announce_carry: bool,
    /// Both devices announced the carrying exchange in their Hello.
    carry_ok: bool,
    /// Carrier side: the tags offered in Carrying, and the carried space each names.
    carry_tags: BTreeMap<[u8; CARRY_TAG_LEN], SpaceId>,
    /// Carrier side: Carrying was sent and Wanted has not come yet (Done waits for it).
    awaiting_wanted: bool,
    /// Carrier side: carried envelopes the other device asked for, not yet in a chunk.
    carry_queue: VecDeque<Vec<u8>>,
    /// Carrier side: how many carried envelopes each chunk in flight holds, by chunk number.
    carried_in_flight: BTreeMap<u32, u32>,
    /// Receiver side: a Carrying was answered (only one is allowed).
    carrying_answered: bool,
    /// Receiver side: the spaces whose carried envelopes it asked for (held, as a current member).
    wanted: BTreeSet<SpaceId>,
}

fn bad(what: &'static str) -> Error {
    Error::BadPeerMessage(what)
}

impl Vault {
    /// Starts a peer session with a nearby device. One side is the `initiator` (the one that
    /// connected, or dialled), the other the responder; the initiator's first frame is ready at once.
    /// Changes written so far are sealed once the other device's vectors have arrived (so a counter
    /// behind this device's own author there is raised first, docs/protocol.md section 6.1), and
    /// travel in this session. [`Error::NoPerson`] on a device without a certificate: the other
    /// side could not know who it is.
    pub fn peer_session(&mut self, initiator: bool) -> Result<PeerSession> {
        self.device_certificate()?;
        self.before_sending();
        let secret = self.identity.x25519_secret();
        let hs = handshake(initiator, &secret[..], None)?;
        PeerSession::start(initiator, hs)
    }

    /// Every space this device holds, care records first (referrals, acknowledgements and
    /// consents go before anything else in a session, as in a relay sync), then the journal.
    fn held_spaces(&self) -> impl Iterator<Item = &Space> {
        let care = |s: &&Space| s.kind == crate::space::SpaceKind::Care;
        self.shared
            .values()
            .filter(care)
            .chain(self.journal.iter())
            .chain(self.shared.values().filter(move |s| !care(s)))
    }
}

impl PeerSession {
    pub(crate) fn start(initiator: bool, hs: HandshakeState) -> Result<PeerSession> {
        let mut s = PeerSession {
            initiator,
            noise: Noise::Handshake(Box::new(hs)),
            stage: Stage::Handshake,
            failure: None,
            refused: false,
            inbuf: Vec::new(),
            partial: Vec::new(),
            out: Vec::new(),
            remote: None,
            remote_static: None,
            offered: BTreeSet::new(),
            shared: BTreeSet::new(),
            to_send: VecDeque::new(),
            in_flight: BTreeMap::new(),
            next_chunk: 0,
            done_sent: false,
            remote_done: None,
            next_expected: 0,
            kinds: Vec::new(),
            sent_kinds: Vec::new(),
            report: PeerReport::default(),
            handshake_hash: Vec::new(),
            announce_carry: true,
            carry_ok: false,
            carry_tags: BTreeMap::new(),
            awaiting_wanted: false,
            carry_queue: VecDeque::new(),
            carried_in_flight: BTreeMap::new(),
            carrying_answered: false,
            wanted: BTreeSet::new(),
        };
        if initiator {
            s.write_handshake()?;
        }
        Ok(s)
    }

    /// Whether this side is the initiator.
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    /// Whether the session is over with everything exchanged. Write out [`Self::take_outgoing`]
    /// once more before closing the stream: the last acknowledgement may still be there.
    pub fn is_finished(&self) -> bool {
        self.stage == Stage::Finished
    }

    /// What the session did so far.
    pub fn report(&self) -> &PeerReport {
        &self.report
    }

    /// The type of every message received after the handshake, in order (`sebaya_proto::peer::kind`):
    /// what the other device told this one, without the content.
    pub fn messages_received(&self) -> &[u8] {
        &self.kinds
    }

    /// The type of every message sent after the handshake, in order.
    pub fn messages_sent(&self) -> &[u8] {
        &self.sent_kinds
    }

    /// Frames to write to the stream, in order (each already carries its length prefix).
    pub fn take_outgoing(&mut self) -> Vec<Vec<u8>> {
        let out = std::mem::take(&mut self.out);
        self.report.bytes_sent += out.iter().map(|f| f.len() as u64).sum::<u64>();
        out
    }

    /// Takes bytes from the stream (any split: half a frame, several frames) and handles every whole
    /// frame. On the first error the session is over: the error is returned, and again for any later
    /// input; nothing of the failing frame was kept.
    pub fn receive(&mut self, vault: &mut Vault, bytes: &[u8]) -> Result<()> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        self.report.bytes_received += bytes.len() as u64;
        self.inbuf.extend_from_slice(bytes);
        while let Some(frame) = wire::unframe(&mut self.inbuf) {
            if let Err(e) = self.handle_frame(vault, &frame) {
                self.fail(&e);
                return Err(e);
            }
        }
        Ok(())
    }

    fn ended(&self) -> Option<Error> {
        match self.stage {
            Stage::Failed if self.refused => Some(Error::PeerNotMember),
            Stage::Failed => Some(Error::BadPeerMessage(
                self.failure.unwrap_or("the session already failed"),
            )),
            Stage::Finished => Some(bad("the session is already finished")),
            _ => None,
        }
    }

    fn fail(&mut self, e: &Error) {
        self.stage = Stage::Failed;
        self.noise = Noise::Closed;
        self.inbuf.clear();
        self.partial.clear();
        self.to_send.clear();
        match e {
            Error::PeerNotMember => self.refused = true,
            Error::BadPeerMessage(w) => self.failure = Some(w),
            _ => self.failure = Some("the session failed on this device"),
        }
    }

    fn write_handshake(&mut self) -> Result<()> {
        let Noise::Handshake(hs) = &mut self.noise else {
            return Err(Error::Internal("peer handshake state"));
        };
        let mut buf = vec![0u8; wire::MAX_NOISE_MESSAGE];
        let n = hs.write_message(&[], &mut buf).map_err(noise_err)?;
        buf.truncate(n);
        self.out.push(wire::frame(&buf)?);
        Ok(())
    }

    /// Leaves the handshake once it is complete, keeping the proved remote static key.
    fn maybe_transport(&mut self, vault: &Vault) -> Result<()> {
        let finished = matches!(&self.noise, Noise::Handshake(hs) if hs.is_handshake_finished());
        if !finished {
            return Ok(());
        }
        let Noise::Handshake(hs) = std::mem::replace(&mut self.noise, Noise::Closed) else {
            return Err(Error::Internal("peer handshake state"));
        };
        let rs: [u8; 32] = hs
            .get_remote_static()
            .and_then(|k| k.try_into().ok())
            .ok_or(bad("the handshake proved no key"))?;
        self.remote_static = Some(rs);
        self.handshake_hash = hs.get_handshake_hash().to_vec();
        self.noise = Noise::Transport(Box::new(hs.into_transport_mode().map_err(noise_err)?));
        self.stage = Stage::Hello;
        let cert = vault.device_certificate()?;
        self.send(&PeerMessage::Hello(Hello {
            v: PEER_VERSION,
            cert: ByteBuf::from(cert),
            carry: self.announce_carry.then_some(CARRY_VERSION),
        }))
    }

    fn handle_frame(&mut self, vault: &mut Vault, frame: &[u8]) -> Result<()> {
        match &mut self.noise {
            Noise::Closed => Err(bad("the session is closed")),
            Noise::Handshake(hs) => {
                let mut payload = vec![0u8; wire::MAX_NOISE_MESSAGE];
                hs.read_message(frame, &mut payload).map_err(noise_err)?;
                // XX: the responder answers the first message; the initiator the second.
                if !hs.is_handshake_finished() {
                    self.write_handshake()?;
                }
                self.maybe_transport(vault)
            }
            Noise::Transport(t) => {
                let mut plain = vec![0u8; frame.len()];
                let n = t.read_message(frame, &mut plain).map_err(noise_err)?;
                let (&flag, body) = plain[..n].split_first().ok_or(bad("an empty fragment"))?;
                if self.partial.len() + body.len() > wire::MAX_PEER_MESSAGE {
                    return Err(bad("a message over the size limit"));
                }
                self.partial.extend_from_slice(body);
                match flag {
                    wire::FRAGMENT_MORE => Ok(()),
                    wire::FRAGMENT_LAST => {
                        let msg = std::mem::take(&mut self.partial);
                        let msg =
                            PeerMessage::decode(&msg).map_err(|_| bad("an undecodable message"))?;
                        self.kinds.push(msg.kind());
                        self.handle_message(vault, msg)
                    }
                    _ => Err(bad("a fragment with an unknown flag")),
                }
            }
        }
    }

    fn send(&mut self, msg: &PeerMessage) -> Result<()> {
        let Noise::Transport(t) = &mut self.noise else {
            return Err(Error::Internal("peer session not in transport mode"));
        };
        self.sent_kinds.push(msg.kind());
        for f in wire::fragments(&msg.encode()?) {
            let mut buf = vec![0u8; f.len() + wire::TAG_LEN];
            let n = t
                .write_message(&f, &mut buf)
                .map_err(|_| Error::Internal("peer encrypt"))?;
            buf.truncate(n);
            self.out.push(wire::frame(&buf)?);
        }
        Ok(())
    }

    fn handle_message(&mut self, vault: &mut Vault, msg: PeerMessage) -> Result<()> {
        match (self.stage, msg) {
            (_, PeerMessage::Refuse(_)) => Err(Error::PeerNotMember),
            (Stage::Hello, PeerMessage::Hello(h)) => self.on_hello(vault, h),
            (Stage::Vectors, PeerMessage::Vectors(v)) => self.on_vectors(vault, v),
            (Stage::Exchange, PeerMessage::Chunk(c)) => self.on_chunk(vault, c),
            (Stage::Exchange, PeerMessage::Ack(a)) => self.on_ack(vault, a),
            (Stage::Exchange, PeerMessage::Carrying(c)) => self.on_carrying(vault, c),
            (Stage::Exchange, PeerMessage::Wanted(w)) => self.on_wanted(vault, w),
            (Stage::Exchange, PeerMessage::Done(d)) => {
                if self.remote_done.is_some() || d.chunks < self.next_expected {
                    return Err(bad("a second or inconsistent end of chunks"));
                }
                self.remote_done = Some(d.chunks);
                self.check_finished(vault)
            }
            _ => Err(bad("a message out of turn")),
        }
    }

    fn on_hello(&mut self, vault: &mut Vault, h: Hello) -> Result<()> {
        if h.v != PEER_VERSION {
            return Err(bad("an unsupported session version"));
        }
        let cert = crate::verify_device_certificate(&h.cert)
            .map_err(|_| bad("the other device's certificate is not valid"))?;
        // The certificate counts only for the key the handshake proved.
        if Some(cert.x25519) != self.remote_static {
            return Err(bad("the certificate is not for the handshake's key"));
        }
        self.remote = Some(cert.device);
        self.report.remote_device = Some(cert.device);
        let mut spaces = Vec::new();
        for s in vault.held_spaces() {
            if offered_to(s.membership(), &cert) {
                self.offered.insert(s.id);
                spaces.push(SpaceVector::new(s.id, s.vector.contiguous()));
            }
        }
        if spaces.is_empty() {
            // Nothing about any space goes to a device that is a member of none of them.
            self.send(&PeerMessage::Refuse(Refuse {
                reason: REFUSE_NOT_MEMBER.into(),
            }))?;
            return Err(Error::PeerNotMember);
        }
        self.stage = Stage::Vectors;
        self.send(&PeerMessage::Vectors(Vectors { spaces }))?;
        self.carry_ok = self.announce_carry && h.carry == Some(CARRY_VERSION);
        self.offer_carried(vault)
    }

    /// Carrier side (section 25.2): names, by session-keyed tags, the spaces this device carries
    /// envelopes of and does not hold, so the other device can ask for those it holds without
    /// learning the others' ids.
    fn offer_carried(&mut self, vault: &Vault) -> Result<()> {
        if !self.carry_ok {
            return Ok(());
        }
        let held: BTreeSet<SpaceId> = vault.held_spaces().map(|s| s.id).collect();
        let mut tags = BTreeMap::new();
        for e in vault.carried()? {
            let Ok(env) = Envelope::parse(&e) else {
                continue;
            };
            let space = env.space();
            if !held.contains(&space) {
                tags.insert(wire::carry_tag(&self.handshake_hash, &space.0), space);
            }
        }
        if tags.is_empty() {
            return Ok(());
        }
        // Tags sort in no order related to the spaces; past the limit the rest wait for a later
        // session (or the relay).
        self.carry_tags = tags.into_iter().take(MAX_CARRY_TAGS).collect();
        self.awaiting_wanted = true;
        let tags = self
            .carry_tags
            .keys()
            .map(|t| ByteBuf::from(t.to_vec()))
            .collect();
        self.send(&PeerMessage::Carrying(Carrying { tags }))
    }

    /// Receiver side: answers with the want tags of the offered spaces this device holds as a
    /// current member (it can judge their envelopes by their authors' signatures and its own log);
    /// others' tags stay meaningless to it.
    fn on_carrying(&mut self, vault: &mut Vault, c: Carrying) -> Result<()> {
        if !self.carry_ok || self.carrying_answered {
            return Err(bad("a carrying offer out of turn"));
        }
        if c.tags.len() > MAX_CARRY_TAGS {
            return Err(bad("too many carried spaces"));
        }
        self.carrying_answered = true;
        let me = vault.identity.device;
        let mine: BTreeMap<[u8; CARRY_TAG_LEN], SpaceId> = vault
            .held_spaces()
            .filter(|s| !self.shared.contains(&s.id) && s.membership().is_member(&me))
            .map(|s| (wire::carry_tag(&self.handshake_hash, &s.id.0), s.id))
            .collect();
        let mut tags = Vec::new();
        for t in &c.tags {
            let t: [u8; CARRY_TAG_LEN] = t
                .as_slice()
                .try_into()
                .map_err(|_| bad("a carried space's tag of the wrong length"))?;
            if let Some(space) = mine.get(&t)
                && self.wanted.insert(*space)
            {
                // The want tag, not the offered one: it shows this device knows the space id.
                let want = wire::carry_want_tag(&self.handshake_hash, &space.0);
                tags.push(ByteBuf::from(want.to_vec()));
            }
        }
        self.send(&PeerMessage::Wanted(Wanted { tags }))?;
        self.check_finished(vault)
    }

    /// Carrier side: checks that each entry of Wanted is the want tag of an offered space (which
    /// only a device that knows the space id can make; an echo of the offered tags is refused and
    /// nothing is handed on), then queues the carried envelopes of the spaces asked for, membership
    /// statements first, and sends.
    fn on_wanted(&mut self, vault: &mut Vault, w: Wanted) -> Result<()> {
        if !self.awaiting_wanted {
            return Err(bad("an answer to no carrying offer"));
        }
        if w.tags.len() > self.carry_tags.len() {
            return Err(bad("more carried spaces asked for than offered"));
        }
        let wants: BTreeMap<[u8; CARRY_TAG_LEN], SpaceId> = self
            .carry_tags
            .values()
            .map(|s| (wire::carry_want_tag(&self.handshake_hash, &s.0), *s))
            .collect();
        let mut spaces = BTreeSet::new();
        for t in &w.tags {
            let space = <[u8; CARRY_TAG_LEN]>::try_from(t.as_slice())
                .ok()
                .and_then(|t| wants.get(&t))
                .ok_or(bad("a carried space asked for without its want tag"))?;
            spaces.insert(*space);
        }
        self.awaiting_wanted = false;
        // Membership statements of every space first, so one that admits an author reaches the
        // other device before that author's envelopes, whatever order they were carried in.
        let mut rest = Vec::new();
        for e in vault.carried()? {
            match Envelope::parse(&e) {
                Ok(env) if spaces.contains(&env.space()) => {
                    if env.kind() == Kind::Membership {
                        self.carry_queue.push_back(e);
                    } else {
                        rest.push(e);
                    }
                }
                _ => {}
            }
        }
        self.carry_queue.extend(rest);
        self.pump(vault)
    }

    fn on_vectors(&mut self, vault: &mut Vault, v: Vectors) -> Result<()> {
        if v.spaces.len() > MAX_SPACES {
            return Err(bad("too many spaces"));
        }
        let mut floors = Vec::new();
        for sv in &v.spaces {
            if sv.vector.len() > MAX_AUTHORS {
                return Err(bad("a vector too long"));
            }
            let (space, floor) = sv.parse().map_err(|_| bad("a malformed vector"))?;
            // Spaces not offered here are ignored: this device sends nothing of them.
            if self.offered.contains(&space) && self.shared.insert(space) {
                floors.push((space, floor));
            }
        }
        // The other device may hold this device's own envelopes beyond its counter (this vault was
        // restored from an older copy). Its claim never raises the counter (a hostile peer could push
        // it to the end of the range): nothing is sealed in this session, the other device sends
        // those envelopes, verified by this device's own signature, and `receive` raises the counter
        // from them; the next session seals.
        let me = vault.identity.device;
        let behind = floors.iter().any(|(space, floor)| {
            floor.get(&me).is_some_and(|seen| {
                vault
                    .held_spaces()
                    .find(|s| s.id == *space)
                    .is_some_and(|s| *seen >= s.next_seq())
            })
        });
        if !behind {
            vault.seal_pending()?;
        }
        for (space, floor) in floors {
            let Some(s) = vault.held_spaces().find(|s| s.id == space) else {
                continue;
            };
            for (author, seq) in s.vector.held_above(&floor) {
                self.to_send.push_back((space, author, seq));
            }
        }
        self.report.spaces = u32::try_from(self.shared.len()).unwrap_or(u32::MAX);
        self.stage = Stage::Exchange;
        self.pump(vault)
    }

    /// Sends chunks while the window allows, then the end marker once everything went out.
    fn pump(&mut self, vault: &mut Vault) -> Result<()> {
        while (!self.to_send.is_empty() || !self.carry_queue.is_empty())
            && (self.in_flight.len() as u32) < WINDOW
        {
            let mut envelopes = Vec::new();
            let mut size = 0usize;
            while let Some(&(space, author, seq)) = self.to_send.front() {
                if size >= CHUNK_BYTES {
                    break;
                }
                self.to_send.pop_front();
                let Some(s) = vault.held_spaces().find(|s| s.id == space) else {
                    continue;
                };
                if let Some(e) = s.held_envelope(&vault.store, &author, seq)? {
                    size += e.len();
                    envelopes.push(ByteBuf::from(e));
                }
            }
            // What this device carries for others fills the chunks after its own envelopes.
            let mut carried = Vec::new();
            while size < CHUNK_BYTES && self.to_send.is_empty() {
                let Some(e) = self.carry_queue.pop_front() else {
                    break;
                };
                size += e.len();
                carried.push(ByteBuf::from(e));
            }
            if envelopes.is_empty() && carried.is_empty() {
                continue;
            }
            let n = self.next_chunk;
            self.next_chunk += 1;
            let count = u32::try_from(envelopes.len()).unwrap_or(u32::MAX);
            self.in_flight.insert(n, count);
            self.report.sent += count;
            let carried_count = u32::try_from(carried.len()).unwrap_or(u32::MAX);
            self.report.carried_sent += carried_count;
            if carried_count > 0 {
                self.carried_in_flight.insert(n, carried_count);
            }
            self.report.chunks_sent += 1;
            self.send(&PeerMessage::Chunk(Chunk {
                n,
                envelopes,
                carried,
            }))?;
        }
        if self.to_send.is_empty()
            && self.carry_queue.is_empty()
            && !self.awaiting_wanted
            && !self.done_sent
        {
            self.done_sent = true;
            self.send(&PeerMessage::Done(Done {
                chunks: self.next_chunk,
            }))?;
        }
        self.check_finished(vault)
    }

    fn on_chunk(&mut self, vault: &mut Vault, c: Chunk) -> Result<()> {
        if c.n != self.next_expected || self.remote_done.is_some() {
            return Err(bad("a chunk out of order"));
        }
        // Every envelope is checked before any is kept: verified, and of a space both offered.
        let mut batches: BTreeMap<SpaceId, Vec<Vec<u8>>> = BTreeMap::new();
        let mut membership: Vec<(SpaceId, Vec<u8>)> = Vec::new();
        for e in &c.envelopes {
            let env = Envelope::parse(e)
                .and_then(|env| env.verify().map(|_| env))
                .map_err(|_| bad("an envelope does not verify"))?;
            let space = env.space();
            if !self.shared.contains(&space) {
                return Err(bad("an envelope of a space not shared in this session"));
            }
            if env.kind() == Kind::Membership {
                membership.push((space, e.to_vec()));
            } else {
                batches.entry(space).or_default().push(e.to_vec());
            }
        }
        // Membership statements first: they say who may write what follows.
        for (space, e) in membership.into_iter().rev() {
            let b = batches.entry(space).or_default();
            b.insert(0, e);
        }
        let count = u32::try_from(c.envelopes.len()).unwrap_or(u32::MAX);
        let mut stored = self.receive_carried(vault, &c.carried)?;
        for (space, envs) in &batches {
            let store = &vault.store;
            let identity = &vault.identity;
            let Some(s) = vault
                .journal
                .iter_mut()
                .chain(vault.shared.values_mut())
                .find(|s| s.id == *space)
            else {
                continue;
            };
            let r = s.receive(store, identity, envs)?;
            stored += r.stored;
            self.report.stored += r.stored;
            self.report.duplicates += r.duplicates;
            self.report.applied += r.applied;
            self.report.quarantined += r.quarantined + r.refused;
            self.report.held_apart += r.held_apart;
        }
        self.report.received += count;
        self.report.chunks_received += 1;
        self.next_expected += 1;
        // Stored (each space's receive commits) before it is acknowledged.
        self.send(&PeerMessage::Ack(Ack { n: c.n, stored }))?;
        self.check_finished(vault)
    }

    /// Receiver side: judges carried envelopes one by one, never on the carrier's word: each must
    /// be of a space asked for; then it is received like the other device's own envelopes
    /// (`Space::receive`: signature, space, sequence; its author allowed to write by this device's
    /// log, `may_write`, or held apart; role), membership statements first, so an author they
    /// admit counts. A bad one is refused and counted and the
    /// rest are kept. Returns how many were newly stored.
    fn receive_carried(&mut self, vault: &mut Vault, carried: &[ByteBuf]) -> Result<u32> {
        if carried.is_empty() {
            return Ok(0);
        }
        let n = u32::try_from(carried.len()).unwrap_or(u32::MAX);
        self.report.carried_received += n;
        let mut refused = 0u32;
        // Per space: membership statements, then the rest.
        type Split = (Vec<Vec<u8>>, Vec<Vec<u8>>);
        let mut by_space: BTreeMap<SpaceId, Split> = BTreeMap::new();
        for e in carried {
            match Envelope::parse(e) {
                Ok(env) if self.wanted.contains(&env.space()) => {
                    let (m, rest) = by_space.entry(env.space()).or_default();
                    if env.kind() == Kind::Membership {
                        m.push(e.to_vec());
                    } else {
                        rest.push(e.to_vec());
                    }
                }
                _ => refused += 1,
            }
        }
        let mut stored = 0u32;
        for (space, (membership, rest)) in by_space {
            let store = &vault.store;
            let identity = &vault.identity;
            let Some(s) = vault
                .journal
                .iter_mut()
                .chain(vault.shared.values_mut())
                .find(|s| s.id == space)
            else {
                refused += u32::try_from(membership.len() + rest.len()).unwrap_or(u32::MAX);
                continue;
            };
            let mut reports = Vec::new();
            if !membership.is_empty() {
                reports.push(s.receive(store, identity, &membership)?);
            }
            // The author of each is judged by `Space::receive`, as for the other device's own
            // envelopes: one the log does not admit is held apart, never stored nor counted.
            if !rest.is_empty() {
                reports.push(s.receive(store, identity, &rest)?);
            }
            for r in reports {
                stored += r.stored;
                refused += r.refused + r.quarantined + r.held_apart;
                self.report.stored += r.stored;
                self.report.duplicates += r.duplicates;
                self.report.applied += r.applied;
                self.report.quarantined += r.quarantined + r.refused;
                self.report.held_apart += r.held_apart;
            }
        }
        self.report.carried_refused += refused;
        Ok(stored)
    }

    fn on_ack(&mut self, vault: &mut Vault, a: Ack) -> Result<()> {
        let count = self
            .in_flight
            .remove(&a.n)
            .ok_or(bad("an acknowledgement of no chunk in flight"))?;
        self.report.acked += count;
        // The other device says it judged every carried envelope of the chunk (kept or refused).
        // Its word drops nothing: it may have refused one only because its log is stale (a
        // membership statement it has not seen yet), or it may lie to silence the carrier. What
        // this device carries stays carried until the relay answers for it.
        if let Some(count) = self.carried_in_flight.remove(&a.n) {
            self.report.carried_answered += count;
        }
        self.pump(vault)
    }

    fn check_finished(&mut self, vault: &mut Vault) -> Result<()> {
        if self.stage == Stage::Exchange
            && self.done_sent
            && self.in_flight.is_empty()
            && self.remote_done == Some(self.next_expected)
        {
            self.stage = Stage::Finished;
            let spaces: Vec<SpaceId> = self.shared.iter().copied().collect();
            vault.note_synced(&spaces, "peer")?;
        }
        Ok(())
    }
}

/// Whether a space is offered to the device a verified certificate names: it must be a current
/// member, and the member the log recorded — its X25519 key (the one the handshake proved) and, where
/// the log names one, its person. Anyone can sign a certificate naming another device's id under a
/// person key of their own; only the log says which keys that device really has.
fn offered_to(
    m: &sebaya_proto::membership::MembershipState,
    cert: &sebaya_proto::identity::DeviceCertificate,
) -> bool {
    m.is_member(&cert.device)
        && m.x25519.get(&cert.device) == Some(&cert.x25519)
        && m.persons
            .get(&cert.device)
            .is_none_or(|p| *p == cert.person.0)
}

pub mod advert;

#[cfg(test)]
mod carry_tests;
#[cfg(test)]
mod nonmember_tests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn our_x25519_matches_the_handshake_on_both_sides() {
        let mut a = handshake(true, &[1; 32], None).unwrap();
        let mut b = handshake(false, &[2; 32], None).unwrap();
        let mut buf = vec![0u8; 1024];
        let mut payload = vec![0u8; 1024];
        let n = a.write_message(&[], &mut buf).unwrap();
        b.read_message(&buf[..n], &mut payload).unwrap();
        let n = b.write_message(&[], &mut buf).unwrap();
        a.read_message(&buf[..n], &mut payload).unwrap();
        let n = a.write_message(&[], &mut buf).unwrap();
        b.read_message(&buf[..n], &mut payload).unwrap();
        assert!(a.is_handshake_finished() && b.is_handshake_finished());
        assert_eq!(a.get_handshake_hash(), b.get_handshake_hash());
        let pub_a = PublicKey::from(&StaticSecret::from([1u8; 32])).to_bytes();
        assert_eq!(b.get_remote_static().unwrap(), &pub_a[..]);
    }

    /// The transcript in `docs/protocol.md` section 25, byte for byte: fixed static and ephemeral
    /// keys, the three handshake frames, the handshake hash, and the initiator's first transport frame
    /// (a `Done` with no chunks).
    #[test]
    fn the_section_25_vector_is_stable() {
        let mut a = handshake(true, &[1; 32], Some(&[3; 32])).unwrap();
        let mut b = handshake(false, &[2; 32], Some(&[4; 32])).unwrap();
        let mut frames = Vec::new();
        let mut buf = vec![0u8; 1024];
        let mut payload = vec![0u8; 1024];
        for step in 0..3 {
            let (w, r) = if step == 1 {
                (&mut b, &mut a)
            } else {
                (&mut a, &mut b)
            };
            let n = w.write_message(&[], &mut buf).unwrap();
            r.read_message(&buf[..n], &mut payload).unwrap();
            frames.push(hex::encode(wire::frame(&buf[..n]).unwrap()));
        }
        let hash = hex::encode(a.get_handshake_hash());
        let mut t = a.into_transport_mode().unwrap();
        let msg = PeerMessage::Done(Done { chunks: 0 }).encode().unwrap();
        let frag = wire::fragments(&msg);
        let n = t.write_message(&frag[0], &mut buf).unwrap();
        let first = hex::encode(wire::frame(&buf[..n]).unwrap());
        let ack = hex::encode(PeerMessage::Ack(Ack { n: 1, stored: 2 }).encode().unwrap());
        for (i, f) in frames.iter().enumerate() {
            println!("frame {}: {f}", i + 1);
        }
        println!(
            "hash: {hash}\nfirst: {first}\nack: {ack}\ndone: {}",
            hex::encode(&frag[0])
        );
        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        let section = doc.split("##25.").nth(1).expect("section 25");
        for v in frames.iter().chain([&hash, &first, &ack]) {
            assert!(section.contains(v.as_str()), "{v} not in section 25");
        }
    }

    /// A member's certificate shown by someone who does not hold its X25519 secret (the handshake
    /// proved another key) is refused before any vector is sent.
    #[test]
    fn a_certificate_counts_only_for_the_key_the_handshake_proved() {
        let dir = tempfile::tempdir().unwrap();
        let mut phone = Vault::open(&dir.path().join("p.db"), &[1; 32]).unwrap();
        phone.create_person().unwrap();
        phone.journal_add("Rahasia.", 3, &[]).unwrap();
        let mut tablet = Vault::open(&dir.path().join("t.db"), &[2; 32]).unwrap();
        let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
        tablet.complete_link(&resp).unwrap();
        // The impostor sends the tablet's genuine certificate, with a static key of its own.
        let mut impostor =
            PeerSession::start(true, handshake(true, &[9; 32], None).unwrap()).unwrap();
        let mut honest = phone.peer_session(false).unwrap();
        let mut err = None;
        for _ in 0..4 {
            for f in impostor.take_outgoing() {
                if let Err(e) = honest.receive(&mut phone, &f) {
                    err.get_or_insert(e);
                }
            }
            for f in honest.take_outgoing() {
                let _ = impostor.receive(&mut tablet, &f);
            }
        }
        assert!(matches!(err, Some(Error::BadPeerMessage(_))), "{err:?}");
        assert_eq!(honest.messages_sent(), &[sebaya_proto::peer::kind::HELLO]);
        assert_eq!(
            impostor.messages_received(),
            &[sebaya_proto::peer::kind::HELLO]
        );
        assert_eq!(honest.report().remote_device, None);
    }

    /// A certificate anyone can sign — the victim's device id under the signer's own person key and
    /// X25519 key — is not offered anything: only the keys the log recorded for that device count.
    #[test]
    fn a_certificate_naming_a_member_under_other_keys_is_offered_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut phone = Vault::open(&dir.path().join("p.db"), &[1; 32]).unwrap();
        phone.create_person().unwrap();
        let mut tablet = Vault::open(&dir.path().join("t.db"), &[2; 32]).unwrap();
        let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
        tablet.complete_link(&resp).unwrap();
        let genuine =
            crate::verify_device_certificate(&tablet.device_certificate().unwrap()).unwrap();
        let m = phone.journal_membership().unwrap().clone();
        assert!(offered_to(&m, &genuine));
        let mut other_key = genuine;
        other_key.x25519 = [7; 32];
        assert!(!offered_to(&m, &other_key));
        let mut other_person = genuine;
        other_person.person = sebaya_proto::identity::PersonId([8; 32]);
        assert!(!offered_to(&m, &other_person));
        let mut stranger = genuine;
        stranger.device = sebaya_proto::DeviceId::from_hex(&"ab".repeat(32)).unwrap();
        assert!(!offered_to(&m, &stranger));
    }
}
