//! Makes the v1 fixtures (`tests/fixtures/v1/`): four vaults and a relay database written by
//! today's code, and `expected.json`, the facts `tests/tests/fixtures.rs` reads back from them.
//!
//! They stand for data already in the field, so they are made ONCE, before the layout move, and
//! never again: after the move this program may not even build, and regenerating would only prove
//! that the new code reads what the new code writes. It refuses to write into a folder that
//! exists.
//!
//! ```text
//! cargo run -p sebaya-tests --bin sebaya-make-fixtures -- tests/fixtures/v1   # from the workspace root
//! ```
//!
//! The world (everything synced through one relay on loopback, master keys `[n; 32]`):
//! - `participant.db` (key 1): a person; a journal with an entry, one merged from concurrent edits
//!   on both of the person's devices, one whose concurrent edits conflict, one deleted; a safety
//!   plan item; a PHQ-9 whose item 9 referred them; enrolled in a care record (duty-of-care
//!   consent, the referral acknowledged by the coordinator); a member of the supporter's group; a
//!   pairing with the supporter, consent to share and one shared entry.
//! - `participant2.db` (key 2): a second device linked to the same person; it wrote one of the two
//!   edits and one safety plan item, and reaches the person's spaces through the index.
//! - `coordinator.db` (key 3): a person holding a programme's key; made the care record, recorded
//!   a guardian's consent, set the programme's crisis lines, acknowledged the referral, reviewed a
//!   case note.
//! - `supporter.db` (key 4): a person granted peer supporter in the programme; a group bound to the
//!   programme (a note, a session with attendance), the pairing (a message), case notes about the
//!   pairing shared with the coordinator.
//! - `relay.sqlite3`: the relay that carried all of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use sebaya_core::care::instruments::Instrument;
use sebaya_core::care::safety::Step;
use sebaya_core::space::SpaceKind;
use sebaya_core::{ProgrammeRole, ReqwestClient, Role, Vault, groups, pairing, pairing::casenotes};
use sebaya_tests::fixtures::{self, Devices, Spaces, VAULTS};

struct Relay {
    handle: sebaya_relay::RelayHandle,
    http: ReqwestClient,
}

impl Relay {
    fn sync(&self, v: &mut Vault) {
        v.sync_with(&self.http, &self.handle.url()).unwrap();
    }

    /// Syncs every vault, in order, `rounds` times: enough for vouches and answers to settle.
    fn settle(&self, vaults: &mut [&mut Vault], rounds: usize) {
        for _ in 0..rounds {
            for v in vaults.iter_mut() {
                self.sync(v);
            }
        }
    }
}

