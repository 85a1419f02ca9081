//! Found at merge (issue 18 item 2 with protocol 12.2): a report is a key that devices on rules
//! older than 11 refuse, and a refused envelope holds back everything its writer sends in that
//! space after it: in a care record, the participant's referrals. So a report waits until every
//! device of the record judges under rules 11 (`WaitingForUpdates`, nothing written), and a
//! coordinator's pass-on into the safeguarding space waits likewise for that space's devices.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::error::Error;
use crate::space::rules::{REPORTS_SINCE, RULES_VERSION};

#[test]
fn a_report_waits_for_every_device_of_the_care_record_to_take_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = super::tests::world(&dir);
    let n = super::tests::note(&mut w.p2, &w.group, "kamu bodoh");
    assert_eq!(super::tests::carry(&mut w.p2, &mut w.p1), 0);
    // The coordinator's device still judges under the rules before reports, and says so.
    w.coord
        .shared
        .get_mut(&w.care)
        .unwrap()
        .play_rules(REPORTS_SINCE - 1);
    assert_eq!(super::tests::carry(&mut w.coord, &mut w.p1), 0);
    let early = w.p1.report(&w.group, "note", &n, "harassment", "");
    assert!(matches!(early, Err(Error::WaitingForUpdates)), "{early:?}");
    assert!(w.p1.reports().is_empty(), "nothing was written");
    // The participant's referral still goes, and nothing waits behind a report.
    w.p1.ask_for_help("id").unwrap();
    assert_eq!(super::tests::carry(&mut w.p1, &mut w.coord), 0);
    assert_eq!(w.coord.referrals(&w.care).unwrap().len(), 1);
    // The coordinator's device updates and announces it: the report goes through.
    w.coord
        .shared
        .get_mut(&w.care)
        .unwrap()
        .play_rules(RULES_VERSION);
    assert_eq!(super::tests::carry(&mut w.coord, &mut w.p1), 0);
    let id = w.p1.report(&w.group, "note", &n, "harassment", "").unwrap();
    assert_eq!(super::tests::carry(&mut w.p1, &mut w.coord), 0);
    assert!(w.coord.reports().iter().any(|r| r.id == id));
}
