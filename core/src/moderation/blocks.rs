//! Blocks (protocol 31.6): a person's own list, `block/<space hex>/<device hex>` root keys of their
//! journal (value: when, ms), and the views that leave a blocked member's notes and messages out of
//! that space alone.

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use crate::error::{Error, Result};
use crate::groups::GroupNote;
use crate::pairing::PairMessage;
use crate::space::doc::write;
use crate::space::{Space, SpaceKind};
use crate::{DeviceId, SpaceId, Vault};

use super::reports::{BLOCKED, devices_with};

const PREFIX: &str = "block/";

/// A member this person blocked in one space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The group or pairing (hex).
    pub space: String,
    /// The blocked device (hex).
    pub device: String,
    /// When, ms.
    pub at_ms: i64,
}

/// A block's notice still to send: `block-notice/<space hex>/<device hex>` (value: ms).
const NOTICE: &str = "block-notice/";
/// A block's notice sent (never again for that member and space): `block-told/<space>/<device>`.
const TOLD: &str = "block-told/";

/// The journal key of a block of `device` in `space`.
fn key(space: &SpaceId, device: &DeviceId) -> String {
    key_in(PREFIX, space, device)
}

fn key_in(prefix: &str, space: &SpaceId, device: &DeviceId) -> String {
    format!("{prefix}{}/{}", space.to_hex(), device.to_hex())
}

/// `<space hex>/<device hex>`.
fn parse(rest: &str) -> Option<(SpaceId, DeviceId)> {
    let (space, dev) = rest.split_once('/')?;
    Some((
        SpaceId::from_hex(space).ok()?,
        DeviceId::from_hex(dev).ok()?,
    ))
}

fn parse_device(device: &str) -> Result<DeviceId> {
    DeviceId::from_hex(device)
        .map_err(|_| Error::InvalidInput("device id must be 64 hex characters".into()))
}

impl Vault {
    /// Blocks the member `device` (hex) of `space`: their notes and messages in that space are
    /// hidden on this person's devices (the block syncs with the journal), and, where the space is
    /// a group bound to a programme and this person has a care record there, the facilitator is
    /// told by a notice that names the blocked member and never the blocker (protocol 31.6). A
    /// coordinator's content is never hidden, so a coordinator is not blocked; referrals are never
    /// hidden. A space's admin (a group's facilitator, a pairing's supporter) moderates there and
    /// never blocks: a participant's call for help always reaches them.
    ///
    /// `InvalidInput`: a malformed id, or oneself; `NotFound`: a space not held here, or a device
    /// that never was its member; `NotAllowed`: a coordinator of the space's programme, or this
    /// device is an admin of the space.
    pub fn block_member(&mut self, space_id: &SpaceId, device: &str) -> Result<()> {
        let dev = parse_device(device)?;
        let space = self.shared.get(space_id).ok_or(Error::NotFound("space"))?;
        let m = space.membership();
        if !m.members.contains_key(&dev) && !m.removed.contains_key(&dev) {
            return Err(Error::NotFound("member"));
        }
        if self.is_mine(space, &dev) {
            return Err(Error::InvalidInput("you cannot block yourself".into()));
        }
        if m.role(&self.identity.device) == Some(Role::Admin) {
            return Err(Error::NotAllowed(
                "a facilitator or supporter moderates the space and does not block its members",
            ));
        }
        if self.cares_for(&dev, m.proven_person(&dev).or(m.persons.get(&dev).copied())) {
            return Err(Error::NotAllowed(
                "a supporter or coordinator never blocks a participant whose care record they hold",
            ));
        }
        if coordinators(space).contains(&dev) {
            return Err(Error::NotAllowed(
                "a coordinator's messages are never hidden",
            ));
        }
        let kind = space.kind;
        self.journal()?;
        let (store, j) = self.parts()?;
        let key = key(space_id, &dev);
        let now = crate::store::clock::now_ms();
        write(&mut j.doc, now, |d| {
            d.put(ROOT, key.as_str(), now)?;
            Ok(())
        })?;
        j.persist(store)?;
        // The facilitator's notice (a group outside a programme, or a person without a care record
        // there, blocks all the same, and nobody is told). One that has to wait (a device to
        // update, the day's reports) is kept and sent before a later sync (review M5).
        if kind == SpaceKind::Group {
            self.send_block_notice(space_id, &dev)?;
        }
        Ok(())
    }

    /// Writes the notice of a block of `dev` in `space`; keeps it pending when it has to wait.
    /// Once per member and space, ever (`block-told/…`): blocking again, or after an unblock, tells
    /// nobody again (second review R2). A notice that cannot go yet (a device to update, a
    /// coordinator not yet proven, a store error) waits; one that never can (no programme, no care
    /// record, a blocked member who holds that record) is dropped.
    fn send_block_notice(&mut self, space: &SpaceId, dev: &DeviceId) -> Result<()> {
        let told = key_in(TOLD, space, dev);
        let already = self
            .journal
            .as_ref()
            .is_some_and(|j| j.doc.get(ROOT, told.as_str()).ok().flatten().is_some());
        let waits = !already
            && match self.report_with(space, "member", &dev.to_hex(), BLOCKED, "") {
                Ok(_) => {
                    self.set_journal_key(&told, true)?;
                    false
                }
                Err(e) => matches!(
                    e,
                    Error::WaitingForUpdates
                        | Error::TooManyReports
                        | Error::NotFound("coordinator")
                        | Error::Internal(_)
                ),
            };
        self.set_journal_key(&key_in(NOTICE, space, dev), waits)
    }

