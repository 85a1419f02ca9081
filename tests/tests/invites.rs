//! Remote invites through a real relay on loopback (`docs/protocol.md`, section 18): a code that fits
//! a QR code, a one-time secret, expiry, revocation, a join request an admin approves, and the
//! refusals: an invite used twice, an expired invite, a stranger's request, a revoked invite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sebaya_tests::net::{Net, net, sync};

use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_core::groups;
use sebaya_core::space::invites::JoinStatus;
use sebaya_core::{Error, HttpClient, HttpRequest, HttpResponse, Role, SpaceId, Vault};
use sebaya_proto::DeviceId;
use sebaya_proto::invite::{
    INVITE_CODE_CHARS, InviteCode, InviteId, JoinRequest, MAX_JOIN_ANSWER_LEN,
};
use sebaya_proto::membership::{Op, Statement};
use sebaya_proto::request::RequestAuth;
use sebaya_proto::sync::{
    self as wire, JoinAnswer, JoinPost, SpaceVector, SyncRequest, SyncResponse,
};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    Vault::open(&dir.path().join(name), &[seed; 32]).unwrap()
}

/// A device outside Sebaya's client: signs one sync request that leaves `post` at the relay, and
/// returns the relay's answer.
fn raw_post(n: &Net, key: &Ed25519KeyPair, post: JoinPost) -> SyncResponse {
    raw_sync(
        n,
        key,
        SyncRequest {
            v: wire::SYNC_VERSION,
            spaces: vec![],
            envelopes: vec![],
            max_response_bytes: 1 << 20,
            join_requests: vec![post],
            join_answers: vec![],
            taken_join_answers: Vec::new(),
            erase: Vec::new(),
            erasures: Vec::new(),
            admission: None,
        },
    )
}

/// A device outside Sebaya's client: signs `request` (with a fresh request id) and returns the
/// relay's answer.
fn raw_sync(n: &Net, key: &Ed25519KeyPair, request: SyncRequest) -> SyncResponse {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let info = n
        .http
        .send(HttpRequest {
            method: "GET".into(),
            url: format!("{}/v1/info", n.relay.url()),
            headers: vec![],
            body: vec![],
        })
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.body).unwrap();
    let relay_id = hex::decode(info["relay_id"].as_str().unwrap()).unwrap();
    let body = wire::encode(&request).unwrap();
    let mut request_id = [0x42; 16];
    request_id[..8].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    let device = DeviceId::from_slice(key.public_key().as_ref()).unwrap();
    let auth = RequestAuth::sign(
        key,
        device,
        &relay_id,
        "POST",
        "/v1/sync",
        info["time"].as_u64().unwrap(),
        request_id,
        &body,
    )
    .unwrap();
    let mut headers: Vec<(String, String)> = auth
        .to_headers()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    headers.push(("content-type".into(), "application/cbor".into()));
    let resp = n
        .http
        .send(HttpRequest {
            method: "POST".into(),
            url: format!("{}/v1/sync", n.relay.url()),
            headers,
            body,
        })
        .unwrap();
    assert_eq!(resp.status, 200);
    wire::decode(&resp.body).unwrap()
}

/// A request under the real invite id, sealed with a secret that is not the invite's (the AEAD
/// key differs): what someone who saw the invite id in the log, but never the code, could send.
fn forged_post(key: &Ed25519KeyPair, space: SpaceId, invite: InviteId) -> JoinPost {
    let wrong = [0x77u8; 16];
    let request = JoinRequest {
        space,
        invite: sebaya_proto::invite::invite_id(&space, &wrong).unwrap(),
        device: DeviceId::from_slice(key.public_key().as_ref()).unwrap(),
        x25519: [9; 32],
        certificate: None,
        name: "Penyusup".into(),
        time: 1_800_000_000,
    };
    JoinPost {
        space: space.0.to_vec(),
        invite: invite.0.to_vec(),
        body: request.seal(&wrong, key, [1; 12]).unwrap(),
        token: Vec::new(),
    }
}

