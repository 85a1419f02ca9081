//! A support group of three people's devices through a real relay on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_tests::net::{net, sync};

use sebaya_core::groups::{self, Attendance};
use sebaya_core::{Error, Role, Vault};

#[test]
fn a_group_of_three_people_converges_and_a_removed_member_gets_nothing_new() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = Vault::open(&dir.path().join("f.db"), &[1; 32]).unwrap();
    let mut supporter = Vault::open(&dir.path().join("s.db"), &[2; 32]).unwrap();
    let mut participant = Vault::open(&dir.path().join("p.db"), &[3; 32]).unwrap();
    let g = facilitator
        .create_group("Kelompok Dukungan Sebaya — Kamis")
        .unwrap();
    // In person: the facilitator scans each member's request and shows the answer.
    let resp = facilitator
        .approve_group_member(&g, &supporter.link_request().unwrap(), Role::Admin)
        .unwrap();
    assert_eq!(supporter.join_group(&resp).unwrap(), g);
    let resp = facilitator
        .approve_group_member(&g, &participant.link_request().unwrap(), Role::Member)
        .unwrap();
    participant.join_group(&resp).unwrap();
    sync(&n, &mut facilitator);
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    assert_eq!(
        participant.groups()[0].name,
        "Kelompok Dukungan Sebaya — Kamis"
    );
    assert_eq!(participant.groups()[0].role, Some(Role::Member));
    // A member's client refuses to write what only facilitators write (sessions, attendance, the
    // group's name); every other device would refuse it too (core `rules.rs`).
    let me = participant.device_id().to_hex();
    assert!(matches!(
        participant.with_space(&g, |d, now| groups::add_session(
            d,
            "00000000000000c1",
            now,
            "Sesi",
            &me,
            now
        )),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        participant.with_space(&g, |d, now| groups::rename(d, "Nama lain", now)),
        Err(Error::NotAllowed(_))
    ));
    participant
        .with_space(&g, |d, now| {
            groups::add_note(d, "00000000000000c2", "", "boleh", &me, now)
        })
        .unwrap();

    // A note edited concurrently by two supporters (different parts) converges.
    let me = facilitator.device_id().to_hex();
    facilitator
        .with_space(&g, |d, now| {
            groups::add_note(
                d,
                "00000000000000a1",
                "Rencana",
                "Kita mulai dengan check-in.",
                &me,
                now,
            )
        })
        .unwrap();
    sync(&n, &mut facilitator);
    sync(&n, &mut supporter);
    facilitator
        .with_space(&g, |d, now| {
            groups::edit_note(
                d,
                "00000000000000a1",
                None,
                Some("Pembukaan. Kita mulai dengan check-in."),
                now,
            )
        })
        .unwrap();
    supporter
        .with_space(&g, |d, now| {
            groups::edit_note(
                d,
                "00000000000000a1",
                None,
                Some("Kita mulai dengan check-in. Lalu latihan napas."),
                now,
            )
        })
        .unwrap();
    // Attendance recorded offline on the facilitator's phone.
    let p_hex = participant.device_id().to_hex();
    let s_hex = supporter.device_id().to_hex();
    facilitator
        .with_space(&g, |d, now| {
            groups::add_session(d, "00000000000000b1", now, "Mengelola cemas", &me, now)
        })
        .unwrap();
    facilitator
        .with_space(&g, |d, now| {
            groups::set_attendance(d, "00000000000000b1", &p_hex, Attendance::Present, now)
        })
        .unwrap();
    sync(&n, &mut facilitator);
    sync(&n, &mut supporter);
    sync(&n, &mut facilitator);
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    let merged = "Pembukaan. Kita mulai dengan check-in. Lalu latihan napas.";
    for v in [&facilitator, &supporter, &participant] {
        let note = v
            .read_space(&g, |d| groups::note(d, "00000000000000a1"))
            .unwrap()
            .unwrap();
        assert_eq!(note.text, merged);
        let sessions = v.read_space(&g, groups::sessions).unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(
            sessions[0].attendance,
            vec![(p_hex.clone(), Attendance::Present)]
        );
    }
    // The supporter records another member's attendance offline; it merges with the facilitator's.
    supporter
        .with_space(&g, |d, now| {
            groups::set_attendance(d, "00000000000000b1", &s_hex, Attendance::Excused, now)
        })
        .unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    let counts = participant
        .read_space(&g, |d| groups::attendance_counts(d, "00000000000000b1"))
        .unwrap()
        .unwrap();
    assert_eq!((counts.present, counts.excused), (1, 1));

    // The participant leaves the programme: removed, the key rotates.
    let r = facilitator
        .remove_group_member(&g, &participant.device_id())
        .unwrap();
    assert_eq!(r.wrapped, 1, "the supporter gets the new key");
    facilitator
        .with_space(&g, |d, now| {
            groups::add_note(
                d,
                "00000000000000a2",
                "",
                "Setelah perubahan anggota.",
                &me,
                now,
            )
        })
        .unwrap();
    sync(&n, &mut facilitator);
    sync(&n, &mut supporter);
    assert!(
        supporter
            .read_space(&g, |d| groups::note(d, "00000000000000a2"))
            .unwrap()
            .is_some()
    );
    let report = sync(&n, &mut participant);
    assert_eq!(
        report.refused_spaces, 1,
        "the relay no longer serves the group to the participant"
    );
    assert!(
        participant
            .read_space(&g, |d| groups::note(d, "00000000000000a2"))
            .unwrap()
            .is_none()
    );
    // Not told of its removal (the relay no longer serves it), the participant's phone still writes
    // locally; the relay refuses what it sends, and no member ever sees it.
    participant
        .with_space(&g, |d, now| {
            groups::add_note(
                d,
                "00000000000000a3",
                "",
                "setelah dikeluarkan",
                &p_hex,
                now,
            )
        })
        .unwrap();
    let report = sync(&n, &mut participant);
    assert!(report.rejected >= 1, "{report:?}");
    sync(&n, &mut supporter);
    assert!(
        supporter
            .read_space(&g, |d| groups::note(d, "00000000000000a3"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn joining_refuses_responses_for_others_and_only_facilitators_manage_members() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Vault::open(&dir.path().join("f.db"), &[1; 32]).unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &[2; 32]).unwrap();
    let mut b = Vault::open(&dir.path().join("b.db"), &[3; 32]).unwrap();
    let g = f.create_group("Kelompok").unwrap();
    let for_a = f
        .approve_group_member(&g, &a.link_request().unwrap(), Role::Member)
        .unwrap();
    assert!(matches!(b.join_group(&for_a), Err(Error::BadLinkCode)));
    assert!(b.groups().is_empty());
    a.join_group(&for_a).unwrap();
    assert!(matches!(a.join_group(&for_a), Err(Error::InvalidInput(_))));
    // A member (not a facilitator) cannot add or remove members.
    assert!(matches!(
        a.approve_group_member(&g, &b.link_request().unwrap(), Role::Member),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        a.remove_group_member(&g, &f.device_id()),
        Err(Error::NotAllowed(_))
    ));
    // A journal response is not a group response, and the other way round.
    let journal_resp = f.approve_link(&b.link_request().unwrap()).unwrap();
    assert!(matches!(
        b.join_group(&journal_resp),
        Err(Error::BadLinkCode)
    ));
    assert!(matches!(f.create_group("   "), Err(Error::InvalidInput(_))));
}

/// A link request for a device nobody holds (seed `seed`): the facilitator adds it like any other.
fn request_for(seed: [u8; 32]) -> String {
    use ring::signature::KeyPair;
    let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    let secret = x25519_dalek::StaticSecret::from(seed);
    sebaya_core::identity::link::LinkRequest {
        device: sebaya_core::DeviceId::from_slice(kp.public_key().as_ref()).unwrap(),
        x25519: x25519_dalek::PublicKey::from(&secret).to_bytes(),
        certificate: None,
    }
    .to_code()
    .unwrap()
}

/// Issue 15, item 1 (stop-gap): the relay judges at most 16 new statements of a space per request (32
/// in all) and serves at most 16 per space per page, and a device judges at most 16 per space per
/// call. A facilitator who added 20 members to each of two groups offline still pushes them all in
/// one sync (in several requests, none refused), and a member pulls them all in one sync.
#[test]
fn more_statements_than_one_request_carries_still_travel_in_one_sync() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut f = Vault::open(&dir.path().join("f.db"), &[1; 32]).unwrap();
    let mut p = Vault::open(&dir.path().join("p.db"), &[2; 32]).unwrap();
    let groups = [
        f.create_group("Senin").unwrap(),
        f.create_group("Kamis").unwrap(),
    ];
    for (k, g) in groups.iter().enumerate() {
        let resp = f
            .approve_group_member(g, &p.link_request().unwrap(), Role::Member)
            .unwrap();
        p.join_group(&resp).unwrap();
        for i in 0..20u8 {
            let mut seed = [0x70 + k as u8; 32];
            seed[0] = i;
            f.approve_group_member(g, &request_for(seed), Role::Member)
                .unwrap();
        }
    }
    let report = sync(&n, &mut f);
    assert_eq!(report.rejected, 0, "{report:?}");
    assert!(report.pushed >= 44, "{report:?}");
    let report = sync(&n, &mut p);
    assert_eq!(report.rejected, 0, "{report:?}");
    for g in &groups {
        let members = p.space_membership(g).unwrap();
        assert_eq!(members.members.len(), 22, "the facilitator, p and 20 more");
        assert_eq!(members, f.space_membership(g).unwrap());
    }
}

