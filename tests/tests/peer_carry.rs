//! Carrying face to face (issue 5, item 4; protocol 25.2): a supporter's phone that carries a
//! participant's sealed envelopes (taken from a bundle) meets the participant's other supporter and
//! hands them over in a peer session, with no relay. Only what the other device holds travels; a
//! peer's acknowledgement is not authoritative, so everything stays carried until the relay answers
//! for it at the carrier's next sync.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::{Vault, pairing};
use sebaya_tests::net::{net, sync};
use sebaya_tests::peers::session;

#[test]
fn a_carrier_hands_a_participants_check_in_to_its_supporter_with_no_relay() {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str, seed: u8| {
        let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
        v.create_person().unwrap();
        v
    };
    let mut supporter = open("s.db", 1);
    let mut participant = open("p.db", 2);
    let mut carrier = open("c.db", 3);
    let (pair, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    session(&mut participant, &mut supporter);
    // The carrier and the supporter share a space of their own; the carrier is no member of the
    // participant's pairing.
    let (_, resp) =
        sebaya_tests::pairings::certified_pairing(&mut supporter, &carrier.link_request().unwrap())
            .unwrap();
    carrier.join_space(&resp).unwrap();

    // In the village: the participant writes, and hands a file to the carrier, who opted in.
    let me = participant.device_id().to_hex();
    participant
        .with_space(&pair, |d, now| {
            pairing::add_checkin(d, "00000000000000b2", 2, "Minggu berat.", &me, now)
        })
        .unwrap();
    participant
        .journal_add("Hanya untuk saya.", 2, &[])
        .unwrap();
    carrier.set_carry_quota(1 << 20).unwrap();
    let taken = carrier
        .import_bundle(&participant.export_bundle(&[], None).unwrap())
        .unwrap();
    assert!(taken.carried > 0);
    let before = carrier.carry_status().unwrap();
    assert!(
        before.spaces >= 2,
        "the pairing and the participant's own spaces"
    );

    // The carrier meets the supporter: no relay anywhere.
    let (sc, ss) = session(&mut carrier, &mut supporter);
    let checkins = supporter.read_space(&pair, pairing::checkins).unwrap();
    assert_eq!(checkins.len(), 1);
    assert_eq!(checkins[0].note, "Minggu berat.");
    let (rc, rs) = (sc.report(), ss.report());
    assert!(rc.carried_sent > 0);
    assert_eq!(rc.carried_answered, rc.carried_sent);
    assert_eq!(rs.carried_received, rc.carried_sent);
    assert_eq!(rs.carried_refused, 0);
    assert_eq!(rc.received, rs.sent);
    // The carrier read nothing, and still carries everything: the supporter's Ack drops nothing.
    assert!(carrier.read_space(&pair, pairing::checkins).is_err());
    assert_eq!(carrier.carry_status().unwrap(), before);
    // The supporter holds nothing of the participant's journal.
    assert!(
        supporter
            .journal_list()
            .iter()
            .all(|e| e.text != "Hanya untuk saya.")
    );

    // Meeting again hands the same envelopes over again: the supporter holds them already.
    let (ss, sc) = session(&mut supporter, &mut carrier);
    assert_eq!(sc.report().carried_sent, rc.carried_sent);
    assert_eq!(ss.report().carried_received, rc.carried_sent);
    assert_eq!(ss.report().carried_refused, 0);
    assert_eq!(
        supporter
            .read_space(&pair, pairing::checkins)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(carrier.carry_status().unwrap(), before);

    // Only the relay's answer drops what the carrier carries.
    let n = net();
    sync(&n, &mut carrier);
    let after = carrier.carry_status().unwrap();
    assert_eq!((after.envelopes, after.spaces), (0, 0));
}