fn note(v: &mut Vault, g: &sebaya_core::SpaceId, id: &str, text: &str) {
    let me = v.device_id().to_hex();
    v.with_space(g, |d, now| {
        groups::add_note(d, id, "Catatan", text, &me, now)
    })
    .unwrap();
}

#[test]
fn a_remote_invite_admits_one_person_who_then_reads_and_writes_the_group() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = vault(&dir, "f.db", 1);
    let mut joiner = vault(&dir, "j.db", 2);
    let mut second = vault(&dir, "s.db", 3);
    joiner.create_person().unwrap();
    let g = facilitator.create_group("Kelompok Jumat").unwrap();
    note(&mut facilitator, &g, "00000000000000a1", "Sebelum undangan");
    // A removal before the invite: the newcomer must still read the whole document.
    let gone = vault(&dir, "gone.db", 9);
    let resp = facilitator
        .approve_group_member_with(&g, &gone.link_request().unwrap(), Role::Member, true)
        .unwrap();
    drop(resp);
    facilitator
        .remove_group_member(&g, &gone.device_id())
        .unwrap();
    note(&mut facilitator, &g, "00000000000000a2", "Setelah rotasi");

    // History shared explicitly: the newcomer reads what was written before.
    let invite = facilitator.create_invite_with(&g, 3600, true).unwrap();
    assert_eq!(invite.space, g);
    assert_eq!(invite.code.len(), INVITE_CODE_CHARS);
    assert!(invite.code.len() < 200);
    sync(&n, &mut facilitator);

    // The joiner asks; nothing is joined yet.
    let pending = joiner.accept_invite(&invite.code, "Rina").unwrap();
    assert_eq!(pending.space, g);
    assert_eq!(pending.status, JoinStatus::Waiting);
    assert!(joiner.shared_spaces().is_empty());
    sync(&n, &mut joiner);
    assert!(joiner.shared_spaces().is_empty());

    // The facilitator sees the request with the name and the joiner's person, and approves it.
    let r = sync(&n, &mut facilitator);
    assert_eq!(r.join_requests, 1);
    let requests = facilitator.join_requests().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].name, "Rina");
    assert_eq!(requests[0].device, joiner.device_id());
    assert_eq!(requests[0].person, joiner.person_id().map(|p| p.0));
    assert_eq!(
        facilitator.approve_join_request(&requests[0].id).unwrap(),
        joiner.device_id()
    );
    assert!(facilitator.join_requests().unwrap().is_empty());
    sync(&n, &mut facilitator);

    // The joiner's next sync brings the group and its notes, from before and after the rotation.
    let r = sync(&n, &mut joiner);
    assert_eq!(r.joined, 1);
    assert!(joiner.pending_joins().unwrap().is_empty());
    let notes = joiner.read_space(&g, groups::notes).unwrap();
    let texts: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
    assert!(texts.contains(&"Sebelum undangan"), "{texts:?}");
    assert!(texts.contains(&"Setelah rotasi"), "{texts:?}");
    assert_eq!(joiner.groups()[0].role, Some(Role::Member));
    let state = facilitator.space_membership(&g).unwrap();
    assert_eq!(
        state.persons.get(&joiner.device_id()),
        joiner.person_id().map(|p| p.0).as_ref()
    );

    // And writes: the facilitator reads the newcomer's note.
    note(&mut joiner, &g, "00000000000000b1", "Halo semua");
    sync(&n, &mut joiner);
    sync(&n, &mut facilitator);
    assert!(
        facilitator
            .read_space(&g, |d| groups::note(d, "00000000000000b1"))
            .unwrap()
            .is_some()
    );

    // The same code used again by a second person: the relay refuses it, nothing changes.
    second.accept_invite(&invite.code, "Orang lain").unwrap();
    sync(&n, &mut second);
    let p = second.pending_joins().unwrap();
    assert_eq!(p[0].status, JoinStatus::Refused("invite-spent".into()));
    assert!(second.shared_spaces().is_empty());
    let members_before = facilitator.space_membership(&g).unwrap().members.clone();
    let r = sync(&n, &mut facilitator);
    assert_eq!(r.join_requests, 0);
    assert_eq!(
        facilitator.space_membership(&g).unwrap().members,
        members_before
    );
}

