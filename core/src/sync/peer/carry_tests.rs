//! Carrying in peer sessions (section 25.2), from inside the crate: a carrier's list is filled
//! with bad envelopes directly (`Vault::carry` takes what it is given), which no public path lets in,
//! to show the receiving device judges each one itself and never on the carrier's word.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::pairing;
use sebaya_proto::HeaderV1;
use sebaya_proto::envelope::FRAME_HEADER_LEN;

/// Participant `p` and member `m` share pairing `s`; `p` wrote a check-in there that `m` lacks and
/// handed a bundle to carrier `c` (opted in), who shares pairing `g` with `m` and nothing with `p`.
struct Scene {
    _dir: tempfile::TempDir,
    p: Vault,
    m: Vault,
    c: Vault,
    s: SpaceId,
    g: SpaceId,
}

fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Vault::open(&dir.path().join("m.db"), &[1; 32]).unwrap();
    m.create_person().unwrap();
    let mut p = Vault::open(&dir.path().join("p.db"), &[2; 32]).unwrap();
    p.create_person().unwrap();
    let programme = crate::pairing::programme_tests::trained_programme(&mut m);
    let (s, resp) = m
        .create_pairing(&p.link_request().unwrap(), &programme)
        .unwrap();
    p.join_space(&resp).unwrap();
    // Face to face once, so the participant has the pairing's document.
    let mut sp = p.peer_session(true).unwrap();
    let mut sm = m.peer_session(false).unwrap();
    let (ep, em) = drive(&mut p, &mut sp, &mut m, &mut sm, |_| true);
    assert!(ep.is_none() && em.is_none(), "{ep:?} {em:?}");
    let me = p.device_id().to_hex();
    p.with_space(&s, |d, now| {
        pairing::add_checkin(d, "00000000000000a1", 4, "Dari desa.", &me, now)
    })
    .unwrap();
    p.journal_add("Jurnal peserta.", 3, &[]).unwrap();
    let mut c = Vault::open(&dir.path().join("c.db"), &[3; 32]).unwrap();
    c.create_person().unwrap();
    c.set_carry_quota(1 << 20).unwrap();
    let r = c
        .import_bundle(&p.export_bundle(&[], None).unwrap())
        .unwrap();
    assert!(r.carried > 0);
    let (g, resp) = m
        .create_pairing(&c.link_request().unwrap(), &programme)
        .unwrap();
    c.join_space(&resp).unwrap();
    Scene {
        _dir: dir,
        p,
        m,
        c,
        s,
        g,
    }
}

/// Delivers frames both ways until neither side has anything to send. Frames from `y` to `x` are
/// delivered only while `back(sx)` says so. Returns each side's first error.
fn drive(
    x: &mut Vault,
    sx: &mut PeerSession,
    y: &mut Vault,
    sy: &mut PeerSession,
    back: impl Fn(&PeerSession) -> bool,
) -> (Option<Error>, Option<Error>) {
    let (mut ex, mut ey) = (None, None);
    for _ in 0..200 {
        let fx = sx.take_outgoing();
        let fy = sy.take_outgoing();
        if fx.is_empty() && fy.is_empty() {
            break;
        }
        for f in fx {
            if ey.is_none()
                && let Err(e) = sy.receive(y, &f)
            {
                ey = Some(e);
            }
        }
        for f in fy {
            if ex.is_none()
                && back(sx)
                && let Err(e) = sx.receive(x, &f)
            {
                ex = Some(e);
            }
        }
    }
    (ex, ey)
}

fn checkins(v: &Vault, s: &SpaceId) -> usize {
    v.read_space(s, pairing::checkins).unwrap().len()
}

fn carried_in(v: &Vault, s: &SpaceId) -> Vec<Vec<u8>> {
    v.carried()
        .unwrap()
        .into_iter()
        .filter(|e| Envelope::parse(e).unwrap().space() == *s)
        .collect()
}

fn holds(v: &Vault, s: &SpaceId, author: &DeviceId) -> bool {
    v.held_spaces()
        .find(|x| x.id == *s)
        .unwrap()
        .vector
        .contiguous()
        .iter()
        .any(|(a, _)| a == author)
}

