//! Which rules version each device of a space judges under, and the space's floor (docs/protocol.md
//! 12.2, issue 15 hardening).
//!
//! Every device announces, in each shared space it is a member of, the rules version it judges
//! under ([`super::rules::RULES_VERSION`]): an Automerge change with no operations whose message is
//! `sebaya/v1/rules:` and the version in decimal (`sebaya/v1/rules:9`). It rides in the device's
//! ordinary `changes` envelopes, as the envelope-version announcement of 12.1 does, so it is signed
//! by the device and reaches every member by every path; an older device applies it as the empty
//! change it is (no operation, so no rule of any version refuses it). Unlike 12.1, a device that has
//! nothing of its own to seal writes it on its own once after an update (or on its first seal in
//! the space), so members who only read (a coordinator in a pairing) announce too.
//!
//! The **floor** of a space is the lowest latest announcement among its current member devices, 0
//! if one of them has none. Two uses:
//! - a **widening** rule (a write older receivers refuse): the honest writer waits until the floor
//!   accepts it ([`Space::wait_for_rules`], typed error `WaitingForUpdates`);
//! - a **narrowing** rule (a write newer receivers refuse): applied to a change only if every
//!   member device had announced the version in that change's own causal past
//!   ([`announced_in_past`]). No rule uses it yet; its limits (the member set is the caller's, the
//!   dependencies the author's) are in protocol 12.2.

use std::collections::{BTreeMap, HashSet};

use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, ChangeHash};

use sebaya_proto::DeviceId;

use crate::error::{Error, Result};

use super::{Space, SpaceKind, now_secs, rules};

/// The label a rules announcement's message starts with, then `:` and the version (12.2).
pub const RULES_LABEL: &str = "sebaya/v1/rules";

/// What the members of one space announced about their rules, and what this device announces.
pub(crate) struct RulesAnnouncements {
    /// The rules version this device judges under and announces: [`rules::RULES_VERSION`]; a test
    /// sets a lower one to play a device of an older release.
    pub(super) judges: u32,
    /// The document's heads when it was last read: the next read takes only the changes after.
    read_to: Vec<ChangeHash>,
    /// Per device, the actor generation and Automerge sequence number of its latest announcement,
    /// and the version it names.
    latest: BTreeMap<DeviceId, ((u32, u64), u32)>,
}

impl Default for RulesAnnouncements {
    fn default() -> Self {
        RulesAnnouncements {
            judges: rules::RULES_VERSION,
            read_to: Vec::new(),
            latest: BTreeMap::new(),
        }
    }
}

impl RulesAnnouncements {
    /// Forgets what was read, so the next read takes the whole document again (after a rebuild left
    /// changes out, an announcement read from one of them no longer stands).
    pub(super) fn read_again(&mut self) {
        self.read_to.clear();
        self.latest.clear();
    }
}

/// The message announcing rules `version`.
pub fn rules_announcement(version: u32) -> String {
    format!("{RULES_LABEL}:{version}")
}

/// Reads a rules announcement; `None` for any message that is not one exactly as 12.2 writes it
/// (empty, a leading zero, 0, a sign, a space, anything after the digits, or beyond `u32`).
pub fn parse_rules_announcement(message: &str) -> Option<u32> {
    let n = message.strip_prefix(RULES_LABEL)?.strip_prefix(':')?;
    if n.is_empty() || n.len() > 10 || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    n.parse().ok()
}

/// The floor of `members` given each device's latest announcement: the lowest version announced
/// among them, 0 if one has announced none (or there is no member).
pub fn floor<'a>(
    members: impl IntoIterator<Item = &'a DeviceId>,
    latest: &BTreeMap<DeviceId, u32>,
) -> u32 {
    let mut low: Option<u32> = None;
    for d in members {
        let v = latest.get(d).copied().unwrap_or(0);
        low = Some(low.map_or(v, |l| l.min(v)));
    }
    low.unwrap_or(0)
}

