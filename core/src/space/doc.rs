//! Typed-document helpers shared by every view over a space's Automerge document (journal, groups,
//! pairings, case notes, care records, safety plans, report inputs): checking ids and text lengths,
//! committing one user action as one change, finding containers and records defensively, reading
//! scalars, and editing or merging texts so that concurrent edits to different parts survive.
//!
//! They live with the space, not with any one view, because every domain's document is written and
//! read the same way; a domain that needs one of these reaches down to the space, never sideways
//! into another domain.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, TextEncoding, Value};

use crate::error::{Error, Result};

/// Longest short text accepted (a group name, note title, agenda item, action, action owner, coping
/// idea, session topic, goal, review), in characters: one line a person types, never a document.
pub const MAX_SHORT_CHARS: usize = 500;
/// Longest long text accepted (a journal entry, a note, a check-in), in characters: bounds what one
/// change can add to a document every member must load.
pub const MAX_TEXT_CHARS: usize = 100_000;

// ---- validation ---------------------------------------------------------------------------------

pub(crate) fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn check_id(id: &str, what: &str) -> Result<()> {
    if is_lower_hex(id, 16) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{what} id must be 16 lowercase hex characters"
        )))
    }
}

pub(crate) fn check_device(hex: &str, what: &str) -> Result<()> {
    if is_lower_hex(hex, 64) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{what} must be a device id of 64 lowercase hex characters"
        )))
    }
}

/// Whether `t` is a one-line text of 1 to `max` characters, not blank, with no control character
/// (a name, a reference, a reason kept in a record).
pub(crate) fn is_short_text(t: &str, max: usize) -> bool {
    !t.trim().is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)
}

/// A short text: at most [`MAX_SHORT_CHARS`]; when `required`, not empty or blank.
pub(crate) fn check_short(text: &str, what: &str, required: bool) -> Result<()> {
    if required && text.trim().is_empty() {
        return Err(Error::InvalidInput(format!("{what} is empty")));
    }
    if text.chars().count() > MAX_SHORT_CHARS {
        return Err(Error::InvalidInput(format!(
            "{what} is longer than {MAX_SHORT_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) fn check_long(text: &str, what: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::InvalidInput(format!(
            "{what} is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(())
}

/// A mood, as journal entries and pairing check-ins record it: 1 (very low) to 5 (very good).
pub(crate) fn check_mood(mood: u8) -> Result<()> {
    if (1..=5).contains(&mood) {
        Ok(())
    } else {
        Err(Error::InvalidInput("mood must be between 1 and 5".into()))
    }
}

// ---- writing ------------------------------------------------------------------------------------

/// Runs the writes of one user action and commits them as one change; if a write fails, rolls them
/// back so the document is as it was.
pub(crate) fn write(
    doc: &mut AutoCommit,
    now_ms: i64,
    ops: impl FnOnce(&mut AutoCommit) -> Result<()>,
) -> Result<()> {
    match ops(doc) {
        Ok(()) => {
            doc.commit_with(CommitOptions::default().with_time(now_ms / 1000));
            Ok(())
        }
        Err(e) => {
            doc.rollback();
            Err(e)
        }
    }
}

/// A top-level container of a shared-space document, for writing: missing or malformed means the
/// creator's `init` has not arrived, reported as `NotFound(space)` (never create it here: two devices
/// creating one container at once lose one of them; see the `groups` module doc). Shared by every shared-space view.
pub(crate) fn container_in(doc: &AutoCommit, key: &str, space: &'static str) -> Result<ObjId> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
        _ => Err(Error::NotFound(space)),
    }
}

/// The container `key`, checked to have no record `id` yet (`what` names the record in the error).
pub(crate) fn new_record_in(
    doc: &AutoCommit,
    key: &str,
    id: &str,
    what: &str,
    space: &'static str,
) -> Result<ObjId> {
    let c = container_in(doc, key, space)?;
    if doc.get(&c, id)?.is_some() {
        return Err(Error::InvalidInput(format!("a {what} with this id exists")));
    }
    Ok(c)
}

/// The Text object at `obj[key]`, created (replacing whatever is there) when a faulty peer left
/// something else.
pub(crate) fn text_obj(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::Text), t)) => Ok(t),
        _ => Ok(doc.put_object(obj, key, ObjType::Text)?),
    }
}

/// The Map object at `obj[key]`, created when a faulty peer left something else.
pub(crate) fn map_obj(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::Map), m)) => Ok(m),
        _ => Ok(doc.put_object(obj, key, ObjType::Map)?),
    }
}

