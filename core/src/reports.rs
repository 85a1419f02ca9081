//! Programme reports (issue 4). Being written.
