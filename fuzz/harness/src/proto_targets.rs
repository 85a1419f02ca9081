//! Targets over `sebaya-proto`: the wire format the relay and every device read from strangers.

use sebaya_core::crypto::keywrap::{self, KeyWrap};
use sebaya_proto::bundle::{self, BUNDLE_LABEL, BUNDLE_MAGIC};
use sebaya_proto::envelope::{FORMAT_V1, FRAME_HEADER_LEN, MAX_PLAINTEXT_LEN};
use sebaya_proto::invite::{InviteCode, JoinRequest, invite_id};
use sebaya_proto::keywraps::KeyWrapSet;
use sebaya_proto::membership::{Inserted, MembershipLog, Op, SignedStatement, Statement};
use sebaya_proto::peer::{self, FRAGMENT_LAST, FRAGMENT_MORE, PeerMessage};
use sebaya_proto::programme::{
    ProgrammeRegistry, RoleGrant, RoleRevocation, SignedRoleGrant, SignedRoleRevocation,
};
use sebaya_proto::request::{
    HEADER_DEVICE, HEADER_REQUEST_ID, HEADER_SIGNATURE, HEADER_TIME, RequestAuth,
};
use sebaya_proto::snapshot;
use sebaya_proto::sync::{self, SpaceVector, SyncRequest, SyncResponse};
use sebaya_proto::training::{self, KNOWN_MODULES, SignedTrainingRecord, TrainingRecord};
use sebaya_proto::{
    DeviceCertificate, DeviceRevocation, Envelope, EpochId, HeaderV1, Kind, PersonId,
    SignedDeviceCertificate, SignedDeviceRevocation,
};
use x25519_dalek::StaticSecret;

use crate::{
    EPOCH, INVITE_SECRET, SPACE, SPACE_KEY, X25519_SECRET, device_of, other_key, programme_key,
    public_of, signer, split_parts,
};

/// A time inside the validity of the seeds' grants and records (2027-01-01), so the registry's
/// questions exercise valid grants, not only expired ones.
const NOW: u64 = 1_798_761_600;

/// v1 body bytes that are not payload: epoch, author, seq, nonce, signature.
const V1_FIXED_LEN: usize = 32 + 32 + 8 + 12 + 64;

/// Everything a receiver does with one envelope's bytes before it knows the keys: frame, header,
/// signature, and the kind-specific readers a relay or a carrier runs. Returns the parsed envelope.
pub(crate) fn check_envelope(bytes: &[u8]) -> Option<Envelope> {
    let env = Envelope::parse(bytes).ok()?;
    assert_eq!(env.as_bytes(), bytes, "an envelope keeps its exact bytes");
    assert_eq!(
        Envelope::parse(env.as_bytes()).ok().as_ref(),
        Some(&env),
        "a parsed envelope parses again to itself"
    );
    let _ = (env.id(), env.space(), env.kind());
    match env.header() {
        Ok(h) => {
            assert_eq!(env.version(), FORMAT_V1);
            assert_eq!((h.kind, h.space), (env.kind(), env.space()));
            assert!(h.seq > 0, "parse refuses sequence number 0");
            let payload = env.payload().expect("a v1 envelope has a payload");
            assert_eq!(payload.len(), bytes.len() - FRAME_HEADER_LEN - V1_FIXED_LEN);
            let _ = env.verify();
            let _ = env.open(&SPACE_KEY);
            let _ = SignedStatement::from_envelope(&env);
            let _ = KeyWrapSet::from_envelope(&env);
            let _ = snapshot::cover(&env);
            let _ = snapshot::open(&env, &SPACE_KEY);
        }
        Err(_) => assert_ne!(env.version(), FORMAT_V1, "a v1 envelope has a header"),
    }
    Some(env)
}

/// Envelope frames as a relay, a peer or a bundle reader meets them: one envelope, or a stream that
/// `frame_len` splits. Entry points: `Envelope::frame_len`, `Envelope::parse`, `header`, `payload`,
/// `verify`, `open`, and the readers of membership, key-wraps and snapshot envelopes.
pub fn envelope(data: &[u8]) {
    check_envelope(data);
    let mut rest = data;
    while let Ok(n) = Envelope::frame_len(rest) {
        assert!((FRAME_HEADER_LEN..=rest.len()).contains(&n));
        check_envelope(&rest[..n]);
        rest = &rest[n..];
    }
}

