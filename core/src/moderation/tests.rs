//! Reports and blocks between vaults that exchange bundles (issue 18, item 2): a member's report
//! reaches the programme's coordinators through the reporter's care record and never the reported
//! person; bad reports are refused or never open; a block hides a member's notes on the blocker's
//! devices alone, never a coordinator's, never a referral.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::ROOT;
use automerge::transaction::Transactable;
use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use crate::error::Error;
use crate::{SpaceId, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

/// Everything `from` holds, carried to `to` in a file; how many envelopes `to` set aside.
pub(super) fn carry(from: &mut Vault, to: &mut Vault) -> u32 {
    let bundle = from.export_bundle(&[], None).expect("export");
    match to.import_bundle(&bundle) {
        Ok(r) => r.quarantined,
        // Nothing new since the last one.
        Err(Error::BundleReplayed) => 0,
        Err(e) => panic!("import: {e:?}"),
    }
}

/// As [`carry`], in a bundle made for `to` (a safeguarding space goes only in one made for a member).
pub(super) fn carry_to(from: &mut Vault, to: &mut Vault) -> u32 {
    let peer = to.identity.device;
    let bundle = from.export_bundle(&[], Some(&peer)).expect("export");
    to.import_bundle(&bundle).expect("import").quarantined
}

pub(super) fn note(v: &mut Vault, g: &SpaceId, text: &str) -> String {
    let id = hex::encode(crate::crypto::random::<8>().unwrap());
    let me = v.identity.device.to_hex();
    v.with_space(g, |doc, now| {
        crate::groups::add_note(doc, &id, "t", text, &me, now)
    })
    .unwrap();
    id
}

pub(super) struct World {
    pub(super) coord: Vault,
    pub(super) fac: Vault,
    pub(super) p1: Vault,
    pub(super) p2: Vault,
    pub(super) group: SpaceId,
    pub(super) care: SpaceId,
    pub(super) programme: [u8; 32],
}

/// A coordinator; a facilitator (peer supporter) whose programme group holds two participants;
/// the first participant enrolled (a care record with the coordinator), the second not.
pub(super) fn world(dir: &tempfile::TempDir) -> World {
    let mut coord = vault(dir, "c", 1);
    let mut fac = vault(dir, "f", 2);
    let mut p1 = vault(dir, "p1", 3);
    let mut p2 = vault(dir, "p2", 4);
    let p = coord.create_programme("P").unwrap();
    let g = coord
        .grant_programme_role(
            &p,
            &fac.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            90,
        )
        .unwrap();
    fac.add_programme_credential(&g.credential).unwrap();
    let (care, resp) = coord
        .enrol_participant(&p1.link_request().unwrap(), p)
        .unwrap();
    p1.join_space(&resp).unwrap();
    let group = fac.create_group_in("Kelompok", Some(p)).unwrap();
    for v in [&mut p1, &mut p2] {
        let r = fac
            .approve_group_member(&group, &v.link_request().unwrap(), Role::Member)
            .unwrap();
        v.join_space(&r).unwrap();
    }
    for v in [&mut p1, &mut p2] {
        assert_eq!(carry(&mut fac, v), 0);
    }
    assert_eq!(carry(&mut coord, &mut p1), 0);
    // Each participant's first sync proves its person in the spaces it joined.
    assert_eq!(carry(&mut p1, &mut coord), 0);
    for v in [&mut p1, &mut p2] {
        assert_eq!(carry(v, &mut fac), 0);
    }
    for v in [&mut p1, &mut p2] {
        assert_eq!(carry(&mut fac, v), 0);
    }
    World {
        coord,
        fac,
        p1,
        p2,
        group,
        care,
        programme: p,
    }
}

#[test]
fn a_report_reaches_the_coordinator_and_never_the_reported_member() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let n = note(&mut w.p2, &w.group, "kamu bodoh");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    let id =
        w.p1.report(&w.group, "note", &n, "harassment", "sejak minggu lalu")
            .unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let got = w.coord.reports();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!((r.id.as_str(), r.care), (id.as_str(), w.care));
    assert_eq!(r.reporter, Some(w.p1.person_id().unwrap().0));
    assert_eq!(r.about, w.p2.identity.device.to_hex());
    assert_eq!((r.target.as_str(), r.record.as_str()), ("note", n.as_str()));
    assert_eq!(r.route, "facilitator-and-coordinators");
    assert_eq!(r.facilitators, vec![w.fac.identity.device.to_hex()]);
    assert_eq!(
        (r.reason.as_str(), r.text.as_str()),
        ("harassment", "sejak minggu lalu")
    );
    assert_eq!(r.copy, "t\nkamu bodoh");
    assert!(!r.mine);
    // The reporter's own device lists it as theirs.
    assert!(w.p1.reports().iter().any(|x| x.id == id && x.mine));
    // The reported member holds no care record of the reporter's, and sees nothing; the group
    // carries nothing of the report.
    assert_eq!(carry(&mut w.p1, &mut w.p2), 0);
    assert!(w.p2.reports().is_empty());
    assert!(w.p2.held_ref(&w.care).is_err());
    let group_doc = w.p2.read_space(&w.group, |d| d.clone().save()).unwrap();
    assert!(!String::from_utf8_lossy(&group_doc).contains("sejak minggu lalu"));
    assert!(w.fac.held_ref(&w.care).is_err());
}

