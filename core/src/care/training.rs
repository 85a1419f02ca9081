//! The training register: which modules a peer supporter completed, who verified them, and until
//! when they hold (`docs/protocol.md`, section 21; `docs/roles.md`).
//!
//! A coordinator certifies a module for a person ([`Vault::certify_training`]): a signed
//! [`TrainingRecord`] by the programme key when this device holds it, else by the coordinator's
//! person key chained to their coordinator grant. What they hand over is a **training credential**:
//! the record followed by the issuer's grant chain (none for the programme key), so a device that
//! never met the coordinator can check it. The supporter keeps it ([`Vault::add_training_record`]).
//!
//! What it is for: one-to-one accompaniment. A pairing bound to a programme
//! ([`Vault::create_pairing`]) is opened only by a supporter with current training in every
//! module of [`REQUIRED_FOR_PAIRING`], else `NotCertified` and nothing is created; the supporter's
//! records and credentials go into the pairing (`train/<id>`, `cred/<id>`), and every receiving
//! device refuses the pairing's set-up from a creator who was not certified at the time
//! (`space/rules/credentials.rs`, `creator_certified`). When a supporter leaves, each of their pairings and case
//! notes is handed over ([`Vault::hand_over_space`]) to a certified supporter or a coordinator, who
//! presents their credentials ([`Vault::certification_presentation`]).

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ROOT, ReadDoc, ScalarValue};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use sebaya_proto::PersonId;
use sebaya_proto::programme::{
    CLOCK_SKEW, MAX_CHAIN_LEN, MAX_PROGRAMME_STATEMENT_LEN, ProgrammeRegistry, ProgrammeRole,
    SignedRoleGrant,
};
pub use sebaya_proto::training::Shortfall;
use sebaya_proto::training::{
    MAX_TRAINING_RECORD_LEN, SignedTrainingRecord, TrainingRecord, is_known_module,
    issuer_had_authority, shortfalls,
};

use crate::Vault;
use crate::care::programmes::now_secs;
use crate::error::{Error, Result};
use crate::space::Space;
use crate::space::credentials::{BytesList, GRANTS, load, save};
use crate::space::rules::credentials::{certified, published};
use crate::space::rules::{CRED_PREFIX, REVOKE_PREFIX, TRAIN_PREFIX};
use crate::store::Store;

/// Vault record of the training credentials kept for this person.
const TRAINING: &str = "training-records";
/// Most training credentials a presentation carries (five modules, renewed a few times).
const MAX_PRESENTED: usize = 32;

/// The modules a peer supporter must hold, current, to open a one-to-one pairing in a programme
/// (defined with the rule every receiving device applies, `space/rules/credentials.rs`).
pub use crate::space::rules::credentials::REQUIRED_FOR_PAIRING;

/// What a successor showed that goes into a handed-over space: role grants (`cred/<id>`) and
/// training records (`train/<id>`), so every member's device can check the successor.
pub(crate) type SuccessorCredentials = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Longest a certification made here holds, in days (the protocol allows 731).
pub const MAX_TRAINING_DAYS: u32 = 730;

/// Where a kept training record stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingStatus {
    /// It counts now.
    Current,
    /// Its time is over (or, dated ahead of this device's clock, not begun): the module needs a
    /// new certification.
    Expired,
    /// Its issuer's authority was withdrawn: the coordinator grant it chains to was revoked (or is
    /// not known to this device), so it proves nothing.
    Withdrawn,
}

impl TrainingStatus {
    /// Text for bindings and logs: `current`, `expired`, `withdrawn`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingStatus::Current => "current",
            TrainingStatus::Expired => "expired",
            TrainingStatus::Withdrawn => "withdrawn",
        }
    }
}

/// One training record as a list screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainingEntry {
    /// The record's id (SHA-256 of its signed bytes): the `train/<id>` key it is published under.
    pub id: [u8; 32],
    /// The programme.
    pub programme: [u8; 32],
    /// The module id (`training-module-<id>` names it in the catalogues).
    pub module: String,
    /// When the training was completed, Unix seconds.
    pub completed: u64,
    /// Until when it holds (inclusive), Unix seconds.
    pub expires: u64,
    /// Who verified it: the programme id, or the coordinator's person id.
    pub issuer: [u8; 32],
    /// Whether the programme key itself signed it (else a coordinator did).
    pub by_programme_key: bool,
    /// Where it stands now.
    pub status: TrainingStatus,
}

