//! One-to-one accompaniment (pendampingan individu): the shared space of a participant and their peer
//! supporter, as a typed view over one Automerge document (one pairing space).
//!
//! Shape (version 1). The root map holds:
//! - `"participant"`: str, the participant's device id (64 lowercase hex characters).
//! - `"supporter"`: str, the peer supporter's device id (64 lowercase hex characters).
//! - `"checkins"`: map id -> `{ mood: int 1–5, note: Text, by: str (device id hex), at: int ms }`.
//! - `"goals"`: map id -> `{ text: str, progress: int 0–100, created: int ms, updated: int ms,
//!   done: bool }`.
//! - `"messages"`: map id -> `{ text: Text, by: str (device id hex), at: int ms }`.
//! - `"consents"` (shape version 2): the participant's consent records for sharing, as in a care
//!   record (`care.rs`), purpose `share-with-supporter` only; written only by the participant's
//!   devices (`rules.rs`, `Need::Subject`).
//! - `"shared"` (shape version 2): map id -> `{ kind: str, text: str, mood: int (0 when none), source:
//!   str, consent: str (the consent record's id), by, at }`: what the participant chose to share
//!   (a journal entry, a check-in summary, the safety plan), written only by the participant's
//!   devices, and shown only while their consent stands. Pairings made before version 2 lack both
//!   containers: sharing there is `NotFound("pairing")`.
//!
//! Records are keyed by id (16 lowercase hex characters), never kept in lists, so check-ins, goals
//! and messages added offline on both phones never conflict; a goal's progress set on one device and
//! a message sent on the other both survive the merge. Two concurrent progress updates of one goal
//! resolve to one of them, as Automerge decides (its `progress` and `done` are written together, so
//! they resolve together).
//!
//! Who creates what: as in [`crate::groups`], the containers are created exactly once, in [`init`]'s
//! single commit, by the device that sets the pairing up; two devices creating the same top-level
//! map concurrently would make one map win and the other's contents vanish. Reads treat a missing
//! (or malformed) container as empty; writes refuse with [`Error::NotFound`]`("pairing")` until the
//! first change has arrived.
//!
//! Each user action is one commit (never one per keystroke). Input is validated before the first
//! write, so a refused call leaves the document unchanged; a write that would change nothing makes no
//! commit. Reads are defensive: a record a buggy or hostile peer damaged is skipped when it lacks what
//! gives it meaning (a check-in without a mood of 1–5, a goal or message without text, a record that
//! is not a map or whose id is malformed) and otherwise read with defaults; a read never panics.
//!
//! This view checks the shape of what is written, not who writes it: `by` is any device id (a person
//! may write from several devices, so it is not checked against `participant` and `supporter`), and
//! who may read or write the pairing is decided by the space's membership, on every receiving device.
//!
//! The folder holds what else belongs to one-to-one support: `create.rs` (opening a pairing or case
//! notes, handing one over), `binding.rs` (a pairing's programme, and binding older ones),
//! `sharing.rs` (a participant sharing items with their supporter), `minors.rs` (a minor's pairing
//! waiting for a guardian),
//! `casenotes.rs` (the supporter's case notes, shared with their supervisor only) and
//! `supervision.rs` (who is in case notes under the cap of supporter, supervisor and successor).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc};

use crate::error::{Error, Result};
use crate::space::doc::{
    boolean, check_device, check_id, check_long, check_mood, check_short, container_in, int,
    is_lower_hex, new_record_in, put_text, read_all, read_record, string, text_field, write,
};

mod binding;
pub mod casenotes;
#[cfg(test)]
mod casenotes_tests;
mod create;
#[cfg(test)]
mod minor_tests;
mod minors;
#[cfg(test)]
pub(crate) mod programme_tests;
mod sharing;
mod supervision;

pub use supervision::{CaseNotesMember, CaseNotesStanding};

const PARTICIPANT: &str = "participant";
const SUPPORTER: &str = "supporter";
const CHECKINS: &str = "checkins";
const GOALS: &str = "goals";
const MESSAGES: &str = "messages";
const CONSENTS: &str = "consents";
const SHARED: &str = "shared";
const CONTAINERS: [&str; 5] = [CHECKINS, GOALS, MESSAGES, CONSENTS, SHARED];
/// The consent purpose that sharing into a pairing needs (`care::PURPOSES`).
pub use crate::care::SHARE_PURPOSE;
pub use binding::{PairingStanding, standing};
/// What a participant may share with their supporter.
pub const SHARE_KINDS: [&str; 3] = ["journal-entry", "checkin-summary", "safety-plan"];

