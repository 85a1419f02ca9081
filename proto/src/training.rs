//! Training records: "this person completed this module of this programme on this date, and it is
//! good until that date", signed by the programme key or by one of its coordinators.
//!
//! Peer supporters accompany people in distress; a programme only lets them do so one-to-one once a
//! coordinator has verified their training (psychological first aid, active listening, boundaries and
//! confidentiality, recognising risk and referring, self-care). A [`TrainingRecord`] is that
//! verification, made portable: anyone holding it (the supporter's other devices, a participant's
//! device, a supervisor's) checks it without a secret, together with the [`ProgrammeRegistry`] of the
//! programme, which says whether its issuer was a coordinator when the training was completed.
//!
//! Wire form: `body ‖ signature`, like the statements of [`crate::programme`]: `body` is a canonical
//! CBOR map (exactly the bytes the reference encoder writes, so a record has one encoding and one id)
//! and `signature` is the issuer's Ed25519 signature over [`TRAINING_RECORD_SIGNATURE_LABEL`] ‖
//! `body`. Layout, the counting rule, limits and vectors: `docs/protocol.md`, section 21. Pure
//! computation, safe on any thread.

use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};

use crate::error::ProtoError;
use crate::identity::{
    PersonId, decode_canonical, encode, sign_body, split_signed_within, verify_signature,
};
use crate::programme::{CLOCK_SKEW, ProgrammeRegistry, ProgrammeRole, StatementHash};

/// Domain label of training record signatures: distinct from every other label, so a record can never
/// pass for a role grant (which a coordinator signs with the same person key) or the other way round.
pub const TRAINING_RECORD_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/training-record";
/// Version of the record body this build writes and accepts.
pub const TRAINING_V1: u8 = 1;
/// Largest signed record a reader looks at, checked before anything is decoded. A v1 record is at
/// most 311 bytes; the slack lets a later version be recognised rather than misread.
pub const MAX_TRAINING_RECORD_LEN: usize = 1024;
/// Longest a record may stay valid: `expires − completed` of at most 731 days (two years, a leap day
/// included), so supporters refresh their training and a lost coordinator key's records die out.
pub const MAX_TRAINING_VALIDITY: u64 = 731 * 86_400;
/// Longest module id, in bytes.
pub const MAX_MODULE_LEN: usize = 32;

/// The modules this version knows, by id: psychological first aid, active listening, boundaries and
/// confidentiality, recognising risk and referring, self-care, and group facilitation (what running
/// a programme group's sessions takes; issue 14). Their names for people are in the core's
/// catalogues (`training-module-<id>`). Records of other well-formed ids verify (see
/// [`check_module`]) but no requirement of this version names them.
pub const KNOWN_MODULES: [&str; 6] = [
    "pfa",
    "active-listening",
    "boundaries",
    "risk-referral",
    "self-care",
    "group-facilitation",
];

/// A record's id: SHA-256 of its whole signed bytes.
pub type RecordHash = [u8; 32];

/// Checks a module id: 1 to [`MAX_MODULE_LEN`] bytes of lowercase ASCII letters, digits and single
/// inner hyphens, starting with a letter.
///
/// Ids outside [`KNOWN_MODULES`] are accepted on the wire on purpose: programmes add modules of their
/// own (safeguarding children, a local referral pathway), and a record a newer version makes must not
/// look forged to an older device that carries it. They never satisfy what this version requires,
/// because requirements are drawn from the known list; the core issues only known modules.
pub fn check_module(module: &str) -> Result<(), ProtoError> {
    let b = module.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_MODULE_LEN
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !module.contains("--");
    if ok {
        Ok(())
    } else {
        Err(ProtoError::Malformed(
            "module id is not a short lowercase slug",
        ))
    }
}

/// Whether `module` is one of [`KNOWN_MODULES`].
pub fn is_known_module(module: &str) -> bool {
    KNOWN_MODULES.contains(&module)
}

/// A training record: "`issuer` certifies that `person` completed `module` of `programme` at
/// `completed`; the certification holds until `expires`". Verified with [`SignedTrainingRecord`];
/// whether it counts is [`record_counts`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrainingRecord {
    /// The programme: its root public key.
    pub programme: [u8; 32],
    /// The person trained.
    pub person: PersonId,
    /// The module id ([`check_module`]).
    pub module: String,
    /// When the training was completed, Unix seconds. The issuer must have been a coordinator then.
    pub completed: u64,
    /// Until when the certification holds (inclusive), Unix seconds; after `completed`, at most
    /// [`MAX_TRAINING_VALIDITY`] later.
    pub expires: u64,
    /// Who signs: the programme key, or a coordinator's person id.
    pub issuer: [u8; 32],
    /// `None` when the programme key signs; otherwise the id of the grant that made `issuer` a
    /// coordinator of the programme (as [`crate::programme::RoleGrant::chain`]).
    pub chain: Option<StatementHash>,
}

