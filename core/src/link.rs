//! Linking a second device of the same person (first slice): a pairing code that carries the journal's
//! id and key, sealed under a one-time secret shown beside it. The new device makes its own keys and
//! becomes a second author; the first device's signing key never leaves it.
//!
//! The shared-spaces work replaces this with device certificates and per-device key wraps.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use crate::crypto;
use crate::error::{Error, Result};

/// Prefix of a pairing code, with its format version.
pub const CODE_PREFIX: &str = "SBYL1";
/// How long an offer stays valid.
pub const OFFER_TTL_SECS: u64 = 15 * 60;
const LABEL: &[u8] = b"sebaya/v1/link-offer";

/// What the first device shows: the code (for a QR code) and the secret (typed or scanned separately).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOffer {
    /// Uppercase hex: fits a QR code's alphanumeric mode.
    pub code: String,
    /// 96-bit one-time secret as six groups of four hex digits.
    pub secret: String,
}

#[derive(Serialize, Deserialize)]
struct Package {
    v: u8,
    space: ByteBuf,
    kind: u8,
    key: ByteBuf,
    expires: u64,
}

/// What a valid code carries.
pub struct LinkedSpace {
    /// The journal's space id.
    pub space: [u8; 16],
    /// Space kind byte.
    pub kind: u8,
    /// The journal key.
    pub key: crypto::Key32,
}

fn secret_key(secret: &[u8]) -> Result<crypto::Key32> {
    crypto::derive(secret, LABEL)
}

/// Seals an offer for the given space.
pub fn make_offer(space: [u8; 16], kind: u8, key: &[u8; 32], now_secs: u64) -> Result<LinkOffer> {
    let secret: [u8; 12] = crypto::random()?;
    let pkg = Package {
        v: 1,
        space: ByteBuf::from(space.to_vec()),
        kind,
        key: ByteBuf::from(key.to_vec()),
        expires: now_secs + OFFER_TTL_SECS,
    };
    let mut plain = Zeroizing::new(Vec::new());
    ciborium::into_writer(&pkg, &mut *plain).map_err(|_| Error::Internal("encode link offer"))?;
    let mut pkg = pkg;
    zeroize::Zeroize::zeroize(pkg.key.as_mut_slice());
    let sealed = crypto::seal_value(&*secret_key(&secret)?, LABEL, &plain)?;
    let hex_secret = hex::encode_upper(secret);
    let groups: Vec<&str> = (0..6).map(|i| &hex_secret[i * 4..i * 4 + 4]).collect();
    Ok(LinkOffer {
        code: format!("{CODE_PREFIX}{}", hex::encode_upper(sealed)),
        secret: groups.join("-"),
    })
}

/// Opens an offer. A wrong secret, an altered code or an expired offer all give [`Error::BadLinkCode`].
pub fn open_offer(code: &str, secret: &str, now_secs: u64) -> Result<LinkedSpace> {
    let body = code
        .trim()
        .strip_prefix(CODE_PREFIX)
        .ok_or(Error::BadLinkCode)?;
    if body.len() > 1024 {
        return Err(Error::BadLinkCode);
    }
    let sealed = hex::decode(body).map_err(|_| Error::BadLinkCode)?;
    let cleaned: String = secret.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let secret = Zeroizing::new(hex::decode(cleaned).map_err(|_| Error::BadLinkCode)?);
    if secret.len() != 12 {
        return Err(Error::BadLinkCode);
    }
    let plain = crypto::open_value(&*secret_key(&secret)?, LABEL, &sealed, "link offer")
        .map_err(|_| Error::BadLinkCode)?;
    let mut pkg: Package =
        ciborium::from_reader(plain.as_slice()).map_err(|_| Error::BadLinkCode)?;
    let key: Result<[u8; 32]> = pkg
        .key
        .as_slice()
        .try_into()
        .map_err(|_| Error::BadLinkCode);
    zeroize::Zeroize::zeroize(pkg.key.as_mut_slice());
    let key = Zeroizing::new(key?);
    if pkg.v != 1 || now_secs > pkg.expires {
        return Err(Error::BadLinkCode);
    }
    let space: [u8; 16] = pkg
        .space
        .as_slice()
        .try_into()
        .map_err(|_| Error::BadLinkCode)?;
    Ok(LinkedSpace {
        space,
        kind: pkg.kind,
        key,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn offer_round_trip_and_refusals() {
        let offer = make_offer([7; 16], 1, &[9; 32], 1000).unwrap();
        let got = open_offer(&offer.code, &offer.secret, 1001).unwrap();
        assert_eq!(got.space, [7; 16]);
        assert_eq!(*got.key, [9; 32]);
        assert!(matches!(
            open_offer(&offer.code, &offer.secret, 1000 + OFFER_TTL_SECS + 1),
            Err(Error::BadLinkCode)
        ));
        assert!(matches!(
            open_offer(&offer.code, "0000-0000-0000-0000-0000-0000", 1001),
            Err(Error::BadLinkCode)
        ));
        let mut tampered = offer.code.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(matches!(
            open_offer(&tampered, &offer.secret, 1001),
            Err(Error::BadLinkCode)
        ));
        assert!(matches!(
            open_offer("nonsense", &offer.secret, 1001),
            Err(Error::BadLinkCode)
        ));
    }
}
