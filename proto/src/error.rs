//! Errors of the wire format. They name what is wrong with bytes, never what the bytes contain.

/// Why a piece of wire data was refused. Every variant means "nothing was changed": callers drop or
/// quarantine the input and carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The input ended before a field it announced.
    #[error("truncated input: needed {needed} bytes, had {had}")]
    Truncated {
        /// Bytes the format required at this point.
        needed: usize,
        /// Bytes that were there.
        had: usize,
    },
    /// The first bytes are not Sebaya's envelope magic.
    #[error("not a Sebaya envelope (bad magic)")]
    BadMagic,
    /// A frame of a format version this build cannot open. It can still be stored and carried.
    #[error("unsupported envelope format version {0}")]
    UnsupportedVersion(u8),
    /// A length field exceeds its limit; nothing was allocated for it.
    #[error("{what} of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Which field.
        what: &'static str,
        /// Its announced length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The frame's length field disagrees with the bytes that follow it.
    #[error("length field says {declared} bytes, {actual} present")]
    LengthMismatch {
        /// Length the frame declared.
        declared: u64,
        /// Length present.
        actual: u64,
    },
    /// The Ed25519 signature does not verify for the named author.
    #[error("signature does not verify")]
    BadSignature,
    /// Authenticated decryption failed: wrong key, or the bytes were altered.
    #[error("decryption failed (wrong key or altered data)")]
    DecryptFailed,
    /// A field holds a value the format does not allow.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// A CBOR message could not be decoded into the expected shape.
    #[error("undecodable message: {0}")]
    Decode(String),
    /// Encoding a message failed (only on out-of-memory style failures).
    #[error("could not encode message: {0}")]
    Encode(String),
}