/// CBOR body of a record. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct RecordBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    programme: Vec<u8>,
    #[serde(with = "serde_bytes")]
    person: Vec<u8>,
    module: String,
    completed: u64,
    expires: u64,
    #[serde(with = "serde_bytes")]
    issuer: Vec<u8>,
    #[serde(with = "serde_bytes")]
    chain: Option<Vec<u8>>,
}

fn key32(
    bytes: &[u8],
    wrong_length: &'static str,
    weak: &'static str,
) -> Result<[u8; 32], ProtoError> {
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ProtoError::Malformed(wrong_length))?;
    if PersonId(key).is_weak() {
        return Err(ProtoError::Malformed(weak));
    }
    Ok(key)
}

fn split_signed(bytes: &[u8]) -> Result<(&[u8], &[u8]), ProtoError> {
    split_signed_within(bytes, MAX_TRAINING_RECORD_LEN, "signed training record")
}

impl TrainingRecord {
    /// The canonical CBOR body: the bytes the issuer signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&RecordBody {
            v: TRAINING_V1,
            programme: self.programme.to_vec(),
            person: self.person.0.to_vec(),
            module: self.module.clone(),
            completed: self.completed,
            expires: self.expires,
            issuer: self.issuer.to_vec(),
            chain: self.chain.map(|c| c.to_vec()),
        })
    }

    /// Reads a body (without signature): canonical form, version 1, 32-byte keys, no weak key, a
    /// well-formed module id, and the record's own rules. Checks no signature: use
    /// [`SignedTrainingRecord::verify`] for anything received.
    pub fn from_body(bytes: &[u8]) -> Result<TrainingRecord, ProtoError> {
        let b: RecordBody = decode_canonical(bytes)?;
        if b.v != TRAINING_V1 {
            return Err(ProtoError::Malformed("unsupported statement version"));
        }
        let record = TrainingRecord {
            programme: key32(
                &b.programme,
                "programme id has the wrong length",
                "weak programme key",
            )?,
            person: PersonId(key32(
                &b.person,
                "PersonId has the wrong length",
                "weak person key",
            )?),
            module: b.module,
            completed: b.completed,
            expires: b.expires,
            issuer: key32(
                &b.issuer,
                "issuer key has the wrong length",
                "weak issuer key",
            )?,
            chain: match &b.chain {
                None => None,
                Some(c) => Some(
                    c.as_slice()
                        .try_into()
                        .map_err(|_| ProtoError::Malformed("grant id has the wrong length"))?,
                ),
            },
        };
        record.check()?;
        Ok(record)
    }

    /// The rules a record obeys on its own.
    fn check(&self) -> Result<(), ProtoError> {
        check_module(&self.module)?;
        if self.person.0 == self.issuer {
            return Err(ProtoError::Malformed("nobody certifies their own training"));
        }
        if self.person.0 == self.programme {
            return Err(ProtoError::Malformed("the programme key is not a person"));
        }
        match (self.issuer == self.programme, self.chain.is_some()) {
            (true, true) => {
                return Err(ProtoError::Malformed(
                    "a record by the programme key has no chain",
                ));
            }
            (false, false) => {
                return Err(ProtoError::Malformed(
                    "a record by a coordinator names its chain",
                ));
            }
            _ => {}
        }
        if self.expires <= self.completed {
            return Err(ProtoError::Malformed(
                "a record expires after the training is completed",
            ));
        }
        if self.expires - self.completed > MAX_TRAINING_VALIDITY {
            return Err(ProtoError::Malformed(
                "a training record holds for at most two years",
            ));
        }
        Ok(())
    }

    /// Whether `now` lies in the record's window: `completed ≤ now + CLOCK_SKEW` and
    /// `now ≤ expires`. Says nothing of signature or issuer.
    pub fn is_current_at(&self, now: u64) -> bool {
        self.completed <= now.saturating_add(CLOCK_SKEW) && now <= self.expires
    }

    /// Signs the record with the issuer's key (the programme root key, or the coordinator's person
    /// root key). Refuses a signer that is not `self.issuer`, and a record a reader would refuse.
    pub fn sign(&self, issuer_key: &Ed25519KeyPair) -> Result<SignedTrainingRecord, ProtoError> {
        let body = self.to_body()?;
        TrainingRecord::from_body(&body)?;
        let bytes = sign_body(
            TRAINING_RECORD_SIGNATURE_LABEL,
            body,
            &self.issuer,
            issuer_key,
            "signer is not the statement's issuer",
        )?;
        Ok(SignedTrainingRecord { bytes })
    }
}

