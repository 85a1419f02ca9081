//! Shared spaces beyond the journal: support groups, one-to-one pairings and case notes. Creating one,
//! adding members in person (the admin scans a member's request code and shows the response),
//! removing members (which rotates the key), and listing.
//!
//! A group is a space of kind [`SpaceKind::Group`] whose document is the typed view in
//! [`crate::groups`]. Its creator is its first admin (facilitator); members join with role `member`
//! unless made admins. Newcomers get the current key only: a group's earlier notes stay closed to them
//! (groups default to no history), unlike a person's own devices.

use crate::now_ms;
use serde_bytes::ByteBuf;

use sebaya_proto::membership::Role;
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::{Error, Result};
use crate::space::{RotationReport, Space, SpaceKind};
use crate::store::Store;
use crate::{Vault, link};

const GROUP_INDEX: &str = "group-spaces";

/// A member taken into a new period: device, role, person, X25519 key.
type CarriedMember = (DeviceId, Role, Option<[u8; 32]>, Option<[u8; 32]>);

/// The ids of the groups this vault holds (sealed in the vault).
pub(crate) fn index(store: &Store) -> Result<Vec<SpaceId>> {
    let Some(bytes) = store.kv_get(GROUP_INDEX)? else {
        return Ok(Vec::new());
    };
    let ids: Vec<ByteBuf> =
        ciborium::from_reader(bytes.as_slice()).map_err(|_| Error::Corrupt("group index"))?;
    ids.iter()
        .map(|b| SpaceId::from_slice(b).map_err(|_| Error::Corrupt("group index")))
        .collect()
}