/// Envelope bodies the harness signs: `kind ‖ seq ‖ payload`, sealed (or signed, for the kinds that
/// are not sealed) by the harness's key, so the readers behind the signature see the fuzzed payload:
/// membership statements, key-wrap sets and snapshot covers. Round trip: what `seal_v1` makes,
/// `parse` and `verify` accept and `open` gives back.
pub fn envelope_sealed(data: &[u8]) {
    let [k, seq, payload @ ..] = data else {
        return;
    };
    let kind = Kind::from_byte(*k);
    assert_eq!(Kind::from_byte(kind.to_byte()), kind);
    let header = HeaderV1 {
        kind,
        space: SPACE,
        // Membership envelopes carry the zero epoch (protocol section 15.4).
        epoch: if kind == Kind::Membership {
            EpochId([0; 32])
        } else {
            EPOCH
        },
        author: device_of(signer()),
        seq: u64::from(*seq),
    };
    let sealed = Envelope::seal_v1(header, &SPACE_KEY, [7, 7, 7, 7], payload, signer());
    let env = match sealed {
        Ok(env) => env,
        Err(_) => {
            assert!(
                *seq == 0 || payload.len() > MAX_PLAINTEXT_LEN,
                "seal_v1 refused a valid header"
            );
            return;
        }
    };
    let parsed = check_envelope(env.as_bytes()).expect("a sealed envelope parses");
    assert_eq!(parsed, env);
    parsed.verify().expect("a sealed envelope verifies");
    let h = parsed.header().expect("v1");
    assert_eq!((h.kind, h.space, h.epoch, h.author, h.seq), {
        let o = header;
        (o.kind, o.space, o.epoch, o.author, o.seq)
    });
    match (kind, parsed.open(&SPACE_KEY)) {
        (Kind::Unknown(_), opened) => assert!(opened.is_err(), "an unknown kind never opens"),
        (_, opened) => assert_eq!(opened.expect("own envelope opens"), payload),
    }
    match kind {
        Kind::Membership => {
            if let Ok(s) = SignedStatement::from_envelope(&parsed) {
                assert_eq!(s.to_bytes(), payload);
                assert_eq!(s.statement().author, h.author);
            }
        }
        Kind::KeyWraps => {
            if let Ok(set) = KeyWrapSet::from_envelope(&parsed) {
                assert_eq!(set.epoch, h.epoch);
                let again = set.encode().expect("a decoded set encodes");
                assert_eq!(KeyWrapSet::decode(&again).expect("re-decodes"), set);
            }
        }
        Kind::Snapshot => {
            let cover = snapshot::cover(&parsed);
            if let Ok((c, _)) = snapshot::open(&parsed, &SPACE_KEY) {
                assert_eq!(cover.ok(), Some(c), "open reads the cover cover() reads");
            }
        }
        _ => {}
    }
}

fn check_vector(sv: &SpaceVector) {
    if let Ok((space, map)) = sv.parse() {
        let again = SpaceVector::new(space, &map);
        assert_eq!(again.parse().ok(), Some((space, map)));
    }
}

/// A sync request as the relay reads its body (after the request signature): `sync::decode`,
/// `SyncRequest::check`, each vector's `parse` and each pushed envelope. Round trip through
/// `sync::encode`.
pub fn sync_request(data: &[u8]) {
    let Ok(req) = sync::decode::<SyncRequest>(data) else {
        return;
    };
    let again = sync::encode(&req).expect("a decoded request encodes");
    assert_eq!(
        sync::decode::<SyncRequest>(&again).ok().as_ref(),
        Some(&req)
    );
    if req.check().is_err() {
        return;
    }
    req.spaces.iter().for_each(check_vector);
    for e in &req.envelopes {
        check_envelope(e);
    }
    for p in &req.join_requests {
        let _ = JoinRequest::open(&p.body, &SPACE, &INVITE_SECRET);
    }
}

