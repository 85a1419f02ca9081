//! Whether a pairing's creator was a certified supporter when they set it up: the predicate the rules
//! apply to a pairing's `participant`, `supporter` and `programme` keys (`Need::CertifiedCreator`).
//!
//! It is pure: it reads the grants, revocations and training records published in the document and
//! the envelope being judged (under the rules' own `cred/`, `revoke/` and `train/` keys) and judges
//! them with `sebaya_proto`. It lives under the rules, not with the training register, so the rules
//! engine every space consults reaches nothing above the space; the register (`care/training.rs`) calls
//! down to [`certified`] and [`published`] for its own checks.

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{AutoCommit, Change, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::PersonId;
use sebaya_proto::programme::{ProgrammeRegistry, ProgrammeRole};
use sebaya_proto::training::shortfalls;

use super::{CRED_PREFIX, REVOKE_PREFIX, TRAIN_PREFIX};
use crate::error::{Error, Result};

/// The modules a peer supporter must hold, current, to open a one-to-one pairing in a programme:
/// the whole core curriculum this version knows — psychological first aid (`pfa`), active
/// listening, boundaries and confidentiality, recognising risk and referring, and self-care.
/// One-to-one accompaniment is where a supporter is alone with someone who may be at risk, so
/// nothing of it is optional; self-care is in because burnt-out supporters miss warning signs.
pub const REQUIRED_FOR_PAIRING: [&str; 5] = [
    "pfa",
    "active-listening",
    "boundaries",
    "risk-referral",
    "self-care",
];

/// The module a member must hold, current, to run a programme group's sessions (add one, take
/// attendance, write its notes): leading a group of people who may be in distress is its own skill,
/// taught apart from one-to-one work (issue 14, item 11).
pub const REQUIRED_FOR_SESSIONS: [&str; 1] = ["group-facilitation"];

/// Whether the document or the envelope `changes` binds a pairing to a programme (any value the
/// envelope writes at `programme` counts here; whether it is a programme the creator is certified
/// in is [`creator_certified`]'s to judge).
pub(crate) fn binds_programme(doc: &AutoCommit, changes: &[Change]) -> bool {
    !bound_programmes(doc, changes).is_empty()
}

/// The rule for a group's `sessions` (`rules.rs`): in a group bound to a programme (`programme`,
/// the registry of the credentials the document and the envelope hold), the writer's person must
/// hold every module of [`REQUIRED_FOR_SESSIONS`] at the change's time `at`, per the training records
/// the document and the envelope publish. A group bound to none asks nothing more than its admin
/// rule (there is no programme to be trained in).
pub(crate) fn facilitator_trained(
    programme: Option<&ProgrammeRegistry>,
    doc: &AutoCommit,
    changes: &[Change],
    person: Option<[u8; 32]>,
    at: u64,
) -> bool {
    let Some(reg) = programme else {
        return true;
    };
    let Some(person) = person.map(PersonId) else {
        return false;
    };
    let records = published(doc, changes, TRAIN_PREFIX);
    shortfalls(reg, &records, &person, &REQUIRED_FOR_SESSIONS, at).is_empty()
}

/// Every value a document holds under root keys starting with `prefix` (every value of a conflict,
/// so nothing is hidden by a concurrent write), plus those `changes` put there.
pub(crate) fn published(doc: &AutoCommit, changes: &[Change], prefix: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for key in doc.keys(ROOT) {
        if !key.starts_with(prefix) {
            continue;
        }
        for (value, _) in doc.get_all(ROOT, key.as_str()).unwrap_or_default() {
            if let Value::Scalar(s) = value {
                if let ScalarValue::Bytes(b) = s.as_ref() {
                    out.push(b.clone());
                }
            }
        }
    }
    for change in changes {
        let Some(expanded) = super::expand(change) else {
            continue;
        };
        for op in expanded.operations {
            if let (ObjectId::Root, Key::Map(k), OpType::Put(ScalarValue::Bytes(b))) =
                (&op.obj, &op.key, &op.action)
            {
                if k.starts_with(prefix) {
                    out.push(b.clone());
                }
            }
        }
    }
    out
}

/// Every programme an envelope's pairing is bound to or claims: the document's, and each one the
/// envelope writes at `programme` (the creator binds a new pairing in the envelope that sets it up; a
/// later envelope rebinding it claims the new programme).
fn bound_programmes(doc: &AutoCommit, changes: &[Change]) -> Vec<[u8; 32]> {
    let mut found: Vec<[u8; 32]> = super::programme_of(doc).into_iter().collect();
    for v in super::claimed_programmes(changes) {
        // A value that names no programme binds to nothing a reader accepts; it is judged against
        // an impossible programme, so it never passes.
        let p = hex::decode(v)
            .ok()
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 32]);
        if !found.contains(&p) {
            found.push(p);
        }
    }
    found
}

/// The rule every receiving device applies to a pairing's `participant`, `supporter` and
/// `programme` keys (`rules.rs`, `Need::CertifiedCreator`): in a pairing bound to a programme, the
/// writing creator's person must, at the change's time `at`, hold `peer_supporter` or `coordinator`
/// there and count every module of [`REQUIRED_FOR_PAIRING`], per the grants, revocations and
/// training records the document and the envelope itself publish, in the programme the document
/// names and in every programme the envelope binds it to. A pairing bound to no programme asks
/// nothing (it makes no claim about training).
pub(crate) fn creator_certified(
    doc: &AutoCommit,
    changes: &[Change],
    person: Option<[u8; 32]>,
    at: u64,
) -> bool {
    let programmes = bound_programmes(doc, changes);
    if programmes.is_empty() {
        return true;
    }
    let Some(person) = person.map(PersonId) else {
        return false;
    };
    let grants = published(doc, changes, CRED_PREFIX);
    let revocations = published(doc, changes, REVOKE_PREFIX);
    let records = published(doc, changes, TRAIN_PREFIX);
    programmes.into_iter().all(|programme| {
        let mut reg = ProgrammeRegistry::new(programme);
        for g in &grants {
            let _ = reg.insert_grant(g);
        }
        for r in &revocations {
            let _ = reg.insert_revocation(r);
        }
        certified(&reg, &records, &person, at).is_ok()
    })
}

/// Whether `person` is a certified supporter at `now`: at least `peer_supporter` and every module of
/// [`REQUIRED_FOR_PAIRING`] current. `NotAllowed` without the role, `NotCertified` (the missing or
/// expired module ids, comma-separated) without the training.
pub(crate) fn certified<B: AsRef<[u8]>>(
    reg: &ProgrammeRegistry,
    records: &[B],
    person: &PersonId,
    now: u64,
) -> Result<()> {
    if reg
        .role_of(person, now)
        .is_none_or(|r| r < ProgrammeRole::PeerSupporter)
    {
        return Err(Error::NotAllowed(
            "only a peer supporter or coordinator of the programme accompanies one-to-one",
        ));
    }
    let gaps = shortfalls(reg, records, person, &REQUIRED_FOR_PAIRING, now);
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(Error::NotCertified(
            gaps.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(","),
        ))
    }
}
