//! Case notes: a peer supporter's notes about one pairing, and their supervisor's comments on them,
//! as a typed view over one Automerge document (one case-notes space).
//!
//! Only the supporter and their supervisor can read these notes. That is enforced by who is a member
//! of the space (only members' devices hold the key that opens it; the participant and other
//! supporters are never members), not by this view: this module reads and writes whatever document it
//! is given.
//!
//! Shape (version 1). The root map holds:
//! - `"about"`: str, an opaque reference to the pairing chosen by the app (1 to
//!   [`MAX_ABOUT_CHARS`] printable ASCII characters without spaces, such as the pairing space's id);
//!   never a name, so the document names no one.
//! - `"notes"`: map id -> `{ text: Text, by: str (device id hex), at: int ms, edited: int ms }`.
//! - `"reviews"`: map id -> `{ note: str (a note's id), text: str, by: str (device id hex),
//!   at: int ms }`: the supervisor's comments, each on one note.
//!
//! Records are keyed by id (16 lowercase hex characters), never kept in lists, so notes and reviews
//! added offline on two devices never conflict, and edits to different parts of one note's text
//! merge.
//!
//! Who creates what: as in [`crate::groups`], the containers are created exactly once, in [`init`]'s
//! single commit, by the supporter's device that sets the space up; two devices creating the same
//! top-level map concurrently would make one map win and the other's contents vanish. Reads treat a
//! missing (or malformed) container as empty; writes refuse with [`Error::NotFound`]`("case notes")`
//! until the first change has arrived.
//!
//! Each user action is one commit (never one per keystroke). Input is validated before the first
//! write, so a refused call leaves the document unchanged; an edit that changes nothing makes no
//! commit. Reads are defensive: a record a buggy or hostile peer damaged is skipped when it lacks
//! text, is not a map or has a malformed id, and is otherwise read with defaults; a read never panics.
//! There is no deletion: notes are kept for supervision (a note's old text stays in the document's
//! history in any case, until the period's key is destroyed: see docs/threat-model.md).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::error::{Error, Result};
use crate::space::doc::splice_changed_middle;
use crate::space::doc::{
    check_device, check_id, check_long, check_short, container_in, int, new_record_in, put_text,
    read_all, read_record, string, text_field, text_obj, write,
};

/// Longest `about` reference accepted, in characters.
pub const MAX_ABOUT_CHARS: usize = 64;

const ABOUT: &str = "about";
const NOTES: &str = "notes";
const REVIEWS: &str = "reviews";
const CONTAINERS: [&str; 2] = [NOTES, REVIEWS];

/// One case note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseNote {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// The text, merged across devices.
    pub text: String,
    /// The device that wrote it (64 lowercase hex characters; empty when unreadable).
    pub by: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Last edit time, milliseconds since the Unix epoch.
    pub edited_ms: i64,
}

/// A supervisor's comment on one case note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseReview {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// The id of the note commented on (empty when unreadable).
    pub note: String,
    /// The comment.
    pub text: String,
    /// The reviewing device (64 lowercase hex characters; empty when unreadable).
    pub by: String,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

// ---- helpers ------------------------------------------------------------------------------------

fn check_about(about: &str) -> Result<()> {
    if about.is_empty()
        || about.len() > MAX_ABOUT_CHARS
        || !about.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::InvalidInput(format!(
            "the pairing reference must be 1 to {MAX_ABOUT_CHARS} printable ASCII characters \
             without spaces"
        )));
    }
    Ok(())
}

fn check_note_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidInput("case note is empty".into()));
    }
    check_long(text, "case note")
}

/// A top-level container, for writing: missing or malformed means [`init`] has not arrived (never
/// create it here: see the module doc).
fn container(doc: &AutoCommit, key: &str) -> Result<ObjId> {
    container_in(doc, key, "case notes")
}

/// The container `key`, checked to have no record `id` yet.
fn new_record(doc: &AutoCommit, key: &str, id: &str, what: &str) -> Result<ObjId> {
    new_record_in(doc, key, id, what, "case notes")
}

/// An existing case note, for writing.
fn note_record(doc: &AutoCommit, id: &str) -> Result<ObjId> {
    let c = container(doc, NOTES)?;
    read_record(doc, &c, id).ok_or(Error::NotFound("case note"))
}

// ---- the space ----------------------------------------------------------------------------------

