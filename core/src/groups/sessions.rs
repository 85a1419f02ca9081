//! Running a group's sessions (adding one, taking attendance, writing its notes): in a group bound
//! to a programme this takes the `group-facilitation` module, current (issue 14, item 11). Every
//! device checks it on receipt (`space/rules/credentials.rs`, `facilitator_trained`); here the
//! honest writer checks first, to say what is missing, and publishes its records into the group so
//! the others can check them.

use sebaya_proto::PersonId;
use sebaya_proto::programme::ProgrammeRole;
use sebaya_proto::training::shortfalls;

use crate::care::programmes::now_secs;
use crate::care::training::publish_records;
use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::space::rules::credentials::REQUIRED_FOR_SESSIONS;
use crate::{SpaceId, Vault};

impl Vault {
    /// Runs `edit` (a session, attendance or session notes written through [`crate::groups`]) on the
    /// group `group`, as [`Vault::with_space`] does, once this person may run its sessions. In a group
    /// bound to a programme that takes `peer_supporter` or `coordinator` there (`NotAllowed`) and a
    /// current certification in every module of [`REQUIRED_FOR_SESSIONS`] (`NotCertified` with the
    /// missing or expired module ids); this person's records of those modules go into the group
    /// first, so every member's device can check them. A group bound to no programme asks only
    /// that this device be its admin, as before.
    pub fn with_group_sessions<T>(
        &mut self,
        group: &SpaceId,
        edit: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<T>,
    ) -> Result<T> {
        self.ready_to_run_sessions(group)?;
        self.with_space(group, edit)
    }

    /// The check and the publishing of [`Vault::with_group_sessions`].
    fn ready_to_run_sessions(&mut self, group: &SpaceId) -> Result<()> {
        let s = self.shared.get(group).ok_or(Error::NotFound("space"))?;
        if s.kind != SpaceKind::Group {
            return Err(Error::InvalidInput("that space is not a group".into()));
        }
        let Some(programme) = crate::space::rules::programme_of(&s.doc) else {
            return Ok(());
        };
        let me: PersonId = self.person_id().ok_or(Error::NoPerson)?;
        let (reg, kept) = self.kept_training(&programme)?;
        let now = now_secs();
        if reg
            .role_of(&me, now)
            .is_none_or(|r| r < ProgrammeRole::PeerSupporter)
        {
            return Err(Error::NotAllowed(
                "only a peer supporter or coordinator of the programme runs its group sessions",
            ));
        }
        let records: Vec<Vec<u8>> = kept
            .into_iter()
            .filter(|(_, r)| REQUIRED_FOR_SESSIONS.contains(&r.module.as_str()))
            .map(|(b, _)| b)
            .collect();
        let gaps = shortfalls(&reg, &records, &me, &REQUIRED_FOR_SESSIONS, now);
        if !gaps.is_empty() {
            return Err(Error::NotCertified(
                gaps.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(","),
            ));
        }
        let store = &self.store;
        let s = self.shared.get_mut(group).ok_or(Error::NotFound("space"))?;
        publish_records(store, s, &records)
    }
}
