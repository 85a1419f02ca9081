//! Peer-to-peer sessions (issue 5; protocol section 25): two devices sync directly over any byte
//! stream. Members converge both ways; a stranger or a removed device is refused and learns nothing;
//! altered, cut, replayed or reordered frames end the session with a typed error and keep nothing; a
//! session cut mid-transfer is resumed by the next one without re-sending what was acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;

use automerge::{ROOT, ReadDoc, transaction::Transactable};
use sebaya_core::sync::peer::PeerSession;
use sebaya_core::{Error, SpaceId, Vault, pairing};
use sebaya_proto::peer::kind;

fn texts(v: &Vault) -> Vec<String> {
    let mut t: Vec<String> = v.journal_list().into_iter().map(|e| e.text).collect();
    t.sort();
    t
}

/// Text that does not compress, so envelopes keep their size.
fn noise_text(seed: u32, len: usize) -> String {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// One side of a session in a test: the vault, the session, frames waiting to be delivered to it,
/// and the first error it returned.
struct Side {
    s: PeerSession,
    inbox: VecDeque<Vec<u8>>,
    err: Option<Error>,
    /// Every frame delivered to this side.
    got: Vec<Vec<u8>>,
}

impl Side {
    fn new(v: &mut Vault, initiator: bool) -> Side {
        Side {
            s: v.peer_session(initiator).unwrap(),
            inbox: VecDeque::new(),
            err: None,
            got: Vec::new(),
        }
    }

    /// Delivers the next waiting frame; false when none waits.
    fn step(&mut self, v: &mut Vault) -> bool {
        let Some(f) = self.inbox.pop_front() else {
            return false;
        };
        self.got.push(f.clone());
        if self.err.is_none() {
            if let Err(e) = self.s.receive(v, &f) {
                self.err = Some(e);
            }
        }
        true
    }
}

fn post(from: &mut Side, to: &mut Side) {
    to.inbox.extend(from.s.take_outgoing());
}

/// Runs two sessions to the end, delivering frames one at a time in both directions.
fn run(a: &mut Vault, sa: &mut Side, b: &mut Vault, sb: &mut Side) {
    loop {
        post(sa, sb);
        post(sb, sa);
        let moved = sb.step(b) | sa.step(a);
        if !moved && sa.inbox.is_empty() && sb.inbox.is_empty() {
            post(sa, sb);
            post(sb, sa);
            if sa.inbox.is_empty() && sb.inbox.is_empty() {
                break;
            }
        }
    }
}

/// A phone with a person and a tablet linked to it (both hold the person's journal).
fn linked(dir: &std::path::Path) -> (Vault, Vault) {
    let mut phone = Vault::open(&dir.join("phone.db"), &[1; 32]).unwrap();
    phone.create_person().unwrap();
    phone.journal_add("Dari ponsel.", 4, &[]).unwrap();
    let mut tablet = Vault::open(&dir.join("tablet.db"), &[2; 32]).unwrap();
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();
    (phone, tablet)
}

#[test]
fn two_devices_of_one_person_converge_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut tablet) = linked(dir.path());
    tablet.journal_add("Dari tablet.", 3, &[]).unwrap();
    phone.journal_add("Lagi dari ponsel.", 5, &[]).unwrap();
    let mut a = Side::new(&mut phone, true);
    let mut b = Side::new(&mut tablet, false);
    run(&mut phone, &mut a, &mut tablet, &mut b);
    assert!(
        a.err.is_none() && b.err.is_none(),
        "{:?} {:?}",
        a.err,
        b.err
    );
    assert!(a.s.is_finished() && b.s.is_finished());
    assert_eq!(texts(&phone), texts(&tablet));
    assert_eq!(texts(&phone).len(), 3);
    let (ra, rb) = (a.s.report().clone(), b.s.report().clone());
    assert_eq!(ra.remote_device, Some(tablet.device_id()));
    assert_eq!(rb.remote_device, Some(phone.device_id()));
    assert_eq!(ra.spaces, 1);
    assert_eq!(ra.sent, rb.received);
    assert_eq!(ra.acked, ra.sent);
    assert!(ra.sent > 0 && rb.sent > 0);
    // The space's status names the path.
    let status = phone.space_status().unwrap();
    let j = phone.journal_space().unwrap();
    let st = status.iter().find(|s| s.space == j).unwrap();
    assert_eq!(st.last_synced.as_ref().unwrap().1, "peer");

    // A second session has nothing to move: no chunk at all.
    let mut a = Side::new(&mut phone, false);
    let mut b = Side::new(&mut tablet, true);
    run(&mut phone, &mut a, &mut tablet, &mut b);
    assert!(a.s.is_finished() && b.s.is_finished());
    assert_eq!((a.s.report().sent, b.s.report().sent), (0, 0));
}

