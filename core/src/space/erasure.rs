//! Erasing a shared space for good (issue 14, item 17): not built yet.

use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::{SpaceId, Vault};

/// A space erased on this device, as a list screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasedSpace {
    /// The erased space's id.
    pub id: SpaceId,
    /// What it was.
    pub kind: SpaceKind,
}

impl Vault {
    /// Not built yet.
    pub(crate) fn erase_shared(&mut self, _space: &SpaceId, _kind: SpaceKind) -> Result<()> {
        Err(Error::Internal("not built yet"))
    }

    /// Not built yet.
    pub fn erased_spaces(&self) -> Vec<ErasedSpace> {
        Vec::new()
    }
}