#[test]
fn a_report_about_the_facilitator_goes_to_the_coordinators_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let n = note(&mut w.fac, &w.group, "catatan");
    assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    w.p1.report(&w.group, "note", &n, "unsafe-advice", "")
        .unwrap();
    let fac_hex = w.fac.identity.device.to_hex();
    w.p1.report(&w.group, "member", &fac_hex, "other", "")
        .unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let got = w.coord.reports();
    assert_eq!(got.len(), 2);
    for r in got {
        assert_eq!(r.route, "coordinators");
        assert!(r.facilitators.is_empty());
        assert_eq!(r.about, fac_hex);
    }
}

#[test]
fn bad_reports_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    // A non-member: the coordinator holds no such group.
    assert!(matches!(
        w.coord.report(&w.group, "note", &n, "harassment", ""),
        Err(Error::NotFound(_))
    ));
    // Content of another space: the note is not in the care record, nor a message in the group.
    assert!(matches!(
        w.p1.report(&w.care, "note", &n, "harassment", ""),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        w.p1.report(&w.group, "message", &n, "harassment", ""),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        w.p1.report(&w.group, "note", "00000000000000aa", "harassment", ""),
        Err(Error::NotFound(_))
    ));
    // Unknown reasons (a block's notice included), words too long, oneself.
    for reason in ["spam", "blocked", ""] {
        assert!(matches!(
            w.p1.report(&w.group, "note", &n, reason, ""),
            Err(Error::InvalidInput(_))
        ));
    }
    assert!(matches!(
        w.p1.report(&w.group, "note", &n, "other", &"a".repeat(501)),
        Err(Error::InvalidInput(_))
    ));
    let me = w.p1.identity.device.to_hex();
    assert!(matches!(
        w.p1.report(&w.group, "member", &me, "other", ""),
        Err(Error::InvalidInput(_))
    ));
    // The second participant has no care record: nothing to carry the report, refused.
    let n1 = note(&mut w.p1, &w.group, "y");
    assert_eq!(carry(&mut w.p1, &mut w.p2), 0);
    assert!(matches!(
        w.p2.report(&w.group, "note", &n1, "harassment", ""),
        Err(Error::NotFound("care record"))
    ));
    // A group outside a programme has no coordinators.
    let plain = w.fac.create_group("Tanpa program").unwrap();
    let r = w
        .fac
        .approve_group_member(&plain, &w.p1.link_request().unwrap(), Role::Member)
        .unwrap();
    w.p1.join_space(&r).unwrap();
    assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    let fac_hex = w.fac.identity.device.to_hex();
    assert!(matches!(
        w.p1.report(&plain, "member", &fac_hex, "other", ""),
        Err(Error::NotAllowed(_))
    ));
    assert!(w.p1.reports().is_empty(), "nothing was written");
}

