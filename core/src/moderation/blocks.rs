//! Blocks (protocol 31.6): a person's own list, `block/<device hex>` root keys of their journal
//! (value: when, ms), and the views that leave a blocked member's notes and messages out.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::programme::ProgrammeRole;

use crate::error::{Error, Result};
use crate::groups::GroupNote;
use crate::pairing::PairMessage;
use crate::space::doc::write;
use crate::space::{Space, SpaceKind};
use crate::{DeviceId, SpaceId, Vault};

use super::reports::{BLOCKED, devices_with};

const PREFIX: &str = "block/";

/// A member this person blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The blocked device (hex).
    pub device: String,
    /// When, ms.
    pub at_ms: i64,
}

impl Vault {
    /// Blocks the member `device` (hex) of `space`: their notes and messages are hidden on this
    /// person's devices (the block syncs with the journal), and, where the space is bound to a
    /// programme and this person has a care record there, the facilitator is told by a notice that
    /// names the blocked member and never the blocker (protocol 31.6). A coordinator's content is
    /// never hidden, so a coordinator is not blocked; referrals are never hidden.
    ///
    /// `InvalidInput`: a malformed id, or oneself; `NotFound`: a space not held here, or a device
    /// that never was its member; `NotAllowed`: a coordinator of the space's programme.
    pub fn block_member(&mut self, space_id: &SpaceId, device: &str) -> Result<()> {
        let dev = DeviceId::from_hex(device)
            .map_err(|_| Error::InvalidInput("device id must be 64 hex characters".into()))?;
        let space = self.shared.get(space_id).ok_or(Error::NotFound("space"))?;
        let m = space.membership();
        if !m.members.contains_key(&dev) && !m.removed.contains_key(&dev) {
            return Err(Error::NotFound("member"));
        }
        if self.is_mine(space, &dev) {
            return Err(Error::InvalidInput("you cannot block yourself".into()));
        }
        if is_coordinator(space, &dev) {
            return Err(Error::NotAllowed(
                "a coordinator's messages are never hidden",
            ));
        }
        let kind = space.kind;
        self.journal()?;
        let (store, j) = self.parts()?;
        let key = format!("{PREFIX}{}", dev.to_hex());
        write(&mut j.doc, crate::store::clock::now_ms(), |d| {
            d.put(ROOT, key.as_str(), crate::store::clock::now_ms())?;
            Ok(())
        })?;
        j.persist(store)?;
        // The facilitator's notice: best effort (a group outside a programme, or a person without
        // a care record there, blocks all the same, and nobody is told).
        if kind == SpaceKind::Group {
            let _ = self.report_with(space_id, "member", device, BLOCKED, "");
        }
        Ok(())
    }

    /// Unblocks `device` (hex); nothing happens when it was not blocked.
    pub fn unblock_member(&mut self, device: &str) -> Result<()> {
        let dev = DeviceId::from_hex(device)
            .map_err(|_| Error::InvalidInput("device id must be 64 hex characters".into()))?;
        let key = format!("{PREFIX}{}", dev.to_hex());
        if self
            .journal
            .as_ref()
            .is_none_or(|j| j.doc.get(ROOT, key.as_str()).ok().flatten().is_none())
        {
            return Ok(());
        }
        let (store, j) = self.parts()?;
        write(&mut j.doc, crate::store::clock::now_ms(), |d| {
            d.delete(ROOT, key.as_str())?;
            Ok(())
        })?;
        j.persist(store)
    }

    /// The members this person blocked, by device.
    pub fn blocked_members(&self) -> Vec<Block> {
        let Some(j) = self.journal.as_ref() else {
            return Vec::new();
        };
        j.doc
            .keys(ROOT)
            .filter_map(|k| {
                let dev = DeviceId::from_hex(k.strip_prefix(PREFIX)?).ok()?;
                let at = match j.doc.get(ROOT, k.as_str()).ok().flatten() {
                    Some((Value::Scalar(s), _)) => match s.as_ref() {
                        ScalarValue::Int(i) => *i,
                        _ => 0,
                    },
                    _ => 0,
                };
                Some(Block {
                    device: dev.to_hex(),
                    at_ms: at,
                })
            })
            .collect()
    }

    /// The authors (device hex) whose content is hidden in `space`: blocked devices and every
    /// other device of a blocked device's person there, a coordinator's never.
    fn hidden_in(&self, space: &Space) -> BTreeSet<String> {
        let blocked: BTreeSet<DeviceId> = self
            .blocked_members()
            .iter()
            .filter_map(|b| DeviceId::from_hex(&b.device).ok())
            .collect();
        if blocked.is_empty() {
            return BTreeSet::new();
        }
        let m = space.membership();
        let persons: BTreeSet<[u8; 32]> =
            blocked.iter().filter_map(|d| m.proven_person(d)).collect();
        m.members
            .keys()
            .chain(m.removed.keys())
            .filter(|d| {
                blocked.contains(d) || m.proven_person(d).is_some_and(|p| persons.contains(&p))
            })
            .filter(|d| !is_coordinator(space, d) && !self.is_mine(space, d))
            .map(|d| d.to_hex())
            .chain(blocked.iter().map(|d| d.to_hex()))
            .filter(|h| {
                DeviceId::from_hex(h)
                    .is_ok_and(|d| !is_coordinator(space, &d) && !self.is_mine(space, &d))
            })
            .collect()
    }

    /// A group's notes with blocked members' left out (a coordinator's always stay), oldest first.
    pub fn visible_group_notes(&self, group: &SpaceId) -> Result<Vec<GroupNote>> {
        let s = self.held_ref(group)?;
        let hidden = self.hidden_in(s);
        Ok(crate::groups::notes(&s.doc)
            .into_iter()
            .filter(|n| !hidden.contains(&n.author))
            .collect())
    }

    /// A pairing's messages with blocked members' left out (a coordinator's always stay).
    pub fn visible_messages(&self, pairing: &SpaceId) -> Result<Vec<PairMessage>> {
        let s = self.held_ref(pairing)?;
        let hidden = self.hidden_in(s);
        Ok(crate::pairing::messages(&s.doc)
            .into_iter()
            .filter(|x| !hidden.contains(&x.by))
            .collect())
    }
}

/// Whether `device`'s person holds the coordinator role in `space`'s programme now.
fn is_coordinator(space: &Space, device: &DeviceId) -> bool {
    devices_with(space, ProgrammeRole::Coordinator)
        .iter()
        .any(|(d, _)| d == device)
}
