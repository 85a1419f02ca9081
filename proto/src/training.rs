//! Training records (issue 4). Being written.
