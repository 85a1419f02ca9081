//! The journal: a person's private entries, as a typed view over an Automerge document.
//!
//! Shape (version 2): the root map is keyed by entry id; each entry is a map
//! `{ text: str, mood: int 1–5, tags: [str], created: int ms, edited: int ms }`. Entries are keyed by
//! id, never kept in a list, so two devices adding entries offline never conflict. There is no wrapper
//! object to create first: a second device can write before it has seen the first device's changes
//! without two competing "entries" maps. Each user action is one commit (never one per keystroke).
//!
//! Why the text is a plain string, not an Automerge Text (version 1 wrote Text): Automerge keeps one
//! operation per character ever typed, and loading a document inflates all of them at once. A
//! 10,000-change journal (workloads.md, `ops(1, 10000)`) peaked at 235 MB while loading as Text and
//! at 28 MB as strings (`sebaya-bench --only snapshot` records both); a journal must open on a
//! low-end phone. What Text gave — edits made on two devices to different parts of one entry both
//! survive — is kept by a merge at read time ([`get`]): concurrent versions of an entry's text are
//! three-way merged against the version they both started from when their changed regions do not
//! overlap; otherwise the newest stays the text and the others are kept in
//! [`JournalEntry::conflicts`] until the next edit settles them. Entries written as Text by version
//! 1 stay Text and are still edited in place.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};

use crate::error::{Error, Result};
use crate::space::doc::{check_mood, merge3, splice_changed_middle};

mod api;
pub mod erase;
pub mod trends;

/// Key of an entry's list of versions that were concurrent, unmerged, when the journal was copied
/// (erasing other entries for good makes a copy, which cannot keep concurrency): shown as
/// conflicts until the next edit of the text.
pub const OTHER_VERSIONS: &str = "other_versions";
/// Most versions kept in [`OTHER_VERSIONS`] (and read from it).
const MAX_OTHER_VERSIONS: usize = 16;
/// Longest entry text accepted, in characters (the limit of every long text in a space's document).
pub use crate::space::doc::MAX_TEXT_CHARS;
/// Most tags on one entry.
pub const MAX_TAGS: usize = 16;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;

/// One journal entry as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// The text, merged across devices.
    pub text: String,
    /// Versions of the text written concurrently on other devices that could not be merged into
    /// `text` (their edits overlap): the app shows them so the person can choose; the next edit
    /// that passes a text settles them (so pass a text only when the person changed or chose it).
    /// Empty almost always.
    pub conflicts: Vec<String>,
    /// Mood 1 (very low) to 5 (very good).
    pub mood: u8,
    /// Free tags.
    pub tags: Vec<String>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Last edit time, milliseconds since the Unix epoch.
    pub edited_ms: i64,
}

fn check_text(text: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::InvalidInput(format!(
            "text is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(())
}

fn check_tags(tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::InvalidInput(format!("more than {MAX_TAGS} tags")));
    }
    if tags
        .iter()
        .any(|t| t.chars().count() > MAX_TAG_CHARS || t.is_empty())
    {
        return Err(Error::InvalidInput(format!(
            "a tag is empty or longer than {MAX_TAG_CHARS} characters"
        )));
    }
    Ok(())
}

/// An id as every shared record has: 16 lowercase hex characters.
fn check_id(id: &str) -> Result<()> {
    crate::space::doc::check_id(id, "entry")
}

fn commit(doc: &mut AutoCommit, now_ms: i64) {
    doc.commit_with(CommitOptions::default().with_time(now_ms / 1000));
}

/// The entry under `id`: of several copies put there concurrently (an erasure's carry-over), the
/// last edited (protocol 27.4).
fn entry_obj(doc: &AutoCommit, id: &str) -> Result<ObjId> {
    crate::space::doc::root_record(doc, id).ok_or(Error::NotFound("journal entry"))
}

/// Adds an entry with the given id; one commit.
pub fn add(
    doc: &mut AutoCommit,
    id: &str,
    text: &str,
    mood: u8,
    tags: &[String],
    now_ms: i64,
) -> Result<()> {
    check_id(id)?;
    check_mood(mood)?;
    check_text(text)?;
    check_tags(tags)?;
    if doc.get(automerge::ROOT, id)?.is_some() {
        return Err(Error::InvalidInput("an entry with this id exists".into()));
    }
    let e = doc.put_object(automerge::ROOT, id, ObjType::Map)?;
    doc.put(&e, "text", text)?;
    doc.put(&e, "mood", i64::from(mood))?;
    let l = doc.put_object(&e, "tags", ObjType::List)?;
    for (i, tag) in tags.iter().enumerate() {
        doc.insert(&l, i, tag.as_str())?;
    }
    doc.put(&e, "created", now_ms)?;
    doc.put(&e, "edited", now_ms)?;
    commit(doc, now_ms);
    Ok(())
}

