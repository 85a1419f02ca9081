//! Envelopes: the unit of sync.
//!
//! An envelope has a stable outer frame that every format version keeps (magic, format version, kind,
//! space id, body length), so a device can store, count, address and carry an envelope of a version it
//! cannot open. Inside a version-1 frame: epoch id, author device, author sequence number, nonce,
//! payload (AEAD ciphertext for sealed kinds), and an Ed25519 signature by the author over a domain
//! label and every byte before the signature. A version-2 frame (sealed kinds only) carries 24 random
//! bytes instead of the nonce and seals under a key derived from them for that one envelope, so its
//! confidentiality does not rest on the sequence number being used once. Layout and test vectors:
//! `docs/protocol.md` (sections 3, 3.1, 5 and 5.2).

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::error::ProtoError;
use crate::{ENVELOPE_SIGNATURE_LABEL, ENVELOPE_V2_KEY_LABEL, ENVELOPE_V2_LABEL};

/// Magic bytes that open every envelope of every version.
pub const MAGIC: [u8; 4] = *b"SBYE";
/// The first format version: the nonce is the sequence number and four random bytes.
pub const FORMAT_V1: u8 = 1;
/// Format version 2 (sealed kinds only): a one-time key per envelope, derived from 24 random bytes it
/// carries, so a sequence number sealed twice (a vault restored from an older copy) never repeats a
/// key and nonce. Written only in a space whose every member device announced it (section 12.1).
pub const FORMAT_V2: u8 = 2;
/// The format versions this build opens, ascending: what this device announces in every space.
pub const OPENABLE_VERSIONS: [u8; 2] = [FORMAT_V1, FORMAT_V2];
/// Length of the outer frame header: magic, version, kind, space id, body length.
pub const FRAME_HEADER_LEN: usize = 4 + 1 + 1 + 16 + 4;
/// Largest body any envelope may declare. Checked before anything is allocated.
pub const MAX_BODY_LEN: usize = 4 * 1024 * 1024;
/// Largest plaintext a sealed envelope may carry (the body limit less the v1 header and tag).
pub const MAX_PLAINTEXT_LEN: usize = MAX_BODY_LEN - V1_FIXED_LEN - TAG_LEN;
/// Largest plaintext a v2 envelope may carry: 12 bytes less than v1, for its longer salt.
pub const MAX_PLAINTEXT_LEN_V2: usize = MAX_BODY_LEN - V2_FIXED_LEN - TAG_LEN;
/// Random bytes a v2 envelope carries: the input of its one-time key. 24 bytes (192 bits), so two
/// envelopes of one author never draw the same key however many it seals.
pub const V2_SALT_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SIG_LEN: usize = 64;
const NONCE_LEN: usize = 12;
/// Fixed part of a v1 body: epoch (32), author (32), seq (8), nonce (12), signature (64).
const V1_FIXED_LEN: usize = 32 + 32 + 8 + NONCE_LEN + SIG_LEN;
/// Offset of the nonce in a v1 envelope: everything before it is associated data.
pub(crate) const V1_NONCE_OFFSET: usize = FRAME_HEADER_LEN + 32 + 32 + 8;
/// Fixed part of a v2 body: epoch (32), author (32), seq (8), salt (24), signature (64).
const V2_FIXED_LEN: usize = 32 + 32 + 8 + V2_SALT_LEN + SIG_LEN;
/// Offset of the salt in a v2 envelope (where v1 has its nonce).
const V2_SALT_OFFSET: usize = V1_NONCE_OFFSET;
/// Offset of a v2 payload: everything before it is associated data.
const V2_PAYLOAD_OFFSET: usize = V2_SALT_OFFSET + V2_SALT_LEN;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Reads the id from a slice of exactly the right length.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, ProtoError> {
                let arr: [u8; $len] = bytes
                    .try_into()
                    .map_err(|_| ProtoError::Malformed(concat!(stringify!($name), " has the wrong length")))?;
                Ok(Self(arr))
            }

            /// Parses the lowercase hex form used in logs, headers and the CLI.
            pub fn from_hex(text: &str) -> Result<Self, ProtoError> {
                let bytes = hex::decode(text)
                    .map_err(|_| ProtoError::Malformed(concat!(stringify!($name), " is not hex")))?;
                Self::from_slice(&bytes)
            }

            /// Lowercase hex, the one textual form of ids.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
    };
}