/// A sync answer as a device reads it from a relay: `sync::decode`, `SyncResponse::check`, the
/// vectors, the refusals and the envelopes. Round trip through `sync::encode`.
pub fn sync_response(data: &[u8]) {
    let Ok(resp) = sync::decode::<SyncResponse>(data) else {
        return;
    };
    let again = sync::encode(&resp).expect("a decoded answer encodes");
    assert_eq!(
        sync::decode::<SyncResponse>(&again).ok().as_ref(),
        Some(&resp)
    );
    if resp.check().is_err() {
        return;
    }
    resp.spaces.iter().for_each(check_vector);
    for r in &resp.refused_spaces {
        let _ = r.space_id();
    }
    for e in &resp.envelopes {
        check_envelope(e);
    }
    for a in &resp.join_answers {
        let _ = sebaya_core::identity::link::LinkResponse::from_bytes(&a.body);
    }
}

/// The statement with its author made the harness's signer (or the other device, when it names
/// that one), signed: how fuzzed statements reach the checks behind the signature.
fn resign(mut st: Statement) -> Option<SignedStatement> {
    let other = device_of(other_key());
    let key = if st.author == other {
        other_key()
    } else {
        signer()
    };
    let author = device_of(key);
    if let Op::Genesis { admin, .. } = &mut st.op {
        if *admin == st.author {
            *admin = author;
        }
    }
    st.author = author;
    st.sign(key).ok()
}

/// Membership statements as the relay and devices read them: `Statement::decode` (canonical CBOR:
/// must encode back to the same bytes), `SignedStatement::from_bytes` (the payload of a membership
/// envelope: must give back its bytes), and the fuzzed statement re-signed by the harness's key.
pub fn membership_statement(data: &[u8]) {
    if let Ok(st) = Statement::decode(data) {
        assert_eq!(st.encode().expect("a decoded statement encodes"), data);
        st.check().expect("a decoded statement passes its checks");
        if let Some(s) = resign(st) {
            let back = SignedStatement::from_bytes(&s.to_bytes()).expect("own statement reads");
            assert_eq!(back.id(), s.id());
            assert_eq!(back.statement(), s.statement());
        }
    }
    if let Ok(s) = SignedStatement::from_bytes(data) {
        assert_eq!(s.to_bytes(), data);
        s.verify().expect("a read statement verifies again");
        assert_eq!(
            s.statement().encode().expect("encodes"),
            s.statement_bytes()
        );
    }
}

fn statements_of(data: &[u8]) -> Vec<SignedStatement> {
    split_parts(data)
        .into_iter()
        .filter_map(|p| Statement::decode(p).ok())
        .filter_map(resign)
        .collect()
}

/// Inserts statements into a fresh log; `None` when the log refused one (then no order property is
/// claimed: a refusal may depend on what was held).
fn log_of(statements: &[SignedStatement]) -> Option<MembershipLog> {
    let space = statements.first()?.statement().space;
    let mut log = MembershipLog::new(space);
    for s in statements {
        match log.insert(s.clone()).ok()? {
            Inserted::Applied { .. } | Inserted::Pending { .. } | Inserted::Duplicate => {}
        }
        assert!(
            log.status(&s.id()).is_some(),
            "an inserted statement is held"
        );
    }
    Some(log)
}

