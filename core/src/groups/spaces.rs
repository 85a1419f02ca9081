//! A support group's life as shared spaces: creating one, adding members in person (the facilitator
//! scans a member's request code and shows the response) or by invite (which space a newcomer
//! joins), removing members (which rotates the key), going on in a new period, and listing.
//!
//! A group is a space of kind [`SpaceKind::Group`] whose document is the typed view in
//! [`crate::groups`]. Its creator is its first admin (facilitator); members join with role `member`
//! unless made admins. Newcomers get the current key only: a group's earlier notes stay closed to them
//! (groups default to no history), unlike a person's own devices.

use sebaya_proto::membership::Role;
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::{Error, Result};
use crate::space::invites::NewInvite;
use crate::space::{RotationReport, Space, SpaceKind};
use crate::{Vault, identity::link};

/// A member taken into a new period: device, role, person, X25519 key.
type CarriedMember = (DeviceId, Role, Option<[u8; 32]>, Option<[u8; 32]>);

/// A group as a list screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group's space id.
    pub id: SpaceId,
    /// Its name.
    pub name: String,
    /// This device's role (None once removed).
    pub role: Option<Role>,
    /// The period this group went on in, if a facilitator started one (show the newest).
    pub next: Option<SpaceId>,
    /// How many devices are members.
    pub members: usize,
}
impl Vault {
    /// Creates a support group; this device is its facilitator (admin).
    pub fn create_group(&mut self, name: &str) -> Result<SpaceId> {
        self.create_group_in(name, None)
    }

    /// Creates a support group, bound to a programme when `programme` names one: then running its
    /// sessions (sessions and attendance) takes a facilitator whose person is a peer supporter or
    /// coordinator of that programme, checked by every device (`rules.rs`). Binding needs a person
    /// here holding such a role.
    pub fn create_group_in(&mut self, name: &str, programme: Option<[u8; 32]>) -> Result<SpaceId> {
        self.check_can_bind(
            programme,
            sebaya_proto::programme::ProgrammeRole::PeerSupporter,
        )?;
        let mut space = self.new_space(SpaceKind::Group, |doc, now| {
            crate::groups::init(doc, name, now)
        })?;
        if let Some(p) = programme {
            Vault::bind_programme(&self.store, &mut space, &p)?;
        }
        let id = self.keep_shared(space)?;
        if let Some(person) = self.person_id() {
            self.claim_spaces(person.0)?;
        }
        Ok(id)
    }

    /// The facilitator erases a group for good, by destroying its keys (issue 14, item 17): its
    /// notes, agenda and sessions go, here at once, at the relay at the next sync, and on every
    /// member's device at theirs (`space/erasure.rs`). Only a current admin may (`NotAllowed` for
    /// a plain member, `NotFound` for a group this device does not hold). A period the group went
    /// on in is a space of its own, erased on its own.
    pub fn erase_group(&mut self, group: &SpaceId) -> Result<()> {
        self.erase_shared(group, SpaceKind::Group)
    }

    /// Every group this device holds, by name.
    pub fn groups(&self) -> Vec<GroupInfo> {
        let mut out: Vec<GroupInfo> = self
            .shared
            .values()
            .filter(|g| g.kind == SpaceKind::Group)
            .map(|g| GroupInfo {
                id: g.id,
                name: crate::groups::name(&g.doc),
                role: g.membership().role(&self.identity.device),
                members: g.membership().members.len(),
                next: crate::groups::next_period(&g.doc).and_then(|h| SpaceId::from_hex(&h).ok()),
            })
            .collect();
        out.sort_unstable_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out
    }

    /// On the facilitator's device: adds the device that showed `request` (its [`Vault::link_request`]
    /// code) to the group with `role`, and returns the response code to show it. Newcomers get no
    /// history by default: when the group holds any, it first goes on in a new period
    /// ([`Vault::start_period`]) and the newcomer joins that one.
    pub fn approve_group_member(
        &mut self,
        group: &SpaceId,
        request: &str,
        role: Role,
    ) -> Result<String> {
        self.approve_group_member_with(group, request, role, false)
    }

