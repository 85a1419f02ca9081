//! Sync policy and status for the apps (issue 5): what a sync may spend on the link the phone has
//! now, and what each space is waiting for.
//!
//! Field reality: data costs money, budgets are daily, and some phones must only sync on Wi-Fi. But a
//! referral must never wait for Wi-Fi. So the app says which link it has (`Link`), and the core
//! decides the scope: everything on an unmetered link; on a metered one everything within the daily
//! budget, and past it (or when the person chose Wi-Fi only) care records alone — referrals, their
//! acknowledgements and risk flags are small and go first. Bytes on metered links are counted per
//! UTC day. Snapshots (a whole document each, protocol 26) are sealed on unmetered links only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::{SpaceId, SyncReport, Vault};

const POLICY: &str = "sync/policy";
const USAGE: &str = "sync/usage";
const LAST: &str = "sync/last";

/// The link the phone has now, as the app's connectivity API says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Wi-Fi or Ethernet without a cap.
    Unmetered,
    /// Mobile data, a hotspot, anything that costs per byte.
    Metered,
}

/// What the person or the programme chose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPolicy {
    /// Sync only care records (urgent items) on metered links.
    pub wifi_only: bool,
    /// Most bytes (sent plus received) per UTC day on metered links before only urgent items go;
    /// 0: no budget.
    pub metered_daily_budget: u64,
    /// Most envelope bytes one request carries each way on metered links (0: 64 KiB; at least
    /// 4 KiB). Mobile data is often slow and drops: small chunks keep each request short and make an
    /// interrupted sync lose at most one chunk. (Policies stored before this field read as 0.)
    #[serde(default)]
    pub metered_chunk_bytes: u64,
}

/// What a sync on this link covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncScope {
    /// Every space.
    All,
    /// Care records only: referrals, acknowledgements, consents.
    UrgentOnly,
}

/// Where one space stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceStatus {
    /// The space.
    pub space: SpaceId,
    /// Its kind.
    pub kind: SpaceKind,
    /// Whether this device has changes there the relay has not acknowledged yet.
    pub waiting: bool,
    /// When it last synced, ms, and through which path (`relay`, `bundle` or `peer`).
    pub last_synced: Option<(i64, String)>,
}

#[derive(Serialize, Deserialize, Default)]
struct Usage {
    day: i64,
    bytes: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct Last(BTreeMap<String, (i64, String)>);

fn load<T: for<'de> Deserialize<'de> + Default>(store: &crate::store::Store, k: &str) -> Result<T> {
    match store.kv_get(k)? {
        None => Ok(T::default()),
        Some(b) => {
            sebaya_proto::cbor::decode(b.as_slice(), 256).map_err(|_| Error::Corrupt("sync policy"))
        }
    }
}

fn save<T: Serialize>(store: &crate::store::Store, k: &str, v: &T) -> Result<()> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).map_err(|_| Error::Internal("encode sync policy"))?;
    store.kv_put(k, &out)
}

fn today() -> i64 {
    crate::store::clock::now_ms().div_euclid(86_400_000)
}

impl Vault {
    /// The sync policy in force (default: no Wi-Fi-only rule, no budget).
    pub fn sync_policy(&self) -> Result<SyncPolicy> {
        load(&self.store, POLICY)
    }

    /// Sets the sync policy.
    pub fn set_sync_policy(&mut self, policy: SyncPolicy) -> Result<()> {
        save(&self.store, POLICY, &policy)
    }

    /// Bytes spent on metered links today (UTC).
    pub fn metered_bytes_today(&self) -> Result<u64> {
        let u: Usage = load(&self.store, USAGE)?;
        Ok(if u.day == today() { u.bytes } else { 0 })
    }

    /// What a sync on `link` may cover now.
    pub fn sync_scope(&self, link: Link) -> Result<SyncScope> {
        if link == Link::Unmetered {
            return Ok(SyncScope::All);
        }
        let p = self.sync_policy()?;
        let over =
            p.metered_daily_budget > 0 && self.metered_bytes_today()? >= p.metered_daily_budget;
        Ok(if p.wifi_only || over {
            SyncScope::UrgentOnly
        } else {
            SyncScope::All
        })
    }