#[test]
fn a_forged_or_replayed_report_never_opens_or_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let n = note(&mut w.p2, &w.group, "x");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    let id = w.p1.report(&w.group, "note", &n, "hateful", "").unwrap();
    // Replayed: the same sealed record under another id does not open.
    let replay = "00000000000000bb";
    w.p1.with_space(&w.care, |doc, _| {
        let bytes = doc.save();
        let copy = automerge::AutoCommit::load(&bytes)?;
        let from = crate::space::doc::root_record(&copy, &format!("report/{id}"))
            .ok_or(Error::NotFound("report"))?;
        let r = doc.put_object(ROOT, format!("report/{replay}"), automerge::ObjType::Map)?;
        for k in ["at", "epoch", "sealed"] {
            if let Some((automerge::Value::Scalar(s), _)) =
                automerge::ReadDoc::get(&copy, &from, k)?
            {
                doc.put(&r, k, s.into_owned())?;
            }
        }
        let wraps = doc.put_object(&r, "wraps", automerge::ObjType::Map)?;
        if let Some((_, wobj)) = automerge::ReadDoc::get(&copy, &from, "wraps")? {
            for key in automerge::ReadDoc::keys(&copy, &wobj).collect::<Vec<_>>() {
                if let Some((automerge::Value::Scalar(s), _)) =
                    automerge::ReadDoc::get(&copy, &wobj, key.as_str())?
                {
                    doc.put(&wraps, key.as_str(), s.into_owned())?;
                }
            }
        }
        doc.commit();
        Ok(())
    })
    .unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let ids: Vec<String> = w.coord.reports().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![id.clone()], "the replay does not open");
    // Forged: a report written into the care record by anyone but its subject (here the
    // coordinator's own device, bypassing its checks) is refused on receipt.
    assert!(matches!(
        crate::space::rules::need(crate::space::SpaceKind::Care, "report/00000000000000cc"),
        crate::space::rules::Need::Subject
    ));
    w.coord
        .with_space_unchecked_for_tests(&w.care, |doc, _| {
            let r = doc.put_object(ROOT, "report/00000000000000cc", automerge::ObjType::Map)?;
            doc.put(&r, "at", 1_i64)?;
            doc.commit();
            Ok(())
        })
        .unwrap();
    assert!(
        carry(&mut w.coord, &mut w.p1) > 0,
        "refused on the participant's device"
    );
    // And the honest device refuses it before writing.
    assert!(
        w.coord
            .with_space(&w.care, |doc, _| {
                doc.put_object(ROOT, "report/00000000000000dd", automerge::ObjType::Map)?;
                doc.commit();
                Ok(())
            })
            .is_err()
    );
}

#[test]
fn a_block_hides_a_member_on_the_blockers_devices_only_and_the_facilitator_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let n2 = note(&mut w.p2, &w.group, "dari p2");
    let nf = note(&mut w.fac, &w.group, "dari fasilitator");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    let p2_hex = w.p2.identity.device.to_hex();
    w.p1.block_member(&w.group, &p2_hex).unwrap();
    let ids = |v: &Vault| -> Vec<String> {
        v.visible_group_notes(&w.group)
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect()
    };
    assert_eq!(ids(&w.p1), vec![nf.clone()]);
    assert_eq!(w.p1.blocked_members().len(), 1);
    // Others still see everything.
    assert_eq!(carry(&mut w.p2, &mut w.fac), 0);
    assert_eq!(ids(&w.fac).len(), 2);
    // The notice: reason `blocked`, about the blocked member, for the facilitator, no words.
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let notices = w.coord.reports();
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (notices[0].reason.as_str(), notices[0].about.as_str()),
        ("blocked", p2_hex.as_str())
    );
    assert_eq!(
        notices[0].facilitators,
        vec![w.fac.identity.device.to_hex()]
    );
    // Unblocking shows the note again.
    w.p1.unblock_member(&w.group, &p2_hex).unwrap();
    assert_eq!(ids(&w.p1).len(), 2);
    assert!(ids(&w.p1).contains(&n2));
    w.p1.unblock_member(&w.group, &p2_hex).unwrap();
}

