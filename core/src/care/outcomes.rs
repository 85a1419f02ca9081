//! Outcome totals a participant publishes into their care record (issue 4): while their
//! `report-outcomes` consent stands, the first and latest PHQ-9, GAD-7 and WHO-5 totals kept in
//! their journal (`screening.rs`), each sealed under a fresh key wrapped for every device of the
//! record whose person is a proven coordinator of its programme (the supporter, a member of the
//! record too, cannot open them). Withdrawing the consent deletes them; `give_consent` publishes at
//! once.
//!
//! What is written into the care record is the care domain's, so it is here; the coordinator's
//! device reads it back into a programme report (`reports/inputs.rs`, with [`OutcomeTotals`] and
//! [`outcome_aad`] from here).

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc};
use sebaya_proto::programme::ProgrammeRole;

use crate::crypto::tag;
use crate::error::{Error, Result};
use crate::space::doc::{container_in, write};
use crate::{SpaceId, Vault};

/// Instruments whose totals are reported as outcome change.
pub const OUTCOME_INSTRUMENTS: [&str; 3] = ["phq9", "gad7", "who5"];

/// AAD of a sealed outcome record: the care record and the record id.
pub(crate) fn outcome_aad(care: &SpaceId, id: &str) -> Vec<u8> {
    let mut aad = b"sebaya/v1/outcome".to_vec();
    aad.extend_from_slice(&care.0);
    aad.extend_from_slice(id.as_bytes());
    aad
}

/// The first and latest totals of one instrument, as sealed in a care record.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct OutcomeTotals {
    pub(crate) instrument: String,
    pub(crate) first: u32,
    pub(crate) first_at: i64,
    pub(crate) latest: u32,
    pub(crate) latest_at: i64,
}

/// The devices of a care record whose person is a coordinator of its programme (by the credentials
/// the record holds), with the X25519 key the log names for each: who outcome totals are sealed
/// for.
fn coordinator_devices(space: &crate::space::Space) -> Vec<(crate::DeviceId, [u8; 32])> {
    let Some(programme) = crate::space::rules::programme_of(&space.doc) else {
        return Vec::new();
    };
    let registry = crate::space::rules::registry_of(&space.doc, programme);
    let now = u64::try_from(crate::store::clock::now_ms() / 1000).unwrap_or(0);
    let m = space.membership();
    m.members
        .keys()
        .filter_map(|d| {
            let person = m.proven_person(d)?;
            let role = registry.role_of(&crate::PersonId(person), now)?;
            (role >= ProgrammeRole::Coordinator).then_some(())?;
            Some((*d, *m.x25519.get(d)?))
        })
        .collect()
}

impl Vault {
    /// On the participant's phone: publishes the first and latest PHQ-9, GAD-7 and WHO-5 totals
    /// into each care record where their `report-outcomes` consent stands, and removes them where
    /// it does not (so a withdrawal takes effect at the next call, and `give_consent` calls this).
    /// Returns how many records were written.
    pub fn publish_outcomes(&mut self) -> Result<u32> {
        let screenings = self.screenings();
        let mut rows = Vec::new();
        for inst in OUTCOME_INSTRUMENTS {
            let of: Vec<_> = screenings.iter().filter(|s| s.instrument == inst).collect();
            if let (Some(first), Some(latest)) = (of.first(), of.last()) {
                rows.push((
                    inst,
                    tag(&[b"outcome", inst.as_bytes()]),
                    first.total,
                    first.at_ms,
                    latest.total,
                    latest.at_ms,
                ));
            }
        }
        let mut n = 0;
        for care in self
            .care_records()
            .into_iter()
            .filter(|c| c.viewer == "participant")
        {
            let consented = self.shared.get(&care.id).is_some_and(|s| {
                crate::care::consented(&s.doc, "report-outcomes")
                    && crate::care::guardian_allows(&s.doc, "report-outcomes")
            });
            if !consented {
                self.with_space(&care.id, |doc, now| {
                    let c = container_in(doc, "outcomes", "care record")?;
                    let ids: Vec<String> = doc.keys(&c).collect();
                    if ids.is_empty() {
                        return Ok(());
                    }
                    write(doc, now, |d| {
                        for id in &ids {
                            d.delete(&c, id.as_str())?;
                        }
                        Ok(())
                    })
                })?;
                continue;
            }
            // Sealed for the coordinators' devices only: the supporter is a member of the record
            // too, and must never read a score.
            let Some(space) = self.shared.get(&care.id) else {
                continue;
            };
            let recipients = coordinator_devices(space);
            let (care_id, epoch) = (space.id, space.epoch);
            for (inst, id, first, first_at, latest, latest_at) in &rows {
                let totals = OutcomeTotals {
                    instrument: (*inst).to_string(),
                    first: *first,
                    first_at: *first_at,
                    latest: *latest,
                    latest_at: *latest_at,
                };
                let plain =
                    serde_json::to_vec(&totals).map_err(|_| Error::Internal("encode outcome"))?;
                let key = crate::crypto::random_key()?;
                let sealed = crate::crypto::seal_value(&key, &outcome_aad(&care_id, id), &plain)?;
                let mut wraps = Vec::new();
                for (device, x25519) in &recipients {
                    let w = crate::crypto::keywrap::wrap(&key, x25519, &care_id, &epoch)?;
                    wraps.push((device.to_hex(), w.to_bytes()));
                }
                self.with_space(&care.id, |doc, now| {
                    let c = container_in(doc, "outcomes", "care record")?;
                    write(doc, now, |d| {
                        if d.get(&c, id.as_str())?.is_some() {
                            d.delete(&c, id.as_str())?;
                        }
                        let r = d.put_object(&c, id.as_str(), ObjType::Map)?;
                        d.put(&r, "epoch", epoch.to_hex())?;
                        d.put(&r, "sealed", automerge::ScalarValue::Bytes(sealed.clone()))?;
                        let w = d.put_object(&r, "wraps", ObjType::Map)?;
                        for (device, bytes) in &wraps {
                            d.put(
                                &w,
                                device.as_str(),
                                automerge::ScalarValue::Bytes(bytes.clone()),
                            )?;
                        }
                        Ok(())
                    })
                })?;
                n += 1;
            }
        }
        Ok(n)
    }
}
