//! The review of issue 18 item 2 (review L1, M5, M6): an older device's refusal of a report is
//! played for real; a pass-on that fails leaves the others to go; a block's notice that has to wait
//! is sent later; reports per care record per day are capped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::ROOT;
use automerge::transaction::Transactable;

use crate::error::Error;

use super::tests::{carry, carry_to, note, two_coordinators, world};
use crate::space::rules::{REPORTS_SINCE, RULES_VERSION};
use crate::{SpaceId, Vault};

fn copies(v: &Vault, sg: &SpaceId) -> usize {
    v.read_space(sg, |d| {
        automerge::ReadDoc::keys(d, ROOT)
            .filter(|k| k.starts_with("report/"))
            .count()
    })
    .unwrap()
}

/// Review L1: a device playing rules 10 refuses a report as rules 10 did (a non-admin's `report/`
/// key), and holds back the participant's later referral with it: what the report's wait is for.
#[test]
fn a_device_on_rules_10_refuses_a_report_and_holds_back_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    w.coord
        .shared
        .get_mut(&w.care)
        .unwrap()
        .play_rules(REPORTS_SINCE - 1);
    // Written around the wait (an older writer, a modified client): the subject's report key.
    let me = w.p1.person_id().unwrap();
    w.p1.claim_spaces(me.0).unwrap();
    w.p1.with_space(&w.care, |doc, now| {
        let r = doc.put_object(ROOT, "report/00000000000000a1", automerge::ObjType::Map)?;
        doc.put(&r, "at", now)?;
        doc.commit();
        Ok(())
    })
    .unwrap();
    w.p1.ask_for_help("id").unwrap();
    assert!(carry(&mut w.p1, &mut w.coord) > 0, "refused on rules 10");
    assert!(
        w.coord.referrals(&w.care).unwrap().is_empty(),
        "the referral waits behind it"
    );
}

/// Review L1: the pass-on waits while a device of the safeguarding space is on rules 10, and goes
/// once it has updated.
#[test]
fn a_pass_on_waits_for_the_safeguarding_space_to_take_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _c2, sg) = two_coordinators(&dir);
    w.fac
        .shared
        .get_mut(&sg)
        .unwrap()
        .play_rules(REPORTS_SINCE - 1);
    assert_eq!(carry_to(&mut w.fac, &mut w.coord), 0);
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    w.p1.report(&w.group, "note", &n, "harassment", "").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    assert_eq!(w.coord.pass_on_reports().unwrap(), 0);
    assert_eq!(copies(&w.coord, &sg), 0, "nothing written while it waits");
    w.fac.shared.get_mut(&sg).unwrap().play_rules(RULES_VERSION);
    assert_eq!(carry_to(&mut w.fac, &mut w.coord), 0);
    // Passed on as the facilitator's bundle came in, or now.
    let _ = w.coord.pass_on_reports().unwrap();
    assert_eq!(copies(&w.coord, &sg), 1);
    assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    assert_eq!(w.fac.reports().len(), 1);
}

/// Review M5: one report whose pass-on fails does not stop the others.
#[test]
fn one_failing_pass_on_leaves_the_others_to_go() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _c2, sg) = two_coordinators(&dir);
    let a = note(&mut w.p2, &w.group, "a");
    let b = note(&mut w.p2, &w.group, "b");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    w.p1.report(&w.group, "note", &a, "harassment", "").unwrap();
    w.p1.report(&w.group, "note", &b, "hateful", "").unwrap();
    // The coordinator's device passes reports on as the bundle comes in: the first fails.
    let bundle = w.p1.export_bundle(&[], None).unwrap();
    super::passon::FAIL_NEXT.with(|f| f.set(1));
    let imported = w.coord.import_bundle(&bundle).map(|r| r.quarantined);
    super::passon::FAIL_NEXT.with(|f| f.set(0));
    assert_eq!(imported.unwrap(), 0);
    assert_eq!(copies(&w.coord, &sg), 1, "the other went");
    assert_eq!(
        w.coord.pass_on_reports().unwrap(),
        1,
        "the failed one goes later"
    );
    assert_eq!(copies(&w.coord, &sg), 2);
}

