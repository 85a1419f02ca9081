//! A device's proof of admission for a relay that admits by credential (`docs/protocol.md` section
//! 9.8; issue 15, item 2): its device certificate and, for each programme it holds a role in, the
//! grant that proves it with the chain above, and its person's certificate of the index author that
//! founds the person's index (section 20.2). Sent only after the relay answered `not-admitted`, so
//! a relay open to all never learns who the person is or which programmes they belong to.

use sebaya_proto::programme::{ProgrammeRegistry, SignedRoleGrant};
use sebaya_proto::sync::{Admission, MAX_ADMISSION_GRANTS};

use crate::error::Result;
use crate::identity::person::{stored_certificate, verify_device_certificate};
use crate::space::credentials::{BytesList, GRANTS, load};
use crate::store::Store;

/// The proof this device can give, if it has a certificate (a device without a person has none).
/// Grants this device kept for others (a coordinator keeps what it issued) are left out.
pub(crate) fn proof(store: &Store, now: u64) -> Result<Option<Admission>> {
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
        .collect();
    programmes.sort_unstable();
    programmes.dedup();
    let mut grants = Vec::new();
    for programme in programmes {
        let mut registry = ProgrammeRegistry::new(programme);
        for g in &kept.0 {
            let _ = registry.insert_grant(g);
        }
        let chain = registry.chain_for(&person, now);
        if grants.len() + chain.len() > MAX_ADMISSION_GRANTS {
            break;
        }
        grants.extend(chain.into_iter().map(serde_bytes::ByteBuf::from));
    }
    let others = crate::identity::person::stored_index_author_certificate(store)?
        .into_iter()
        .map(serde_bytes::ByteBuf::from)
        .collect();
    Ok(Some(Admission {
        certificate,
        grants,
        others,
    }))
}