/// An envelope of `space` signed by `author` (a valid signature; sealed under a key nobody holds).
fn signed_by(author: &Vault, like: &[u8], seq: u64) -> Vec<u8> {
    let h = Envelope::parse(like).unwrap().header().unwrap();
    let header = HeaderV1 {
        kind: Kind::Changes,
        space: h.space,
        epoch: h.epoch,
        author: author.identity.device,
        seq,
    };
    let signer = author.identity.signing_key().unwrap();
    Envelope::seal_v1(header, &[9; 32], [0; 4], b"bukan apa-apa", &signer)
        .unwrap()
        .into_bytes()
}

#[test]
fn a_carrier_hands_a_members_envelopes_on_and_keeps_carrying_them_after_the_ack() {
    let Scene {
        mut m,
        mut c,
        s,
        g,
        p,
        ..
    } = scene();
    let for_s = carried_in(&c, &s).len();
    let before = c.carry_status().unwrap();
    // The pairing, the participant's journal and its index.
    assert_eq!(before.spaces, 3);
    assert_eq!(checkins(&m, &s), 0);
    let mut sc = c.peer_session(true).unwrap();
    let mut sm = m.peer_session(false).unwrap();
    let (ec, em) = drive(&mut c, &mut sc, &mut m, &mut sm, |_| true);
    assert!(ec.is_none() && em.is_none(), "{ec:?} {em:?}");
    assert!(sc.is_finished() && sm.is_finished());
    // Only the pairing they share synced directly; the carried one came as carried.
    assert_eq!(sc.report().spaces, 1);
    assert_eq!(sc.shared, BTreeSet::from([g]));
    assert_eq!(checkins(&m, &s), 1);
    let (rc, rm) = (sc.report().clone(), sm.report().clone());
    assert_eq!(rc.carried_sent as usize, for_s);
    assert_eq!(rc.carried_answered as usize, for_s);
    assert_eq!(rm.carried_received as usize, for_s);
    assert_eq!(rm.carried_refused, 0);
    // Tags name every carried space, and are none of the ids; the member asked only for its
    // pairing.
    assert_eq!(sc.carry_tags.len(), 3);
    for t in sc.carry_tags.keys() {
        assert_ne!(&t[..], &s.0[..]);
        assert_ne!(&t[..], &p.journal_space().unwrap().0[..]);
    }
    assert_eq!(sm.wanted, BTreeSet::from([s]));
    assert_eq!(
        &sm.messages_received()[..3],
        &[wire::kind::HELLO, wire::kind::VECTORS, wire::kind::CARRYING]
    );
    assert!(sc.messages_received().contains(&wire::kind::WANTED));
    // The member's Ack is not authoritative: everything handed on is still carried (only the
    // relay's answer drops it).
    assert_eq!(c.carry_status().unwrap(), before);
    assert_eq!(carried_in(&c, &s).len(), for_s);
    // The next session offers it again; the member holds it all already.
    let mut sc = c.peer_session(false).unwrap();
    let mut sm = m.peer_session(true).unwrap();
    let (ec, em) = drive(&mut m, &mut sm, &mut c, &mut sc, |_| true);
    assert!(ec.is_none() && em.is_none(), "{ec:?} {em:?}");
    assert_eq!(sc.report().carried_sent as usize, for_s);
    assert_eq!(sm.wanted, BTreeSet::from([s]));
    assert_eq!(sm.report().carried_refused, 0);
    assert_eq!(sm.report().duplicates as usize, for_s);
    assert_eq!(checkins(&m, &s), 1);
    assert_eq!(c.carry_status().unwrap(), before);
}