/// Sets up a new case-notes space in an empty document: which pairing it is about, and every
/// container, in one commit. Called once, by the supporter's device; every other device receives
/// this change before writing. Refused on a document that holds anything.
pub fn init(doc: &mut AutoCommit, about: &str, now_ms: i64) -> Result<()> {
    check_about(about)?;
    if doc.keys(ROOT).next().is_some() {
        return Err(Error::InvalidInput(
            "the document is not empty: case notes are set up once".into(),
        ));
    }
    write(doc, now_ms, |doc| {
        doc.put(ROOT, ABOUT, about)?;
        for key in CONTAINERS {
            doc.put_object(ROOT, key, ObjType::Map)?;
        }
        Ok(())
    })
}

/// The pairing these notes are about; `None` before [`init`] arrives or when unreadable.
pub fn about(doc: &AutoCommit) -> Option<String> {
    string(doc, &ROOT, ABOUT).filter(|a| check_about(a).is_ok())
}

// ---- notes --------------------------------------------------------------------------------------

/// Adds a case note (not empty); one commit.
pub fn add_note(
    doc: &mut AutoCommit,
    id: &str,
    text: &str,
    by_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "case note")?;
    check_note_text(text)?;
    check_device(by_hex, "case note's author")?;
    let c = new_record(doc, NOTES, id, "case note")?;
    write(doc, now_ms, |doc| {
        let n = doc.put_object(&c, id, ObjType::Map)?;
        put_text(doc, &n, "text", text)?;
        doc.put(&n, "by", by_hex)?;
        doc.put(&n, "at", now_ms)?;
        doc.put(&n, "edited", now_ms)?;
        Ok(())
    })
}

/// Replaces a note's text (not empty), changing only the changed middle so that an edit on another
/// device to a different part of the text merges instead of being overwritten. One commit; none when
/// nothing changed.
pub fn edit_note(doc: &mut AutoCommit, id: &str, text: &str, now_ms: i64) -> Result<()> {
    check_id(id, "case note")?;
    check_note_text(text)?;
    let n = note_record(doc, id)?;
    let is_text = matches!(
        doc.get(&n, "text"),
        Ok(Some((Value::Object(ObjType::Text), _)))
    );
    if is_text && text_field(doc, &n, "text").as_deref() == Some(text) {
        return Ok(());
    }
    write(doc, now_ms, |doc| {
        let t = text_obj(doc, &n, "text")?;
        splice_changed_middle(doc, &t, text)?;
        doc.put(&n, "edited", now_ms)?;
        Ok(())
    })
}

fn read_note(doc: &AutoCommit, id: &str, n: &ObjId) -> Option<CaseNote> {
    let at_ms = int(doc, n, "at").unwrap_or(0);
    Some(CaseNote {
        id: id.to_string(),
        text: text_field(doc, n, "text")?,
        by: string(doc, n, "by").unwrap_or_default(),
        at_ms,
        edited_ms: int(doc, n, "edited").unwrap_or(at_ms),
    })
}

/// Every case note, oldest first (by creation time, then id).
pub fn notes(doc: &AutoCommit) -> Vec<CaseNote> {
    let mut out = read_all(doc, NOTES, read_note);
    crate::order::sort_by(&mut out, |a, b| {
        a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id))
    });
    out
}

// ---- reviews ------------------------------------------------------------------------------------

/// Adds a supervisor's comment (not empty) on an existing note; one commit.
/// [`Error::NotFound`]`("case note")` when the note does not exist.
pub fn add_review(
    doc: &mut AutoCommit,
    id: &str,
    note_id: &str,
    text: &str,
    by_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "review")?;
    check_id(note_id, "case note")?;
    check_short(text, "review", true)?;
    check_device(by_hex, "reviewer")?;
    let c = new_record(doc, REVIEWS, id, "review")?;
    note_record(doc, note_id)?;
    write(doc, now_ms, |doc| {
        let r = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&r, "note", note_id)?;
        doc.put(&r, "text", text)?;
        doc.put(&r, "by", by_hex)?;
        doc.put(&r, "at", now_ms)?;
        Ok(())
    })
}

fn read_review(doc: &AutoCommit, id: &str, r: &ObjId) -> Option<CaseReview> {
    Some(CaseReview {
        id: id.to_string(),
        note: string(doc, r, "note").unwrap_or_default(),
        text: string(doc, r, "text")?,
        by: string(doc, r, "by").unwrap_or_default(),
        at_ms: int(doc, r, "at").unwrap_or(0),
    })
}

