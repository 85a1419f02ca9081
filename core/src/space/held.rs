//! The shared spaces a device holds beyond its journal (groups, pairings, case notes, care records,
//! the person's index): the vault's list of them, creating one, joining one from a response code,
//! and reading or editing one's document under the space's rules.
//!
//! What is particular to each kind (a group's periods, a pairing's participant) lives with that kind
//! (`groups/spaces.rs`, `pairing/create.rs`); this file is what every held space shares.

use crate::store::clock::now_ms;
use serde_bytes::ByteBuf;

use sebaya_proto::membership::Role;
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::{Error, Result};
use crate::space::{Space, SpaceKind};
use crate::store::Store;
use crate::{Vault, identity::link};

const GROUP_INDEX: &str = "group-spaces";

/// The ids of the shared spaces this vault holds (sealed in the vault; the key keeps its first name).
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

impl Vault {
    pub(crate) fn held_mut(
        &mut self,
        id: &SpaceId,
    ) -> Result<(&Store, &crate::identity::Identity, &mut Space)> {
        let g = self.shared.get_mut(id).ok_or(Error::NotFound("group"))?;
        Ok((&self.store, &self.identity, g))
    }

    pub(crate) fn held_ref(&self, id: &SpaceId) -> Result<&Space> {
        self.shared.get(id).ok_or(Error::NotFound("group"))
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
        // An erased space is never held again, whatever brings it (a join code that carries its
        // key, an index entry, a replay): issue 14, item 17.
        if self.is_tombstoned(&id) {
            return Err(Error::NotAllowed("this space was erased"));
        }
        self.shared.insert(id, space);
        save_index(
            &self.store,
            &self.shared.keys().copied().collect::<Vec<_>>(),
        )?;
        Ok(id)
    }

    /// On the joining device: starts holding any shared space (group, pairing, case notes) named in a
    /// response made for it. Returns its id and kind.
    pub fn join_space(&mut self, response: &str) -> Result<(SpaceId, SpaceKind)> {
        let resp = link::LinkResponse::from_code(response)?;
        self.join_shared(resp)
    }

    pub(crate) fn join_shared(&mut self, resp: link::LinkResponse) -> Result<(SpaceId, SpaceKind)> {
        let kind = SpaceKind::from_byte(resp.kind).map_err(|_| Error::BadLinkCode)?;
        if kind == SpaceKind::Journal {
            return Err(Error::BadLinkCode);
        }
        if self.is_tombstoned(&resp.space) {
            return Err(Error::NotAllowed("this space was erased"));
        }
        if self.shared.contains_key(&resp.space) {
            return Err(Error::InvalidInput(
                "this device already belongs to that space".into(),
            ));
        }
        // A safeguarding space never goes onto the phone of someone a care record here is about
        // (issue 14, item 14): whoever made the response, the child's own device says no. The
        // response does not carry the space's programme, so any care record counts.
        if kind == SpaceKind::Safeguarding && self.is_care_subject_here() {
            return Err(Error::NotAllowed(
                "a participant's device does not join a safeguarding space",
            ));
        }
        let space =
            crate::space::devices::adopt_from_response(&self.store, &self.identity, resp, kind)?;
        self.note_participant_join(&space)?;
        let id = self.keep_shared(space)?;
        if kind == SpaceKind::Safeguarding {
            // Whose device this is, proven by its own certificate: a concern is written only by a
            // member whose person holds a supporter role there (`rules.rs`), and a join made in
            // person has no relay sync to claim it at.
            if let Some(me) = self.person_id() {
                self.claim_spaces(me.0)?;
            }
            // A concern raised before there was a space to send it to goes as soon as it can (the
            // space's document comes with the coordinator's next bundle, session or sync).
            self.before_sending();
        }
        Ok((id, kind))
    }