/// What a successor shows when a space is handed over to them: the grant chain proving their role,
/// and their training credentials. Each item is signed on its own; the successor's link request
/// (with its device certificate) ties them to the device being added.
#[derive(Serialize, Deserialize)]
struct Presentation {
    v: u8,
    role: Vec<ByteBuf>,
    training: Vec<ByteBuf>,
}

/// A kept record: its signed bytes and what they say.
type KeptRecord = (Vec<u8>, TrainingRecord);

fn bad<E>(_: E) -> Error {
    Error::BadCredential
}

/// Encodes a training credential: the signed record, then the issuer's grant chain.
fn encode_training_credential(record: &[u8], chain: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut list = vec![ByteBuf::from(record.to_vec())];
    list.extend(chain.iter().map(|g| ByteBuf::from(g.clone())));
    let mut out = Vec::new();
    ciborium::into_writer(&list, &mut out)
        .map_err(|_| Error::Internal("encode training credential"))?;
    Ok(out)
}

/// Decodes a training credential (bounded before anything is allocated): the record's bytes and
/// the chain's. Verifies nothing.
fn decode_training_credential(bytes: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let max = MAX_TRAINING_RECORD_LEN + MAX_CHAIN_LEN * (MAX_PROGRAMME_STATEMENT_LEN + 8) + 16;
    if bytes.len() > max {
        return Err(Error::BadCredential);
    }
    let list: Vec<ByteBuf> = sebaya_proto::cbor::decode(bytes, 4).map_err(|_| bad(()))?;
    if list.is_empty() || list.len() > 1 + MAX_CHAIN_LEN {
        return Err(Error::BadCredential);
    }
    let mut it = list.into_iter().map(|b| b.into_vec());
    let record = it.next().ok_or(Error::BadCredential)?;
    Ok((record, it.collect()))
}

/// A verified record out of its bytes.
fn read_record(bytes: &[u8]) -> Result<TrainingRecord> {
    SignedTrainingRecord::from_bytes(bytes)
        .and_then(|s| s.verify())
        .map_err(bad)
}

/// The modules required for a one-to-one pairing ([`REQUIRED_FOR_PAIRING`]), for apps that list
/// them.
pub fn required_training() -> &'static [&'static str] {
    &REQUIRED_FOR_PAIRING
}

impl Vault {
    /// The training credentials kept here for `programme` (verified records of this person), with a
    /// registry of the programme holding this device's grants and revocations plus every kept
    /// record's chain.
    pub(crate) fn kept_training(
        &self,
        programme: &[u8; 32],
    ) -> Result<(ProgrammeRegistry, Vec<KeptRecord>)> {
        let me = self.person_id().ok_or(Error::NoPerson)?;
        let mut reg = self.registry(*programme)?;
        let kept: BytesList = load(&self.store, TRAINING)?;
        let mut out = Vec::new();
        for c in &kept.0 {
            let Ok((bytes, chain)) = decode_training_credential(c) else {
                continue;
            };
            let Ok(rec) = read_record(&bytes) else {
                continue;
            };
            if rec.programme != *programme || rec.person != me {
                continue;
            }
            let _ = reg.insert_chain(&chain);
            out.push((bytes, rec));
        }
        Ok((reg, out))
    }

