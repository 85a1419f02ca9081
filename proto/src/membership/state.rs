//! The membership state a log determines: members, roles, persons, invites and epochs, and the
//! questions every device and the relay ask of it (protocol sections 15.6 and 15.7).
use std::collections::{BTreeMap, BTreeSet};

use crate::envelope::DeviceId;

use super::*;

/// Who belongs to a space, computed from its log. The relay and every device consult it before
/// accepting an envelope or handing one out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembershipState {
    /// Current members and their roles.
    pub members: BTreeMap<DeviceId, Role>,
    /// Removed devices (not re-added since), each with the last sequence number of theirs that is
    /// still accepted.
    pub removed: BTreeMap<DeviceId, u64>,
    /// The person each current member belongs to, where its add named one.
    pub persons: BTreeMap<DeviceId, [u8; 32]>,
    /// Each current member's X25519 key, where its genesis or add named one: what rotated keys are
    /// wrapped for.
    pub x25519: BTreeMap<DeviceId, [u8; 32]>,
    /// Valid rotations in the log's deterministic order; the last is the epoch to write under.
    pub epochs: Vec<EpochInfo>,
    /// Applied statements no other applied statement follows, ascending: the parents of the next
    /// statement a device signs.
    pub heads: Vec<StatementId>,
    /// Every invite opened by a valid `Invite`, by id, with where it stands.
    pub invites: BTreeMap<[u8; 16], InviteInfo>,
    /// The role each removed device held when it was removed: what its envelopes from before the
    /// removal are judged by (a late-carried envelope must meet the same rules everywhere).
    pub removed_roles: BTreeMap<DeviceId, Role>,
    /// The person each removed device belonged to when it was removed: whose programme roles and
    /// training its envelopes from before the removal are judged by.
    pub removed_persons: BTreeMap<DeviceId, [u8; 32]>,
    /// Devices whose person is proven by the person's own signature (a `vouch` or `recertify`
    /// carrying a certificate the person key signed), not merely named by an admin's `add` or
    /// `admit`. Only a proven person's programme roles and standing as a record's subject count.
    pub proven: BTreeSet<DeviceId>,
    /// Each person a counted `succession` moved on from, and the person it moved to: a record that
    /// names the old person (a care record's subject) means the new one.
    pub successors: BTreeMap<[u8; 32], [u8; 32]>,
    /// Devices that were admins and are no longer (demoted or removed), each with the highest
    /// sequence number up to which their envelopes are still judged as an admin's (the largest
    /// cutoff any counted demotion or removal of theirs gave): what they wrote as admins stays
    /// accepted on every device, whatever role they hold now (protocol 15.10).
    pub admin_until: BTreeMap<DeviceId, u64>,
    /// Devices that ended their own writing here (a counted `end`, protocol 15.11), each with the
    /// number of the envelope that carried it: nothing of theirs numbered past it is accepted. A
    /// device's first counted end sets it; nothing moves it afterwards. Everyone still reads.
    pub ended: BTreeMap<DeviceId, u64>,
}

/// An invite as the log sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InviteInfo {
    /// The admin device that opened it: the only one whose `Admit` may spend it.
    pub author: DeviceId,
    /// Unix seconds after which it admits nobody.
    pub expires: u64,
    /// SHA-256 of the request token the relay asks join requests for, if the invite has one.
    pub gate: Option<[u8; 32]>,
    /// Open, spent or revoked.
    pub status: InviteStatus,
}

/// Where an invite stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteStatus {
    /// May still admit one device.
    Open,
    /// Admitted this device; admits nobody else.
    Spent(DeviceId),
    /// Revoked by an admin before anyone was admitted.
    Revoked,
}

/// One epoch started by a valid `Rotate` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochInfo {
    /// The epoch id: the rotation statement's id.
    pub id: crate::EpochId,
    /// The statement's commitment to the epoch key.
    pub commit: [u8; 32],
    /// Who rotated: the only device whose key-wraps for this epoch are accepted.
    pub author: DeviceId,
}

impl MembershipState {
    /// Whether some member ended its writing here (a counted `end`, protocol 15.11). In a pairing
    /// this is the pairing's end: each party's device signs its own end as soon as it learns of the
    /// other's, and writes nothing more. In any other space it stops the enders alone.
    pub fn is_ended(&self) -> bool {
        !self.ended.is_empty()
    }

