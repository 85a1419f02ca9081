//! Programme roles on a device (section 19 of `docs/protocol.md`): making a programme, granting and
//! revoking roles, keeping one's own credentials, and publishing them where they are checked.
//!
//! A coordinator who makes a programme keeps its root key, sealed in the vault, and grants itself
//! `coordinator`. Grants to others are signed by the programme key when this device holds it, or by the
//! coordinator's person key chained to its own coordinator grant. A person receives a credential (the
//! grant and the chain above it, as a small CBOR list for a QR code or a file) and keeps it. Spaces
//! bound to a programme hold the credentials and revocations their members publish (`cred/<id>`,
//! `revoke/<id>` root keys); every device checks writes against them (`rules.rs`). The lists of
//! grants and revocations this device keeps, and publishing them into a space, are the space's
//! (`space/credentials.rs`): every edit and every sync publishes them, below any domain.

use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use sebaya_proto::PersonId;
use sebaya_proto::programme::{
    MAX_CHAIN_LEN, MAX_PROGRAMME_STATEMENT_LEN, ProgrammeRegistry, ProgrammeRole, RoleGrant,
    RoleRevocation, SignedRoleGrant, SignedRoleRevocation,
};

use crate::error::{Error, Result};
use crate::space::Space;
use crate::space::credentials::{BytesList, GRANTS, REVOCATIONS, load, publish_credentials, save};
use crate::space::rules::PROGRAMME_KEY;
use crate::store::Store;
use crate::{Vault, crypto};

const KEYS: &str = "programme-keys";
/// Longest a grant made here lasts, in days (the protocol allows 731).
pub const MAX_GRANT_DAYS: u32 = 730;
/// Longest programme name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A programme as this device knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgrammeInfo {
    /// The programme id (its root public key).
    pub id: [u8; 32],
    /// Its name, where this device made it (empty otherwise: names are not in credentials).
    pub name: String,
    /// Whether this device holds the programme's root key.
    pub holds_key: bool,
    /// This person's role in it now, if any.
    pub role: Option<ProgrammeRole>,
    /// Whether this device belongs to a safeguarding space of the programme (issue 14, item 14).
    /// A coordinator without one is warned: supporters' safeguarding concerns reach no one until
    /// a coordinator makes it ([`Vault::create_safeguarding_space`]) and adds them.
    pub safeguarding_space: bool,
}

/// A grant just made, to hand to its person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedGrant {
    /// The grant's id (for revoking it later).
    pub id: [u8; 32],
    /// The credential to hand over: the grant and the chain above it.
    pub credential: Vec<u8>,
}

#[derive(Serialize, Deserialize, Default)]
struct KeyList(Vec<(ByteBuf, String, ByteBuf)>);

impl Drop for KeyList {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for (_, _, seed) in self.0.iter_mut() {
            seed.as_mut_slice().zeroize();
        }
    }
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn bad<E>(_: E) -> Error {
    Error::BadCredential
}

/// Encodes a credential: the signed grants, the person's first.
fn encode_credential(grants: &[Vec<u8>]) -> Result<Vec<u8>> {
    let list: Vec<ByteBuf> = grants.iter().map(|g| ByteBuf::from(g.clone())).collect();
    let mut out = Vec::new();
    ciborium::into_writer(&list, &mut out).map_err(|_| Error::Internal("encode credential"))?;
    Ok(out)
}

/// Decodes a credential, bounding it before anything is allocated for its grants.
fn decode_credential(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if bytes.len() > MAX_CHAIN_LEN * (MAX_PROGRAMME_STATEMENT_LEN + 8) + 8 {
        return Err(Error::BadCredential);
    }
    let list: Vec<ByteBuf> = sebaya_proto::cbor::decode(bytes, 4).map_err(|_| bad(()))?;
    if list.is_empty() || list.len() > MAX_CHAIN_LEN {
        return Err(Error::BadCredential);
    }
    Ok(list.into_iter().map(|b| b.into_vec()).collect())
}

impl Vault {
    pub(crate) fn programme_key(&self, programme: &[u8; 32]) -> Result<Option<Ed25519KeyPair>> {
        let keys: KeyList = load(&self.store, KEYS)?;
        for (id, _, seed) in &keys.0 {
            if id.as_slice() == programme {
                return Ed25519KeyPair::from_seed_unchecked(seed)
                    .map(Some)
                    .map_err(|_| Error::Corrupt("programme key"));
            }
        }
        Ok(None)
    }

    /// A registry of one programme holding every grant and revocation this device keeps.
    pub(crate) fn registry(&self, programme: [u8; 32]) -> Result<ProgrammeRegistry> {
        let mut reg = ProgrammeRegistry::new(programme);
        let grants: BytesList = load(&self.store, GRANTS)?;
        for g in &grants.0 {
            let _ = reg.insert_grant(g);
        }
        let revs: BytesList = load(&self.store, REVOCATIONS)?;
        for r in &revs.0 {
            let _ = reg.insert_revocation(r);
        }
        Ok(reg)
    }

