//! `sebaya demo report`: in a programme's support group, a member reports a hurtful note and then
//! leaves (issue 18, item 2 and item 1). Five phones meet through a relay on loopback: a
//! coordinator, a peer supporter who facilitates the group, and two participants. The report
//! reaches the coordinator; the coordinator's phone passes a copy on to the facilitator without the
//! reporter's name; the reported member sees nothing of it; the reporter leaves on their own word.

use sebaya_core::groups;
use sebaya_core::{ProgrammeRole, Role};

use crate::{Checks, demo_person, loopback_relay};

/// Runs the scene; `Ok(false)` when a check failed.
pub fn demo() -> Result<bool, Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let mut c = Checks::default();
    println!("1. Starting a relay on loopback");
    let relay = loopback_relay(tmp.path().join("relay"))?;
    let url = relay.url();
    let open = |name: &str| demo_person(tmp.path(), name);
    let mut coord = open("coordinator.sebaya")?;
    let mut fac = open("facilitator.sebaya")?;
    let mut p1 = open("participant-1.sebaya")?;
    let mut p2 = open("participant-2.sebaya")?;

    println!(
        "2. A programme's peer supporter starts a group; a participant is enrolled with the coordinator"
    );
    let programme = coord.create_programme("PIK-R SMA 1")?;
    let grant = coord.grant_programme_role(
        &programme,
        &fac.person_id().ok_or("no person")?,
        ProgrammeRole::PeerSupporter,
        90,
    )?;
    fac.add_programme_credential(&grant.credential)?;
    let (_care, resp) = coord.enrol_participant(&p1.link_request()?, programme)?;
    p1.join_space(&resp)?;
    let g = fac.create_group_in("Kelompok Jumat", Some(programme))?;
    for p in [&mut p1, &mut p2] {
        let r = fac.approve_group_member(&g, &p.link_request()?, Role::Member)?;
        p.join_space(&r)?;
    }
    // The programme's safeguarding space, where a report's copy reaches the facilitator.
    let sg = coord.create_safeguarding_space(programme)?;
    let r = coord.approve_group_member(&sg, &fac.link_request()?, Role::Member)?;
    fac.join_space(&r)?;
    for _ in 0..2 {
        for v in [&mut coord, &mut fac, &mut p1, &mut p2] {
            v.sync(&url)?;
        }
    }

    println!("3. A member writes a hurtful note; another member reports it");
    let hurtful = "00000000000000c1";
    let p2_hex = p2.device_id().to_hex();
    p2.with_space(&g, |d, now| {
        groups::add_note(d, hurtful, "", "Kamu tidak usah datang lagi.", &p2_hex, now)
    })?;
    p2.sync(&url)?;
    p1.sync(&url)?;
    let report = p1.report(&g, "note", hurtful, "harassment", "sejak minggu lalu")?;
    c.check(
        p1.reports().iter().any(|r| r.id == report && r.mine),
        "the reporter's phone lists the report as theirs",
    );
    p1.sync(&url)?;

    println!(
        "4. The coordinator reads it; the facilitator gets a copy without the reporter's name"
    );
    // The first sync opens the report and passes a copy on; the second sends it.
    coord.sync(&url)?;
    coord.sync(&url)?;
    let at_coord = coord.reports();
    c.check(
        at_coord.iter().any(|r| {
            r.id == report && r.about == p2_hex && r.reason == "harassment" && !r.passed_on
        }),
        "the coordinator reads the report, who it is about and why",
    );
    fac.sync(&url)?;
    let at_fac = fac.reports();
    c.check(
        at_fac.len() == 1
            && at_fac
                .iter()
                .all(|r| r.passed_on && r.reporter.is_none() && r.about == p2_hex),
        "the facilitator holds one copy, passed on, naming no reporter",
    );
    c.check(
        at_fac.iter().all(|r| r.id != report),
        "the copy's id is not the report's, so it cannot be linked back",
    );
    p2.sync(&url)?;
    c.check(
        p2.reports().is_empty(),
        "the reported member sees nothing of it",
    );

    println!("5. The reporter leaves the group on their own word");
    p1.leave_group(&g)?;
    p1.sync(&url)?;
    fac.sync(&url)?;
    fac.sync(&url)?;
    c.check(
        fac.is_former_member(&g, &p1.device_id())?,
        "the facilitator's phone shows the reporter as a former member",
    );
    c.check(
        coord.reports().iter().any(|r| r.id == report),
        "the report stays with the coordinator after the reporter left",
    );

    println!();
    println!("{} passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}
