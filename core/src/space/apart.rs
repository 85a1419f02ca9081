//! Envelopes held apart: verified envelopes of a space whose author the membership log does not
//! admit (yet). They are kept out of the vector and the document, bounded in count and bytes, taken
//! in when a statement admitting their author arrives, and dropped once the log says no
//! (docs/protocol.md 7.1, docs/threat-model.md).

/// Most envelopes one space holds apart.
pub const MAX_HELD_APART: u64 = 256;
/// Most bytes (as sealed in the vault) one space holds apart.
pub const MAX_HELD_APART_BYTES: u64 = 16 * 1024 * 1024;
/// Most envelopes the whole vault holds apart.
pub const MAX_HELD_APART_IN_VAULT: u64 = 1024;
/// Most bytes (as sealed in the vault) the whole vault holds apart.
pub const MAX_HELD_APART_IN_VAULT_BYTES: u64 = 64 * 1024 * 1024;

#[cfg(test)]
impl super::Space {
    /// Stores an envelope and counts it in the vector without judging its author, as a device built
    /// before envelopes were held apart did: lets a test make a peer send strangers' envelopes as
    /// its own.
    pub(crate) fn store_unjudged(
        &mut self,
        store: &crate::store::Store,
        bytes: &[u8],
    ) -> crate::error::Result<()> {
        let env = sebaya_proto::Envelope::parse(bytes)?;
        let h = env.header()?;
        Self::insert_envelope(store, &env, &h.author, h.seq, 0)?;
        self.vector.insert(h.author, h.seq);
        self.save_record(store)
    }
}
