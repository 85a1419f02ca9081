//! Programme roles: who is a participant, a peer supporter or a coordinator of a programme (a school
//! counselling programme, an NGO's service), proven by signed grants that chain to the programme's key.
//!
//! A programme is named by the Ed25519 public key of its **programme root key**, held by its
//! coordinators. A [`RoleGrant`] gives a person (their [`PersonId`]) a [`ProgrammeRole`] for a bounded
//! time. It is signed either by the programme root key, or by a coordinator's person root key, in which
//! case it names (`chain`) the grant that made its issuer a coordinator. A [`RoleRevocation`] withdraws
//! a grant. Anyone holding the statements (a peer, a relay, a carrier) can check them without a secret;
//! [`ProgrammeRegistry`] decides, from the set of statements it holds and a time, who holds which role.
//!
//! Wire form of both statements: `body ‖ signature`, where `body` is a canonical CBOR map (exactly the
//! bytes the reference encoder writes; anything else is refused, so a statement has one encoding) and
//! `signature` is the 64-byte Ed25519 signature by the issuer over `label ‖ body`. The labels are
//! [`crate::PROGRAMME_GRANT_SIGNATURE_LABEL`] and [`crate::PROGRAMME_REVOKE_SIGNATURE_LABEL`].
//! Layout, the validity rule, limits and test vectors: `docs/protocol.md`, section 19. Everything here
//! is pure computation (no I/O), safe on any thread.

use std::collections::{BTreeMap, BTreeSet};

use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};

use crate::error::ProtoError;
use crate::identity::{
    PersonId, decode_canonical, encode, sign_body, split_signed_within, verify_signature,
};
use crate::{PROGRAMME_GRANT_SIGNATURE_LABEL, PROGRAMME_REVOKE_SIGNATURE_LABEL};

/// Version of the grant and revocation bodies this build writes and accepts.
pub const PROGRAMME_V1: u8 = 1;
/// Largest signed grant or revocation a reader looks at; checked before anything is decoded. A v1
/// grant is at most 287 bytes, a v1 revocation at most 207; the slack leaves room for a later version
/// to be recognised.
pub const MAX_PROGRAMME_STATEMENT_LEN: usize = 1024;
/// Longest a grant may run: `expires − issued` of at most 731 days, two years even across a leap
/// day. Bounded so a lost or compromised key's grants die on their own, and coordinators re-certify.
pub const MAX_GRANT_LIFETIME: u64 = 731 * 86_400;
/// How far in the future a grant's `issued` may be and the grant still count, in seconds: the clocks
/// of cheap phones drift, and a grant made a minute "early" by the issuer's clock must not be lost.
pub const CLOCK_SKEW: u64 = 300;
/// Most grants in one chain, from the person's grant to the one the programme key signed, inclusive
/// (so at most three coordinators between the programme key and a person). Longer chains never
/// count: it bounds what a device presents and what a receiver walks.
pub const MAX_CHAIN_LEN: usize = 4;
/// Most grants one registry holds; more is `TooLarge`. A programme of a few hundred people renewing
/// every year stays far below it.
pub const MAX_GRANTS: usize = 10_000;
/// Most revocations one registry holds; more is `TooLarge`.
pub const MAX_REVOCATIONS: usize = 10_000;

/// A grant's or revocation's id: SHA-256 of its whole signed bytes (body and signature).
pub type StatementHash = [u8; 32];

/// A role in a programme. Ordered: `Participant < PeerSupporter < Coordinator`, so a person holding
/// several grants has the highest of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeRole {
    /// Takes part in the programme: journal, check-ins, groups, a pairing with a supporter.
    Participant,
    /// Trained and certified: facilitates groups, accompanies participants, writes case notes.
    PeerSupporter,
    /// Certifies supporters, supervises, receives referrals; may issue and revoke grants.
    Coordinator,
}

impl ProgrammeRole {
    /// The text the wire uses (`participant`, `peer_supporter`, `coordinator`), also for logs and
    /// bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgrammeRole::Participant => "participant",
            ProgrammeRole::PeerSupporter => "peer_supporter",
            ProgrammeRole::Coordinator => "coordinator",
        }
    }
}

/// A role grant: "`issuer` gives `person` the role `role` in `programme`, from `issued` until
/// `expires`". Verified with [`SignedRoleGrant`]; whether it counts at a given time is the
/// [`ProgrammeRegistry`]'s question (chain, revocations, expiry).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RoleGrant {
    /// The programme: the Ed25519 public key of its root key.
    pub programme: [u8; 32],
    /// The person given the role.
    pub person: PersonId,
    /// The role given.
    pub role: ProgrammeRole,
    /// Who signs: the programme key itself, or a coordinator's person id.
    pub issuer: [u8; 32],
    /// From when the grant counts, Unix seconds (the issuer's clock; [`CLOCK_SKEW`] of tolerance).
    pub issued: u64,
    /// Until when the grant counts (inclusive), Unix seconds; after `issued`, at most
    /// [`MAX_GRANT_LIFETIME`] later.
    pub expires: u64,
    /// `None` when the programme key signs; otherwise the id of the grant that made `issuer` a
    /// coordinator of the programme, so a receiver finds the path to the programme key.
    pub chain: Option<StatementHash>,
}

/// A role revocation: "`issuer` withdraws the grant `grant` of `programme`". It counts when `issuer`
/// is the programme key or a coordinator (section 19.5); `time` is informative.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RoleRevocation {
    /// The programme.
    pub programme: [u8; 32],
    /// The id of the revoked grant ([`SignedRoleGrant::id`]).
    pub grant: StatementHash,
    /// Who signs: the programme key, or a person (who must be a coordinator for it to count).
    pub issuer: [u8; 32],
    /// When the revocation was made, Unix seconds (informative: a counting revocation revokes at every
    /// time, so a revoker's wrong clock cannot delay it).
    pub time: u64,
}

/// CBOR body of a grant. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct GrantBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    programme: Vec<u8>,
    #[serde(with = "serde_bytes")]
    person: Vec<u8>,
    role: ProgrammeRole,
    #[serde(with = "serde_bytes")]
    issuer: Vec<u8>,
    issued: u64,
    expires: u64,
    #[serde(with = "serde_bytes")]
    chain: Option<Vec<u8>>,
}

/// CBOR body of a revocation. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct RevokeBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    programme: Vec<u8>,
    #[serde(with = "serde_bytes")]
    grant: Vec<u8>,
    #[serde(with = "serde_bytes")]
    issuer: Vec<u8>,
    time: u64,
}

fn check_version(v: u8) -> Result<(), ProtoError> {
    if v == PROGRAMME_V1 {
        Ok(())
    } else {
        Err(ProtoError::Malformed("unsupported statement version"))
    }
}

fn bytes32(bytes: &[u8], wrong_length: &'static str) -> Result<[u8; 32], ProtoError> {
    bytes
        .try_into()
        .map_err(|_| ProtoError::Malformed(wrong_length))
}

