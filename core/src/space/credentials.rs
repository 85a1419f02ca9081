//! The programme credentials a device keeps, and publishing them into the spaces bound to a
//! programme (section 19 of `docs/protocol.md`).
//!
//! A person's device keeps the role grants (with the chains above them) and revocations it made or
//! received, as lists sealed in the vault. Every space bound to a programme holds the ones of that
//! programme its members publish, under the rules' `cred/<id>` and `revoke/<id>` root keys, and
//! every device judges writes against what the document holds (`rules.rs`; whether a pairing's
//! creator was certified is `rules/credentials.rs`). Publishing is the space's own upkeep — before
//! each edit (`held.rs`), at each sync (`index.rs`), when a space is bound (`care/programmes.rs`) —
//! so it lives here, below every domain; making, granting and revoking roles is
//! `care/programmes.rs`.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use sebaya_proto::programme::{SignedRoleGrant, SignedRoleRevocation};

use crate::error::{Error, Result};
use crate::space::Space;
use crate::space::rules::{CRED_PREFIX, REVOKE_PREFIX};
use crate::store::Store;

/// Vault key of the role grants this device keeps (each signed grant, chains included).
pub(crate) const GRANTS: &str = "programme-grants";
/// Vault key of the role revocations this device keeps.
pub(crate) const REVOCATIONS: &str = "programme-revocations";

/// A kept list of signed statements (grants, revocations, training records), as stored.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct BytesList(pub(crate) Vec<ByteBuf>);

/// Reads a CBOR record kept in the vault under `name` (its default when there is none).
pub(crate) fn load<T: for<'de> Deserialize<'de> + Default>(store: &Store, name: &str) -> Result<T> {
    match store.kv_get(name)? {
        None => Ok(T::default()),
        Some(b) => {
            ciborium::from_reader(b.as_slice()).map_err(|_| Error::Corrupt("programme records"))
        }
    }
}

/// Keeps a CBOR record in the vault under `name`.
pub(crate) fn save<T: Serialize>(store: &Store, name: &str, value: &T) -> Result<()> {
    let mut out = Zeroizing::new(Vec::new());
    ciborium::into_writer(value, &mut *out)
        .map_err(|_| Error::Internal("encode programme records"))?;
    store.kv_put(name, &out)
}

/// Writes into a space bound to a programme the credentials and revocations of that programme
/// this device keeps and the document lacks (one commit, nothing when nothing is new, nothing in a
/// space whose end concerns this device: [`Space::ended_here`]).
pub(crate) fn publish_credentials(store: &Store, space: &mut Space) -> Result<()> {
    // Nothing goes into a space this device ended (or a pairing the other party ended): a change
    // past its own end is refused everywhere (protocol 15.11).
    if space.ended_here() {
        return Ok(());
    }
    let Some(programme) = crate::space::rules::programme_of(&space.doc) else {
        return Ok(());
    };
    let grants: BytesList = load(store, GRANTS)?;
    let revs: BytesList = load(store, REVOCATIONS)?;
    let mut changed = false;
    for (list, prefix, is_grant) in [(&grants, CRED_PREFIX, true), (&revs, REVOKE_PREFIX, false)] {
        for b in &list.0 {
            let (id, of) = if is_grant {
                match SignedRoleGrant::from_bytes(b).and_then(|g| Ok((g.id(), g.verify()?))) {
                    Ok((id, g)) => (id, g.programme),
                    Err(_) => continue,
                }
            } else {
                match SignedRoleRevocation::from_bytes(b).and_then(|r| Ok((r.id(), r.verify()?))) {
                    Ok((id, r)) => (id, r.programme),
                    Err(_) => continue,
                }
            };
            if of != programme {
                continue;
            }
            let key = format!("{prefix}{}", hex::encode(id));
            if automerge::ReadDoc::get(&space.doc, automerge::ROOT, key.as_str())?.is_none() {
                automerge::transaction::Transactable::put(
                    &mut space.doc,
                    automerge::ROOT,
                    key,
                    automerge::ScalarValue::Bytes(b.to_vec()),
                )?;
                changed = true;
            }
        }
    }
    if changed {
        space.doc.commit();
        space.persist(store)?;
    }
    Ok(())
}
