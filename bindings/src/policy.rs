//! Sync policy and status through the bindings (issue 5): the app says which link the phone has; the
//! core decides what goes (everything, or care records alone) and reports what each space waits for.

use std::sync::Arc;

use super::{LinkKind, Result, SpaceKind, SyncPath, SyncReport, SyncScope, Vault, with};

/// The person's or programme's choice for metered links.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SyncPolicy {
    /// On metered links sync only care records (referrals, acknowledgements, consents).
    pub wifi_only: bool,
    /// Most bytes per UTC day on metered links before only care records go; 0: no budget.
    pub metered_daily_budget: u64,
    /// Most envelope bytes one request carries each way on metered links (0: 64 KiB; at least
    /// 4 KiB): small chunks keep a sync on a slow, dropping link resumable.
    #[uniffi(default = 0)]
    pub metered_chunk_bytes: u64,
}

/// What a policy-aware sync did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PolicySync {
    /// What it moved.
    pub scope: SyncScope,
    /// What the sync did.
    pub report: SyncReport,
}

/// Where one space stands.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SpaceStatus {
    /// The space id (hex).
    pub space_id: String,
    /// Its kind.
    pub kind: SpaceKind,
    /// Whether this device has changes there the relay has not acknowledged.
    pub waiting: bool,
    /// When it last synced, ms since the Unix epoch.
    pub last_synced_ms: Option<i64>,
    /// Through which path it last synced.
    pub last_path: Option<SyncPath>,
}

#[uniffi::export]
impl Vault {
    /// The sync policy in force.
    pub fn sync_policy(&self) -> Result<SyncPolicy> {
        let p = with(&self.inner, |v| v.sync_policy())?;
        Ok(SyncPolicy {
            wifi_only: p.wifi_only,
            metered_daily_budget: p.metered_daily_budget,
            metered_chunk_bytes: p.metered_chunk_bytes,
        })
    }

    /// Sets the sync policy.
    pub fn set_sync_policy(&self, policy: SyncPolicy) -> Result<()> {
        with(&self.inner, |v| {
            v.set_sync_policy(sebaya_core::sync::policy::SyncPolicy {
                wifi_only: policy.wifi_only,
                metered_daily_budget: policy.metered_daily_budget,
                metered_chunk_bytes: policy.metered_chunk_bytes,
            })
        })
    }

    /// Bytes spent on metered links today (UTC).
    pub fn metered_bytes_today(&self) -> Result<u64> {
        with(&self.inner, |v| v.metered_bytes_today())
    }

    /// Syncs what the policy allows on the link the phone has now (`Metered`: mobile data or a
    /// hotspot): everything, or care records alone. Like `sync`, the vault stays usable from other
    /// threads while the network is slow.
    pub fn sync_on(&self, relay_url: String, link: LinkKind) -> Result<PolicySync> {
        self.sync_on_until(relay_url, link, super::SyncControl::new(), None)
    }

    /// `sync_on` that the app can stop, as `sync_until` (`Cancelled`; what was spent still counts
    /// against today's budget).
    pub fn sync_on_until(
        &self,
        relay_url: String,
        link: LinkKind,
        control: Arc<super::SyncControl>,
        timeout_ms: Option<u64>,
    ) -> Result<PolicySync> {
        if self.quiet {
            return Ok(PolicySync {
                scope: SyncScope::All,
                report: sebaya_core::SyncReport::default().into(),
            });
        }
        let stop = control.stop(timeout_ms);
        let mut turn = self.wait_for_gate(&stop)?;
        let http = super::platform::transport()?;
        let (mut s, scope) = turn.with(|v| v.sync_begin_on(&relay_url, link.into()))?;
        let driven = turn.drive(http.as_ref(), &mut s, &stop);
        let report = s.report().clone();
        // What a sync cut short spent still counts against today's budget.
        turn.with(|v| v.sync_end_on(link.into(), &report))?;
        driven?;
        Ok(PolicySync {
            scope: scope.into(),
            report: report.into(),
        })
    }

    /// Where every space stands: waiting changes, last sync and its path.
    pub fn space_status(&self) -> Result<Vec<SpaceStatus>> {
        let list = with(&self.inner, |v| v.space_status())?;
        Ok(list
            .into_iter()
            .map(|s| SpaceStatus {
                space_id: s.space.to_hex(),
                kind: s.kind.into(),
                waiting: s.waiting,
                last_synced_ms: s.last_synced.as_ref().map(|(t, _)| *t),
                last_path: s.last_synced.map(|(_, p)| SyncPath::from_id(&p)),
            })
            .collect())
    }
}
