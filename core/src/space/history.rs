//! History sealing: when a space's key rotates, the earlier keys travel sealed under the new one, so
//! a member who joins later can read what came before (protocol section 13.5).

use zeroize::Zeroizing;

use sebaya_proto::{EpochId, SpaceId};

use crate::crypto::{self, Key32};
use crate::error::{Error, Result};

/// Domain label of the history key derived from a new epoch key.
const HISTORY_LABEL: &[u8] = b"sebaya/v1/history";

fn history_aead(new_key: &[u8; 32]) -> Result<ring::aead::LessSafeKey> {
    let k = crypto::derive(new_key, HISTORY_LABEL)?;
    let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, k.as_ref())
        .map_err(|_| Error::Internal("key setup"))?;
    Ok(ring::aead::LessSafeKey::new(unbound))
}

fn history_ad(space: &SpaceId, new_epoch: &EpochId, old: &EpochId) -> Vec<u8> {
    let mut ad = Vec::with_capacity(80);
    ad.extend_from_slice(&space.0);
    ad.extend_from_slice(&new_epoch.0);
    ad.extend_from_slice(&old.0);
    ad
}

/// Seals an earlier epoch key under a newer one. The nonce is the first 12 bytes of the earlier epoch
/// id: under one derived key each earlier epoch is sealed once, so no nonce repeats.
pub(super) fn seal_history(
    new_key: &[u8; 32],
    space: &SpaceId,
    new_epoch: &EpochId,
    old: &EpochId,
    old_key: &[u8; 32],
) -> Result<Vec<u8>> {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&old.0[..12]);
    let mut buf = old_key.to_vec();
    history_aead(new_key)?
        .seal_in_place_append_tag(
            ring::aead::Nonce::assume_unique_for_key(nonce),
            ring::aead::Aad::from(history_ad(space, new_epoch, old)),
            &mut buf,
        )
        .map_err(|_| Error::Internal("seal failed"))?;
    Ok(buf)
}

pub(super) fn open_history(
    new_key: &[u8; 32],
    space: &SpaceId,
    new_epoch: &EpochId,
    old: &EpochId,
    sealed: &[u8],
) -> Result<Key32> {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&old.0[..12]);
    let mut buf = Zeroizing::new(sealed.to_vec());
    let plain = history_aead(new_key)?
        .open_in_place(
            ring::aead::Nonce::assume_unique_for_key(nonce),
            ring::aead::Aad::from(history_ad(space, new_epoch, old)),
            buf.as_mut_slice(),
        )
        .map_err(|_| Error::Content("an earlier key does not open"))?;
    let arr: [u8; 32] = (&*plain)
        .try_into()
        .map_err(|_| Error::Content("an earlier key does not open"))?;
    Ok(Zeroizing::new(arr))
}
