//! The training register (issue 4). Being written.