#[test]
fn a_spent_expired_revoked_or_forged_invite_admits_nobody() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut admin = vault(&dir, "a.db", 1);
    let mut first = vault(&dir, "b.db", 2);
    let mut second = vault(&dir, "c.db", 3);
    let stranger_key = Ed25519KeyPair::from_seed_unchecked(&[0x66; 32]).unwrap();
    let stranger_device = DeviceId::from_slice(stranger_key.public_key().as_ref()).unwrap();
    let mut supervisor = vault(&dir, "d.db", 4);
    let g = admin.create_group("Kelompok").unwrap();
    let invite = admin.create_invite(&g, 3600).unwrap();
    sync(&n, &mut admin);

    // Two people ask with the same code before the admin decides: one is admitted, the other gets
    // InviteSpent and nothing changes.
    first.accept_invite(&invite.code, "Satu").unwrap();
    second.accept_invite(&invite.code, "Dua").unwrap();
    sync(&n, &mut first);
    sync(&n, &mut second);
    // A stranger who read the invite id in the log (any member can) leaves a request made without
    // the secret, under the same invite id: the invite's gate refuses it at the relay (no request
    // token), so it never fills the mailbox or reaches the admin.
    let answer = raw_post(&n, &stranger_key, forged_post(&stranger_key, g, invite.id));
    assert_eq!(answer.refused_join_requests.len(), 1);
    assert_eq!(answer.refused_join_requests[0].reason, "not-authorised");

    let r = sync(&n, &mut admin);
    assert_eq!(r.join_requests, 2);
    assert_eq!(r.joins_refused, 0);
    let requests = admin.join_requests().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|q| q.device != stranger_device));
    let one = requests.iter().find(|q| q.name == "Satu").unwrap();
    let two = requests.iter().find(|q| q.name == "Dua").unwrap();
    admin.approve_join_request(&one.id).unwrap();
    let members = admin.space_membership(&g).unwrap().members.clone();
    assert!(matches!(
        admin.approve_join_request(&two.id),
        Err(Error::InviteSpent)
    ));
    assert_eq!(admin.space_membership(&g).unwrap().members, members);
    assert!(matches!(
        admin.revoke_invite(&g, &invite.id),
        Err(Error::InviteSpent)
    ));
    admin.decline_join_request(&two.id).unwrap();
    assert!(matches!(
        admin.decline_join_request(&two.id),
        Err(Error::NotFound(_))
    ));
    sync(&n, &mut admin);
    assert_eq!(sync(&n, &mut first).joined, 1);
    assert_eq!(sync(&n, &mut second).joined, 0);
    assert!(second.shared_spaces().is_empty());

    // An expired code is refused on the joiner's device before anything is sent.
    let mut expired = InviteCode::from_code(&invite.code).unwrap();
    assert_eq!(expired.space, g);
    expired.expires = 1_000_000_000;
    assert!(matches!(
        second.accept_invite(&expired.to_code(), "Dua"),
        Err(Error::InviteExpired)
    ));
    // A damaged code is BadInvite; so is a code for case notes.
    let mut damaged = invite.code.clone();
    damaged.pop();
    assert!(matches!(
        second.accept_invite(&damaged, "Dua"),
        Err(Error::BadInvite)
    ));
    // Case notes are never shared by invite.
    let (notes, _) =
        sebaya_tests::pairings::supervised_case_notes(&mut admin, &mut supervisor, "pairing-7")
            .unwrap();
    assert!(matches!(
        admin.create_invite(&notes, 60),
        Err(Error::NotAllowed(_))
    ));
    // Only admins invite; invites last 1 s to 30 days.
    assert!(matches!(
        first.create_invite(&g, 60),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        admin.create_invite(&g, 0),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        admin.create_invite(&g, 31 * 24 * 3600),
        Err(Error::InvalidInput(_))
    ));

    // A revoked invite: the relay refuses requests for it, and the admin cannot approve.
    let revoked = admin.create_invite(&g, 3600).unwrap();
    sync(&n, &mut admin);
    second.cancel_join(&g).unwrap();
    second.accept_invite(&revoked.code, "Dua").unwrap();
    sync(&n, &mut second);
    sync(&n, &mut admin);
    let req = admin.join_requests().unwrap();
    assert_eq!(req.len(), 1);
    admin.revoke_invite(&g, &revoked.id).unwrap();
    assert!(admin.join_requests().unwrap().is_empty());
    assert!(matches!(
        admin.approve_join_request(&req[0].id),
        Err(Error::NotFound(_))
    ));
    sync(&n, &mut admin);
    second.cancel_join(&g).unwrap();
    second.accept_invite(&revoked.code, "Dua").unwrap();
    sync(&n, &mut second);
    assert_eq!(
        second.pending_joins().unwrap()[0].status,
        JoinStatus::Refused("invite-revoked".into())
    );
    assert!(second.shared_spaces().is_empty());
}