/// Each device's latest rules announcement among the changes of `doc` in `past` (`None`: all).
fn latest_in(doc: &mut AutoCommit, past: Option<&HashSet<ChangeHash>>) -> BTreeMap<DeviceId, u32> {
    let mut latest: BTreeMap<DeviceId, ((u32, u64), u32)> = BTreeMap::new();
    for meta in doc.get_changes_meta(&[]) {
        if past.is_some_and(|p| !p.contains(&meta.hash)) {
            continue;
        }
        take(&mut latest, &meta);
    }
    latest.into_iter().map(|(d, (_, v))| (d, v)).collect()
}

/// Keeps `meta`'s announcement if it is its device's latest so far.
fn take(latest: &mut BTreeMap<DeviceId, ((u32, u64), u32)>, meta: &automerge::ChangeMetadata<'_>) {
    let Some(version) = meta.message.as_deref().and_then(parse_rules_announcement) else {
        return;
    };
    let Some((device, generation)) = super::actor_generation(&meta.actor) else {
        return;
    };
    let at = (generation, meta.seq);
    if latest.get(&device).is_none_or(|(seen, _)| at > *seen) {
        latest.insert(device, (at, version));
    }
}

/// The hashes of `heads` and every change in their past that `doc` holds.
fn past_of(doc: &mut AutoCommit, heads: &[ChangeHash]) -> HashSet<ChangeHash> {
    let after: HashSet<ChangeHash> = doc.get_changes_meta(heads).iter().map(|m| m.hash).collect();
    doc.get_changes_meta(&[])
        .iter()
        .map(|m| m.hash)
        .filter(|h| !after.contains(h))
        .collect()
}

/// Whether a narrowing rule of `version` applies to a change whose dependencies are `deps`: every
/// device of `members` had announced `version` or later in that change's own causal past (its
/// dependencies and everything before them), as its latest announcement there. Every receiver
/// holding the change holds that past; receivers answer alike only if they pass the same `members`
/// (protocol 12.2, review M1: a member added after the change changes the answer).
pub fn announced_in_past(
    doc: &mut AutoCommit,
    deps: &[ChangeHash],
    members: &[DeviceId],
    version: u32,
) -> bool {
    if members.is_empty() {
        return false;
    }
    let past = past_of(doc, deps);
    let latest = latest_in(doc, Some(&past));
    floor(members, &latest) >= version
}

impl Space {
    /// Reads the rules announcements in the changes the document gained since the last read.
    fn read_rules(&mut self) {
        let heads = self.doc.get_heads();
        if heads == self.rules_announced.read_to {
            return;
        }
        let since = std::mem::take(&mut self.rules_announced.read_to);
        for meta in self.doc.get_changes_meta(&since) {
            take(&mut self.rules_announced.latest, &meta);
        }
        self.rules_announced.read_to = heads;
    }

    /// The rules version `device` last announced in this space, if it announced any.
    pub fn announced_rules(&mut self, device: &DeviceId) -> Option<u32> {
        self.read_rules();
        self.rules_announced.latest.get(device).map(|(_, v)| *v)
    }

    /// The floor of this space: the lowest rules version its current member devices announced, 0
    /// if one has announced none.
    pub fn rules_floor(&mut self) -> u32 {
        self.read_rules();
        let latest: BTreeMap<DeviceId, u32> = self
            .rules_announced
            .latest
            .iter()
            .map(|(d, (_, v))| (*d, *v))
            .collect();
        floor(self.members.members.keys(), &latest)
    }

    /// The current member devices whose latest announcement is below `version` (or who announced
    /// none): whom a write that needs `version` waits for.
    pub fn behind_rules(&mut self, version: u32) -> Vec<DeviceId> {
        self.read_rules();
        let members: Vec<DeviceId> = self.members.members.keys().copied().collect();
        members
            .into_iter()
            .filter(|d| {
                self.rules_announced
                    .latest
                    .get(d)
                    .is_none_or(|(_, v)| *v < version)
            })
            .collect()
    }