    /// A coordinator certifies that `person` completed `module` (one of
    /// [`sebaya_proto::training::KNOWN_MODULES`]) of `programme` at `completed` (Unix seconds, not in
    /// the future), for `valid_days` (1 to 730) from then. Signed by the programme key if this
    /// device holds it, else by this person's key as a coordinator of the programme, both now and at
    /// `completed` (`NotAllowed` otherwise). Returns the training credential to hand to the person.
    pub fn certify_training(
        &mut self,
        programme: &[u8; 32],
        person: &PersonId,
        module: &str,
        completed: u64,
        valid_days: u32,
    ) -> Result<Vec<u8>> {
        if !is_known_module(module) {
            return Err(Error::InvalidInput("unknown training module".into()));
        }
        if valid_days == 0 || valid_days > MAX_TRAINING_DAYS {
            return Err(Error::InvalidInput(
                "a certification holds from 1 to 730 days".into(),
            ));
        }
        let now = now_secs();
        if completed > now.saturating_add(CLOCK_SKEW) {
            return Err(Error::InvalidInput(
                "a training cannot be completed in the future".into(),
            ));
        }
        let expires = completed.saturating_add(u64::from(valid_days) * 86_400);
        if expires < now {
            return Err(Error::InvalidInput(
                "that certification would already have expired".into(),
            ));
        }
        let mut record = TrainingRecord {
            programme: *programme,
            person: *person,
            module: module.to_string(),
            completed,
            expires,
            issuer: *programme,
            chain: None,
        };
        let (signed, chain) = match self.programme_key(programme)? {
            Some(kp) => (record.sign(&kp).map_err(bad)?, Vec::new()),
            None => {
                let me = self.person_id().ok_or(Error::NoPerson)?;
                let pk = self.person.as_ref().ok_or(Error::NoPerson)?;
                if *person == me {
                    return Err(Error::InvalidInput(
                        "nobody certifies their own training".into(),
                    ));
                }
                let reg = self.registry(*programme)?;
                let coordinator = |t| reg.role_of(&me, t) == Some(ProgrammeRole::Coordinator);
                if !coordinator(now) || !coordinator(completed) {
                    return Err(Error::NotAllowed(
                        "only a coordinator of the programme, then and now, certifies training",
                    ));
                }
                let chain = reg.chain_for(&me, completed);
                let first = chain.first().ok_or(Error::BadCredential)?;
                record.issuer = me.0;
                record.chain = Some(SignedRoleGrant::from_bytes(first).map_err(bad)?.id());
                (pk.sign_training(&record)?, chain)
            }
        };
        encode_training_credential(signed.as_bytes(), &chain)
    }

    /// Keeps a training credential made for this person (the record and its issuer's chain).
    /// Refused with `BadCredential`, nothing kept, when it is damaged or forged, made for someone
    /// else, signed by someone who was not a coordinator when the training was completed (or whose
    /// grant was revoked), or already expired. Returns the entry as [`Vault::training`] lists it.
    pub fn add_training_record(&mut self, credential: &[u8]) -> Result<TrainingEntry> {
        let me = self.person_id().ok_or(Error::NoPerson)?;
        let (bytes, chain) = decode_training_credential(credential)?;
        let rec = read_record(&bytes)?;
        if rec.person != me {
            return Err(Error::BadCredential);
        }
        let mut reg = self.registry(rec.programme)?;
        reg.insert_chain(&chain).map_err(bad)?;
        let now = now_secs();
        if !issuer_had_authority(&reg, &rec) || !rec.is_current_at(now) {
            return Err(Error::BadCredential);
        }
        self.keep(GRANTS, &chain)?;
        let mut kept: BytesList = load(&self.store, TRAINING)?;
        let already = kept.0.iter().any(|c| {
            decode_training_credential(c).is_ok_and(|(b, _)| b.as_slice() == bytes.as_slice())
        });
        if !already {
            kept.0.push(ByteBuf::from(credential.to_vec()));
            save(&self.store, TRAINING, &kept)?;
        }
        Ok(entry(&reg, &bytes, rec, now))
    }