id_type!(
    /// A space (document) id: 16 random bytes chosen by its creator. Reveals nothing about content.
    SpaceId,
    16
);
id_type!(
    /// A device id: the device's Ed25519 public key, so anyone can verify what it signed.
    DeviceId,
    32
);
id_type!(
    /// An epoch id: names the key generation a sealed envelope was written under.
    EpochId,
    32
);
id_type!(
    /// SHA-256 of a whole envelope: its content address.
    EnvelopeId,
    32
);

/// The seven 255-bit little-endian encodings of small-order points on Curve25519 in either of its
/// forms: 0, 1, the two points of order 8 given (`order8_a`, `order8_b`: they differ between the
/// Edwards y-coordinate and the Montgomery u-coordinate), and p − 1, p, p + 1 (p = 2^255 − 19).
/// Shared by the Ed25519 check here and the X25519 check in `identity`.
pub(crate) const fn small_order_table(order8_a: [u8; 32], order8_b: [u8; 32]) -> [[u8; 32]; 7] {
    let mut keys = [[0u8; 32]; 7];
    keys[1][0] = 1;
    keys[2] = order8_a;
    keys[3] = order8_b;
    let mut i = 0;
    while i < 3 {
        let mut k = [0xffu8; 32];
        k[0] = 0xec + i as u8;
        k[31] = 0x7f;
        keys[4 + i] = k;
        i += 1;
    }
    keys
}

/// The y-coordinate encodings of the Ed25519 points of small order (sign bit cleared). ring's verifier
/// accepts signatures under these public keys that verify for any message, so a device id equal to one
/// of them is refused outright.
const SMALL_ORDER_KEYS: [[u8; 32]; 7] = small_order_table(
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
);

impl DeviceId {
    /// Whether this key is one of the small-order points, under which signatures prove nothing.
    pub fn is_weak(&self) -> bool {
        let mut y = self.0;
        y[31] &= 0x7f;
        SMALL_ORDER_KEYS.contains(&y)
    }
}

/// What an envelope carries. The relay can tell kinds apart; it can read only `Membership`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The author's Automerge changes since its previous envelope in this space, sealed.
    Changes,
    /// A `save()` of the whole document, sealed, behind the vector it covers in the clear (signed), so
    /// a relay can tell which envelopes it replaces (`snapshot.rs`, protocol section 26).
    Snapshot,
    /// A signed membership statement, readable by the relay so it can authorise.
    Membership,
    /// A new epoch key wrapped for member devices (signed, not sealed: see `keywraps`).
    KeyWraps,
    /// A kind from a newer format: stored and carried, never opened.
    Unknown(u8),
}

impl Kind {
    /// The byte that encodes the kind on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            Kind::Changes => 1,
            Kind::Snapshot => 2,
            Kind::Membership => 3,
            Kind::KeyWraps => 4,
            Kind::Unknown(b) => b,
        }
    }

    /// Decodes the kind byte; unknown values are kept, not refused.
    pub fn from_byte(b: u8) -> Kind {
        match b {
            1 => Kind::Changes,
            2 => Kind::Snapshot,
            3 => Kind::Membership,
            4 => Kind::KeyWraps,
            other => Kind::Unknown(other),
        }
    }

    /// Whether the payload is AEAD ciphertext (true) or signed plaintext: membership statements (the
    /// relay must read them), key-wraps (each wrap is already encrypted for its one recipient, and
    /// recipients cannot hold the new key before they open their wrap) and snapshots (the covered
    /// vector must be readable by the relay; the document behind it is sealed by `snapshot.rs`).
    pub fn is_sealed(self) -> bool {
        !matches!(self, Kind::Membership | Kind::KeyWraps | Kind::Snapshot)
    }
}