/// One check-in: how the participant is doing, with an optional note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairCheckin {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// Mood 1 (very low) to 5 (very good).
    pub mood: u8,
    /// A note (may be empty).
    pub note: String,
    /// The device that wrote it (64 lowercase hex characters; empty when unreadable).
    pub by: String,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// One goal the participant works towards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairGoal {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// What the goal is.
    pub text: String,
    /// Progress, 0 to 100 (percent).
    pub progress: u8,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Time of the last progress update, milliseconds since the Unix epoch.
    pub updated_ms: i64,
    /// Whether the goal is reached (progress 100).
    pub done: bool,
}

/// One message between the participant and the supporter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairMessage {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// The message.
    pub text: String,
    /// The sending device (64 lowercase hex characters; empty when unreadable).
    pub by: String,
    /// When it was sent, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

// ---- helpers ------------------------------------------------------------------------------------

/// A top-level container, for writing: missing or malformed means [`init`] has not arrived (never
/// create it here: see the module doc).
fn container(doc: &AutoCommit, key: &str) -> Result<ObjId> {
    container_in(doc, key, "pairing")
}

/// The container `key`, checked to have no record `id` yet.
fn new_record(doc: &AutoCommit, key: &str, id: &str, what: &str) -> Result<ObjId> {
    new_record_in(doc, key, id, what, "pairing")
}

fn device_field(doc: &AutoCommit, key: &str) -> Option<String> {
    string(doc, &ROOT, key).filter(|d| is_lower_hex(d, 64))
}

// ---- the pairing --------------------------------------------------------------------------------

/// Sets up a new pairing in an empty document: who the participant and the supporter are, and every
/// container, in one commit. Called once, by the device that sets the pairing up; every other device
/// receives this change before writing. Refused on a document that holds anything, and when both
/// device ids are the same.
pub fn init(
    doc: &mut AutoCommit,
    participant_hex: &str,
    supporter_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_device(participant_hex, "participant")?;
    check_device(supporter_hex, "supporter")?;
    if participant_hex == supporter_hex {
        return Err(Error::InvalidInput(
            "the participant and the supporter must be different devices".into(),
        ));
    }
    if doc.keys(ROOT).next().is_some() {
        return Err(Error::InvalidInput(
            "the document is not empty: a pairing is set up once".into(),
        ));
    }
    write(doc, now_ms, |doc| {
        doc.put(ROOT, PARTICIPANT, participant_hex)?;
        doc.put(ROOT, SUPPORTER, supporter_hex)?;
        for key in CONTAINERS {
            doc.put_object(ROOT, key, ObjType::Map)?;
        }
        Ok(())
    })
}

/// The participant's device id (hex); `None` before [`init`] arrives or when unreadable.
pub fn participant(doc: &AutoCommit) -> Option<String> {
    device_field(doc, PARTICIPANT)
}

/// The supporter's device id (hex); `None` before [`init`] arrives or when unreadable.
pub fn supporter(doc: &AutoCommit) -> Option<String> {
    device_field(doc, SUPPORTER)
}

// ---- check-ins ----------------------------------------------------------------------------------

/// Adds a check-in with a mood of 1 to 5 and a note (which may be empty); one commit.
pub fn add_checkin(
    doc: &mut AutoCommit,
    id: &str,
    mood: u8,
    note: &str,
    by_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "check-in")?;
    check_mood(mood)?;
    check_long(note, "check-in note")?;
    check_device(by_hex, "check-in's author")?;
    let c = new_record(doc, CHECKINS, id, "check-in")?;
    write(doc, now_ms, |doc| {
        let r = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&r, "mood", i64::from(mood))?;
        put_text(doc, &r, "note", note)?;
        doc.put(&r, "by", by_hex)?;
        doc.put(&r, "at", now_ms)?;
        Ok(())
    })
}

fn read_checkin(doc: &AutoCommit, id: &str, r: &ObjId) -> Option<PairCheckin> {
    let mood = u8::try_from(int(doc, r, "mood")?)
        .ok()
        .filter(|m| (1..=5).contains(m))?;
    Some(PairCheckin {
        id: id.to_string(),
        mood,
        note: text_field(doc, r, "note").unwrap_or_default(),
        by: string(doc, r, "by").unwrap_or_default(),
        at_ms: int(doc, r, "at").unwrap_or(0),
    })
}