/// A 32-byte Ed25519 key that is not a small-order point (under which a signature proves nothing).
fn strong_key(
    bytes: &[u8],
    wrong_length: &'static str,
    weak: &'static str,
) -> Result<[u8; 32], ProtoError> {
    let key = bytes32(bytes, wrong_length)?;
    if PersonId(key).is_weak() {
        return Err(ProtoError::Malformed(weak));
    }
    Ok(key)
}

/// Splits `body ‖ signature` after bounding the length.
fn split_signed(bytes: &[u8]) -> Result<(&[u8], &[u8]), ProtoError> {
    split_signed_within(
        bytes,
        MAX_PROGRAMME_STATEMENT_LEN,
        "signed programme statement",
    )
}

fn sha256(bytes: &[u8]) -> StatementHash {
    let mut id = [0u8; 32];
    id.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    id
}

impl RoleGrant {
    /// The canonical CBOR body: the bytes the issuer signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&GrantBody {
            v: PROGRAMME_V1,
            programme: self.programme.to_vec(),
            person: self.person.0.to_vec(),
            role: self.role,
            issuer: self.issuer.to_vec(),
            issued: self.issued,
            expires: self.expires,
            chain: self.chain.map(|c| c.to_vec()),
        })
    }

    /// Reads a body (without signature): canonical form, version 1, 32-byte keys and ids, no weak key,
    /// an issuer that is not the person, a chain exactly when a coordinator issues, a lifetime within
    /// bounds. Checks no signature: use [`SignedRoleGrant::verify`] for anything received.
    pub fn from_body(bytes: &[u8]) -> Result<RoleGrant, ProtoError> {
        let b: GrantBody = decode_canonical(bytes)?;
        check_version(b.v)?;
        let programme = strong_key(
            &b.programme,
            "programme id has the wrong length",
            "weak programme key",
        )?;
        let person = PersonId(strong_key(
            &b.person,
            "PersonId has the wrong length",
            "weak person key",
        )?);
        let issuer = strong_key(
            &b.issuer,
            "issuer key has the wrong length",
            "weak issuer key",
        )?;
        let chain = match &b.chain {
            None => None,
            Some(c) => Some(bytes32(c, "grant id has the wrong length")?),
        };
        let grant = RoleGrant {
            programme,
            person,
            role: b.role,
            issuer,
            issued: b.issued,
            expires: b.expires,
            chain,
        };
        grant.check()?;
        Ok(grant)
    }

    /// The rules a grant obeys on its own, before any registry looks at it.
    fn check(&self) -> Result<(), ProtoError> {
        if self.person.0 == self.issuer {
            return Err(ProtoError::Malformed("nobody grants a role to themselves"));
        }
        if self.person.0 == self.programme {
            return Err(ProtoError::Malformed("the programme key is not a person"));
        }
        match (self.issuer == self.programme, self.chain.is_some()) {
            (true, true) => {
                return Err(ProtoError::Malformed(
                    "a grant by the programme key has no chain",
                ));
            }
            (false, false) => {
                return Err(ProtoError::Malformed(
                    "a grant by a coordinator names its chain",
                ));
            }
            _ => {}
        }
        if self.expires <= self.issued {
            return Err(ProtoError::Malformed("a grant expires after it is issued"));
        }
        if self.expires - self.issued > MAX_GRANT_LIFETIME {
            return Err(ProtoError::Malformed("a grant runs for at most two years"));
        }
        Ok(())
    }

    /// Whether `now` lies in the grant's time window: `issued ≤ now + CLOCK_SKEW` and
    /// `now ≤ expires`. Says nothing of signature, chain or revocation.
    pub fn is_current_at(&self, now: u64) -> bool {
        self.issued <= now.saturating_add(CLOCK_SKEW) && now <= self.expires
    }

    /// Signs the grant with the issuer's key (the programme root key, or the coordinator's person root
    /// key). Refuses a signer that is not `self.issuer`, and a grant a reader would refuse.
    pub fn sign(&self, issuer_key: &Ed25519KeyPair) -> Result<SignedRoleGrant, ProtoError> {
        let body = self.to_body()?;
        RoleGrant::from_body(&body)?;
        let bytes = sign_body(
            PROGRAMME_GRANT_SIGNATURE_LABEL,
            body,
            &self.issuer,
            issuer_key,
            "signer is not the statement's issuer",
        )?;
        Ok(SignedRoleGrant { bytes })
    }
}

impl RoleRevocation {
    /// The canonical CBOR body: the bytes the issuer signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&RevokeBody {
            v: PROGRAMME_V1,
            programme: self.programme.to_vec(),
            grant: self.grant.to_vec(),
            issuer: self.issuer.to_vec(),
            time: self.time,
        })
    }

    /// Reads a body (without signature): canonical form, version 1, 32-byte fields, no weak key.
    /// Checks no signature.
    pub fn from_body(bytes: &[u8]) -> Result<RoleRevocation, ProtoError> {
        let b: RevokeBody = decode_canonical(bytes)?;
        check_version(b.v)?;
        Ok(RoleRevocation {
            programme: strong_key(
                &b.programme,
                "programme id has the wrong length",
                "weak programme key",
            )?,
            grant: bytes32(&b.grant, "grant id has the wrong length")?,
            issuer: strong_key(
                &b.issuer,
                "issuer key has the wrong length",
                "weak issuer key",
            )?,
            time: b.time,
        })
    }

    /// Signs the revocation with the issuer's key (which must be `self.issuer`).
    pub fn sign(&self, issuer_key: &Ed25519KeyPair) -> Result<SignedRoleRevocation, ProtoError> {
        let body = self.to_body()?;
        RoleRevocation::from_body(&body)?;
        let bytes = sign_body(
            PROGRAMME_REVOKE_SIGNATURE_LABEL,
            body,
            &self.issuer,
            issuer_key,
            "signer is not the statement's issuer",
        )?;
        Ok(SignedRoleRevocation { bytes })
    }
}

/// A role grant as it travels: `body ‖ signature`. Holds the exact bytes; [`Self::verify`] reads the
/// grant out of them only if the issuer's signature holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedRoleGrant {
    bytes: Vec<u8>,
}

impl SignedRoleGrant {
    /// Takes received bytes, checking only their length (at most [`MAX_PROGRAMME_STATEMENT_LEN`]);
    /// nothing is trusted until [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        split_signed(bytes)?;
        Ok(SignedRoleGrant {
            bytes: bytes.to_vec(),
        })
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the grant, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The grant id: SHA-256 of the whole signed bytes. What a coordinator's grants name as `chain`
    /// and what revocations name.
    pub fn id(&self) -> StatementHash {
        sha256(&self.bytes)
    }

