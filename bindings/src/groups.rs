//! Support groups through the bindings (`Vault.groups()`): create and list groups, go on in a new
//! period, join one in person, and the group's notebook, sessions and attendance. Admitting and
//! removing members is the same for every kind of space: `Vault.spaces()`.

use super::{Attendance, Result, Shared, SpaceRole, new_id, parse_space, programmes, with};

/// A group as a list shows it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct GroupSummary {
    /// The group's id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
    /// This device's role (`Admin`: a facilitator); null once removed.
    pub role: Option<SpaceRole>,
    /// How many devices belong to it.
    pub members: u32,
    /// The id (hex) of the period this group went on in, if a facilitator started one: show that one.
    pub next_id: Option<String>,
}

/// A note in the group notebook.
#[derive(Clone, Debug, uniffi::Record)]
pub struct GroupNote {
    /// Note id.
    pub id: String,
    /// Title (may be empty).
    pub title: String,
    /// Text, merged across the members' edits.
    pub text: String,
    /// Device id (hex) of the note's author.
    pub author: String,
    /// Created, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last edited, ms since the Unix epoch.
    pub edited_ms: i64,
    /// Whether the author wrote as a member and is one no longer (left or was removed): show the note
    /// as from a former member. It stays.
    pub from_former_member: bool,
}

/// One member's attendance at a session.
#[derive(Clone, Debug, uniffi::Record)]
pub struct AttendanceRecord {
    /// Device id (hex) of the member.
    pub member: String,
    /// How they attended.
    pub attendance: Attendance,
}

/// A group session.
#[derive(Clone, Debug, uniffi::Record)]
pub struct GroupSession {
    /// Session id.
    pub id: String,
    /// When it takes place, ms since the Unix epoch.
    pub date_ms: i64,
    /// Topic.
    pub topic: String,
    /// Facilitator's device id (hex).
    pub facilitator: String,
    /// Attendance recorded so far.
    pub attendance: Vec<AttendanceRecord>,
    /// Session notes.
    pub notes: String,
}