#[test]
fn by_default_a_newcomer_joins_a_new_period_and_reads_no_history() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = vault(&dir, "f.db", 1);
    let mut member = vault(&dir, "m.db", 2);
    let mut newcomer = vault(&dir, "n.db", 3);
    let g = facilitator.create_group("Kelompok Senin").unwrap();
    // Before the group has a past, joining changes nothing.
    let resp = facilitator
        .approve_group_member(&g, &member.link_request().unwrap(), Role::Member)
        .unwrap();
    assert_eq!(member.join_group(&resp).unwrap(), g);
    note(
        &mut facilitator,
        &g,
        "00000000000000a1",
        "Cerita minggu lalu",
    );
    let me = facilitator.device_id().to_hex();
    facilitator
        .with_space(&g, |d, now| {
            groups::add_agenda_item(d, "00000000000000b1", "Latihan napas", now)?;
            groups::add_coping_idea(d, "00000000000000c1", "Jalan pagi", &me, now)
        })
        .unwrap();
    sync(&n, &mut facilitator);
    sync(&n, &mut member);

    // The default invite: the group goes on in a new period, and the invite admits to that.
    let invite = facilitator.create_invite(&g, 3600).unwrap();
    assert_ne!(invite.space, g);
    let p2 = invite.space;
    assert_eq!(
        facilitator
            .groups()
            .iter()
            .find(|x| x.id == g)
            .unwrap()
            .next,
        Some(p2)
    );
    assert!(matches!(
        facilitator.start_period(&g),
        Err(Error::InvalidInput(_))
    ));
    sync(&n, &mut facilitator);
    newcomer.accept_invite(&invite.code, "Baru").unwrap();
    sync(&n, &mut newcomer);
    sync(&n, &mut facilitator);
    let req = facilitator.join_requests().unwrap();
    facilitator.approve_join_request(&req[0].id).unwrap();
    sync(&n, &mut facilitator);
    assert_eq!(sync(&n, &mut newcomer).joined, 1);
    // The newcomer holds only the new period: open items carried over, last week's note not.
    assert_eq!(newcomer.shared_spaces().len(), 1);
    assert!(newcomer.read_space(&p2, groups::notes).unwrap().is_empty());
    assert_eq!(newcomer.read_space(&p2, groups::agenda).unwrap().len(), 1);
    assert_eq!(
        newcomer
            .read_space(&p2, groups::coping_ideas)
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        newcomer.read_space(&g, groups::notes),
        Err(Error::NotFound(_))
    ));
    // The existing member follows the group into the new period and keeps the old one.
    let r = sync(&n, &mut member);
    assert_eq!(r.new_periods, 1, "{r:?}");
    sync(&n, &mut member);
    assert_eq!(member.read_space(&g, groups::notes).unwrap().len(), 1);
    let m_me = member.device_id().to_hex();
    member
        .with_space(&p2, |d, now| {
            groups::add_note(d, "00000000000000d1", "", "Selamat datang", &m_me, now)
        })
        .unwrap();
    sync(&n, &mut member);
    sync(&n, &mut newcomer);
    assert_eq!(newcomer.read_space(&p2, groups::notes).unwrap().len(), 1);
    // Only facilitators start periods.
    assert!(matches!(
        member.start_period(&p2),
        Err(Error::NotAllowed(_))
    ));
}

