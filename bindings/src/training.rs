//! Bindings for core's training module (issue 4). Being written.