    /// Checks everything a grant can be checked for on its own and returns it: length bound,
    /// canonical CBOR body, version 1, 32-byte keys, no small-order programme, person or issuer key,
    /// the rules of [`RoleGrant::from_body`], and the issuer's Ed25519 signature over
    /// `"sebaya/v1/programme-grant" ‖ body`. Any altered byte fails.
    pub fn verify(&self) -> Result<RoleGrant, ProtoError> {
        let (body, sig) = split_signed(&self.bytes)?;
        let grant = RoleGrant::from_body(body)?;
        verify_signature(PROGRAMME_GRANT_SIGNATURE_LABEL, &grant.issuer, body, sig)?;
        Ok(grant)
    }
}

/// A role revocation as it travels: `body ‖ signature`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedRoleRevocation {
    bytes: Vec<u8>,
}

impl SignedRoleRevocation {
    /// Takes received bytes, checking only their length; nothing is trusted until [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        split_signed(bytes)?;
        Ok(SignedRoleRevocation {
            bytes: bytes.to_vec(),
        })
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the revocation, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The revocation id: SHA-256 of the whole signed bytes (so a registry keeps each once).
    pub fn id(&self) -> StatementHash {
        sha256(&self.bytes)
    }

    /// Checks everything (as [`SignedRoleGrant::verify`], under the label
    /// `"sebaya/v1/programme-revoke"`) and returns the revocation.
    pub fn verify(&self) -> Result<RoleRevocation, ProtoError> {
        let (body, sig) = split_signed(&self.bytes)?;
        let rev = RoleRevocation::from_body(body)?;
        verify_signature(PROGRAMME_REVOKE_SIGNATURE_LABEL, &rev.issuer, body, sig)?;
        Ok(rev)
    }
}

/// A verified grant and its exact bytes (kept so it can be presented again).
#[derive(Clone, Debug)]
struct HeldGrant {
    grant: RoleGrant,
    bytes: Vec<u8>,
}

/// The grants and revocations of one programme that a device (or relay) holds, and the rule that says
/// who holds which role at a given time (section 19.5).
///
/// Statements may arrive in any order, any number of times; each is verified on insertion (signature,
/// form, programme) and kept, even when it does not count yet (a grant whose chain has not arrived, a
/// revocation by someone not yet a coordinator). Every answer is a function of the **set** of
/// statements held and of `now`, so two devices holding the same statements agree. Pure computation;
/// queries walk at most [`MAX_CHAIN_LEN`] grants per grant held.
#[derive(Clone, Debug)]
pub struct ProgrammeRegistry {
    programme: [u8; 32],
    grants: BTreeMap<StatementHash, HeldGrant>,
    by_person: BTreeMap<PersonId, BTreeSet<StatementHash>>,
    /// Revocation id → revocation, so a revocation is kept once.
    revocations: BTreeMap<StatementHash, RoleRevocation>,
    /// Grant id → the issuers of the revocations that name it.
    revokers: BTreeMap<StatementHash, BTreeSet<[u8; 32]>>,
}

/// Which revocations count while walking a chain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Only the programme key's: used to decide who is a coordinator whose revocations count.
    ProgrammeKeyOnly,
    /// Every counting revocation: the final answer.
    Final,
}

impl ProgrammeRegistry {
    /// An empty registry for the programme whose root public key is `programme`. (If that key is a
    /// small-order point, no grant for it ever verifies, so the registry stays empty.)
    pub fn new(programme: [u8; 32]) -> Self {
        ProgrammeRegistry {
            programme,
            grants: BTreeMap::new(),
            by_person: BTreeMap::new(),
            revocations: BTreeMap::new(),
            revokers: BTreeMap::new(),
        }
    }

    /// The programme this registry is for.
    pub fn programme(&self) -> [u8; 32] {
        self.programme
    }

    /// How many grants are held (valid or not).
    pub fn grant_count(&self) -> usize {
        self.grants.len()
    }

    /// How many revocations are held (counting or not).
    pub fn revocation_count(&self) -> usize {
        self.revocations.len()
    }

    /// Verifies a grant without storing it: bytes, signature, this programme.
    fn prepare_grant(&self, bytes: &[u8]) -> Result<(StatementHash, HeldGrant), ProtoError> {
        let signed = SignedRoleGrant::from_bytes(bytes)?;
        let grant = signed.verify()?;
        if grant.programme != self.programme {
            return Err(ProtoError::Malformed("grant of another programme"));
        }
        Ok((
            signed.id(),
            HeldGrant {
                grant,
                bytes: signed.into_bytes(),
            },
        ))
    }

    fn store_grant(&mut self, id: StatementHash, held: HeldGrant) {
        self.by_person
            .entry(held.grant.person)
            .or_default()
            .insert(id);
        self.grants.insert(id, held);
    }

    fn grants_full(&self, adding: usize) -> Result<(), ProtoError> {
        let len = self.grants.len().saturating_add(adding);
        if len > MAX_GRANTS {
            return Err(ProtoError::TooLarge {
                what: "programme grants",
                len: len as u64,
                max: MAX_GRANTS as u64,
            });
        }
        Ok(())
    }

    /// Verifies and keeps a signed grant; returns its id. Refused (and nothing changes) when the bytes
    /// are malformed or forged, the grant is of another programme (`Malformed`), or
    /// [`MAX_GRANTS`] are held already (`TooLarge`). Inserting a held grant again changes nothing.
    pub fn insert_grant(&mut self, bytes: &[u8]) -> Result<StatementHash, ProtoError> {
        let (id, held) = self.prepare_grant(bytes)?;
        if !self.grants.contains_key(&id) {
            self.grants_full(1)?;
            self.store_grant(id, held);
        }
        Ok(id)
    }

    /// Verifies and keeps a signed revocation; returns its id. Refused (and nothing changes) when the
    /// bytes are malformed or forged, the revocation is of another programme, or
    /// [`MAX_REVOCATIONS`] are held already. A revocation whose issuer is not (yet) a coordinator is
    /// kept: whether it counts is decided at each query.
    pub fn insert_revocation(&mut self, bytes: &[u8]) -> Result<StatementHash, ProtoError> {
        let signed = SignedRoleRevocation::from_bytes(bytes)?;
        let rev = signed.verify()?;
        if rev.programme != self.programme {
            return Err(ProtoError::Malformed("revocation of another programme"));
        }
        let id = signed.id();
        if !self.revocations.contains_key(&id) {
            if self.revocations.len() >= MAX_REVOCATIONS {
                return Err(ProtoError::TooLarge {
                    what: "programme revocations",
                    len: self.revocations.len() as u64 + 1,
                    max: MAX_REVOCATIONS as u64,
                });
            }
            self.revocations.insert(id, rev);
            self.revokers
                .entry(rev.grant)
                .or_default()
                .insert(rev.issuer);
        }
        Ok(id)
    }

