//! The device's wall clock, the one place the core reads the time for what it writes (records,
//! consents, states), so every file asks the same clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock in ms since the Unix epoch (0 before 1970; saturating far in the future): the
/// time every record written on this device carries.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
