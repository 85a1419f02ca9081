//! Bindings for core's care module (issue 4). Being written.
