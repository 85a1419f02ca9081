//! `sebaya`: a desktop device for coordinators and field laptops, and `sebaya demo`, which walks the
//! whole path once and checks every step.
//!
//! `sebaya demo` starts a relay on a free loopback port with a temporary data directory, makes two
//! devices of one person (a phone and a tablet), writes entries on the phone while offline, syncs both,
//! prints the tablet's journal, edits one entry on both devices and shows the merge, then scans every
//! file the relay and the vaults wrote for what was written in plain text. It exits 0 only if every
//! check passed.

mod nearby;
mod reminders;
mod report_demo;

use std::path::PathBuf;
use std::process::ExitCode;

use sebaya_core::store::audit;
use sebaya_core::{Vault, crypto};

const USAGE: &str = "usage: sebaya demo [group|referral|bundle|nearby] [--keep DIR]
  demo           the journal: a relay and two devices of one person, every step checked
  demo group     a support group of three people where a member writes and then leaves, and a task reminder, every step
                 checked
  demo referral  a risk answer given offline travels to two coordinators on call; the first is away,
                 the deadline passes, the participant sees the crisis lines again, the second
                 coordinator acknowledges
  demo bundle    no relay at all: two phones keep a journal and a pairing in step by carried files
  demo nearby    no relay at all: two phones keep a pairing in step face to face over TCP (Noise XX)
       sebaya nearby …   sync with a device on the same Wi-Fi or hotspot (`sebaya nearby` for help)
       sebaya reminders …  add and list a device's reminders (`sebaya reminders` for help)";

#[derive(Default)]
struct Checks {
    failed: u32,
    passed: u32,
}