    /// Inserts a presented chain (what [`Self::chain_for`] returns on the presenting device): at most
    /// [`MAX_CHAIN_LEN`] grants, all verified before any is kept, so a chain with one bad grant
    /// changes nothing.
    pub fn insert_chain<B: AsRef<[u8]>>(&mut self, chain: &[B]) -> Result<(), ProtoError> {
        if chain.len() > MAX_CHAIN_LEN {
            return Err(ProtoError::TooLarge {
                what: "grant chain",
                len: chain.len() as u64,
                max: MAX_CHAIN_LEN as u64,
            });
        }
        let mut new = BTreeMap::new();
        for bytes in chain {
            let (id, held) = self.prepare_grant(bytes.as_ref())?;
            if !self.grants.contains_key(&id) {
                new.insert(id, held);
            }
        }
        self.grants_full(new.len())?;
        for (id, held) in new {
            self.store_grant(id, held);
        }
        Ok(())
    }

    /// The held grant `id` (verified when it was inserted), valid or not: what a statement that
    /// names it as `chain` (a training record, `training.rs`) checks its issuer and role against.
    pub fn grant(&self, id: &StatementHash) -> Option<&RoleGrant> {
        self.grants.get(id).map(|h| &h.grant)
    }

    /// Whether the grant `id` is held and valid at `now` (section 19.5).
    pub fn is_grant_valid(&self, id: &StatementHash, now: u64) -> bool {
        Evaluation::new(self, now).depth(id, Stage::Final).is_some()
    }

    /// The highest role `person` holds at `now` through a valid grant, if any.
    pub fn role_of(&self, person: &PersonId, now: u64) -> Option<ProgrammeRole> {
        Evaluation::new(self, now)
            .best(person)
            .map(|(_, role)| role)
    }

    /// Every person holding a role at `now`, with their highest role.
    pub fn roles(&self, now: u64) -> BTreeMap<PersonId, ProgrammeRole> {
        let mut eval = Evaluation::new(self, now);
        self.by_person
            .keys()
            .filter_map(|p| eval.best(p).map(|(_, role)| (*p, role)))
            .collect()
    }

    /// The signed grants that prove `person`'s role at `now`: their best grant (highest role, then
    /// shortest chain, then latest expiry, then smallest id) first, then the grant that made its
    /// issuer a coordinator, and so on up to the grant the programme key signed. At most
    /// [`MAX_CHAIN_LEN`] grants; empty when the person holds no role. A receiver inserts them
    /// ([`Self::insert_chain`]) into its own registry, with the revocations it knows, and asks
    /// [`Self::role_of`].
    pub fn chain_for(&self, person: &PersonId, now: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let Some((mut id, _)) = Evaluation::new(self, now).best(person) else {
            return out;
        };
        while out.len() < MAX_CHAIN_LEN {
            let Some(held) = self.grants.get(&id) else {
                break;
            };
            out.push(held.bytes.clone());
            match held.grant.chain {
                Some(next) => id = next,
                None => break,
            }
        }
        out
    }
}

/// One evaluation of the rule at one time, caching who is a coordinator for the first stage.
struct Evaluation<'a> {
    reg: &'a ProgrammeRegistry,
    now: u64,
    first_stage_coordinators: BTreeMap<[u8; 32], bool>,
}

impl<'a> Evaluation<'a> {
    fn new(reg: &'a ProgrammeRegistry, now: u64) -> Self {
        Evaluation {
            reg,
            now,
            first_stage_coordinators: BTreeMap::new(),
        }
    }

    /// Whether a counting revocation (at this stage) names the grant.
    fn revoked(&mut self, id: &StatementHash, stage: Stage) -> bool {
        let Some(issuers) = self.reg.revokers.get(id) else {
            return false;
        };
        if issuers.contains(&self.reg.programme) {
            return true;
        }
        match stage {
            Stage::ProgrammeKeyOnly => false,
            Stage::Final => issuers
                .iter()
                .any(|issuer| self.is_first_stage_coordinator(issuer)),
        }
    }

    /// Whether `person` holds a coordinator grant valid at `now` when only the programme key's
    /// revocations count: who may revoke. (A stage of its own, so that two coordinators revoking
    /// each other does not make the rule circular: both revocations count.)
    fn is_first_stage_coordinator(&mut self, person: &[u8; 32]) -> bool {
        if let Some(known) = self.first_stage_coordinators.get(person) {
            return *known;
        }
        let reg = self.reg;
        let is = reg.by_person.get(&PersonId(*person)).is_some_and(|ids| {
            ids.iter().any(|id| {
                reg.grants
                    .get(id)
                    .is_some_and(|h| h.grant.role == ProgrammeRole::Coordinator)
                    && self.depth(id, Stage::ProgrammeKeyOnly).is_some()
            })
        });
        self.first_stage_coordinators.insert(*person, is);
        is
    }

    /// The number of grants from `id` to the programme key, inclusive, if the grant is valid at `now`
    /// at this stage: every grant on the way is held, current, not revoked, each names as `chain` a
    /// coordinator grant of its own issuer, and the last is signed by the programme key, within
    /// [`MAX_CHAIN_LEN`] grants. The bound also ends any cycle.
    fn depth(&mut self, id: &StatementHash, stage: Stage) -> Option<usize> {
        let reg = self.reg;
        let mut current = *id;
        let mut issuer_below: Option<[u8; 32]> = None;
        for depth in 1..=MAX_CHAIN_LEN {
            let held = reg.grants.get(&current)?;
            let g = &held.grant;
            if let Some(issuer) = issuer_below {
                if g.role != ProgrammeRole::Coordinator || g.person.0 != issuer {
                    return None;
                }
            }
            if !g.is_current_at(self.now) || self.revoked(&current, stage) {
                return None;
            }
            match g.chain {
                // `from_body` guarantees: no chain exactly when the programme key signed.
                None => return (g.issuer == reg.programme).then_some(depth),
                Some(next) => {
                    issuer_below = Some(g.issuer);
                    current = next;
                }
            }
        }
        None
    }