    /// Whether `device`'s envelope numbered `seq` comes after that device's own end (protocol
    /// 15.11): refused by every device and by the relay.
    pub fn past_its_end(&self, device: &DeviceId, seq: u64) -> bool {
        self.ended.get(device).is_some_and(|c| seq > *c)
    }

    /// The cutoffs at which `device`'s role may change with its number: what a reader of
    /// [`Self::writing_role_at`] needs to ask just past (a demotion's, a removal's, an end's).
    pub fn cutoffs(&self, device: &DeviceId) -> Vec<u64> {
        [
            self.admin_until.get(device),
            self.removed.get(device),
            self.ended.get(device),
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect()
    }

    /// Whether the device is a current member (any role).
    pub fn is_member(&self, device: &DeviceId) -> bool {
        self.members.contains_key(device)
    }

    /// The device's current role, if it is a member.
    pub fn role(&self, device: &DeviceId) -> Option<Role> {
        self.members.get(device).copied()
    }

    /// Whether the device is a current admin (whose new statements may count).
    pub fn is_admin(&self, device: &DeviceId) -> bool {
        self.role(device) == Some(Role::Admin)
    }

    /// The role the log gives the envelope of `device` numbered `seq` (protocol 15.10): what every
    /// device judges it by, so that all reach the same verdict whatever order they learnt the log
    /// in. A current admin writes as an admin whatever the number (a promotion trusts what it wrote
    /// before); a demoted or removed admin up to its cutoff; a removed device not at all past its
    /// last accepted number; otherwise the current role, or the role held when removed. The
    /// author does not choose the number's meaning: the cutoffs are the demoter's and remover's.
    pub fn writing_role_at(&self, device: &DeviceId, seq: u64) -> Option<Role> {
        // A device that ended its writing writes nothing past its own end.
        if self.past_its_end(device, seq) {
            return None;
        }
        let was_admin = self.admin_until.get(device).is_some_and(|c| seq <= *c);
        match self.role(device) {
            Some(Role::Admin) => Some(Role::Admin),
            Some(Role::Member) if was_admin => Some(Role::Admin),
            Some(Role::Member) => Some(Role::Member),
            None => match self.removed.get(device) {
                Some(last) if seq <= *last => {
                    if was_admin {
                        Some(Role::Admin)
                    } else {
                        self.removed_roles.get(device).copied()
                    }
                }
                _ => None,
            },
        }
    }

    /// The highest role the log says `device` ever held here (admin if it is one, or was one until a
    /// cutoff or its removal; else member if it is or was one). An envelope refused only because a
    /// cutoff came before its number is judged by it when a change in good standing was built on
    /// that envelope (protocol 15.10, "Built on").
    pub fn peak_role(&self, device: &DeviceId) -> Option<Role> {
        if self.is_admin(device)
            || self.admin_until.contains_key(device)
            || self.removed_roles.get(device) == Some(&Role::Admin)
        {
            Some(Role::Admin)
        } else if self.is_member(device) || self.removed.contains_key(device) {
            Some(Role::Member)
        } else {
            None
        }
    }

    /// The last number at which `device` writes with its highest role ([`Self::peak_role`]): its
    /// envelopes up to it are in good standing, none above it is (`None`: every number is, `Some(0)`:
    /// none, for a device the log never knew). One number suffices because
    /// [`Self::writing_role_at`] never ranks a higher number above a lower one: a current admin
    /// writes as one at every number (a re-promotion lifts an earlier demotion's cutoff whole), a
    /// demoted admin as one up to its cutoff and as a member above, a removed device with its
    /// roles up to its last number and not at all above. What a snapshot's cover may name of each
    /// device (protocol 26.3) is bounded by it.
    pub fn good_standing_until(&self, device: &DeviceId) -> Option<u64> {
        let peak = self.peak_role(device);
        if peak.is_none() {
            return Some(0);
        }
        self.cutoffs(device)
            .into_iter()
            .chain([0])
            .filter(|c| self.writing_role_at(device, c.saturating_add(1)) != peak)
            .min()
    }

    /// Notes that `device`, an admin until now, keeps an admin's judgement up to `seq`.
    pub(super) fn admin_until(&mut self, device: DeviceId, seq: u64) {
        let c = self.admin_until.entry(device).or_insert(seq);
        *c = (*c).max(seq);
    }

    /// The person an envelope's author writes for: its current person, or, for a removed device, the
    /// person it belonged to when removed.
    pub fn writing_person(&self, device: &DeviceId) -> Option<[u8; 32]> {
        self.persons
            .get(device)
            .or_else(|| self.removed_persons.get(device))
            .copied()
    }

    /// The person `person` is now, following the log's successions (a replaced recovery phrase); the
    /// same person when none moved it. Bounded, so a cycle cannot loop.
    pub fn current_person(&self, person: [u8; 32]) -> [u8; 32] {
        let mut p = person;
        for _ in 0..16 {
            match self.successors.get(&p) {
                Some(next) if *next != p => p = *next,
                _ => break,
            }
        }
        p
    }

    /// [`MembershipState::writing_person`], where the person signed for the device (see `proven`).
    pub fn proven_person(&self, device: &DeviceId) -> Option<[u8; 32]> {
        if self.proven.contains(device) {
            self.writing_person(device)
        } else {
            None
        }
    }

    /// Whether an envelope by `device` with sequence number `seq` is acceptable: the device is a
    /// member, or it was removed and `seq` is at most its recorded last sequence number (what it
    /// sealed before its removal still counts; nothing after).
    pub fn may_write(&self, device: &DeviceId, seq: u64) -> bool {
        self.is_member(device) || self.removed.get(device).is_some_and(|last| seq <= *last)
    }

    /// Whether the device may be given the space's envelopes: current members only.
    pub fn may_read(&self, device: &DeviceId) -> bool {
        self.is_member(device)
    }

    /// Whether some current member device belongs to `person`.
    pub fn has_person(&self, person: &[u8; 32]) -> bool {
        self.persons
            .iter()
            .any(|(d, p)| p == person && self.is_member(d))
    }

    /// Whether an invite is open and, by the clock reading `now` (Unix seconds), not expired.
    pub fn invite_open(&self, invite: &[u8; 16], now: u64) -> bool {
        self.invites
            .get(invite)
            .is_some_and(|i| i.status == InviteStatus::Open && now <= i.expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(r: Option<Role>) -> u8 {
        match r {
            None => 0,
            Some(Role::Member) => 1,
            Some(Role::Admin) => 2,
        }
    }

    /// Every shape a device's entry can take (a member of either role, a removed one, with or
    /// without an admin's cutoff below or above its removal): no higher number is ranked above a
    /// lower one, and the good-standing bound is exactly where the highest role stops.
    #[test]
    fn a_devices_role_never_rises_with_its_number_and_good_standing_is_a_prefix() {
        let d = DeviceId([3; 32]);
        let mut shapes = Vec::new();
        for current in [Some(Role::Admin), Some(Role::Member), None] {
            for until in [None, Some(3), Some(7)] {
                for removed in [None, Some((3, Role::Member)), Some((5, Role::Admin))] {
                    let mut s = MembershipState::default();
                    match (current, removed) {
                        (Some(r), _) => {
                            s.members.insert(d, r);
                        }
                        (None, Some((last, r))) => {
                            s.removed.insert(d, last);
                            s.removed_roles.insert(d, r);
                        }
                        (None, None) => {}
                    }
                    if let Some(c) = until {
                        s.admin_until.insert(d, c);
                    }
                    shapes.push(s);
                }
            }
        }
        for s in shapes {
            let peak = s.peak_role(&d);
            let roles: Vec<Option<Role>> = (1..=20).map(|q| s.writing_role_at(&d, q)).collect();
            assert!(roles.windows(2).all(|w| rank(w[0]) >= rank(w[1])), "{s:?}");
            let brute = match peak {
                // A device the log never knew is in good standing nowhere.
                None => Some(0),
                Some(_) => (1..=20u64)
                    .find(|q| s.writing_role_at(&d, *q) != peak)
                    .map(|q| q - 1),
            };
            assert_eq!(s.good_standing_until(&d), brute, "{s:?}");
        }
    }
}
