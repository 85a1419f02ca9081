//! Programme roles through the bindings (`Vault.programmes()`; `docs/protocol.md`, section 19): a coordinator makes a
//! programme and grants roles; a person keeps the credential they were given; spaces bound to a
//! programme check roles on every device.

use super::{ProgrammeRole, Result, SebayaError, Shared, with};

/// A programme as this device knows it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Programme {
    /// Programme id (hex of its root public key).
    pub id: String,
    /// Its name, where this device made it (empty otherwise).
    pub name: String,
    /// Whether this device holds the programme's root key.
    pub holds_key: bool,
    /// This person's role there now, or null.
    pub role: Option<ProgrammeRole>,
    /// Whether this device belongs to the programme's safeguarding space. A coordinator without
    /// one must be warned: supporters' safeguarding concerns reach no one until it is made
    /// (`Care.create_safeguarding_space`) and they are added.
    pub safeguarding_space: bool,
}

/// A grant just made.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Grant {
    /// The grant's id (hex), for `revoke_grant`.
    pub id: String,
    /// The credential to hand to the person (a QR code or a file), for `add_credential`.
    pub credential: Vec<u8>,
}

pub(crate) fn parse_programme(id: &str) -> Result<[u8; 32]> {
    hex::decode(id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            SebayaError::from(sebaya_core::Error::InvalidInput(
                "programme id must be 64 hex characters".into(),
            ))
        })
}

/// Programmes, handed out by `Vault.programmes()`: the roles people hold in them, their training
/// register and their reports (a programme is the organisation a peer supporter works for). It holds
/// the vault's shared state, so `Vault.lock()` locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Programmes {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Programmes {
    /// Makes a programme whose root key stays sealed on this device; this person becomes its
    /// coordinator. Returns the programme id.
    pub fn create(&self, name: String) -> Result<String> {
        Ok(hex::encode(with(&self.inner, |v| {
            v.create_programme(&name)
        })?))
    }

    /// Grants a role in a programme to a person
    /// (their person id, hex) for `valid_days` (1 to 730; a year by default). Throws `NotAllowed`
    /// unless this device holds the programme key or this person is a coordinator there.
    #[uniffi::method(default(valid_days = 365))]
    pub fn grant_role(
        &self,
        programme_id: String,
        person_id: String,
        role: ProgrammeRole,
        valid_days: u32,
    ) -> Result<Grant> {
        let programme = parse_programme(&programme_id)?;
        let person = sebaya_core::PersonId::from_hex(&person_id).map_err(|_| {
            SebayaError::from(sebaya_core::Error::InvalidInput(
                "person id must be 64 hex characters".into(),
            ))
        })?;
        let role = role.to_core()?;
        let g = with(&self.inner, |v| {
            v.grant_programme_role(&programme, &person, role, valid_days)
        })?;
        Ok(Grant {
            id: hex::encode(g.id),
            credential: g.credential,
        })
    }

    /// Keeps a credential made for this person; returns the role it proves. Throws `BadCredential`
    /// (nothing kept) for anything forged, expired, or made for someone else.
    pub fn add_credential(&self, credential: Vec<u8>) -> Result<ProgrammeRole> {
        Ok(with(&self.inner, |v| v.add_programme_credential(&credential))?.into())
    }

    /// Revokes a grant (programme key holder or coordinator); it reaches the programme's spaces at
    /// the next sync. Returns the signed revocation for other channels.
    pub fn revoke_grant(&self, programme_id: String, grant_id: String) -> Result<Vec<u8>> {
        let programme = parse_programme(&programme_id)?;
        let grant = parse_programme(&grant_id)?;
        with(&self.inner, |v| {
            v.revoke_programme_grant(&programme, &grant)
        })
    }

    /// The programmes this device knows, with this person's role in each.
    pub fn list(&self) -> Result<Vec<Programme>> {
        with(&self.inner, |v| {
            Ok(v.programmes()?
                .into_iter()
                .map(|p| Programme {
                    id: hex::encode(p.id),
                    name: p.name,
                    holds_key: p.holds_key,
                    role: p.role.map(Into::into),
                    safeguarding_space: p.safeguarding_space,
                })
                .collect())
        })
    }
}
