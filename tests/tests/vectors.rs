//! A vector that lists more authors than the protocol carries sets its own space aside, never the
//! sync (issue 15, item 3). One member certifying thousands of devices used to make the relay's
//! vector for the group too large for every member's device, and every member's sync failed, for all
//! their spaces, for good. A person now vouches at most 16 devices in (`MAX_DEVICES_PER_PERSON`), the
//! relay never serves such a vector, and a device that meets one anyway (an older or hostile relay)
//! sets that space aside and syncs the rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::groups::{add_note, notes};
use sebaya_core::{HttpClient, HttpRequest, HttpResponse, SpaceId, Vault};
use sebaya_proto::sync::{AuthorSeq, MAX_AUTHORS, SyncResponse};
use sebaya_tests::day::group_pair;
use sebaya_tests::net::{Net, net};

/// Passes requests to the relay and makes its vector of one space list more than `MAX_AUTHORS`
/// authors in every answer.
struct InflatedVector<'a> {
    net: &'a Net,
    space: SpaceId,
}

impl HttpClient for InflatedVector<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let is_sync = request.url.ends_with("/v1/sync");
        let mut resp = self.net.http.send(request)?;
        if is_sync && resp.status == 200 {
            let mut answer: SyncResponse = sebaya_proto::sync::decode(&resp.body).unwrap();
            for sv in answer.spaces.iter_mut().filter(|v| v.space == self.space.0) {
                sv.vector.extend((0..=MAX_AUTHORS).map(|i| {
                    let mut author = [0x11u8; 32];
                    author[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    AuthorSeq {
                        author: author.to_vec(),
                        seq: 1,
                    }
                }));
            }
            resp.body = sebaya_proto::sync::encode(&answer).unwrap();
        }
        Ok(resp)
    }
}

fn note(v: &mut Vault, g: &SpaceId, id: &str, text: &str) {
    let me = v.device_id().to_hex();
    v.with_space(g, |d, now| add_note(d, id, "Catatan", text, &me, now))
        .unwrap();
}

#[test]
fn a_vector_too_large_for_one_space_sets_that_space_aside_and_the_rest_syncs() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut fac, mut member, g) = group_pair(dir.path());
    note(&mut fac, &g, "00000000000000d1", "Sabtu jam empat");
    fac.sync_with(&n.http, &n.relay.url()).unwrap();
    member.journal_add("hari ini lebih tenang", 4, &[]).unwrap();

    let hostile = InflatedVector { net: &n, space: g };
    let report = member
        .sync_with(&hostile, &n.relay.url())
        .expect("one space's vector must not fail the whole sync");
    assert!(report.refused_spaces >= 1, "{report:?}");
    assert!(report.pushed >= 1, "the journal entry went: {report:?}");
    assert!(
        member.read_space(&g, notes).unwrap().is_empty(),
        "nothing of the set-aside space was taken"
    );

    // An honest relay's answer brings the group back.
    member.sync_with(&n.http, &n.relay.url()).unwrap();
    let texts: Vec<String> = member
        .read_space(&g, notes)
        .unwrap()
        .into_iter()
        .map(|x| x.text)
        .collect();
    assert_eq!(texts, ["Sabtu jam empat"]);
}