pub(crate) fn put_text(doc: &mut AutoCommit, obj: &ObjId, key: &str, text: &str) -> Result<()> {
    let t = doc.put_object(obj, key, ObjType::Text)?;
    doc.splice_text(&t, 0, 0, text)?;
    Ok(())
}

// ---- reading ------------------------------------------------------------------------------------

fn scalar(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key).ok().flatten() {
        Some((Value::Scalar(s), _)) => Some(s.into_owned()),
        _ => None,
    }
}

pub(crate) fn int(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<i64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Int(i) => Some(i),
        ScalarValue::Uint(u) => i64::try_from(u).ok(),
        _ => None,
    }
}

pub(crate) fn string(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    scalar(doc, obj, key)?.as_str().map(str::to_string)
}

pub(crate) fn boolean(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<bool> {
    match scalar(doc, obj, key)? {
        ScalarValue::Boolean(b) => Some(b),
        _ => None,
    }
}

/// A text field: a Text object, or (from a faulty peer) a string scalar.
pub(crate) fn text_field(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok().flatten() {
        Some((Value::Object(ObjType::Text), t)) => doc.text(&t).ok(),
        Some((Value::Scalar(s), _)) => s.as_str().map(str::to_string),
        _ => None,
    }
}

/// A top-level container, for reading: `None` when missing or malformed (read as empty).
pub(crate) fn read_container(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    container_in(doc, key, "space").ok()
}

pub(crate) fn read_record(doc: &AutoCommit, c: &ObjId, id: &str) -> Option<ObjId> {
    match doc.get(c, id).ok().flatten() {
        Some((Value::Object(ObjType::Map), obj)) if is_lower_hex(id, 16) => Some(obj),
        _ => None,
    }
}

/// The fields whose largest value is a root record's time (protocol 27.4): a journal entry's
/// `created` and `edited`, a safety plan item's `added` and `edited`, a screening's `at`.
const TIME_FIELDS: [&str; 4] = ["created", "edited", "added", "at"];

/// A record's time: the largest integer among the values of its time fields, concurrent values
/// included (an edit made on two devices at once counts by the later). `None` without any.
pub(crate) fn record_time(doc: &AutoCommit, obj: &ObjId) -> Option<i64> {
    TIME_FIELDS
        .iter()
        .flat_map(|f| doc.get_all(obj, *f).unwrap_or_default())
        .filter_map(|(v, _)| match v {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Int(i) => Some(*i),
                ScalarValue::Uint(u) => i64::try_from(*u).ok(),
                _ => None,
            },
            _ => None,
        })
        .max()
}

/// The record under a root key of a document whose records live at its root (the journal's
/// entries, safety plan items and screening totals): a map. Why not simply Automerge's value: when
/// a journal is erased, every device that wrote into it meanwhile copies its records into the new
/// journal, so one key can hold several maps put concurrently, and Automerge's choice among them
/// (by operation id) says nothing about which is newer. The record is the map with the latest
/// time ([`record_time`]); of equal times, Automerge's order decides (its winner last). Every device
/// reads the same record from the same document, whatever order the copies arrived in (protocol
/// 27.4). Edits and deletions go to this record too, so an edit keeps it chosen.
pub(crate) fn root_record(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    doc.get_all(ROOT, key)
        .ok()?
        .into_iter()
        .enumerate()
        .filter_map(|(i, (v, obj))| match v {
            Value::Object(ObjType::Map) => Some((record_time(doc, &obj), i, obj)),
            _ => None,
        })
        .max_by_key(|(time, i, _)| (*time, *i))
        .map(|(_, _, obj)| obj)
}

/// Every well-formed record of a container, read by `read`.
pub(crate) fn read_all<T>(
    doc: &AutoCommit,
    key: &str,
    read: impl Fn(&AutoCommit, &str, &ObjId) -> Option<T>,
) -> Vec<T> {
    let Some(c) = read_container(doc, key) else {
        return Vec::new();
    };
    doc.keys(&c)
        .filter_map(|id| read(doc, &id, &read_record(doc, &c, &id)?))
        .collect()
}

// ---- texts ------------------------------------------------------------------------------------

fn width(enc: TextEncoding, s: &str) -> Option<usize> {
    match enc {
        TextEncoding::UnicodeCodePoint => Some(s.chars().count()),
        TextEncoding::Utf8CodeUnit => Some(s.len()),
        TextEncoding::Utf16CodeUnit => Some(s.encode_utf16().count()),
        TextEncoding::GraphemeCluster => None,
    }
}