#[test]
fn no_block_of_oneself_or_a_coordinator_and_a_referral_is_never_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let me = w.p1.identity.device.to_hex();
    assert!(matches!(
        w.p1.block_member(&w.group, &me),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        w.p1.block_member(&w.group, "zz"),
        Err(Error::InvalidInput(_))
    ));
    // Not a member of that space.
    let coord_hex = w.coord.identity.device.to_hex();
    assert!(matches!(
        w.p1.block_member(&w.group, &coord_hex),
        Err(Error::NotFound(_))
    ));
    // A coordinator (in the care record they share) is never blocked.
    assert!(matches!(
        w.p1.block_member(&w.care, &coord_hex),
        Err(Error::NotAllowed(_))
    ));
    assert!(w.p1.blocked_members().is_empty());
    // The coordinator, an admin of the care record, moderates and never blocks its participant
    // (review H3): the participant's call for help reaches the inbox.
    assert!(matches!(
        w.coord.block_member(&w.care, &me),
        Err(Error::NotAllowed(_))
    ));
    w.p1.ask_for_help("ID").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let inbox = w.coord.referral_inbox().unwrap();
    assert!(
        inbox
            .iter()
            .any(|r| r.care == w.care && r.origin == "participant")
    );
}

#[test]
fn every_reason_has_its_words_in_both_languages() {
    for r in super::REASONS.iter().chain([&super::reports::BLOCKED]) {
        let id = format!("report-reason-{r}");
        let (en, ind) = (
            crate::i18n::message("en", &id, &[]),
            crate::i18n::message("id", &id, &[]),
        );
        assert!(en != id && ind != id && en != ind, "{id}");
    }
    for id in ["error-report-seen-by-reported", "error-too-many-reports"] {
        let (en, ind) = (
            crate::i18n::message("en", id, &[]),
            crate::i18n::message("id", id, &[]),
        );
        assert!(en != id && ind != id && en != ind, "{id}");
    }
}