/// A parsed envelope. Holds the exact bytes it was parsed from; every accessor reads from them, so what
/// is verified is what is stored and forwarded.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("version", &self.version())
            .field("kind", &self.kind())
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Fields of a v1 header, for building an envelope.
#[derive(Clone, Copy, Debug)]
pub struct HeaderV1 {
    /// What the envelope carries.
    pub kind: Kind,
    /// The space it belongs to.
    pub space: SpaceId,
    /// The key generation it is sealed under.
    pub epoch: EpochId,
    /// The signing device.
    pub author: DeviceId,
    /// The author's sequence number in this space: 1, 2, 3… never reused.
    pub seq: u64,
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

impl Envelope {
    /// Parses and checks the frame (and, for v1, the fixed fields). Does not verify the signature: see
    /// [`Envelope::verify`]. Lengths are checked before anything is copied.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, ProtoError> {
        let total = Self::frame_len(bytes)?;
        if total != bytes.len() {
            return Err(ProtoError::LengthMismatch {
                declared: total as u64,
                actual: bytes.len() as u64,
            });
        }
        let env = Envelope {
            bytes: bytes.to_vec(),
        };
        let min = match env.version() {
            FORMAT_V1 => Some(V1_FIXED_LEN + if env.kind().is_sealed() { TAG_LEN } else { 0 }),
            // Every kind byte is laid out as sealed in v2: only sealed kinds are defined there.
            FORMAT_V2 => Some(V2_FIXED_LEN + TAG_LEN),
            _ => None,
        };
        if let Some(min) = min {
            let body = total - FRAME_HEADER_LEN;
            if body < min {
                return Err(ProtoError::Truncated {
                    needed: FRAME_HEADER_LEN + min,
                    had: total,
                });
            }
            if bytes[FRAME_HEADER_LEN + 64..FRAME_HEADER_LEN + 72] == [0u8; 8] {
                return Err(ProtoError::Malformed("sequence numbers start at 1"));
            }
        }
        Ok(env)
    }

    /// Reads only the outer frame at the start of `bytes` and returns the whole envelope's length. Lets a
    /// reader split a stream of envelopes without understanding their version.
    pub fn frame_len(bytes: &[u8]) -> Result<usize, ProtoError> {
        if bytes.len() < FRAME_HEADER_LEN {
            return Err(ProtoError::Truncated {
                needed: FRAME_HEADER_LEN,
                had: bytes.len(),
            });
        }
        if bytes[0..4] != MAGIC {
            return Err(ProtoError::BadMagic);
        }
        let body = read_u32(bytes, 22) as usize;
        if body > MAX_BODY_LEN {
            return Err(ProtoError::TooLarge {
                what: "envelope body",
                len: body as u64,
                max: MAX_BODY_LEN as u64,
            });
        }
        let total = FRAME_HEADER_LEN + body;
        if bytes.len() < total {
            return Err(ProtoError::Truncated {
                needed: total,
                had: bytes.len(),
            });
        }
        Ok(total)
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the envelope, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Format version of the frame.
    pub fn version(&self) -> u8 {
        self.bytes[4]
    }

    /// What the envelope carries.
    pub fn kind(&self) -> Kind {
        Kind::from_byte(self.bytes[5])
    }

    /// The space the envelope belongs to (frame field: readable in every version).
    pub fn space(&self) -> SpaceId {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.bytes[6..22]);
        SpaceId(a)
    }

    /// SHA-256 of the whole envelope.
    pub fn id(&self) -> EnvelopeId {
        let d = ring::digest::digest(&ring::digest::SHA256, &self.bytes);
        let mut a = [0u8; 32];
        a.copy_from_slice(d.as_ref());
        EnvelopeId(a)
    }

    /// Fails with `UnsupportedVersion` unless this build opens the frame's version.
    fn require_known(&self) -> Result<(), ProtoError> {
        if OPENABLE_VERSIONS.contains(&self.version()) {
            Ok(())
        } else {
            Err(ProtoError::UnsupportedVersion(self.version()))
        }
    }

    /// Fails with `UnsupportedVersion` unless the frame is version 1: for the readers of kinds that
    /// exist only in v1 (membership, key-wraps, snapshots).
    pub fn require_v1(&self) -> Result<(), ProtoError> {
        if self.version() == FORMAT_V1 {
            Ok(())
        } else {
            Err(ProtoError::UnsupportedVersion(self.version()))
        }
    }

