//! Sebaya's wire format, shared by every device and by the relay.
//!
//! This crate knows how to frame, sign, verify and parse envelopes, how to sign relay requests, and how
//! the sync exchange is encoded. It never decrypts anything: the relay links this crate and nothing
//! else of Sebaya, so it cannot read what it stores. Everything here is pure computation (no I/O), safe
//! to call from any thread.
//!
//! The normative description is `docs/protocol.md`; its test vectors are checked by this crate's tests.

pub mod bundle;
pub mod cbor;
pub mod envelope;
pub mod erasure;
pub mod error;
pub mod identity;
pub mod invite;
pub mod keywraps;
pub mod live;
pub mod membership;
pub mod peer;
pub mod programme;
pub mod push;
pub mod reason;
pub mod request;
pub mod snapshot;
pub mod sync;
pub mod training;
pub mod vector;

pub use envelope::{DeviceId, Envelope, EnvelopeId, EpochId, HeaderV1, Kind, SpaceId};
pub use error::ProtoError;
pub use identity::{
    DeviceCertificate, DeviceRevocation, PersonId, SignedDeviceCertificate, SignedDeviceRevocation,
};
pub use vector::VersionVector;

/// Domain label for envelope signatures. Every signature in Sebaya starts with its own label so that a
/// signature made for one purpose can never be replayed as another.
pub const ENVELOPE_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/envelope";
/// Domain label for v2 envelope signatures and v2 per-author keys: a new version gets new labels, so
/// no signature or key of one version is valid in the other (section 12).
pub const ENVELOPE_V2_LABEL: &[u8] = b"sebaya/v2/envelope";
/// HKDF info prefix of a v2 envelope's one-time key (section 5.2), distinct from the author key's.
pub const ENVELOPE_V2_KEY_LABEL: &[u8] = b"sebaya/v2/envelope-key";
/// Domain label for signed relay requests.
pub const REQUEST_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/request";
/// Domain label for device certificates, signed by a person's root key (`identity.rs`).
pub const DEVICE_CERT_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/device-cert";
/// Domain label for device revocations, signed by a person's root key (`identity.rs`).
pub const DEVICE_REVOKE_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/device-revoke";
/// Domain label for a key's proof that the device presenting its certificate for admission holds it
/// (section 9.8): so nobody can present another's key as their own.
pub const ADMISSION_KEY_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/admission-key";
/// Domain label for programme role grants, signed by the programme root key or by a coordinator's
/// person root key (`programme.rs`), so a grant can never pass for any other signed statement.
pub const PROGRAMME_GRANT_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/programme-grant";
/// Domain label for programme role revocations (`programme.rs`); distinct from the grant label so a
/// revocation can never be replayed as a grant or the other way round.
pub const PROGRAMME_REVOKE_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/programme-revoke";
/// Domain label for erasure statements, signed by the erasing device (`erasure.rs`, section 23.2), so
/// no other signature of a device can pass for an erasure.
pub const ERASURE_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/erase-space";