/// The membership log (protocol 15.5) fed a list of statements (two-byte length before each), each
/// re-signed by the harness's devices: `MembershipLog::insert` and the evaluation behind `state`.
/// Property: the state is a function of the set of statements held, so inserting them in the
/// reverse order gives the same state, statuses and pending list.
pub fn membership_log(data: &[u8]) {
    let statements = statements_of(data);
    let Some(log) = log_of(&statements) else {
        return;
    };
    let state = log.state();
    for d in state.members.keys() {
        let _ = (state.may_write(d, 1), state.may_read(d), state.role(d));
    }
    let _ = (log.pending(), log.missing(), log.removed_since(None));
    let mut reversed = statements.clone();
    reversed.reverse();
    let Some(other) = log_of(&reversed) else {
        return;
    };
    assert_eq!(other.state(), state, "the state depends on the order");
    for s in &statements {
        assert_eq!(other.status(&s.id()), log.status(&s.id()));
        assert_eq!(
            other.authorised_in_past(&s.id()),
            log.authorised_in_past(&s.id())
        );
    }
    let (mut a, mut b) = (log.pending(), other.pending());
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

/// Device certificates and revocations (section 13): `SignedDeviceCertificate::from_bytes` and
/// `verify`, the same for revocations, the bodies alone (`from_body`, canonical: must encode back to
/// the same bytes), and core's `verify_device_certificate`.
pub fn certificate(data: &[u8]) {
    if let Ok(c) = DeviceCertificate::from_body(data) {
        assert_eq!(c.to_body().expect("encodes"), data);
    }
    if let Ok(r) = DeviceRevocation::from_body(data) {
        assert_eq!(r.to_body().expect("encodes"), data);
    }
    if let Ok(s) = SignedDeviceCertificate::from_bytes(data) {
        assert_eq!(s.as_bytes(), data);
        let _ = s.signature();
        if let Ok(c) = s.verify() {
            let mut again = c.to_body().expect("encodes");
            again.extend_from_slice(&s.signature().expect("has one"));
            assert_eq!(again, data);
        }
    }
    if let Ok(s) = SignedDeviceRevocation::from_bytes(data) {
        assert_eq!(s.as_bytes(), data);
        if let Ok(r) = s.verify() {
            let mut again = r.to_body().expect("encodes");
            again.extend_from_slice(&s.signature().expect("has one"));
            assert_eq!(again, data);
        }
    }
    let _ = sebaya_core::verify_device_certificate(data);
}

/// Invite codes (typed or scanned text) and join requests (section 18): `InviteCode::from_code`
/// (round trip through `to_code`), `JoinRequest::open` and, behind its AEAD, the body checks
/// (`JoinRequest::from_plaintext`); a request from the harness's device seals and opens back to itself.
pub fn invite(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(code) = InviteCode::from_code(text) {
            let again = code.to_code();
            let cleaned: String = text
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| c.to_ascii_uppercase())
                .collect();
            assert_eq!(
                again, cleaned,
                "a code has one spelling, up to case and spaces"
            );
            assert_eq!(InviteCode::from_code(&again).ok().as_ref(), Some(&code));
            let _ = code.id();
        }
    }
    let _ = JoinRequest::open(data, &SPACE, &INVITE_SECRET);
    let invite = invite_id(&SPACE, &INVITE_SECRET).expect("derives");
    if let Ok(req) = JoinRequest::from_plaintext(data, &SPACE, &invite) {
        assert_eq!((req.space, req.invite), (SPACE, invite));
        let _ = req.person();
        if req.device == device_of(signer()) {
            let sealed = req
                .seal(&INVITE_SECRET, signer(), [3; 12])
                .expect("a request that opened seals");
            assert_eq!(
                JoinRequest::open(&sealed, &SPACE, &INVITE_SECRET).ok(),
                Some(req)
            );
        }
    }
}

/// Signs `body` as a bundle of the harness's device: the framing of section 24.
fn signed_bundle(body: &[u8]) -> Vec<u8> {
    let mut msg = BUNDLE_LABEL.to_vec();
    msg.extend_from_slice(body);
    let mut out = BUNDLE_MAGIC.to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(signer().sign(&msg).as_ref());
    out
}

/// Bundle files (section 24): `bundle::open` on the bytes as they are, and on the bytes as the body
/// of a bundle the harness's device signs (so the body decoder runs); every envelope in an opened
/// bundle is read as `core` reads it. Round trip: an opened body seals and opens back to itself.
pub fn bundle(data: &[u8]) {
    let _ = bundle::open(data);
    let Ok(body) = bundle::open(&signed_bundle(data)) else {
        return;
    };
    assert_eq!(body.exporter.as_slice(), public_of(signer()));
    let again = bundle::seal(&body, signer()).expect("an opened body seals");
    assert_eq!(bundle::open(&again).ok().as_ref(), Some(&body));
    for s in &body.spaces {
        for e in &s.envelopes {
            check_envelope(e);
        }
    }
}