    /// The header fields, at the same offsets in v1 and v2 (`HeaderV1` names both).
    pub fn header(&self) -> Result<HeaderV1, ProtoError> {
        self.require_known()?;
        let b = &self.bytes;
        let h = FRAME_HEADER_LEN;
        let mut epoch = [0u8; 32];
        epoch.copy_from_slice(&b[h..h + 32]);
        let mut author = [0u8; 32];
        author.copy_from_slice(&b[h + 32..h + 64]);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&b[h + 64..h + 72]);
        Ok(HeaderV1 {
            kind: self.kind(),
            space: self.space(),
            epoch: EpochId(epoch),
            author: DeviceId(author),
            seq: u64::from_be_bytes(seq),
        })
    }

    fn payload_range(&self) -> std::ops::Range<usize> {
        let start = if self.version() == FORMAT_V2 {
            V2_PAYLOAD_OFFSET
        } else {
            V1_NONCE_OFFSET + NONCE_LEN
        };
        start..(self.bytes.len() - SIG_LEN)
    }

    /// The payload bytes (ciphertext for sealed kinds).
    pub fn payload(&self) -> Result<&[u8], ProtoError> {
        self.require_known()?;
        Ok(&self.bytes[self.payload_range()])
    }

    /// The label the version's signature starts with (and its key derivations use).
    fn label(&self) -> &'static [u8] {
        if self.version() == FORMAT_V2 {
            ENVELOPE_V2_LABEL
        } else {
            ENVELOPE_SIGNATURE_LABEL
        }
    }

    /// Verifies the author's signature over the domain label and every byte before the signature. Needs
    /// no key but the author's public key, which is in the header: relays and carriers call this.
    pub fn verify(&self) -> Result<(), ProtoError> {
        let header = self.header()?;
        if header.author.is_weak() {
            return Err(ProtoError::BadSignature);
        }
        let split = self.bytes.len() - SIG_LEN;
        let label = self.label();
        let mut msg = Vec::with_capacity(label.len() + split);
        msg.extend_from_slice(label);
        msg.extend_from_slice(&self.bytes[..split]);
        UnparsedPublicKey::new(&ED25519, &header.author.0)
            .verify(&msg, &self.bytes[split..])
            .map_err(|_| ProtoError::BadSignature)
    }

    /// Builds, seals and signs a v1 envelope. `nonce_salt` supplies the four bytes of the nonce after the
    /// sequence number (random in production; fixed in test vectors). `space_key` is the epoch's key;
    /// the per-author key is derived from it. For `Kind::Membership` the payload is signed, not sealed.
    pub fn seal_v1(
        header: HeaderV1,
        space_key: &[u8; 32],
        nonce_salt: [u8; 4],
        plaintext: &[u8],
        signer: &Ed25519KeyPair,
    ) -> Result<Envelope, ProtoError> {
        if signer.public_key().as_ref() != header.author.0 {
            return Err(ProtoError::Malformed("signer is not the header's author"));
        }
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(ProtoError::TooLarge {
                what: "envelope plaintext",
                len: plaintext.len() as u64,
                max: MAX_PLAINTEXT_LEN as u64,
            });
        }
        if header.seq == 0 {
            return Err(ProtoError::Malformed("sequence numbers start at 1"));
        }
        let sealed = header.kind.is_sealed();
        let body_len = V1_FIXED_LEN + plaintext.len() + if sealed { TAG_LEN } else { 0 };
        let mut b = Vec::with_capacity(FRAME_HEADER_LEN + body_len);
        b.extend_from_slice(&MAGIC);
        b.push(FORMAT_V1);
        b.push(header.kind.to_byte());
        b.extend_from_slice(&header.space.0);
        b.extend_from_slice(&(body_len as u32).to_be_bytes());
        b.extend_from_slice(&header.epoch.0);
        b.extend_from_slice(&header.author.0);
        b.extend_from_slice(&header.seq.to_be_bytes());
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..8].copy_from_slice(&header.seq.to_be_bytes());
        nonce[8..].copy_from_slice(&nonce_salt);
        let aad_end = b.len();
        b.extend_from_slice(&nonce);
        if sealed {
            let key = author_key(space_key, &header)?;
            let mut buf = plaintext.to_vec();
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&b[..aad_end]),
                &mut buf,
            )
            .map_err(|_| ProtoError::Encode("seal failed".into()))?;
            b.extend_from_slice(&buf);
        } else {
            b.extend_from_slice(plaintext);
        }
        let mut msg = Vec::with_capacity(ENVELOPE_SIGNATURE_LABEL.len() + b.len());
        msg.extend_from_slice(ENVELOPE_SIGNATURE_LABEL);
        msg.extend_from_slice(&b);
        b.extend_from_slice(signer.sign(&msg).as_ref());
        Ok(Envelope { bytes: b })
    }

    /// Builds, seals and signs a v2 envelope (sealed kinds only). `salt` is 24 bytes from a
    /// cryptographic random generator (fixed only in test vectors): the envelope's one-time key is
    /// derived from it, the author key and the sequence number, so even a sequence number sealed twice
    /// gets a fresh key.
    pub fn seal_v2(
        header: HeaderV1,
        space_key: &[u8; 32],
        salt: [u8; V2_SALT_LEN],
        plaintext: &[u8],
        signer: &Ed25519KeyPair,
    ) -> Result<Envelope, ProtoError> {
        if signer.public_key().as_ref() != header.author.0 {
            return Err(ProtoError::Malformed("signer is not the header's author"));
        }
        if !header.kind.is_sealed() {
            return Err(ProtoError::Malformed("version 2 carries sealed kinds only"));
        }
        if plaintext.len() > MAX_PLAINTEXT_LEN_V2 {
            return Err(ProtoError::TooLarge {
                what: "envelope plaintext",
                len: plaintext.len() as u64,
                max: MAX_PLAINTEXT_LEN_V2 as u64,
            });
        }
        if header.seq == 0 {
            return Err(ProtoError::Malformed("sequence numbers start at 1"));
        }
        let body_len = V2_FIXED_LEN + plaintext.len() + TAG_LEN;
        let mut b = Vec::with_capacity(FRAME_HEADER_LEN + body_len);
        b.extend_from_slice(&MAGIC);
        b.push(FORMAT_V2);
        b.push(header.kind.to_byte());
        b.extend_from_slice(&header.space.0);
        b.extend_from_slice(&(body_len as u32).to_be_bytes());
        b.extend_from_slice(&header.epoch.0);
        b.extend_from_slice(&header.author.0);
        b.extend_from_slice(&header.seq.to_be_bytes());
        b.extend_from_slice(&salt);
        let key = envelope_key_v2(space_key, &header, &salt)?;
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0u8; NONCE_LEN]),
            Aad::from(&b[..V2_PAYLOAD_OFFSET]),
            &mut buf,
        )
        .map_err(|_| ProtoError::Encode("seal failed".into()))?;
        b.extend_from_slice(&buf);
        let mut msg = Vec::with_capacity(ENVELOPE_V2_LABEL.len() + b.len());
        msg.extend_from_slice(ENVELOPE_V2_LABEL);
        msg.extend_from_slice(&b);
        b.extend_from_slice(signer.sign(&msg).as_ref());
        Ok(Envelope { bytes: b })
    }

    /// Verifies the signature, then decrypts the payload with the epoch key (v1 or v2). Any altered bit
    /// fails one of the two checks.
    pub fn open(&self, space_key: &[u8; 32]) -> Result<Vec<u8>, ProtoError> {
        self.verify()?;
        let header = self.header()?;
        if let Kind::Unknown(_) = header.kind {
            return Err(ProtoError::Malformed("unknown envelope kind"));
        }
        if self.version() == FORMAT_V2 {
            return self.open_v2(space_key, &header);
        }
        if !header.kind.is_sealed() {
            return Ok(self.payload()?.to_vec());
        }
        let key = author_key(space_key, &header)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&self.bytes[V1_NONCE_OFFSET..V1_NONCE_OFFSET + NONCE_LEN]);
        if nonce[..8] != header.seq.to_be_bytes() {
            return Err(ProtoError::Malformed(
                "nonce does not start with the sequence number",
            ));
        }
        let mut buf = self.payload()?.to_vec();
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.bytes[..V1_NONCE_OFFSET]),
                &mut buf,
            )
            .map_err(|_| ProtoError::DecryptFailed)?;
        let n = plain.len();
        buf.truncate(n);
        Ok(buf)
    }
}