/// Membership statements go first across the whole carried list, whatever order they were
/// carried in, so one that admits an author reaches the member before that author's envelopes.
#[test]
fn a_carrier_hands_on_membership_statements_before_the_rest() {
    let Scene {
        mut m, mut c, s, ..
    } = scene();
    // Carried in the worst order: every other envelope first, the statements last.
    let all = c.carried().unwrap();
    let (membership, rest): (Vec<Vec<u8>>, Vec<Vec<u8>>) = all
        .iter()
        .cloned()
        .partition(|e| Envelope::parse(e).unwrap().kind() == Kind::Membership);
    assert!(!membership.is_empty() && !rest.is_empty());
    let hashes: Vec<[u8; 32]> = all.iter().map(|e| crate::crypto::sha256(e)).collect();
    c.drop_carried(&hashes).unwrap();
    c.carry(&rest).unwrap();
    c.carry(&membership).unwrap();
    let (mut sc, sm) = halfway(&mut c, &mut m);
    assert_eq!(sm.wanted, BTreeSet::from([s]));
    // A full window keeps everything queued, to read the order it will go out in.
    for n in 0..WINDOW {
        sc.in_flight.insert(u32::MAX - n, 0);
    }
    let want = wire::carry_want_tag(&sc.handshake_hash, &s.0);
    sc.handle_message(
        &mut c,
        PeerMessage::Wanted(Wanted {
            tags: tags(&[&want[..]]),
        }),
    )
    .unwrap();
    let kinds: Vec<Kind> = sc
        .carry_queue
        .iter()
        .map(|e| Envelope::parse(e).unwrap().kind())
        .collect();
    assert_eq!(kinds.len(), carried_in(&c, &s).len());
    let statements = kinds.iter().filter(|k| **k == Kind::Membership).count();
    assert!(statements > 0);
    assert!(
        kinds[..statements].iter().all(|k| *k == Kind::Membership),
        "{kinds:?}"
    );
}

/// A peer that shares a space with the carrier and echoes back every offered tag (instead of the
/// want tags, which need the space ids) is refused: nothing carried is handed on, and the carrier
/// keeps everything. The real want tag of the same space is accepted.
#[test]
fn a_member_that_echoes_the_offered_tags_gets_nothing_carried_and_the_carrier_keeps_everything() {
    let Scene {
        mut m, mut c, s, ..
    } = scene();
    let before = c.carry_status().unwrap();
    let (mut sc, _) = halfway(&mut c, &mut m);
    let echoed: Vec<ByteBuf> = tags(&sc.carry_tags.keys().map(|t| &t[..]).collect::<Vec<_>>());
    assert_eq!(echoed.len(), 3);
    let r = sc.handle_message(&mut c, PeerMessage::Wanted(Wanted { tags: echoed }));
    assert!(matches!(r, Err(Error::BadPeerMessage(_))), "{r:?}");
    assert!(sc.carry_queue.is_empty());
    assert_eq!(sc.report().carried_sent, 0);
    assert_eq!(c.carry_status().unwrap(), before);
    assert_eq!(checkins(&m, &s), 0);
    // Echoing one offered tag, even of a space the member holds, is refused too.
    let (mut sc, _) = halfway(&mut c, &mut m);
    let offered_s = wire::carry_tag(&sc.handshake_hash, &s.0);
    assert!(sc.carry_tags.contains_key(&offered_s));
    let r = sc.handle_message(
        &mut c,
        PeerMessage::Wanted(Wanted {
            tags: tags(&[&offered_s[..]]),
        }),
    );
    assert!(matches!(r, Err(Error::BadPeerMessage(_))), "{r:?}");
    assert!(sc.carry_queue.is_empty() && sc.report().carried_sent == 0);
    // The want tag, which needs the space id, is what the carrier accepts.
    let (mut sc, _) = halfway(&mut c, &mut m);
    let want = wire::carry_want_tag(&sc.handshake_hash, &s.0);
    sc.handle_message(
        &mut c,
        PeerMessage::Wanted(Wanted {
            tags: tags(&[&want[..]]),
        }),
    )
    .unwrap();
    assert_eq!(
        sc.report().carried_sent as usize + sc.carry_queue.len(),
        carried_in(&c, &s).len()
    );
    assert_eq!(c.carry_status().unwrap(), before);
}