/// Every review, oldest first (by time, then id).
pub fn reviews(doc: &AutoCommit) -> Vec<CaseReview> {
    let mut out = read_all(doc, REVIEWS, read_review);
    crate::order::sort_by(&mut out, |a, b| {
        a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::space::doc::MAX_SHORT_CHARS;
    use crate::space::doc::MAX_TEXT_CHARS;

    const SUPP: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const SUPERV: &str = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
    const PAIR: &str = "pair-7f3a9c";
    const N1: &str = "0000000000000001";
    const N2: &str = "0000000000000002";
    const N3: &str = "0000000000000003";

    fn space() -> AutoCommit {
        let mut d = AutoCommit::new();
        init(&mut d, PAIR, 1_000).unwrap();
        d
    }

    fn invalid<T: std::fmt::Debug>(r: Result<T>) {
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }

    fn not_found<T: std::fmt::Debug>(r: Result<T>, what: &str) {
        assert!(matches!(r, Err(Error::NotFound(w)) if w == what), "{r:?}");
    }

    #[test]
    fn init_records_the_pairing_and_every_container_in_one_commit() {
        let mut d = space();
        assert_eq!(d.get_changes(&[]).len(), 1);
        assert_eq!(about(&d).as_deref(), Some(PAIR));
        for key in CONTAINERS {
            assert!(container(&d, key).is_ok(), "{key}");
        }
        assert!(notes(&d).is_empty() && reviews(&d).is_empty());
        let heads = d.get_heads();
        invalid(init(&mut d, "pair-lain", 2_000));
        assert_eq!(d.get_heads(), heads, "a second init changes nothing");
        let mut e = AutoCommit::new();
        invalid(init(&mut e, "", 1));
        invalid(init(&mut e, "Budi Santoso", 1));
        invalid(init(&mut e, "pasangan-ü", 1));
        invalid(init(&mut e, &"p".repeat(MAX_ABOUT_CHARS + 1), 1));
        assert!(e.get_heads().is_empty());
        init(&mut e, &"p".repeat(MAX_ABOUT_CHARS), 1).unwrap();
    }

    #[test]
    fn without_init_reads_are_empty_and_writes_are_refused() {
        let mut d = AutoCommit::new();
        assert_eq!(about(&d), None);
        assert!(notes(&d).is_empty() && reviews(&d).is_empty());
        not_found(add_note(&mut d, N1, "x", SUPP, 1), "case notes");
        not_found(edit_note(&mut d, N1, "x", 1), "case notes");
        not_found(add_review(&mut d, N1, N1, "x", SUPERV, 1), "case notes");
        assert!(d.get_heads().is_empty(), "refused writes created nothing");
    }

    #[test]
    fn notes_are_added_listed_and_edited() {
        let mut d = space();
        add_note(&mut d, N2, "Sesi kedua: tidur membaik.", SUPP, 3_000).unwrap();
        add_note(&mut d, N1, "Sesi pertama.", SUPP, 2_000).unwrap();
        assert_eq!(
            notes(&d).iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            [N1, N2]
        );
        edit_note(&mut d, N2, "Sesi kedua: tidur jauh membaik.", 4_000).unwrap();
        assert_eq!(
            notes(&d)[1],
            CaseNote {
                id: N2.into(),
                text: "Sesi kedua: tidur jauh membaik.".into(),
                by: SUPP.into(),
                at_ms: 3_000,
                edited_ms: 4_000,
            }
        );
        let heads = d.get_heads();
        edit_note(&mut d, N2, "Sesi kedua: tidur jauh membaik.", 5_000).unwrap();
        assert_eq!(d.get_heads(), heads, "an unchanged text makes no change");
        invalid(add_note(&mut d, N1, "dup", SUPP, 6_000));
        not_found(edit_note(&mut d, N3, "x", 6_000), "case note");
    }

    #[test]
    fn reviews_comment_on_existing_notes() {
        let mut d = space();
        add_note(&mut d, N1, "Sesi pertama.", SUPP, 2_000).unwrap();
        add_review(&mut d, N2, N1, "Tanyakan juga soal sekolah.", SUPERV, 3_000).unwrap();
        add_review(&mut d, N1, N1, "Bagus.", SUPERV, 2_500).unwrap();
        assert_eq!(
            reviews(&d),
            [
                CaseReview {
                    id: N1.into(),
                    note: N1.into(),
                    text: "Bagus.".into(),
                    by: SUPERV.into(),
                    at_ms: 2_500,
                },
                CaseReview {
                    id: N2.into(),
                    note: N1.into(),
                    text: "Tanyakan juga soal sekolah.".into(),
                    by: SUPERV.into(),
                    at_ms: 3_000,
                },
            ]
        );
        let heads = d.get_heads();
        not_found(add_review(&mut d, N3, N2, "x", SUPERV, 4_000), "case note");
        invalid(add_review(&mut d, N1, N1, "dup", SUPERV, 4_000));
        assert_eq!(d.get_heads(), heads);
    }

    #[test]
    fn concurrent_edits_to_one_notes_text_merge() {
        let mut a = space();
        add_note(&mut a, N1, "peserta cerita soal ujian", SUPP, 2_000).unwrap();
        let mut b = a.fork();
        edit_note(&mut a, N1, "Sesi 1: peserta cerita soal ujian", 3_000).unwrap();
        edit_note(&mut b, N1, "peserta cerita soal ujian dan tidur 🌧️", 3_500).unwrap();
        add_review(&mut b, N1, N1, "Lanjutkan.", SUPERV, 3_600).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        assert_eq!(
            notes(&a)[0].text,
            "Sesi 1: peserta cerita soal ujian dan tidur 🌧️"
        );
        assert_eq!(notes(&a), notes(&b));
        assert_eq!(reviews(&a), reviews(&b));
        assert_eq!(reviews(&a).len(), 1);
    }

    #[test]
    fn concurrent_notes_on_two_devices_merge() {
        let mut a = space();
        let mut b = AutoCommit::new();
        b.merge(&mut a).unwrap();
        invalid(init(&mut b, PAIR, 2_000));
        add_note(&mut a, N1, "dari HP", SUPP, 2_000).unwrap();
        add_note(&mut b, N2, "dari laptop", SUPP, 2_500).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(notes(&a).len(), 2);
    }

    #[test]
    fn refused_input_leaves_the_document_unchanged() {
        let mut d = space();
        add_note(&mut d, N1, "x", SUPP, 2_000).unwrap();
        let heads = d.get_heads();
        let short = "s".repeat(MAX_SHORT_CHARS + 1);
        let long = "l".repeat(MAX_TEXT_CHARS + 1);
        let upper = SUPP.to_uppercase();
        for (what, r) in [
            ("note id", add_note(&mut d, "xyz", "x", SUPP, 3)),
            (
                "note id upper",
                add_note(&mut d, "00000000000000AA", "x", SUPP, 3),
            ),
            ("note empty", add_note(&mut d, N2, "", SUPP, 3)),
            ("note blank", add_note(&mut d, N2, "  ", SUPP, 3)),
            ("note long", add_note(&mut d, N2, &long, SUPP, 3)),
            ("note by", add_note(&mut d, N2, "x", &upper, 3)),
            ("note dup", add_note(&mut d, N1, "x", SUPP, 3)),
            ("edit id", edit_note(&mut d, "1", "x", 3)),
            ("edit empty", edit_note(&mut d, N1, "", 3)),
            ("edit long", edit_note(&mut d, N1, &long, 3)),
            ("review id", add_review(&mut d, "", N1, "x", SUPERV, 3)),
            (
                "review note id",
                add_review(&mut d, N2, "n1", "x", SUPERV, 3),
            ),
            ("review empty", add_review(&mut d, N2, N1, "", SUPERV, 3)),
            ("review long", add_review(&mut d, N2, N1, &short, SUPERV, 3)),
            (
                "review by",
                add_review(&mut d, N2, N1, "x", "supervisor", 3),
            ),
        ] {
            assert!(matches!(r, Err(Error::InvalidInput(_))), "{what}: {r:?}");
        }
        assert_eq!(d.get_heads(), heads);
        assert_eq!(notes(&d)[0].text, "x");
        add_note(&mut d, N2, &"n".repeat(MAX_TEXT_CHARS), SUPP, 4).unwrap();
        add_review(&mut d, N1, N2, &"r".repeat(MAX_SHORT_CHARS), SUPERV, 4).unwrap();
    }

    #[test]
    fn malformed_data_from_a_hostile_peer_reads_defensively() {
        let mut d = space();
        add_note(&mut d, N1, "asli", SUPP, 2_000).unwrap();
        add_review(&mut d, N1, N1, "ok", SUPERV, 2_000).unwrap();
        // What a hostile peer could write straight into the document.
        let notes_c = container(&d, NOTES).unwrap();
        let n1 = d.get(&notes_c, N1).unwrap().unwrap().1;
        d.put(&n1, "text", 42).unwrap(); // text unreadable: note skipped
        let n2 = d.put_object(&notes_c, N2, ObjType::Map).unwrap();
        d.put(&n2, "text", "teks biasa").unwrap(); // a str instead of Text: still read
        d.put(&n2, "by", 1).unwrap();
        d.put(&n2, "at", "kemarin").unwrap();
        d.put(&notes_c, N3, "not a map").unwrap();
        let bad = d.put_object(&notes_c, "not-an-id", ObjType::Map).unwrap();
        d.put(&bad, "text", "x").unwrap();
        let reviews_c = container(&d, REVIEWS).unwrap();
        let r2 = d.put_object(&reviews_c, N2, ObjType::Map).unwrap();
        d.put(&r2, "text", "tanpa catatan").unwrap();
        d.put(&r2, "note", 5).unwrap();
        let r3 = d.put_object(&reviews_c, N3, ObjType::Map).unwrap();
        d.put_object(&r3, "text", ObjType::Text).unwrap(); // not a str: skipped
        d.put(
            ROOT,
            ABOUT,
            "Nama Asli Peserta yang terlalu panjang dan berisi spasi",
        )
        .unwrap();
        d.commit();

        assert_eq!(about(&d), None);
        assert_eq!(
            notes(&d),
            [CaseNote {
                id: N2.into(),
                text: "teks biasa".into(),
                by: String::new(),
                at_ms: 0,
                edited_ms: 0,
            }]
        );
        let all = reviews(&d);
        assert_eq!(
            all.iter()
                .map(|r| (r.id.as_str(), r.note.as_str(), r.at_ms))
                .collect::<Vec<_>>(),
            [(N2, "", 0), (N1, N1, 2_000)]
        );

        // Writes repair what they touch and go on working.
        edit_note(&mut d, N1, "diperbaiki", 3_000).unwrap();
        edit_note(&mut d, N2, "teks biasa, diubah", 3_000).unwrap();
        let all = notes(&d);
        assert_eq!(
            all.iter()
                .map(|n| (n.id.as_str(), n.text.as_str()))
                .collect::<Vec<_>>(),
            [(N2, "teks biasa, diubah"), (N1, "diperbaiki")]
        );
        not_found(edit_note(&mut d, N3, "x", 3_000), "case note");
        not_found(
            add_review(&mut d, "0000000000000009", N3, "x", SUPERV, 3_000),
            "case note",
        );
    }

    #[test]
    fn malformed_containers_read_as_empty_and_refuse_writes() {
        let mut d = AutoCommit::new();
        d.put(ROOT, NOTES, "not a map").unwrap();
        d.put_object(ROOT, REVIEWS, ObjType::List).unwrap();
        d.put_object(ROOT, ABOUT, ObjType::Map).unwrap();
        d.commit();
        assert!(notes(&d).is_empty() && reviews(&d).is_empty());
        assert_eq!(about(&d), None);
        let heads = d.get_heads();
        not_found(add_note(&mut d, N1, "x", SUPP, 1), "case notes");
        not_found(add_review(&mut d, N1, N1, "x", SUPERV, 1), "case notes");
        invalid(init(&mut d, PAIR, 1));
        assert_eq!(d.get_heads(), heads);
    }

    #[test]
    fn one_commit_per_action_with_the_actions_time() {
        let mut d = space();
        let before = d.get_changes(&[]).len();
        add_note(&mut d, N1, "x", SUPP, 7_000_000).unwrap();
        edit_note(&mut d, N1, "xy", 8_000_000).unwrap();
        add_review(&mut d, N1, N1, "ok", SUPERV, 9_000_000).unwrap();
        let changes = d.get_changes(&[]);
        assert_eq!(changes.len(), before + 3);
        assert_eq!(changes.last().unwrap().timestamp(), 9_000);
    }
}