    /// The person's best valid grant and its role: highest role, then shortest chain, then latest
    /// expiry, then smallest id.
    fn best(&mut self, person: &PersonId) -> Option<(StatementHash, ProgrammeRole)> {
        let reg = self.reg;
        let ids = reg.by_person.get(person)?;
        let mut best: Option<(
            ProgrammeRole,
            std::cmp::Reverse<usize>,
            u64,
            std::cmp::Reverse<StatementHash>,
        )> = None;
        for id in ids {
            let Some(held) = reg.grants.get(id) else {
                continue;
            };
            let Some(depth) = self.depth(id, Stage::Final) else {
                continue;
            };
            let key = (
                held.grant.role,
                std::cmp::Reverse(depth),
                held.grant.expires,
                std::cmp::Reverse(*id),
            );
            if best.as_ref().is_none_or(|b| key > *b) {
                best = Some(key);
            }
        }
        best.map(|(role, _, _, std::cmp::Reverse(id))| (id, role))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::identity::{SIGNATURE_LEN, signed_message};
    use ring::signature::KeyPair;

    /// The programme root key of the vectors (`docs/protocol.md`, 19.10): Ed25519 seed `50` × 32.
    const PROGRAMME_SEED: [u8; 32] = [0x50; 32];
    /// The coordinator's person root key: seed `51` × 32.
    const COORDINATOR_SEED: [u8; 32] = [0x51; 32];
    /// The peer supporter's person root key: seed `52` × 32.
    const SUPPORTER_SEED: [u8; 32] = [0x52; 32];
    /// 2026-01-01T00:00:00Z.
    const T0: u64 = 1_767_225_600;
    const DAY: u64 = 86_400;

    const ROOT_GRANT_HEX: &str = concat!(
        "a86176016970726f6772616d6d6558203ef08959033028c8fc6fc6d491a12548",
        "e78df6aefb2d7c2c190c3f78cef3f50b66706572736f6e5820c050c5637a44fa",
        "8629fff3cccce2300cb362a63d99d95fc54145266f4332445a64726f6c656b63",
        "6f6f7264696e61746f726669737375657258203ef08959033028c8fc6fc6d491",
        "a12548e78df6aefb2d7c2c190c3f78cef3f50b666973737565641a6955b90067",
        "657870697265731a6b36ec8065636861696ef6ab45204dfa4b2131c17055da4f",
        "c4999afb252c57a669874cdb95c91e71fdd37e352a4eedd07d4d8a8c2bd0517c",
        "dd56da3f4e927cd62645ab10c59be826c0b500",
    );
    const ROOT_GRANT_ID_HEX: &str =
        "c61c0ec8dcad84a2f62eb2c56e179904f56f7b53a412b59964b463dec70dd9ad";
    const COORDINATOR_GRANT_HEX: &str = concat!(
        "a86176016970726f6772616d6d6558203ef08959033028c8fc6fc6d491a12548",
        "e78df6aefb2d7c2c190c3f78cef3f50b66706572736f6e58202012cb90ca60e8",
        "e5d8daf66e2272d2233e0486d557e8c66141ed8920177d7eb764726f6c656e70",
        "6565725f737570706f72746572666973737565725820c050c5637a44fa8629ff",
        "f3cccce2300cb362a63d99d95fc54145266f4332445a666973737565641a6957",
        "0a8067657870697265731a6b383e0065636861696e5820c61c0ec8dcad84a2f6",
        "2eb2c56e179904f56f7b53a412b59964b463dec70dd9aded66ab6e37f04ea8eb",
        "e966b7178017efd53583136b08cdf08af4ccbc23810c27189955f6ea903cf399",
        "c82470cb2438356e707b38361a958c6ef69d144b795b0d",
    );
    const COORDINATOR_GRANT_ID_HEX: &str =
        "fcc772486bd756491028993276f7cd15c89236e514370c1851aebb5ed1e97491";
    const REVOKE_HEX: &str = concat!(
        "a56176016970726f6772616d6d6558203ef08959033028c8fc6fc6d491a12548",
        "e78df6aefb2d7c2c190c3f78cef3f50b656772616e745820fcc772486bd75649",
        "1028993276f7cd15c89236e514370c1851aebb5ed1e974916669737375657258",
        "203ef08959033028c8fc6fc6d491a12548e78df6aefb2d7c2c190c3f78cef3f5",
        "0b6474696d651a697e9780b72a57e34aae304af75856df60e8651261f7b5d711",
        "d2492306c115c64a741cfa28c146f8da28b0148823e2f46b4302456b361d94ca",
        "275a5e08865a67bdcc8d01",
    );
    const REVOKE_ID_HEX: &str = "171d8fd9c73557a19f2947ae1808cc4671ecf76db2dfbf6b9ccd344206d9684e";
    /// The section holding the vectors: `docs/protocol.md`, section 19.
    const SPEC: &str = include_str!("../../docs/protocol.md");

    fn key(seed: &[u8; 32]) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(seed).unwrap()
    }

    fn pub_of(seed: &[u8; 32]) -> [u8; 32] {
        key(seed).public_key().as_ref().try_into().unwrap()
    }

    /// The programme key gives the coordinator `coordinator` for the year 2026.
    fn root_grant() -> RoleGrant {
        RoleGrant {
            programme: pub_of(&PROGRAMME_SEED),
            person: PersonId(pub_of(&COORDINATOR_SEED)),
            role: ProgrammeRole::Coordinator,
            issuer: pub_of(&PROGRAMME_SEED),
            issued: T0,
            expires: T0 + 365 * DAY,
            chain: None,
        }
    }

    /// The coordinator gives the supporter `peer_supporter`, a day later, chained to `root_grant`.
    fn coordinator_grant() -> RoleGrant {
        RoleGrant {
            programme: pub_of(&PROGRAMME_SEED),
            person: PersonId(pub_of(&SUPPORTER_SEED)),
            role: ProgrammeRole::PeerSupporter,
            issuer: pub_of(&COORDINATOR_SEED),
            issued: T0 + DAY,
            expires: T0 + DAY + 365 * DAY,
            chain: Some(root_grant().sign(&key(&PROGRAMME_SEED)).unwrap().id()),
        }
    }

    /// The programme key revokes the supporter's grant on 2026-02-01.
    fn revocation() -> RoleRevocation {
        RoleRevocation {
            programme: pub_of(&PROGRAMME_SEED),
            grant: coordinator_grant()
                .sign(&key(&COORDINATOR_SEED))
                .unwrap()
                .id(),
            issuer: pub_of(&PROGRAMME_SEED),
            time: T0 + 31 * DAY,
        }
    }

    #[test]
    #[ignore]
    fn print_vectors() {
        for (name, seed) in [
            ("programme", PROGRAMME_SEED),
            ("coordinator", COORDINATOR_SEED),
            ("supporter", SUPPORTER_SEED),
        ] {
            println!("{name} {}", hex::encode(pub_of(&seed)));
        }
        let g = root_grant().sign(&key(&PROGRAMME_SEED)).unwrap();
        println!(
            "root grant body {} ({} bytes)",
            hex::encode(root_grant().to_body().unwrap()),
            root_grant().to_body().unwrap().len()
        );
        println!(
            "root grant {} ({} bytes)",
            hex::encode(g.as_bytes()),
            g.as_bytes().len()
        );
        println!("root grant id {}", hex::encode(g.id()));
        let g = coordinator_grant().sign(&key(&COORDINATOR_SEED)).unwrap();
        println!(
            "coordinator grant body {} ({} bytes)",
            hex::encode(coordinator_grant().to_body().unwrap()),
            coordinator_grant().to_body().unwrap().len()
        );
        println!(
            "coordinator grant {} ({} bytes)",
            hex::encode(g.as_bytes()),
            g.as_bytes().len()
        );
        println!("coordinator grant id {}", hex::encode(g.id()));
        let r = revocation().sign(&key(&PROGRAMME_SEED)).unwrap();
        println!(
            "revoke body {} ({} bytes)",
            hex::encode(revocation().to_body().unwrap()),
            revocation().to_body().unwrap().len()
        );
        println!(
            "revoke {} ({} bytes)",
            hex::encode(r.as_bytes()),
            r.as_bytes().len()
        );
        println!("revoke id {}", hex::encode(r.id()));
    }