fn check_peer_message(bytes: &[u8]) {
    let Ok(m) = PeerMessage::decode(bytes) else {
        return;
    };
    assert_eq!(Some(&m.kind()), bytes.first());
    let enc = m.encode().expect("a decoded message encodes");
    assert_eq!(PeerMessage::decode(&enc).ok().as_ref(), Some(&m));
    // Fragments reassemble to the message (what the session does after decrypting each one).
    let mut whole = Vec::new();
    let frags = peer::fragments(&enc);
    for (i, f) in frags.iter().enumerate() {
        let (&flag, body) = f.split_first().expect("a fragment has a flag");
        let last = i + 1 == frags.len();
        assert_eq!(flag, if last { FRAGMENT_LAST } else { FRAGMENT_MORE });
        whole.extend_from_slice(body);
    }
    assert_eq!(whole, enc);
    match &m {
        PeerMessage::Hello(h) => {
            let _ = sebaya_core::verify_device_certificate(&h.cert);
        }
        PeerMessage::Vectors(v) => v.spaces.iter().for_each(check_vector),
        PeerMessage::Chunk(c) => {
            for e in c.envelopes.iter().chain(&c.carried) {
                check_envelope(e);
            }
        }
        _ => {}
    }
}

/// Peer-session frames (section 25) after decryption: the message decoder (`PeerMessage::decode`,
/// round trip through `encode` and `fragments`) on the input, and `unframe` splitting it as a byte
/// stream with each frame's body decoded.
pub fn peer(data: &[u8]) {
    check_peer_message(data);
    let mut buf = data.to_vec();
    while let Some(body) = peer::unframe(&mut buf) {
        check_peer_message(&body);
    }
}

/// Snapshot covers and envelopes (section 26): `decode_cover_bytes` (what a relay stores; must
/// encode back to the same bytes), `cover` and `open` on a snapshot envelope the harness signs with
/// the fuzzed payload, and a seal/open round trip of a fuzzed cover and document.
pub fn snapshot(data: &[u8]) {
    if let Ok(c) = snapshot::decode_cover_bytes(data) {
        assert_eq!(snapshot::encode_cover(&c).expect("encodes"), data);
    }
    let header = HeaderV1 {
        kind: Kind::Snapshot,
        space: SPACE,
        epoch: EPOCH,
        author: device_of(signer()),
        seq: 1_000,
    };
    if let Ok(env) = Envelope::seal_v1(header, &SPACE_KEY, [0; 4], data, signer()) {
        let _ = snapshot::cover(&env);
        let _ = snapshot::open(&env, &SPACE_KEY);
    }
    // The cover at the start (format byte, count, 40 bytes per author), the document after it.
    if data.len() >= 3 {
        let end = 3 + 40 * usize::from(u16::from_be_bytes([data[1], data[2]]));
        if end <= data.len() {
            if let Ok(cover) = snapshot::decode_cover_bytes(&data[..end]) {
                if let Ok(env) =
                    snapshot::seal(header, &SPACE_KEY, [1; 4], &cover, &data[end..], signer())
                {
                    let parsed = Envelope::parse(env.as_bytes()).expect("a snapshot parses");
                    let (c, doc) = snapshot::open(&parsed, &SPACE_KEY).expect("own snapshot opens");
                    assert_eq!((c, doc.as_slice()), (cover, &data[end..]));
                }
            }
        }
    }
}

/// Key-wrap sets (section 16.4): `KeyWrapSet::decode` (round trip through `encode`), the set in an
/// envelope the harness signs (`from_envelope`), and each wrap as core reads and opens it
/// (`KeyWrap::from_bytes`, `keywrap::unwrap` with a fixed X25519 secret).
pub fn keywraps(data: &[u8]) {
    let secret = StaticSecret::from(X25519_SECRET);
    if let Ok(w) = KeyWrap::from_bytes(data) {
        assert_eq!(w.to_bytes(), data);
        let _ = keywrap::unwrap(&w, &secret, &SPACE, &EPOCH);
    }
    let Ok(set) = KeyWrapSet::decode(data) else {
        return;
    };
    let again = set.encode().expect("a decoded set encodes");
    assert_eq!(KeyWrapSet::decode(&again).ok().as_ref(), Some(&set));
    for (_, w) in &set.wraps {
        let kw = KeyWrap::from_bytes(w);
        if let Ok(kw) = kw {
            assert_eq!(&kw.to_bytes(), w);
            let _ = keywrap::unwrap(&kw, &secret, &SPACE, &set.epoch);
        }
    }
    let env = set
        .to_envelope(SPACE, device_of(signer()), 1, signer())
        .expect("a decoded set fits an envelope");
    let parsed = Envelope::parse(env.as_bytes()).expect("parses");
    assert_eq!(KeyWrapSet::from_envelope(&parsed).ok(), Some(set));
}