fn open(dir: &Path, name: &str) -> Vault {
    let key = VAULTS.iter().find(|(n, _)| *n == name).unwrap().1;
    Vault::open(&dir.join(name), &[key; 32]).unwrap()
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: sebaya-make-fixtures <new output folder>"),
    );
    assert!(
        !out.exists(),
        "{} exists: fixtures are made once and never regenerated (see its README.md)",
        out.display()
    );
    // The fixtures name the commit that made them: make them from a clean tree.
    let mut commit = git(&["rev-parse", "HEAD"]);
    if !git(&["status", "--porcelain"]).is_empty() {
        eprintln!("warning: uncommitted changes; these fixtures are for trying out only");
        commit.push_str("-dirty");
    }
    let work = tempfile::tempdir().unwrap();
    let vault_dir = work.path().join("vaults");
    let relay_dir = work.path().join("relay");
    std::fs::create_dir_all(&vault_dir).unwrap();

    let relay = Relay {
        handle: sebaya_relay::spawn(sebaya_relay::RelayConfig {
            data_dir: relay_dir.clone(),
            bind: "127.0.0.1:0".parse().unwrap(),
        })
        .unwrap(),
        http: ReqwestClient::new().unwrap(),
    };
    let relay_id = relay.handle.relay_id();

    let mut p1 = open(&vault_dir, "participant.db");
    let mut p2 = open(&vault_dir, "participant2.db");
    let mut co = open(&vault_dir, "coordinator.db");
    let mut su = open(&vault_dir, "supporter.db");
    p1.create_person().unwrap();
    co.create_person().unwrap();
    su.create_person().unwrap();

    // ---- the participant's journal, and a second device of theirs -------------------------------
    let kept = p1
        .journal_add("Hari ini cukup baik.", 4, &["sekolah".to_string()])
        .unwrap();
    let merged = p1.journal_add("Pagi: cemas.", 2, &[]).unwrap();
    let conflicted = p1.journal_add("Malam: tidur.", 3, &[]).unwrap();
    let deleted = p1.journal_add("Hapus aku.", 1, &[]).unwrap();
    p1.journal_delete(&deleted).unwrap();
    let plan1 = p1
        .safety_plan_add(Step::WarningSigns, "Susah tidur berhari-hari")
        .unwrap();
    let resp = p1.approve_link(&p2.link_request().unwrap()).unwrap();
    p2.complete_link(&resp).unwrap();
    assert_eq!(p2.person_id(), p1.person_id());
    relay.settle(&mut [&mut p1, &mut p2], 2);
    assert_eq!(p2.journal_list().len(), 3);
    // Offline on both: different parts of one entry (they merge), the same words of another (both
    // versions kept, one as a conflict).
    p1.journal_edit(&merged, Some("Pagi: cemas, lalu lega."), None, None)
        .unwrap();
    p2.journal_edit(&merged, Some("Hari ini. Pagi: cemas."), Some(3), None)
        .unwrap();
    p1.journal_edit(&conflicted, Some("Malam: nyenyak."), None, None)
        .unwrap();
    p2.journal_edit(&conflicted, Some("Malam: gelisah."), None, None)
        .unwrap();
    let plan2 = p2
        .safety_plan_add(Step::HelpPeople, "Telepon Kak Sari")
        .unwrap();
    relay.sync(&mut p2);
    relay.sync(&mut p1);
    relay.sync(&mut p2);
    let merged_text = "Hari ini. Pagi: cemas, lalu lega.";
    assert_eq!(p1.journal_get(&merged).unwrap().text, merged_text);
    assert_eq!(p1.journal_get(&conflicted).unwrap().conflicts.len(), 1);

    // ---- a programme, its supporter, a care record ------------------------------------------------
    let programme = co.create_programme("PIK-R SMA 1").unwrap();
    let grant = co
        .grant_programme_role(
            &programme,
            &su.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            sebaya_core::care::programmes::MAX_GRANT_DAYS,
        )
        .unwrap();
    su.add_programme_credential(&grant.credential).unwrap();
    let (care, resp) = co
        .enrol_participant(&p1.link_request().unwrap(), programme)
        .unwrap();
    assert_eq!(p1.join_space(&resp).unwrap(), (care, SpaceKind::Care));
    let resp = co
        .approve_group_member(&care, &su.link_request().unwrap(), Role::Member)
        .unwrap();
    assert_eq!(su.join_space(&resp).unwrap(), (care, SpaceKind::Care));
    co.record_guardian_consent(&care, "data-processing", "ibu", None, true)
        .unwrap();
    relay.settle(&mut [&mut co, &mut p1, &mut su], 1);
    // The programme's own crisis line, written into its care records (this one). Only once the
    // record has reached the relay: written in the same envelope as the record's binding to its
    // programme, it would be refused with everything in that envelope (today's code).
    let crisis = r#"[{"kind":"crisis-line","name":"Layanan Sekolah","number":"0211234567"}]"#;
    assert_eq!(
        co.set_crisis_resources(&programme, "id", crisis).unwrap(),
        1
    );
    let consent = p1.give_consent(&care, "duty-of-care", true).unwrap();
    relay.settle(&mut [&mut co, &mut p1, &mut su, &mut p2], 2);

    // A PHQ-9 with item 9 = 1 refers the participant; the coordinator acknowledges it.
    let esc = p1
        .submit_screening(Instrument::Phq9, &[1, 1, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap();
    assert_eq!(esc.referrals.len(), 1);
    let referral = esc.referrals[0].1.clone();
    relay.sync(&mut p1);
    relay.sync(&mut co);
    co.update_referral(&care, &referral, "acknowledged")
        .unwrap();
    relay.settle(&mut [&mut co, &mut p1, &mut su, &mut p2], 2);

    // ---- a group, a pairing, case notes ---------------------------------------------------------
    let group = su
        .create_group_in("Kelompok Kamis", Some(programme))
        .unwrap();
    let resp = su
        .approve_group_member(&group, &p1.link_request().unwrap(), Role::Member)
        .unwrap();
    assert_eq!(p1.join_group(&resp).unwrap(), group);
    let su_hex = su.device_id().to_hex();
    let p1_hex = p1.device_id().to_hex();
    let (note_id, session_id) = ("00000000000000a1", "00000000000000b1");
    let session_ms = 1_767_225_600_000i64; // 2026-01-01
    su.with_space(&group, |d, now| {
        groups::add_note(
            d,
            note_id,
            "Rencana",
            "Kita mulai dengan check-in.",
            &su_hex,
            now,
        )
    })
    .unwrap();
    su.with_space(&group, |d, now| {
        groups::add_session(d, session_id, session_ms, "Mengelola cemas", &su_hex, now)
    })
    .unwrap();
    su.with_space(&group, |d, now| {
        groups::set_attendance(d, session_id, &p1_hex, groups::Attendance::Present, now)
    })
    .unwrap();

    let (pair, resp) = su
        .create_pairing_outside_programme_for_tests(&p1.link_request().unwrap())
        .unwrap();
    assert_eq!(p1.join_space(&resp).unwrap(), (pair, SpaceKind::Pairing));
    let message_id = "00000000000000c1";
    su.with_space(&pair, |d, now| {
        pairing::send_message(d, message_id, "Aku di sini.", &su_hex, now)
    })
    .unwrap();

    let (notes, resp) = su
        .create_case_notes(
            "pairing-7f3a",
            &co.link_request().unwrap(),
            &co.certification_presentation(&programme).unwrap(),
            &programme,
        )
        .unwrap();
    assert_eq!(co.join_space(&resp).unwrap(), (notes, SpaceKind::CaseNotes));
    let (case_note_id, review_id) = ("00000000000000f1", "00000000000000f2");
    su.with_space(&notes, |d, now| {
        casenotes::add_note(d, case_note_id, "Rujukan dibahas.", &su_hex, now)
    })
    .unwrap();
    relay.settle(&mut [&mut su, &mut p1, &mut co, &mut p2], 2);
    p1.consent_to_sharing(&pair, true).unwrap();
    let shared = p1.share_journal_entry(&pair, &kept).unwrap();
    let co_hex = co.device_id().to_hex();
    co.with_space(&notes, |d, now| {
        casenotes::add_review(d, review_id, case_note_id, "Baik.", &co_hex, now)
    })
    .unwrap();
    relay.settle(&mut [&mut p1, &mut co, &mut su, &mut p2], 3);

    // ---- the facts, read back, the same on every device that should see them ---------------------
    let spaces = Spaces {
        care,
        group,
        pairing: pair,
        case_notes: notes,
    };
    let mut devices = Devices {
        participant: p1,
        participant2: p2,
        coordinator: co,
        supporter: su,
    };
    let facts = fixtures::facts(&mut devices, &spaces);
    let by = |section: &str, who: &str| &facts[section][who];
    assert_eq!(
        by("journal", "participant"),
        by("journal", "participant2"),
        "both devices of the participant read the same journal"
    );
    assert_eq!(
        by("safety_plan", "participant"),
        by("safety_plan", "participant2")
    );
    assert_eq!(
        by("safety_plan", "participant").as_array().unwrap().len(),
        2
    );
    for id in [&plan1, &plan2] {
        assert!(
            by("safety_plan", "participant")
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id.as_str())
        );
    }
    for who in ["participant", "participant2", "coordinator", "supporter"] {
        let c = by("care", who);
        assert_eq!(c["duty_of_care"], true, "{who}");
        assert_eq!(c["referrals"][0]["id"], referral.as_str(), "{who}");
        assert_eq!(c["referrals"][0]["state"], "acknowledged", "{who}");
    }
    assert_eq!(
        by("care", "supporter")["referrals"][0]["reason"],
        Value::Null
    );
    assert_eq!(
        by("care", "coordinator")["referrals"][0]["reason"],
        "phq9-item9"
    );
    assert!(
        by("care", "coordinator")["consents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == consent.as_str())
    );
    for who in ["participant", "participant2", "supporter"] {
        assert_eq!(by("group", who)["notes"][0]["id"], note_id, "{who}");
    }
    assert_eq!(
        by("pairing", "supporter")["shared"][0]["id"],
        shared.as_str()
    );
    assert_eq!(by("pairing", "supporter")["messages"][0]["id"], message_id);
    assert_eq!(
        by("case_notes", "coordinator")["reviews"][0]["id"],
        review_id
    );
    assert_eq!(
        by("crisis_resources_id", "participant")[0]["name"],
        "Layanan Sekolah"
    );
    assert_eq!(by("case_notes", "participant"), &Value::Null);
    assert_eq!(by("case_notes", "participant2"), &Value::Null);
    let viewers: serde_json::Map<String, Value> = [
        ("participant", &devices.participant),
        ("participant2", &devices.participant2),
        ("coordinator", &devices.coordinator),
        ("supporter", &devices.supporter),
    ]
    .into_iter()
    .map(|(who, v)| (who.to_string(), json!(v.care_records()[0].viewer)))
    .collect();

    let expected = json!({
        "made_by_commit": commit,
        "vault_schema_version": sebaya_core::store::schema::END_VERSION,
        "relay_schema_version": sebaya_relay::END_VERSION,
        "relay_id": hex::encode(relay_id.0),
        "master_keys": VAULTS.iter().map(|(n, k)| (n.to_string(), json!(k)))
            .collect::<serde_json::Map<_, _>>(),
        "spaces": spaces.to_json(),
        "ids": {
            "programme": hex::encode(programme),
            "supporter_grant": hex::encode(grant.id),
            "kept_entry": kept,
            "merged_entry": merged,
            "conflicted_entry": conflicted,
            "deleted_entry": deleted,
            "safety_plan_items": [plan1, plan2],
            "duty_of_care_consent": consent,
            "referral": referral,
            "group_note": note_id,
            "group_session": session_id,
            "pairing_message": message_id,
            "shared_item": shared,
            "case_note": case_note_id,
            "case_review": review_id,
        },
        "merged_text": merged_text,
        "care_viewers_while_the_grants_last": viewers,
        "facts": facts,
    });

    // ---- close everything, fold the write-ahead logs in, copy ------------------------------------
    drop(devices);
    relay.handle.shutdown();
    std::fs::create_dir_all(&out).unwrap();
    let mut files: Vec<(PathBuf, &str)> = VAULTS
        .iter()
        .map(|(n, _)| (vault_dir.join(n), *n))
        .collect();
    files.push((
        relay_dir.join(sebaya_relay::DB_FILE_NAME),
        sebaya_relay::DB_FILE_NAME,
    ));
    for (from, name) in files {
        checkpoint(&from);
        std::fs::copy(&from, out.join(name)).unwrap();
    }
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected).unwrap() + "\n",
    )
    .unwrap();
    println!("fixtures written to {} by {commit}", out.display());
}

/// Folds any write-ahead log into the database file and checks it, so the file alone is complete.
fn checkpoint(db: &Path) {
    {
        let conn = rusqlite::Connection::open(db).unwrap();
        let (busy, _, _): (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(busy, 0, "{} is still in use", db.display());
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "{}", db.display());
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        assert!(
            !side.exists() || std::fs::metadata(&side).unwrap().len() == 0,
            "{} left behind",
            side.display()
        );
    }
}

fn git(args: &[&str]) -> String {
    let out = Command::new("git").args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
