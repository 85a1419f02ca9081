//! A device's proof of admission for a relay that admits by credential (`docs/protocol.md` section
//! 9.8; issue 15, item 2): its device certificate and, for each programme the relay lists that it
//! holds a role in, the grant that proves it with the chain above, and its person's certificate of
//! the index author that founds the person's index (section 20.2), with that key's proof that it is
//! held here. Sent only to a relay that lists programmes and answered `not-admitted`, so a relay
//! that admits no programme never learns who the person is, and none learns of the person's other
//! programmes.

use sebaya_proto::DeviceId;
use sebaya_proto::programme::{ProgrammeRegistry, SignedRoleGrant};
use sebaya_proto::sync::{Admission, MAX_ADMISSION_GRANTS, OtherKey};

use crate::error::Result;
use crate::identity::person::{stored_certificate, verify_device_certificate};
use crate::space::credentials::{BytesList, GRANTS, load};
use crate::store::Store;

/// The proof this device (`requester`) can give the relay `relay` that lists `listed`, if it has a
/// certificate (a device without a person has none). Grants this device kept for others (a
/// coordinator keeps what it issued), and those of programmes the relay does not list, are left out.
pub(crate) fn proof(
    store: &Store,
    now: u64,
    relay: &[u8; 16],
    requester: &DeviceId,
    listed: &[[u8; 32]],
) -> Result<Option<Admission>> {
    let Some(certificate) = stored_certificate(store)? else {
        return Ok(None);
    };
    let person = verify_device_certificate(&certificate)?.person;
    let kept: BytesList = load(store, GRANTS)?;
    let mut programmes: Vec<[u8; 32]> = kept
        .0
        .iter()
        .filter_map(|g| SignedRoleGrant::from_bytes(g).and_then(|g| g.verify()).ok())
        .map(|g| g.programme)
        .filter(|p| listed.contains(p))
        .collect();
    crate::order::sort(&mut programmes);
    programmes.dedup();
    let mut grants = Vec::new();
    for programme in programmes {
        let mut registry = ProgrammeRegistry::new(programme);
        for g in &kept.0 {
            let _ = registry.insert_grant(g);
        }
        let chain = registry.chain_for(&person, now);
        if grants.len() + chain.len() > MAX_ADMISSION_GRANTS {
            continue;
        }
        grants.extend(chain.into_iter().map(serde_bytes::ByteBuf::from));
    }
    // The index author's key is derived from the index key, which a device holding the phrase's
    // keys has (a linked device has not, and founded no index).
    let mut others = Vec::new();
    if let (Some(cert), Some(index_key)) = (
        crate::identity::person::stored_index_author_certificate(store)?,
        crate::identity::person::index_key(store)?,
    ) {
        let keys = crate::space::index::keys(&index_key)?;
        let signer = keys.author.signing_key()?;
        others.push(OtherKey::sign(cert, &signer, relay, requester, &person));
    }
    Ok(Some(Admission {
        certificate,
        grants,
        others,
    }))
}