/// Programme grants and revocations (section 19): the bodies (`from_body`, canonical: must encode
/// back to the same bytes), the signed forms (`from_bytes`, `verify`), a registry fed the input as a
/// grant, a revocation and a chain (two-byte length before each grant), and the fuzzed body re-signed
/// by the harness's programme key.
pub fn programme(data: &[u8]) {
    let prog = public_of(programme_key());
    let mut registry = ProgrammeRegistry::new(prog);
    if let Ok(g) = RoleGrant::from_body(data) {
        assert_eq!(g.to_body().expect("encodes"), data);
        if let Ok(s) = g.sign(programme_key()) {
            assert_eq!(s.verify().ok(), Some(g));
            let _ = registry.insert_grant(s.as_bytes());
        }
    }
    if let Ok(r) = RoleRevocation::from_body(data) {
        assert_eq!(r.to_body().expect("encodes"), data);
        if let Ok(s) = r.sign(programme_key()) {
            assert_eq!(s.verify().ok(), Some(r));
            let _ = registry.insert_revocation(s.as_bytes());
        }
    }
    if let Ok(s) = SignedRoleGrant::from_bytes(data) {
        assert_eq!(s.as_bytes(), data);
        let _ = (s.id(), s.verify());
    }
    if let Ok(s) = SignedRoleRevocation::from_bytes(data) {
        assert_eq!(s.as_bytes(), data);
        let _ = (s.id(), s.verify());
    }
    let _ = registry.insert_grant(data);
    let _ = registry.insert_revocation(data);
    let parts = split_parts(data);
    if registry.insert_chain(&parts).is_ok() {
        for p in &parts {
            if let Ok(g) = SignedRoleGrant::from_bytes(p).and_then(|s| s.verify()) {
                let _ = registry.role_of(&g.person, NOW);
                let chain = registry.chain_for(&g.person, NOW);
                assert!(chain.len() <= sebaya_proto::programme::MAX_CHAIN_LEN);
            }
        }
    }
    let _ = registry.roles(NOW);
}

/// Training records (section 21): the body (`TrainingRecord::from_body`, canonical), the signed form
/// (`SignedTrainingRecord::from_bytes`, `verify`), the body re-signed by the harness's programme key,
/// and `shortfalls`, which reads records a successor presents.
pub fn training(data: &[u8]) {
    let registry = ProgrammeRegistry::new(public_of(programme_key()));
    let mut person = PersonId([0; 32]);
    if let Ok(r) = TrainingRecord::from_body(data) {
        assert_eq!(r.to_body().expect("encodes"), data);
        person = r.person;
        let _ = training::record_counts(&registry, &r, NOW);
        if let Ok(s) = r.sign(programme_key()) {
            assert_eq!(s.verify().ok().as_ref(), Some(&r));
            let _ = training::shortfalls(&registry, &[s.as_bytes()], &person, &KNOWN_MODULES, NOW);
        }
    }
    if let Ok(s) = SignedTrainingRecord::from_bytes(data) {
        assert_eq!(s.as_bytes(), data);
        let _ = s.id();
        if let Ok(r) = s.verify() {
            person = r.person;
        }
    }
    let _ = training::shortfalls(&registry, &[data], &person, &KNOWN_MODULES, NOW);
}

/// The four signature headers of a relay request (section 12), one per line: `RequestAuth::from_headers`
/// (round trip through `to_headers`) and `verify`.
pub fn request_auth(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let names = [
        HEADER_DEVICE,
        HEADER_TIME,
        HEADER_REQUEST_ID,
        HEADER_SIGNATURE,
    ];
    let get = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| lines.get(i).copied())
    };
    let Ok(auth) = RequestAuth::from_headers(get) else {
        return;
    };
    let headers = auth.to_headers();
    let again = RequestAuth::from_headers(|name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    });
    assert_eq!(again.ok().as_ref(), Some(&auth));
    let _ = auth.verify(&[0x77; 32], "POST", "/v1/sync", b"body");
}