/// Replaces only what changed between the old and the new text: the part between their common prefix
/// and common suffix, as one splice. A typed insertion, deletion or replacement touches only itself, so
/// edits made on two devices to different parts of an entry both survive the merge; a full rewrite is a
/// single splice, as small as Automerge allows. (A character-level diff, `update_text`, interleaves many
/// tiny splices when a text is rewritten: measured 2.6x larger documents on the W1 workload.)
pub(crate) fn splice_changed_middle(
    doc: &mut AutoCommit,
    text: &ObjId,
    new_text: &str,
) -> Result<()> {
    let old = doc.text(text)?;
    if width(doc.text_encoding(), "").is_none() {
        doc.update_text(text, new_text)?;
        return Ok(());
    }
    let prefix: usize = old
        .chars()
        .zip(new_text.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    let (old_rest, new_rest) = (&old[prefix..], &new_text[prefix..]);
    let suffix: usize = old_rest
        .chars()
        .rev()
        .zip(new_rest.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    let removed = &old_rest[..old_rest.len() - suffix];
    let inserted = &new_rest[..new_rest.len() - suffix];
    if removed.is_empty() && inserted.is_empty() {
        return Ok(());
    }
    let enc = doc.text_encoding();
    let at = width(enc, &old[..prefix]).unwrap_or(0);
    let del = width(enc, removed).unwrap_or(0);
    doc.splice_text(text, at, del as isize, inserted)?;
    Ok(())
}

/// The region of `base` (in characters) that `version` replaced, and what replaced it: the part
/// between their common prefix and common suffix.
fn changed_region(base: &[char], version: &[char]) -> (usize, usize, Vec<char>) {
    let prefix = base.iter().zip(version).take_while(|(a, b)| a == b).count();
    let suffix = base[prefix..]
        .iter()
        .rev()
        .zip(version[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    (
        prefix,
        base.len() - suffix,
        version[prefix..version.len() - suffix].to_vec(),
    )
}

/// Three-way merge of concurrent versions of one text against the text they all started from:
/// each version's changed region is applied to the base when no two regions overlap (regions that
/// only touch merge; two that start at the same place do not, as nobody chose their order).
/// `None` when they overlap. Deterministic: every device computes the same text.
pub(crate) fn merge3(base: &str, versions: &[&str]) -> Option<String> {
    let base: Vec<char> = base.chars().collect();
    let mut regions: Vec<(usize, usize, Vec<char>)> = versions
        .iter()
        .map(|v| changed_region(&base, &v.chars().collect::<Vec<_>>()))
        .filter(|(s, e, ins)| !(s == e && ins.is_empty()))
        .collect();
    crate::order::sort(&mut regions);
    for w in regions.windows(2) {
        let ((s1, e1, _), (s2, _, _)) = (&w[0], &w[1]);
        if s2 < e1 || s1 == s2 {
            return None;
        }
    }
    let mut out = String::new();
    let mut at = 0;
    for (s, e, ins) in regions {
        out.extend(&base[at..s]);
        out.extend(ins);
        at = e;
    }
    out.extend(&base[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    /// The vectors of docs/protocol.md 27.3, every row.
    fn merge3_applies_separate_regions_and_refuses_overlaps() {
        assert_eq!(merge3("abc", &["xabc", "abcy"]).as_deref(), Some("xabcy"));
        assert_eq!(
            merge3("abcdef", &["aXcdef", "abcdYf"]).as_deref(),
            Some("aXcdYf")
        );
        assert_eq!(
            merge3("abcdef", &["abXdef", "abcdef"]).as_deref(),
            Some("abXdef")
        );
        // Deletions too, in three versions at once.
        assert_eq!(
            merge3("satu dua tiga", &["dua tiga", "satu tiga", "satu dua"]),
            None,
            "deleting 'dua ' and ' tiga' overlap on the space between them"
        );
        assert_eq!(
            merge3("satu, dua, tiga", &["dua, tiga", "satu, dua"]).as_deref(),
            Some("dua")
        );
        assert_eq!(merge3("abcdef", &["aXXXef", "abYdef"]), None);
        assert_eq!(
            merge3("aku sedih", &["aku senang", "aku sedih sekali"]).as_deref(),
            Some("aku senang sekali")
        );
        assert_eq!(
            merge3("hari ini", &["hari ini cerah", "hari ini hujan"]),
            None
        );
        assert_eq!(
            merge3("é🌧️x", &["é🌧️xy", "Zé🌧️x"]).as_deref(),
            Some("Zé🌧️xy")
        );
    }
}
