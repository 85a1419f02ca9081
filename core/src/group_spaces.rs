//! Support groups as spaces: creating one, adding members in person (the facilitator scans a member's
//! request code and shows the response), removing members (which rotates the group key), and listing.
//!
//! A group is a space of kind [`SpaceKind::Group`] whose document is the typed view in
//! [`crate::groups`]. Its creator is its first admin (facilitator); members join with role `member`
//! unless made admins. Newcomers get the current key only: a group's earlier notes stay closed to them
//! (groups default to no history), unlike a person's own devices.

use serde_bytes::ByteBuf;

use sebaya_proto::membership::Role;
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::{Error, Result};
use crate::space::{RotationReport, Space, SpaceKind};
use crate::vault::Store;
use crate::{Vault, link};

const GROUP_INDEX: &str = "group-spaces";

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

fn save_index(store: &Store, ids: &[SpaceId]) -> Result<()> {
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
    /// How many devices are members.
    pub members: usize,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Vault {
    fn group_mut(
        &mut self,
        id: &SpaceId,
    ) -> Result<(&Store, &crate::identity::Identity, &mut Space)> {
        let g = self.groups.get_mut(id).ok_or(Error::NotFound("group"))?;
        Ok((&self.store, &self.identity, g))
    }

    pub(crate) fn group_ref(&self, id: &SpaceId) -> Result<&Space> {
        self.groups.get(id).ok_or(Error::NotFound("group"))
    }

    /// Creates a support group; this device is its facilitator (admin).
    pub fn create_group(&mut self, name: &str) -> Result<SpaceId> {
        let mut space = Space::create(&self.store, SpaceKind::Group, &self.identity)?;
        crate::groups::init(&mut space.doc, name, now_ms())?;
        space.persist(&self.store)?;
        let id = space.id;
        self.groups.insert(id, space);
        save_index(
            &self.store,
            &self.groups.keys().copied().collect::<Vec<_>>(),
        )?;
        Ok(id)
    }

    /// Every group this device holds, by name.
    pub fn groups(&self) -> Vec<GroupInfo> {
        let mut out: Vec<GroupInfo> = self
            .groups
            .values()
            .map(|g| GroupInfo {
                id: g.id,
                name: crate::groups::name(&g.doc),
                role: g.membership().role(&self.identity.device),
                members: g.membership().members.len(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out
    }

    /// On the facilitator's device: adds the device that showed `request` (its [`Vault::link_request`]
    /// code) to the group with `role`, and returns the response code to show it.
    pub fn approve_group_member(
        &mut self,
        group: &SpaceId,
        request: &str,
        role: Role,
    ) -> Result<String> {
        let (store, identity, g) = self.group_mut(group)?;
        crate::approve_into(store, identity, g, request, role, false)
    }

    /// On the joining device: starts holding the group named in a response made for it.
    pub fn join_group(&mut self, response: &str) -> Result<SpaceId> {
        let resp = link::LinkResponse::from_code(response)?;
        if self.groups.contains_key(&resp.space) {
            return Err(Error::InvalidInput(
                "this device already belongs to that group".into(),
            ));
        }
        let space =
            crate::adopt_from_response(&self.store, &self.identity, resp, SpaceKind::Group)?;
        let id = space.id;
        self.groups.insert(id, space);
        save_index(
            &self.store,
            &self.groups.keys().copied().collect::<Vec<_>>(),
        )?;
        Ok(id)
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
        let out = edit(&mut g.doc, now_ms())?;
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
