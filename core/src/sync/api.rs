//! Moving envelopes by hand, as the `Vault` offers it to tests, tools and apps that carry envelopes
//! themselves: counts of what is held, receiving a batch, and what of the journal is still to send.
//! The relay sync is `relay.rs`, orchestrated by the crate root.

use sebaya_proto::SpaceId;

use crate::Vault;
use crate::error::{Error, Result};
use crate::space::ReceiveReport;

impl Vault {
    /// Counts of envelopes held by state (waiting, applied, quarantined), for status screens and tests.
    pub fn envelope_counts(&self) -> Result<(u64, u64, u64)> {
        let mut out = [0u64; 3];
        let mut stmt = self
            .store
            .conn
            .prepare("SELECT state, count(*) FROM envelopes GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (s, n) = row?;
            if let Some(slot) = usize::try_from(s).ok().and_then(|i| out.get_mut(i)) {
                *slot = n as u64;
            }
        }
        Ok((out[0], out[1], out[2]))
    }

    /// Envelopes held apart across the vault (their authors not admitted by their space's log), as
    /// (count, bytes as sealed in the vault).
    pub fn held_apart_counts(&self) -> Result<(u64, u64)> {
        let (n, bytes): (i64, i64) = self.store.conn.query_row(
            "SELECT count(*), coalesce(sum(length(v)), 0) FROM envelopes WHERE state = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((n as u64, bytes as u64))
    }

    /// How many authors a held space's vector names (contiguous runs and envelopes above a gap):
    /// what a sync sends for it. `None` for a space not held.
    pub fn vector_authors(&self, space: &SpaceId) -> Option<usize> {
        let s = self
            .journal
            .iter()
            .chain(self.shared.values())
            .find(|s| s.id == *space)?;
        let mut authors: Vec<_> = s.vector.contiguous().keys().copied().collect();
        authors.extend(s.vector.above_gap().map(|(a, _)| *a));
        crate::order::sort(&mut authors);
        authors.dedup();
        Some(authors.len())
    }

    /// Receives envelopes from any path (tests, bundles later); each is verified on its own.
    pub fn receive_envelopes(&mut self, envelopes: &[Vec<u8>]) -> Result<ReceiveReport> {
        let j = self.journal.as_mut().ok_or(Error::NotFound("journal"))?;
        j.receive(&self.store, &self.identity, envelopes)
    }

    /// Every envelope of the journal this device holds that the relay has not acknowledged.
    pub fn outgoing_envelopes(&mut self) -> Result<Vec<Vec<u8>>> {
        self.seal_pending()?;
        let (store, j) = self.parts()?;
        j.unacked(store)
    }
}