/// Support groups, handed out by `Vault.groups()`. It holds the vault's shared state, so
/// `Vault.lock()` locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Groups {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Groups {
    /// Creates a support group; this device is its facilitator. Returns the group's id. With
    /// `programme_id`, the group belongs to that programme: running its sessions then takes a
    /// facilitator who is a peer supporter or coordinator there (checked by every device); this
    /// person must hold such a role (`NotAllowed` otherwise).
    #[uniffi::method(default(programme_id = None))]
    pub fn create(&self, name: String, programme_id: Option<String>) -> Result<String> {
        let programme = programme_id
            .as_deref()
            .map(programmes::parse_programme)
            .transpose()?;
        Ok(with(&self.inner, |v| v.create_group_in(&name, programme))?.to_hex())
    }

    /// The groups this device belongs to, with this device's role and where each went on.
    pub fn list(&self) -> Result<Vec<GroupSummary>> {
        with(&self.inner, |v| {
            Ok(v.groups()
                .into_iter()
                .map(|g| GroupSummary {
                    id: g.id.to_hex(),
                    name: g.name,
                    role: g.role.map(Into::into),
                    members: g.members as u32,
                    next_id: g.next.map(|n| n.to_hex()),
                })
                .collect())
        })
    }

    /// Starts a new period of a group (facilitators): same name, members and roles, open agenda items,
    /// actions and coping ideas carried over, a new key. Members' devices follow at their next sync;
    /// the old period stays readable to them. Returns the new period's id.
    pub fn start_period(&self, group_id: String) -> Result<String> {
        let g = parse_space(&group_id)?;
        Ok(with(&self.inner, |v| v.start_period(&g))?.to_hex())
    }

    /// The facilitator erases a group for good, by destroying its keys (issue 14, item 17): gone
    /// here at once, at the relay at the next sync, and on every member's device at theirs (each
    /// checks the facilitator's signed word itself). `NotAllowed` for a plain member, `NotFound`
    /// for a group this device does not hold; nothing changes then. `Spaces.erased` lists it after.
    pub fn erase(&self, group_id: String) -> Result<()> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| v.erase_group(&g))
    }

    /// This device leaves the group on its own signed word (protocol 15.11): its notes stay, shown to
    /// the others as from a former member; a remaining facilitator's device rotates the group key at
    /// its next sync (this device never picks it), so nothing written afterwards reaches this
    /// device; what this device sends afterwards is refused everywhere. Sync to send it.
    /// `NotFound` for a group this device does not hold or has left already; `NotAllowed` for the
    /// group's only facilitator (nobody would rotate the key). Nothing changes then.
    pub fn leave(&self, group_id: String) -> Result<()> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| v.leave_group(&g))
    }

    /// On the joining device: joins the group named in a response made for it (`Spaces.approve_member`
    /// on the facilitator's device); a response for any other kind of space is `BadLinkCode`.
    /// Returns the group's id.
    pub fn join(&self, response: String) -> Result<String> {
        Ok(with(&self.inner, |v| v.join_group(&response))?.to_hex())
    }

    /// Adds a note to a group's notebook; returns its id.
    #[uniffi::method(default(title = ""))]
    pub fn add_note(&self, group_id: String, text: String, title: String) -> Result<String> {
        let g = parse_space(&group_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_space(&g, |doc, now| {
                sebaya_core::groups::add_note(doc, &id, &title, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// Changes a note's title and/or text; concurrent edits by several members merge.
    #[uniffi::method(default(title = None, text = None))]
    pub fn edit_note(
        &self,
        group_id: String,
        note_id: String,
        title: Option<String>,
        text: Option<String>,
    ) -> Result<()> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            v.with_space(&g, |doc, now| {
                sebaya_core::groups::edit_note(
                    doc,
                    &note_id,
                    title.as_deref(),
                    text.as_deref(),
                    now,
                )
            })
        })
    }

    /// The group's notes, oldest first; a member this person blocked is left out (never a
    /// coordinator: `Moderation.block`).
    pub fn notes(&self, group_id: String) -> Result<Vec<GroupNote>> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            let notes = v.visible_group_notes(&g)?;
            Ok(notes
                .into_iter()
                .map(|n| {
                    let former = sebaya_core::DeviceId::from_hex(&n.author)
                        .ok()
                        .and_then(|d| v.is_former_member(&g, &d).ok())
                        .unwrap_or(false);
                    GroupNote {
                        id: n.id,
                        title: n.title,
                        text: n.text,
                        author: n.author,
                        created_ms: n.created_ms,
                        edited_ms: n.edited_ms,
                        from_former_member: former,
                    }
                })
                .collect())
        })
    }

    /// Schedules a session facilitated by this device; returns its id. In a programme's group this
    /// takes a peer supporter or coordinator there (`NotAllowed`) with a current certification in
    /// group facilitation (`NotCertified`, its detail `group-facilitation`); nothing is written then.
    pub fn add_session(&self, group_id: String, date_ms: i64, topic: String) -> Result<String> {
        let g = parse_space(&group_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_group_sessions(&g, |doc, now| {
                sebaya_core::groups::add_session(doc, &id, date_ms, &topic, &me, now)
            })
        })?;
        Ok(id)
    }

    /// Records one member's attendance at a session (works offline; merges with others' records).
    /// Running a session: the same checks as `add_session`.
    pub fn set_attendance(
        &self,
        group_id: String,
        session_id: String,
        member_device_id: String,
        attendance: Attendance,
    ) -> Result<()> {
        let g = parse_space(&group_id)?;
        let a = attendance.to_core()?;
        with(&self.inner, |v| {
            v.with_group_sessions(&g, |doc, now| {
                sebaya_core::groups::set_attendance(doc, &session_id, &member_device_id, a, now)
            })
        })
    }

    /// The group's sessions, by date.
    pub fn sessions(&self, group_id: String) -> Result<Vec<GroupSession>> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            v.read_space(&g, |doc| {
                sebaya_core::groups::sessions(doc)
                    .into_iter()
                    .map(|s| GroupSession {
                        id: s.id,
                        date_ms: s.date_ms,
                        topic: s.topic,
                        facilitator: s.facilitator,
                        attendance: s
                            .attendance
                            .into_iter()
                            .map(|(member, a)| AttendanceRecord {
                                member,
                                attendance: a.into(),
                            })
                            .collect(),
                        notes: s.notes,
                    })
                    .collect()
            })
        })
    }
}
