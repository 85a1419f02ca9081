//! VAPID (RFC 8292): the relay names itself to a push service with a short-lived ES256 JWT signed by
//! one long-lived P-256 key, and hands the public half to devices, which give it to the push service
//! when they subscribe, so that nobody else can push to them through that subscription.
//!
//! ```text
//! Authorization: vapid t=<base64url(header)>.<base64url(claims)>.<base64url(signature)>, k=<base64url(public key)>
//! header = {"typ":"JWT","alg":"ES256"}
//! claims = {"aud":"<endpoint's origin>","exp":<now + 12 h>,"sub":"<operator contact>"}
//! ```

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SecureRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use zeroize::Zeroizing;

use super::WebPushError;
use super::encrypt::PUBLIC_KEY_LEN;

/// How long a token is good for. RFC 8292 allows at most 24 hours; half leaves room for clocks that
/// disagree, and a token is made per wake-up anyway.
pub const VAPID_LIFETIME_SECS: u64 = 12 * 3600;
/// The most a verifier accepts (RFC 8292, section 2).
const MAX_LIFETIME_SECS: u64 = 24 * 3600;
const JWT_HEADER: &str = r#"{"typ":"JWT","alg":"ES256"}"#;

/// The relay's VAPID signing key. Its PKCS#8 form is the only secret a relay keeps (devices'
/// subscriptions are not secret from the relay); it is zeroized when dropped.
pub struct VapidKey {
    pair: EcdsaKeyPair,
    public: [u8; PUBLIC_KEY_LEN],
}

/// One `Authorization` value's two parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VapidToken {
    /// The signed JWT (`t=`).
    pub jwt: String,
    /// The signer's public key, base64url (`k=`).
    pub key: String,
}

impl VapidToken {
    /// The `Authorization` header value a push service expects.
    pub fn authorization(&self) -> String {
        format!("vapid t={}, k={}", self.jwt, self.key)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    aud: String,
    exp: u64,
    sub: String,
}

impl VapidKey {
    /// A new key from the system's random source, with its PKCS#8 form to keep.
    pub fn generate(rng: &dyn SecureRandom) -> Result<(Self, Zeroizing<Vec<u8>>), WebPushError> {
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, rng)
            .map_err(|_| WebPushError::Crypto)?;
        let pkcs8 = Zeroizing::new(doc.as_ref().to_vec());
        Ok((Self::from_pkcs8(&pkcs8, rng)?, pkcs8))
    }

    /// The key kept as PKCS#8 (what [`VapidKey::generate`] returns).
    pub fn from_pkcs8(pkcs8: &[u8], rng: &dyn SecureRandom) -> Result<Self, WebPushError> {
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, rng)
                .map_err(|_| WebPushError::Malformed)?;
        let public = <[u8; PUBLIC_KEY_LEN]>::try_from(pair.public_key().as_ref())
            .map_err(|_| WebPushError::Crypto)?;
        Ok(Self { pair, public })
    }

    /// The key in `path`, made and written there (owner-only) when the file does not exist yet, so a
    /// relay keeps one key across restarts and devices' subscriptions stay valid.
    ///
    /// A new key is written whole to a file of its own beside `path` and flushed to disk, then linked
    /// to `path`, which fails if `path` exists (review finding F2): so `path` never holds a part of a
    /// key, and of two relays starting at once on one path exactly one key is kept; the other relay
    /// reads it. A file that holds no key is an error, never replaced.
    pub fn load_or_create(path: &Path, rng: &dyn SecureRandom) -> std::io::Result<Self> {
        let invalid =
            |_| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad VAPID key file");
        // Twice at most: a lost race to create the file ends in reading the winner's.
        for _ in 0..2 {
            match std::fs::read(path) {
                Ok(bytes) => {
                    let bytes = Zeroizing::new(bytes);
                    return Self::from_pkcs8(&bytes, rng).map_err(invalid);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let (key, pkcs8) = Self::generate(rng).map_err(invalid)?;
                    if create_exclusively(path, &pkcs8, rng)? {
                        return Ok(key);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(
            "the VAPID key file appeared and went while starting",
        ))
    }

    /// The public key, uncompressed, as devices give it to their push service
    /// (`applicationServerKey`).
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.public
    }

    /// A token for pushing to `endpoint` at unix time `now`. `subject` is how the push service's
    /// operator reaches this relay's (`mailto:` or `https:`).
    pub fn token(
        &self,
        endpoint: &str,
        subject: &str,
        now: u64,
        rng: &dyn SecureRandom,
    ) -> Result<VapidToken, WebPushError> {
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            return Err(WebPushError::Malformed);
        }
        let claims = Claims {
            aud: audience(endpoint)?,
            exp: now.saturating_add(VAPID_LIFETIME_SECS),
            sub: subject.to_owned(),
        };
        let claims = serde_json::to_vec(&claims).map_err(|_| WebPushError::Crypto)?;
        let signed = format!("{}.{}", B64.encode(JWT_HEADER), B64.encode(claims));
        let sig = self
            .pair
            .sign(rng, signed.as_bytes())
            .map_err(|_| WebPushError::Crypto)?;
        Ok(VapidToken {
            jwt: format!("{signed}.{}", B64.encode(sig.as_ref())),
            key: B64.encode(self.public),
        })
    }
}

