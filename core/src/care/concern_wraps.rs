//! Wrapping earlier safeguarding concerns for coordinator devices added later (review M2).
//!
//! A concern's key is wrapped, when it is written, for the coordinator devices its writer's copy of
//! the safeguarding space knew. A coordinator added to the space afterwards, or a coordinator's new
//! phone, would see the concern, its writer and its state but never whom it is about. So every
//! device that can open a concern and may add wraps (a coordinator's, and the writer's own for its
//! concerns) adds, whenever it is about to send, a wrap of the concern's key for each coordinator
//! device of the space that has none: a root key of its own (`rewrap/<concern>/<device>`, protocol
//! 22.4), judged on receipt by every device (`space/rules/rewraps.rs`, rules version 10).

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue, Value};

use crate::error::Result;
use crate::space::SpaceKind;
use crate::space::doc::{read_all, string, write};
use crate::space::rules::rewraps;
use crate::{SpaceId, Vault};

use super::concerns::open_concern;

impl Vault {
    /// Adds, in each safeguarding space this device belongs to, a wrap of each concern it can open
    /// (every concern on a coordinator's device, its own on a supporter's) for each coordinator
    /// device of the space that lacks one. Returns how many wraps were added. Called before every
    /// send (`Vault::before_sending`).
    pub(crate) fn rewrap_concerns(&mut self) -> Result<u32> {
        let me = self.identity.device.to_hex();
        let mut ids: Vec<SpaceId> = self
            .shared
            .values()
            .filter(|s| {
                s.kind == SpaceKind::Safeguarding && s.membership().is_member(&self.identity.device)
            })
            .map(|s| s.id)
            .collect();
        ids.sort_unstable_by_key(|i| i.0);
        let mut added = 0u32;
        for sid in ids {
            let space = self.held_ref(&sid)?;
            let coordinators = super::outcomes::coordinator_devices(space);
            if coordinators.is_empty() {
                continue;
            }
            let coordinator = self.viewer(space) == "coordinator";
            let doc = &space.doc;
            let identity = &self.identity;
            let mut adds: Vec<(String, Vec<u8>)> = Vec::new();
            let found = read_all(doc, "concerns", |d, id, r| {
                let by = string(d, r, "by")?;
                if !coordinator && by != me {
                    return None;
                }
                let epoch = sebaya_proto::EpochId::from_hex(&string(d, r, "epoch")?).ok()?;
                let (_, key) = open_concern(d, r, (&sid, id), identity)?;
                let wrapped: Vec<String> = match d.get(r, "wraps").ok().flatten() {
                    Some((Value::Object(_), w)) => d.keys(&w).collect(),
                    _ => Vec::new(),
                };
                let mut out = Vec::new();
                for (device, x25519) in &coordinators {
                    let hex = device.to_hex();
                    let later = rewraps::key(id, &hex);
                    if wrapped.contains(&hex)
                        || d.get(ROOT, later.as_str()).ok().flatten().is_some()
                    {
                        continue;
                    }
                    // A device whose key cannot take a wrap is left out, never the others.
                    if let Ok(w) = crate::crypto::keywrap::wrap(&key, x25519, &sid, &epoch) {
                        out.push((later, w.to_bytes()));
                    }
                }
                Some(out)
            });
            adds.extend(found.into_iter().flatten());
            if adds.is_empty() {
                continue;
            }
            let n = u32::try_from(adds.len()).unwrap_or(u32::MAX);
            self.with_space(&sid, |doc, now| {
                write(doc, now, |d| {
                    for (k, b) in adds {
                        d.put(ROOT, k.as_str(), ScalarValue::Bytes(b))?;
                    }
                    Ok(())
                })
            })?;
            added = added.saturating_add(n);
        }
        Ok(added)
    }
}
