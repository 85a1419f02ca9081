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

/// The record id of an instrument's totals in a care record: [`tag`] of `"outcome"`, instrument.
pub(crate) fn outcome_id(instrument: &str) -> String {
    tag(&[b"outcome", instrument.as_bytes()])
}

/// Seals one instrument's totals for care record `care` under `key` with `nonce`, and returns the
/// record id with the sealed bytes: the one code path behind [`Vault::publish_outcomes`] (which
/// gives a fresh key and nonce), and the one the test vectors fix (docs/protocol.md, section 22.1).
pub(crate) fn seal_outcome_with(
    key: &[u8; 32],
    nonce: [u8; 12],
    care: &SpaceId,
    totals: &OutcomeTotals,
) -> Result<(String, Vec<u8>)> {
    let id = outcome_id(&totals.instrument);
    let plain = serde_json::to_vec(totals).map_err(|_| Error::Internal("encode outcome"))?;
    let sealed = crate::crypto::seal_value_with(key, nonce, &outcome_aad(care, &id), &plain)?;
    Ok((id, sealed))
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
pub(super) fn coordinator_devices(space: &crate::space::Space) -> Vec<(crate::DeviceId, [u8; 32])> {
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
                rows.push((inst, first.total, first.at_ms, latest.total, latest.at_ms));
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
            for (inst, first, first_at, latest, latest_at) in &rows {
                let totals = OutcomeTotals {
                    instrument: (*inst).to_string(),
                    first: *first,
                    first_at: *first_at,
                    latest: *latest,
                    latest_at: *latest_at,
                };
                let key = crate::crypto::random_key()?;
                let (id, sealed) =
                    seal_outcome_with(&key, crate::crypto::random()?, &care_id, &totals)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::keywrap;
    use sebaya_proto::EpochId;
    use x25519_dalek::{PublicKey, StaticSecret};

    // The outcome record's test vector (docs/protocol.md, section 22.1).
    const CARE: SpaceId = SpaceId([0xc1; 16]);
    const EPOCH: EpochId = EpochId([0xc2; 32]);
    const KEY: [u8; 32] = [0xc3; 32];
    const NONCE: [u8; 12] = [0xc4; 12];
    // The coordinator device's X25519 key and the wrap's fixed inputs: those of the key-wrap vector
    // of 16.7.
    const RECIPIENT_SECRET: [u8; 32] = [0x92; 32];
    const EPHEMERAL_SECRET: [u8; 32] = [0x91; 32];
    const WRAP_NONCE: [u8; 12] = [0x93; 12];
    const PLAINTEXT: &str = r#"{"instrument":"phq9","first":14,"first_at":1767225600000,"latest":6,"latest_at":1769904000000}"#;
    const TAG_INPUT_HEX: &str = "00000000000000076f7574636f6d65000000000000000470687139";
    const ID: &str = "bdc2d42ab11c0363";
    const AAD_HEX: &str = concat!(
        "7365626179612f76312f6f7574636f6d65c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1",
        "c162646332643432616231316330333633",
    );
    const SEALED_HEX: &str = concat!(
        "01c4c4c4c4c4c4c4c4c4c4c4c4472a964f8dbcf9e771df335223c747642f0ab1",
        "ebc0b4e42f7c7238c7f03c021c9094d872cbeb644cf5a6240313cc662a4d8b91",
        "7041765017990a8c8cfb6bfee38140b34b07959458e69946393ef04cdf46f2d0",
        "3971114baa084a7d56524403d10fe7cc4340c6bd1e58e0ac1a3f67",
    );
    const WRAP_HEX: &str = concat!(
        "010791f592e9fdf04d44d7e0e23500b6ccf035be69667647589967e6b612a131",
        "50939393939393939393939393fbbb5e8cb83b6a01655f1edc959d66687e3bee",
        "3cae8308427131f3b8df9ff5ebd09ede238caee28bd333c841fd1ed7ae",
    );

    fn totals() -> OutcomeTotals {
        OutcomeTotals {
            instrument: "phq9".into(),
            first: 14,
            first_at: 1_767_225_600_000,
            latest: 6,
            latest_at: 1_769_904_000_000,
        }
    }

    /// The vector runs through `seal_outcome_with` (what `publish_outcomes` calls with a fresh key
    /// and nonce) and `keywrap::wrap_with`; the id, the AAD and the plaintext are also built here from
    /// the text of 22.1, and the hex must appear in docs/protocol.md.
    #[test]
    fn the_outcome_vector_is_byte_exact_and_documented() {
        let (id, sealed) = seal_outcome_with(&KEY, NONCE, &CARE, &totals()).unwrap();

        // The id by hand: SHA-256 over 8-byte big-endian lengths and parts, first 8 bytes in hex.
        let mut input = Vec::new();
        for part in [&b"outcome"[..], b"phq9"] {
            input.extend_from_slice(&(part.len() as u64).to_be_bytes());
            input.extend_from_slice(part);
        }
        assert_eq!(hex::encode(&input), TAG_INPUT_HEX);
        let digest = ring::digest::digest(&ring::digest::SHA256, &input);
        assert_eq!(hex::encode(&digest.as_ref()[..8]), ID);
        assert_eq!(id, ID);

        // The AAD by hand: label, care record id, the id as ASCII.
        let aad = [&b"sebaya/v1/outcome"[..], &CARE.0, ID.as_bytes()].concat();
        assert_eq!(hex::encode(&aad), AAD_HEX);
        assert_eq!(outcome_aad(&CARE, &id), aad);

        assert_eq!(hex::encode(&sealed), SEALED_HEX);
        assert_eq!(&sealed[..13], &[[1u8].as_slice(), &NONCE].concat()[..]);
        let plain = crate::crypto::open_value(&KEY, &aad, &sealed, "outcome").unwrap();
        assert_eq!(plain.as_slice(), PLAINTEXT.as_bytes());
        let read: OutcomeTotals = serde_json::from_slice(&plain).unwrap();
        assert_eq!((read.first, read.latest), (14, 6));

        let recipient = PublicKey::from(&StaticSecret::from(RECIPIENT_SECRET)).to_bytes();
        let wrap = keywrap::wrap_with(
            StaticSecret::from(EPHEMERAL_SECRET),
            WRAP_NONCE,
            &KEY,
            &recipient,
            &CARE,
            &EPOCH,
        )
        .unwrap();
        assert_eq!(hex::encode(wrap.to_bytes()), WRAP_HEX);
        let opened =
            keywrap::unwrap(&wrap, &StaticSecret::from(RECIPIENT_SECRET), &CARE, &EPOCH).unwrap();
        assert_eq!(*opened, KEY);

        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        for h in [
            TAG_INPUT_HEX,
            ID,
            AAD_HEX,
            SEALED_HEX,
            WRAP_HEX,
            &hex::encode(PLAINTEXT),
        ] {
            assert!(doc.contains(h), "{h} is not in docs/protocol.md");
        }
    }
}
