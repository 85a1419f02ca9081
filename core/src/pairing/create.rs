//! Opening a one-to-one space: a pairing between a peer supporter and a participant, case notes
//! between a supporter and their supervisor, and handing such a space (or a care record) over to a
//! successor when a supporter leaves.
//!
//! A pairing bound to a programme is opened only by a supporter with current training
//! ([`crate::care::training`]); the supporter's records and grants go into it, so every member's device
//! checks the certification on receipt (`space/rules/credentials.rs`).

use sebaya_proto::PersonId;
use sebaya_proto::membership::{Op, Role};
use sebaya_proto::programme::ProgrammeRole;

use crate::care::programmes::now_secs;
use crate::care::training::{publish_grants, publish_records};
use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::space::rules::credentials::certified;
use crate::{SpaceId, Vault, identity::link};

impl Vault {
    /// Ends a pairing: either party may (protocol 15.11). This device writes nothing in it
    /// afterwards; the other party's device ends its own side when it learns of it, at its next
    /// sync, and what it wrote until then stands (a check-in sent a moment before stays). Its
    /// history stays readable to both, and it is no longer among the supporter's active pairings.
    /// Refused for a space that is not a pairing this device belongs to (`NotFound`) and for a
    /// pairing this device ended already (`NotAllowed`).
    pub fn end_pairing(&mut self, pairing: &SpaceId) -> Result<()> {
        if self.held_ref(pairing)?.kind != SpaceKind::Pairing {
            return Err(Error::NotFound("pairing"));
        }
        self.end_space(pairing)
    }

    /// The pairings this device belongs to that have not ended: a supporter's active caseload of
    /// pairings, sorted by id.
    pub fn active_pairings(&self) -> Vec<SpaceId> {
        let me = self.device_id();
        let mut out: Vec<SpaceId> = self
            .shared
            .values()
            .filter(|s| {
                s.kind == SpaceKind::Pairing
                    && s.membership().is_member(&me)
                    && !s.membership().is_ended()
            })
            .map(|s| s.id)
            .collect();
        out.sort();
        out
    }