    /// The rules version this device judges under (and announces).
    pub fn judges_under(&self) -> u32 {
        self.rules_announced.judges
    }

    /// Adds this device's rules announcement to the document when it is a current member of a
    /// shared space and its latest announcement there (if any) does not name the version it judges
    /// under. Returns whether it added one.
    pub(crate) fn announce_rules_if_needed(&mut self) -> bool {
        if matches!(self.kind, SpaceKind::Journal | SpaceKind::Index)
            || !self.members.is_member(&self.me)
            || self.ended_here()
        {
            return false;
        }
        let judges = self.rules_announced.judges;
        let me = self.me;
        if self.announced_rules(&me) == Some(judges) || self.beyond_the_cap() {
            return false;
        }
        let options = CommitOptions::default()
            .with_message(rules_announcement(judges))
            .with_time(i64::try_from(now_secs()).unwrap_or(i64::MAX));
        self.doc.empty_change(options);
        self.read_rules();
        true
    }

    /// In case notes, whether this device is a member beyond the cap, whose every envelope every
    /// device refuses (`rules/casenotes.rs`): its announcement would only be refused.
    fn beyond_the_cap(&self) -> bool {
        if self.kind != SpaceKind::CaseNotes {
            return false;
        }
        let registry = rules::programme_of(&self.doc).map(|p| rules::registry_of(&self.doc, p));
        let now = u64::try_from(crate::store::clock::now_ms() / 1_000).unwrap_or(0);
        rules::casenotes::refused(
            &self.members,
            self.creator(),
            registry.as_ref(),
            &self.me,
            now,
        )
    }

    /// Plays a device of an older release that judges under (and announces) rules `version`.
    #[cfg(test)]
    pub(crate) fn play_rules(&mut self, version: u32) {
        self.rules_announced.judges = version;
    }

    /// Before a write that a device on rules older than `version` refuses (a widening rule):
    /// [`Error::WaitingForUpdates`] unless this device judges under `version` or later and every
    /// other current member device has announced `version` or later. This device's own
    /// announcement is not asked for: it rides with the write when the write is sealed.
    pub(crate) fn wait_for_rules(&mut self, version: u32) -> Result<()> {
        if self.writers_floor() >= version {
            Ok(())
        } else {
            Err(Error::WaitingForUpdates)
        }
    }

    /// The floor as this device's next write sees it: its own announcement counted at the version
    /// it judges under (the announcement rides with that write), every other current member
    /// device's as announced.
    pub fn writers_floor(&mut self) -> u32 {
        self.read_rules();
        let mut latest: BTreeMap<DeviceId, u32> = self
            .rules_announced
            .latest
            .iter()
            .map(|(d, (_, v))| (*d, *v))
            .collect();
        latest.insert(self.me, self.rules_announced.judges);
        floor(self.members.members.keys(), &latest)
    }
}

/// What a space's members judge under, for an app to say "waiting for X to update".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesStatus {
    /// The space's floor (12.2) as this device's next write sees it: the lowest version its
    /// current member devices announced, this device counted at the version it judges under; 0 if
    /// another has announced none.
    pub floor: u32,
    /// The rules version this device judges under.
    pub this_device: u32,
    /// The current member devices other than this one whose latest announcement is below this
    /// device's version, or who announced none: those a write of this release may wait for.
    pub behind: Vec<DeviceId>,
}

impl crate::Vault {
    /// What the members of a shared space this device holds judge under ([`RulesStatus`]).
    /// `NotFound` for a space it does not hold.
    pub fn rules_status(&mut self, space: &crate::SpaceId) -> Result<RulesStatus> {
        let (_, identity, s) = self.held_mut(space)?;
        let me = identity.device;
        let this_device = s.judges_under();
        let behind = s
            .behind_rules(this_device)
            .into_iter()
            .filter(|d| *d != me)
            .collect();
        Ok(RulesStatus {
            floor: s.writers_floor(),
            this_device,
            behind,
        })
    }
}
