//! Bindings for core's wordings module (issue 4). Being written.