/// Writes `bytes` to a new file beside `path` (owner-only, flushed), then links it to `path`.
/// Returns false when `path` exists already (another relay made it first); the new file is
/// removed either way.
fn create_exclusively(path: &Path, bytes: &[u8], rng: &dyn SecureRandom) -> std::io::Result<bool> {
    let mut tag = [0u8; 8];
    rng.fill(&mut tag)
        .map_err(|_| std::io::Error::other("the random source failed"))?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.new", hex::encode(tag)));
    let temp = path.with_file_name(name);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::hard_link(&temp, path)
    })();
    let _ = std::fs::remove_file(&temp);
    match written {
        Ok(()) => {
            // The new name is durable once its directory is.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                #[cfg(unix)]
                std::fs::File::open(dir)?.sync_all()?;
                #[cfg(not(unix))]
                let _ = dir;
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// A push endpoint's origin, the token's audience. Only `https`, or `http` to a loopback address
/// (the tests' push service). Which hosts the relay posts to at all is `endpoint.rs`'s to say.
pub(crate) fn audience(endpoint: &str) -> Result<String, WebPushError> {
    let url = url::Url::parse(endpoint).map_err(|_| WebPushError::BadEndpoint)?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => return Err(WebPushError::BadEndpoint),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(WebPushError::BadEndpoint),
    }
    Ok(url.origin().ascii_serialization())
}

/// Checks an `Authorization` value as a push service does (RFC 8292, section 3): a well-formed
/// `vapid` value, an ES256 signature by `k`, the endpoint's origin as audience, and an expiry in the
/// future and at most 24 hours away. Returns the signer's public key (the one a subscription is
/// bound to). For the tests' push service and the push gateway; a relay only signs.
pub fn verify_token(
    authorization: &str,
    endpoint: &str,
    now: u64,
) -> Result<[u8; PUBLIC_KEY_LEN], WebPushError> {
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or(WebPushError::Malformed)?;
    let (mut jwt, mut key) = (None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(t) = part.strip_prefix("t=") {
            jwt = Some(t);
        } else if let Some(k) = part.strip_prefix("k=") {
            key = Some(k);
        } else {
            return Err(WebPushError::Malformed);
        }
    }
    let (jwt, key) = jwt.zip(key).ok_or(WebPushError::Malformed)?;
    let public = B64.decode(key).map_err(|_| WebPushError::Malformed)?;
    let public =
        <[u8; PUBLIC_KEY_LEN]>::try_from(public.as_slice()).map_err(|_| WebPushError::Malformed)?;
    let (signed, sig) = jwt.rsplit_once('.').ok_or(WebPushError::Malformed)?;
    let (header, claims) = signed.split_once('.').ok_or(WebPushError::Malformed)?;
    let sig = B64.decode(sig).map_err(|_| WebPushError::Malformed)?;
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public)
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| WebPushError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(header).map_err(|_| WebPushError::Malformed)?)
            .map_err(|_| WebPushError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("ES256") {
        return Err(WebPushError::Malformed);
    }
    let claims: Claims =
        serde_json::from_slice(&B64.decode(claims).map_err(|_| WebPushError::Malformed)?)
            .map_err(|_| WebPushError::Malformed)?;
    if claims.aud != audience(endpoint)?
        || claims.exp <= now
        || claims.exp > now.saturating_add(MAX_LIFETIME_SECS)
    {
        return Err(WebPushError::Malformed);
    }
    Ok(public)
}
