//! Passing a report on to the group's facilitator (protocol 31.4; not built yet).

use crate::Vault;
use crate::error::Result;

impl Vault {
    /// Passes reports on to the facilitator (not built yet).
    pub fn pass_on_reports(&mut self) -> Result<u32> {
        Ok(0)
    }
}