/// Every check-in, oldest first (by time, then id).
pub fn checkins(doc: &AutoCommit) -> Vec<PairCheckin> {
    let mut out = read_all(doc, CHECKINS, read_checkin);
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

// ---- goals --------------------------------------------------------------------------------------

/// Adds a goal with no progress yet; one commit.
pub fn add_goal(doc: &mut AutoCommit, id: &str, text: &str, now_ms: i64) -> Result<()> {
    check_id(id, "goal")?;
    check_short(text, "goal", true)?;
    let c = new_record(doc, GOALS, id, "goal")?;
    write(doc, now_ms, |doc| {
        let g = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&g, "text", text)?;
        doc.put(&g, "progress", 0_i64)?;
        doc.put(&g, "created", now_ms)?;
        doc.put(&g, "updated", now_ms)?;
        doc.put(&g, "done", false)?;
        Ok(())
    })
}

/// Sets a goal's progress, 0 to 100; 100 marks it done, and a lower value marks it not done (again).
/// One commit; none when the goal already stands so. [`Error::NotFound`]`("goal")` when the goal does
/// not exist or has no readable text.
pub fn set_goal_progress(doc: &mut AutoCommit, id: &str, progress: u8, now_ms: i64) -> Result<()> {
    check_id(id, "goal")?;
    if progress > 100 {
        return Err(Error::InvalidInput(
            "progress must be between 0 and 100".into(),
        ));
    }
    let c = container(doc, GOALS)?;
    // A goal that reads as skipped (no text) does not exist for the user either.
    let g = read_record(doc, &c, id)
        .filter(|g| string(doc, g, "text").is_some())
        .ok_or(Error::NotFound("goal"))?;
    let done = progress == 100;
    if int(doc, &g, "progress") == Some(i64::from(progress))
        && boolean(doc, &g, "done") == Some(done)
    {
        return Ok(());
    }
    write(doc, now_ms, |doc| {
        doc.put(&g, "progress", i64::from(progress))?;
        doc.put(&g, "done", done)?;
        doc.put(&g, "updated", now_ms)?;
        Ok(())
    })
}

fn read_goal(doc: &AutoCommit, id: &str, g: &ObjId) -> Option<PairGoal> {
    let progress = int(doc, g, "progress")
        .and_then(|p| u8::try_from(p).ok())
        .filter(|p| *p <= 100)
        .unwrap_or(0);
    let created_ms = int(doc, g, "created").unwrap_or(0);
    Some(PairGoal {
        id: id.to_string(),
        text: string(doc, g, "text")?,
        progress,
        created_ms,
        updated_ms: int(doc, g, "updated").unwrap_or(created_ms),
        done: boolean(doc, g, "done").unwrap_or(progress == 100),
    })
}