impl Checks {
    fn check(&mut self, ok: bool, what: &str) {
        if ok {
            self.passed += 1;
            println!("  ok    {what}");
        } else {
            self.failed += 1;
            println!("  FAIL  {what}");
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => {
            let keep = args
                .iter()
                .position(|a| a == "--keep")
                .and_then(|i| args.get(i + 1))
                .map(PathBuf::from);
            let run = match args.get(1).map(String::as_str) {
                Some("group") => demo_group(),
                Some("referral") => demo_referral(),
                Some("bundle") => demo_bundle(),
                Some("report") => report_demo::demo(),
                Some("nearby") => nearby::demo(),
                _ => demo(keep),
            };
            match run {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("demo stopped: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some("nearby") => nearby::command(&args[1..]),
        Some("reminders") => reminders::command(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// A relay on a free loopback port, keeping its data in `data_dir`.
fn loopback_relay(
    data_dir: PathBuf,
) -> Result<sebaya_relay::RelayHandle, Box<dyn std::error::Error>> {
    Ok(sebaya_relay::spawn(sebaya_relay::RelayConfig {
        data_dir,
        bind: "127.0.0.1:0".parse()?,
    })?)
}

/// A person's phone in a demo: a new vault under `dir` with a random key and its own person.
fn demo_person(dir: &std::path::Path, name: &str) -> Result<Vault, Box<dyn std::error::Error>> {
    let mut v = Vault::open(&dir.join(name), crypto::random_key()?.as_ref())?;
    v.create_person()?;
    Ok(v)
}

fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

fn demo(keep: Option<PathBuf>) -> Result<bool, Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&root)?;
    let relay_dir = root.join("relay");
    let mut c = Checks::default();

    println!("1. Starting a relay on loopback");
    let relay = loopback_relay(relay_dir.clone())?;
    let url = relay.url();
    println!("   relay at {url}, data in {}", relay_dir.display());

    println!("2. Two devices of one person: a phone and a tablet");
    let phone_key = crypto::random_key()?;
    let tablet_key = crypto::random_key()?;
    let phone_path = root.join("phone.sebaya");
    let tablet_path = root.join("tablet.sebaya");
    let mut phone = Vault::open(&phone_path, phone_key.as_ref())?;
    let mut tablet = Vault::open(&tablet_path, tablet_key.as_ref())?;
    println!("   phone  device {}", &phone.device_id().to_hex()[..16]);
    println!("   tablet device {}", &tablet.device_id().to_hex()[..16]);
    let request = tablet.link_request()?;
    println!(
        "   tablet shows a link request: {} characters",
        request.len()
    );
    let response = phone.approve_link(&request)?;
    println!(
        "   phone adds the tablet to the journal's membership and answers: {} characters (the journal key inside is wrapped for the tablet alone)",
        response.len()
    );
    tablet.complete_link(&response)?;
    c.check(
        phone.journal_space() == tablet.journal_space(),
        "tablet linked to the phone's journal",
    );
    c.check(
        phone.device_id() != tablet.device_id(),
        "tablet has its own device key",
    );

    println!("3. Writing on the phone while offline");
    let markers = [
        "MARKER-kesepian-malam-ini-7f3a",
        "MARKER-talked-with-my-sister-91c2",
        "MARKER-ujian-besok-takut-5d0e",
    ];
    let first = phone.journal_add(
        &format!("Hari ini berat. {} Aku menulis agar lega.", markers[0]),
        2,
        &tags(&["sekolah"]),
    )?;
    phone.journal_add(
        &format!("Evening walk. {} Felt calmer.", markers[1]),
        4,
        &tags(&["family"]),
    )?;
    phone.journal_add(
        &format!("{} Tapi aku sudah belajar.", markers[2]),
        3,
        &tags(&["exam", "sleep"]),
    )?;
    c.check(
        phone.journal_list().len() == 3,
        "three entries kept on the phone",
    );

    println!("4. Syncing phone, then tablet, through the relay");
    let r = phone.sync(&url)?;
    println!(
        "   phone : pushed {} envelope(s), {} B up, {} B down",
        r.pushed, r.bytes_sent, r.bytes_received
    );
    let r = tablet.sync(&url)?;
    println!(
        "   tablet: pulled {} envelope(s), applied {}",
        r.pulled, r.applied
    );
    println!("   the tablet's journal:");
    for e in tablet.journal_list() {
        println!(
            "     [{}] mood {} tags {:?}: {}",
            e.id, e.mood, e.tags, e.text
        );
    }
    c.check(
        tablet.journal_list() == phone.journal_list(),
        "tablet shows exactly the phone's entries",
    );

    println!("5. Editing the same entry on both devices, offline, then syncing");
    let base = phone
        .journal_get(&first)
        .map(|e| e.text)
        .unwrap_or_default();
    phone.journal_edit(&first, Some(&format!("Pagi: {base}")), None, None)?;
    tablet.journal_edit(
        &first,
        Some(&format!("{base} Malamnya aku tidur nyenyak.")),
        Some(3),
        None,
    )?;
    phone.sync(&url)?;
    tablet.sync(&url)?;
    phone.sync(&url)?;
    let on_phone = phone.journal_get(&first);
    let on_tablet = tablet.journal_get(&first);
    if let Some(e) = &on_phone {
        println!("   merged on the phone : {} (mood {})", e.text, e.mood);
    }
    if let Some(e) = &on_tablet {
        println!("   merged on the tablet: {} (mood {})", e.text, e.mood);
    }
    c.check(
        on_phone.is_some() && on_phone == on_tablet,
        "both devices converge to the same entry",
    );
    c.check(
        on_phone.as_ref().is_some_and(|e| {
            e.text.starts_with("Pagi: ") && e.text.ends_with("Malamnya aku tidur nyenyak.")
        }),
        "both edits survive the merge",
    );

    println!("6. The tablet is lost: the phone removes it and rotates the journal key");
    let tablet_id = tablet.device_id();
    let rot = phone.remove_device(&tablet_id)?;
    println!(
        "   new epoch key wrapped for {} remaining device(s) ({} B of key wraps)",
        rot.wrapped, rot.bytes
    );
    let secret_after = phone.journal_add(
        &format!("Setelah tablet hilang. {}", markers[1]),
        3,
        &tags(&["aman"]),
    )?;
    phone.sync(&url)?;
    let lost = tablet.sync(&url);
    match &lost {
        Ok(r) => println!(
            "   the lost tablet synced: pulled {} envelope(s), refused for {} space(s)",
            r.pulled, r.refused_spaces
        ),
        Err(e) => println!("   the lost tablet's sync was refused: {e}"),
    }
    c.check(
        tablet.journal_get(&secret_after).is_none(),
        "the removed tablet cannot read what is written after its removal",
    );
    c.check(
        !phone
            .journal_membership()
            .is_some_and(|m| m.is_member(&tablet_id)),
        "the tablet is no longer a member",
    );

    println!("7. Looking for plain text in every file the relay and the vaults wrote");
    drop(phone);
    drop(tablet);
    relay.shutdown();
    let mut files = audit::files_under(&relay_dir);
    for p in [&phone_path, &tablet_path] {
        files.extend(audit::sqlite_files(p));
    }
    println!("   scanning {} files", files.len());
    let extra = ["Malamnya aku tidur nyenyak", "sekolah", "Evening walk"];
    let all_markers: Vec<&str> = markers.iter().chain(extra.iter()).copied().collect();
    let found = audit::scan_files_for_markers(&files, &all_markers);
    for f in &found {
        println!("   found {} in {}", f.what, f.file.display());
    }
    c.check(found.is_empty(), "no written text in any file");
    let mut blobs = Vec::new();
    for db in [
        relay_dir.join("relay.sqlite3"),
        phone_path.clone(),
        tablet_path.clone(),
    ] {
        blobs.extend(audit::scan_database_blobs(&db)?);
    }
    for f in &blobs {
        println!("   found {} in {}", f.what, f.file.display());
    }
    c.check(
        blobs.is_empty(),
        "no stored value holds unencrypted Automerge data",
    );

    println!();
    println!("{} passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}

/// `sebaya demo group`: a facilitator, a co-supporter and a participant meet through a relay on
/// loopback; a note edited by two supporters at once merges; attendance recorded offline appears on
/// every phone; the participant leaves and the group key rotates.
fn demo_group() -> Result<bool, Box<dyn std::error::Error>> {
    use sebaya_core::Role;
    use sebaya_core::groups::{self, Attendance};
    let tmp = tempfile::tempdir()?;
    let mut c = Checks::default();
    println!("1. Starting a relay on loopback");
    let relay = loopback_relay(tmp.path().join("relay"))?;
    let url = relay.url();
    let open = |name: &str| -> Result<Vault, Box<dyn std::error::Error>> {
        Ok(Vault::open(
            &tmp.path().join(name),
            crypto::random_key()?.as_ref(),
        )?)
    };
    let mut fac = open("facilitator.sebaya")?;
    let mut sup = open("supporter.sebaya")?;
    let mut par = open("participant.sebaya")?;

    println!("2. The facilitator starts a group and adds two people in person");
    let g = fac.create_group("Kelompok Dukungan Sebaya — Kamis")?;
    sup.join_group(&fac.approve_group_member(&g, &sup.link_request()?, Role::Admin)?)?;
    par.join_group(&fac.approve_group_member(&g, &par.link_request()?, Role::Member)?)?;
    for v in [&mut fac, &mut sup, &mut par] {
        v.sync(&url)?;
    }
    c.check(
        par.groups().first().map(|g| g.name.as_str()) == Some("Kelompok Dukungan Sebaya — Kamis"),
        "the participant sees the group",
    );

    println!("3. Two supporters edit the session plan at the same time, offline");
    let me = fac.device_id().to_hex();
    let note = "00000000000000a1";
    fac.with_space(&g, |d, now| {
        groups::add_note(d, note, "Rencana", "Check-in bersama.", &me, now)
    })?;
    fac.sync(&url)?;
    sup.sync(&url)?;
    fac.with_space(&g, |d, now| {
        groups::edit_note(d, note, None, Some("Pembukaan. Check-in bersama."), now)
    })?;
    sup.with_space(&g, |d, now| {
        groups::edit_note(d, note, None, Some("Check-in bersama. Latihan napas."), now)
    })?;
    let session = "00000000000000b1";
    let p_hex = par.device_id().to_hex();
    fac.with_space(&g, |d, now| {
        groups::add_session(d, session, now, "Mengelola cemas", &me, now)
    })?;
    fac.with_space(&g, |d, now| {
        groups::set_attendance(d, session, &p_hex, Attendance::Present, now)
    })?;
    fac.sync(&url)?;
    sup.sync(&url)?;
    fac.sync(&url)?;
    par.sync(&url)?;
    let merged = "Pembukaan. Check-in bersama. Latihan napas.";
    for (who, v) in [
        ("facilitator", &fac),
        ("supporter", &sup),
        ("participant", &par),
    ] {
        let text = v.read_space(&g, |d| groups::note(d, note))?.map(|n| n.text);
        println!("   {who:<11}: {}", text.clone().unwrap_or_default());
        c.check(
            text.as_deref() == Some(merged),
            &format!("the {who} sees both edits merged"),
        );
    }
    let counts = par.read_space(&g, |d| groups::attendance_counts(d, session))?;
    c.check(
        counts.is_some_and(|a| a.present == 1),
        "attendance recorded offline reached the participant",
    );

    println!("4. The participant writes a note, then leaves the group on their own word");
    let parting = "00000000000000a3";
    par.with_space(&g, |d, now| {
        groups::add_note(d, parting, "", "Terima kasih semuanya.", &p_hex, now)
    })?;
    par.leave_group(&g)?;
    par.sync(&url)?;
    // The facilitator's device learns of the leave and rotates the group key at its next sync.
    fac.sync(&url)?;
    fac.sync(&url)?;
    fac.with_space(&g, |d, now| {
        groups::add_note(
            d,
            "00000000000000a2",
            "",
            "Setelah perubahan anggota.",
            &me,
            now,
        )
    })?;
    fac.sync(&url)?;
    sup.sync(&url)?;
    c.check(
        fac.is_former_member(&g, &par.device_id())?,
        "the facilitator's device shows the participant as a former member",
    );
    c.check(
        sup.read_space(&g, |d| groups::note(d, parting))?.is_some(),
        "the note written before leaving stays, from a former member",
    );
    let refused = par.sync(&url)?.refused_spaces;
    c.check(
        refused == 1,
        "the relay no longer serves the group to the participant",
    );
    c.check(
        par.read_space(&g, |d| groups::note(d, "00000000000000a2"))?
            .is_none(),
        "the participant cannot read what is written after leaving",
    );
    c.check(
        sup.read_space(&g, |d| groups::note(d, "00000000000000a2"))?
            .is_some(),
        "the co-supporter reads it under the new key",
    );

    println!("5. The facilitator sets a task for everyone, noticed 30 minutes before");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let now = i64::try_from(now)?;
    let task = sebaya_core::reminders::NewReminder {
        kind: sebaya_core::reminders::ReminderKind::Task,
        for_whom: sebaya_core::reminders::ReminderFor::Everyone,
        text: "Latihan napas 5 menit sebelum tidur".into(),
        schedule: sebaya_core::reminders::Schedule::Once {
            at_secs: now + 2 * 3600,
            offset_minutes: 7 * 60,
        },
        lead_minutes: 30,
    };
    let id = fac.add_reminder(&g, &task)?;
    fac.sync(&url)?;
    sup.sync(&url)?;
    print!("{}", reminders::list(&sup, now, 7 * 60, "id")?);
    let due = sup.reminders_due(now, 7 * 60)?;
    c.check(
        due.upcoming
            .iter()
            .any(|n| n.reminder == id && n.notify_at_secs == now + 2 * 3600 - 1800),
        "the co-supporter's phone would notify 30 minutes before",
    );
    c.check(
        due.upcoming.iter().all(|n| !n.key.contains("Latihan")),
        "the notice says nothing of the task",
    );
    relay.shutdown();
    println!();
    println!("{} passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}

/// The crisis resources as the app lists them, in Indonesian.
fn print_resources(list: &[sebaya_core::care::CrisisResource]) {
    use sebaya_core::i18n::message;
    for r in list {
        let kind = message("id", &format!("crisis-kind-{}", r.kind), &[]);
        let how = message("id", &format!("crisis-channel-{}", r.channel), &[]);
        let reach = match (&r.url, &r.extension) {
            (Some(url), _) => url.clone(),
            (None, Some(ext)) => format!("{} (ext. {ext})", r.number),
            (None, None) => r.number.clone(),
        };
        let note = match r.partial_coverage {
            true => format!(" ({})", message("id", "crisis-partial-coverage", &[])),
            false => String::new(),
        };
        println!("     {kind}, {}: {how} {reach}{note}", r.name);
    }
}

/// A referral travelling from a participant to a coordinator and the acknowledgement coming back,
/// through a relay on loopback, with what each person sees at each step (in Indonesian, as the app
/// would show it); the first coordinator is away, the deadline passes, the participant sees the
/// crisis lines again and the second coordinator acknowledges.
fn demo_referral() -> Result<bool, Box<dyn std::error::Error>> {
    use sebaya_core::care::CareNotice;
    use sebaya_core::care::instruments::Instrument;
    use sebaya_core::i18n::message;
    use sebaya_core::{ProgrammeRole, Role};
    let tmp = tempfile::tempdir()?;
    let mut c = Checks::default();
    println!("1. Starting a relay on loopback");
    let relay = loopback_relay(tmp.path().join("relay"))?;
    let url = relay.url();
    let open = |name: &str| demo_person(tmp.path(), name);
    let mut coord = open("coordinator.sebaya")?;
    let mut coord2 = open("coordinator2.sebaya")?;
    let mut sup = open("supporter.sebaya")?;
    let mut par = open("participant.sebaya")?;

    println!(
        "2. A coordinator makes a programme, certifies a peer supporter and a second coordinator, \
         enrols a participant, and sets a 4-hour acknowledgement deadline"
    );
    let programme = coord.create_programme("PIK-R SMA Harapan")?;
    let grant = coord.grant_programme_role(
        &programme,
        &sup.person_id().ok_or("no person")?,
        ProgrammeRole::PeerSupporter,
        365,
    )?;
    sup.add_programme_credential(&grant.credential)?;
    let grant2 = coord.grant_programme_role(
        &programme,
        &coord2.person_id().ok_or("no person")?,
        ProgrammeRole::Coordinator,
        365,
    )?;
    coord2.add_programme_credential(&grant2.credential)?;
    let (care, resp) = coord.enrol_participant(&par.link_request()?, programme)?;
    par.join_space(&resp)?;
    sup.join_space(&coord.approve_group_member(&care, &sup.link_request()?, Role::Member)?)?;
    coord2.join_space(&coord.approve_group_member(
        &care,
        &coord2.link_request()?,
        Role::Member,
    )?)?;
    coord.set_ack_deadline(&programme, 4)?;
    coord.set_on_call(
        &programme,
        &[
            coord.person_id().ok_or("no person")?,
            coord2.person_id().ok_or("no person")?,
        ],
    )?;
    for _ in 0..2 {
        for v in [&mut coord, &mut coord2, &mut par, &mut sup] {
            v.sync(&url)?;
        }
    }
    c.check(
        par.care_records().first().map(|r| r.coordinators) == Some(2),
        "two coordinators are on call for the participant's record",
    );
    c.check(
        sup.on_call_status(&care)?.state == sebaya_core::care::OnCallState::Ready,
        "the programme named both as on call, and the record reaches them",
    );
    println!(
        "   The participant reads: {}",
        message("id", "consent-duty-of-care-title", &[])
    );
    par.give_consent(&care, "duty-of-care", true)?;
    par.sync(&url)?;
    c.check(
        par.has_consent(&care, "duty-of-care")?,
        "the participant agreed to the duty-of-care rule at onboarding",
    );

    println!("3. Offline, the participant answers the PHQ-9; item 9 is 'several days' (1)");
    let esc = par.submit_screening(Instrument::Phq9, &[1, 1, 0, 1, 0, 0, 1, 0, 1], "ID")?;
    c.check(
        esc.rules == ["phq9-item9"],
        "the risk rule fired on the device, whatever the total",
    );
    c.check(esc.show_safety_plan, "the app opens the safety plan");
    for n in &esc.notices {
        println!("   {}", message("id", n.message_id(), &[]));
    }
    print_resources(&esc.resources);
    c.check(
        esc.resources
            .iter()
            .any(|r| r.number == "119" && r.extension.as_deref() == Some("8")),
        "the crisis numbers for Indonesia are shown offline (119 ext 8, 112)",
    );
    let state = |v: &mut Vault| -> Result<String, Box<dyn std::error::Error>> {
        Ok(v.referrals(&care)?
            .first()
            .map(|r| r.state.to_string())
            .unwrap_or_default())
    };
    c.check(
        state(&mut par)? == "queued",
        "the referral is queued on the phone",
    );

    println!("4. The phone finds a signal and syncs");
    par.sync(&url)?;
    c.check(
        state(&mut par)? == "sent",
        "the relay holds the referral (sent)",
    );

    println!("5. The supporter and the coordinator sync");
    sup.sync(&url)?;
    let seen = sup.referrals(&care)?;
    println!(
        "   The supporter sees: {}",
        message("id", "referral-refer-now", &[])
    );
    c.check(
        seen.len() == 1 && seen[0].reason.is_none(),
        "the supporter sees 'refer now', never the rule, a score or a band",
    );
    coord.sync(&url)?;
    let inbox = coord.referral_inbox()?;
    let Some(first) = inbox.first() else {
        c.check(false, "the referral reached the coordinator");
        return Ok(false);
    };
    println!(
        "   The coordinator sees: {}",
        message(
            "id",
            &format!(
                "referral-{}",
                first.reason.as_deref().unwrap_or("refer-now")
            ),
            &[]
        )
    );
    c.check(
        first.reason.as_deref() == Some("phq9-item9"),
        "the referral reached the coordinator, carrying the rule, not the answers",
    );
    c.check(
        coord.screenings().is_empty(),
        "the coordinator holds no score and no answer",
    );

    let referral = first.id.clone();
    println!(
        "6. The first coordinator is called away before acknowledging; five hours pass (the deadline is 4)"
    );
    let later = first.created_ms + 5 * 3_600_000;
    let mine = par.referrals_at(&care, later)?;
    let overdue = mine.iter().find(|r| r.id == referral);
    c.check(
        overdue.is_some_and(|r| r.overdue && r.notice() == CareNotice::Overdue),
        "past the deadline the participant's phone shows the referral overdue",
    );
    println!(
        "   The participant reads: {}",
        message("id", CareNotice::Overdue.message_id(), &[])
    );
    print_resources(&par.crisis_resources("id")?);
    let theirs = sup.referrals_at(&care, later)?;
    c.check(
        theirs
            .iter()
            .any(|r| r.id == referral && r.notice() == CareNotice::OverdueCallCoordinator),
        "the supporter is told to phone the coordinator",
    );
    println!(
        "   The supporter reads: {}",
        message("id", CareNotice::OverdueCallCoordinator.message_id(), &[])
    );
    coord2.sync(&url)?;
    let case = coord2.caseload_at(later)?;
    c.check(
        case.first().is_some_and(|r| r.id == referral && r.overdue),
        "the second coordinator's caseload lists the overdue referral first",
    );

    println!("7. The second coordinator acknowledges; the phones sync");
    coord2.update_referral(&care, &referral, "acknowledged")?;
    coord2.sync(&url)?;
    par.sync(&url)?;
    sup.sync(&url)?;
    let back = par.referrals(&care)?;
    c.check(
        back.first().is_some_and(|r| r.told()),
        "the participant's phone shows that a coordinator has been told",
    );
    println!(
        "   The participant reads: {}",
        message("id", "care-told", &[])
    );
    if let Some(ms) = back.first().and_then(|r| r.time_to_acknowledge_ms()) {
        println!("   time to acknowledgement: {ms} ms");
    }
    c.check(
        sup.referrals(&care)?
            .first()
            .is_some_and(|r| r.state == "acknowledged"),
        "the supporter sees it acknowledged",
    );
    println!("{} checks passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}

/// A programme in which `v`'s person may open pairings: made on `v` (its person coordinates it),
/// with every module one-to-one work needs certified by the programme key. In a real programme a
/// coordinator's device does this; the demos keep it on the supporter's phone to stay short.
pub(crate) fn trained_programme(v: &mut Vault) -> Result<[u8; 32], Box<dyn std::error::Error>> {
    let programme = v.create_programme("Program demo")?;
    let me = v.person_id().ok_or(sebaya_core::Error::NoPerson)?;
    let completed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        .saturating_sub(86_400);
    for m in sebaya_core::care::training::required_training() {
        let credential = v.certify_training(&programme, &me, m, completed, 365)?;
        v.add_training_record(&credential)?;
    }
    Ok(programme)
}

/// Sync with the relay switched off: files carried between phones (an SD card, a message attachment),
/// every step checked.
fn demo_bundle() -> Result<bool, Box<dyn std::error::Error>> {
    use sebaya_core::pairing;
    let tmp = tempfile::tempdir()?;
    let mut c = Checks::default();
    let open = |name: &str| demo_person(tmp.path(), name);
    println!("1. No relay anywhere. A supporter meets a participant and opens a pairing in person");
    let mut supporter = open("supporter.sebaya")?;
    let mut participant = open("participant.sebaya")?;
    // A pairing opens only under a programme whose one-to-one training the supporter holds.
    let programme = trained_programme(&mut supporter)?;
    let (pair, resp) = supporter.create_pairing(&participant.link_request()?, &programme)?;
    participant.join_space(&resp)?;

    println!("2. The supporter's phone writes a file; it reaches the participant on an SD card");
    let file = tmp.path().join("to-participant.sbyb");
    std::fs::write(&file, supporter.export_bundle(&[pair], None)?)?;
    let r = participant.import_bundle(&std::fs::read(&file)?)?;
    println!(
        "   {} bytes, {} envelopes stored, {} applied",
        std::fs::metadata(&file)?.len(),
        r.stored,
        r.applied
    );
    c.check(
        participant.read_space(&pair, pairing::supporter)?.is_some(),
        "the participant's phone holds the pairing, with no network",
    );

    println!("3. Days later, offline, the participant checks in; the file goes back by hand");
    let me = participant.device_id().to_hex();
    participant.with_space(&pair, |d, now| {
        pairing::add_checkin(
            d,
            "00000000000000a1",
            4,
            "Lebih tenang minggu ini.",
            &me,
            now,
        )
    })?;
    let back = participant.export_bundle(&[pair], Some(&supporter.device_id()))?;
    let full = participant.export_bundle(&[pair], None)?;
    println!(
        "   {} bytes (everything would be {} bytes: only what the supporter lacks travels)",
        back.len(),
        full.len()
    );
    c.check(
        back.len() < full.len(),
        "the reply carries only what is missing",
    );
    let mut damaged = back.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 1;
    c.check(
        matches!(
            supporter.import_bundle(&damaged),
            Err(sebaya_core::Error::BadBundle(_))
        ),
        "a damaged copy is refused whole",
    );
    supporter.import_bundle(&back)?;
    let seen = supporter.read_space(&pair, pairing::checkins)?;
    c.check(
        seen.len() == 1 && seen[0].note == "Lebih tenang minggu ini.",
        "the supporter reads the check-in",
    );
    c.check(
        matches!(
            supporter.import_bundle(&back),
            Err(sebaya_core::Error::BundleReplayed)
        ),
        "the same file twice is refused as a replay",
    );
    c.check(
        !back
            .windows(b"Lebih tenang".len())
            .any(|w| w == b"Lebih tenang"),
        "the file that carried the check-in holds ciphertext only",
    );
    println!("{} checks passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}
