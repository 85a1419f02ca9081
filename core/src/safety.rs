//! Safety plans (issue 4). Being written.