/// Review M5: a block's notice that must wait for a device to update is sent once it has.
#[test]
fn a_block_notice_that_waits_is_sent_later() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    w.coord
        .shared
        .get_mut(&w.care)
        .unwrap()
        .play_rules(REPORTS_SINCE - 1);
    assert_eq!(carry(&mut w.coord, &mut w.p1), 0);
    let p2_hex = w.p2.identity.device.to_hex();
    w.p1.block_member(&w.group, &p2_hex).unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    assert!(w.coord.reports().is_empty());
    w.coord
        .shared
        .get_mut(&w.care)
        .unwrap()
        .play_rules(RULES_VERSION);
    assert_eq!(carry(&mut w.coord, &mut w.p1), 0);
    // The blocker's next sync sends the notice.
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let got = w.coord.reports();
    assert_eq!(got.len(), 1, "the notice came");
    assert_eq!(
        (got[0].reason.as_str(), got[0].about.as_str()),
        ("blocked", p2_hex.as_str())
    );
    // Sent once.
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    assert_eq!(w.coord.reports().len(), 1);
}

/// Review M6: a care record takes a bounded number of reports a day.
#[test]
fn reports_per_care_record_per_day_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    let cap = super::MAX_REPORTS_PER_DAY;
    for _ in 0..cap {
        w.p1.report(&w.group, "note", &n, "other", "").unwrap();
    }
    let over = w.p1.report(&w.group, "note", &n, "other", "");
    assert!(matches!(over, Err(Error::TooManyReports)), "{over:?}");
    assert_eq!(w.p1.reports().len(), cap);
}

/// Review L4: a member named in upper-case hex is stored as the lower-case device id readers
/// compare with.
#[test]
fn a_member_named_in_upper_case_is_stored_as_its_device_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let p2_hex = w.p2.identity.device.to_hex();
    w.p1.report(&w.group, "member", &p2_hex.to_uppercase(), "other", "")
        .unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let got = w.coord.reports();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].about.as_str(), got[0].record.as_str()),
        (p2_hex.as_str(), p2_hex.as_str())
    );
}

/// Review L2: reporting writes nothing into the group reported (no proof of the reporter's person
/// there at that minute, which the reported member would see).
#[test]
fn a_report_writes_nothing_into_the_group_it_is_about() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let g2 = w
        .fac
        .create_group_in("Kelompok dua", Some(w.programme))
        .unwrap();
    for v in [&mut w.p1, &mut w.p2] {
        let r = w
            .fac
            .approve_group_member(
                &g2,
                &v.link_request().unwrap(),
                sebaya_proto::membership::Role::Member,
            )
            .unwrap();
        v.join_space(&r).unwrap();
    }
    assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    let heads = |v: &Vault| v.held_ref(&g2).unwrap().membership().heads.clone();
    let before = heads(&w.p1);
    let p2_hex = w.p2.identity.device.to_hex();
    w.p1.report(&g2, "member", &p2_hex, "other", "").unwrap();
    assert_eq!(heads(&w.p1), before, "the group's log is as it was");
}

/// Review M3: a coordinator's device that holds the group passes a report on only to that group's
/// admins, whatever facilitator list the report names (here a modified client names a supporter
/// who is no admin there).
#[test]
fn a_pass_on_goes_only_to_the_groups_admins_where_the_coordinator_holds_the_group() {
    use sebaya_proto::membership::Role;
    use sebaya_proto::programme::ProgrammeRole;
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _c2, sg) = two_coordinators(&dir);
    // A peer supporter in the safeguarding space, no admin of the group.
    let mut s = Vault::open(&dir.path().join("s"), &[41; 32]).unwrap();
    s.create_person().unwrap();
    let g = w
        .coord
        .grant_programme_role(
            &w.programme,
            &s.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            90,
        )
        .unwrap();
    s.add_programme_credential(&g.credential).unwrap();
    let r = w
        .coord
        .approve_group_member(&sg, &s.link_request().unwrap(), Role::Member)
        .unwrap();
    s.join_space(&r).unwrap();
    // The coordinator sits in the group.
    let r = w
        .fac
        .approve_group_member(&w.group, &w.coord.link_request().unwrap(), Role::Member)
        .unwrap();
    w.coord.join_space(&r).unwrap();
    for _ in 0..2 {
        s.refresh_index().unwrap();
        assert_eq!(carry_to(&mut w.coord, &mut s), 0);
        assert_eq!(carry_to(&mut s, &mut w.coord), 0);
        assert_eq!(carry_to(&mut w.fac, &mut w.coord), 0);
        assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    }
    // A modified client names the supporter as the facilitator.
    let care = w.care;
    let plain = super::reports::Plain {
        v: 1,
        space: w.group.to_hex(),
        target: "member".into(),
        record: w.p2.identity.device.to_hex(),
        about: w.p2.identity.device.to_hex(),
        route: "facilitator-and-coordinators".into(),
        facilitators: vec![s.identity.device.to_hex()],
        reason: "other".into(),
        text: String::new(),
        copy: String::new(),
    };
    let recipients =
        super::reports::devices_with(w.p1.held_ref(&care).unwrap(), ProgrammeRole::Coordinator);
    let me = w.p1.person_id().unwrap();
    w.p1.claim_spaces(me.0).unwrap();
    let key = crate::crypto::random_key().unwrap();
    w.p1.put_sealed(&care, "00000000000000b1", &key, &plain, &recipients)
        .unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    assert!(w.coord.reports().iter().any(|r| r.id == "00000000000000b1"));
    let _ = w.coord.pass_on_reports().unwrap();
    assert_eq!(carry_to(&mut w.coord, &mut s), 0);
    assert!(
        s.reports().is_empty(),
        "nothing for a supporter who is no admin of the group"
    );
}