#[test]
fn removing_a_lost_phone_rotates_every_space_it_was_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Vault::open(&dir.path().join("phone.db"), &[1; 32]).unwrap();
    let mut old_phone = Vault::open(&dir.path().join("old.db"), &[2; 32]).unwrap();
    let mut member = Vault::open(&dir.path().join("m.db"), &[3; 32]).unwrap();
    old_phone
        .complete_link(
            &phone
                .approve_link(&old_phone.link_request().unwrap())
                .unwrap(),
        )
        .unwrap();
    let g = phone.create_group("Kelompok").unwrap();
    old_phone
        .join_group(
            &phone
                .approve_group_member(&g, &old_phone.link_request().unwrap(), Role::Admin)
                .unwrap(),
        )
        .unwrap();
    member
        .join_group(
            &phone
                .approve_group_member(&g, &member.link_request().unwrap(), Role::Member)
                .unwrap(),
        )
        .unwrap();
    let lost = old_phone.device_id();
    let r = phone.remove_device(&lost).unwrap();
    assert_eq!(r.wrapped, 1, "journal: nobody else; group: the member");
    assert!(!phone.journal_membership().unwrap().is_member(&lost));
    assert!(!phone.space_membership(&g).unwrap().is_member(&lost));
    assert!(
        phone.space_membership(&g).unwrap().epochs.len() == 1,
        "the group key rotated"
    );
}

