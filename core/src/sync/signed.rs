//! Signing a device's request to a relay (protocol section 10): one place for the sync, the live
//! wait and the wake-up registration, so all three sign, date and address alike.

use sebaya_proto::request::RequestAuth;

use super::relay::{HttpRequest, now_secs};
use crate::crypto;
use crate::error::Result;
use crate::identity::Identity;

/// A CBOR body POSTed to `path` of the relay at `base`, signed as protocol section 10 says with the
/// relay's id and this device's clock moved by `offset` (both learnt from earlier answers): the one
/// way every signed request of a device (sync, live wait, wake-up registration) is made.
pub(crate) fn signed_cbor_post(
    identity: &Identity,
    (relay_id, offset): (&[u8], i64),
    base: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<HttpRequest> {
    let ts = (now_secs() + offset).max(0) as u64;
    let auth = RequestAuth::sign(
        &identity.signing_key()?,
        identity.device,
        relay_id,
        "POST",
        path,
        ts,
        crypto::random()?,
        &body,
    )?;
    let mut headers: Vec<(String, String)> = auth
        .to_headers()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    headers.push(("content-type".into(), "application/cbor".into()));
    Ok(HttpRequest {
        method: "POST".into(),
        url: format!("{}{path}", base.trim_end_matches('/')),
        headers,
        body,
    })
}