/// Changes an entry; only the given fields. Only the changed middle of the text is replaced, so an edit
/// on another device to a different part of the text merges instead of being overwritten. One commit.
pub fn edit(
    doc: &mut AutoCommit,
    id: &str,
    text: Option<&str>,
    mood: Option<u8>,
    tags: Option<&[String]>,
    now_ms: i64,
) -> Result<()> {
    check_id(id)?;
    if let Some(m) = mood {
        check_mood(m)?;
    }
    if let Some(t) = text {
        check_text(t)?;
    }
    if let Some(t) = tags {
        check_tags(t)?;
    }
    let e = entry_obj(doc, id)?;
    if let Some(new_text) = text {
        match doc.get(&e, "text")? {
            // Written as Text by version 1: edited in place, as it was.
            Some((Value::Object(ObjType::Text), t)) if doc.get_all(&e, "text")?.len() == 1 => {
                splice_changed_middle(doc, &t, new_text)?;
            }
            _ => {
                // A put supersedes every concurrent version, which settles any conflict; an
                // unchanged text without conflicts writes nothing.
                // A merged entry keeps several values until one is put over them: saving it, even
                // unchanged, settles it, so reading it stops costing a merge.
                let (shown, _) = read_text(doc, &e);
                if shown.as_deref() != Some(new_text) || doc.get_all(&e, "text")?.len() > 1 {
                    doc.put(&e, "text", new_text)?;
                }
            }
        }
        // The text was chosen: versions kept from a copy are settled too.
        if doc.get(&e, OTHER_VERSIONS)?.is_some() {
            doc.delete(&e, OTHER_VERSIONS)?;
        }
    }
    if let Some(m) = mood {
        doc.put(&e, "mood", i64::from(m))?;
    }
    if let Some(tags) = tags {
        let l = doc.put_object(&e, "tags", ObjType::List)?;
        for (i, tag) in tags.iter().enumerate() {
            doc.insert(&l, i, tag.as_str())?;
        }
    }
    doc.put(&e, "edited", now_ms)?;
    commit(doc, now_ms);
    Ok(())
}

/// After a copy of the document (erasing entries for good), gives an entry the text that was shown,
/// without a commit of its own, when the copy holds another, and keeps the versions it could not
/// merge in [`OTHER_VERSIONS`] (at most 16). Version 1 Text is left as copied.
pub(crate) fn set_text_as_copied(doc: &mut AutoCommit, entry: &JournalEntry) -> Result<()> {
    let e = entry_obj(doc, &entry.id)?;
    if let Some((Value::Scalar(s), _)) = doc.get(&e, "text")? {
        if s.as_str() != Some(entry.text.as_str()) {
            doc.put(&e, "text", entry.text.as_str())?;
        }
    }
    if !entry.conflicts.is_empty() {
        let l = doc.put_object(&e, OTHER_VERSIONS, ObjType::List)?;
        for (i, t) in entry.conflicts.iter().take(MAX_OTHER_VERSIONS).enumerate() {
            doc.insert(&l, i, t.as_str())?;
        }
    }
    Ok(())
}

/// Deletes an entry from the current state; one commit. (Its old text stays in the document's
/// history until the period's key is destroyed: see docs/threat-model.md.)
pub fn delete(doc: &mut AutoCommit, id: &str, now_ms: i64) -> Result<()> {
    check_id(id)?;
    entry_obj(doc, id)?;
    doc.delete(automerge::ROOT, id)?;
    commit(doc, now_ms);
    Ok(())
}