#[test]
fn a_supporter_and_a_participant_keep_a_pairing_in_step_face_to_face() {
    let dir = tempfile::tempdir().unwrap();
    let mut supporter = Vault::open(&dir.path().join("s.db"), &[1; 32]).unwrap();
    supporter.create_person().unwrap();
    supporter.journal_add("Catatan pribadi.", 3, &[]).unwrap();
    let mut participant = Vault::open(&dir.path().join("p.db"), &[2; 32]).unwrap();
    participant.create_person().unwrap();
    let (pair, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    let mut a = Side::new(&mut supporter, true);
    let mut b = Side::new(&mut participant, false);
    run(&mut supporter, &mut a, &mut participant, &mut b);
    assert!(
        a.err.is_none() && b.err.is_none(),
        "{:?} {:?}",
        a.err,
        b.err
    );
    // Only the pairing is shared: the supporter's journal is not offered.
    assert_eq!(a.s.report().spaces, 1);
    let me = participant.device_id().to_hex();
    participant
        .with_space(&pair, |d, now| {
            pairing::add_checkin(d, "00000000000000a1", 4, "Lebih baik.", &me, now)
        })
        .unwrap();
    let mut a = Side::new(&mut supporter, false);
    let mut b = Side::new(&mut participant, true);
    run(&mut supporter, &mut a, &mut participant, &mut b);
    assert!(
        a.err.is_none() && b.err.is_none(),
        "{:?} {:?}",
        a.err,
        b.err
    );
    let checkins = supporter.read_space(&pair, pairing::checkins).unwrap();
    assert_eq!(checkins.len(), 1);
    assert_eq!(checkins[0].note, "Lebih baik.");
    // The supporter's journal never travelled.
    assert!(texts(&participant).is_empty());
}

#[test]
fn the_peer_handshake_refuses_a_device_that_is_not_a_member_and_reveals_nothing_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, _tablet) = linked(dir.path());
    let journal = phone.journal_space().unwrap();
    let mut stranger = Vault::open(&dir.path().join("s.db"), &[3; 32]).unwrap();
    stranger.create_person().unwrap();
    stranger.journal_add("Orang lain.", 2, &[]).unwrap();
    for phone_starts in [true, false] {
        let before = texts(&phone);
        let mut a = Side::new(&mut phone, phone_starts);
        let mut b = Side::new(&mut stranger, !phone_starts);
        run(&mut phone, &mut a, &mut stranger, &mut b);
        assert!(matches!(a.err, Some(Error::PeerNotMember)), "{:?}", a.err);
        assert!(matches!(b.err, Some(Error::PeerNotMember)), "{:?}", b.err);
        // What the stranger was told after the handshake: who the phone is, and "no". No vectors,
        // no chunk, no space id.
        // (Each side refuses on the other's certificate, so the stranger may end before it reads
        // the phone's refusal.)
        assert_eq!(a.s.messages_sent(), &[kind::HELLO, kind::REFUSE]);
        assert!(
            [&[kind::HELLO][..], &[kind::HELLO, kind::REFUSE][..]]
                .contains(&b.s.messages_received())
        );
        let r = b.s.report();
        assert_eq!((r.spaces, r.received, r.chunks_received), (0, 0, 0));
        assert_eq!(a.s.report().sent, 0);
        // Nothing the phone sent carries the journal's id, in clear or otherwise.
        let all: Vec<u8> = b.got.concat();
        assert!(!all.windows(16).any(|w| w == journal.0));
        // Handshake frames (one or two) + the certificate + the refusal, nothing more.
        let expected_frames = if phone_starts { 2 } else { 1 } + 2;
        assert_eq!(b.got.len(), expected_frames);
        assert_eq!(texts(&phone), before);
        assert_eq!(texts(&stranger), vec!["Orang lain.".to_string()]);
        // A refused session stays refused.
        assert!(matches!(
            a.s.receive(&mut phone, &[0, 1, 2]),
            Err(Error::PeerNotMember)
        ));
    }
}

#[test]
fn a_removed_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut tablet) = linked(dir.path());
    let mut a = Side::new(&mut phone, true);
    let mut b = Side::new(&mut tablet, false);
    run(&mut phone, &mut a, &mut tablet, &mut b);
    assert!(a.s.is_finished());
    phone.remove_device(&tablet.device_id()).unwrap();
    phone.journal_add("Setelah tablet hilang.", 2, &[]).unwrap();
    let mut a = Side::new(&mut phone, false);
    let mut b = Side::new(&mut tablet, true);
    run(&mut phone, &mut a, &mut tablet, &mut b);
    assert!(matches!(a.err, Some(Error::PeerNotMember)), "{:?}", a.err);
    assert!(matches!(b.err, Some(Error::PeerNotMember)), "{:?}", b.err);
    assert_eq!(a.s.messages_sent(), &[kind::HELLO, kind::REFUSE]);
    assert!(!texts(&tablet).contains(&"Setelah tablet hilang.".to_string()));
}