#[test]
fn a_coordinator_passes_a_report_on_to_the_facilitator_without_the_reporter() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let sg = w.coord.create_safeguarding_space(w.programme).unwrap();
    let r = w
        .coord
        .approve_group_member(&sg, &w.fac.link_request().unwrap(), Role::Member)
        .unwrap();
    w.fac.join_space(&r).unwrap();
    assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    assert_eq!(carry_to(&mut w.fac, &mut w.coord), 0);
    let n = note(&mut w.p2, &w.group, "kamu bodoh");
    let nf = note(&mut w.fac, &w.group, "catatan");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    let id =
        w.p1.report(&w.group, "note", &n, "harassment", "kata-kata")
            .unwrap();
    // About the facilitator: never passed on.
    w.p1.report(&w.group, "note", &nf, "other", "").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    // Passed on as the bundle came in (before anything else is sent), and only once, under the
    // coordinator's device's own key.
    let coord_hex = w.coord.identity.device.to_hex();
    let copies = |v: &Vault| -> Vec<String> {
        v.read_space(&sg, |d| {
            automerge::ReadDoc::keys(d, ROOT)
                .filter(|k| k.starts_with("report/"))
                .collect()
        })
        .unwrap()
    };
    let keys = copies(&w.coord);
    assert_eq!(keys.len(), 1);
    assert!(keys[0].ends_with(&format!("/{coord_hex}")), "{keys:?}");
    assert_eq!(w.coord.pass_on_reports().unwrap(), 0, "once");
    assert_eq!(
        w.coord.reports().len(),
        2,
        "the coordinator lists each once"
    );
    assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    let got = w.fac.reports();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!((r.care, r.passed_on), (sg, true));
    assert_ne!(r.id, id, "the copy's id is not the report's");
    assert_eq!(keys[0], format!("report/{}/{coord_hex}", r.id));
    assert_eq!(r.reporter, None);
    assert_eq!(r.about, w.p2.identity.device.to_hex());
    assert_eq!(
        (r.copy.as_str(), r.text.as_str()),
        ("t\nkamu bodoh", "kata-kata")
    );
    // The copy names no one but the coordinator's device as its writer, and the reported member
    // holds neither space.
    let doc = w.fac.read_space(&sg, |d| d.clone().save()).unwrap();
    let p1_hex = w.p1.identity.device.to_hex();
    assert!(!String::from_utf8_lossy(&doc).contains(&p1_hex));
    assert!(w.p2.held_ref(&sg).is_err() && w.p2.reports().is_empty());
    // A block's notice goes the same way.
    w.p1.block_member(&w.group, &w.p2.identity.device.to_hex())
        .unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    assert_eq!(
        carry_to(&mut w.coord, &mut w.fac),
        0,
        "passed on at the export"
    );
    assert!(
        w.fac
            .reports()
            .iter()
            .any(|r| r.reason == "blocked" && r.passed_on)
    );
    // Only a coordinator writes a copy: the facilitator's own is refused (before writing).
    let forged = format!("report/00000000000000ee/{}", w.fac.identity.device.to_hex());
    assert!(
        w.fac
            .with_space(&sg, |doc, _| {
                doc.put_object(ROOT, forged.as_str(), automerge::ObjType::Map)?;
                doc.commit();
                Ok(())
            })
            .is_err()
    );
}

/// A coordinator who is also the participant's supporter (trained), their pairing, and the
/// participant's care record; a second coordinator of the programme in that care record.
fn paired(dir: &tempfile::TempDir) -> (Vault, Vault, Vault, SpaceId, SpaceId) {
    let mut sup = vault(dir, "sup", 11);
    let mut part = vault(dir, "part", 12);
    let mut other = vault(dir, "other", 13);
    let p = crate::pairing::programme_tests::trained_programme(&mut sup);
    let g = sup
        .grant_programme_role(
            &p,
            &other.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            90,
        )
        .unwrap();
    other.add_programme_credential(&g.credential).unwrap();
    let (care, resp) = sup
        .enrol_participant(&part.link_request().unwrap(), p)
        .unwrap();
    part.join_space(&resp).unwrap();
    let r = sup
        .approve_group_member(&care, &other.link_request().unwrap(), Role::Member)
        .unwrap();
    other.join_space(&r).unwrap();
    // What a relay sync does first: the second coordinator proves its person and publishes its
    // credential in the care record.
    other.refresh_index().unwrap();
    let (pairing, resp) = sup
        .create_pairing(&part.link_request().unwrap(), &p)
        .unwrap();
    part.join_space(&resp).unwrap();
    for _ in 0..2 {
        assert_eq!(carry(&mut sup, &mut part), 0);
        assert_eq!(carry(&mut sup, &mut other), 0);
        assert_eq!(carry(&mut other, &mut sup), 0);
        assert_eq!(carry(&mut part, &mut sup), 0);
        assert_eq!(carry(&mut sup, &mut other), 0);
        assert_eq!(carry(&mut sup, &mut part), 0);
    }
    (sup, part, other, care, pairing)
}

fn message(v: &mut Vault, pairing: &SpaceId, text: &str) -> String {
    let id = hex::encode(crate::crypto::random::<8>().unwrap());
    let me = v.identity.device.to_hex();
    v.with_space(pairing, |doc, now| {
        crate::pairing::send_message(doc, &id, text, &me, now)
    })
    .unwrap();
    id
}

