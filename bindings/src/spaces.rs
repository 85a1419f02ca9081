//! Shared spaces and who is in them, through the bindings (`Vault.spaces()`): every space this device
//! holds, joining one in person with a response code, and admitting, removing and listing members.
//! These verbs are the same for every kind of space (a group, a pairing, case notes, a care record,
//! a report space), so they live here rather than on each domain object.

use super::{
    Member, Result, RotationReport, Shared, SpaceKind, SpaceRole, parse_device, parse_space, with,
};

/// A shared space this device belongs to.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SharedSpace {
    /// Space id (hex).
    pub id: String,
    /// Its kind.
    pub kind: SpaceKind,
    /// This device's role there; null once removed (the space is still listed: what was read stays
    /// readable).
    pub role: Option<SpaceRole>,
}

/// A shared space erased on this device (by it, or by a member entitled to whose signed word it
/// checked): show it as erased; it is never held again.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ErasedSpace {
    /// Space id (hex).
    pub id: String,
    /// What it was.
    pub kind: SpaceKind,
}

/// A space just created for someone, with the code to show them.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CreatedSpace {
    /// The new space's id (hex).
    pub space_id: String,
    /// The response code for the other person's device (`Spaces.join`).
    pub response: String,
}

/// What the devices of a space judge under (docs/protocol.md 12.2): a write a newer release makes
/// waits (`WaitingForUpdates`) until every member device has updated; this says who is behind.
#[derive(Clone, Debug, uniffi::Record)]
pub struct RulesStatus {
    /// The lowest rules version the space's member devices announced; 0 while one has announced
    /// none (it runs an older release, or has not synced since it updated).
    pub floor: u32,
    /// The rules version this device judges under.
    pub this_device: u32,
    /// Device ids (hex) of the other members whose release is older than this device's, or who
    /// have not said: show "waiting for them to update".
    pub behind: Vec<String>,
}

/// Membership of shared spaces, handed out by `Vault.spaces()`. It holds the vault's shared state,
/// so `Vault.lock()` locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Spaces {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Spaces {
    /// Every shared space this device belongs to (groups, pairings, case notes, care records,
    /// report spaces), with its kind and this device's role.
    pub fn list(&self) -> Result<Vec<SharedSpace>> {
        with(&self.inner, |v| {
            Ok(v.shared_spaces()
                .into_iter()
                .map(|(id, kind, role)| SharedSpace {
                    id: id.to_hex(),
                    kind: kind.into(),
                    role: role.map(Into::into),
                })
                .collect())
        })
    }

    /// The shared spaces erased on this device (issue 14, item 17), in the order they were erased:
    /// a group its facilitator erased, a pairing or care record its participant erased.
    pub fn erased(&self) -> Result<Vec<ErasedSpace>> {
        with(&self.inner, |v| {
            Ok(v.erased_spaces()
                .into_iter()
                .map(|e| ErasedSpace {
                    id: e.id.to_hex(),
                    kind: e.kind.into(),
                })
                .collect())
        })
    }

    /// On any device: joins the shared space (group, pairing, case notes, care record, report space,
    /// safeguarding space)
    /// named in a response made for it (`approve_member`, `Pairings.create`, `Care.enrol`...).
    /// Returns the space.
    pub fn join(&self, response: String) -> Result<SharedSpace> {
        let (id, kind) = with(&self.inner, |v| v.join_space(&response))?;
        Ok(SharedSpace {
            id: id.to_hex(),
            kind: kind.into(),
            role: Some(SpaceRole::Member),
        })
    }

    /// On an admin's device, in person: adds the device that showed `request` (its `link_request()`
    /// code) to a space this device administers (a group, a care record, a report space), as an
    /// admin (a group's facilitator, a care record's coordinator) when `as_admin`, and returns the
    /// response code to show it (`join` on that device). Unless `share_history`, a group that already
    /// has a past first goes on in a new period and the newcomer joins that one (reading nothing
    /// written before). Case notes take nobody this way (`CaseNotesFull`): their supervisor is named
    /// when they are opened, a successor comes by hand-over.
    #[uniffi::method(default(as_admin = false, share_history = false))]
    pub fn approve_member(
        &self,
        space_id: String,
        request: String,
        as_admin: bool,
        share_history: bool,
    ) -> Result<String> {
        let g = parse_space(&space_id)?;
        let role = if as_admin {
            sebaya_core::Role::Admin
        } else {
            sebaya_core::Role::Member
        };
        with(&self.inner, |v| {
            v.approve_group_member_with(&g, &request, role, share_history)
        })
    }

    /// Removes a member's device from a space and rotates its key (admins only: a group's
    /// facilitators), so it reads nothing written from then on. Sync afterwards.
    pub fn remove_member(&self, space_id: String, device_id: String) -> Result<RotationReport> {
        let g = parse_space(&space_id)?;
        let d = parse_device(&device_id)?;
        let r = with(&self.inner, |v| v.remove_group_member(&g, &d))?;
        Ok(RotationReport {
            wrapped: r.wrapped,
            without_key: r.without_key,
            bytes: r.bytes,
        })
    }

    /// Gives a member's device of a space this device administers another role (admins only: a
    /// group's facilitators): a co-facilitator when `as_admin`, else a member. A co-facilitator
    /// stepped back keeps, on every device, what it wrote before this device saw it last; what it
    /// writes from then on, even offline and unaware, counts as a member's. Sync afterwards.
    pub fn set_member_role(
        &self,
        space_id: String,
        device_id: String,
        as_admin: bool,
    ) -> Result<()> {
        let g = parse_space(&space_id)?;
        let d = parse_device(&device_id)?;
        let role = if as_admin {
            sebaya_core::Role::Admin
        } else {
            sebaya_core::Role::Member
        };
        with(&self.inner, |v| v.set_group_member_role(&g, &d, role))
    }

    /// Which rules the devices of a space judge under, and who is behind this device (for
    /// `WaitingForUpdates`). `NotFound` for a space this device does not hold.
    pub fn rules_status(&self, space_id: String) -> Result<RulesStatus> {
        let g = parse_space(&space_id)?;
        with(&self.inner, |v| {
            let st = v.rules_status(&g)?;
            Ok(RulesStatus {
                floor: st.floor,
                this_device: st.this_device,
                behind: st.behind.iter().map(|d| d.to_hex()).collect(),
            })
        })
    }

    /// The devices of a space, with their roles, as this device knows them.
    pub fn members(&self, space_id: String) -> Result<Vec<Member>> {
        let g = parse_space(&space_id)?;
        with(&self.inner, |v| {
            let me = v.device_id();
            Ok(v.space_membership(&g)?
                .members
                .iter()
                .map(|(d, r)| Member {
                    device_id: d.to_hex(),
                    role: (*r).into(),
                    this_device: *d == me,
                })
                .collect())
        })
    }
}