#[test]
fn a_pairing_and_its_case_notes_reach_exactly_the_right_people() {
    use sebaya_core::space::SpaceKind;
    use sebaya_core::{pairing, pairing::casenotes};
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut supporter = Vault::open(&dir.path().join("s.db"), &[1; 32]).unwrap();
    let mut participant = Vault::open(&dir.path().join("p.db"), &[2; 32]).unwrap();
    let mut supervisor = Vault::open(&dir.path().join("v.db"), &[3; 32]).unwrap();
    let (pid, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    assert_eq!(
        participant.join_space(&resp).unwrap(),
        (pid, SpaceKind::Pairing)
    );
    let sup_hex = supporter.device_id().to_hex();
    let par_hex = participant.device_id().to_hex();
    // Before the first sync the participant holds the key but not the pairing's content: writing waits.
    assert!(matches!(
        participant.with_space(&pid, |d, now| pairing::add_goal(
            d,
            "00000000000000d0",
            "x",
            now
        )),
        Err(Error::NotFound(_))
    ));
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    participant
        .with_space(&pid, |d, now| {
            pairing::add_checkin(d, "00000000000000c1", 2, "berat minggu ini", &par_hex, now)
        })
        .unwrap();
    supporter
        .with_space(&pid, |d, now| {
            pairing::add_goal(d, "00000000000000d1", "Tidur sebelum jam 11", now)
        })
        .unwrap();
    supporter
        .with_space(&pid, |d, now| {
            pairing::send_message(d, "00000000000000e1", "Aku di sini.", &sup_hex, now)
        })
        .unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    for v in [&supporter, &participant] {
        assert_eq!(v.read_space(&pid, pairing::checkins).unwrap().len(), 1);
        assert_eq!(v.read_space(&pid, pairing::goals).unwrap().len(), 1);
        assert_eq!(
            v.read_space(&pid, pairing::messages).unwrap()[0].text,
            "Aku di sini."
        );
        assert_eq!(
            v.read_space(&pid, pairing::participant).unwrap(),
            Some(par_hex.clone())
        );
    }

    // Case notes: the supporter and the supervisor only.
    let (cid, resp) = sebaya_tests::pairings::supervised_case_notes(
        &mut supporter,
        &mut supervisor,
        "pairing-7f3a",
    )
    .unwrap();
    // The participant cannot open the supervisor's response: the key inside is wrapped for the
    // supervisor's device alone.
    assert!(matches!(
        participant.join_space(&resp),
        Err(Error::BadLinkCode)
    ));
    supervisor.join_space(&resp).unwrap();
    supporter
        .with_space(&cid, |d, now| {
            casenotes::add_note(d, "00000000000000f1", "Rujukan dibahas.", &sup_hex, now)
        })
        .unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut supervisor);
    let sv_hex = supervisor.device_id().to_hex();
    supervisor
        .with_space(&cid, |d, now| {
            casenotes::add_review(
                d,
                "00000000000000f2",
                "00000000000000f1",
                "Baik.",
                &sv_hex,
                now,
            )
        })
        .unwrap();
    sync(&n, &mut supervisor);
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    assert_eq!(
        supporter
            .read_space(&cid, casenotes::reviews)
            .unwrap()
            .len(),
        1
    );
    let held: Vec<_> = participant
        .shared_spaces()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(
        held,
        vec![pid],
        "the participant's device holds the pairing only"
    );
    assert!(matches!(
        participant.read_space(&cid, casenotes::notes),
        Err(Error::NotFound(_))
    ));
}

