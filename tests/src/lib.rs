//! Shared helpers for Sebaya's cross-crate scenarios and benchmarks.

pub mod crashrng;
pub mod day;
pub mod fixtures;
pub mod net;
pub mod pairings;
pub mod peers;
pub mod powercut;
pub mod proxy;
pub mod soak;
pub mod workload;
