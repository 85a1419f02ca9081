//! Snapshots through the bindings (issue 5, protocol section 26): the app may choose how many changes
//! gather before this device seals a snapshot of a journal at sync time, or seal one now (before a
//! new device is linked, say). Sync itself needs nothing new: a new device gets the snapshot and the
//! tail through `sync`.

use super::{Result, Vault, parse_space, with};

#[uniffi::export]
impl Vault {
    /// Changes between two snapshots this device seals at sync time (0: none).
    pub fn snapshot_every(&self) -> Result<u32> {
        with(&self.inner, |v| v.snapshot_every())
    }

    /// Sets how many changes gather before this device seals a snapshot at sync time: 0 turns
    /// snapshots off, otherwise at least 16 (`InvalidInput` below that).
    pub fn set_snapshot_every(&self, every: u32) -> Result<()> {
        with(&self.inner, |v| v.set_snapshot_every(every))
    }

    /// Seals a snapshot of a space now (`space_id` in hex; the journal when absent); it goes with the
    /// next sync. Returns its size in bytes, or nothing where the space has no snapshots (only
    /// journals and indexes have them) or its document is too large for one envelope.
    pub fn snapshot_now(&self, space_id: Option<String>) -> Result<Option<u64>> {
        let space = space_id.as_deref().map(parse_space).transpose()?;
        with(&self.inner, |v| v.snapshot_now(space))
    }
}
