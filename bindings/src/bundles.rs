//! Sync by file through the bindings (issue 5, bundles; protocol section 24): write what a peer
//! lacks to a signed file any path can carry, and import one, verified whole before anything is kept.

use super::{Result, Vault, parse_device, parse_space, with};

/// What importing a bundle did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BundleReport {
    /// The device that made it (hex): pass it as `peer_device_id` to answer with only what it lacks.
    pub exporter: String,
    /// Spaces it carried that this device holds.
    pub spaces: u32,
    /// Spaces it carried that this device does not hold (left alone).
    pub other_spaces: u32,
    /// Envelopes newly stored.
    pub stored: u32,
    /// Envelopes already held.
    pub duplicates: u32,
    /// Envelopes whose changes reached the documents.
    pub applied: u32,
    /// Envelopes set aside (content that could not be applied, or an author who may not write).
    pub quarantined: u32,
    /// Envelopes of others' spaces taken to carry on (when this device opted in).
    pub carried: u32,
}

/// What this device carries for others (see `set_carry_quota`).
#[derive(Clone, Debug, uniffi::Record)]
pub struct CarryStatus {
    /// The quota, bytes (0: carrying is off).
    pub quota: u64,
    /// Bytes carried now.
    pub used: u64,
    /// Envelopes carried now.
    pub envelopes: u32,
    /// Distinct spaces they belong to.
    pub spaces: u32,
}

#[uniffi::export]
impl Vault {
    /// Writes a bundle (bytes for a file) of `space_ids` (every space this device holds when empty):
    /// for `peer_device_id`, a device whose bundle this one imported before, only what it lacked
    /// then; otherwise everything. Envelopes stay sealed: carrying the file opens nothing.
    pub fn export_bundle(
        &self,
        space_ids: Vec<String>,
        peer_device_id: Option<String>,
    ) -> Result<Vec<u8>> {
        let spaces = space_ids
            .iter()
            .map(|s| parse_space(s))
            .collect::<Result<Vec<_>>>()?;
        let peer = peer_device_id.as_deref().map(parse_device).transpose()?;
        with(&self.inner, |v| v.export_bundle(&spaces, peer.as_ref()))
    }

    /// Imports a bundle. Throws `BadBundle` (damaged, truncated, altered), `BundleReplayed` (imported
    /// before) or `StrangerBundle` (from a device this one shares no space with), and then nothing
    /// changed.
    pub fn import_bundle(&self, bundle: Vec<u8>) -> Result<BundleReport> {
        let r = with(&self.inner, |v| v.import_bundle(&bundle))?;
        Ok(BundleReport {
            exporter: r.exporter.to_hex(),
            spaces: r.spaces,
            other_spaces: r.other_spaces,
            stored: r.stored,
            duplicates: r.duplicates,
            applied: r.applied,
            quarantined: r.quarantined,
            carried: r.carried,
        })
    }

    /// Opts in to carrying others' envelopes (sealed: this device reads nothing of them) up to
    /// `bytes`, at most 16 MiB; 0 (the default) turns it off and drops what is carried. Carried
    /// envelopes go to the relay at the next sync and into every full bundle.
    pub fn set_carry_quota(&self, bytes: u64) -> Result<()> {
        with(&self.inner, |v| v.set_carry_quota(bytes))
    }

    /// What this device carries for others now.
    pub fn carry_status(&self) -> Result<CarryStatus> {
        let s = with(&self.inner, |v| v.carry_status())?;
        Ok(CarryStatus {
            quota: s.quota,
            used: s.used,
            envelopes: s.envelopes,
            spaces: s.spaces,
        })
    }
}