/// Every goal, oldest first (by creation time, then id).
pub fn goals(doc: &AutoCommit) -> Vec<PairGoal> {
    let mut out = read_all(doc, GOALS, read_goal);
    out.sort_unstable_by(|a, b| {
        a.created_ms
            .cmp(&b.created_ms)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

// ---- messages -----------------------------------------------------------------------------------

/// Sends a message (not empty); one commit.
pub fn send_message(
    doc: &mut AutoCommit,
    id: &str,
    text: &str,
    by_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "message")?;
    if text.trim().is_empty() {
        return Err(Error::InvalidInput("message is empty".into()));
    }
    check_long(text, "message")?;
    check_device(by_hex, "message's sender")?;
    let c = new_record(doc, MESSAGES, id, "message")?;
    write(doc, now_ms, |doc| {
        let m = doc.put_object(&c, id, ObjType::Map)?;
        put_text(doc, &m, "text", text)?;
        doc.put(&m, "by", by_hex)?;
        doc.put(&m, "at", now_ms)?;
        Ok(())
    })
}

fn read_message(doc: &AutoCommit, id: &str, m: &ObjId) -> Option<PairMessage> {
    Some(PairMessage {
        id: id.to_string(),
        text: text_field(doc, m, "text")?,
        by: string(doc, m, "by").unwrap_or_default(),
        at_ms: int(doc, m, "at").unwrap_or(0),
    })
}

/// Every message, oldest first (by time, then id).
pub fn messages(doc: &AutoCommit) -> Vec<PairMessage> {
    let mut out = read_all(doc, MESSAGES, read_message);
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::space::doc::MAX_TEXT_CHARS;

    const PARTI: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SUPP: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const N1: &str = "0000000000000001";
    const N2: &str = "0000000000000002";
    const N3: &str = "0000000000000003";

    fn pairing() -> AutoCommit {
        let mut d = AutoCommit::new();
        init(&mut d, PARTI, SUPP, 1_000).unwrap();
        d
    }

    fn invalid<T: std::fmt::Debug>(r: Result<T>) {
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }

    fn not_found<T: std::fmt::Debug>(r: Result<T>, what: &str) {
        assert!(matches!(r, Err(Error::NotFound(w)) if w == what), "{r:?}");
    }

    #[test]
    fn init_records_both_devices_and_every_container_in_one_commit() {
        let mut d = pairing();
        assert_eq!(d.get_changes(&[]).len(), 1);
        assert_eq!(participant(&d).as_deref(), Some(PARTI));
        assert_eq!(supporter(&d).as_deref(), Some(SUPP));
        for key in CONTAINERS {
            assert!(container(&d, key).is_ok(), "{key}");
        }
        assert!(checkins(&d).is_empty() && goals(&d).is_empty() && messages(&d).is_empty());
        let heads = d.get_heads();
        invalid(init(&mut d, PARTI, SUPP, 2_000));
        assert_eq!(d.get_heads(), heads, "a second init changes nothing");
        let mut e = AutoCommit::new();
        invalid(init(&mut e, PARTI, PARTI, 1));
        invalid(init(&mut e, "aaaa", SUPP, 1));
        invalid(init(&mut e, PARTI, &SUPP.to_uppercase(), 1));
        assert!(e.get_heads().is_empty());
    }

    #[test]
    fn without_init_reads_are_empty_and_writes_are_refused() {
        let mut d = AutoCommit::new();
        assert_eq!((participant(&d), supporter(&d)), (None, None));
        assert!(checkins(&d).is_empty() && goals(&d).is_empty() && messages(&d).is_empty());
        not_found(add_checkin(&mut d, N1, 3, "", PARTI, 1), "pairing");
        not_found(add_goal(&mut d, N1, "Tidur cukup", 1), "pairing");
        not_found(set_goal_progress(&mut d, N1, 10, 1), "pairing");
        not_found(send_message(&mut d, N1, "halo", PARTI, 1), "pairing");
        assert!(d.get_heads().is_empty(), "refused writes created nothing");
    }

    #[test]
    fn a_second_device_that_received_the_init_can_write() {
        let mut a = pairing();
        let mut b = AutoCommit::new();
        b.merge(&mut a).unwrap();
        invalid(init(&mut b, PARTI, SUPP, 2_000));
        add_checkin(&mut b, N1, 4, "lumayan", SUPP, 2_000).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(checkins(&a)[0].note, "lumayan");
    }

    #[test]
    fn checkins_are_added_and_listed_by_time() {
        let mut d = pairing();
        add_checkin(&mut d, N2, 2, "Susah tidur", PARTI, 3_000).unwrap();
        add_checkin(&mut d, N3, 5, "", PARTI, 2_000).unwrap();
        add_checkin(&mut d, N1, 3, "🌧️ hujan", SUPP, 3_000).unwrap();
        let all = checkins(&d);
        assert_eq!(
            all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            [N3, N1, N2],
            "by time, then id"
        );
        assert_eq!(
            all[2],
            PairCheckin {
                id: N2.into(),
                mood: 2,
                note: "Susah tidur".into(),
                by: PARTI.into(),
                at_ms: 3_000,
            }
        );
        assert_eq!(all[0].note, "");
        invalid(add_checkin(&mut d, N1, 3, "dup", PARTI, 4_000));
    }

    #[test]
    fn goals_track_progress_and_are_done_at_100() {
        let mut d = pairing();
        add_goal(&mut d, N2, "Jalan pagi tiga kali seminggu", 2_000).unwrap();
        add_goal(&mut d, N1, "Tidur sebelum jam 11", 3_000).unwrap();
        assert_eq!(
            goals(&d)[0],
            PairGoal {
                id: N2.into(),
                text: "Jalan pagi tiga kali seminggu".into(),
                progress: 0,
                created_ms: 2_000,
                updated_ms: 2_000,
                done: false,
            }
        );
        set_goal_progress(&mut d, N2, 40, 4_000).unwrap();
        let g = &goals(&d)[0];
        assert_eq!((g.progress, g.updated_ms, g.done), (40, 4_000, false));
        set_goal_progress(&mut d, N2, 100, 5_000).unwrap();
        let g = &goals(&d)[0];
        assert_eq!((g.progress, g.done), (100, true));
        let heads = d.get_heads();
        set_goal_progress(&mut d, N2, 100, 6_000).unwrap();
        assert_eq!(d.get_heads(), heads, "unchanged progress: no change");
        set_goal_progress(&mut d, N2, 90, 7_000).unwrap();
        let g = &goals(&d)[0];
        assert_eq!((g.progress, g.done, g.created_ms), (90, false, 2_000));
        invalid(add_goal(&mut d, N1, "dup", 8_000));
        not_found(set_goal_progress(&mut d, N3, 10, 8_000), "goal");
        assert_eq!(goals(&d)[1].id, N1);
    }

    #[test]
    fn messages_are_sent_and_listed_by_time_then_id() {
        let mut d = pairing();
        send_message(&mut d, N3, "Apa kabar hari ini?", SUPP, 2_000).unwrap();
        send_message(&mut d, N2, "Baik, terima kasih", PARTI, 3_000).unwrap();
        send_message(&mut d, N1, "Sama-sama 🙂", SUPP, 3_000).unwrap();
        let all = messages(&d);
        assert_eq!(
            all.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            [N3, N1, N2]
        );
        assert_eq!(
            all[2],
            PairMessage {
                id: N2.into(),
                text: "Baik, terima kasih".into(),
                by: PARTI.into(),
                at_ms: 3_000,
            }
        );
        invalid(send_message(&mut d, N1, "dup", SUPP, 4_000));
    }

    #[test]
    fn concurrent_checkins_progress_and_messages_on_two_devices_merge() {
        let mut a = pairing();
        add_goal(&mut a, N1, "Tidur cukup", 2_000).unwrap();
        let mut b = a.fork();
        add_checkin(&mut a, N1, 2, "dari HP peserta", PARTI, 3_000).unwrap();
        add_checkin(&mut b, N2, 4, "dari HP pendamping", SUPP, 3_500).unwrap();
        set_goal_progress(&mut a, N1, 60, 4_000).unwrap();
        send_message(&mut b, N1, "Semangat!", SUPP, 4_000).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        for d in [&a, &b] {
            assert_eq!(
                checkins(d)
                    .iter()
                    .map(|c| c.note.as_str())
                    .collect::<Vec<_>>(),
                ["dari HP peserta", "dari HP pendamping"]
            );
            assert_eq!(goals(d)[0].progress, 60);
            assert_eq!(messages(d)[0].text, "Semangat!");
        }
        assert_eq!(goals(&a), goals(&b));
        assert_eq!(messages(&a), messages(&b));
    }

    #[test]
    fn refused_input_leaves_the_document_unchanged() {
        let mut d = pairing();
        add_goal(&mut d, N1, "x", 2_000).unwrap();
        add_checkin(&mut d, N1, 3, "x", PARTI, 2_000).unwrap();
        send_message(&mut d, N1, "x", PARTI, 2_000).unwrap();
        let heads = d.get_heads();
        let short = "s".repeat(crate::space::doc::MAX_SHORT_CHARS + 1);
        let long = "l".repeat(MAX_TEXT_CHARS + 1);
        let upper = PARTI.to_uppercase();
        for (what, r) in [
            ("mood 0", add_checkin(&mut d, N2, 0, "x", PARTI, 3)),
            ("mood 6", add_checkin(&mut d, N2, 6, "x", PARTI, 3)),
            ("checkin id", add_checkin(&mut d, "xyz", 3, "x", PARTI, 3)),
            (
                "checkin id upper",
                add_checkin(&mut d, "00000000000000AA", 3, "x", PARTI, 3),
            ),
            ("checkin note", add_checkin(&mut d, N2, 3, &long, PARTI, 3)),
            ("checkin by", add_checkin(&mut d, N2, 3, "x", &upper, 3)),
            ("checkin by short", add_checkin(&mut d, N2, 3, "x", "ab", 3)),
            ("checkin dup", add_checkin(&mut d, N1, 3, "x", PARTI, 3)),
            ("goal empty", add_goal(&mut d, N2, " ", 3)),
            ("goal long", add_goal(&mut d, N2, &short, 3)),
            ("goal id", add_goal(&mut d, "1", "x", 3)),
            ("goal dup", add_goal(&mut d, N1, "x", 3)),
            ("progress 101", set_goal_progress(&mut d, N1, 101, 3)),
            ("progress 255", set_goal_progress(&mut d, N1, 255, 3)),
            ("progress id", set_goal_progress(&mut d, "", 50, 3)),
            ("message empty", send_message(&mut d, N2, "", PARTI, 3)),
            ("message blank", send_message(&mut d, N2, " \n", PARTI, 3)),
            ("message long", send_message(&mut d, N2, &long, PARTI, 3)),
            ("message by", send_message(&mut d, N2, "x", "budi", 3)),
            (
                "message id",
                send_message(&mut d, "g000000000000001", "x", PARTI, 3),
            ),
            ("message dup", send_message(&mut d, N1, "x", PARTI, 3)),
        ] {
            assert!(matches!(r, Err(Error::InvalidInput(_))), "{what}: {r:?}");
        }
        assert_eq!(d.get_heads(), heads);
        assert_eq!(goals(&d)[0].progress, 0);
        // The limits themselves are accepted.
        add_goal(
            &mut d,
            N2,
            &"g".repeat(crate::space::doc::MAX_SHORT_CHARS),
            4,
        )
        .unwrap();
        set_goal_progress(&mut d, N2, 0, 4).unwrap();
        add_checkin(&mut d, N2, 1, &"n".repeat(MAX_TEXT_CHARS), PARTI, 4).unwrap();
        add_checkin(&mut d, N3, 5, "", PARTI, 4).unwrap();
    }

    #[test]
    fn malformed_data_from_a_hostile_peer_reads_defensively() {
        let mut d = pairing();
        add_checkin(&mut d, N1, 3, "baik", PARTI, 2_000).unwrap();
        add_goal(&mut d, N1, "Tidur cukup", 2_000).unwrap();
        send_message(&mut d, N1, "halo", PARTI, 2_000).unwrap();
        // What a hostile peer could write straight into the document.
        let checkins_c = container(&d, CHECKINS).unwrap();
        let c1 = d.get(&checkins_c, N1).unwrap().unwrap().1;
        d.put(&c1, "note", 42).unwrap();
        d.put(&c1, "by", true).unwrap();
        d.put(&c1, "at", "kemarin").unwrap();
        let c2 = d.put_object(&checkins_c, N2, ObjType::Map).unwrap();
        d.put(&c2, "mood", 9).unwrap(); // out of range: skipped
        let c3 = d.put_object(&checkins_c, N3, ObjType::Map).unwrap();
        d.put(&c3, "mood", "lima").unwrap(); // unreadable: skipped
        d.put(&checkins_c, "0000000000000004", "not a map").unwrap();
        let c5 = d
            .put_object(&checkins_c, "not-an-id", ObjType::Map)
            .unwrap();
        d.put(&c5, "mood", 3).unwrap();
        let goals_c = container(&d, GOALS).unwrap();
        let g1 = d.get(&goals_c, N1).unwrap().unwrap().1;
        d.put(&g1, "progress", 250).unwrap();
        d.put(&g1, "done", "ya").unwrap();
        d.put(&g1, "updated", -1.5).unwrap();
        let g2 = d.put_object(&goals_c, N2, ObjType::Map).unwrap();
        d.put(&g2, "text", 7).unwrap(); // no text: skipped
        let g3 = d.put_object(&goals_c, N3, ObjType::Map).unwrap();
        d.put(&g3, "text", "Selesai").unwrap();
        d.put(&g3, "progress", 100).unwrap();
        let messages_c = container(&d, MESSAGES).unwrap();
        let m2 = d.put_object(&messages_c, N2, ObjType::Map).unwrap();
        d.put(&m2, "text", "teks biasa").unwrap(); // a str instead of Text: still read
        d.put_object(&messages_c, N3, ObjType::Map).unwrap(); // no text: skipped
        d.put_object(&messages_c, "0000000000000004", ObjType::List)
            .unwrap();
        d.put(ROOT, SUPPORTER, "not a device").unwrap();
        d.commit();

        assert_eq!(participant(&d).as_deref(), Some(PARTI));
        assert_eq!(supporter(&d), None);
        assert_eq!(
            checkins(&d),
            [PairCheckin {
                id: N1.into(),
                mood: 3,
                note: String::new(),
                by: String::new(),
                at_ms: 0,
            }]
        );
        assert_eq!(
            goals(&d),
            [
                PairGoal {
                    id: N3.into(),
                    text: "Selesai".into(),
                    progress: 100,
                    created_ms: 0,
                    updated_ms: 0,
                    done: true,
                },
                PairGoal {
                    id: N1.into(),
                    text: "Tidur cukup".into(),
                    progress: 0,
                    created_ms: 2_000,
                    updated_ms: 2_000,
                    done: false,
                },
            ]
        );
        let all = messages(&d);
        assert_eq!(
            all.iter()
                .map(|m| (m.id.as_str(), m.text.as_str(), m.at_ms))
                .collect::<Vec<_>>(),
            [(N2, "teks biasa", 0), (N1, "halo", 2_000)]
        );

        // Writes repair what they touch and go on working.
        set_goal_progress(&mut d, N1, 30, 3_000).unwrap();
        let g = &goals(&d)[1];
        assert_eq!((g.id.as_str(), g.progress, g.done), (N1, 30, false));
        not_found(set_goal_progress(&mut d, N2, 30, 3_000), "goal");
        invalid(add_checkin(&mut d, N2, 3, "x", PARTI, 3_000));
        add_checkin(&mut d, "0000000000000009", 4, "ok", PARTI, 3_000).unwrap();
        assert_eq!(checkins(&d).len(), 2);
    }

    #[test]
    fn malformed_containers_read_as_empty_and_refuse_writes() {
        let mut d = AutoCommit::new();
        d.put(ROOT, CHECKINS, "not a map").unwrap();
        d.put_object(ROOT, GOALS, ObjType::List).unwrap();
        d.put_object(ROOT, MESSAGES, ObjType::Text).unwrap();
        d.put(ROOT, PARTICIPANT, 5).unwrap();
        d.commit();
        assert!(checkins(&d).is_empty() && goals(&d).is_empty() && messages(&d).is_empty());
        assert_eq!(participant(&d), None);
        let heads = d.get_heads();
        not_found(add_checkin(&mut d, N1, 3, "x", PARTI, 1), "pairing");
        not_found(add_goal(&mut d, N1, "x", 1), "pairing");
        not_found(send_message(&mut d, N1, "x", PARTI, 1), "pairing");
        invalid(init(&mut d, PARTI, SUPP, 1));
        assert_eq!(d.get_heads(), heads);
    }

    #[test]
    fn one_commit_per_action_with_the_actions_time() {
        let mut d = pairing();
        let before = d.get_changes(&[]).len();
        add_goal(&mut d, N1, "x", 7_000_000).unwrap();
        set_goal_progress(&mut d, N1, 100, 8_000_000).unwrap();
        send_message(&mut d, N1, "x", PARTI, 9_000_000).unwrap();
        let changes = d.get_changes(&[]);
        assert_eq!(changes.len(), before + 3);
        assert_eq!(changes.last().unwrap().timestamp(), 9_000);
    }
}

// ---- sharing with consent -------------------------------------------------------------------------

/// Something the participant shared with their supporter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedItem {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// One of [`SHARE_KINDS`].
    pub kind: String,
    /// The shared text (a journal entry's text, a summary, the plan).
    pub text: String,
    /// A journal entry's mood (1–5), when it had one.
    pub mood: Option<u8>,
    /// Where it came from (a journal entry's id; empty otherwise).
    pub source: String,
    /// The consent record it was shared under.
    pub consent: String,
    /// The sharing device.
    pub by: String,
    /// When it was shared, ms.
    pub at_ms: i64,
}

/// Shares `text` with the supporter: refused (`NotAllowed`, nothing written) unless the
/// participant's consent to sharing stands in this pairing; records which consent it relied on.
#[allow(clippy::too_many_arguments)]
pub fn share(
    doc: &mut AutoCommit,
    id: &str,
    kind: &str,
    text: &str,
    mood: Option<u8>,
    source: &str,
    by: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "shared item")?;
    check_device(by, "sharing device")?;
    if !SHARE_KINDS.contains(&kind) {
        return Err(Error::InvalidInput(
            "kind must be journal-entry, checkin-summary or safety-plan".into(),
        ));
    }
    check_long(text, "shared text")?;
    if text.trim().is_empty() {
        return Err(Error::InvalidInput("shared text is empty".into()));
    }
    if let Some(m) = mood {
        check_mood(m)?;
    }
    if !source.is_empty() {
        check_id(source, "source")?;
    }
    let Some(consent) = standing_consent(doc) else {
        return Err(Error::NotAllowed(
            "nothing is shared without the participant's consent to sharing",
        ));
    };
    let c = new_record(doc, SHARED, id, "shared item")?;
    write(doc, now_ms, |d| {
        let r = d.put_object(&c, id, ObjType::Map)?;
        d.put(&r, "kind", kind)?;
        d.put(&r, "text", text)?;
        d.put(&r, "mood", i64::from(mood.unwrap_or(0)))?;
        d.put(&r, "source", source)?;
        d.put(&r, "consent", consent.as_str())?;
        d.put(&r, "by", by)?;
        d.put(&r, "at", now_ms)?;
        Ok(())
    })
}

