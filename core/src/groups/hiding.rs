//! A facilitator hides a record of the group, never rewrites it (issue 18, item 2; rules version 8).
//!
//! A record inside the notebook is its author's: only its author's person edits or deletes it
//! (`space/rules/records.rs`, judged by every device). A facilitator moderates by hiding: a root key
//! `hidden/<container>/<id>` holding `{ by: device id hex, at: int ms }`, written only by an admin
//! and removed (unhidden) only by an admin. The record stays in the document, untouched: the
//! facilitators' notebook shows it marked hidden (a coordinator who facilitates the group sees it
//! there), and so does its author's; every other member's leaves it out. Today the views honour
//! hides of notes; the marker's layout names the other containers too.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use sebaya_proto::SpaceId;
use sebaya_proto::membership::Role;

use super::{GroupNote, NOTES, notes};
use crate::Vault;
use crate::error::{Error, Result};
use crate::space::doc::{check_device, check_id, read_container, read_record, write};
use crate::space::rules::HIDDEN_PREFIX;
use crate::space::rules::records::is_hide_key;

/// A note as one member's notebook shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteView {
    /// The note.
    pub note: GroupNote,
    /// Whether a facilitator hid it (shown only to facilitators and to its author).
    pub hidden: bool,
}

fn hide_key(container: &str, id: &str) -> Result<String> {
    let key = format!("{HIDDEN_PREFIX}{container}/{id}");
    match is_hide_key(&key) {
        true => Ok(key),
        false => Err(Error::InvalidInput(
            "not a record that can be hidden".into(),
        )),
    }
}

/// Whether the record `id` of `container` is hidden.
pub fn is_hidden(doc: &AutoCommit, container: &str, id: &str) -> bool {
    hide_key(container, id)
        .ok()
        .and_then(|k| doc.get(ROOT, k.as_str()).ok().flatten())
        .is_some()
}

/// Hides a note (a facilitator's, by the content rules); one commit, none when it already is.
/// `NotFound("group note")` when there is no such note.
pub fn hide_note(doc: &mut AutoCommit, id: &str, by_hex: &str, now_ms: i64) -> Result<()> {
    check_id(id, "note")?;
    check_device(by_hex, "who hides")?;
    let key = hide_key(NOTES, id)?;
    let c = read_container(doc, NOTES).ok_or(Error::NotFound("group"))?;
    if read_record(doc, &c, id).is_none() {
        return Err(Error::NotFound("group note"));
    }
    if is_hidden(doc, NOTES, id) {
        return Ok(());
    }
    write(doc, now_ms, |doc| {
        let h = doc.put_object(ROOT, key.as_str(), ObjType::Map)?;
        doc.put(&h, "by", by_hex)?;
        doc.put(&h, "at", now_ms)?;
        Ok(())
    })
}

/// Takes a note's hide off (a facilitator's); one commit, none when it is not hidden.
pub fn unhide_note(doc: &mut AutoCommit, id: &str, now_ms: i64) -> Result<()> {
    check_id(id, "note")?;
    let key = hide_key(NOTES, id)?;
    if !is_hidden(doc, NOTES, id) {
        return Ok(());
    }
    write(doc, now_ms, |doc| Ok(doc.delete(ROOT, key.as_str())?))
}

/// The notebook as `me` sees it, oldest first: a facilitator (`admin`) sees every note, hidden ones
/// marked; a member sees its own notes (hidden ones marked) and others' that are not hidden.
pub fn notes_for(doc: &AutoCommit, me_hex: &str, admin: bool) -> Vec<NoteView> {
    notes(doc)
        .into_iter()
        .filter_map(|note| {
            let hidden = is_hidden(doc, NOTES, &note.id);
            (!hidden || admin || note.author == me_hex).then_some(NoteView { note, hidden })
        })
        .collect()
}

impl Vault {
    /// A group's notebook as this device may see it ([`notes_for`]).
    pub fn group_notes(&self, group: &SpaceId) -> Result<Vec<NoteView>> {
        let me = self.device_id();
        let admin = self.space_membership(group)?.role(&me) == Some(Role::Admin);
        self.read_space(group, |doc| notes_for(doc, &me.to_hex(), admin))
    }

    /// Hides a note of a group (facilitators; `NotAllowed` for a member, nothing written).
    pub fn hide_group_note(&mut self, group: &SpaceId, note: &str) -> Result<()> {
        let me = self.device_id().to_hex();
        self.with_space(group, |doc, now| hide_note(doc, note, &me, now))
    }

    /// Takes a note's hide off (facilitators; `NotAllowed` for a member).
    pub fn unhide_group_note(&mut self, group: &SpaceId, note: &str) -> Result<()> {
        self.with_space(group, |doc, now| unhide_note(doc, note, now))
    }
}