    /// Whether this device's person (or this device, by a care record's log) is the subject of a
    /// care record this device holds.
    fn is_care_subject_here(&self) -> bool {
        let me = self.identity.device;
        let person = self.person_id().map(|p| p.0);
        self.shared.values().any(|s| {
            if s.kind != SpaceKind::Care {
                return false;
            }
            let m = s.membership();
            let subjects = [
                crate::space::rules::subject_of(&s.doc),
                crate::space::rules::current_subject(&s.doc, m),
            ];
            subjects
                .into_iter()
                .flatten()
                .any(|subject| person == Some(subject) || m.persons.get(&me) == Some(&subject))
        })
    }

    /// A device joining a pairing as a plain member (the participant; a successor joins as an
    /// admin) refuses from then on a set-up that binds no programme (`Space::require_binding`).
    pub(crate) fn note_participant_join(&self, space: &Space) -> Result<()> {
        if space.kind == SpaceKind::Pairing
            && space.membership().role(&self.identity.device) == Some(Role::Member)
        {
            Space::require_binding(&self.store, &space.id)?;
        }
        Ok(())
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
        let response = crate::space::devices::approve_into(
            &self.store,
            &self.identity,
            &mut space,
            request,
            role,
            None,
        )?
        .to_code()?;
        Ok((self.keep_shared(space)?, response))
    }

    /// Runs a typed-view edit on a shared space's document and makes it durable (one commit); a
    /// member's edit is judged by the same rules every other device applies, before anything is
    /// written, so a refused edit never leaves this device.
    pub fn with_space<T>(
        &mut self,
        group: &SpaceId,
        edit: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<T>,
    ) -> Result<T> {
        // A thin shim over the one non-generic body below: with the body generic, every call site
        // (several dozen) carried its own copy, about 2 KB each in the mobile library.
        let mut edit = Some(edit);
        let mut out = None;
        self.edit_space(group, &mut |doc, now| {
            let f = edit.take().ok_or(Error::Internal("an edit ran twice"))?;
            out = Some(f(doc, now)?);
            Ok(())
        })?;
        out.ok_or(Error::Internal("an edit did not run"))
    }

    /// Edits a shared space's document without the role check [`Vault::with_space`] makes: **for
    /// tests only** (compiled in only with the `test-escapes` feature or under `cfg(test)`; the
    /// bindings never reach it). It stands in for a modified client, so tests can show that every
    /// other device refuses what it writes on receipt.
    #[cfg(any(test, feature = "test-escapes"))]
    pub fn with_space_unchecked_for_tests(
        &mut self,
        space: &SpaceId,
        edit: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<()>,
    ) -> Result<()> {
        let (store, _, g) = self.held_mut(space)?;
        edit(&mut g.doc, now_ms())?;
        g.persist(store)
    }

    /// The body of [`Vault::with_space`], once.
    fn edit_space(
        &mut self,
        group: &SpaceId,
        edit: &mut dyn FnMut(&mut automerge::AutoCommit, i64) -> Result<()>,
    ) -> Result<()> {
        let (store, identity, g) = self.held_mut(group)?;
        if !g.membership().is_member(&identity.device) {
            return Err(Error::NotAllowed(
                "this device is not a member of the group",
            ));
        }
        // This device ended its writing here, or (in a pairing) the other party ended it: this
        // device's own end goes out at its next sync (`Space::needs_end`).
        if g.ended_here() {
            return Err(Error::NotAllowed("this space has ended"));
        }
        // This device's own credentials go in first, so the check (here and everywhere) sees them.
        super::credentials::publish_credentials(store, g)?;
        let registry = crate::space::rules::programme_of(&g.doc)
            .map(|p| crate::space::rules::registry_of(&g.doc, p));
        let author = crate::space::rules::author(
            g.membership(),
            g.creator(),
            (identity.device, g.next_seq()),
            registry.as_ref(),
        );
        // Case notes: nothing new while a member is beyond the cap, so nothing this device writes
        // reaches them (issue 14, item 12).
        if g.kind == SpaceKind::CaseNotes {
            let now = u64::try_from(now_ms() / 1_000).unwrap_or(0);
            if crate::space::rules::casenotes::any_refused(
                g.membership(),
                g.creator(),
                registry.as_ref(),
                now,
            ) {
                return Err(Error::CaseNotesFull);
            }
        }
        match author.unlimited(g.kind) {
            true => edit(&mut g.doc, now_ms())?,
            false => {
                // A member's edit is tried on a copy first: what every other device would refuse
                // (`rules.rs`) is refused here, before anything is written.
                let before = g.doc.get_heads();
                let mut trial = g.doc.fork().with_actor(g.actor());
                edit(&mut trial, now_ms())?;
                let changes: Vec<automerge::Change> = trial.get_changes(&before);
                if !crate::space::rules::allowed(&g.doc, g.kind, &author, &changes) {
                    return Err(Error::NotAllowed(
                        "this device's role does not allow changing that part of the space",
                    ));
                }
                g.doc.apply_changes(changes)?;
            }
        }
        g.persist(store)?;
        Ok(())
    }

