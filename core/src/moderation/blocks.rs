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
    /// Blocks a member (not built yet).
    pub fn block_member(&mut self, _space_id: &SpaceId, _device: &str) -> Result<()> {
        let _ = (BLOCKED, PREFIX);
        Err(Error::Internal("blocks are not built yet"))
    }

    /// Unblocks a member (not built yet).
    pub fn unblock_member(&mut self, _device: &str) -> Result<()> {
        Err(Error::Internal("blocks are not built yet"))
    }

    /// The members this person blocked (not built yet).
    pub fn blocked_members(&self) -> Vec<Block> {
        Vec::new()
    }

    /// A group's notes (blocks not built yet).
    pub fn visible_group_notes(&self, group: &SpaceId) -> Result<Vec<GroupNote>> {
        Ok(crate::groups::notes(&self.held_ref(group)?.doc))
    }

    /// A pairing's messages (blocks not built yet).
    pub fn visible_messages(&self, pairing: &SpaceId) -> Result<Vec<PairMessage>> {
        Ok(crate::pairing::messages(&self.held_ref(pairing)?.doc))
    }
}

/// Whether `device`'s person holds the coordinator role in `space`'s programme now.
fn is_coordinator(space: &Space, device: &DeviceId) -> bool {
    devices_with(space, ProgrammeRole::Coordinator)
        .iter()
        .any(|(d, _)| d == device)
}