/// The id of the consent record sharing rests on now: the participant's newest record for sharing,
/// when it agrees to the current text.
fn standing_consent(doc: &AutoCommit) -> Option<String> {
    if !crate::care::consented(doc, SHARE_PURPOSE) {
        return None;
    }
    crate::care::consents(doc)
        .into_iter()
        .filter(|r| r.purpose == SHARE_PURPOSE && r.guardian_relation.is_none())
        .max_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)))
        .map(|r| r.id)
}

/// Takes a shared item back (one commit; nothing when it is not there).
pub fn unshare(doc: &mut AutoCommit, id: &str, now_ms: i64) -> Result<()> {
    check_id(id, "shared item")?;
    let c = container(doc, SHARED)?;
    if doc.get(&c, id)?.is_none() {
        return Ok(());
    }
    write(doc, now_ms, |d| {
        d.delete(&c, id)?;
        Ok(())
    })
}

/// Takes every shared item back (on withdrawal), one commit.
pub fn unshare_all(doc: &mut AutoCommit, now_ms: i64) -> Result<()> {
    let c = container(doc, SHARED)?;
    let ids: Vec<String> = doc.keys(&c).collect();
    if ids.is_empty() {
        return Ok(());
    }
    write(doc, now_ms, |d| {
        for id in &ids {
            d.delete(&c, id.as_str())?;
        }
        Ok(())
    })
}

