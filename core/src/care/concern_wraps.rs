//! Wrapping earlier safeguarding concerns for coordinator devices added later (review M2).
//!
//! A concern's key is wrapped, when it is written, for the coordinator devices its writer's copy of
//! the safeguarding space knew. A coordinator added to the space afterwards, or a coordinator's new
//! phone, would see the concern, its writer and its state but never whom it is about. So a device
//! that is an admin of the space and holds `coordinator` (the space's creator, its linked devices,
//! and any coordinator approved as an admin) adds, whenever it is about to send, a wrap of each
//! concern's key it can open for each coordinator device of the space that has none from the
//! concern's writer nor from this device: a root key of its own naming this device
//! (`rewrap/<concern>/<device>/<adder>`, protocol 22.4), judged on receipt by every device
//! (`space/rules/rewraps.rs`, rules version 10). Only an admin: a device of the previous rules
//! takes an admin's root key and refuses anyone else's (review H2). A supporter who wrote a concern
//! adds none.

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue, Value};

use crate::error::Result;
use crate::space::SpaceKind;
use crate::space::doc::{read_all, string, write};
use crate::space::rules::rewraps;
use crate::{SpaceId, Vault};

use super::concerns::open_concern;

impl Vault {
    /// Adds, in each safeguarding space where this device is an admin and a coordinator, a wrap of
    /// each concern it can open for each coordinator device of the space that lacks one. Returns
    /// how many wraps were added. A space that fails is left for the next send; the others go on.
    /// Called before every send (`Vault::before_sending`).
    pub(crate) fn rewrap_concerns(&mut self) -> Result<u32> {
        let me_device = self.identity.device;
        let me = me_device.to_hex();
        let mut ids: Vec<SpaceId> = self
            .shared
            .values()
            .filter(|s| {
                s.kind == SpaceKind::Safeguarding
                    && s.membership().is_member(&me_device)
                    && s.membership().is_admin(&me_device)
                    && self.viewer(s) == "coordinator"
            })
            .map(|s| s.id)
            .collect();
        crate::order::sort_by_key(&mut ids, |i| i.0);
        let mut added = 0u32;
        for sid in ids {
            let Ok(space) = self.held_ref(&sid) else {
                continue;
            };
            let coordinators = super::outcomes::coordinator_devices(space);
            if coordinators.is_empty() {
                continue;
            }
            let doc = &space.doc;
            let identity = &self.identity;
            let found = read_all(doc, "concerns", |d, id, r| {
                let wrapped: Vec<String> = match d.get(r, "wraps").ok().flatten() {
                    Some((Value::Object(_), w)) => d.keys(&w).collect(),
                    _ => Vec::new(),
                };
                // Who lacks a wrap, first: the concern is opened only when someone does.
                let missing: Vec<_> = coordinators
                    .iter()
                    .filter(|(device, _)| {
                        let hex = device.to_hex();
                        !wrapped.contains(&hex)
                            && d.get(ROOT, rewraps::key(id, &hex, &me).as_str())
                                .ok()
                                .flatten()
                                .is_none()
                    })
                    .collect();
                if missing.is_empty() {
                    return None;
                }
                let epoch = sebaya_proto::EpochId::from_hex(&string(d, r, "epoch")?).ok()?;
                let (_, key) = open_concern(d, r, (&sid, id), identity)?;
                let mut out = Vec::new();
                for (device, x25519) in missing {
                    // A device whose key cannot take a wrap is left out, never the others.
                    if let Ok(w) = crate::crypto::keywrap::wrap(&key, x25519, &sid, &epoch) {
                        out.push((rewraps::key(id, &device.to_hex(), &me), w.to_bytes()));
                    }
                }
                Some(out)
            });
            let adds: Vec<(String, Vec<u8>)> = found.into_iter().flatten().collect();
            if adds.is_empty() {
                continue;
            }
            let n = u32::try_from(adds.len()).unwrap_or(u32::MAX);
            let written = self.with_space(&sid, |doc, now| {
                write(doc, now, |d| {
                    for (k, b) in adds {
                        d.put(ROOT, k.as_str(), ScalarValue::Bytes(b))?;
                    }
                    Ok(())
                })
            });
            if written.is_ok() {
                added = added.saturating_add(n);
            }
        }
        Ok(added)
    }
}