#[test]
fn forged_corrupt_replayed_strangers_and_wrong_members_carried_envelopes_are_refused_one_by_one() {
    let Scene {
        mut m,
        mut c,
        s,
        g,
        p,
        ..
    } = scene();
    let stranger = {
        let dir = tempfile::tempdir().unwrap();
        let mut x = Vault::open(&dir.path().join("x.db"), &[4; 32]).unwrap();
        x.create_person().unwrap();
        x
    };
    let genuine = carried_in(&c, &s)
        .into_iter()
        .find(|e| {
            let env = Envelope::parse(e).unwrap();
            env.kind() == Kind::Changes && env.header().unwrap().author == p.device_id()
        })
        .unwrap();
    let mut corrupt = genuine.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    // The stranger's signature over a header that names the participant as author.
    let mut forged = signed_by(&stranger, &genuine, 7);
    let at = FRAME_HEADER_LEN + 32;
    forged[at..at + 32].copy_from_slice(&p.device_id().0);
    let strangers = signed_by(&stranger, &genuine, 1);
    // The carrier is a member, but of another space.
    let wrong_member = signed_by(&c, &genuine, 1);
    let bad = [corrupt, forged, strangers, wrong_member];
    assert_eq!(c.carry(&bad).unwrap(), 4);
    let for_s = carried_in(&c, &s).len();
    let memberships = carried_in(&c, &s)
        .iter()
        .filter(|e| Envelope::parse(e).unwrap().kind() == Kind::Membership)
        .count();
    assert!(memberships > 0, "the bundle carried the pairing's log");

    let mut sc = c.peer_session(true).unwrap();
    let mut sm = m.peer_session(false).unwrap();
    let (ec, em) = drive(&mut c, &mut sc, &mut m, &mut sm, |_| true);
    // Bad carried envelopes end nothing: the session finishes and the good ones are kept.
    assert!(ec.is_none() && em.is_none(), "{ec:?} {em:?}");
    assert!(sc.is_finished() && sm.is_finished());
    let rm = sm.report().clone();
    assert_eq!(rm.carried_received as usize, for_s);
    assert_eq!(rm.carried_refused, 4);
    // Replayed: the log's statements the member already held change nothing.
    assert!(rm.duplicates as usize >= memberships);
    assert_eq!(checkins(&m, &s), 1);
    assert!(!holds(&m, &s, &stranger.device_id()));
    assert!(!holds(&m, &s, &c.device_id()));
    // Every carried envelope was answered (kept or refused), and all stay carried: a peer's
    // refusal may come from a stale log, and only the relay's answer drops them.
    assert_eq!(sc.report().carried_answered as usize, for_s);
    assert_eq!(carried_in(&c, &s).len(), for_s);

    // Judged directly: an envelope that does not parse and one of a space not asked for (the
    // pairing both hold) are refused and change nothing.
    let g_env = m
        .held_spaces()
        .find(|x| x.id == g)
        .unwrap()
        .membership_envelopes(&m.store)
        .unwrap()
        .remove(0);
    let refused = sm.report().carried_refused;
    let stored = sm
        .receive_carried(
            &mut m,
            &[ByteBuf::from(vec![1, 2, 3]), ByteBuf::from(g_env.clone())],
        )
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(sm.report().carried_refused, refused + 2);
    assert_eq!(checkins(&m, &s), 1);
}

#[test]
fn an_unanswered_hand_over_stays_carried_and_a_version_1_device_is_offered_nothing() {
    let Scene {
        mut m, mut c, s, ..
    } = scene();
    let before = c.carry_status().unwrap();
    // The link drops every frame back to the carrier once its carried chunk is out: no Ack.
    let mut sc = c.peer_session(true).unwrap();
    let mut sm = m.peer_session(false).unwrap();
    let _ = drive(&mut c, &mut sc, &mut m, &mut sm, |sc| {
        sc.report().carried_sent == 0
    });
    assert!(sc.report().carried_sent > 0);
    assert_eq!(sc.report().carried_answered, 0);
    assert_eq!(
        c.carry_status().unwrap(),
        before,
        "nothing unanswered is dropped"
    );
    assert_eq!(checkins(&m, &s), 1, "the member stored it");
    // The next session hands it over again: duplicates, answered, still carried.
    let mut sc = c.peer_session(true).unwrap();
    let mut sm = m.peer_session(false).unwrap();
    let (ec, em) = drive(&mut c, &mut sc, &mut m, &mut sm, |_| true);
    assert!(ec.is_none() && em.is_none(), "{ec:?} {em:?}");
    assert_eq!(sm.report().carried_refused, 0);
    assert!(sm.report().duplicates >= sm.report().carried_received);
    assert!(sc.report().carried_answered > 0);
    let after = c.carry_status().unwrap();
    assert_eq!(after, before);

    // A device that does not announce carrying (version 1) is sent no Carrying, and the session
    // runs as before.
    let mut sc = c.peer_session(true).unwrap();
    let mut sm = m.peer_session(false).unwrap();
    sm.announce_carry = false;
    let (ec, em) = drive(&mut c, &mut sc, &mut m, &mut sm, |_| true);
    assert!(ec.is_none() && em.is_none(), "{ec:?} {em:?}");
    assert!(sc.is_finished() && sm.is_finished());
    assert!(!sc.messages_sent().contains(&wire::kind::CARRYING));
    assert!(sc.carry_tags.is_empty());
    assert_eq!(c.carry_status().unwrap(), after);
}