/// What the participant shares now, oldest first: nothing while their consent does not stand, and
/// only items that name an agreeing consent record of theirs.
pub fn shared(doc: &AutoCommit) -> Vec<SharedItem> {
    if standing_consent(doc).is_none() {
        return Vec::new();
    }
    // Only agreements made after the newest withdrawal count: an item shared offline under an
    // older agreement stays taken back even when the participant agrees again later.
    let own: Vec<crate::care::ConsentRecord> = crate::care::consents(doc)
        .into_iter()
        .filter(|r| r.purpose == SHARE_PURPOSE && r.guardian_relation.is_none())
        .collect();
    let withdrawn = own
        .iter()
        .filter(|r| !r.agreed)
        .map(|r| r.at_ms)
        .max()
        .unwrap_or(i64::MIN);
    let agreed: Vec<String> = own
        .into_iter()
        .filter(|r| r.agreed && r.at_ms > withdrawn)
        .map(|r| r.id)
        .collect();
    let mut out = read_all(doc, SHARED, |d, id, r| {
        let kind = string(d, r, "kind")?;
        if !SHARE_KINDS.contains(&kind.as_str()) {
            return None;
        }
        let consent = string(d, r, "consent")?;
        if !agreed.contains(&consent) {
            return None;
        }
        let mood = int(d, r, "mood")
            .and_then(|m| u8::try_from(m).ok())
            .filter(|m| (1..=5).contains(m));
        Some(SharedItem {
            id: id.to_string(),
            kind,
            text: string(d, r, "text")?,
            mood,
            source: string(d, r, "source").unwrap_or_default(),
            consent,
            by: string(d, r, "by").unwrap_or_default(),
            at_ms: int(d, r, "at")?,
        })
    });
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod sharing_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PARTI: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const SUPP: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn an_item_shared_offline_before_a_withdrawal_stays_taken_back_after_a_new_agreement() {
        use crate::care::add_consent;
        let mut phone = AutoCommit::new();
        init(&mut phone, PARTI, SUPP, 1_000).unwrap();
        add_consent(
            &mut phone,
            "00000000000000c1",
            SHARE_PURPOSE,
            "1",
            true,
            None,
            PARTI,
            2_000,
        )
        .unwrap();
        // The tablet, offline, shares under that agreement; the phone withdraws meanwhile.
        let mut tablet = phone.fork();
        share(
            &mut tablet,
            "00000000000000d1",
            "journal-entry",
            "Lama.",
            Some(3),
            "",
            PARTI,
            3_000,
        )
        .unwrap();
        add_consent(
            &mut phone,
            "00000000000000c2",
            SHARE_PURPOSE,
            "1",
            false,
            None,
            PARTI,
            4_000,
        )
        .unwrap();
        unshare_all(&mut phone, 4_000).unwrap();
        phone.merge(&mut tablet).unwrap();
        assert!(shared(&phone).is_empty());
        // A new agreement does not bring the old item back; a new share is shown.
        add_consent(
            &mut phone,
            "00000000000000c3",
            SHARE_PURPOSE,
            "1",
            true,
            None,
            PARTI,
            5_000,
        )
        .unwrap();
        share(
            &mut phone,
            "00000000000000d2",
            "journal-entry",
            "Baru.",
            Some(4),
            "",
            PARTI,
            6_000,
        )
        .unwrap();
        let now: Vec<String> = shared(&phone).into_iter().map(|i| i.text).collect();
        assert_eq!(now, vec!["Baru.".to_string()]);
    }
}