    /// Starts a sync of what the policy allows on `link` (drive it with `sync_next_request` and
    /// `sync_handle_response`, then call [`Vault::sync_end_on`]). Returns the scope used.
    pub fn sync_begin_on(
        &mut self,
        relay_url: &str,
        link: Link,
    ) -> Result<(crate::RelaySync, SyncScope)> {
        let scope = self.sync_scope(link)?;
        let only: Option<Vec<SpaceId>> = match scope {
            SyncScope::All => None,
            SyncScope::UrgentOnly => Some(
                self.shared
                    .values()
                    .filter(|s| s.kind == SpaceKind::Care)
                    .map(|s| s.id)
                    .collect(),
            ),
        };
        // Snapshots due are sealed on unmetered links only: on a metered one they wait.
        let mut s = self.sync_begin_sealing(relay_url, link == Link::Unmetered)?;
        // Urgent only: the care records alone. Otherwise every space, care records first.
        if only.is_some() {
            s.set_only(only);
        }
        if link == Link::Metered {
            let chunk = self.sync_policy()?.metered_chunk_bytes;
            s.set_chunking(crate::sync::relay::Chunking::chunked(chunk));
        }
        Ok((s, scope))
    }

    /// Counts what a finished sync on `link` spent (on a metered link, against today's budget).
    pub fn sync_end_on(&mut self, link: Link, report: &SyncReport) -> Result<()> {
        if link != Link::Metered {
            return Ok(());
        }
        let mut u: Usage = load(&self.store, USAGE)?;
        if u.day != today() {
            u = Usage {
                day: today(),
                bytes: 0,
            };
        }
        u.bytes = u
            .bytes
            .saturating_add(report.bytes_sent)
            .saturating_add(report.bytes_received);
        save(&self.store, USAGE, &u)
    }

    /// Syncs what the policy allows on `link` (everything, or care records alone) and counts the
    /// bytes on a metered link. Returns the scope used and what the sync did.
    pub fn sync_on(
        &mut self,
        http: &dyn crate::HttpClient,
        relay_url: &str,
        link: Link,
    ) -> Result<(SyncScope, SyncReport)> {
        let (mut s, scope) = self.sync_begin_on(relay_url, link)?;
        let done = self.drive_sync(http, &mut s);
        // What a sync cut short spent still counts against today's budget.
        self.sync_end_on(link, s.report())?;
        done?;
        Ok((scope, s.report().clone()))
    }

    /// Records that `spaces` just synced through `path`. An exchange has ended: what each space holds
    /// apart is settled against its log (`Space::settle_held_apart`).
    pub(crate) fn note_synced(&self, spaces: &[SpaceId], path: &str) -> Result<()> {
        for s in self.journal.iter().chain(self.shared.values()) {
            if spaces.contains(&s.id) {
                s.settle_held_apart(&self.store)?;
            }
        }
        let mut last: Last = load(&self.store, LAST)?;
        let now = crate::store::clock::now_ms();
        for s in spaces {
            last.0.insert(s.to_hex(), (now, path.to_string()));
        }
        save(&self.store, LAST, &last)
    }

    /// Where every space this device holds stands: waiting changes, last sync and its path.
    pub fn space_status(&mut self) -> Result<Vec<SpaceStatus>> {
        let last: Last = load(&self.store, LAST)?;
        let mut out = Vec::new();
        for s in self.journal.iter_mut().chain(self.shared.values_mut()) {
            if s.kind == SpaceKind::Index {
                continue;
            }
            out.push(SpaceStatus {
                space: s.id,
                kind: s.kind,
                waiting: !s.all_sent(),
                last_synced: last.0.get(&s.id.to_hex()).cloned(),
            });
        }
        crate::order::sort_by_key(&mut out, |s| s.space.0);
        Ok(out)
    }
}