/// Second review R1: a facilitator who holds the reporter's care record (their supporter) would link
/// a copy to the report they see written there: nothing is passed on to them.
#[test]
fn nothing_is_passed_on_to_a_facilitator_who_holds_the_reporters_care_record() {
    use sebaya_proto::membership::Role;
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _c2, sg) = two_coordinators(&dir);
    let r = w
        .coord
        .approve_group_member(&w.care, &w.fac.link_request().unwrap(), Role::Member)
        .unwrap();
    w.fac.join_space(&r).unwrap();
    for _ in 0..2 {
        assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
        assert_eq!(carry_to(&mut w.fac, &mut w.coord), 0);
        assert_eq!(carry(&mut w.coord, &mut w.p1), 0);
    }
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    w.p1.report(&w.group, "note", &n, "harassment", "").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let _ = w.coord.pass_on_reports().unwrap();
    assert_eq!(copies(&w.coord, &sg), 0, "nothing passed on");
    assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    assert!(w.fac.reports().is_empty());
}

/// Second review R14: a report about a member of the safeguarding space (a peer supporter who is a
/// plain member of the group) is not passed on there, where they would see a copy appear.
#[test]
fn nothing_is_passed_on_about_a_member_of_the_safeguarding_space() {
    use sebaya_proto::membership::Role;
    use sebaya_proto::programme::ProgrammeRole;
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _c2, sg) = two_coordinators(&dir);
    let mut s = Vault::open(&dir.path().join("s"), &[42; 32]).unwrap();
    s.create_person().unwrap();
    let g = w
        .coord
        .grant_programme_role(
            &w.programme,
            &s.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            90,
        )
        .unwrap();
    s.add_programme_credential(&g.credential).unwrap();
    let r = w
        .coord
        .approve_group_member(&sg, &s.link_request().unwrap(), Role::Member)
        .unwrap();
    s.join_space(&r).unwrap();
    let r = w
        .fac
        .approve_group_member(&w.group, &s.link_request().unwrap(), Role::Member)
        .unwrap();
    s.join_space(&r).unwrap();
    for _ in 0..2 {
        s.refresh_index().unwrap();
        assert_eq!(carry_to(&mut w.coord, &mut s), 0);
        assert_eq!(carry_to(&mut s, &mut w.coord), 0);
        assert_eq!(carry_to(&mut w.fac, &mut s), 0);
        assert_eq!(carry_to(&mut s, &mut w.fac), 0);
    }
    let n = note(&mut s, &w.group, "catatan kasar");
    assert_eq!(carry(&mut s, &mut w.fac), 0);
    assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    w.p1.report(&w.group, "note", &n, "harassment", "").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let _ = w.coord.pass_on_reports().unwrap();
    assert_eq!(copies(&w.coord, &sg), 0, "nothing passed on about them");
}

/// Second review R2: a member blocked again (or after an unblock) is notified once, and block
/// notices do not use up the day's reports.
#[test]
fn a_block_notice_goes_once_and_leaves_the_days_reports_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    let p2_hex = w.p2.identity.device.to_hex();
    w.p1.block_member(&w.group, &p2_hex).unwrap();
    w.p1.block_member(&w.group, &p2_hex).unwrap();
    w.p1.unblock_member(&w.group, &p2_hex).unwrap();
    w.p1.block_member(&w.group, &p2_hex).unwrap();
    for _ in 0..super::MAX_REPORTS_PER_DAY {
        w.p1.report(&w.group, "note", &n, "worried-about-them", "")
            .unwrap();
    }
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let notices = w
        .coord
        .reports()
        .into_iter()
        .filter(|r| r.reason == "blocked")
        .count();
    assert_eq!(notices, 1, "one notice");
}

