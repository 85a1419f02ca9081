//! Shared helpers for Sebaya's cross-crate scenarios and benchmarks.

pub mod net;
pub mod workload;