/// Runs a session until the carrier has the member's Vectors (both in the exchange), holding back
/// everything after that from the carrier: the member has answered Carrying, the carrier waits for
/// the answer, neither is finished.
fn halfway(c: &mut Vault, m: &mut Vault) -> (PeerSession, PeerSession) {
    let mut sc = c.peer_session(true).unwrap();
    let mut sm = m.peer_session(false).unwrap();
    let (ec, em) = drive(c, &mut sc, m, &mut sm, |sc| sc.stage != Stage::Exchange);
    assert!(ec.is_none() && em.is_none(), "{ec:?} {em:?}");
    assert_eq!((sc.stage, sm.stage), (Stage::Exchange, Stage::Exchange));
    assert!(sc.awaiting_wanted && sm.carrying_answered);
    (sc, sm)
}

fn tags(t: &[&[u8]]) -> Vec<ByteBuf> {
    t.iter().map(|t| ByteBuf::from(t.to_vec())).collect()
}

#[test]
fn malformed_or_out_of_turn_carrying_and_wanted_end_the_session_and_change_nothing() {
    let Scene {
        mut m, mut c, s, ..
    } = scene();
    let before = c.carry_status().unwrap();
    let is_bad = |r: Result<()>| matches!(r, Err(Error::BadPeerMessage(_)));

    // A second Carrying.
    let (sc, mut sm) = halfway(&mut c, &mut m);
    let offered: Vec<ByteBuf> = tags(&sc.carry_tags.keys().map(|t| &t[..]).collect::<Vec<_>>());
    assert!(is_bad(sm.handle_message(
        &mut m,
        PeerMessage::Carrying(Carrying { tags: offered })
    )));
    // A Wanted naming a tag never offered, or of the wrong length, or more tags than offered.
    for bad in [
        tags(&[&[0xee; CARRY_TAG_LEN]]),
        tags(&[&[1; 15]]),
        tags(&vec![&[1u8; CARRY_TAG_LEN][..]; MAX_CARRY_TAGS + 1]),
    ] {
        let (mut sc, _) = halfway(&mut c, &mut m);
        assert!(is_bad(sc.handle_message(
            &mut c,
            PeerMessage::Wanted(Wanted { tags: bad })
        )));
        assert!(sc.carry_queue.is_empty());
    }
    // A Wanted to a device that offered nothing (the member carries nothing).
    let (_, mut sm) = halfway(&mut c, &mut m);
    assert!(is_bad(sm.handle_message(
        &mut m,
        PeerMessage::Wanted(Wanted { tags: vec![] })
    )));
    // Too many tags, or a tag of the wrong length, in a device's first Carrying.
    for bad in [
        tags(&vec![&[1u8; CARRY_TAG_LEN][..]; MAX_CARRY_TAGS + 1]),
        tags(&[&[1; 17]]),
    ] {
        let (_, mut sm) = halfway(&mut c, &mut m);
        sm.carrying_answered = false;
        sm.wanted.clear();
        assert!(is_bad(sm.handle_message(
            &mut m,
            PeerMessage::Carrying(Carrying { tags: bad })
        )));
        assert!(sm.wanted.is_empty());
    }
    // A Carrying to a device that did not announce carrying.
    let mut sm = m.peer_session(false).unwrap();
    sm.announce_carry = false;
    let mut sc = c.peer_session(true).unwrap();
    let _ = drive(&mut c, &mut sc, &mut m, &mut sm, |sc| {
        sc.stage != Stage::Exchange
    });
    assert!(is_bad(sm.handle_message(
        &mut m,
        PeerMessage::Carrying(Carrying {
            tags: tags(&[&[1; CARRY_TAG_LEN]])
        })
    )));
    // Nothing was handed over or dropped by any of it.
    assert_eq!(c.carry_status().unwrap(), before);
    assert_eq!(checkins(&m, &s), 0);
}