/// Forwards every request, and keeps, per sync request, how many join answers it carried and the
/// reasons the relay gave for refusing any.
struct Watch<'a> {
    inner: &'a dyn HttpClient,
    answers: Mutex<Vec<(usize, Vec<String>)>>,
}

impl HttpClient for Watch<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let sent = request.url.ends_with("/v1/sync").then(|| {
            wire::decode::<SyncRequest>(&request.body)
                .unwrap()
                .join_answers
                .len()
        });
        let resp = self.inner.send(request)?;
        if let Some(sent) = sent {
            if resp.status == 200 {
                let answer: SyncResponse = wire::decode(&resp.body).unwrap();
                let reasons = answer
                    .refused_join_answers
                    .iter()
                    .map(|r| r.reason.clone())
                    .collect();
                self.answers.lock().unwrap().push((sent, reasons));
            }
        }
        Ok(resp)
    }
}

impl Watch<'_> {
    /// What the syncs since the last call carried and were told, for the requests that carried
    /// join answers.
    fn take(&self) -> Vec<(usize, Vec<String>)> {
        std::mem::take(&mut *self.answers.lock().unwrap())
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .collect()
    }
}

#[test]
fn an_answer_the_relay_refuses_for_a_full_mailbox_stays_and_goes_again() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = vault(&dir, "f.db", 1);
    let mut joiner = vault(&dir, "j.db", 2);
    let g = facilitator.create_group("Kelompok Rabu").unwrap();
    let invite = facilitator.create_invite(&g, 3600).unwrap();
    sync(&n, &mut facilitator);

    // Another admin, outside Sebaya's client, hands the joiner the codes of two spaces of its own;
    // the joiner asks to join those and the facilitator's group in one sync.
    let other = Ed25519KeyPair::from_seed_unchecked(&[0x55; 32]).unwrap();
    let other_id = DeviceId::from_slice(other.public_key().as_ref()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut theirs = Vec::new();
    for k in 1..=2u8 {
        let space = SpaceId([0x50 + k; 16]);
        let secret = [k; 16];
        let id = sebaya_proto::invite::invite_id(&space, &secret).unwrap();
        let genesis = Statement::new(
            space,
            vec![],
            other_id,
            now,
            Op::Genesis {
                admin: other_id,
                x25519: None,
            },
        )
        .sign(&other)
        .unwrap();
        let open = Statement::new(
            space,
            vec![genesis.id()],
            other_id,
            now,
            Op::Invite {
                invite: id.0,
                expires: now + 3600,
                gate: None,
            },
        )
        .sign(&other)
        .unwrap();
        let r = raw_sync(
            &n,
            &other,
            SyncRequest {
                v: wire::SYNC_VERSION,
                spaces: vec![SpaceVector::new(space, &BTreeMap::new())],
                envelopes: vec![
                    genesis
                        .to_envelope(space, 1, &other)
                        .unwrap()
                        .into_bytes()
                        .into(),
                    open.to_envelope(space, 2, &other)
                        .unwrap()
                        .into_bytes()
                        .into(),
                ],
                max_response_bytes: 1 << 20,
                join_requests: vec![],
                join_answers: vec![],
                taken_join_answers: vec![],
                erase: vec![],
                erasures: Vec::new(),
                admission: None,
            },
        );
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        let code = InviteCode {
            kind: 2,
            space,
            secret: zeroize::Zeroizing::new(secret),
            expires: u32::try_from(now + 3600).unwrap(),
            inviter: other_id,
        };
        joiner.accept_invite(&code.to_code(), "Rina").unwrap();
        theirs.push((space, id, open.id()));
    }
    joiner.accept_invite(&invite.code, "Rina").unwrap();
    sync(&n, &mut joiner);

    // The other admin admits the joiner in both and leaves an answer of the largest size in each:
    // the joiner's mailbox is at its byte limit (and stays so: the joiner cannot use them).
    let answer_to = |space: SpaceId, id: InviteId, body: Vec<u8>| JoinAnswer {
        space: space.0.to_vec(),
        invite: id.0.to_vec(),
        device: joiner.device_id().0.to_vec(),
        body,
    };
    for (space, id, parent) in &theirs {
        let admit = Statement::new(
            *space,
            vec![*parent],
            other_id,
            now,
            Op::Admit {
                device: joiner.device_id(),
                person: None,
                x25519: [9; 32],
                invite: id.0,
            },
        )
        .sign(&other)
        .unwrap();
        let r = raw_sync(
            &n,
            &other,
            SyncRequest {
                v: wire::SYNC_VERSION,
                spaces: vec![SpaceVector::new(*space, &BTreeMap::new())],
                envelopes: vec![
                    admit
                        .to_envelope(*space, 3, &other)
                        .unwrap()
                        .into_bytes()
                        .into(),
                ],
                max_response_bytes: 1 << 20,
                join_requests: vec![],
                join_answers: vec![answer_to(*space, *id, vec![7; MAX_JOIN_ANSWER_LEN])],
                taken_join_answers: vec![],
                erase: vec![],
                erasures: Vec::new(),
                admission: None,
            },
        );
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        assert!(
            r.refused_join_answers.is_empty(),
            "{:?}",
            r.refused_join_answers
        );
    }

    // The facilitator approves; the relay refuses its answer for now (`mailbox-full`).
    let watch = Watch {
        inner: &n.http,
        answers: Mutex::new(Vec::new()),
    };
    let url = n.relay.url();
    assert_eq!(
        facilitator.sync_with(&watch, &url).unwrap().join_requests,
        1
    );
    let requests = facilitator.join_requests().unwrap();
    assert_eq!(requests.len(), 1);
    facilitator.approve_join_request(&requests[0].id).unwrap();
    facilitator.sync_with(&watch, &url).unwrap();
    assert_eq!(watch.take(), vec![(1, vec!["mailbox-full".to_string()])]);

    // A refusal for a full mailbox is not the end: the answer stays in the facilitator's outbox and
    // goes again at the next sync (refused again while the mailbox is still full).
    facilitator.sync_with(&watch, &url).unwrap();
    assert_eq!(watch.take(), vec![(1, vec!["mailbox-full".to_string()])]);

    // Once there is room (the other admin replaces its answers with small ones), the next sync
    // delivers it, and the joiner joins.
    for (space, id, _) in &theirs {
        let r = raw_sync(
            &n,
            &other,
            SyncRequest {
                v: wire::SYNC_VERSION,
                spaces: vec![],
                envelopes: vec![],
                max_response_bytes: 1 << 20,
                join_requests: vec![],
                join_answers: vec![answer_to(*space, *id, vec![7])],
                taken_join_answers: vec![],
                erase: vec![],
                erasures: Vec::new(),
                admission: None,
            },
        );
        assert!(
            r.refused_join_answers.is_empty(),
            "{:?}",
            r.refused_join_answers
        );
    }
    facilitator.sync_with(&watch, &url).unwrap();
    assert_eq!(watch.take(), vec![(1, vec![])]);
    facilitator.sync_with(&watch, &url).unwrap();
    assert!(watch.take().is_empty(), "taken: nothing left to send");
    let r = sync(&n, &mut joiner);
    assert_eq!(r.joined, 1);
    assert!(joiner.shared_spaces().iter().any(|s| s.0 == invite.space));
}
