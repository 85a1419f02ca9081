//! Who writes a space's reminders (issue 18, item 4; the shape is `reminders.rs`, protocol
//! section 29): each reminder is its own root key `reminder/<16 hex id>`, made once as a new map
//! and never replaced or deleted at the root (deleting is a `deleted` tombstone inside it), so one
//! person cannot wipe the other's. In a pairing either member writes cadences, session dates and
//! tasks (they are agreed by the pair), and only an admin — the supporter's side — writes a
//! follow-up or anything inside one; a record's `kind` is written only in the batch that makes it.
//! In a group, only admins (facilitators) write reminders. Elsewhere nobody does. A device that is
//! no member writes nothing. Every receiving device judges this, and the honest writer before
//! writing (`rules.rs`, `allowed`).
//!
//! It lives with the rules, a mechanism, and knows the prefix and the `kind` field as data: the
//! domain (`crate::reminders`) uses these, never the reverse.

use automerge::legacy::{Key, OpType};
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};

use sebaya_proto::membership::Role;

use super::Need;
use crate::space::SpaceKind;
use crate::space::doc::{is_lower_hex, string};

/// Prefix of a reminder's root key (`reminder/<16 hex id>`).
pub const PREFIX: &str = "reminder/";

/// The stored kind only the supporter's side writes.
const FOLLOW_UP: &str = "follow-up";

/// What writing a reminder's root key takes in a space of `kind` (for the capability table; the
/// finer rule is [`op_allowed`]).
pub(crate) fn need(kind: SpaceKind) -> Need {
    match kind {
        SpaceKind::Pairing => Need::Member,
        _ => Need::Admin,
    }
}

/// Whether `root` is a reminder's root key in a space where reminders live.
pub(crate) fn is_reminder(kind: SpaceKind, root: &str) -> bool {
    matches!(kind, SpaceKind::Pairing | SpaceKind::Group) && root.starts_with(PREFIX)
}

/// A new reminder: a map made where nothing stands, under a well-formed key.
fn new_root(doc: &AutoCommit, root: &str, action: &OpType, pred_empty: bool) -> bool {
    root.strip_prefix(PREFIX)
        .is_some_and(|id| is_lower_hex(id, 16))
        && matches!(action, OpType::Make(ObjType::Map))
        && pred_empty
        && doc.get(ROOT, root).ok().flatten().is_none()
}

/// The kind an existing reminder's record holds.
fn existing_kind(doc: &AutoCommit, root: &str) -> Option<String> {
    match doc.get(ROOT, root).ok().flatten() {
        Some((automerge::Value::Object(ObjType::Map), r)) => string(doc, &r, "kind"),
        _ => None,
    }
}

/// One operation on the reminder under `root`, by an author of `role`: `at_root` when it writes
/// the root key itself, `created_here` when it writes into an object the same envelope made.
#[allow(clippy::too_many_arguments)]
pub(crate) fn op_allowed(
    doc: &AutoCommit,
    kind: SpaceKind,
    role: Option<Role>,
    root: &str,
    at_root: bool,
    key: &Key,
    action: &OpType,
    pred_empty: bool,
    created_here: bool,
) -> bool {
    let Some(role) = role else {
        return false;
    };
    let admin = role == Role::Admin;
    if at_root && !new_root(doc, root, action, pred_empty) {
        return false;
    }
    match kind {
        SpaceKind::Group => admin,
        SpaceKind::Pairing => {
            if let Key::Map(k) = key {
                if k.as_str() == "kind" {
                    if !created_here {
                        return false;
                    }
                    let follow_up = matches!(action, OpType::Put(ScalarValue::Str(v)) if v.as_str() == FOLLOW_UP);
                    if follow_up && !admin {
                        return false;
                    }
                }
            }
            admin || existing_kind(doc, root).as_deref() != Some(FOLLOW_UP)
        }
        _ => false,
    }
}
