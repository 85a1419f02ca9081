//! Bindings for core's safety module (issue 4). Being written.
