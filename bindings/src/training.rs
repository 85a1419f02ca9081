//! The training register through the bindings (`Vault.programmes()`; `docs/protocol.md`, section 21): a coordinator
//! certifies modules; a supporter keeps and lists their records; a programme pairing opens only for a
//! supporter whose required training is current (`NotCertified` otherwise); a leaving supporter hands
//! a pairing or case notes over to a certified successor. Ids are hex, times Unix seconds.

use super::programmes::Programmes;
use super::programmes::parse_programme;
use super::{Result, SebayaError, ShortfallReason, TrainingModule, TrainingStatus, with};

/// One training record of this person, as a list screen shows it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct TrainingRecord {
    /// The record's id (hex).
    pub id: String,
    /// The programme id (hex).
    pub programme_id: String,
    /// The module.
    pub module: TrainingModule,
    /// When the training was completed, Unix seconds.
    pub completed: u64,
    /// Until when the certification holds (inclusive), Unix seconds.
    pub expires: u64,
    /// Who verified it (hex): the programme id, or the coordinator's person id.
    pub issuer: String,
    /// Whether the programme key itself signed it (else a coordinator did).
    pub by_programme_key: bool,
    /// Where it stands now (`Withdrawn`: the issuing coordinator's grant was revoked).
    pub status: TrainingStatus,
}

/// A required module this person does not hold, current.
#[derive(Clone, Debug, uniffi::Record)]
pub struct TrainingShortfall {
    /// The module.
    pub module: TrainingModule,
    /// Why it does not count.
    pub reason: ShortfallReason,
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
        module: TrainingModule::from_id(&e.module),
        completed: e.completed,
        expires: e.expires,
        issuer: hex::encode(e.issuer),
        by_programme_key: e.by_programme_key,
        status: e.status.into(),
    }
}

/// The modules a peer supporter must hold, current, to open a one-to-one pairing in a programme
/// (all five core modules), in the order `NotCertified` lists them.
#[uniffi::export]
pub fn required_training_modules() -> Vec<TrainingModule> {
    sebaya_core::care::training::required_training()
        .iter()
        .map(|m| TrainingModule::from_id(m))
        .collect()
}

#[uniffi::export]
impl Programmes {
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
        module: TrainingModule,
        completed: u64,
        valid_days: u32,
    ) -> Result<Vec<u8>> {
        let programme = parse_programme(&programme_id)?;
        let person = parse_person(&person_id)?;
        with(&self.inner, |v| {
            v.certify_training(&programme, &person, module.id(), completed, valid_days)
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
                module: TrainingModule::from_id(&module),
                reason: s.into(),
            })
            .collect())
    }

    /// On a would-be successor's device: what to show a leaving supporter so they can hand over a
    /// pairing or case notes of a programme (this person's role chain and training credentials).
    /// Throws `NotAllowed` when this person holds no role there.
    pub fn certification_presentation(&self, programme_id: String) -> Result<Vec<u8>> {
        let programme = parse_programme(&programme_id)?;
        with(&self.inner, |v| v.certification_presentation(&programme))
    }
}