    /// [`Vault::approve_group_member`] with an explicit choice: `share_history` lets the newcomer read
    /// everything the group wrote before (the same document); otherwise a group that has a past goes on
    /// in a new period first.
    pub fn approve_group_member_with(
        &mut self,
        group: &SpaceId,
        request: &str,
        role: Role,
        share_history: bool,
    ) -> Result<String> {
        link::LinkRequest::from_code(request)?;
        // Case notes take their supervisor at creation and a successor by hand-over, nobody else
        // (issue 14, item 12).
        match self.held_ref(group)?.kind {
            SpaceKind::CaseNotes => return Err(Error::CaseNotesFull),
            // Coordinators and supporters only, never a participant's phone (issue 14, item 14).
            SpaceKind::Safeguarding => self.check_safeguarding_newcomer(group, request)?,
            _ => {}
        }
        let target = self.period_for_newcomer(group, share_history)?;
        let (store, identity, g) = self.held_mut(&target)?;
        crate::space::devices::approve_into(store, identity, g, request, role, None)?.to_code()
    }

    /// Opens an invite to a shared space (group, pairing) this device administers, valid for
    /// `valid_for_secs` (one second to 30 days). Returns the code to show; anyone holding it may
    /// ask to join, once, until it expires or is revoked, and an admin still approves each request.
    pub fn create_invite(&mut self, space: &SpaceId, valid_for_secs: u64) -> Result<NewInvite> {
        self.create_invite_with(space, valid_for_secs, false)
    }

    /// [`Vault::create_invite`] with an explicit choice of history: with `share_history` the
    /// newcomer reads everything the group wrote before; without (the default for groups), a group
    /// that has a past first goes on in a new period ([`Vault::start_period`]) and the invite
    /// admits to that. Pairings always share their history (one-to-one). The invite itself is
    /// `space/invites.rs`; only the choice of the space it admits to is the group's.
    pub fn create_invite_with(
        &mut self,
        space: &SpaceId,
        valid_for_secs: u64,
        share_history: bool,
    ) -> Result<NewInvite> {
        // Checked on the space asked for before a new period may start.
        self.check_invite(space, valid_for_secs)?;
        let target = self.period_for_newcomer(space, share_history)?;
        self.open_invite(&target, valid_for_secs)
    }

    /// The space a newcomer joins: `group` itself when history is shared or there is none yet; else
    /// a new period of it (started now unless the group already went on).
    pub(crate) fn period_for_newcomer(
        &mut self,
        group: &SpaceId,
        share_history: bool,
    ) -> Result<SpaceId> {
        let g = self.held_ref(group)?;
        if g.kind != SpaceKind::Group || share_history || !crate::groups::has_history(&g.doc) {
            return Ok(*group);
        }
        // A group that already went on: its newest period this device holds (a new one only if
        // that one has a past too).
        if let Some(next) = crate::groups::next_period(&g.doc)
            .and_then(|h| SpaceId::from_hex(&h).ok())
            .filter(|n| self.shared.contains_key(n))
        {
            return self.period_for_newcomer(&next, false);
        }
        self.start_period(group)
    }

