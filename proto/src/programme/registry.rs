//! The grants and revocations of one programme that a device (or relay) holds: inserted in any
//! order and verified on the way in, then asked who holds which role at a time, and which chain of
//! grants proves it.
//!
//! Kept apart from the statements because it holds state (bounded by [`MAX_GRANTS`] and
//! [`MAX_REVOCATIONS`]) and answers questions about a set of them; the rule it answers with is in
//! `evaluate.rs`.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ProtoError;
use crate::identity::PersonId;

use super::evaluate::{Evaluation, Stage};
use super::{
    MAX_CHAIN_LEN, MAX_GRANTS, MAX_REVOCATIONS, ProgrammeRole, RoleGrant, RoleRevocation,
    SignedRoleGrant, SignedRoleRevocation, StatementHash,
};

/// A verified grant and its exact bytes (kept so it can be presented again).
#[derive(Clone, Debug)]
pub(super) struct HeldGrant {
    pub(super) grant: RoleGrant,
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
    pub(super) programme: [u8; 32],
    pub(super) grants: BTreeMap<StatementHash, HeldGrant>,
    pub(super) by_person: BTreeMap<PersonId, BTreeSet<StatementHash>>,
    /// Revocation id → revocation, so a revocation is kept once.
    revocations: BTreeMap<StatementHash, RoleRevocation>,
    /// Grant id → the issuers of the revocations that name it.
    pub(super) revokers: BTreeMap<StatementHash, BTreeSet<[u8; 32]>>,
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
