//! Records are their authors' (rules version 8; issue 18, item 2; protocol 29).
//!
//! Inside a group's `notes`, `agenda`, `actions` and `coping` and a pairing's `checkins`, `goals`
//! and `messages`, a record (a map directly under the container) that names its author (`author`,
//! `added_by` or `by`: [`super::AUTHOR_FIELDS`]) is edited, replaced or deleted only by that author:
//! the device it names, or another device the log proves is the same person's. Nobody else may, an
//! admin (a facilitator, a pairing's supporter) included. A record that names no author (an agenda
//! item, an action, a goal) stays everyone's, as before. An author field is written once, when its
//! record is made: never added to a record that had none, never rewritten.
//!
//! A facilitator moderates by hiding instead: a root key `hidden/<container>/<record id>` holding
//! `{ by, at }` (a group's admin only, [`HIDDEN_PREFIX`]); the record itself stays in the document
//! and the views leave it out for members (`groups/hiding.rs`).
//!
//! Judged from what the document holds when the envelope's dependencies are in it: the record an
//! operation writes is found through the object it writes (or, for an operation on the container
//! itself, the values at that record's id), and its author is what the record's creator wrote.

use automerge::legacy::{Key, OpId, OpType};
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, Value};

use sebaya_proto::DeviceId;

use super::{AUTHOR_FIELDS, Author, opid_text};
use crate::space::SpaceKind;
use crate::space::doc::{is_lower_hex, string};

/// Prefix of a group's root keys that hide a record (`hidden/notes/<id>` → `{ by, at }`).
pub const HIDDEN_PREFIX: &str = "hidden/";

/// The containers a hide marker may name.
const HIDEABLE: [&str; 4] = ["notes", "agenda", "actions", "coping"];

/// Whether the root key `root` of a space of `kind` holds records that are their authors'.
pub(super) fn owned(kind: SpaceKind, root: &str) -> bool {
    matches!(
        (kind, root),
        (SpaceKind::Group, "notes" | "agenda" | "actions" | "coping")
            | (SpaceKind::Pairing, "checkins" | "goals" | "messages")
    )
}

/// Whether `root` is a well-formed hide marker's key: `hidden/<container>/<16 lowercase hex>`.
pub fn is_hide_key(root: &str) -> bool {
    let Some(rest) = root.strip_prefix(HIDDEN_PREFIX) else {
        return false;
    };
    match rest.split_once('/') {
        Some((c, id)) => HIDEABLE.contains(&c) && is_lower_hex(id, 16),
        None => false,
    }
}

/// Whether an operation at the root on a hide marker's key has the marker's shape: a new map, or
/// its removal (an admin's unhide). Anything else under `hidden/` is refused.
pub(super) fn hide_op_ok(root: &str, action: &OpType) -> bool {
    is_hide_key(root) && matches!(action, OpType::Make(ObjType::Map) | OpType::Delete)
}

/// The device a record names as its author, if it names one.
fn owner(doc: &AutoCommit, record: &ObjId) -> Option<String> {
    AUTHOR_FIELDS.iter().find_map(|k| string(doc, record, k))
}

/// Whether `author` is the author a record names: that device, or a device of the same person.
fn is_owner(author: &Author<'_>, owner: Option<String>) -> bool {
    let Some(owner) = owner else {
        return true;
    };
    if owner == author.device.to_hex() {
        return true;
    }
    let Some(person) = author.person else {
        return false;
    };
    DeviceId::from_hex(&owner)
        .ok()
        .and_then(|d| author.persons.get(&d).copied())
        == Some(person)
}

/// Whether `author` may make an operation on the existing object `id` (held by the document, not
/// made in the same envelope) under an owned container: its record must be the author's.
pub(super) fn may_touch(
    doc: &AutoCommit,
    author: &Author<'_>,
    id: &OpId,
    key: &Key,
    action: &OpType,
    fresh: bool,
) -> bool {
    let Ok(obj) = doc.import_obj(&opid_text(id)) else {
        return false;
    };
    let Ok(parents) = doc.parents(&obj) else {
        return false;
    };
    let path = parents.path();
    match path.len() {
        0 => false,
        // The container itself: the key is a record's id. A new id is a new record (its fields are
        // checked as they are written); anything at an id that holds something replaces or
        // deletes what is there.
        1 => {
            let Key::Map(k) = key else {
                return false;
            };
            let held = doc.get_all(&obj, k.as_str()).unwrap_or_default();
            if held.is_empty() && fresh && !matches!(action, OpType::Delete) {
                return true;
            }
            held.iter().all(|(v, r)| match v {
                Value::Object(ObjType::Map) => is_owner(author, owner(doc, r)),
                _ => true,
            })
        }
        // Inside a record (or deeper): the record is the object at depth two.
        n => {
            let record = match path.get(2) {
                Some((r, _)) if n > 2 => r.clone(),
                _ => obj.clone(),
            };
            if record == obj {
                if let Key::Map(k) = key {
                    if AUTHOR_FIELDS.contains(&k.as_str()) {
                        return false;
                    }
                }
            }
            is_owner(author, owner(doc, &record))
        }
    }
}