    fn signed_vectors() -> (SignedRoleGrant, SignedRoleGrant, SignedRoleRevocation) {
        (
            root_grant().sign(&key(&PROGRAMME_SEED)).unwrap(),
            coordinator_grant().sign(&key(&COORDINATOR_SEED)).unwrap(),
            revocation().sign(&key(&PROGRAMME_SEED)).unwrap(),
        )
    }

    /// Signs an arbitrary body with a key, so tests reach the body checks behind a valid signature.
    fn resign(body: &[u8], label: &[u8], seed: &[u8; 32]) -> Vec<u8> {
        let mut out = body.to_vec();
        out.extend_from_slice(key(seed).sign(&signed_message(label, body)).as_ref());
        out
    }

    fn verify_grant(bytes: &[u8]) -> Result<RoleGrant, ProtoError> {
        SignedRoleGrant::from_bytes(bytes).and_then(|s| s.verify())
    }

    fn verify_revocation(bytes: &[u8]) -> Result<RoleRevocation, ProtoError> {
        SignedRoleRevocation::from_bytes(bytes).and_then(|s| s.verify())
    }

    #[test]
    fn vectors_are_byte_exact_and_documented() {
        let (g1, g2, r) = signed_vectors();
        assert_eq!(hex::encode(g1.as_bytes()), ROOT_GRANT_HEX);
        assert_eq!(hex::encode(g1.id()), ROOT_GRANT_ID_HEX);
        assert_eq!(hex::encode(g2.as_bytes()), COORDINATOR_GRANT_HEX);
        assert_eq!(hex::encode(g2.id()), COORDINATOR_GRANT_ID_HEX);
        assert_eq!(hex::encode(r.as_bytes()), REVOKE_HEX);
        assert_eq!(hex::encode(r.id()), REVOKE_ID_HEX);
        // The id is SHA-256 of the whole signed bytes, computed here independently of `id()`.
        assert_eq!(
            ring::digest::digest(&ring::digest::SHA256, g1.as_bytes()).as_ref(),
            g1.id()
        );
        let doc = SPEC.replace(['\n', ' '], "");
        for (name, hexstr) in [
            ("programme id", hex::encode(pub_of(&PROGRAMME_SEED))),
            ("coordinator", hex::encode(pub_of(&COORDINATOR_SEED))),
            ("supporter", hex::encode(pub_of(&SUPPORTER_SEED))),
            ("root grant", ROOT_GRANT_HEX.to_string()),
            ("root grant id", ROOT_GRANT_ID_HEX.to_string()),
            ("coordinator grant", COORDINATOR_GRANT_HEX.to_string()),
            ("coordinator grant id", COORDINATOR_GRANT_ID_HEX.to_string()),
            ("revocation", REVOKE_HEX.to_string()),
            ("revocation id", REVOKE_ID_HEX.to_string()),
        ] {
            assert!(
                doc.contains(&hexstr),
                "the {name} vector is not in the spec"
            );
        }
        // The documented sizes.
        assert_eq!(g1.as_bytes().len(), 243);
        assert_eq!(g2.as_bytes().len(), 279);
        assert_eq!(r.as_bytes().len(), 203);
        // The documented outcome.
        let now = T0 + 2 * DAY;
        let mut reg = ProgrammeRegistry::new(pub_of(&PROGRAMME_SEED));
        reg.insert_grant(g2.as_bytes()).unwrap();
        reg.insert_grant(g1.as_bytes()).unwrap();
        let coordinator = PersonId(pub_of(&COORDINATOR_SEED));
        let supporter = PersonId(pub_of(&SUPPORTER_SEED));
        assert_eq!(
            reg.role_of(&coordinator, now),
            Some(ProgrammeRole::Coordinator)
        );
        assert_eq!(
            reg.role_of(&supporter, now),
            Some(ProgrammeRole::PeerSupporter)
        );
        assert_eq!(
            reg.chain_for(&supporter, now),
            vec![g2.as_bytes().to_vec(), g1.as_bytes().to_vec()]
        );
        reg.insert_revocation(r.as_bytes()).unwrap();
        for at in [T0 + DAY, now, T0 + 31 * DAY, T0 + 200 * DAY] {
            assert_eq!(reg.role_of(&supporter, at), None);
            assert_eq!(
                reg.role_of(&coordinator, at),
                Some(ProgrammeRole::Coordinator)
            );
        }
    }

    #[test]
    fn labels_are_the_documented_ones() {
        assert_eq!(
            PROGRAMME_GRANT_SIGNATURE_LABEL,
            b"sebaya/v1/programme-grant"
        );
        assert_eq!(
            PROGRAMME_REVOKE_SIGNATURE_LABEL,
            b"sebaya/v1/programme-revoke"
        );
        for label in ["sebaya/v1/programme-grant", "sebaya/v1/programme-revoke"] {
            assert!(SPEC.contains(label));
        }
    }

    #[test]
    fn round_trip() {
        let (g1, g2, r) = signed_vectors();
        assert_eq!(verify_grant(g1.as_bytes()).unwrap(), root_grant());
        assert_eq!(verify_grant(g2.as_bytes()).unwrap(), coordinator_grant());
        assert_eq!(verify_revocation(r.as_bytes()).unwrap(), revocation());
        for role in [
            ProgrammeRole::Participant,
            ProgrammeRole::PeerSupporter,
            ProgrammeRole::Coordinator,
        ] {
            let mut g = coordinator_grant();
            g.role = role;
            let s = g.sign(&key(&COORDINATOR_SEED)).unwrap();
            assert_eq!(verify_grant(s.as_bytes()).unwrap().role, role);
            let text = format!(
                "{}{}",
                char::from(0x60 + role.as_str().len() as u8),
                role.as_str()
            );
            assert!(
                s.as_bytes()
                    .windows(text.len())
                    .any(|w| w == text.as_bytes()),
                "role {role:?} is not written as its text"
            );
        }
        // The documented largest sizes: 9-byte integers, the longest role, a chain.
        let mut g = coordinator_grant();
        g.issued = u64::MAX - MAX_GRANT_LIFETIME;
        g.expires = u64::MAX;
        assert_eq!(
            g.sign(&key(&COORDINATOR_SEED)).unwrap().as_bytes().len(),
            287
        );
        let mut rv = revocation();
        rv.time = u64::MAX;
        assert_eq!(
            rv.sign(&key(&PROGRAMME_SEED)).unwrap().as_bytes().len(),
            207
        );
        // And the smallest.
        let mut g = root_grant();
        g.role = ProgrammeRole::Participant;
        g.issued = 0;
        g.expires = 1;
        assert_eq!(g.sign(&key(&PROGRAMME_SEED)).unwrap().as_bytes().len(), 235);
        rv.time = 0;
        assert_eq!(
            rv.sign(&key(&PROGRAMME_SEED)).unwrap().as_bytes().len(),
            199
        );
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let (g1, g2, r) = signed_vectors();
        for g in [g1, g2] {
            let b0 = g.into_bytes();
            for i in 0..b0.len() * 8 {
                let mut b = b0.clone();
                b[i / 8] ^= 1 << (i % 8);
                assert!(verify_grant(&b).is_err(), "bit {i} flipped still verifies");
            }
        }
        let b0 = r.into_bytes();
        for i in 0..b0.len() * 8 {
            let mut b = b0.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(
                verify_revocation(&b).is_err(),
                "bit {i} flipped still verifies"
            );
        }
    }

