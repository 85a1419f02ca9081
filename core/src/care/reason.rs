//! A rule referral's reason, sealed for coordinators only (issue 14, item 13).
//!
//! Why: a care record's members are the participant, their supporter and the programme's
//! coordinators, and every member's device holds the whole document. The reason of a referral from
//! a screening (which instrument's suicide item was answered) is for the coordinators who act on it;
//! the supporter refers and stays with the person, never assesses, and the participant's phone may
//! be seen by others. So the reason travels as outcome totals do (`outcomes.rs`): sealed under a
//! fresh key wrapped for each device of the record whose proven person is a coordinator of the
//! programme when it is written. The record's clear `reason` is then [`SEALED_REASON`], a token every
//! older reader keeps (never drops) as a reason it does not know.
//!
//! What this cannot do: a coordinator device added after the referral was written holds no wrap
//! (referrals are append-only, so no wrap is added later); it still sees the referral and its
//! origin, with the reason marked sealed. A referral written while the record had no coordinator is
//! sealed for no one. Referrals written before this, with the reason in the clear, read as before.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, ScalarValue, Value};

use crate::error::{Error, Result};
use crate::space::doc::{container_in, string};
use crate::{SpaceId, Vault};

use super::record::SPACE;

/// The clear `reason` of a referral whose reason is sealed for coordinators.
pub const SEALED_REASON: &str = "sealed";

/// Origins whose reason is sealed: a risk rule that fired, on the participant's phone or in a
/// screening a supporter entered for them. (The participant's "I need help now" and a supporter's
/// "refer now" say nothing about any answer.)
pub(super) fn sealed_origin(origin: &str) -> bool {
    matches!(origin, "rule" | "administered")
}

/// AAD of a sealed reason: the care record and the referral id, so that it opens nowhere else.
pub(crate) fn reason_aad(care: &SpaceId, id: &str) -> Vec<u8> {
    let mut aad = b"sebaya/v1/referral-reason".to_vec();
    aad.extend_from_slice(&care.0);
    aad.extend_from_slice(id.as_bytes());
    aad
}

/// Every sealed reason's plaintext is padded to this many bytes: `{"reason":"…"}` around the longest
/// reason a reader shows (40 characters) is 53.
const PADDED_LEN: usize = 64;

/// The sealed plaintext: `{"reason": str}` (an object, so later fields can join without a new
/// format; readers ignore fields they do not know).
#[derive(serde::Serialize, serde::Deserialize)]
struct Plain {
    reason: String,
}

/// Seals `reason` for referral `id` of care record `care` under `key` with `nonce`: the one code
/// path behind [`Vault::seal_reason`] (fresh key and nonce) and the test vector
/// (docs/protocol.md, section 22.2).
pub(crate) fn seal_reason_with(
    key: &[u8; 32],
    nonce: [u8; 12],
    care: &SpaceId,
    id: &str,
    reason: &str,
) -> Result<Vec<u8>> {
    let mut plain = serde_json::to_vec(&Plain {
        reason: reason.to_string(),
    })
    .map_err(|_| Error::Internal("encode referral reason"))?;
    // Padded with spaces (JSON whitespace, which every reader skips) to one length for every reason
    // a reader shows, so the ciphertext's length does not tell which rule fired.
    plain.resize(plain.len().max(PADDED_LEN), b' ');
    crate::crypto::seal_value_with(key, nonce, &reason_aad(care, id), &plain)
}

/// A reason sealed for a record's coordinators, ready to be written with its referral.
pub(crate) struct SealedReason {
    /// The record's epoch the wraps are made under, hex.
    pub(crate) epoch: String,
    /// The sealed `{"reason": ...}`.
    pub(crate) sealed: Vec<u8>,
    /// Device (hex) to its key wrap, for each coordinator device.
    pub(crate) wraps: Vec<(String, Vec<u8>)>,
}

/// Writes the sealed parts into a referral record `r` being made.
pub(super) fn put_sealed(d: &mut AutoCommit, r: &automerge::ObjId, s: &SealedReason) -> Result<()> {
    d.put(r, "epoch", s.epoch.as_str())?;
    d.put(r, "sealed", ScalarValue::Bytes(s.sealed.clone()))?;
    let w = d.put_object(r, "wraps", ObjType::Map)?;
    for (device, bytes) in &s.wraps {
        d.put(&w, device.as_str(), ScalarValue::Bytes(bytes.clone()))?;
    }
    Ok(())
}

