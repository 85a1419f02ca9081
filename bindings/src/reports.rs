//! Bindings for core's reports module (issue 4). Being written.
