//! How the relay uses snapshots (`docs/protocol.md`, section 26): how long a change envelope that a
//! snapshot covers stays before it is pruned, how often a space is pruned, and which kinds a
//! snapshot stands for. The choice of the snapshot to serve is made in
//! [`run_with`](super::run_with), which reads this policy.
//!
//! Kept apart because it is the exchange's only state beyond the store and the membership logs (when
//! each space was last pruned) and the only part of it an operator sets
//! (`--snapshot-retention-days`).

use std::collections::HashMap;

use sebaya_proto::{Kind, SpaceId};

/// Default time a covered change envelope stays at the relay before a snapshot may replace it: 30
/// days, so that a device syncing at least monthly never needs the snapshot.
pub const DEFAULT_SNAPSHOT_RETENTION_SECS: u64 = 30 * 24 * 60 * 60;
/// Snapshots of a space looked at when choosing the one to serve (newest first).
pub(super) const SNAPSHOT_CANDIDATES: usize = 8;
/// Pruning of one space runs at most this often (seconds; less when the retention is shorter).
const PRUNE_EVERY_SECS: u64 = 3600;

/// How the relay uses snapshots (section 26): how long covered envelopes stay before they are
/// pruned (`None`: never prune; a snapshot is still served where it saves bytes).
#[derive(Debug)]
pub struct SnapshotPolicy {
    /// Seconds a covered change envelope is kept after its arrival.
    pub retention_secs: Option<u64>,
    /// When each space was last pruned (relay clock), so a busy space is not scanned on every sync.
    last_pruned: std::sync::Mutex<HashMap<SpaceId, u64>>,
}

impl SnapshotPolicy {
    /// A policy with this retention (`None`: never prune).
    pub fn new(retention_secs: Option<u64>) -> SnapshotPolicy {
        SnapshotPolicy {
            retention_secs,
            last_pruned: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Whether `space` is due for pruning at `now`; marks it pruned if so.
    pub(super) fn due(&self, space: SpaceId, now: u64) -> Option<u64> {
        let retention = self.retention_secs?;
        let cutoff = now.checked_sub(retention)?;
        let every = PRUNE_EVERY_SECS.min(retention);
        let mut last = self.last_pruned.lock().unwrap_or_else(|e| e.into_inner());
        if last
            .get(&space)
            .is_some_and(|t| now < t.saturating_add(every))
            && every > 0
        {
            return None;
        }
        last.insert(space, now);
        Some(cutoff)
    }
}

impl Default for SnapshotPolicy {
    fn default() -> SnapshotPolicy {
        SnapshotPolicy::new(Some(DEFAULT_SNAPSHOT_RETENTION_SECS))
    }
}

/// Kinds a snapshot stands for: changes and earlier snapshots (never membership or key-wraps).
pub(super) fn prunable(kind: Kind) -> bool {
    matches!(kind, Kind::Changes | Kind::Snapshot)
}