    /// This person's training records in `programme`, by module then completion date, each with
    /// where it stands now.
    pub fn training(&self, programme: &[u8; 32]) -> Result<Vec<TrainingEntry>> {
        let (reg, kept) = self.kept_training(programme)?;
        let now = now_secs();
        let mut out: Vec<TrainingEntry> = kept
            .into_iter()
            .map(|(bytes, rec)| entry(&reg, &bytes, rec, now))
            .collect();
        crate::order::sort_by(&mut out, |a, b| {
            a.module
                .cmp(&b.module)
                .then(a.completed.cmp(&b.completed))
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// The modules of [`REQUIRED_FOR_PAIRING`] this person does not hold, current, in `programme`
    /// now, with why; empty when they may open pairings there (training-wise).
    pub fn training_shortfalls(&self, programme: &[u8; 32]) -> Result<Vec<(String, Shortfall)>> {
        let me = self.person_id().ok_or(Error::NoPerson)?;
        let (reg, kept) = self.kept_training(programme)?;
        let records: Vec<&[u8]> = kept.iter().map(|(b, _)| b.as_slice()).collect();
        Ok(
            shortfalls(&reg, &records, &me, &REQUIRED_FOR_PAIRING, now_secs())
                .into_iter()
                .map(|(m, s)| (m.to_string(), s))
                .collect(),
        )
    }

    /// What this person shows to take over a pairing or case notes in `programme`
    /// ([`Vault::hand_over_space`]): the chain of their role now and the training credentials kept
    /// here. `NotAllowed` when they hold no role there.
    pub fn certification_presentation(&self, programme: &[u8; 32]) -> Result<Vec<u8>> {
        let me = self.person_id().ok_or(Error::NoPerson)?;
        let now = now_secs();
        let role = self.registry(*programme)?.chain_for(&me, now);
        if role.is_empty() {
            return Err(Error::NotAllowed(
                "this person holds no role in that programme",
            ));
        }
        let kept: BytesList = load(&self.store, TRAINING)?;
        let training: Vec<ByteBuf> = kept
            .0
            .iter()
            .filter(|c| {
                decode_training_credential(c)
                    .ok()
                    .and_then(|(b, _)| read_record(&b).ok())
                    .is_some_and(|r| r.programme == *programme && r.person == me)
            })
            .take(MAX_PRESENTED)
            .cloned()
            .collect();
        let mut out = Vec::new();
        ciborium::into_writer(
            &Presentation {
                v: 1,
                role: role.into_iter().map(ByteBuf::from).collect(),
                training,
            },
            &mut out,
        )
        .map_err(|_| Error::Internal("encode presentation"))?;
        Ok(out)
    }

    /// Checks what a successor shows when a space bound to `programme` (its document `doc`) is
    /// handed over to them ([`Vault::hand_over_space`]): their `presentation`
    /// ([`Vault::certification_presentation`]), against this device's grants and revocations and
    /// those `doc` holds. They must be a `coordinator` of the programme, or a `peer_supporter` with
    /// current training in every module of [`REQUIRED_FOR_PAIRING`] (`NotAllowed`, `NotCertified`,
    /// or `BadCredential` for a presentation that is damaged or not `successor`'s). Returns the
    /// grants and the training records to publish into the space, so every member's device can
    /// check them.
    pub(crate) fn successor_credentials(
        &self,
        doc: &automerge::AutoCommit,
        p: [u8; 32],
        successor: PersonId,
        presentation: &[u8],
    ) -> Result<SuccessorCredentials> {
        let mut grants: Vec<Vec<u8>> = Vec::new();
        let mut records: Vec<Vec<u8>> = Vec::new();
        let now = now_secs();
        let shown = decode_presentation(presentation)?;
        let mut reg = self.registry(p)?;
        for g in published(doc, &[], CRED_PREFIX) {
            let _ = reg.insert_grant(&g);
        }
        for r in published(doc, &[], REVOKE_PREFIX) {
            let _ = reg.insert_revocation(&r);
        }
        // The role chain starts with the successor's own grant.
        let first = shown.role.first().ok_or(Error::BadCredential)?;
        let grant = SignedRoleGrant::from_bytes(first)
            .and_then(|g| g.verify())
            .map_err(bad)?;
        if grant.person != successor || grant.programme != p {
            return Err(Error::BadCredential);
        }
        reg.insert_chain(&shown.role).map_err(bad)?;
        grants.extend(shown.role.iter().map(|b| b.to_vec()));
        for c in &shown.training {
            let (bytes, chain) = decode_training_credential(c)?;
            let rec = read_record(&bytes)?;
            if rec.person != successor || rec.programme != p {
                return Err(Error::BadCredential);
            }
            reg.insert_chain(&chain).map_err(bad)?;
            grants.extend(chain);
            records.push(bytes);
        }
        match reg.role_of(&successor, now) {
            Some(ProgrammeRole::Coordinator) => {}
            _ => certified(&reg, &records, &successor, now)?,
        }
        Ok((grants, records))
    }
}

impl Vault {
    /// Checks that `presentation` proves `supervisor` a coordinator of `p` now, against this
    /// device's grants and revocations (issue 14, item 12), and returns the grants to publish into
    /// the case notes so every member's device can check the same. `NotSupervisor` for an empty
    /// presentation or any other role, `BadCredential` for one that is damaged or another's.
    pub(crate) fn supervisor_credentials(
        &self,
        p: [u8; 32],
        supervisor: PersonId,
        presentation: &[u8],
    ) -> Result<Vec<Vec<u8>>> {
        if presentation.is_empty() {
            return Err(Error::NotSupervisor);
        }
        let shown = decode_presentation(presentation)?;
        let first = shown.role.first().ok_or(Error::NotSupervisor)?;
        let grant = SignedRoleGrant::from_bytes(first)
            .and_then(|g| g.verify())
            .map_err(bad)?;
        if grant.person != supervisor || grant.programme != p {
            return Err(Error::BadCredential);
        }
        let mut reg = self.registry(p)?;
        reg.insert_chain(&shown.role).map_err(bad)?;
        if reg.role_of(&supervisor, now_secs()) != Some(ProgrammeRole::Coordinator) {
            return Err(Error::NotSupervisor);
        }
        Ok(shown.role.iter().map(|b| b.to_vec()).collect())
    }
}

/// A kept record as a list shows it.
fn entry(reg: &ProgrammeRegistry, bytes: &[u8], rec: TrainingRecord, now: u64) -> TrainingEntry {
    let status = if !issuer_had_authority(reg, &rec) {
        TrainingStatus::Withdrawn
    } else if rec.is_current_at(now) {
        TrainingStatus::Current
    } else {
        TrainingStatus::Expired
    };
    TrainingEntry {
        id: crate::crypto::sha256(bytes),
        programme: rec.programme,
        by_programme_key: rec.chain.is_none(),
        module: rec.module,
        completed: rec.completed,
        expires: rec.expires,
        issuer: rec.issuer,
        status,
    }
}

/// Decodes a successor's presentation, bounded.
fn decode_presentation(bytes: &[u8]) -> Result<Presentation> {
    let max = (MAX_PRESENTED + MAX_CHAIN_LEN)
        * (MAX_TRAINING_RECORD_LEN + MAX_CHAIN_LEN * (MAX_PROGRAMME_STATEMENT_LEN + 8) + 32);
    if bytes.len() > max {
        return Err(Error::BadCredential);
    }
    let p: Presentation = ciborium::de::from_reader_with_recursion_limit(bytes, 4).map_err(bad)?;
    if p.v != 1
        || p.role.is_empty()
        || p.role.len() > MAX_CHAIN_LEN
        || p.training.len() > MAX_PRESENTED
    {
        return Err(Error::BadCredential);
    }
    Ok(p)
}

/// Puts signed bytes under `<prefix><sha256 hex>` in a space's document, those it lacks, in one
/// commit (the only write the content rules accept under these prefixes).
fn publish_under<B: AsRef<[u8]>>(
    store: &Store,
    space: &mut Space,
    prefix: &str,
    items: &[B],
) -> Result<()> {
    let mut changed = false;
    for b in items {
        let b = b.as_ref();
        let key = format!("{prefix}{}", hex::encode(crate::crypto::sha256(b)));
        if space.doc.get(ROOT, key.as_str())?.is_none() {
            space.doc.put(ROOT, key, ScalarValue::Bytes(b.to_vec()))?;
            changed = true;
        }
    }
    if changed {
        let now = i64::try_from(now_secs()).unwrap_or(i64::MAX);
        space
            .doc
            .commit_with(CommitOptions::default().with_time(now));
        space.persist(store)?;
    }
    Ok(())
}

/// Publishes training records (`train/<id>`).
pub(crate) fn publish_records<B: AsRef<[u8]>>(
    store: &Store,
    space: &mut Space,
    records: &[B],
) -> Result<()> {
    publish_under(store, space, TRAIN_PREFIX, records)
}

/// Publishes role grants (`cred/<id>`), as `space/credentials.rs` does for one's own.
pub(crate) fn publish_grants(store: &Store, space: &mut Space, grants: &[Vec<u8>]) -> Result<()> {
    publish_under(store, space, CRED_PREFIX, grants)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::identity::person::PersonKey;
    use crate::space::CODEC_BUNDLE;
    use crate::space::SpaceKind;
    use crate::space::rules::PROGRAMME_KEY;
    use crate::space::rules::tests::{Device, device};
    use automerge::AutoCommit;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use sebaya_proto::membership::{Op, Role};
    use sebaya_proto::programme::RoleGrant;

    /// Seconds at which the modified client writes (2025-06-15).
    const AT: u64 = 1_750_000_000;
    const DAY: u64 = 86_400;

    fn outgoing(d: &Device, s: &mut Space, seen: &mut Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap();
        let new: Vec<Vec<u8>> = s
            .unacked(&d.store)
            .unwrap()
            .into_iter()
            .filter(|e| !seen.contains(e))
            .collect();
        seen.extend(new.iter().cloned());
        new
    }

    fn commit_at(doc: &mut AutoCommit, secs: u64) {
        doc.commit_with(CommitOptions::default().with_time(secs as i64));
    }

    /// What a modified client publishes when it opens a pairing: a supporter's grant, and training
    /// records completed at `completed` and holding for a year, for `modules`.
    struct Scenario {
        programme: Ed25519KeyPair,
        supporter: PersonKey,
        supporter_dev: Device,
        participant: Device,
    }

    impl Scenario {
        fn new() -> Self {
            Scenario {
                programme: Ed25519KeyPair::from_seed_unchecked(&[0x50; 32]).unwrap(),
                supporter: PersonKey::from_seed(zeroize::Zeroizing::new([0x61; 32])).unwrap(),
                supporter_dev: device(1),
                participant: device(2),
            }
        }

        fn programme_id(&self) -> [u8; 32] {
            self.programme.public_key().as_ref().try_into().unwrap()
        }

        fn grant(&self) -> Vec<u8> {
            RoleGrant {
                programme: self.programme_id(),
                person: self.supporter.id(),
                role: ProgrammeRole::PeerSupporter,
                issuer: self.programme_id(),
                issued: AT - 100 * DAY,
                expires: AT + 300 * DAY,
                chain: None,
            }
            .sign(&self.programme)
            .unwrap()
            .into_bytes()
        }

        fn records(&self, modules: &[&str], completed: u64) -> Vec<Vec<u8>> {
            modules
                .iter()
                .map(|m| {
                    TrainingRecord {
                        programme: self.programme_id(),
                        person: self.supporter.id(),
                        module: m.to_string(),
                        completed,
                        expires: completed + 365 * DAY,
                        issuer: self.programme_id(),
                        chain: None,
                    }
                    .sign(&self.programme)
                    .unwrap()
                    .into_bytes()
                })
                .collect()
        }

        /// The supporter's (modified) client sets a pairing up, binds it with `published` records,
        /// either in the set-up's envelope or (`later`) in an envelope of its own; the participant's
        /// device receives everything. Returns the supporter's and the participant's copies and how
        /// many envelopes the participant's device quarantined.
        fn run(&self, records: &[Vec<u8>], later: bool) -> (Space, Space, u32) {
            let (s, p) = (&self.supporter_dev, &self.participant);
            let mut ss = Space::create(&s.store, SpaceKind::Pairing, &s.id).unwrap();
            crate::pairing::init(
                &mut ss.doc,
                &p.id.device.to_hex(),
                &s.id.device.to_hex(),
                (AT * 1000) as i64,
            )
            .unwrap();
            ss.persist(&s.store).unwrap();
            let cert = self
                .supporter
                .certify(s.id.device, s.id.x25519_public, AT)
                .unwrap();
            ss.write_statement(
                &s.store,
                &s.id,
                Op::Recertify {
                    device: s.id.device,
                    person: self.supporter.id().0,
                    x25519: s.id.x25519_public,
                    created: AT,
                    signature: cert.signature().unwrap(),
                },
            )
            .unwrap();
            ss.add_member(
                &s.store,
                &s.id,
                p.id.device,
                p.id.x25519_public,
                Role::Member,
                None,
            )
            .unwrap();
            let mut seen = Vec::new();
            let mut envelopes = Vec::new();
            if later {
                envelopes.extend(outgoing(s, &mut ss, &mut seen));
            }
            let grant = self.grant();
            for (prefix, b) in std::iter::once((CRED_PREFIX, &grant))
                .chain(records.iter().map(|r| (TRAIN_PREFIX, r)))
            {
                let key = format!("{prefix}{}", hex::encode(crate::crypto::sha256(b)));
                ss.doc
                    .put(ROOT, key, ScalarValue::Bytes(b.clone()))
                    .unwrap();
            }
            ss.doc
                .put(ROOT, PROGRAMME_KEY, hex::encode(self.programme_id()))
                .unwrap();
            commit_at(&mut ss.doc, AT + 1);
            ss.persist(&s.store).unwrap();
            envelopes.extend(outgoing(s, &mut ss, &mut seen));
            let mut ps = Space::adopt_at(
                &p.store,
                ss.id,
                SpaceKind::Pairing,
                zeroize::Zeroizing::new(*ss.key()),
                ss.epoch,
                p.id.device,
            )
            .unwrap();
            let mut all = ss.membership_envelopes(&s.store).unwrap();
            all.extend(envelopes);
            let r = ps.receive(&p.store, &p.id, &all).unwrap();
            (ss, ps, r.quarantined)
        }
    }

    /// A modified client without (current) training sets up a programme pairing: the participant's
    /// device refuses it, whether the binding comes with the set-up or after it. With every required
    /// module current, the same set-up is accepted.
    #[test]
    fn a_programme_pairing_by_an_uncertified_supporter_is_refused_on_receipt() {
        let sc = Scenario::new();
        // Certified: accepted whole.
        let current = sc.records(&REQUIRED_FOR_PAIRING, AT - 10 * DAY);
        let (mut ss, mut ps, q) = sc.run(&current, false);
        assert_eq!(q, 0);
        assert_eq!(
            crate::space::rules::programme_of(&ps.doc),
            Some(sc.programme_id())
        );
        assert!(crate::pairing::participant(&ps.doc).is_some());
        // Certified in this programme, the supporter's client rebinds the pairing to another one,
        // where it holds nothing: refused.
        let elsewhere = Ed25519KeyPair::from_seed_unchecked(&[0x51; 32]).unwrap();
        ss.doc
            .put(
                ROOT,
                PROGRAMME_KEY,
                hex::encode(elsewhere.public_key().as_ref()),
            )
            .unwrap();
        commit_at(&mut ss.doc, AT + 2);
        let s = &sc.supporter_dev;
        ss.persist(&s.store).unwrap();
        ss.seal_outgoing(&s.store, &s.id, CODEC_BUNDLE).unwrap();
        let all = ss.unacked(&s.store).unwrap();
        let p = &sc.participant;
        let r = ps.receive(&p.store, &p.id, &all).unwrap();
        assert_eq!(r.quarantined, 1);
        assert_eq!(
            crate::space::rules::programme_of(&ps.doc),
            Some(sc.programme_id())
        );

        // No training at all: the set-up envelope is refused whole.
        let (_, ps, q) = Scenario::new().run(&[], false);
        assert_eq!(q, 1);
        assert_eq!(crate::pairing::supporter(&ps.doc), None);
        assert_eq!(crate::space::rules::programme_of(&ps.doc), None);

        // One module short.
        let sc = Scenario::new();
        let four = sc.records(&REQUIRED_FOR_PAIRING[..4], AT - 10 * DAY);
        let (_, ps, q) = sc.run(&four, false);
        assert_eq!(q, 1);
        assert_eq!(crate::space::rules::programme_of(&ps.doc), None);

        // Every module, but expired before the pairing was set up.
        let sc = Scenario::new();
        let old = sc.records(&REQUIRED_FOR_PAIRING, AT - 400 * DAY);
        let (_, ps, q) = sc.run(&old, false);
        assert_eq!(q, 1);
        assert_eq!(crate::space::rules::programme_of(&ps.doc), None);

        // Set up unbound first (accepted: an unbound pairing claims nothing), then bound without
        // training in an envelope of its own: the binding is refused.
        let sc = Scenario::new();
        let (_, ps, q) = sc.run(&[], true);
        assert_eq!(q, 1);
        assert!(crate::pairing::participant(&ps.doc).is_some());
        assert_eq!(crate::space::rules::programme_of(&ps.doc), None);

        // Records signed by someone who is no coordinator (the participant's person, say) prove
        // nothing.
        let sc = Scenario::new();
        let stranger = PersonKey::from_seed(zeroize::Zeroizing::new([0x62; 32])).unwrap();
        let forged: Vec<Vec<u8>> = REQUIRED_FOR_PAIRING
            .iter()
            .map(|m| {
                stranger
                    .sign_training(&TrainingRecord {
                        programme: sc.programme_id(),
                        person: sc.supporter.id(),
                        module: m.to_string(),
                        completed: AT - DAY,
                        expires: AT + 300 * DAY,
                        issuer: stranger.id().0,
                        chain: Some([9; 32]),
                    })
                    .unwrap()
                    .into_bytes()
            })
            .collect();
        let (_, _, q) = sc.run(&forged, false);
        assert_eq!(q, 1);
    }

    #[test]
    fn training_credentials_are_bounded_and_round_trip() {
        let record = vec![7u8; 200];
        let chain = vec![vec![1u8; 250], vec![2u8; 280]];
        let c = encode_training_credential(&record, &chain).unwrap();
        assert_eq!(decode_training_credential(&c).unwrap(), (record, chain));
        assert!(decode_training_credential(&[0x80]).is_err(), "empty list");
        assert!(decode_training_credential(b"junk").is_err());
        let too_many: Vec<Vec<u8>> = (0..6).map(|_| vec![1u8; 10]).collect();
        let c = encode_training_credential(&[1], &too_many).unwrap();
        assert!(decode_training_credential(&c).is_err());
        assert!(decode_training_credential(&vec![0u8; 100_000]).is_err());
        assert_eq!(required_training(), &REQUIRED_FOR_PAIRING);
    }

    /// Protocol 21.6: the credential of 21.8's record by the coordinator, with the coordinator's
    /// grant of 19.10 as its chain, is `82` ‖ the record as a byte string ‖ the grant as one.
    #[test]
    fn the_training_credential_vector_is_byte_exact_and_documented() {
        use sebaya_proto::programme::ProgrammeRole;
        use sebaya_proto::training::TrainingRecord;
        const T0: u64 = 1_767_225_600;
        let key = |seed: u8| Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let public =
            |k: &Ed25519KeyPair| -> [u8; 32] { k.public_key().as_ref().try_into().unwrap() };
        let (programme, coordinator) = (key(0x50), key(0x51));
        let p = public(&programme);
        let grant = RoleGrant {
            programme: p,
            person: sebaya_proto::PersonId(public(&coordinator)),
            role: ProgrammeRole::Coordinator,
            issuer: p,
            issued: T0,
            expires: 1_798_761_600,
            chain: None,
        }
        .sign(&programme)
        .unwrap();
        let record = TrainingRecord {
            programme: p,
            person: sebaya_proto::PersonId(public(&key(0x52))),
            module: "active-listening".into(),
            completed: 1_767_398_400,
            expires: 1_798_934_400,
            issuer: public(&coordinator),
            chain: Some(grant.id()),
        }
        .sign(&coordinator)
        .unwrap();
        assert_eq!(
            hex::encode(record.id()),
            "69bd97b7368afbafe84095c9065fa72b5661cd953c6420830cbf0afbfdfb9311",
            "the record of 21.8"
        );
        let (r, g) = (record.as_bytes(), grant.as_bytes());
        let c = encode_training_credential(r, &[g.to_vec()]).unwrap();
        // CBOR by hand: array(2), then bytes(286) and bytes(243).
        let by_hand = [&[0x82, 0x59, 0x01, 0x1e][..], r, &[0x58, 0xf3], g].concat();
        assert_eq!(c, by_hand);
        assert_eq!(c.len(), 535);
        let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, &c));
        assert_eq!(
            digest,
            "8063aaf80059d56f698d595c202a2134757b3bb9a0f73c6d09705a01d7fbefd2"
        );
        let doc: String = include_str!("../../../docs/protocol.md")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(doc.contains(&digest), "protocol 21.6 lacks {digest}");
        assert!(doc.contains("`82`‖`59011e`‖therecordbythecoordinator"));
        assert_eq!(
            decode_training_credential(&c).unwrap(),
            (r.to_vec(), vec![g.to_vec()])
        );
    }
}
