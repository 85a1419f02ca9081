//! Pairings for scenarios: since issue 14 (item 11) a pairing opens only under a programme, by a
//! supporter certified there; scenarios about something else (sync paths, carrying, bundles) open
//! theirs through [`certified_pairing`].

use sebaya_core::care::training::required_training;
use sebaya_core::{Result, SpaceId, Vault};

/// Opens a pairing from `supporter` with the device that showed `request`, under a programme in
/// which the supporter's person may accompany one-to-one: the first programme this vault holds
/// the key of and is trained in, or else a new one it makes (its person as coordinator), with every
/// required module certified by the programme key. Makes the person first if the vault has none.
pub fn certified_pairing(supporter: &mut Vault, request: &str) -> Result<(SpaceId, String)> {
    let programme = trained_programme(supporter)?;
    supporter.create_pairing(request, &programme)
}

/// The programme [`certified_pairing`] opens pairings under (made on first use).
pub fn trained_programme(v: &mut Vault) -> Result<[u8; 32]> {
    if v.person_id().is_none() {
        v.create_person()?;
    }
    for p in v.programmes()? {
        if p.holds_key && v.training_shortfalls(&p.id)?.is_empty() {
            return Ok(p.id);
        }
    }
    let programme = v.create_programme("Program uji")?;
    let me = v.person_id().ok_or(sebaya_core::Error::NoPerson)?;
    let completed = now_secs().saturating_sub(86_400);
    for m in required_training() {
        let credential = v.certify_training(&programme, &me, m, completed, 365)?;
        v.add_training_record(&credential)?;
    }
    Ok(programme)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Opens case notes from `supporter` about `about`, with `supervisor` as its supervisor: since
/// issue 14 (item 12) a supervisor must be a coordinator of the notes' programme, so the
/// supervisor makes a programme (its person coordinates it) and grants the supporter the peer
/// supporter role there. Makes either person first if its vault has none. Returns the notes' id and
/// the response code for the supervisor.
pub fn supervised_case_notes(
    supporter: &mut Vault,
    supervisor: &mut Vault,
    about: &str,
) -> Result<(SpaceId, String)> {
    for v in [&mut *supporter, &mut *supervisor] {
        if v.person_id().is_none() {
            v.create_person()?;
        }
    }
    let programme = supervisor.create_programme("Supervisi")?;
    let person = supporter.person_id().ok_or(sebaya_core::Error::NoPerson)?;
    let grant = supervisor.grant_programme_role(
        &programme,
        &person,
        sebaya_core::ProgrammeRole::PeerSupporter,
        180,
    )?;
    supporter.add_programme_credential(&grant.credential)?;
    let shown = supervisor.certification_presentation(&programme)?;
    supporter.create_case_notes(about, &supervisor.link_request()?, &shown, &programme)
}
