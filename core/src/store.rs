//! The device's store: the vault file (one SQLite file, every value sealed under a data key the
//! platform's master key wraps), its schema and migrations, the at-rest self-check, and the clock
//! what is stored is stamped with.
//!
//! The lowest layer above the crypto: everything that keeps state on the device keeps it here, and
//! nothing here knows what a space, a person or a domain is.

pub mod audit;
pub(crate) mod clock;
pub mod file;
pub mod schema;

pub use file::Store;