/// Issue 15, item 7, through a relay: the facilitator steps the co-facilitator back to member while
/// the co-facilitator, offline and unaware, renames the group. The participant syncs the rename
/// before the demotion reaches it, the facilitator after; all three end with the same name (the
/// rename, written past the demotion's cutoff, refused everywhere), and the co-facilitator's own
/// client now refuses a facilitator's write.
#[test]
fn a_co_facilitator_stepped_back_while_offline_leaves_every_device_with_the_same_group() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = Vault::open(&dir.path().join("f.db"), &[1; 32]).unwrap();
    let mut co = Vault::open(&dir.path().join("c.db"), &[2; 32]).unwrap();
    let mut participant = Vault::open(&dir.path().join("p.db"), &[3; 32]).unwrap();
    let g = facilitator.create_group("Kelompok Kamis").unwrap();
    let resp = facilitator
        .approve_group_member(&g, &co.link_request().unwrap(), Role::Admin)
        .unwrap();
    co.join_group(&resp).unwrap();
    let resp = facilitator
        .approve_group_member(&g, &participant.link_request().unwrap(), Role::Member)
        .unwrap();
    participant.join_group(&resp).unwrap();
    for v in [&mut facilitator, &mut co, &mut participant] {
        sync(&n, v);
    }
    // A facilitator's write the co-facilitator made while it still was one: it stays.
    co.with_space(&g, |d, now| groups::rename(d, "Kelompok Kamis Sore", now))
        .unwrap();
    sync(&n, &mut co);
    sync(&n, &mut facilitator);
    // A member's device refuses the call; a facilitator's takes it.
    assert!(matches!(
        participant.set_group_member_role(&g, &co.device_id(), Role::Member),
        Err(Error::NotAllowed(_))
    ));
    facilitator
        .set_group_member_role(&g, &co.device_id(), Role::Member)
        .unwrap();
    co.with_space(&g, |d, now| groups::rename(d, "Nama dari co", now))
        .unwrap();
    sync(&n, &mut co);
    sync(&n, &mut participant);
    assert_eq!(participant.groups()[0].name, "Nama dari co");
    sync(&n, &mut facilitator);
    sync(&n, &mut participant);
    sync(&n, &mut co);
    for v in [&facilitator, &co, &participant] {
        assert_eq!(v.groups()[0].name, "Kelompok Kamis Sore");
        assert_eq!(v.groups()[0].name, facilitator.groups()[0].name);
    }
    assert_eq!(co.groups()[0].role, Some(Role::Member));
    assert!(matches!(
        co.with_space(&g, |d, now| groups::rename(d, "Lagi", now)),
        Err(Error::NotAllowed(_))
    ));
}