    /// This device leaves a shared space on its own word (protocol 15.11; see [`Space::leave`]):
    /// what it wrote and has not sealed yet is sealed first, so it goes out before the leave.
    pub fn leave_space(&mut self, space: &SpaceId) -> Result<()> {
        let codec = self.codec;
        let (store, identity, s) = self.held_mut(space)?;
        if !s.membership().is_member(&identity.device) {
            return Err(Error::NotFound("membership"));
        }
        s.seal_outgoing(store, identity, codec)?;
        s.leave(store, identity)
    }

    /// Ends a pairing on this device's side (protocol 15.11; see [`Space::end`]), after sealing what
    /// this device wrote: the other party's device ends its side when it learns of it. Only a
    /// pairing ends (`NotAllowed` for any other space: a group member leaves instead; a care
    /// record, safeguarding space, journal or index never ends), and only once per device.
    pub fn end_space(&mut self, space: &SpaceId) -> Result<()> {
        let codec = self.codec;
        let (store, identity, s) = self.held_mut(space)?;
        if s.kind != SpaceKind::Pairing {
            return Err(Error::NotAllowed("only a pairing ends"));
        }
        if !s.membership().is_member(&identity.device) {
            return Err(Error::NotFound("membership"));
        }
        if s.membership().ended.contains_key(&identity.device) {
            return Err(Error::NotAllowed("this space has ended already"));
        }
        s.seal_outgoing(store, identity, codec)?;
        s.end(store, identity)
    }

    /// Signs an end in any shared space this device is a member of, skipping the kind and state
    /// checks of [`Vault::end_space`]: **for tests only** (compiled in only with the `test-escapes`
    /// feature or under `cfg(test)`; the bindings never reach it). It stands in for a modified
    /// client, so tests can show what every other device makes of such an end.
    #[cfg(any(test, feature = "test-escapes"))]
    pub fn end_space_unchecked_for_tests(&mut self, space: &SpaceId) -> Result<()> {
        let codec = self.codec;
        let (store, identity, s) = self.held_mut(space)?;
        s.seal_outgoing(store, identity, codec)?;
        s.end(store, identity)
    }

    /// Whether `device` wrote here as a member and is one no longer (it left or was removed): what
    /// it wrote stays, shown as from a former member.
    pub fn is_former_member(&self, space: &SpaceId, device: &DeviceId) -> Result<bool> {
        let m = self.held_ref(space)?.membership();
        Ok(!m.is_member(device) && m.removed.contains_key(device))
    }

    /// The epoch a shared space's writes are sealed under on this device.
    pub fn space_epoch(&self, space: &SpaceId) -> Result<sebaya_proto::EpochId> {
        Ok(self.held_ref(space)?.epoch)
    }

    /// A shared space's membership as this device knows it.
    pub fn space_membership(
        &self,
        group: &SpaceId,
    ) -> Result<&sebaya_proto::membership::MembershipState> {
        Ok(self.held_ref(group)?.membership())
    }

    /// Reads a shared space's document without changing it.
    pub fn read_space<T>(
        &self,
        group: &SpaceId,
        read: impl FnOnce(&automerge::AutoCommit) -> T,
    ) -> Result<T> {
        Ok(read(&self.held_ref(group)?.doc))
    }
}
