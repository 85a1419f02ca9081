//! The training register through the bindings (`docs/protocol.md`, section 21): a coordinator
//! certifies modules; a supporter keeps and lists their records; a programme pairing opens only for a
//! supporter whose required training is current (`NotCertified` otherwise); a leaving supporter hands
//! a pairing or case notes over to a certified successor. Ids are hex, times Unix seconds.

use super::programmes::parse_programme;
use super::{CreatedSpace, Result, SebayaError, Vault, parse_space, with};

/// One training record of this person, as a list screen shows it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct TrainingRecord {
    /// The record's id (hex).
    pub id: String,
    /// The programme id (hex).
    pub programme_id: String,
    /// The module id (`pfa`, `active-listening`, `boundaries`, `risk-referral`, `self-care`);
    /// `localized_message("training-module-" + module, locale)` names it.
    pub module: String,
    /// When the training was completed, Unix seconds.
    pub completed: u64,
    /// Until when the certification holds (inclusive), Unix seconds.
    pub expires: u64,
    /// Who verified it (hex): the programme id, or the coordinator's person id.
    pub issuer: String,
    /// Whether the programme key itself signed it (else a coordinator did).
    pub by_programme_key: bool,
    /// "current", "expired" or "withdrawn" (the issuing coordinator's grant was revoked);
    /// `localized_message("training-status-" + status, locale)` says it.
    pub status: String,
}

/// A required module this person does not hold, current.
#[derive(Clone, Debug, uniffi::Record)]
pub struct TrainingShortfall {
    /// The module id.
    pub module: String,
    /// "missing" or "expired"; `localized_message("training-status-" + reason, locale)` says it.
    pub reason: String,
}

fn parse_person(id: &str) -> Result<sebaya_core::PersonId> {
    sebaya_core::PersonId::from_hex(id).map_err(|_| {
        SebayaError::from(sebaya_core::Error::InvalidInput(
            "person id must be 64 hex characters".into(),
        ))
    })
}

fn record(e: sebaya_core::care::training::TrainingEntry) -> TrainingRecord {
    TrainingRecord {
        id: hex::encode(e.id),
        programme_id: hex::encode(e.programme),
        module: e.module,
        completed: e.completed,
        expires: e.expires,
        issuer: hex::encode(e.issuer),
        by_programme_key: e.by_programme_key,
        status: e.status.as_str().to_string(),
    }
}

/// The modules a peer supporter must hold, current, to open a one-to-one pairing in a programme
/// (all five core modules), in the order `NotCertified` lists them.
#[uniffi::export]
pub fn required_training_modules() -> Vec<String> {
    sebaya_core::care::training::required_training()
        .iter()
        .map(|m| m.to_string())
        .collect()
}

#[uniffi::export]
impl Vault {
    /// A coordinator certifies that a person (person id, hex) completed `module` of a programme at
    /// `completed` (Unix seconds, not in the future), valid for `valid_days` (1 to 730; a year by
    /// default) from then. Returns the training credential to hand to the person. Throws
    /// `NotAllowed` unless this device holds the programme key or this person is a coordinator
    /// there (now and at `completed`); `InvalidInput` for an unknown module or a certification that
    /// would already be over.
    #[uniffi::method(default(valid_days = 365))]
    pub fn certify_training(
        &self,
        programme_id: String,
        person_id: String,
        module: String,
        completed: u64,
        valid_days: u32,
    ) -> Result<Vec<u8>> {
        let programme = parse_programme(&programme_id)?;
        let person = parse_person(&person_id)?;
        with(&self.inner, |v| {
            v.certify_training(&programme, &person, &module, completed, valid_days)
        })
    }

    /// Keeps a training credential made for this person and returns the record. Throws
    /// `BadCredential` (nothing kept) for anything damaged, forged, made for someone else, signed by
    /// someone who was not a coordinator, or already expired.
    pub fn add_training_record(&self, credential: Vec<u8>) -> Result<TrainingRecord> {
        Ok(record(with(&self.inner, |v| {
            v.add_training_record(&credential)
        })?))
    }

    /// This person's training records in a programme, by module, each with where it stands now.
    pub fn training(&self, programme_id: String) -> Result<Vec<TrainingRecord>> {
        let programme = parse_programme(&programme_id)?;
        Ok(with(&self.inner, |v| v.training(&programme))?
            .into_iter()
            .map(record)
            .collect())
    }

    /// The required modules (see `required_training_modules`) this person does not hold, current, in
    /// a programme now; empty when their training allows one-to-one pairings there.
    pub fn training_shortfalls(&self, programme_id: String) -> Result<Vec<TrainingShortfall>> {
        let programme = parse_programme(&programme_id)?;
        Ok(with(&self.inner, |v| v.training_shortfalls(&programme))?
            .into_iter()
            .map(|(module, s)| TrainingShortfall {
                module,
                reason: match s {
                    sebaya_core::care::training::Shortfall::Missing => "missing",
                    sebaya_core::care::training::Shortfall::Expired => "expired",
                }
                .to_string(),
            })
            .collect())
    }

    /// A peer supporter opens a one-to-one pairing with the participant whose request code it
    /// scanned, bound to a programme when `programme_id` names one (else as `create_pairing`).
    /// Bound, it throws `NotAllowed` without a peer supporter or coordinator role there, and
    /// `NotCertified` (its detail lists the missing or expired module ids) without current training
    /// in every required module; nothing is created then. Every member's device checks the same
    /// on receipt. Show the participant the response.
    #[uniffi::method(default(programme_id = None))]
    pub fn create_pairing_in(
        &self,
        participant_request: String,
        programme_id: Option<String>,
    ) -> Result<CreatedSpace> {
        let programme = programme_id.as_deref().map(parse_programme).transpose()?;
        let (id, response) = with(&self.inner, |v| {
            v.create_pairing_in(&participant_request, programme)
        })?;
        Ok(CreatedSpace {
            space_id: id.to_hex(),
            response,
        })
    }

    /// On a would-be successor's device: what to show a leaving supporter so they can hand over a
    /// pairing or case notes of a programme (this person's role chain and training credentials).
    /// Throws `NotAllowed` when this person holds no role there.
    pub fn certification_presentation(&self, programme_id: String) -> Result<Vec<u8>> {
        let programme = parse_programme(&programme_id)?;
        with(&self.inner, |v| v.certification_presentation(&programme))
    }

    /// Offboarding, on the leaving supporter's device (an admin of the space): hands a pairing or
    /// case notes over to the person whose device showed `successor_request` (its `link_request`
    /// code), who shows `presentation` (their `certification_presentation`). In a programme's space
    /// the successor must be a coordinator, or a peer supporter with current required training
    /// (`NotAllowed`, `NotCertified`, `BadCredential` otherwise; nothing changes). The successor
    /// becomes an admin and every device of this person leaves the space; the successor's device
    /// changes the key at its first sync. Returns the response code for the successor's
    /// `join_space`; sync this device right after.
    pub fn hand_over_space(
        &self,
        space_id: String,
        successor_request: String,
        presentation: Vec<u8>,
    ) -> Result<String> {
        let space = parse_space(&space_id)?;
        with(&self.inner, |v| {
            v.hand_over_space(&space, &successor_request, &presentation)
        })
    }
}
