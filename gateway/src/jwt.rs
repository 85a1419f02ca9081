//! The bits of JSON Web Tokens (RFC 7519) and key files the providers need: base64url without
//! padding, PEM's PKCS#8 armour (an APNs `.p8` key, a service account's `private_key`), and signing
//! `header.claims` with ES256 (APNs) or RS256 (Google's OAuth 2.0 service-account flow).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use ring::rand::SecureRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use zeroize::Zeroizing;

/// base64url without padding, as JWTs use it.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// The DER inside one `-----BEGIN PRIVATE KEY-----` block (PKCS#8). Names no key on failure.
pub fn pkcs8_from_pem(pem: &str) -> Option<Zeroizing<Vec<u8>>> {
    let begin = "-----BEGIN PRIVATE KEY-----";
    let end = "-----END PRIVATE KEY-----";
    let start = pem.find(begin)? + begin.len();
    let stop = start + pem[start..].find(end)?;
    let text: Zeroizing<String> = Zeroizing::new(
        pem[start..stop]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    STANDARD.decode(text.as_bytes()).ok().map(Zeroizing::new)
}

/// A signed JWT: `b64(header).b64(claims).b64(signature)`.
fn signed(
    header: &str,
    claims: &str,
    sign: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<String> {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = sign(input.as_bytes())?;
    Some(format!("{input}.{}", b64(sig)))
}

/// An ES256 JWT (P-256, the signature as `r || s`).
pub fn es256(
    key: &EcdsaKeyPair,
    header: &str,
    claims: &str,
    rng: &dyn SecureRandom,
) -> Option<String> {
    signed(header, claims, |input| {
        key.sign(rng, input).ok().map(|s| s.as_ref().to_vec())
    })
}

/// An RS256 JWT (RSASSA-PKCS1-v1_5 with SHA-256).
pub fn rs256(
    key: &RsaKeyPair,
    header: &str,
    claims: &str,
    rng: &dyn SecureRandom,
) -> Option<String> {
    signed(header, claims, |input| {
        let mut sig = vec![0u8; key.public().modulus_len()];
        key.sign(&signature::RSA_PKCS1_SHA256, rng, input, &mut sig)
            .ok()
            .map(|()| sig)
    })
}