fn int(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<i64> {
    match doc.get(obj, key).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Int(i) => Some(*i),
            ScalarValue::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// One value of an entry's `text`: a string (version 2) or a Text object (version 1). Anything else
/// (written by a buggy or hostile peer) is no text.
fn text_value(doc: &AutoCommit, value: &Value<'_>, obj: &ObjId) -> Option<String> {
    match value {
        Value::Object(ObjType::Text) => doc.text(obj).ok(),
        Value::Scalar(s) => s.as_str().map(str::to_string),
        _ => None,
    }
}

/// The text every concurrent version of `text` started from: the value before the change that wrote
/// `op`, when that was a single version.
fn base_of(doc: &AutoCommit, entry: &ObjId, op: &ObjId) -> Option<String> {
    let hash = doc.hash_for_opid(op)?;
    let change = doc.get_change_by_hash(&hash)?;
    let before = doc.get_all_at(entry, "text", change.deps()).ok()?;
    match before.as_slice() {
        // A version 1 Text as it read then, not as it reads now.
        [(Value::Object(ObjType::Text), o)] => doc.text_at(o, change.deps()).ok(),
        [(v, o)] => text_value(doc, v, o),
        // No text before it, or the base was itself a conflict: no single base to merge against.
        _ => None,
    }
}

/// An entry's text as shown, and the versions that could not be merged into it: concurrent values,
/// then those kept in [`OTHER_VERSIONS`].
fn read_text(doc: &AutoCommit, entry: &ObjId) -> (Option<String>, Vec<String>) {
    let (text, mut conflicts) = read_concurrent_text(doc, entry);
    if let Some((Value::Object(ObjType::List), l)) = doc.get(entry, OTHER_VERSIONS).ok().flatten() {
        for i in 0..doc.length(&l).min(MAX_OTHER_VERSIONS) {
            if let Some((Value::Scalar(s), _)) = doc.get(&l, i).ok().flatten() {
                if let Some(t) = s.as_str() {
                    if text.as_deref() != Some(t) && !conflicts.iter().any(|c| c == t) {
                        conflicts.push(t.to_string());
                    }
                }
            }
        }
    }
    (text, conflicts)
}

/// [`read_text`] without the kept versions.
fn read_concurrent_text(doc: &AutoCommit, entry: &ObjId) -> (Option<String>, Vec<String>) {
    let all = doc.get_all(entry, "text").unwrap_or_default();
    let versions: Vec<(String, ObjId)> = all
        .iter()
        .filter_map(|(v, o)| Some((text_value(doc, v, o)?, o.clone())))
        .collect();
    // The newest version (Automerge's winner) last, as get_all orders them.
    let winner = match versions.last() {
        Some((t, _)) => t.clone(),
        None => return (None, Vec::new()),
    };
    let mut distinct: Vec<String> = Vec::new();
    for (t, _) in &versions {
        if !distinct.contains(t) {
            distinct.push(t.clone());
        }
    }
    if distinct.len() == 1 {
        return (Some(winner), Vec::new());
    }
    let bases: Vec<Option<String>> = versions
        .iter()
        .map(|(_, o)| base_of(doc, entry, o))
        .collect();
    if let Some(Some(base)) = bases.first() {
        if bases.iter().all(|b| b.as_ref() == Some(base)) {
            let texts: Vec<&str> = distinct.iter().map(String::as_str).collect();
            if let Some(merged) = merge3(base, &texts) {
                return (Some(merged), Vec::new());
            }
        }
    }
    let others = distinct.into_iter().filter(|t| *t != winner).collect();
    (Some(winner), others)
}

/// Reads one entry. A malformed entry (written by a buggy or hostile peer) reads as `None`.
pub fn get(doc: &AutoCommit, id: &str) -> Option<JournalEntry> {
    let e = entry_obj(doc, id).ok()?;
    let (text, conflicts) = read_text(doc, &e);
    let text = text.unwrap_or_default();
    let mood = u8::try_from(int(doc, &e, "mood")?)
        .ok()
        .filter(|m| (1..=5).contains(m))?;
    let mut tags = Vec::new();
    if let Some((Value::Object(ObjType::List), l)) = doc.get(&e, "tags").ok().flatten() {
        for i in 0..doc.length(&l) {
            if let Some((Value::Scalar(s), _)) = doc.get(&l, i).ok().flatten() {
                if let Some(t) = s.as_str() {
                    tags.push(t.to_string());
                }
            }
        }
    }
    Some(JournalEntry {
        id: id.to_string(),
        text,
        conflicts,
        mood,
        tags,
        created_ms: int(doc, &e, "created").unwrap_or(0),
        edited_ms: int(doc, &e, "edited").unwrap_or(0),
    })
}

/// Every entry, oldest first (by creation time, then id).
pub fn list(doc: &AutoCommit) -> Vec<JournalEntry> {
    let mut out: Vec<JournalEntry> = doc
        .keys(automerge::ROOT)
        .filter(|k| check_id(k).is_ok())
        .filter_map(|k| get(doc, &k))
        .collect();
    crate::order::sort_by(&mut out, |a, b| {
        a.created_ms
            .cmp(&b.created_ms)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn merged(base: &str, left: &str, right: &str) -> String {
        concurrent(base, left, right).text
    }

    #[test]
    fn edits_to_different_parts_merge_with_multibyte_text() {
        assert_eq!(
            merged("café naïve", "Ya, café naïve", "café naïve 🌧️ hujan"),
            "Ya, café naïve 🌧️ hujan"
        );
        assert_eq!(
            merged("aku sedih", "aku senang", "aku sedih sekali"),
            "aku senang sekali"
        );
    }

    #[test]
    fn a_rewrite_reads_back_exactly() {
        let mut d = AutoCommit::new();
        add(&mut d, "00000000000000bb", "héllo wörld", 3, &[], 1).unwrap();
        for t in [
            "héllo wörld!",
            "¡héllo wörld!",
            "¡hé wörld!",
            "",
            "完全に新しい 📓",
            "完全に新しい 📓",
        ] {
            edit(&mut d, "00000000000000bb", Some(t), None, None, 2).unwrap();
            assert_eq!(get(&d, "00000000000000bb").unwrap().text, t);
        }
    }

    /// Two devices edit the same entry offline; returns the merged device's view.
    fn concurrent(base: &str, left: &str, right: &str) -> JournalEntry {
        let mut a = AutoCommit::new();
        add(&mut a, "00000000000000aa", base, 3, &[], 1).unwrap();
        let mut b = a.fork();
        edit(&mut a, "00000000000000aa", Some(left), None, None, 2).unwrap();
        edit(&mut b, "00000000000000aa", Some(right), None, None, 3).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (ea, eb) = (
            get(&a, "00000000000000aa").unwrap(),
            get(&b, "00000000000000aa").unwrap(),
        );
        assert_eq!(ea, eb, "both devices show the same");
        ea
    }

    #[test]
    fn entries_are_written_as_strings_not_text() {
        let mut d = AutoCommit::new();
        add(&mut d, "00000000000000ab", "satu dua", 3, &[], 1).unwrap();
        edit(
            &mut d,
            "00000000000000ab",
            Some("satu dua tiga"),
            None,
            None,
            2,
        )
        .unwrap();
        let e = entry_obj(&d, "00000000000000ab").unwrap();
        assert!(matches!(
            d.get(&e, "text").unwrap(),
            Some((Value::Scalar(_), _))
        ));
        assert_eq!(get(&d, "00000000000000ab").unwrap().text, "satu dua tiga");
    }

    #[test]
    fn overlapping_edits_keep_every_version_until_the_next_edit() {
        let e = concurrent(
            "aku sedih hari ini",
            "aku senang hari ini",
            "aku marah hari ini",
        );
        let mut all = e.conflicts.clone();
        all.push(e.text.clone());
        all.sort();
        assert_eq!(all, ["aku marah hari ini", "aku senang hari ini"]);
        assert_eq!(e.conflicts.len(), 1);
        // Two insertions at the same place: nobody chose their order, so both are kept.
        let e = concurrent("hari ini", "hari ini cerah", "hari ini hujan");
        assert_eq!(e.conflicts.len(), 1);
        // The next edit settles it, on any device.
        let mut a = AutoCommit::new();
        add(&mut a, "00000000000000aa", "x", 3, &[], 1).unwrap();
        let mut b = a.fork();
        edit(&mut a, "00000000000000aa", Some("y"), None, None, 2).unwrap();
        edit(&mut b, "00000000000000aa", Some("z"), None, None, 3).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(get(&a, "00000000000000aa").unwrap().conflicts.len(), 1);
        let shown = get(&a, "00000000000000aa").unwrap().text;
        // Saving the shown text unchanged still settles the conflict.
        edit(&mut a, "00000000000000aa", Some(&shown), None, None, 4).unwrap();
        b.merge(&mut a).unwrap();
        let e = get(&b, "00000000000000aa").unwrap();
        assert_eq!((e.text, e.conflicts.len()), (shown, 0));
    }

    #[test]
    fn same_edit_on_two_devices_and_edits_from_different_bases() {
        let e = concurrent("hujan", "hujan deras", "hujan deras");
        assert_eq!((e.text.as_str(), e.conflicts.len()), ("hujan deras", 0));
        // One device edited twice, the other once: their versions started from different texts, so
        // neither is merged away; both stay.
        let mut a = AutoCommit::new();
        add(&mut a, "00000000000000aa", "satu", 3, &[], 1).unwrap();
        let mut b = a.fork();
        edit(&mut a, "00000000000000aa", Some("satu dua"), None, None, 2).unwrap();
        edit(
            &mut a,
            "00000000000000aa",
            Some("satu dua tiga"),
            None,
            None,
            3,
        )
        .unwrap();
        edit(&mut b, "00000000000000aa", Some("nol satu"), None, None, 4).unwrap();
        a.merge(&mut b).unwrap();
        let e = get(&a, "00000000000000aa").unwrap();
        let mut all = e.conflicts.clone();
        all.push(e.text);
        all.sort();
        assert_eq!(all, ["nol satu", "satu dua tiga"]);
    }

    #[test]
    fn version_1_text_entries_are_read_and_edited_in_place() {
        let mut a = AutoCommit::new();
        let e = a
            .put_object(automerge::ROOT, "00000000000000ac", ObjType::Map)
            .unwrap();
        let t = a.put_object(&e, "text", ObjType::Text).unwrap();
        a.splice_text(&t, 0, 0, "kami bicara").unwrap();
        a.put(&e, "mood", 3).unwrap();
        a.commit();
        let mut b = a.fork();
        edit(
            &mut a,
            "00000000000000ac",
            Some("Hari ini kami bicara"),
            None,
            None,
            2,
        )
        .unwrap();
        edit(
            &mut b,
            "00000000000000ac",
            Some("kami bicara lama"),
            None,
            None,
            3,
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        let e2 = get(&a, "00000000000000ac").unwrap();
        assert_eq!(e2.text, "Hari ini kami bicara lama");
        assert!(matches!(
            a.get(&e, "text").unwrap(),
            Some((Value::Object(ObjType::Text), _))
        ));
    }

    #[test]
    fn saving_a_merged_entry_settles_it_and_kept_versions_show_until_the_next_edit() {
        let mut a = AutoCommit::new();
        add(&mut a, "00000000000000aa", "abc", 3, &[], 1).unwrap();
        let mut b = a.fork();
        edit(&mut a, "00000000000000aa", Some("xabc"), None, None, 2).unwrap();
        edit(&mut b, "00000000000000aa", Some("abcy"), None, None, 3).unwrap();
        a.merge(&mut b).unwrap();
        let e = entry_obj(&a, "00000000000000aa").unwrap();
        assert_eq!(a.get_all(&e, "text").unwrap().len(), 2);
        edit(&mut a, "00000000000000aa", Some("xabcy"), None, None, 4).unwrap();
        assert_eq!(a.get_all(&e, "text").unwrap().len(), 1, "settled");
        assert_eq!(get(&a, "00000000000000aa").unwrap().text, "xabcy");

        // A copy keeps versions it could not make concurrent again.
        let mut copy = AutoCommit::new();
        add(&mut copy, "00000000000000aa", "satu", 3, &[], 1).unwrap();
        let shown = JournalEntry {
            conflicts: vec!["dua".into()],
            ..get(&copy, "00000000000000aa").unwrap()
        };
        set_text_as_copied(&mut copy, &shown).unwrap();
        copy.commit();
        assert_eq!(get(&copy, "00000000000000aa").unwrap().conflicts, ["dua"]);
        edit(&mut copy, "00000000000000aa", None, Some(4), None, 2).unwrap();
        assert_eq!(
            get(&copy, "00000000000000aa").unwrap().conflicts,
            ["dua"],
            "a mood edit keeps them"
        );
        edit(&mut copy, "00000000000000aa", Some("satu"), None, None, 3).unwrap();
        assert!(get(&copy, "00000000000000aa").unwrap().conflicts.is_empty());
    }

    /// A document of actor `actor` (16 bytes of that value) that first writes `before` other
    /// entries, then entry `1000000000000000` with `text` and `edited` (created 1).
    fn copy(actor: u8, before: usize, text: &str, edited: Option<i64>) -> AutoCommit {
        let mut d = AutoCommit::new().with_actor(automerge::ActorId::from([actor; 16].as_slice()));
        for i in 0..before {
            add(&mut d, &format!("{i:016x}"), "x", 3, &[], 1).unwrap();
        }
        let e = d
            .put_object(automerge::ROOT, "1000000000000000", ObjType::Map)
            .unwrap();
        d.put(&e, "text", text).unwrap();
        d.put(&e, "mood", 3).unwrap();
        if let Some(t) = edited {
            d.put(&e, "created", 1).unwrap();
            d.put(&e, "edited", t).unwrap();
        }
        d.commit();
        d
    }

    /// Both orders of merging two copies; each must read `expected`.
    fn read_both_ways(mut first: AutoCommit, mut second: AutoCommit, expected: &str) {
        let mut a = first.fork();
        a.merge(&mut second).unwrap();
        let mut b = second.fork();
        b.merge(&mut first).unwrap();
        for d in [&a, &b] {
            let all = d.get_all(automerge::ROOT, "1000000000000000").unwrap();
            assert_eq!(all.len(), 2, "two concurrent copies");
            assert_eq!(get(d, "1000000000000000").unwrap().text, expected);
        }
    }

    #[test]
    /// The vectors of docs/protocol.md 27.4: of concurrent copies of one entry, the last edited is
    /// read, whatever Automerge's own winner (here always copy 1, whose operation counter is higher).
    fn the_section_27_4_vectors_read_the_last_edited_copy() {
        let mut newer_second = (copy(1, 1, "older", Some(10)), copy(2, 0, "newer", Some(20)));
        let mut merged = newer_second.0.fork();
        merged.merge(&mut newer_second.1.fork()).unwrap();
        assert!(
            matches!(merged.get(automerge::ROOT, "1000000000000000").unwrap(),
                Some((Value::Object(ObjType::Map), ref o)) if doc_text(&merged, o) == "older"),
            "Automerge alone would show the older copy"
        );
        read_both_ways(newer_second.0, newer_second.1, "newer");
        // Equal times: Automerge's winner.
        read_both_ways(
            copy(1, 1, "one", Some(10)),
            copy(2, 0, "two", Some(10)),
            "one",
        );
        // A copy without times is older than any with one.
        read_both_ways(copy(1, 1, "a", None), copy(2, 0, "b", Some(5)), "b");
        // An edit made on the copy that lost makes it the newest: it is read, and the next edit
        // goes to it.
        let mut first = copy(1, 1, "older", Some(10));
        edit(
            &mut first,
            "1000000000000000",
            Some("latest"),
            None,
            None,
            30,
        )
        .unwrap();
        let mut second = copy(2, 0, "newer", Some(20));
        read_both_ways(first.fork(), second.fork(), "latest");
        first.merge(&mut second).unwrap();
        edit(&mut first, "1000000000000000", None, Some(5), None, 40).unwrap();
        let e = get(&first, "1000000000000000").unwrap();
        assert_eq!((e.text.as_str(), e.mood, e.edited_ms), ("latest", 5, 40));
        // Deleting removes every copy the deleting device saw.
        delete(&mut first, "1000000000000000", 50).unwrap();
        assert!(get(&first, "1000000000000000").is_none());
    }

    fn doc_text(d: &AutoCommit, o: &ObjId) -> String {
        match d.get(o, "text").unwrap() {
            Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_string(),
            _ => String::new(),
        }
    }

    #[test]
    fn bad_input_is_refused_with_typed_errors() {
        let mut d = AutoCommit::new();
        assert!(matches!(
            add(&mut d, "xyz", "t", 3, &[], 1),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            add(&mut d, "00000000000000cc", "t", 0, &[], 1),
            Err(Error::InvalidInput(_))
        ));
        let long = "a".repeat(MAX_TEXT_CHARS + 1);
        assert!(matches!(
            add(&mut d, "00000000000000cc", &long, 3, &[], 1),
            Err(Error::InvalidInput(_))
        ));
        let tags: Vec<String> = (0..=MAX_TAGS).map(|i| i.to_string()).collect();
        assert!(matches!(
            add(&mut d, "00000000000000cc", "t", 3, &tags, 1),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            delete(&mut d, "00000000000000cc", 1),
            Err(Error::NotFound(_))
        ));
        assert!(list(&d).is_empty(), "nothing was written by refused calls");
    }
}