/// A report about one's supporter who is a coordinator is refused (they hold the care record:
/// review H2), and a coordinator's message is never hidden, even under a block written around the
/// check (another device of the person, an older release).
#[test]
fn a_report_about_a_coordinator_supporter_is_refused_and_their_messages_stay() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, _other, _care, pairing) = paired(&dir);
    let m = message(&mut sup, &pairing, "pesan");
    assert_eq!(carry(&mut sup, &mut part), 0);
    assert!(matches!(
        part.report(&pairing, "message", &m, "unsafe-advice", ""),
        Err(Error::ReportSeenByReported)
    ));
    // Blocking the coordinator is refused; a block set around the check hides nothing of theirs.
    let sup_hex = sup.identity.device.to_hex();
    assert!(matches!(
        part.block_member(&pairing, &sup_hex),
        Err(Error::NotAllowed(_))
    ));
    part.journal().unwrap();
    let (store, j) = part.parts().unwrap();
    crate::space::doc::write(&mut j.doc, 1, |d| {
        d.put(ROOT, format!("block/{}/{sup_hex}", pairing.to_hex()), 1_i64)?;
        Ok(())
    })
    .unwrap();
    j.persist(store).unwrap();
    assert_eq!(part.blocked_members().len(), 1);
    let ids: Vec<String> = part
        .visible_messages(&pairing)
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(ids, vec![m]);
}

/// Review H3: a block hides a member in the space it was made in, and in no other.
#[test]
fn a_block_hides_a_member_in_that_space_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let other = w.fac.create_group("Kelompok lain").unwrap();
    for v in [&mut w.p1, &mut w.p2] {
        let r = w
            .fac
            .approve_group_member(&other, &v.link_request().unwrap(), Role::Member)
            .unwrap();
        v.join_space(&r).unwrap();
    }
    for v in [&mut w.p1, &mut w.p2] {
        assert_eq!(carry(&mut w.fac, v), 0);
    }
    for v in [&mut w.p1, &mut w.p2] {
        assert_eq!(carry(v, &mut w.fac), 0);
    }
    let here = note(&mut w.p2, &w.group, "di sini");
    let there = note(&mut w.p2, &other, "di sana");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    w.p1.block_member(&w.group, &w.p2.identity.device.to_hex())
        .unwrap();
    let ids = |v: &Vault, g: &SpaceId| -> Vec<String> {
        v.visible_group_notes(g)
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect()
    };
    assert!(!ids(&w.p1, &w.group).contains(&here));
    assert!(
        ids(&w.p1, &other).contains(&there),
        "the block holds in its own space only"
    );
}

/// Review H3: a facilitator or a pairing's supporter moderates and never blocks a member there; a
/// participant's messages in a pairing are never hidden on the supporter's devices, not even under
/// a block written around the check (another device, another release).
#[test]
fn a_supporter_never_blocks_their_participant_and_their_call_for_help_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, _other, _care, pairing) = paired(&dir);
    let g = sup.create_group("Kelompok").unwrap();
    let r = sup
        .approve_group_member(&g, &part.link_request().unwrap(), Role::Member)
        .unwrap();
    part.join_space(&r).unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    assert_eq!(carry(&mut part, &mut sup), 0);
    let part_hex = part.identity.device.to_hex();
    for space in [&g, &pairing] {
        assert!(
            matches!(
                sup.block_member(space, &part_hex),
                Err(Error::NotAllowed(_))
            ),
            "a facilitator or supporter moderates, never blocks"
        );
    }
    sup.journal().unwrap();
    let (store, j) = sup.parts().unwrap();
    crate::space::doc::write(&mut j.doc, 1, |d| {
        d.put(ROOT, format!("block/{part_hex}"), 1_i64)?;
        d.put(ROOT, format!("block/{}/{part_hex}", g.to_hex()), 1_i64)?;
        d.put(
            ROOT,
            format!("block/{}/{part_hex}", pairing.to_hex()),
            1_i64,
        )?;
        Ok(())
    })
    .unwrap();
    j.persist(store).unwrap();
    let m = message(&mut part, &pairing, "aku tidak aman");
    assert_eq!(carry(&mut part, &mut sup), 0);
    let seen: Vec<String> = sup
        .visible_messages(&pairing)
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert!(
        seen.contains(&m),
        "the participant's message reaches the supporter"
    );
}