    pub(crate) fn keep(&self, list: &str, items: &[Vec<u8>]) -> Result<()> {
        let mut kept: BytesList = load(&self.store, list)?;
        for i in items {
            if !kept.0.iter().any(|k| k.as_slice() == i.as_slice()) {
                kept.0.push(ByteBuf::from(i.clone()));
            }
        }
        save(&self.store, list, &kept)
    }

    /// Makes a programme: a fresh root key kept sealed here, and a `coordinator` grant for this
    /// person (two years). Returns the programme id. Needs a person on this device.
    pub fn create_programme(&mut self, name: &str) -> Result<[u8; 32]> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::InvalidInput(
                "a programme name has 1 to 100 characters".into(),
            ));
        }
        let person = self.person_id().ok_or(Error::NoPerson)?;
        if self.person.is_none() {
            return Err(Error::NoPerson);
        }
        let seed = Zeroizing::new(crypto::random::<32>()?);
        let kp = Ed25519KeyPair::from_seed_unchecked(seed.as_ref())
            .map_err(|_| Error::Internal("programme key"))?;
        let id: [u8; 32] = kp
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| Error::Internal("programme key"))?;
        let mut keys: KeyList = load(&self.store, KEYS)?;
        keys.0.push((
            ByteBuf::from(id.to_vec()),
            name.to_string(),
            ByteBuf::from(seed.to_vec()),
        ));
        save(&self.store, KEYS, &keys)?;
        let now = now_secs();
        let grant = RoleGrant {
            programme: id,
            person,
            role: ProgrammeRole::Coordinator,
            issuer: id,
            issued: now,
            expires: now + u64::from(MAX_GRANT_DAYS) * 86_400,
            chain: None,
        }
        .sign(&kp)
        .map_err(bad)?;
        self.keep(GRANTS, &[grant.into_bytes()])?;
        Ok(id)
    }

    /// Grants `role` in `programme` to `person` for `valid_days` (1 to 730): signed by the programme
    /// key if this device holds it, else by this person's key as a coordinator of the programme
    /// (`NotAllowed` otherwise). Returns the grant's id and the credential to hand to the person.
    pub fn grant_programme_role(
        &mut self,
        programme: &[u8; 32],
        person: &PersonId,
        role: ProgrammeRole,
        valid_days: u32,
    ) -> Result<IssuedGrant> {
        if valid_days == 0 || valid_days > MAX_GRANT_DAYS {
            return Err(Error::InvalidInput(
                "a grant lasts from 1 to 730 days".into(),
            ));
        }
        let now = now_secs();
        let mut grant = RoleGrant {
            programme: *programme,
            person: *person,
            role,
            issuer: *programme,
            issued: now,
            expires: now + u64::from(valid_days) * 86_400,
            chain: None,
        };
        let (signed, above) = match self.programme_key(programme)? {
            Some(kp) => (grant.sign(&kp).map_err(bad)?, Vec::new()),
            None => {
                let me = self.person_id().ok_or(Error::NoPerson)?;
                let pk = self.person.as_ref().ok_or(Error::NoPerson)?;
                let reg = self.registry(*programme)?;
                if reg.role_of(&me, now) != Some(ProgrammeRole::Coordinator) {
                    return Err(Error::NotAllowed(
                        "only a coordinator of the programme grants its roles",
                    ));
                }
                let chain = reg.chain_for(&me, now);
                let first = chain.first().ok_or(Error::BadCredential)?;
                grant.issuer = me.0;
                grant.chain = Some(SignedRoleGrant::from_bytes(first).map_err(bad)?.id());
                (pk.sign_grant(&grant)?, chain)
            }
        };
        let id = signed.id();
        let mut all = vec![signed.into_bytes()];
        all.extend(above);
        all.truncate(MAX_CHAIN_LEN);
        self.keep(GRANTS, &all)?;
        Ok(IssuedGrant {
            id,
            credential: encode_credential(&all)?,
        })
    }

    /// Keeps a credential made for this person: refused (`BadCredential`, nothing kept) unless it
    /// proves a role of this person now. Returns the role.
    pub fn add_programme_credential(&mut self, credential: &[u8]) -> Result<ProgrammeRole> {
        let me = self.person_id().ok_or(Error::NoPerson)?;
        let grants = decode_credential(credential)?;
        let first = SignedRoleGrant::from_bytes(&grants[0])
            .and_then(|g| g.verify())
            .map_err(bad)?;
        if first.person != me {
            return Err(Error::BadCredential);
        }
        let mut reg = self.registry(first.programme)?;
        reg.insert_chain(&grants).map_err(bad)?;
        let role = reg.role_of(&me, now_secs()).ok_or(Error::BadCredential)?;
        self.keep(GRANTS, &grants)?;
        Ok(role)
    }

    /// Revokes a grant of `programme` (by the programme key, or as a coordinator). The revocation is
    /// kept and published into the programme's spaces at the next sync; it also comes back as bytes
    /// for other channels.
    pub fn revoke_programme_grant(
        &mut self,
        programme: &[u8; 32],
        grant: &[u8; 32],
    ) -> Result<Vec<u8>> {
        let now = now_secs();
        let mut rev = RoleRevocation {
            programme: *programme,
            grant: *grant,
            issuer: *programme,
            time: now,
        };
        let signed = match self.programme_key(programme)? {
            Some(kp) => rev.sign(&kp).map_err(bad)?,
            None => {
                let me = self.person_id().ok_or(Error::NoPerson)?;
                let pk = self.person.as_ref().ok_or(Error::NoPerson)?;
                if self.registry(*programme)?.role_of(&me, now) != Some(ProgrammeRole::Coordinator)
                {
                    return Err(Error::NotAllowed(
                        "only a coordinator of the programme revokes its grants",
                    ));
                }
                rev.issuer = me.0;
                pk.sign_revocation(&rev)?
            }
        };
        let bytes = signed.into_bytes();
        self.keep(REVOCATIONS, std::slice::from_ref(&bytes))?;
        Ok(bytes)
    }

    /// Keeps a revocation received from a coordinator (verified; it is published with the others).
    pub fn add_programme_revocation(&mut self, revocation: &[u8]) -> Result<()> {
        SignedRoleRevocation::from_bytes(revocation)
            .and_then(|r| r.verify())
            .map_err(bad)?;
        self.keep(REVOCATIONS, &[revocation.to_vec()])
    }

    /// The programmes this device knows (made here, or named by a kept credential), with this
    /// person's role in each now.
    pub fn programmes(&self) -> Result<Vec<ProgrammeInfo>> {
        let keys: KeyList = load(&self.store, KEYS)?;
        let grants: BytesList = load(&self.store, GRANTS)?;
        let mut ids: Vec<[u8; 32]> = keys
            .0
            .iter()
            .filter_map(|(id, _, _)| id.as_slice().try_into().ok())
            .collect();
        for g in &grants.0 {
            if let Ok(g) = SignedRoleGrant::from_bytes(g).and_then(|g| g.verify()) {
                if !ids.contains(&g.programme) {
                    ids.push(g.programme);
                }
            }
        }
        let me = self.person_id();
        let now = now_secs();
        ids.into_iter()
            .map(|id| {
                let named = keys.0.iter().find(|(k, _, _)| k.as_slice() == id);
                Ok(ProgrammeInfo {
                    id,
                    name: named.map(|(_, n, _)| n.clone()).unwrap_or_default(),
                    holds_key: named.is_some(),
                    safeguarding_space: self.shared.values().any(|s| {
                        s.kind == crate::space::SpaceKind::Safeguarding
                            && crate::space::rules::programme_of(&s.doc) == Some(id)
                            && s.membership().is_member(&self.identity.device)
                    }),
                    role: match me {
                        Some(p) => self.registry(id)?.role_of(&p, now),
                        None => None,
                    },
                })
            })
            .collect()
    }

    /// Binds a just-created space to a programme (its creator's first write after its layout).
    pub(crate) fn bind_programme(
        store: &Store,
        space: &mut Space,
        programme: &[u8; 32],
    ) -> Result<()> {
        automerge::transaction::Transactable::put(
            &mut space.doc,
            automerge::ROOT,
            PROGRAMME_KEY,
            hex::encode(programme),
        )?;
        // A real time: in a pairing the binding is judged at it (`credentials::creator_certified`,
        // under `space/rules/`).
        let now = i64::try_from(now_secs()).unwrap_or(i64::MAX);
        space
            .doc
            .commit_with(automerge::transaction::CommitOptions::default().with_time(now));
        space.persist(store)?;
        publish_credentials(store, space)
    }

    /// Refuses to bind a new space to a programme in which this person lacks `min` (the space
    /// would be unusable to its own creator).
    pub(crate) fn check_can_bind(
        &self,
        programme: Option<[u8; 32]>,
        min: sebaya_proto::programme::ProgrammeRole,
    ) -> Result<()> {
        let Some(p) = programme else {
            return Ok(());
        };
        let role = self
            .programmes()?
            .into_iter()
            .find(|i| i.id == p)
            .and_then(|i| i.role);
        if role.is_none_or(|r| r < min) {
            return Err(Error::NotAllowed(
                "this person holds no role in that programme that could run this space",
            ));
        }
        Ok(())
    }
}