fn bytes(doc: &AutoCommit, obj: &automerge::ObjId, key: &str) -> Option<Vec<u8>> {
    match doc.get(obj, key).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Bytes(b) => Some(b.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The sealed reason of referral `id`, if this device's key is among its wraps (a coordinator's
/// device at the time it was written) and it opens; `None` otherwise.
pub(super) fn open_reason(
    doc: &AutoCommit,
    care: &SpaceId,
    id: &str,
    identity: &crate::identity::Identity,
) -> Option<String> {
    let c = container_in(doc, "referrals", SPACE).ok()?;
    let r = match doc.get(&c, id).ok().flatten() {
        Some((Value::Object(ObjType::Map), r)) => r,
        _ => return None,
    };
    let epoch = sebaya_proto::EpochId::from_hex(&string(doc, &r, "epoch")?).ok()?;
    let wraps = match doc.get(&r, "wraps").ok().flatten() {
        Some((Value::Object(ObjType::Map), w)) => w,
        _ => return None,
    };
    let wrap = bytes(doc, &wraps, &identity.device.to_hex())?;
    let wrap = crate::crypto::keywrap::KeyWrap::from_bytes(&wrap).ok()?;
    let sealed = bytes(doc, &r, "sealed")?;
    let key = identity.unwrap_key(&wrap, care, &epoch).ok()?;
    let plain =
        crate::crypto::open_value(&key, &reason_aad(care, id), &sealed, "referral reason").ok()?;
    let p: Plain = serde_json::from_slice(&plain).ok()?;
    // Only a well-shaped reason is shown (as a clear one is read, `record::referrals`).
    super::record::token(&p.reason).then_some(p.reason)
}

impl Vault {
    /// Seals `reason` for referral `id` in `care` under a fresh key wrapped for every device there
    /// whose proven person is a coordinator of the programme now (none: sealed for no one, and the
    /// referral still goes; its origin tells a coordinator that a risk rule fired).
    pub(super) fn seal_reason(
        &self,
        care: &SpaceId,
        id: &str,
        reason: &str,
    ) -> Result<SealedReason> {
        let space = self.care_ref(care)?;
        let recipients = super::outcomes::coordinator_devices(space);
        let key = crate::crypto::random_key()?;
        let sealed = seal_reason_with(&key, crate::crypto::random()?, care, id, reason)?;
        let mut wraps = Vec::with_capacity(recipients.len());
        for (device, x25519) in &recipients {
            let w = crate::crypto::keywrap::wrap(&key, x25519, care, &space.epoch)?;
            wraps.push((device.to_hex(), w.to_bytes()));
        }
        Ok(SealedReason {
            epoch: space.epoch.to_hex(),
            sealed,
            wraps,
        })
    }

    /// Writes one referral in `care` by this device, its reason sealed for coordinators where the
    /// origin is a risk rule's ([`sealed_origin`]). Returns its id.
    pub(super) fn write_referral(
        &mut self,
        care: &SpaceId,
        origin: &str,
        reason: &str,
    ) -> Result<String> {
        let id = super::record::new_id()?;
        let by = self.identity.device.to_hex();
        let sealed = match sealed_origin(origin) {
            true => Some(self.seal_reason(care, &id, reason)?),
            false => None,
        };
        self.with_space(care, |doc, now| match &sealed {
            Some(s) => super::record::add_sealed_referral(doc, &id, origin, reason, &by, s, now),
            None => super::record::add_referral(doc, &id, origin, reason, &by, now),
        })?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // The sealed reason's test vector (docs/protocol.md, section 22.2): the inputs of the outcome
    // vector (22.1) where they play the same part.
    const CARE: SpaceId = SpaceId([0xc1; 16]);
    const KEY: [u8; 32] = [0xc3; 32];
    const NONCE: [u8; 12] = [0xc4; 12];
    const ID: &str = "00000000000000b1";
    /// `{"reason":"phq9-item9"}` and 41 spaces: 64 bytes.
    const PLAINTEXT: &str = concat!(
        r#"{"reason":"phq9-item9"}"#,
        "                                         "
    );
    const AAD_HEX: &str = concat!(
        "7365626179612f76312f726566657272616c2d726561736f6ec1c1c1c1c1c1c1",
        "c1c1c1c1c1c1c1c1c130303030303030303030303030306231",
    );
    const SEALED_HEX: &str = concat!(
        "01c4c4c4c4c4c4c4c4c4c4c4c4472a8d449fbbe4fc3e807f56698c5c392e0fed",
        "a4d5b4ff662e216cc5ea2d161092d2912098bf1b0da1a43e1204da71385f9e87",
        "60516640079508c0cdaf2eadb798e6340d152ae80dae2b2c75ea0c8baf",
    );

    /// The vector runs through `seal_reason_with` (what `seal_reason` calls with a fresh key and
    /// nonce); the AAD is also built here by hand from the text of 22.2, and the hex must appear in
    /// docs/protocol.md. The plaintext is the clear reason of a rule referral, nothing more.
    /// Review finding: the sealed reason's length told which rule fired (`phq9-item9` sealed to 52
    /// bytes, `srq20-item17` to 54), on the very devices it is sealed from. Every reason a reader
    /// shows (1 to 40 characters) seals to one length.
    #[test]
    fn sealed_reasons_are_one_length_whatever_the_rule() {
        let len = |r: &str| seal_reason_with(&KEY, NONCE, &CARE, ID, r).unwrap().len();
        let n = len("phq9-item9");
        for r in ["srq20-item17", "x", &"a".repeat(40)] {
            assert_eq!(len(r), n, "{r}");
        }
    }

    #[test]
    fn the_sealed_reason_vector_is_byte_exact_and_documented() {
        let sealed = seal_reason_with(&KEY, NONCE, &CARE, ID, "phq9-item9").unwrap();
        let aad = [&b"sebaya/v1/referral-reason"[..], &CARE.0, ID.as_bytes()].concat();
        assert_eq!(hex::encode(&aad), AAD_HEX);
        assert_eq!(reason_aad(&CARE, ID), aad);
        assert_eq!(hex::encode(&sealed), SEALED_HEX);
        let plain = crate::crypto::open_value(&KEY, &aad, &sealed, "reason").unwrap();
        assert_eq!(plain.as_slice(), PLAINTEXT.as_bytes());
        // Moved to another referral id, it no longer opens.
        assert!(
            crate::crypto::open_value(
                &KEY,
                &reason_aad(&CARE, "00000000000000b2"),
                &sealed,
                "reason"
            )
            .is_err()
        );
        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        for h in [AAD_HEX, SEALED_HEX, &hex::encode(PLAINTEXT)] {
            assert!(doc.contains(h), "{h} is not in docs/protocol.md");
        }
    }
}
