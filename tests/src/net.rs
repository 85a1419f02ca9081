//! A relay on loopback and a sync helper, shared by the multi-device scenarios in `tests/tests/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::{ReqwestClient, SyncReport, Vault};

/// A real relay (its own data directory, an ephemeral loopback port) and an HTTP client to reach it.
pub struct Net {
    _dir: tempfile::TempDir,
    /// The running relay.
    pub relay: sebaya_relay::RelayHandle,
    /// The client every vault syncs through.
    pub http: ReqwestClient,
}

/// Starts a relay on loopback. Panics if it cannot (a test setup failure, not a finding).
pub fn net() -> Net {
    let dir = tempfile::tempdir().unwrap();
    let relay = sebaya_relay::spawn(sebaya_relay::RelayConfig {
        data_dir: dir.path().join("relay"),
        bind: "127.0.0.1:0".parse().unwrap(),
    })
    .unwrap();
    Net {
        _dir: dir,
        relay,
        http: ReqwestClient::new().unwrap(),
    }
}

/// Syncs `v` with the relay; panics on a sync error.
pub fn sync(n: &Net, v: &mut Vault) -> SyncReport {
    v.sync_with(&n.http, &n.relay.url()).unwrap()
}

/// The envelopes a `/v1/sync` request pushes, each with its SHA-256 (`None` for any other request):
/// what tests that cut or drop requests compare to tell whether an envelope went twice.
pub fn pushed(request: &sebaya_core::HttpRequest) -> Option<Vec<(Vec<u8>, [u8; 32])>> {
    if !request.url.ends_with("/v1/sync") {
        return None;
    }
    let req: sebaya_proto::sync::SyncRequest = sebaya_proto::sync::decode(&request.body).unwrap();
    Some(
        req.envelopes
            .into_iter()
            .map(|e| {
                let id = ring::digest::digest(&ring::digest::SHA256, &e)
                    .as_ref()
                    .try_into()
                    .unwrap();
                (e.to_vec(), id)
            })
            .collect(),
    )
}