/// A training record as it travels: `body ‖ signature`. Holds the exact bytes; [`Self::verify`] reads
/// the record out of them only if the issuer's signature holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedTrainingRecord {
    bytes: Vec<u8>,
}

impl SignedTrainingRecord {
    /// Takes received bytes, checking only their length (at most [`MAX_TRAINING_RECORD_LEN`]);
    /// nothing is trusted until [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        split_signed(bytes)?;
        Ok(SignedTrainingRecord {
            bytes: bytes.to_vec(),
        })
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the record, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The record id: SHA-256 of the whole signed bytes (the key it is published under).
    pub fn id(&self) -> RecordHash {
        let mut id = [0u8; 32];
        id.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &self.bytes).as_ref());
        id
    }

    /// Checks everything a record can be checked for on its own and returns it: length bound,
    /// canonical body, version 1, key lengths, no small-order key, the rules of
    /// [`TrainingRecord::from_body`], and the issuer's signature over
    /// `"sebaya/v1/training-record" ‖ body`. Whether it counts is [`record_counts`].
    pub fn verify(&self) -> Result<TrainingRecord, ProtoError> {
        let (body, sig) = split_signed(&self.bytes)?;
        let record = TrainingRecord::from_body(body)?;
        verify_signature(TRAINING_RECORD_SIGNATURE_LABEL, &record.issuer, body, sig)?;
        Ok(record)
    }
}

/// Whether the issuer of a (verified) record had the authority to make it: the record is of the
/// registry's programme, and either the programme key signed it, or its `chain` names a grant held
/// in the registry that gives the issuer `coordinator` and is valid (section 19.5) at `completed`.
///
/// The same semantics as a grant's chain, read at the time the training was completed: a revocation
/// that counts withdraws a grant at every time, so revoking a coordinator's grant (or any grant above
/// it) withdraws every record they issued; a coordinator grant that merely expires later leaves the
/// records made while it was valid standing (they attest a past fact, and expire on their own).
pub fn issuer_had_authority(registry: &ProgrammeRegistry, record: &TrainingRecord) -> bool {
    if record.programme != registry.programme() {
        return false;
    }
    match record.chain {
        None => record.issuer == registry.programme(),
        Some(grant) => {
            registry.is_grant_valid(&grant, record.completed)
                && registry.grant(&grant).is_some_and(|g| {
                    g.person.0 == record.issuer && g.role == ProgrammeRole::Coordinator
                })
        }
    }
}

/// Whether a record (verified) counts at `now`: its issuer had the authority
/// ([`issuer_had_authority`]) and `now` is within its window ([`TrainingRecord::is_current_at`]).
pub fn record_counts(registry: &ProgrammeRegistry, record: &TrainingRecord, now: u64) -> bool {
    record.is_current_at(now) && issuer_had_authority(registry, record)
}

/// Why a required module does not count for a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// No record of the module counts, and none would if it had not expired.
    Missing,
    /// A record whose issuer had the authority exists, but every such record has expired (or is
    /// dated in the future).
    Expired,
}