/// Second review R5: a coordinator who is a plain member of a group never blocks a participant
/// whose care record they hold.
#[test]
fn a_coordinator_in_a_group_never_blocks_a_participant_they_care_for() {
    use sebaya_proto::membership::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let r = w
        .fac
        .approve_group_member(&w.group, &w.coord.link_request().unwrap(), Role::Member)
        .unwrap();
    w.coord.join_space(&r).unwrap();
    assert_eq!(carry(&mut w.fac, &mut w.coord), 0);
    let n = note(&mut w.p1, &w.group, "aku ingin menghilang");
    assert_eq!(carry(&mut w.p1, &mut w.fac), 0);
    assert_eq!(carry(&mut w.fac, &mut w.coord), 0);
    let p1_hex = w.p1.identity.device.to_hex();
    let res = w.coord.block_member(&w.group, &p1_hex);
    assert!(matches!(res, Err(Error::NotAllowed(_))), "{res:?}");
    let seen: Vec<String> = w
        .coord
        .visible_group_notes(&w.group)
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert!(seen.contains(&n));
}

/// Second review R15: when a facilitator of the group holds the reporter's care record, nothing is
/// passed on to any co-facilitator either (a copy left out for one of them would point at the
/// reporter).
#[test]
fn nothing_is_passed_on_when_a_co_facilitator_holds_the_reporters_care_record() {
    use sebaya_proto::membership::Role;
    use sebaya_proto::programme::ProgrammeRole;
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _c2, sg) = two_coordinators(&dir);
    let mut f2 = Vault::open(&dir.path().join("f2"), &[43; 32]).unwrap();
    f2.create_person().unwrap();
    let g = w
        .coord
        .grant_programme_role(
            &w.programme,
            &f2.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            90,
        )
        .unwrap();
    f2.add_programme_credential(&g.credential).unwrap();
    let r = w
        .coord
        .approve_group_member(&sg, &f2.link_request().unwrap(), Role::Member)
        .unwrap();
    f2.join_space(&r).unwrap();
    let r = w
        .fac
        .approve_group_member(&w.group, &f2.link_request().unwrap(), Role::Admin)
        .unwrap();
    f2.join_space(&r).unwrap();
    let r = w
        .coord
        .approve_group_member(&w.care, &w.fac.link_request().unwrap(), Role::Member)
        .unwrap();
    w.fac.join_space(&r).unwrap();
    for _ in 0..2 {
        f2.refresh_index().unwrap();
        for v in [&mut w.fac, &mut f2] {
            assert_eq!(carry_to(&mut w.coord, v), 0);
            assert_eq!(carry_to(v, &mut w.coord), 0);
        }
        assert_eq!(carry_to(&mut w.fac, &mut f2), 0);
        assert_eq!(carry_to(&mut f2, &mut w.fac), 0);
        assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
        assert_eq!(carry(&mut w.coord, &mut w.p1), 0);
    }
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    let id = w.p1.report(&w.group, "note", &n, "harassment", "").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let r = w.coord.reports();
    assert!(
        r.iter().any(|x| x.id == id && x.facilitators.len() == 2),
        "{r:?}"
    );
    let _ = w.coord.pass_on_reports().unwrap();
    assert_eq!(copies(&w.coord, &sg), 0, "nothing passed on");
}

/// Second review R16: a coordinator who co-facilitates the group reads the report anyway and does
/// not stop the pass-on to the other facilitator.
#[test]
fn a_coordinator_co_facilitating_does_not_stop_the_pass_on() {
    use sebaya_proto::membership::Role;
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _c2, sg) = two_coordinators(&dir);
    let r = w
        .fac
        .approve_group_member(&w.group, &w.coord.link_request().unwrap(), Role::Admin)
        .unwrap();
    w.coord.join_space(&r).unwrap();
    for _ in 0..2 {
        assert_eq!(carry_to(&mut w.fac, &mut w.coord), 0);
        assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
        assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    }
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    w.p1.report(&w.group, "note", &n, "harassment", "").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let _ = w.coord.pass_on_reports().unwrap();
    assert_eq!(copies(&w.coord, &sg), 1, "passed on");
    assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    assert_eq!(w.fac.reports().len(), 1);
}