    #[test]
    fn truncations_and_extensions_are_refused() {
        let (g1, g2, r) = signed_vectors();
        for b in [g1.as_bytes(), g2.as_bytes()] {
            for n in 0..b.len() {
                let got = verify_grant(&b[..n]);
                assert!(got.is_err(), "prefix of {n} bytes verifies");
                if n <= SIGNATURE_LEN {
                    assert!(matches!(got, Err(ProtoError::Truncated { .. })));
                }
            }
            let mut longer = b.to_vec();
            longer.push(0);
            assert!(verify_grant(&longer).is_err());
        }
        let b = r.as_bytes();
        for n in 0..b.len() {
            assert!(
                verify_revocation(&b[..n]).is_err(),
                "prefix of {n} bytes verifies"
            );
        }
        let mut longer = b.to_vec();
        longer.push(0);
        assert!(verify_revocation(&longer).is_err());
        let huge = vec![0u8; MAX_PROGRAMME_STATEMENT_LEN + 1];
        assert!(matches!(
            SignedRoleGrant::from_bytes(&huge),
            Err(ProtoError::TooLarge { .. })
        ));
        assert!(matches!(
            SignedRoleRevocation::from_bytes(&huge),
            Err(ProtoError::TooLarge { .. })
        ));
    }

    #[test]
    fn forged_signatures_are_refused() {
        // A grant naming the coordinator as issuer, signed by another key (the supporter's).
        let body = coordinator_grant().to_body().unwrap();
        let forged = resign(&body, PROGRAMME_GRANT_SIGNATURE_LABEL, &SUPPORTER_SEED);
        assert_eq!(verify_grant(&forged), Err(ProtoError::BadSignature));
        // The issuer's real signature under another label is refused.
        for label in [
            PROGRAMME_REVOKE_SIGNATURE_LABEL,
            crate::DEVICE_CERT_SIGNATURE_LABEL,
            crate::ENVELOPE_SIGNATURE_LABEL,
            b"".as_slice(),
        ] {
            let s = resign(&body, label, &COORDINATOR_SEED);
            assert_eq!(verify_grant(&s), Err(ProtoError::BadSignature));
        }
        // A revocation signed by a key other than its issuer.
        let body = revocation().to_body().unwrap();
        let forged = resign(&body, PROGRAMME_REVOKE_SIGNATURE_LABEL, &COORDINATOR_SEED);
        assert_eq!(verify_revocation(&forged), Err(ProtoError::BadSignature));
        let s = resign(&body, PROGRAMME_GRANT_SIGNATURE_LABEL, &PROGRAMME_SEED);
        assert_eq!(verify_revocation(&s), Err(ProtoError::BadSignature));
        // Neither statement passes for the other.
        let (g1, _, r) = signed_vectors();
        assert!(verify_revocation(g1.as_bytes()).is_err());
        assert!(verify_grant(r.as_bytes()).is_err());
        // Signing with a key that is not the issuer's is refused at the source.
        assert_eq!(
            coordinator_grant().sign(&key(&PROGRAMME_SEED)),
            Err(ProtoError::Malformed(
                "signer is not the statement's issuer"
            ))
        );
        assert_eq!(
            revocation().sign(&key(&COORDINATOR_SEED)),
            Err(ProtoError::Malformed(
                "signer is not the statement's issuer"
            ))
        );
    }

    #[test]
    fn weak_keys_are_refused() {
        let weak = {
            let mut k = [0u8; 32];
            k[0] = 1; // the identity point
            k
        };
        let mut signed_weak = weak;
        signed_weak[31] |= 0x80;
        for w in [weak, signed_weak] {
            let mut g = coordinator_grant();
            g.programme = w;
            let s = resign(
                &g.to_body().unwrap(),
                PROGRAMME_GRANT_SIGNATURE_LABEL,
                &COORDINATOR_SEED,
            );
            assert_eq!(
                verify_grant(&s),
                Err(ProtoError::Malformed("weak programme key"))
            );
            let mut g = coordinator_grant();
            g.person = PersonId(w);
            assert_eq!(
                g.sign(&key(&COORDINATOR_SEED)),
                Err(ProtoError::Malformed("weak person key"))
            );
            let s = resign(
                &g.to_body().unwrap(),
                PROGRAMME_GRANT_SIGNATURE_LABEL,
                &COORDINATOR_SEED,
            );
            assert_eq!(
                verify_grant(&s),
                Err(ProtoError::Malformed("weak person key"))
            );
            // A weak issuer: refused before the signature is looked at (any all-zero "signature"
            // would verify under it with a lax verifier).
            let mut g = coordinator_grant();
            g.issuer = w;
            let mut b = g.to_body().unwrap();
            b.extend_from_slice(&[0u8; 64]);
            assert_eq!(
                verify_grant(&b),
                Err(ProtoError::Malformed("weak issuer key"))
            );
            let mut rv = revocation();
            rv.issuer = w;
            let mut b = rv.to_body().unwrap();
            b.extend_from_slice(&[0u8; 64]);
            assert_eq!(
                verify_revocation(&b),
                Err(ProtoError::Malformed("weak issuer key"))
            );
            let mut rv = revocation();
            rv.programme = w;
            let s = resign(
                &rv.to_body().unwrap(),
                PROGRAMME_REVOKE_SIGNATURE_LABEL,
                &PROGRAMME_SEED,
            );
            assert_eq!(
                verify_revocation(&s),
                Err(ProtoError::Malformed("weak programme key"))
            );
        }
    }