    /// Starts a new period of a group (facilitators): a new space with the same name, members and
    /// roles (and programme), the open agenda items, actions and reminders and the coping ideas
    /// carried over, and a new key. The old period stays readable to those who were in it and names the new one as
    /// `next`; every member's device follows it at its next sync. What a newcomer to the new period
    /// reads starts there. Returns the new period's id.
    pub fn start_period(&mut self, group: &SpaceId) -> Result<SpaceId> {
        let me = self.identity.device;
        let old = self.held_ref(group)?;
        if old.kind != SpaceKind::Group {
            return Err(Error::InvalidInput("only a group has periods".into()));
        }
        if !old.membership().is_admin(&me) {
            return Err(Error::NotAllowed(
                "only a facilitator starts a group's new period",
            ));
        }
        if crate::groups::next_period(&old.doc).is_some() {
            return Err(Error::InvalidInput(
                "this group already goes on in a newer period".into(),
            ));
        }
        let name = crate::groups::name(&old.doc);
        let programme = crate::space::rules::programme_of(&old.doc);
        let state = old.membership();
        let members: Vec<CarriedMember> = state
            .members
            .iter()
            .filter(|(d, _)| **d != me)
            .map(|(d, r)| {
                (
                    *d,
                    *r,
                    state.persons.get(d).copied(),
                    state.x25519.get(d).copied(),
                )
            })
            .collect();
        let carried = old.doc.clone();
        let mut space = self.new_space(SpaceKind::Group, |doc, now| {
            crate::groups::init(doc, &name, now)?;
            crate::groups::set_previous_period(doc, &group.to_hex(), now)?;
            crate::groups::carry_open_items(&carried, doc, &me.to_hex(), now)?;
            // Open reminders (tasks agreed between sessions) go on too (protocol 29.1).
            crate::reminders::carry_open(&carried, doc, &me.to_hex(), now)?;
            Ok(())
        })?;
        let (store, identity) = (&self.store, &self.identity);
        if let Some(p) = programme {
            Vault::bind_programme(store, &mut space, &p)?;
        }
        for (d, role, person, x) in members {
            if let Some(x) = x {
                space.add_member(store, identity, d, x, role, person)?;
            }
        }
        // Everyone gets the new key by wrap (the first key travels as history inside it).
        space.rotate(store, identity)?;
        let new_id = self.keep_shared(space)?;
        let hex = new_id.to_hex();
        self.with_space(group, |d, now| crate::groups::set_next_period(d, &hex, now))?;
        if let Some(person) = self.person_id() {
            self.claim_spaces(person.0)?;
        }
        Ok(new_id)
    }

    /// Starts holding the new period of every group this device is a member of that went on (the old
    /// period names it). Its key arrives by wrap at the same sync. Returns how many.
    pub(crate) fn follow_periods(&mut self) -> Result<u32> {
        let me = self.identity.device;
        let next: Vec<SpaceId> = self
            .shared
            .values()
            .filter(|s| s.kind == SpaceKind::Group && s.membership().is_member(&me))
            .filter_map(|s| crate::groups::next_period(&s.doc))
            .filter_map(|h| SpaceId::from_hex(&h).ok())
            .filter(|id| !self.shared.contains_key(id) && !self.is_tombstoned(id))
            .collect();
        let mut n = 0;
        for id in next {
            // A key no epoch commits to: the space waits for its log and its wrapped key.
            let placeholder = crate::crypto::random_key()?;
            let space = Space::adopt(&self.store, id, SpaceKind::Group, placeholder, me)?;
            self.keep_shared(space)?;
            n += 1;
        }
        Ok(n)
    }

    /// On the joining device: starts holding the group named in a response made for it.
    pub fn join_group(&mut self, response: &str) -> Result<SpaceId> {
        let resp = link::LinkResponse::from_code(response)?;
        if resp.kind != SpaceKind::Group.to_byte() {
            return Err(Error::BadLinkCode);
        }
        self.join_shared(resp).map(|(id, _)| id)
    }

    /// Gives a member's device of a space this device administers another role (facilitators
    /// only): co-facilitator (`Role::Admin`) or member. See [`Space::set_role`] for what a
    /// demotion does to what the device wrote concurrently.
    pub fn set_group_member_role(
        &mut self,
        group: &SpaceId,
        device: &DeviceId,
        role: Role,
    ) -> Result<()> {
        let (store, identity, g) = self.held_mut(group)?;
        g.set_role(store, identity, *device, role)
    }

    /// This device leaves the group on its own word: its notes stay (from a former member), a
    /// remaining facilitator rotates the key at its next sync, and what this device sends
    /// afterwards is refused everywhere (protocol 15.11). Refused for a group this device does not
    /// hold or no longer belongs to (`NotFound`), and for its only facilitator (`NotAllowed`).
    pub fn leave_group(&mut self, group: &SpaceId) -> Result<()> {
        if self.held_ref(group)?.kind != SpaceKind::Group {
            return Err(Error::NotFound("group"));
        }
        self.leave_space(group)
    }

    /// Removes a member's device from the group and rotates the group key (facilitators only).
    pub fn remove_group_member(
        &mut self,
        group: &SpaceId,
        device: &DeviceId,
    ) -> Result<RotationReport> {
        let (store, identity, g) = self.held_mut(group)?;
        g.remove_member(store, identity, *device)
    }
}