/// The required modules that do not count for `person` at `now`, in the order of `required`, with
/// why. `records` are signed records as bytes; those that do not verify, are for someone else or
/// another programme, or whose issuer lacked the authority are ignored (they prove nothing). Empty
/// when every required module counts.
pub fn shortfalls<'a, B: AsRef<[u8]>>(
    registry: &ProgrammeRegistry,
    records: &[B],
    person: &PersonId,
    required: &[&'a str],
    now: u64,
) -> Vec<(&'a str, Shortfall)> {
    let mine: Vec<TrainingRecord> = records
        .iter()
        .filter_map(|b| {
            SignedTrainingRecord::from_bytes(b.as_ref())
                .and_then(|s| s.verify())
                .ok()
        })
        .filter(|r| r.person == *person && issuer_had_authority(registry, r))
        .collect();
    required
        .iter()
        .filter_map(|m| {
            let of: Vec<&TrainingRecord> = mine.iter().filter(|r| r.module == *m).collect();
            if of.iter().any(|r| r.is_current_at(now)) {
                None
            } else if of.is_empty() {
                Some((*m, Shortfall::Missing))
            } else {
                Some((*m, Shortfall::Expired))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::identity::{SIGNATURE_LEN, signed_message};
    use crate::programme::{RoleGrant, RoleRevocation, SignedRoleGrant};
    use ring::signature::KeyPair;

    /// The keys of section 19.10: programme root key, coordinator, peer supporter.
    const PROGRAMME_SEED: [u8; 32] = [0x50; 32];
    const COORDINATOR_SEED: [u8; 32] = [0x51; 32];
    const SUPPORTER_SEED: [u8; 32] = [0x52; 32];
    /// Another person, who is no coordinator.
    const OTHER_SEED: [u8; 32] = [0x53; 32];
    /// 2026-01-01T00:00:00Z.
    const T0: u64 = 1_767_225_600;
    const DAY: u64 = 86_400;

    const BY_PROGRAMME_HEX: &str = concat!(
        "a86176016970726f6772616d6d6558203ef08959033028c8fc6fc6d491a12548",
        "e78df6aefb2d7c2c190c3f78cef3f50b66706572736f6e58202012cb90ca60e8",
        "e5d8daf66e2272d2233e0486d557e8c66141ed8920177d7eb7666d6f64756c65",
        "6370666169636f6d706c657465641a69585c0067657870697265731a6b398f80",
        "6669737375657258203ef08959033028c8fc6fc6d491a12548e78df6aefb2d7c",
        "2c190c3f78cef3f50b65636861696ef61f1e60027abbd7910745a9f204598fba",
        "27a6f6e6b229388dd1229cd961b04129795dd2e29a6578c0bbca57f3b7fa102d",
        "4d53e92f84e774a588849dba2fd2d403",
    );
    const BY_PROGRAMME_ID_HEX: &str =
        "fb260bd98839c1752e080271c7f2eda804cb472f7befc669c3df979539125b6b";
    const BY_COORDINATOR_HEX: &str = concat!(
        "a86176016970726f6772616d6d6558203ef08959033028c8fc6fc6d491a12548",
        "e78df6aefb2d7c2c190c3f78cef3f50b66706572736f6e58202012cb90ca60e8",
        "e5d8daf66e2272d2233e0486d557e8c66141ed8920177d7eb7666d6f64756c65",
        "706163746976652d6c697374656e696e6769636f6d706c657465641a69585c00",
        "67657870697265731a6b398f80666973737565725820c050c5637a44fa8629ff",
        "f3cccce2300cb362a63d99d95fc54145266f4332445a65636861696e5820c61c",
        "0ec8dcad84a2f62eb2c56e179904f56f7b53a412b59964b463dec70dd9ada256",
        "51c55763f799249d05f01a0a5dc9aa0a6e02eb671363de9274801e68f4c02e0d",
        "db160f9adbaf5a671c603914e4724cba323107abae96e95a061b4977f00b",
    );
    const BY_COORDINATOR_ID_HEX: &str =
        "69bd97b7368afbafe84095c9065fa72b5661cd953c6420830cbf0afbfdfb9311";
    /// The section holding the vectors: `docs/protocol.md`, section 21.
    const SPEC: &str = include_str!("../../docs/protocol.md");

    fn key(seed: &[u8; 32]) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(seed).unwrap()
    }

    fn pub_of(seed: &[u8; 32]) -> [u8; 32] {
        key(seed).public_key().as_ref().try_into().unwrap()
    }

    /// The grant of 19.10 making the coordinator a coordinator for 2026.
    fn root_grant() -> SignedRoleGrant {
        RoleGrant {
            programme: pub_of(&PROGRAMME_SEED),
            person: PersonId(pub_of(&COORDINATOR_SEED)),
            role: ProgrammeRole::Coordinator,
            issuer: pub_of(&PROGRAMME_SEED),
            issued: T0,
            expires: T0 + 365 * DAY,
            chain: None,
        }
        .sign(&key(&PROGRAMME_SEED))
        .unwrap()
    }

    /// The grant of 19.10 making the supporter a peer supporter (chained to `root_grant`).
    fn supporter_grant() -> SignedRoleGrant {
        RoleGrant {
            programme: pub_of(&PROGRAMME_SEED),
            person: PersonId(pub_of(&SUPPORTER_SEED)),
            role: ProgrammeRole::PeerSupporter,
            issuer: pub_of(&COORDINATOR_SEED),
            issued: T0 + DAY,
            expires: T0 + DAY + 365 * DAY,
            chain: Some(root_grant().id()),
        }
        .sign(&key(&COORDINATOR_SEED))
        .unwrap()
    }

    /// Psychological first aid, certified by the programme key on 2026-01-03 for a year.
    fn by_programme() -> TrainingRecord {
        TrainingRecord {
            programme: pub_of(&PROGRAMME_SEED),
            person: PersonId(pub_of(&SUPPORTER_SEED)),
            module: "pfa".into(),
            completed: T0 + 2 * DAY,
            expires: T0 + 2 * DAY + 365 * DAY,
            issuer: pub_of(&PROGRAMME_SEED),
            chain: None,
        }
    }

    /// Active listening, certified by the coordinator (chained to `root_grant`) the same day.
    fn by_coordinator() -> TrainingRecord {
        TrainingRecord {
            programme: pub_of(&PROGRAMME_SEED),
            person: PersonId(pub_of(&SUPPORTER_SEED)),
            module: "active-listening".into(),
            completed: T0 + 2 * DAY,
            expires: T0 + 2 * DAY + 365 * DAY,
            issuer: pub_of(&COORDINATOR_SEED),
            chain: Some(root_grant().id()),
        }
    }

    fn registry() -> ProgrammeRegistry {
        let mut reg = ProgrammeRegistry::new(pub_of(&PROGRAMME_SEED));
        reg.insert_grant(root_grant().as_bytes()).unwrap();
        reg.insert_grant(supporter_grant().as_bytes()).unwrap();
        reg
    }

    fn verify(bytes: &[u8]) -> Result<TrainingRecord, ProtoError> {
        SignedTrainingRecord::from_bytes(bytes).and_then(|s| s.verify())
    }

    fn resign(body: &[u8], label: &[u8], seed: &[u8; 32]) -> Vec<u8> {
        let mut out = body.to_vec();
        out.extend_from_slice(key(seed).sign(&signed_message(label, body)).as_ref());
        out
    }

    fn signed_vectors() -> (SignedTrainingRecord, SignedTrainingRecord) {
        (
            by_programme().sign(&key(&PROGRAMME_SEED)).unwrap(),
            by_coordinator().sign(&key(&COORDINATOR_SEED)).unwrap(),
        )
    }

    #[test]
    #[ignore]
    fn print_vectors() {
        let (a, b) = signed_vectors();
        for (name, r, s) in [
            ("by programme", by_programme(), a),
            ("by coordinator", by_coordinator(), b),
        ] {
            println!("{name} body {} bytes", r.to_body().unwrap().len());
            println!(
                "{name} {} ({} bytes)",
                hex::encode(s.as_bytes()),
                s.as_bytes().len()
            );
            println!("{name} id {}", hex::encode(s.id()));
        }
    }

    #[test]
    fn vectors_are_byte_exact_and_documented() {
        let (a, b) = signed_vectors();
        assert_eq!(hex::encode(a.as_bytes()), BY_PROGRAMME_HEX);
        assert_eq!(hex::encode(a.id()), BY_PROGRAMME_ID_HEX);
        assert_eq!(hex::encode(b.as_bytes()), BY_COORDINATOR_HEX);
        assert_eq!(hex::encode(b.id()), BY_COORDINATOR_ID_HEX);
        assert_eq!(
            ring::digest::digest(&ring::digest::SHA256, b.as_bytes()).as_ref(),
            b.id()
        );
        assert_eq!(a.as_bytes().len(), 240);
        assert_eq!(b.as_bytes().len(), 286);
        let doc = SPEC.replace(['\n', ' '], "");
        for (name, hexstr) in [
            ("record by the programme key", BY_PROGRAMME_HEX),
            ("its id", BY_PROGRAMME_ID_HEX),
            ("record by the coordinator", BY_COORDINATOR_HEX),
            ("its id", BY_COORDINATOR_ID_HEX),
        ] {
            assert!(doc.contains(hexstr), "the {name} vector is not in the spec");
        }
        assert!(SPEC.contains("## 21. Training records"));
        assert!(SPEC.contains("sebaya/v1/training-record"));
        assert_eq!(
            TRAINING_RECORD_SIGNATURE_LABEL,
            b"sebaya/v1/training-record"
        );
        // The documented outcome: both count from completion to expiry, for the supporter only.
        let reg = registry();
        let supporter = PersonId(pub_of(&SUPPORTER_SEED));
        let records = [a.as_bytes(), b.as_bytes()];
        let required = ["pfa", "active-listening"];
        assert!(shortfalls(&reg, &records, &supporter, &required, T0 + 3 * DAY).is_empty());
        assert_eq!(
            shortfalls(
                &reg,
                &records,
                &supporter,
                &["pfa", "boundaries"],
                T0 + 3 * DAY
            ),
            vec![("boundaries", Shortfall::Missing)]
        );
        assert_eq!(
            shortfalls(&reg, &records, &supporter, &required, T0 + 368 * DAY),
            vec![
                ("pfa", Shortfall::Expired),
                ("active-listening", Shortfall::Expired)
            ]
        );
        let coordinator = PersonId(pub_of(&COORDINATOR_SEED));
        assert_eq!(
            shortfalls(&reg, &records, &coordinator, &["pfa"], T0 + 3 * DAY),
            vec![("pfa", Shortfall::Missing)]
        );
    }

    #[test]
    fn round_trip_and_sizes() {
        let (a, b) = signed_vectors();
        assert_eq!(verify(a.as_bytes()).unwrap(), by_programme());
        assert_eq!(verify(b.as_bytes()).unwrap(), by_coordinator());
        for m in KNOWN_MODULES {
            assert!(is_known_module(m));
            check_module(m).unwrap();
            let mut r = by_coordinator();
            r.module = m.to_string();
            let s = r.sign(&key(&COORDINATOR_SEED)).unwrap();
            assert_eq!(verify(s.as_bytes()).unwrap().module, m);
        }
        // The largest v1 record: the longest module id, 9-byte integers, a chain.
        let mut r = by_coordinator();
        r.module = "a".repeat(MAX_MODULE_LEN);
        r.completed = u64::MAX - MAX_TRAINING_VALIDITY;
        r.expires = u64::MAX;
        let s = r.sign(&key(&COORDINATOR_SEED)).unwrap();
        assert_eq!(s.as_bytes().len(), 311);
        assert!(s.as_bytes().len() < MAX_TRAINING_RECORD_LEN);
        assert!(!is_known_module(&r.module));
        // And the smallest: a one-letter module, one-byte integers, no chain.
        let mut r = by_programme();
        r.module = "a".into();
        r.completed = 0;
        r.expires = 1;
        assert_eq!(r.sign(&key(&PROGRAMME_SEED)).unwrap().as_bytes().len(), 230);
    }

    #[test]
    fn module_ids_are_short_lowercase_slugs() {
        for good in [
            "pfa",
            "self-care",
            "a",
            "child-safeguarding-2",
            &"x".repeat(32),
        ] {
            assert!(check_module(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "PFA",
            "1pfa",
            "-pfa",
            "pfa-",
            "self--care",
            "self care",
            "self_care",
            "pertolongan-pertama-psikologis-dasar",
            "pfä",
        ] {
            assert!(check_module(bad).is_err(), "{bad}");
            let mut r = by_programme();
            r.module = bad.to_string();
            assert!(r.sign(&key(&PROGRAMME_SEED)).is_err(), "{bad} signed");
            let s = resign(
                &r.to_body().unwrap(),
                TRAINING_RECORD_SIGNATURE_LABEL,
                &PROGRAMME_SEED,
            );
            assert!(verify(&s).is_err(), "{bad} verifies");
        }
    }

    #[test]
    fn altered_truncated_and_oversized_records_are_refused() {
        let (a, b) = signed_vectors();
        for s in [a, b] {
            let b0 = s.into_bytes();
            for i in 0..b0.len() * 8 {
                let mut b = b0.clone();
                b[i / 8] ^= 1 << (i % 8);
                assert!(verify(&b).is_err(), "bit {i} flipped still verifies");
            }
            for n in 0..b0.len() {
                let got = verify(&b0[..n]);
                assert!(got.is_err(), "prefix of {n} bytes verifies");
                if n <= SIGNATURE_LEN {
                    assert!(matches!(got, Err(ProtoError::Truncated { .. })));
                }
            }
            let mut longer = b0.clone();
            longer.push(0);
            assert!(verify(&longer).is_err());
        }
        let huge = vec![0u8; MAX_TRAINING_RECORD_LEN + 1];
        assert!(matches!(
            SignedTrainingRecord::from_bytes(&huge),
            Err(ProtoError::TooLarge { .. })
        ));
        // Garbage never panics.
        for len in [65, 100, 300, 1024] {
            let junk: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            assert!(verify(&junk).is_err());
        }
    }

    #[test]
    fn forged_records_are_refused() {
        // Names the coordinator as issuer, signed by the supporter (who would certify themselves).
        let body = by_coordinator().to_body().unwrap();
        let forged = resign(&body, TRAINING_RECORD_SIGNATURE_LABEL, &SUPPORTER_SEED);
        assert_eq!(verify(&forged), Err(ProtoError::BadSignature));
        // The issuer's own signature under another label (a role grant's, say) is refused.
        for label in [
            crate::PROGRAMME_GRANT_SIGNATURE_LABEL,
            crate::PROGRAMME_REVOKE_SIGNATURE_LABEL,
            crate::DEVICE_CERT_SIGNATURE_LABEL,
            b"".as_slice(),
        ] {
            let s = resign(&body, label, &COORDINATOR_SEED);
            assert_eq!(verify(&s), Err(ProtoError::BadSignature));
        }
        // A grant does not pass for a record, nor a record for a grant.
        assert!(verify(root_grant().as_bytes()).is_err());
        let (a, _) = signed_vectors();
        assert!(
            SignedRoleGrant::from_bytes(a.as_bytes())
                .and_then(|g| g.verify())
                .is_err()
        );
        // Signing with a key that is not the issuer's is refused at the source.
        assert_eq!(
            by_coordinator().sign(&key(&PROGRAMME_SEED)),
            Err(ProtoError::Malformed(
                "signer is not the statement's issuer"
            ))
        );
    }

    #[test]
    fn record_rules_are_enforced_on_signing_and_reading() {
        let mut cases: Vec<(TrainingRecord, [u8; 32], &str)> = Vec::new();
        let mut r = by_coordinator();
        r.person = PersonId(pub_of(&COORDINATOR_SEED));
        cases.push((r, COORDINATOR_SEED, "nobody certifies their own training"));
        let mut r = by_coordinator();
        r.person = PersonId(pub_of(&PROGRAMME_SEED));
        cases.push((r, COORDINATOR_SEED, "the programme key is not a person"));
        let mut r = by_programme();
        r.chain = Some([7; 32]);
        cases.push((
            r,
            PROGRAMME_SEED,
            "a record by the programme key has no chain",
        ));
        let mut r = by_coordinator();
        r.chain = None;
        cases.push((
            r,
            COORDINATOR_SEED,
            "a record by a coordinator names its chain",
        ));
        let mut r = by_coordinator();
        r.expires = r.completed;
        cases.push((
            r,
            COORDINATOR_SEED,
            "a record expires after the training is completed",
        ));
        let mut r = by_coordinator();
        r.expires = r.completed + MAX_TRAINING_VALIDITY + 1;
        cases.push((
            r,
            COORDINATOR_SEED,
            "a training record holds for at most two years",
        ));
        for (r, seed, why) in cases {
            assert_eq!(
                r.sign(&key(&seed)),
                Err(ProtoError::Malformed(why)),
                "{why}"
            );
            let s = resign(
                &r.to_body().unwrap(),
                TRAINING_RECORD_SIGNATURE_LABEL,
                &seed,
            );
            assert_eq!(verify(&s), Err(ProtoError::Malformed(why)), "{why}");
        }
        let mut r = by_coordinator();
        r.expires = r.completed + MAX_TRAINING_VALIDITY;
        assert!(r.sign(&key(&COORDINATOR_SEED)).is_ok());
        // Another key order (expires before completed) is not canonical.
        let body = by_programme().to_body().unwrap();
        let at = |needle: &[u8]| {
            body.windows(needle.len())
                .position(|w| w == needle)
                .unwrap()
        };
        let (c, e, i) = (at(b"\x69completed"), at(b"\x67expires"), at(b"\x66issuer"));
        let mut swapped = body[..c].to_vec();
        swapped.extend_from_slice(&body[e..i]);
        swapped.extend_from_slice(&body[c..e]);
        swapped.extend_from_slice(&body[i..]);
        assert_eq!(swapped.len(), body.len());
        let s = resign(&swapped, TRAINING_RECORD_SIGNATURE_LABEL, &PROGRAMME_SEED);
        assert!(matches!(
            verify(&s),
            Err(ProtoError::Malformed(_)) | Err(ProtoError::Decode(_))
        ));
        // Version 2 is refused.
        let mut v2 = body.clone();
        v2[3] = 0x02;
        let s = resign(&v2, TRAINING_RECORD_SIGNATURE_LABEL, &PROGRAMME_SEED);
        assert_eq!(
            verify(&s),
            Err(ProtoError::Malformed("unsupported statement version"))
        );
    }

    #[test]
    fn only_a_coordinator_at_completion_or_the_programme_key_makes_a_record_count() {
        let reg = registry();
        let (a, b) = signed_vectors();
        let now = T0 + 3 * DAY;
        assert!(record_counts(&reg, &a.verify().unwrap(), now));
        assert!(record_counts(&reg, &b.verify().unwrap(), now));
        // The chain grant is not held: the coordinator's record proves nothing.
        let empty = ProgrammeRegistry::new(pub_of(&PROGRAMME_SEED));
        assert!(!record_counts(&empty, &b.verify().unwrap(), now));
        assert!(record_counts(&empty, &a.verify().unwrap(), now));
        // Completed before the coordinator was one (their grant starts at T0).
        let mut early = by_coordinator();
        early.completed = T0 - 10 * DAY;
        early.expires = T0 + 300 * DAY;
        let early = early
            .sign(&key(&COORDINATOR_SEED))
            .unwrap()
            .verify()
            .unwrap();
        assert!(!record_counts(&reg, &early, now));
        // Issued by a peer supporter, chained to their own (peer_supporter) grant.
        let by_supporter = TrainingRecord {
            person: PersonId(pub_of(&OTHER_SEED)),
            issuer: pub_of(&SUPPORTER_SEED),
            chain: Some(supporter_grant().id()),
            ..by_coordinator()
        }
        .sign(&key(&SUPPORTER_SEED))
        .unwrap();
        let r = by_supporter.verify().unwrap();
        assert!(!record_counts(&reg, &r, now));
        let other = PersonId(pub_of(&OTHER_SEED));
        assert_eq!(
            shortfalls(
                &reg,
                &[by_supporter.as_bytes()],
                &other,
                &["active-listening"],
                now
            ),
            vec![("active-listening", Shortfall::Missing)]
        );
        // A chain naming someone else's coordinator grant.
        let stolen_chain = TrainingRecord {
            issuer: pub_of(&OTHER_SEED),
            ..by_coordinator()
        }
        .sign(&key(&OTHER_SEED))
        .unwrap()
        .verify()
        .unwrap();
        assert!(!record_counts(&reg, &stolen_chain, now));
        // A record of another programme does not count in this one's registry.
        let mut elsewhere = by_programme();
        elsewhere.programme = pub_of(&OTHER_SEED);
        elsewhere.issuer = pub_of(&OTHER_SEED);
        let elsewhere = elsewhere.sign(&key(&OTHER_SEED)).unwrap();
        assert!(!record_counts(&reg, &elsewhere.verify().unwrap(), now));
        let supporter = PersonId(pub_of(&SUPPORTER_SEED));
        assert_eq!(
            shortfalls(&reg, &[elsewhere.as_bytes()], &supporter, &["pfa"], now),
            vec![("pfa", Shortfall::Missing)]
        );
        // Expired, and not yet begun (beyond the clock skew).
        let rec = a.verify().unwrap();
        assert!(record_counts(&reg, &rec, rec.expires));
        assert!(!record_counts(&reg, &rec, rec.expires + 1));
        assert!(record_counts(&reg, &rec, rec.completed - CLOCK_SKEW));
        assert!(!record_counts(&reg, &rec, rec.completed - CLOCK_SKEW - 1));
    }

    #[test]
    fn revoking_the_issuers_grant_withdraws_their_records_but_expiry_does_not() {
        let (a, b) = signed_vectors();
        let rec = b.verify().unwrap();
        let now = T0 + 3 * DAY;
        // The coordinator's grant expires (end of 2026): records made while it held still count,
        // until their own expiry.
        let mut reg = registry();
        assert!(record_counts(&reg, &rec, T0 + 366 * DAY));
        // The programme key revokes the coordinator's grant: their records count at no time, the
        // programme key's own record is untouched.
        let rev = RoleRevocation {
            programme: pub_of(&PROGRAMME_SEED),
            grant: root_grant().id(),
            issuer: pub_of(&PROGRAMME_SEED),
            time: T0 + 100 * DAY,
        }
        .sign(&key(&PROGRAMME_SEED))
        .unwrap();
        reg.insert_revocation(rev.as_bytes()).unwrap();
        for t in [now, T0 + 50 * DAY, T0 + 200 * DAY] {
            assert!(!record_counts(&reg, &rec, t));
        }
        assert!(record_counts(&reg, &a.verify().unwrap(), now));
        let supporter = PersonId(pub_of(&SUPPORTER_SEED));
        assert_eq!(
            shortfalls(
                &reg,
                &[a.as_bytes(), b.as_bytes()],
                &supporter,
                &["pfa", "active-listening"],
                now
            ),
            vec![("active-listening", Shortfall::Missing)]
        );
        // A revocation by someone who is no coordinator changes nothing.
        let mut reg = registry();
        let rev = RoleRevocation {
            programme: pub_of(&PROGRAMME_SEED),
            grant: root_grant().id(),
            issuer: pub_of(&SUPPORTER_SEED),
            time: T0 + 100 * DAY,
        }
        .sign(&key(&SUPPORTER_SEED))
        .unwrap();
        reg.insert_revocation(rev.as_bytes()).unwrap();
        assert!(record_counts(&reg, &rec, now));
    }
}
