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
use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue};

use sebaya_proto::membership::Role;

use super::Need;
use crate::space::SpaceKind;
use crate::space::doc::{is_lower_hex, string};

/// Prefix of a reminder's root key (`reminder/<16 hex id>`).
pub const PREFIX: &str = "reminder/";

/// The rules version reminders came in with (`RULES_VERSION` 8): a device judging under an older
/// one refuses any `reminder/` root key from anyone but an admin, so a member who is no admin (a
/// pairing's participant) writes reminders only once the space's floor is this (`rulesann.rs`).
pub const SINCE: u32 = 8;

/// Whether a device judging under rules `judges` refuses `changes` by an author of `role` as rules
/// older than [`SINCE`] (reminders) or [`super::REPORTS_SINCE`] (reports) did: any operation whose
/// root key (the operation's own, or that of the object it writes into) is a reminder's, or a
/// report's, by anyone but an admin (the older rules needed an admin for a root key they did not
/// know). For tests that play an older release.
#[cfg(test)]
pub(crate) fn older_refuses(
    doc: &AutoCommit,
    judges: u32,
    role: Option<Role>,
    changes: &[automerge::Change],
) -> bool {
    use automerge::legacy::ObjectId;
    let unknown: Vec<&str> = [
        (SINCE, PREFIX),
        (super::REPORTS_SINCE, super::REPORT_PREFIX),
    ]
    .into_iter()
    .filter(|(since, _)| judges < *since)
    .map(|(_, prefix)| prefix)
    .collect();
    let known = |k: &str| !unknown.iter().any(|p| k.starts_with(p));
    let under_unknown = |obj: &ObjectId, key: &Key| match obj {
        ObjectId::Root => matches!(key, Key::Map(k) if !known(k)),
        ObjectId::Id(id) => doc
            .import_obj(&format!("{}@{}", id.counter(), id.actor()))
            .ok()
            .and_then(|o| doc.parents(&o).ok())
            .and_then(|p| p.path().first().cloned())
            .is_some_and(|(_, prop)| matches!(prop, Prop::Map(k) if !known(&k))),
    };
    !unknown.is_empty()
        && role != Some(Role::Admin)
        && changes.iter().any(|c| {
            super::expand(c).is_some_and(|e| {
                e.operations
                    .iter()
                    .any(|op| under_unknown(&op.obj, &op.key))
            })
        })
}

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

/// A new reminder: a map made under a well-formed key where nothing stands **in the change's own
/// past** (`heads`: the change's dependencies this device holds). Judged against that past, not the
/// receiver's present, so two concurrent makes of one key are judged alike on every device whatever
/// order they arrive in (Automerge then shows the same one everywhere; review M2).
fn new_root(
    doc: &AutoCommit,
    root: &str,
    action: &OpType,
    pred_empty: bool,
    heads: &[ChangeHash],
) -> bool {
    root.strip_prefix(PREFIX)
        .is_some_and(|id| is_lower_hex(id, 16))
        && matches!(action, OpType::Make(ObjType::Map))
        && pred_empty
        && doc
            .get_all_at(ROOT, root, heads)
            .is_ok_and(|v| v.is_empty())
}

/// The record an operation on the existing object `obj` writes into, and whether `obj` is that
/// record's `done` map (`None` for anything deeper, or not under a reminder).
fn locate(doc: &AutoCommit, obj: &ObjId) -> Option<(ObjId, bool)> {
    let path = doc.parents(obj).ok()?.path();
    match path.as_slice() {
        [(_, Prop::Map(_))] => Some((obj.clone(), false)),
        [(_, Prop::Map(_)), (record, Prop::Map(k))] if k == "done" => Some((record.clone(), true)),
        _ => None,
    }
}

/// Where an operation writes, for [`op_allowed`].
pub(crate) enum Target<'a> {
    /// The root key itself; with the change's dependencies this device holds.
    Root(&'a [ChangeHash]),
    /// Inside an object the same envelope made (a new record, its `done` map).
    Made,
    /// Inside an existing object (`None`: one this device cannot place).
    Existing(Option<ObjId>),
}

/// One operation on the reminder under `root`, by an author of `role`. A record is made whole in
/// one envelope; afterwards anyone who may touch it only adds a completion (an int under a new
/// canonical occurrence number in its `done`) or deletes it (`deleted` true): nobody rewrites its
/// words, times, audience or author, undoes a completion or undeletes it (review M4). Who may
/// touch a record is judged by the record the operation writes into, never by whichever value
/// the root key shows (M2).
#[allow(clippy::too_many_arguments)]
pub(crate) fn op_allowed(
    doc: &AutoCommit,
    kind: SpaceKind,
    role: Option<Role>,
    root: &str,
    target: Target<'_>,
    key: &Key,
    action: &OpType,
    pred_empty: bool,
) -> bool {
    let Some(role) = role else {
        return false;
    };
    let admin = role == Role::Admin;
    if !matches!(kind, SpaceKind::Pairing | SpaceKind::Group)
        || (kind == SpaceKind::Group && !admin)
    {
        return false;
    }
    match target {
        Target::Root(heads) => new_root(doc, root, action, pred_empty, heads),
        Target::Made => {
            // A follow-up is the supporter's side's to make.
            let follow_up = matches!((key, action), (Key::Map(k), OpType::Put(ScalarValue::Str(v)))
                if k.as_str() == "kind" && v.as_str() == FOLLOW_UP);
            admin || !follow_up
        }
        Target::Existing(obj) => {
            let Some((record, in_done)) = obj.and_then(|o| locate(doc, &o)) else {
                return false;
            };
            if !admin && string(doc, &record, "kind").as_deref() == Some(FOLLOW_UP) {
                return false;
            }
            let Key::Map(k) = key else {
                return false;
            };
            if in_done {
                let canonical = k.parse::<u64>().is_ok_and(|n| n.to_string() == *k);
                canonical
                    && pred_empty
                    && matches!(
                        action,
                        OpType::Put(ScalarValue::Int(_) | ScalarValue::Uint(_))
                    )
            } else {
                k == "deleted" && matches!(action, OpType::Put(ScalarValue::Boolean(true)))
            }
        }
    }
}