impl Envelope {
    /// The v2 half of [`Envelope::open`], after the signature and the kind byte were checked.
    fn open_v2(&self, space_key: &[u8; 32], header: &HeaderV1) -> Result<Vec<u8>, ProtoError> {
        if !header.kind.is_sealed() {
            return Err(ProtoError::Malformed(
                "kind not defined in envelope version 2",
            ));
        }
        let mut salt = [0u8; V2_SALT_LEN];
        salt.copy_from_slice(&self.bytes[V2_SALT_OFFSET..V2_PAYLOAD_OFFSET]);
        let key = envelope_key_v2(space_key, header, &salt)?;
        let mut buf = self.payload()?.to_vec();
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key([0u8; NONCE_LEN]),
                Aad::from(&self.bytes[..V2_PAYLOAD_OFFSET]),
                &mut buf,
            )
            .map_err(|_| ProtoError::DecryptFailed)?;
        let n = plain.len();
        buf.truncate(n);
        Ok(buf)
    }
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// Derives the per-author AEAD key: HKDF-SHA256 with the space key as input keying material, an empty
/// salt, and info = `"sebaya/v1/envelope" ‖ space ‖ epoch ‖ author`. One key per author per epoch, so
/// two authors never share a (key, nonce) pair even with equal sequence numbers.
pub(crate) fn author_key(space_key: &[u8; 32], h: &HeaderV1) -> Result<LessSafeKey, ProtoError> {
    let out = author_key_bytes(ENVELOPE_SIGNATURE_LABEL, space_key, h)?;
    aead_key(&out)
}