/// A supporter with `n` envelopes of about 3 KB each in a pairing that its participant lacks
/// (scalar strings: one operation each, so the test is quick even unoptimised).
fn with_backlog(dir: &std::path::Path, n: u32) -> (Vault, Vault, SpaceId) {
    let mut supporter = Vault::open(&dir.join("s.db"), &[1; 32]).unwrap();
    supporter.create_person().unwrap();
    let mut participant = Vault::open(&dir.join("p.db"), &[2; 32]).unwrap();
    participant.create_person().unwrap();
    let (pair, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    let mut a = Side::new(&mut supporter, true);
    let mut b = Side::new(&mut participant, false);
    run(&mut supporter, &mut a, &mut participant, &mut b);
    assert!(a.s.is_finished());
    for i in 0..n {
        supporter
            .with_space(&pair, |d, _| {
                d.put(ROOT, format!("blob{i}"), noise_text(i, 3000))?;
                Ok(())
            })
            .unwrap();
        supporter.seal_pending().unwrap();
    }
    (supporter, participant, pair)
}

fn blobs(v: &Vault, space: &SpaceId) -> usize {
    v.read_space(space, |d| {
        d.keys(ROOT).filter(|k| k.starts_with("blob")).count()
    })
    .unwrap()
}

#[test]
fn altered_truncated_replayed_or_reordered_frames_end_the_session_and_keep_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut tablet, pair) = with_backlog(dir.path(), 40);
    type Spoil = fn(&mut VecDeque<Vec<u8>>);
    let spoilers: [(&str, Spoil); 4] = [
        ("altered", |q| {
            let f = q.front_mut().unwrap();
            let mid = f.len() / 2;
            f[mid] ^= 0x01;
        }),
        ("truncated", |q| {
            let f = q.front_mut().unwrap();
            let len = f.len() - 2 - 7;
            f.truncate(f.len() - 7);
            f[..2].copy_from_slice(&(len as u16).to_be_bytes());
        }),
        ("replayed", |q| {
            let f = q.front().unwrap().clone();
            q.push_front(f);
        }),
        ("reordered", |q| {
            q.swap(0, 1);
        }),
    ];
    for (name, spoil) in spoilers {
        let mut a = Side::new(&mut phone, true);
        let mut b = Side::new(&mut tablet, false);
        // Run until the tablet has stored a first chunk and the phone's next frames wait for it.
        loop {
            post(&mut a, &mut b);
            post(&mut b, &mut a);
            // Past the certificate and the vectors, with chunks waiting.
            if b.s.messages_received().len() >= 2 && b.inbox.len() >= 2 {
                break;
            }
            assert!(b.step(&mut tablet) | a.step(&mut phone), "{name}: stalled");
        }
        // The tablet takes the replayed frame first; the others are spoiled in place.
        if name == "replayed" {
            let last = b.got.last().unwrap().clone();
            b.inbox.push_front(last);
        } else {
            spoil(&mut b.inbox);
        }
        let before = blobs(&tablet, &pair);
        let stored_before = b.s.report().stored;
        b.step(&mut tablet);
        assert!(
            matches!(b.err, Some(Error::BadPeerMessage(_))),
            "{name}: {:?}",
            b.err
        );
        assert_eq!(blobs(&tablet, &pair), before, "{name}: something was kept");
        assert_eq!(b.s.report().stored, stored_before);
        // The failed session refuses everything after.
        let next = b.inbox.pop_front().unwrap();
        assert!(matches!(
            b.s.receive(&mut tablet, &next),
            Err(Error::BadPeerMessage(_))
        ));
    }
    // A clean session still converges.
    let mut a = Side::new(&mut phone, true);
    let mut b = Side::new(&mut tablet, false);
    run(&mut phone, &mut a, &mut tablet, &mut b);
    assert!(a.s.is_finished() && b.s.is_finished(), "{:?}", b.err);
    assert_eq!(blobs(&tablet, &pair), 40);
}

#[test]
fn a_session_cut_mid_transfer_resumes_without_resending_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut tablet, pair) = with_backlog(dir.path(), 60);
    let mut a = Side::new(&mut phone, true);
    let mut b = Side::new(&mut tablet, false);
    // Cut the stream once the phone has seen two chunks acknowledged.
    while a.s.report().acked == 0
        || a.s.report().chunks_sent < 2
        || b.s.report().chunks_received < 2
    {
        post(&mut a, &mut b);
        post(&mut b, &mut a);
        assert!(b.step(&mut tablet) | a.step(&mut phone), "stalled");
    }
    let first = a.s.report().clone();
    let stored_first = b.s.report().stored;
    assert!(first.acked > 0 && first.acked <= stored_first);
    assert!(!a.s.is_finished());
    drop((a, b));

    let mut a = Side::new(&mut phone, true);
    let mut b = Side::new(&mut tablet, false);
    run(&mut phone, &mut a, &mut tablet, &mut b);
    assert!(a.s.is_finished() && b.s.is_finished(), "{:?}", b.err);
    let second = a.s.report().clone();
    // Nothing the tablet had stored (let alone acknowledged) came again.
    assert_eq!(b.s.report().duplicates, 0);
    assert_eq!(second.sent + stored_first, 60);
    assert!(second.sent <= 60 - first.acked);
    assert_eq!(blobs(&tablet, &pair), 60);
    println!(
        "cut after {} of 60 envelopes acknowledged ({} stored); resumed session sent {}",
        first.acked, stored_first, second.sent
    );
}
