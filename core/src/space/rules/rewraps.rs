//! Wraps added to a safeguarding concern after it was written (review M2; rules version 10).
//!
//! A concern's key is wrapped, when it is written, for the coordinator devices its writer's copy
//! knew; a coordinator (or a coordinator's new device) added to the space later could see the
//! concern but not open it. Any device that can open a concern, a coordinator's or its writer's,
//! therefore adds a wrap of the same key for each coordinator device of the space that lacks one,
//! as a root key of its own: `rewrap/<concern id>/<device hex>` → the key wrap's bytes
//! (protocol 22.4). A root key per wrap, rather than a container, so two coordinators adding wraps
//! at once never replace each other's container; both values stay (a conflict), and a reader
//! tries each.
//!
//! Judged on receipt by every device, as every rule here: a new key only (never an edit or a
//! delete), a key wrap's length, for a concern the document holds, naming a device the log proves
//! to be of a person holding `coordinator` in the programme at the time of the change, written by
//! a coordinator or by the concern's own writer. What no device can check is what a wrap holds: a
//! coordinator could wrap a wrong key (the newcomer then opens nothing, as before this rule), and
//! a malicious coordinator could already read every concern (threat model).

use automerge::legacy::{Key, OpType};
use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::DeviceId;
use sebaya_proto::programme::ProgrammeRole;

use super::{Author, Need};
use crate::space::SpaceKind;
use crate::space::doc::{is_lower_hex, string};

/// Prefix of a safeguarding space's root keys holding a wrap added later.
pub const PREFIX: &str = "rewrap/";

/// The root key of the wrap for `device` (hex) of concern `id`.
pub fn key(id: &str, device: &str) -> String {
    format!("{PREFIX}{id}/{device}")
}

/// The root key a test writes `adder`'s wrap for `device` (hex) of concern `id` at (tests only).
#[cfg(any(test, feature = "test-escapes"))]
pub fn key_for_tests(id: &str, device: &str, _adder: &str) -> String {
    key(id, device)
}

/// Whether `root` is such a key, in a safeguarding space.
pub(crate) fn is_rewrap(kind: SpaceKind, root: &str) -> bool {
    kind == SpaceKind::Safeguarding && root.starts_with(PREFIX)
}

/// Whether `author` may make this operation on the rewrap root key `root` at `at_secs`: a put of a
/// key wrap at the root where none stood, for a coordinator device of the space, of a concern the
/// document holds, by a coordinator or by the concern's writer.
pub(crate) fn op_allowed(
    doc: &AutoCommit,
    author: &Author<'_>,
    root: &str,
    (at_root, key, action, fresh): (bool, &Key, &OpType, bool),
    at_secs: u64,
) -> bool {
    let wrap = matches!(action, OpType::Put(ScalarValue::Bytes(b))
        if b.len() == crate::crypto::keywrap::KEY_WRAP_LEN);
    if !at_root || !fresh || !wrap || !matches!(key, Key::Map(k) if k.as_str() == root) {
        return false;
    }
    let Some((concern, device)) = root
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('/'))
    else {
        return false;
    };
    if !is_lower_hex(concern, 16) || !is_lower_hex(device, 64) {
        return false;
    }
    let Some(writer) = writer_of(doc, concern) else {
        return false;
    };
    let Ok(target) = DeviceId::from_hex(device) else {
        return false;
    };
    let coordinator = |person: Option<&[u8; 32]>| match (author.programme, person) {
        (Some(reg), Some(p)) => reg
            .role_of(&sebaya_proto::PersonId(*p), at_secs)
            .is_some_and(|r| r >= ProgrammeRole::Coordinator),
        _ => false,
    };
    if !coordinator(author.persons.get(&target)) {
        return false;
    }
    author.may(Need::With(ProgrammeRole::Coordinator), at_secs, false)
        || (writer == author.device.to_hex()
            && author.may(Need::With(ProgrammeRole::PeerSupporter), at_secs, false))
}

/// The device (hex) that wrote concern `id`, if the document holds it.
fn writer_of(doc: &AutoCommit, id: &str) -> Option<String> {
    let concerns = match doc.get(ROOT, "concerns").ok().flatten() {
        Some((Value::Object(_), c)) => c,
        _ => return None,
    };
    match doc.get(&concerns, id).ok().flatten() {
        Some((Value::Object(_), r)) => string(doc, &r, "by"),
        _ => None,
    }
}