/// HKDF-SHA256 (empty salt) of the epoch key with info = `label ‖ space ‖ epoch ‖ author`: the
/// per-author key of v1 (`sebaya/v1/envelope`) and v2 (`sebaya/v2/envelope`).
fn author_key_bytes(
    label: &[u8],
    space_key: &[u8; 32],
    h: &HeaderV1,
) -> Result<zeroize::Zeroizing<[u8; 32]>, ProtoError> {
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    let info: [&[u8]; 4] = [label, &h.space.0, &h.epoch.0, &h.author.0];
    hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
        .extract(space_key)
        .expand(&info, Len32)
        .and_then(|okm| okm.fill(out.as_mut()))
        .map_err(|_| ProtoError::Encode("key derivation failed".into()))?;
    Ok(out)
}

fn aead_key(bytes: &[u8; 32]) -> Result<LessSafeKey, ProtoError> {
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, bytes)
        .map_err(|_| ProtoError::Encode("key setup failed".into()))?;
    Ok(LessSafeKey::new(unbound))
}

/// The one-time key of a v2 envelope: HKDF-Expand (RFC 5869) with the v2 author key as PRK and
/// info = `"sebaya/v2/envelope-key" ‖ seq ‖ salt`, 32 bytes (one HMAC-SHA256). The author key is
/// itself uniformly random, so no extract step is needed; `seq` is in the info so that a broken
/// random generator falls back to v1's guarantee rather than below it.
fn envelope_key_v2(
    space_key: &[u8; 32],
    h: &HeaderV1,
    salt: &[u8; V2_SALT_LEN],
) -> Result<LessSafeKey, ProtoError> {
    let author = author_key_bytes(ENVELOPE_V2_LABEL, space_key, h)?;
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    let seq = h.seq.to_be_bytes();
    let info: [&[u8]; 3] = [ENVELOPE_V2_KEY_LABEL, &seq, salt];
    hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, author.as_ref())
        .expand(&info, Len32)
        .and_then(|okm| okm.fill(out.as_mut()))
        .map_err(|_| ProtoError::Encode("key derivation failed".into()))?;
    aead_key(&out)
}
