//! Wraps added to a safeguarding concern after it was written (review M2; rules version 10).
//!
//! A concern's key is wrapped, when it is written, for the coordinator devices its writer's copy
//! knew; a coordinator (or a coordinator's new device) added to the space later could see the
//! concern but not open it. So an admin of the space who holds `coordinator` and can open a
//! concern adds a wrap of the same key for each coordinator device of the space that lacks one,
//! as a root key of its own naming itself: `rewrap/<concern id>/<device hex>/<adder hex>` → the key
//! wrap's bytes (protocol 22.4). A root key per adder and wrap: two adders never write one key, so
//! a wrong wrap from one never keeps another's out (review M2), and a reader tries each.
//!
//! Only an admin adds one (review H2): a device of the previous rules (9) takes an admin's root key
//! in a safeguarding space, and refuses anyone else's, and then everything built on that change
//! would wait there. Judged on receipt by every device, as every rule here, and only against the
//! envelope itself and the change's own past (review H1, M1): a new key only (never an edit or a
//! delete), a key wrap's length, the adder the envelope's author, an admin of the space holding
//! `coordinator` at the change's time, for a concern in the change's past (the document at the
//! dependencies it names, or made earlier in the same envelope). Whom a wrap is for is not judged
//! beyond its form: what a receiver knows of that device (its place in the log, its role now)
//! differs between devices and over time, and a wrap for the wrong device gives it no more than
//! an admin, who reads every concern anyway, could hand over by other means. What no device can
//! check is what a wrap holds (threat model).

use std::collections::HashSet;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use super::{Author, Need};
use crate::space::SpaceKind;
use crate::space::doc::is_lower_hex;

/// Prefix of a safeguarding space's root keys holding a wrap added later.
pub const PREFIX: &str = "rewrap/";

/// The root key of `adder`'s wrap for `device` of concern `id` (both devices hex).
pub fn key(id: &str, device: &str, adder: &str) -> String {
    format!("{PREFIX}{id}/{device}/{adder}")
}

/// The start of every root key holding a wrap for `device` (hex) of concern `id`.
pub fn prefix_for(id: &str, device: &str) -> String {
    format!("{PREFIX}{id}/{device}/")
}

/// The root key a test writes `adder`'s wrap for `device` (hex) of concern `id` at (tests only).
#[cfg(any(test, feature = "test-escapes"))]
pub fn key_for_tests(id: &str, device: &str, adder: &str) -> String {
    key(id, device, adder)
}

/// Whether `root` is such a key, in a safeguarding space.
pub(crate) fn is_rewrap(kind: SpaceKind, root: &str) -> bool {
    kind == SpaceKind::Safeguarding && root.starts_with(PREFIX)
}

/// An envelope's own past, as far as the changes judged so far reach: the dependencies they name
/// that the document holds, and the concerns they make (a concern and a wrap for it may travel in
/// one envelope). Depends on the envelope and the document alone, so every device judges alike.
#[derive(Default)]
pub(crate) struct Past {
    heads: Vec<ChangeHash>,
    container: Option<OpId>,
    made: HashSet<String>,
}

impl Past {
    /// Adds the dependencies a change of the envelope names that the document holds.
    pub(crate) fn add_heads(&mut self, known: &[ChangeHash]) {
        for h in known {
            if !self.heads.contains(h) {
                self.heads.push(*h);
            }
        }
    }

    /// Notes an operation of the envelope (`id` its own id): the `concerns` container or a
    /// concern it makes.
    pub(crate) fn note(
        &mut self,
        doc: &AutoCommit,
        id: OpId,
        (obj, key, action): (&ObjectId, &Key, &OpType),
    ) {
        let (OpType::Make(_), Key::Map(k)) = (action, key) else {
            return;
        };
        match obj {
            ObjectId::Root if k.as_str() == "concerns" => self.container = Some(id),
            ObjectId::Id(o)
                if is_lower_hex(k, 16)
                    && (self.container.as_ref() == Some(o) || is_concerns(doc, o)) =>
            {
                self.made.insert(k.to_string());
            }
            _ => {}
        }
    }

    /// Whether concern `id` is in this past.
    fn holds(&self, doc: &AutoCommit, id: &str) -> bool {
        if self.made.contains(id) {
            return true;
        }
        if self.heads.is_empty() {
            return false;
        }
        match doc.get_at(ROOT, "concerns", &self.heads) {
            Ok(Some((Value::Object(_), c))) => {
                matches!(
                    doc.get_at(&c, id, &self.heads),
                    Ok(Some((Value::Object(_), _)))
                )
            }
            _ => false,
        }
    }
}

/// Whether the document's object `o` is its `concerns` container.
fn is_concerns(doc: &AutoCommit, o: &OpId) -> bool {
    let Ok(ex) = doc.import_obj(&format!("{}@{}", o.counter(), o.actor())) else {
        return false;
    };
    matches!(doc.get(ROOT, "concerns"), Ok(Some((Value::Object(_), c))) if c == ex)
}

/// Whether `author` may make this operation on the rewrap root key `root` at `at_secs`: a put of a
/// key wrap at the root where none stood, in its own name, by an admin of the space holding
/// `coordinator`, for a concern in the change's past.
pub(crate) fn op_allowed(
    doc: &AutoCommit,
    author: &Author<'_>,
    root: &str,
    (at_root, key, action, fresh): (bool, &Key, &OpType, bool),
    (at_secs, past): (u64, &Past),
) -> bool {
    let wrap = matches!(action, OpType::Put(ScalarValue::Bytes(b))
        if b.len() == crate::crypto::keywrap::KEY_WRAP_LEN);
    if !at_root || !fresh || !wrap || !matches!(key, Key::Map(k) if k.as_str() == root) {
        return false;
    }
    let Some((concern, device, adder)) = root
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(c, rest)| rest.split_once('/').map(|(d, a)| (c, d, a)))
    else {
        return false;
    };
    if !is_lower_hex(concern, 16) || !is_lower_hex(device, 64) || adder != author.device.to_hex() {
        return false;
    }
    author.role == Some(Role::Admin)
        && author.may(Need::With(ProgrammeRole::Coordinator), at_secs, false)
        && past.holds(doc, concern)
}