    #[test]
    fn grant_rules_are_enforced_on_signing_and_reading() {
        let cases: Vec<(&str, RoleGrant, [u8; 32], &str)> = {
            let mut v = Vec::new();
            // A coordinator granting themselves (a renewal or a promotion of their own).
            let mut g = coordinator_grant();
            g.person = PersonId(pub_of(&COORDINATOR_SEED));
            g.role = ProgrammeRole::Coordinator;
            v.push((
                "self grant",
                g,
                COORDINATOR_SEED,
                "nobody grants a role to themselves",
            ));
            // The programme key granting to itself.
            let mut g = root_grant();
            g.person = PersonId(pub_of(&PROGRAMME_SEED));
            v.push((
                "programme to itself",
                g,
                PROGRAMME_SEED,
                "nobody grants a role to themselves",
            ));
            // A coordinator granting to the programme key.
            let mut g = coordinator_grant();
            g.person = PersonId(pub_of(&PROGRAMME_SEED));
            v.push((
                "to the programme key",
                g,
                COORDINATOR_SEED,
                "the programme key is not a person",
            ));
            // The programme key with a chain.
            let mut g = root_grant();
            g.chain = Some([7; 32]);
            v.push((
                "root with chain",
                g,
                PROGRAMME_SEED,
                "a grant by the programme key has no chain",
            ));
            // A coordinator without one.
            let mut g = coordinator_grant();
            g.chain = None;
            v.push((
                "coordinator without chain",
                g,
                COORDINATOR_SEED,
                "a grant by a coordinator names its chain",
            ));
            // Expiry not after issue.
            for expires in [T0 + DAY, T0] {
                let mut g = coordinator_grant();
                g.expires = expires;
                v.push((
                    "expires too early",
                    g,
                    COORDINATOR_SEED,
                    "a grant expires after it is issued",
                ));
            }
            // More than 731 days.
            let mut g = coordinator_grant();
            g.expires = g.issued + MAX_GRANT_LIFETIME + 1;
            v.push((
                "too long",
                g,
                COORDINATOR_SEED,
                "a grant runs for at most two years",
            ));
            v
        };
        for (name, g, seed, why) in cases {
            assert_eq!(
                g.sign(&key(&seed)),
                Err(ProtoError::Malformed(why)),
                "{name}"
            );
            let s = resign(
                &g.to_body().unwrap(),
                PROGRAMME_GRANT_SIGNATURE_LABEL,
                &seed,
            );
            assert_eq!(verify_grant(&s), Err(ProtoError::Malformed(why)), "{name}");
        }
        // Exactly 731 days is allowed.
        let mut g = coordinator_grant();
        g.expires = g.issued + MAX_GRANT_LIFETIME;
        assert!(verify_grant(g.sign(&key(&COORDINATOR_SEED)).unwrap().as_bytes()).is_ok());
    }

    #[test]
    fn time_window() {
        let g = root_grant();
        assert!(!g.is_current_at(T0 - CLOCK_SKEW - 1));
        assert!(g.is_current_at(T0 - CLOCK_SKEW));
        assert!(g.is_current_at(T0));
        assert!(g.is_current_at(g.expires));
        assert!(!g.is_current_at(g.expires + 1));
        let mut late = g;
        late.issued = u64::MAX - 10;
        late.expires = u64::MAX;
        assert!(late.is_current_at(u64::MAX));
        assert!(!late.is_current_at(0));
    }

    #[test]
    fn non_canonical_bodies_are_refused_even_when_signed() {
        let body = coordinator_grant().to_body().unwrap();
        let entries = split_map_entries(&body[1..]);
        assert_eq!(entries.len(), 8);
        // Keys in another order.
        let mut reordered = vec![0xa8];
        for e in entries.iter().rev() {
            reordered.extend_from_slice(e);
        }
        // An unknown extra key.
        let mut extra = body.clone();
        extra[0] = 0xa9;
        extra.extend_from_slice(&[0x61, b'z', 0x00]);
        // A repeated key.
        let mut repeated = body.clone();
        repeated[0] = 0xa9;
        repeated.extend_from_slice(&entries[0]);
        // A missing key (no `chain`).
        let mut missing = vec![0xa7];
        for e in &entries[..7] {
            missing.extend_from_slice(e);
        }
        // A longer integer form for `v` (0x18 0x01 instead of 0x01).
        let mut long_int = vec![body[0], body[1], body[2], 0x18, 0x01];
        long_int.extend_from_slice(&body[4..]);
        // Version 2, version 0.
        let mut v2 = body.clone();
        v2[3] = 0x02;
        let mut v0 = body.clone();
        v0[3] = 0x00;
        // Trailing byte inside the signed part.
        let mut trailing = body.clone();
        trailing.push(0x00);
        // An unknown role text, and the role as a number.
        let role = entries[3].clone();
        let mut unknown_role = vec![0xa8];
        let mut numeric_role = vec![0xa8];
        for (i, e) in entries.iter().enumerate() {
            if i == 3 {
                let mut r = role[..5].to_vec();
                r.extend_from_slice(&[0x6e]);
                r.extend_from_slice(b"peer_Supporter");
                unknown_role.extend_from_slice(&r);
                let mut n = role[..5].to_vec();
                n.push(0x01);
                numeric_role.extend_from_slice(&n);
            } else {
                unknown_role.extend_from_slice(e);
                numeric_role.extend_from_slice(e);
            }
        }
        // A 31-byte chain.
        let mut short_chain = body.clone();
        let at = short_chain.len() - 34;
        assert_eq!(&short_chain[at..at + 2], &[0x58, 0x20]);
        short_chain[at + 1] = 0x1f;
        short_chain.pop();
        for (name, b) in [
            ("reordered", reordered),
            ("extra key", extra),
            ("repeated key", repeated),
            ("missing key", missing),
            ("long integer", long_int),
            ("version 2", v2),
            ("version 0", v0),
            ("trailing byte", trailing),
            ("unknown role", unknown_role),
            ("numeric role", numeric_role),
            ("short chain", short_chain),
        ] {
            let s = resign(&b, PROGRAMME_GRANT_SIGNATURE_LABEL, &COORDINATOR_SEED);
            let got = verify_grant(&s);
            assert!(
                matches!(
                    got,
                    Err(ProtoError::Malformed(_)) | Err(ProtoError::Decode(_))
                ),
                "{name}: {got:?}"
            );
        }
        // Revocation: reordered and version 2.
        let body = revocation().to_body().unwrap();
        let entries = split_map_entries(&body[1..]);
        assert_eq!(entries.len(), 5);
        let mut reordered = vec![0xa5];
        for e in entries.iter().rev() {
            reordered.extend_from_slice(e);
        }
        let mut v2 = body.clone();
        v2[3] = 0x02;
        for (name, b) in [("reordered", reordered), ("version 2", v2)] {
            let s = resign(&b, PROGRAMME_REVOKE_SIGNATURE_LABEL, &PROGRAMME_SEED);
            let got = verify_revocation(&s);
            assert!(
                matches!(
                    got,
                    Err(ProtoError::Malformed(_)) | Err(ProtoError::Decode(_))
                ),
                "{name}: {got:?}"
            );
        }
        // Garbage never panics.
        for len in [65, 100, 300, 1024] {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert!(verify_grant(&junk).is_err());
            assert!(verify_revocation(&junk).is_err());
        }
    }

    /// Splits the entries of a body map (text key + value) for the reordering tests.
    fn split_map_entries(mut rest: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !rest.is_empty() {
            let key_len = (rest[0] & 0x1f) as usize;
            let mut n = 1 + key_len;
            n += match rest[n] {
                0x58 => 2 + rest[n + 1] as usize,
                b @ 0x60..=0x77 => 1 + (b & 0x1f) as usize,
                b if b < 0x18 => 1,
                0x18 => 2,
                0x19 => 3,
                0x1a => 5,
                0x1b => 9,
                0xf6 => 1,
                b => panic!("unexpected {b:#x}"),
            };
            out.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        out
    }
}