    /// Opens a pairing bound to no programme, skipping every role and training check: **for tests
    /// only** (compiled in only with the `test-escapes` feature or under `cfg(test)`; the bindings
    /// never reach it). It stands in for the pairings made before issue 14 (the v1 fixtures) and for
    /// a modified client, so tests can show how every device treats such a pairing. A participant's
    /// device that joins it refuses its set-up (`space/rules.rs`, `Author::needs_binding`).
    #[cfg(any(test, feature = "test-escapes"))]
    pub fn create_pairing_outside_programme_for_tests(
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
    /// name) under `programme`, shared only with the supervisor whose request code it scanned.
    /// Returns the id and the response code for the supervisor. The participant is never a member:
    /// no device of theirs holds a key that opens these notes.
    ///
    /// The supervisor must be a coordinator of the programme (issue 14, item 12): they show
    /// `supervisor_presentation` ([`Vault::certification_presentation`] on their device), checked
    /// here against this device's grants and revocations; its grants go into the notes, so every
    /// member's device checks the same (`space/rules/casenotes.rs`). `NotSupervisor` when the
    /// presentation is empty or proves no coordinator role, `BadCredential` when it is damaged or
    /// another person's, `NotAllowed` when this person is no peer supporter or coordinator there;
    /// nothing is created then. Writing notes takes a peer supporter of the programme and reviewing
    /// them a coordinator, checked by every device.
    pub fn create_case_notes(
        &mut self,
        about: &str,
        supervisor_request: &str,
        supervisor_presentation: &[u8],
        programme: &[u8; 32],
    ) -> Result<(SpaceId, String)> {
        let p = *programme;
        let request = link::LinkRequest::from_code(supervisor_request)?;
        if request.device == self.identity.device {
            return Err(Error::InvalidInput("a device cannot add itself".into()));
        }
        self.check_can_bind(Some(p), ProgrammeRole::PeerSupporter)?;
        let me = self.person_id().ok_or(Error::NoPerson)?;
        // A device with no person cannot be proven anyone's, so it cannot be a supervisor.
        let supervisor = PersonId(request.person().ok_or(Error::NotSupervisor)?);
        if supervisor == me {
            return Err(Error::InvalidInput(
                "the supervisor must be another person".into(),
            ));
        }
        let grants = self.supervisor_credentials(p, supervisor, supervisor_presentation)?;
        let space = self.new_space(SpaceKind::CaseNotes, |doc, now| {
            crate::pairing::casenotes::init(doc, about, now)
        })?;
        let id = self.keep_shared(space)?;
        // The log names this device's person before anyone judges the cap.
        self.claim_spaces(me.0)?;
        let (store, identity) = (&self.store, &self.identity);
        let s = self
            .shared
            .get_mut(&id)
            .ok_or(Error::Internal("space missing"))?;
        Vault::bind_programme(store, s, &p)?;
        publish_grants(store, s, &grants)?;
        let response = crate::space::devices::approve_into(
            store,
            identity,
            s,
            supervisor_request,
            Role::Admin,
            Some(supervisor.0),
        )?
        .to_code()?;
        Ok((id, response))
    }

    /// A peer supporter opens a one-to-one pairing with the participant whose request code it
    /// scanned (in person), under `programme`: one-to-one work happens only under a programme's rules
    /// (issue 14, item 11), so there is no pairing without one. It takes a person here who is a
    /// `peer_supporter` or `coordinator` of the programme (`NotAllowed` otherwise) with current
    /// training in every module of [`REQUIRED_FOR_PAIRING`](crate::care::training::REQUIRED_FOR_PAIRING)
    /// (`NotCertified` with the missing or expired module ids otherwise); in both cases nothing is
    /// created. The pairing then holds the supporter's grants and training records, so every
    /// member's device checks the certification (`rules.rs`), and the participant's device refuses
    /// a set-up that binds no programme. Returns the pairing's id and the response code for the
    /// participant.
    pub fn create_pairing(
        &mut self,
        participant_request: &str,
        programme: &[u8; 32],
    ) -> Result<(SpaceId, String)> {
        let p = *programme;
        let request = link::LinkRequest::from_code(participant_request)?;
        if request.device == self.identity.device {
            return Err(Error::InvalidInput("a device cannot add itself".into()));
        }
        self.check_can_bind(Some(p), ProgrammeRole::PeerSupporter)?;
        let me = self.person_id().ok_or(Error::NoPerson)?;
        let (reg, kept) = self.kept_training(&p)?;
        let records: Vec<&[u8]> = kept.iter().map(|(b, _)| b.as_slice()).collect();
        certified(&reg, &records, &me, now_secs())?;

        let participant = request.device.to_hex();
        let mine = self.identity.device.to_hex();
        let space = self.new_space(SpaceKind::Pairing, |doc, now| {
            crate::pairing::init(doc, &participant, &mine, now)
        })?;
        let id = self.keep_shared(space)?;
        // The log names this device's person before the participant's device judges anything.
        self.claim_spaces(me.0)?;
        let (store, identity) = (&self.store, &self.identity);
        let s = self
            .shared
            .get_mut(&id)
            .ok_or(Error::Internal("space missing"))?;
        publish_records(store, s, &records)?;
        Vault::bind_programme(store, s, &p)?;
        let response = crate::space::devices::approve_into(
            store,
            identity,
            s,
            participant_request,
            Role::Member,
            None,
        )?
        .to_code()?;
        Ok((id, response))
    }

    /// The participant erases their pairing for good, by destroying its keys (issue 14, item 17):
    /// check-ins and whatever they shared there go, here at once, on the supporter's devices at
    /// their next sync, and at the relay once the supporter's device (the admin) has synced
    /// (`space/erasure.rs`). Only the participant may: the pairing holds what they wrote and
    /// chose to share. The supporter may not (`NotAllowed`): they end their part by handing the
    /// pairing over ([`Vault::hand_over_space`]). Case notes are a separate space that the
    /// participant never holds a key to, the supporter's supervised record; erasing the pairing
    /// does not erase them (docs/care.md says why).
    pub fn erase_pairing(&mut self, pairing: &SpaceId) -> Result<()> {
        self.erase_shared(pairing, SpaceKind::Pairing)
    }

    /// Offboarding: hands a pairing, case notes or a care record this device administers over to the person whose
    /// device showed `successor_request` (its [`Vault::link_request`] code, which carries its device
    /// certificate), and takes this person out of it.
    ///
    /// In a space bound to a programme the successor shows `presentation`
    /// ([`Vault::certification_presentation`] on their device), checked here against this device's
    /// grants and revocations and those the space holds: they must be a `coordinator` of the
    /// programme, or a `peer_supporter` with current training in every module of
    /// [`REQUIRED_FOR_PAIRING`](crate::care::training::REQUIRED_FOR_PAIRING) (`NotAllowed`, `NotCertified`, or `BadCredential` for a presentation
    /// that is damaged or not the request's person's; nothing changes). In a space bound to no
    /// programme there is nothing to check against and `presentation` is ignored.
    ///
    /// Then the successor is added as an admin, their grants and records are published into the
    /// space (so every member's device can check them), and every device of this person, this one
    /// last, is removed. The successor's device rotates the key at its first sync (a removal the
    /// key in use does not follow), after which none of this person's devices reads anything new.
    /// Returns the response code for the successor's device ([`Vault::join_space`]); sync this device
    /// right after, so the space learns of the change. A pairing's `supporter` field keeps naming the
    /// device that opened it (only its creator writes it, and the creator is the one leaving): who
    /// accompanies the participant now is the space's admin. This device keeps the history it already
    /// held; it receives nothing new.
    pub fn hand_over_space(
        &mut self,
        space: &SpaceId,
        successor_request: &str,
        presentation: &[u8],
    ) -> Result<String> {
        let me = self.identity.device;
        let my_person = self.person_id().ok_or(Error::NoPerson)?;
        let request = link::LinkRequest::from_code(successor_request)?;
        let s = self.shared.get(space).ok_or(Error::NotFound("space"))?;
        if !matches!(
            s.kind,
            SpaceKind::Pairing | SpaceKind::CaseNotes | SpaceKind::Care
        ) {
            return Err(Error::InvalidInput(
                "only a pairing, case notes or a care record are handed over".into(),
            ));
        }
        if !s.membership().is_admin(&me) {
            return Err(Error::NotAllowed(
                "only an admin of the space hands it over",
            ));
        }
        let successor = PersonId(request.person().ok_or(Error::BadCredential)?);
        if successor == my_person || request.device == me {
            return Err(Error::InvalidInput(
                "the successor must be another person".into(),
            ));
        }
        let programme = crate::space::rules::programme_of(&s.doc);
        let (grants, records) = match programme {
            Some(p) => self.successor_credentials(&s.doc, p, successor, presentation)?,
            None => (Vec::new(), Vec::new()),
        };

        let codec = self.codec;
        let (store, identity) = (&self.store, &self.identity);
        let s = self.shared.get_mut(space).ok_or(Error::NotFound("space"))?;
        let mut response = crate::space::devices::approve_into(
            store,
            identity,
            s,
            successor_request,
            Role::Admin,
            Some(successor.0),
        )?;
        // A successor already in the space (a supervisor of case notes, say) becomes an admin.
        if s.membership().role(&request.device) == Some(Role::Member) {
            s.write_statement(
                store,
                identity,
                Op::SetRole {
                    device: request.device,
                    role: Role::Admin,
                    last_seq: None,
                },
            )?;
        }
        if programme.is_some() {
            publish_grants(store, s, &grants)?;
            publish_records(store, s, &records)?;
        }
        // Everything this device wrote goes out before its removal, under sequence numbers the
        // removal keeps acceptable.
        s.seal_outgoing(store, identity, codec)?;
        let state = s.membership();
        let others: Vec<_> = state
            .members
            .keys()
            .filter(|d| **d != me && state.persons.get(*d) == Some(&my_person.0))
            .copied()
            .collect();
        for device in others {
            let last_seq = s.vector.get(&device);
            s.write_statement(store, identity, Op::Remove { device, last_seq })?;
        }
        let last_seq = s.vector.get(&me);
        s.write_statement(
            store,
            identity,
            Op::Remove {
                device: me,
                last_seq,
            },
        )?;
        response.envelopes = s.membership_envelopes(store)?;
        response.to_code()
    }
}
