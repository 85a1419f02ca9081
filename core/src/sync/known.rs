//! What the vault remembers of each relay it synced with (issue 16, item 3): the relay's id, clock
//! and listed programmes, so the next sync with it starts with the exchange itself instead of
//! `GET /v1/info` — one round trip where there were two. Kept sealed in the vault's settings under
//! the relay's address; a sync that learns them anew (or finds them stale) keeps the new ones.

use crate::Vault;
use crate::error::Result;

use super::relay::{KnownRelay, RelaySync};

/// The setting's name for the relay at `base` (an address with no trailing slash).
fn setting(base: &str) -> String {
    format!("relay-known/{base}")
}

impl Vault {
    /// Starts `sync` from what an earlier sync learned of its relay, if anything. A setting that does
    /// not read is ignored: the sync asks the relay, as a first sync does.
    pub(crate) fn recall_relay(&self, sync: RelaySync) -> Result<RelaySync> {
        // A setting that does not open (a damaged row) is no reason to hold back the sync that
        // carries referrals: it is asked again, as a first sync does, and written anew.
        let Ok(Some(bytes)) = self.store.kv_get(&setting(sync.base())) else {
            return Ok(sync);
        };
        Ok(match serde_json::from_slice::<KnownRelay>(&bytes) {
            Ok(known) => sync.with_known(&known),
            Err(_) => sync,
        })
    }

    /// Keeps what `sync` learned of its relay since the last call, for the next sync.
    pub(crate) fn remember_relay(&self, sync: &mut RelaySync) -> Result<()> {
        if let Some(known) = sync.take_learned() {
            let bytes = serde_json::to_vec(&known)
                .map_err(|_| crate::error::Error::Internal("relay setting not encodable"))?;
            self.store.kv_put(&setting(sync.base()), &bytes)?;
        }
        Ok(())
    }
}
