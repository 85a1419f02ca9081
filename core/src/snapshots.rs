//! The snapshot policy a vault follows (`space/snapshot.rs` does the work, `docs/protocol.md`
//! section 26 the wire form): how many changes gather in a space before this device seals a snapshot
//! of it at sync time.

use crate::error::{Error, Result};
use crate::space::DEFAULT_SNAPSHOT_EVERY;
use crate::{SpaceId, Vault};

const SNAPSHOT_EVERY: &str = "snapshot-every";
/// Fewest changes between two snapshots a vault accepts (below this the snapshots would cost more
/// than the changes they stand for).
pub const MIN_SNAPSHOT_EVERY: u32 = 16;

impl Vault {
    /// Changes between two snapshots this device seals (0: it seals none). Kept in the vault.
    pub fn snapshot_every(&self) -> Result<u32> {
        match self.store.kv_get(SNAPSHOT_EVERY)? {
            Some(v) => {
                let b: [u8; 4] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Corrupt("snapshot setting"))?;
                Ok(u32::from_be_bytes(b))
            }
            None => Ok(DEFAULT_SNAPSHOT_EVERY),
        }
    }

    /// Sets how many changes gather before this device seals a snapshot at sync time: 0 turns
    /// snapshots off, otherwise at least [`MIN_SNAPSHOT_EVERY`].
    pub fn set_snapshot_every(&mut self, every: u32) -> Result<()> {
        if every != 0 && every < MIN_SNAPSHOT_EVERY {
            return Err(Error::InvalidInput(format!(
                "snapshots need at least {MIN_SNAPSHOT_EVERY} changes between them (or 0 for none)"
            )));
        }
        self.store.kv_put(SNAPSHOT_EVERY, &every.to_be_bytes())
    }

    /// Seals a snapshot of `space` now (the journal when `None`), whatever the policy says. Returns
    /// its size in bytes, or `None` where this space has no snapshots (only journals and indexes do)
    /// or its document is too large for one envelope.
    pub fn snapshot_now(&mut self, space: Option<SpaceId>) -> Result<Option<u64>> {
        self.seal_pending()?;
        let (store, identity) = (&self.store, &self.identity);
        let s = match space {
            None => self.journal.as_mut().ok_or(Error::NotFound("journal"))?,
            Some(id) => match self.journal.as_mut().filter(|j| j.id == id) {
                Some(j) => j,
                None => self.shared.get_mut(&id).ok_or(Error::NotFound("space"))?,
            },
        };
        Ok(s.seal_snapshot(store, identity)?.map(|n| n as u64))
    }
}
