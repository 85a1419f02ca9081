//! The app's lock (issue 18, item 6): an app passcode that, with a secret the platform's key store
//! keeps, unwraps the vault's master key; a duress code that opens a second, empty-looking vault;
//! a quick wipe; a delay after wrong tries; and the auto-lock timer.
//!
//! A mechanism: it knows the key store (as [`SecretStore`]), keys and time, never a vault's
//! content. It hands back a master key and which vault it opens ([`Opened`]); the caller opens
//! that vault. The format of the wrapped key and its test vector: `docs/protocol.md`, "Passcode
//! wrap". Why the secret and the try counter live in the key store: `docs/threat-model.md`.

pub mod idle;
pub mod kdf;
pub mod passcode;

pub use idle::IdleTimer;
pub use kdf::KdfParams;
pub use passcode::{Opened, PasscodeLock, SecretStore, retry_delay_secs};