pub(crate) fn save_index(store: &Store, ids: &[SpaceId]) -> Result<()> {
    let list: Vec<ByteBuf> = ids.iter().map(|i| ByteBuf::from(i.0.to_vec())).collect();
    let mut out = Vec::new();
    ciborium::into_writer(&list, &mut out).map_err(|_| Error::Internal("encode group index"))?;
    store.kv_put(GROUP_INDEX, &out)
}

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
    fn group_mut(
        &mut self,
        id: &SpaceId,
    ) -> Result<(&Store, &crate::identity::Identity, &mut Space)> {
        let g = self.shared.get_mut(id).ok_or(Error::NotFound("group"))?;
        Ok((&self.store, &self.identity, g))
    }

    pub(crate) fn group_ref(&self, id: &SpaceId) -> Result<&Space> {
        self.shared.get(id).ok_or(Error::NotFound("group"))
    }

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

    /// Refuses to bind a new space to a programme in which this person lacks `min` (the space
    /// would be unusable to its own creator).
    pub(crate) fn check_can_bind(
        &self,
        programme: Option<[u8; 32]>,
        min: sebaya_proto::programme::ProgrammeRole,
    ) -> Result<()> {
        let Some(p) = programme else {
            return Ok(());
        };
        let role = self
            .programmes()?
            .into_iter()
            .find(|i| i.id == p)
            .and_then(|i| i.role);
        if role.is_none_or(|r| r < min) {
            return Err(Error::NotAllowed(
                "this person holds no role in that programme that could run this space",
            ));
        }
        Ok(())
    }

    /// Creates a space of `kind` whose document `init` sets up (one durable commit); not yet held.
    pub(crate) fn new_space(
        &self,
        kind: SpaceKind,
        init: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<()>,
    ) -> Result<Space> {
        let mut space = Space::create(&self.store, kind, &self.identity)?;
        init(&mut space.doc, now_ms())?;
        space.persist(&self.store)?;
        Ok(space)
    }

    /// Starts holding a shared space: in memory and in the vault's index of shared spaces.
    pub(crate) fn keep_shared(&mut self, space: Space) -> Result<SpaceId> {
        let id = space.id;
        self.shared.insert(id, space);
        save_index(
            &self.store,
            &self.shared.keys().copied().collect::<Vec<_>>(),
        )?;
        Ok(id)
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
        let target = self.period_for_newcomer(group, share_history)?;
        let (store, identity, g) = self.group_mut(&target)?;
        crate::approve_into(store, identity, g, request, role, None)?.to_code()
    }

    /// The space a newcomer joins: `group` itself when history is shared or there is none yet; else
    /// a new period of it (started now unless the group already went on).
    pub(crate) fn period_for_newcomer(
        &mut self,
        group: &SpaceId,
        share_history: bool,
    ) -> Result<SpaceId> {
        let g = self.group_ref(group)?;
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
    /// roles (and programme), the open agenda items and actions and the coping ideas carried over, and
    /// a new key. The old period stays readable to those who were in it and names the new one as
    /// `next`; every member's device follows it at its next sync. What a newcomer to the new period
    /// reads starts there. Returns the new period's id.
    pub fn start_period(&mut self, group: &SpaceId) -> Result<SpaceId> {
        let me = self.identity.device;
        let old = self.group_ref(group)?;
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
        self.with_group(group, |d, now| crate::groups::set_next_period(d, &hex, now))?;
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
            .filter(|id| !self.shared.contains_key(id))
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

    /// On the joining device: starts holding any shared space (group, pairing, case notes) named in a
    /// response made for it. Returns its id and kind.
    pub fn join_space(&mut self, response: &str) -> Result<(SpaceId, SpaceKind)> {
        let resp = link::LinkResponse::from_code(response)?;
        self.join_shared(resp)
    }

    fn join_shared(&mut self, resp: link::LinkResponse) -> Result<(SpaceId, SpaceKind)> {
        let kind = SpaceKind::from_byte(resp.kind).map_err(|_| Error::BadLinkCode)?;
        if kind == SpaceKind::Journal {
            return Err(Error::BadLinkCode);
        }
        if self.shared.contains_key(&resp.space) {
            return Err(Error::InvalidInput(
                "this device already belongs to that space".into(),
            ));
        }
        let space = crate::adopt_from_response(&self.store, &self.identity, resp, kind)?;
        Ok((self.keep_shared(space)?, kind))
    }

    /// Every shared space this device holds (groups, pairings, case notes), with its kind and this
    /// device's role.
    pub fn shared_spaces(&self) -> Vec<(SpaceId, SpaceKind, Option<Role>)> {
        self.shared
            .values()
            .filter(|s| s.kind != SpaceKind::Index)
            .map(|s| (s.id, s.kind, s.membership().role(&self.identity.device)))
            .collect()
    }

    /// A peer supporter opens a one-to-one pairing with the participant whose request code it scanned
    /// (in person). Returns the pairing's id and the response code to show the participant.
    pub fn create_pairing(&mut self, participant_request: &str) -> Result<(SpaceId, String)> {
        self.create_pairing_in(participant_request, None)
    }

    /// The unbound pairing of [`Vault::create_pairing`] (and of `create_pairing_in` without a
    /// programme, `training.rs`).
    pub(crate) fn create_plain_pairing(
        &mut self,
        participant_request: &str,
    ) -> Result<(SpaceId, String)> {
        let participant = link::LinkRequest::from_code(participant_request)?
            .device
            .to_hex();
        let me = self.identity.device.to_hex();
        self.open_shared(
            SpaceKind::Pairing,
            |doc, now| crate::pairing::init(doc, &participant, &me, now),
            participant_request,
            Role::Member,
        )
    }

    /// A peer supporter opens case notes about one pairing (`about`: an opaque reference, never a
    /// name) shared only with the supervisor whose request code it scanned. Returns the id and the
    /// response code for the supervisor. The participant is never a member: no device of theirs holds
    /// a key that opens these notes.
    pub fn create_case_notes(
        &mut self,
        about: &str,
        supervisor_request: &str,
    ) -> Result<(SpaceId, String)> {
        self.create_case_notes_in(about, supervisor_request, None)
    }

    /// [`Vault::create_case_notes`], bound to a programme when `programme` names one: then writing
    /// notes takes a peer supporter of the programme and reviewing them a coordinator, checked by
    /// every device.
    pub fn create_case_notes_in(
        &mut self,
        about: &str,
        supervisor_request: &str,
        programme: Option<[u8; 32]>,
    ) -> Result<(SpaceId, String)> {
        self.check_can_bind(
            programme,
            sebaya_proto::programme::ProgrammeRole::PeerSupporter,
        )?;
        let (id, response) = self.open_shared(
            SpaceKind::CaseNotes,
            |doc, now| crate::casenotes::init(doc, about, now),
            supervisor_request,
            Role::Admin,
        )?;
        if let Some(p) = programme {
            let store = &self.store;
            let s = self
                .shared
                .get_mut(&id)
                .ok_or(Error::Internal("space missing"))?;
            Vault::bind_programme(store, s, &p)?;
        }
        if let Some(person) = self.person_id() {
            self.claim_spaces(person.0)?;
        }
        Ok((id, response))
    }

    /// Creates a shared space of `kind` whose document `init` sets up, adds the device that showed
    /// `request` with `role`, and returns the space id and the response code for that device. The
    /// request is checked before anything is created.
    pub(crate) fn open_shared(
        &mut self,
        kind: SpaceKind,
        init: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<()>,
        request: &str,
        role: Role,
    ) -> Result<(SpaceId, String)> {
        link::LinkRequest::from_code(request)?;
        let mut space = self.new_space(kind, init)?;
        let response =
            crate::approve_into(&self.store, &self.identity, &mut space, request, role, None)?
                .to_code()?;
        Ok((self.keep_shared(space)?, response))
    }

    /// Removes a member's device from the group and rotates the group key (facilitators only).
    pub fn remove_group_member(
        &mut self,
        group: &SpaceId,
        device: &DeviceId,
    ) -> Result<RotationReport> {
        let (store, identity, g) = self.group_mut(group)?;
        g.remove_member(store, identity, *device)
    }

    /// Runs a typed-view edit on a group document and makes it durable (one commit).
    pub fn with_group<T>(
        &mut self,
        group: &SpaceId,
        edit: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<T>,
    ) -> Result<T> {
        let (store, identity, g) = self.group_mut(group)?;
        if !g.membership().is_member(&identity.device) {
            return Err(Error::NotAllowed(
                "this device is not a member of the group",
            ));
        }
        // This device's own credentials go in first, so the check (here and everywhere) sees them.
        Vault::publish_credentials(store, g)?;
        let registry = crate::space::rules::programme_of(&g.doc)
            .map(|p| crate::space::rules::registry_of(&g.doc, p));
        let author = crate::space::rules::author(
            g.membership(),
            g.creator(),
            identity.device,
            registry.as_ref(),
        );
        let out = match author.unlimited(g.kind) {
            true => edit(&mut g.doc, now_ms())?,
            false => {
                // A member's edit is tried on a copy first: what every other device would refuse
                // (`rules.rs`) is refused here, before anything is written.
                let before = g.doc.get_heads();
                let mut trial = g
                    .doc
                    .fork()
                    .with_actor(crate::space::actor_of(&identity.device));
                let out = edit(&mut trial, now_ms())?;
                let changes: Vec<automerge::Change> = trial.get_changes(&before);
                if !crate::space::rules::allowed(&g.doc, g.kind, &author, &changes) {
                    return Err(Error::NotAllowed(
                        "this device's role does not allow changing that part of the space",
                    ));
                }
                g.doc.apply_changes(changes)?;
                out
            }
        };
        g.persist(store)?;
        Ok(out)
    }

    /// A group's membership as this device knows it.
    pub fn group_membership(
        &self,
        group: &SpaceId,
    ) -> Result<&sebaya_proto::membership::MembershipState> {
        Ok(self.group_ref(group)?.membership())
    }

    /// Reads a group document.
    pub fn read_group<T>(
        &self,
        group: &SpaceId,
        read: impl FnOnce(&automerge::AutoCommit) -> T,
    ) -> Result<T> {
        Ok(read(&self.group_ref(group)?.doc))
    }
}