    /// Sends the block notices that waited, for the blocks that still stand. Before every send.
    pub(crate) fn send_block_notices(&mut self) -> Result<()> {
        let Some(j) = self.journal.as_ref() else {
            return Ok(());
        };
        let pending: Vec<(SpaceId, DeviceId, bool)> = j
            .doc
            .keys(ROOT)
            .filter_map(|k| {
                let (s, d) = parse(k.strip_prefix(NOTICE)?)?;
                let stands = j
                    .doc
                    .get(ROOT, key(&s, &d).as_str())
                    .ok()
                    .flatten()
                    .is_some();
                Some((s, d, stands))
            })
            .collect();
        for (space, dev, stands) in pending {
            if stands {
                self.send_block_notice(&space, &dev)?;
            } else {
                self.set_journal_key(&key_in(NOTICE, &space, &dev), false)?;
            }
        }
        Ok(())
    }

    /// Puts (`on`, value: now, ms) or deletes a root key of the journal; nothing when it is so.
    fn set_journal_key(&mut self, key: &str, on: bool) -> Result<()> {
        let there = self
            .journal
            .as_ref()
            .is_some_and(|j| j.doc.get(ROOT, key).ok().flatten().is_some());
        if there == on {
            return Ok(());
        }
        self.journal()?;
        let (store, j) = self.parts()?;
        let now = crate::store::clock::now_ms();
        write(&mut j.doc, now, |d| {
            if on {
                d.put(ROOT, key, now)?;
            } else {
                d.delete(ROOT, key)?;
            }
            Ok(())
        })?;
        j.persist(store)
    }

    /// Unblocks `device` (hex) in `space`; nothing happens when it was not blocked there. A notice
    /// still waiting is dropped.
    pub fn unblock_member(&mut self, space: &SpaceId, device: &str) -> Result<()> {
        let dev = parse_device(device)?;
        self.set_journal_key(&key_in(NOTICE, space, &dev), false)?;
        self.set_journal_key(&key(space, &dev), false)
    }

    /// The members this person blocked, by space and device.
    pub fn blocked_members(&self) -> Vec<Block> {
        let Some(j) = self.journal.as_ref() else {
            return Vec::new();
        };
        j.doc
            .keys(ROOT)
            .filter_map(|k| {
                let (space, dev) = parse(k.strip_prefix(PREFIX)?)?;
                let at = match j.doc.get(ROOT, k.as_str()).ok().flatten() {
                    Some((Value::Scalar(s), _)) => match s.as_ref() {
                        ScalarValue::Int(i) => *i,
                        _ => 0,
                    },
                    _ => 0,
                };
                Some(Block {
                    space: space.to_hex(),
                    device: dev.to_hex(),
                    at_ms: at,
                })
            })
            .collect()
    }

    /// The authors (device hex) whose content is hidden in `space`: the devices blocked there and
    /// every other device of a blocked device's person there, a coordinator's never, and nothing on
    /// a device that is an admin of the space (it moderates; a participant's message always reaches
    /// their supporter).
    fn hidden_in(&self, space: &Space) -> Vec<String> {
        let m = space.membership();
        if m.role(&self.identity.device) == Some(Role::Admin) {
            return Vec::new();
        }
        let here = space.id.to_hex();
        let blocked: Vec<DeviceId> = self
            .blocked_members()
            .into_iter()
            .filter(|b| b.space == here)
            .filter_map(|b| DeviceId::from_hex(&b.device).ok())
            .collect();
        if blocked.is_empty() {
            return Vec::new();
        }
        let persons: Vec<[u8; 32]> = blocked.iter().filter_map(|d| m.proven_person(d)).collect();
        let coordinators = coordinators(space);
        m.members
            .keys()
            .chain(m.removed.keys())
            .filter(|d| {
                blocked.contains(d) || m.proven_person(d).is_some_and(|p| persons.contains(&p))
            })
            .filter(|d| !coordinators.contains(d) && !self.is_mine(space, d))
            .filter(|d| !self.cares_for(d, m.proven_person(d).or(m.persons.get(d).copied())))
            .map(|d| d.to_hex())
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

impl Vault {
    /// Whether this device holds a care record about the person of `device` (`person`, its proven
    /// person where known; else the device itself as that record's subject's), as their supporter
    /// or a coordinator: their content is never hidden here, nor are they blocked (second review
    /// R5).
    fn cares_for(&self, device: &DeviceId, person: Option<[u8; 32]>) -> bool {
        let me = self.person_id().map(|p| p.0);
        self.shared.values().any(|s| {
            let cm = s.membership();
            if s.kind != SpaceKind::Care || !cm.is_member(&self.identity.device) {
                return false;
            }
            let Some(subject) = crate::space::rules::current_subject(&s.doc, cm) else {
                return false;
            };
            Some(subject) != me
                && (person == Some(subject)
                    || cm.proven_person(device) == Some(subject)
                    || cm.persons.get(device) == Some(&subject))
        })
    }
}

/// The devices of `space` whose person holds the coordinator role in its programme now.
fn coordinators(space: &Space) -> Vec<DeviceId> {
    devices_with(space, ProgrammeRole::Coordinator)
        .into_iter()
        .map(|(d, _)| d)
        .collect()
}