/// [`world`] with a second coordinator in the first participant's care record, and the programme's
/// safeguarding space holding both coordinators and the facilitator.
pub(super) fn two_coordinators(dir: &tempfile::TempDir) -> (World, Vault, SpaceId) {
    let mut w = world(dir);
    let mut c2 = vault(dir, "c2", 21);
    let g = w
        .coord
        .grant_programme_role(
            &w.programme,
            &c2.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            90,
        )
        .unwrap();
    c2.add_programme_credential(&g.credential).unwrap();
    let r = w
        .coord
        .approve_group_member(&w.care, &c2.link_request().unwrap(), Role::Member)
        .unwrap();
    c2.join_space(&r).unwrap();
    let sg = w.coord.create_safeguarding_space(w.programme).unwrap();
    for v in [&mut w.fac, &mut c2] {
        let r = w
            .coord
            .approve_group_member(&sg, &v.link_request().unwrap(), Role::Member)
            .unwrap();
        v.join_space(&r).unwrap();
    }
    for _ in 0..2 {
        // What a relay sync does first: the second coordinator proves its person and publishes its
        // credential in the spaces it holds (once their content has come).
        c2.refresh_index().unwrap();
        assert_eq!(carry_to(&mut w.coord, &mut c2), 0);
        assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
        assert_eq!(carry_to(&mut c2, &mut w.coord), 0);
        assert_eq!(carry_to(&mut w.fac, &mut w.coord), 0);
        assert_eq!(carry_to(&mut c2, &mut w.fac), 0);
        assert_eq!(carry_to(&mut w.fac, &mut c2), 0);
        assert_eq!(carry(&mut w.coord, &mut w.p1), 0);
        assert_eq!(carry(&mut c2, &mut w.p1), 0);
        assert_eq!(carry(&mut w.p1, &mut c2), 0);
    }
    (w, c2, sg)
}

/// Review H1 and M1: two coordinator devices pass the same report on before either has the
/// other's copy; every device takes both (none holds back a coordinator's later writes), the
/// facilitator lists one copy, and its id is not the care record's report id (which would name
/// the reporter to a facilitator who also holds the reporter's care record).
#[test]
fn concurrent_pass_ons_are_taken_alike_and_the_copy_is_not_linkable_to_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, mut c2, sg) = two_coordinators(&dir);
    let n = note(&mut w.p2, &w.group, "kamu bodoh");
    assert_eq!(carry(&mut w.p2, &mut w.p1), 0);
    let rid = w.p1.report(&w.group, "note", &n, "harassment", "").unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    assert_eq!(carry(&mut w.p1, &mut c2), 0);
    let _ = w.coord.pass_on_reports().unwrap();
    let _ = c2.pass_on_reports().unwrap();
    let copies = |v: &Vault| -> usize {
        v.read_space(&sg, |d| {
            automerge::ReadDoc::keys(d, ROOT)
                .filter(|k| k.starts_with("report/"))
                .count()
        })
        .unwrap()
    };
    assert_eq!(
        (copies(&w.coord), copies(&c2)),
        (1, 1),
        "each wrote its own"
    );
    assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    assert_eq!(
        carry_to(&mut c2, &mut w.fac),
        0,
        "the second copy is taken too"
    );
    assert_eq!(carry_to(&mut c2, &mut w.coord), 0);
    assert_eq!(carry_to(&mut w.coord, &mut c2), 0);
    let got = w.fac.reports();
    assert_eq!(got.len(), 1, "the facilitator lists one copy");
    assert!(
        got[0].passed_on && got[0].id != rid,
        "the copy's id is its own"
    );
    let keys: Vec<String> = w
        .fac
        .read_space(&sg, |d| automerge::ReadDoc::keys(d, ROOT).collect())
        .unwrap();
    assert!(keys.iter().all(|k| !k.contains(&rid)), "{keys:?}");
    assert!(
        got[0].facilitators.is_empty(),
        "the copy names no facilitator list"
    );
    // Each coordinator still lists the report once, with its reporter.
    for v in [&w.coord, &c2] {
        let r = v.reports();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].id.as_str(), r[0].passed_on), (rid.as_str(), false));
    }
}

/// Review H2 (a): a coordinator who sits in a group as a plain member, and holds no care record of
/// the reporter's, is reported: the report goes to the other coordinators alone and is never passed
/// on, so no copy is ever sealed for the reported coordinator.
#[test]
fn a_report_about_a_coordinator_in_a_group_is_never_passed_on_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = world(&dir);
    let mut c3 = vault(&dir, "c3", 31);
    let g = w
        .coord
        .grant_programme_role(
            &w.programme,
            &c3.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            90,
        )
        .unwrap();
    c3.add_programme_credential(&g.credential).unwrap();
    let sg = w.coord.create_safeguarding_space(w.programme).unwrap();
    for v in [&mut w.fac, &mut c3] {
        let r = w
            .coord
            .approve_group_member(&sg, &v.link_request().unwrap(), Role::Member)
            .unwrap();
        v.join_space(&r).unwrap();
    }
    let r = w
        .fac
        .approve_group_member(&w.group, &c3.link_request().unwrap(), Role::Member)
        .unwrap();
    c3.join_space(&r).unwrap();
    for _ in 0..2 {
        c3.refresh_index().unwrap();
        for v in [&mut w.fac, &mut c3] {
            assert_eq!(carry_to(&mut w.coord, v), 0);
            assert_eq!(carry_to(v, &mut w.coord), 0);
        }
        assert_eq!(carry_to(&mut w.fac, &mut c3), 0);
        assert_eq!(carry_to(&mut c3, &mut w.fac), 0);
    }
    let n = note(&mut c3, &w.group, "catatan koordinator");
    assert_eq!(carry(&mut c3, &mut w.fac), 0);
    assert_eq!(carry(&mut w.fac, &mut w.p1), 0);
    w.p1.report(&w.group, "note", &n, "unsafe-advice", "")
        .unwrap();
    assert_eq!(carry(&mut w.p1, &mut w.coord), 0);
    let _ = w.coord.pass_on_reports().unwrap();
    assert_eq!(carry_to(&mut w.coord, &mut c3), 0);
    assert_eq!(carry_to(&mut w.coord, &mut w.fac), 0);
    let got = w.coord.reports();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].route, "coordinators", "about a coordinator");
    assert!(
        c3.reports().is_empty(),
        "nothing sealed for the reported coordinator"
    );
    assert!(w.fac.reports().is_empty(), "never passed on");
}

/// Review H2 (b) and M2: a report about someone who holds the reporter's care record (their
/// supporter, a coordinator) would show them its writer, so it is refused and nothing is written.
#[test]
fn a_report_about_someone_who_holds_the_care_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, _other, care, pairing) = paired(&dir);
    let m = message(&mut sup, &pairing, "pesan");
    assert_eq!(carry(&mut sup, &mut part), 0);
    let res = part.report(&pairing, "message", &m, "unsafe-advice", "");
    assert!(matches!(res, Err(Error::ReportSeenByReported)), "{res:?}");
    let sup_hex = sup.identity.device.to_hex();
    assert!(
        part.report(&pairing, "member", &sup_hex, "other", "")
            .is_err()
    );
    assert_eq!(carry(&mut part, &mut sup), 0);
    let any_report = sup
        .read_space(&care, |d| {
            automerge::ReadDoc::keys(d, ROOT).any(|k| k.starts_with("report/"))
        })
        .unwrap();
    assert!(
        !any_report,
        "the supporter sees no report in the care record"
    );
}
