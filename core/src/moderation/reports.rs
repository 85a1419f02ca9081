//! A report (protocol 31.1–31.3): what it carries, sealed for the coordinators' devices and the
//! reporter's own, written into the reporter's care record, and read back where it opens.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use crate::error::{Error, Result};
use crate::space::doc::{check_id, int, root_record, string, write};
use crate::space::{Space, SpaceKind, rules};
use crate::store::clock::now_ms;
use crate::{DeviceId, PersonId, SpaceId, Vault};

use super::{MAX_COPY_CHARS, MAX_REPORT_TEXT, REASONS, ROUTES, TARGETS};

/// A report's root key in a care record: `report/<id>` (`rules::REPORT_PREFIX`).
const PREFIX: &str = "report/";
/// The reason a block's notice carries (never given by a person: [`Vault::report`] refuses it).
pub(super) const BLOCKED: &str = "blocked";
/// A sealed report's plaintext is padded with spaces to a multiple of this many bytes.
const PAD: usize = 256;

/// What a report says, sealed (JSON). It names the reported member and the content, never the
/// reporter: the care record it lives in says who that is, to those who hold it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plain {
    pub v: u8,
    /// The group or pairing (hex).
    pub space: String,
    /// `note`, `message` or `member`.
    pub target: String,
    /// The note's or message's id; the member's device (hex) for `member`.
    pub record: String,
    /// The reported member's device (hex).
    pub about: String,
    /// One of [`ROUTES`].
    pub route: String,
    /// The group's facilitator devices (hex) the report is passed on to; empty for `coordinators`.
    pub facilitators: Vec<String>,
    /// One of [`REASONS`], or `blocked` for a block's notice.
    pub reason: String,
    /// The reporter's own words (may be empty).
    pub text: String,
    /// A copy of the reported content as the reporter's device held it (empty for a member).
    pub copy: String,
}

/// AAD of a sealed report: the label, the care record and the report id.
pub(crate) fn report_aad(care: &SpaceId, id: &str) -> Vec<u8> {
    let mut aad = b"sebaya/v1/report".to_vec();
    aad.extend_from_slice(&care.0);
    aad.extend_from_slice(id.as_bytes());
    aad
}

/// Seals a report under `key` with `nonce`: the one code path behind writing a report and its test
/// vector (docs/protocol.md, section 31.5).
pub(crate) fn seal_report_with(
    key: &[u8; 32],
    nonce: [u8; 12],
    (care, id): (&SpaceId, &str),
    plain: &Plain,
) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(plain).map_err(|_| Error::Internal("encode report"))?;
    let len = bytes.len().div_ceil(PAD).max(1) * PAD;
    bytes.resize(len, b' ');
    let sealed = crate::crypto::seal_value_with(key, nonce, &report_aad(care, id), &bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    sealed
}

/// A report as a coordinator, or its reporter, sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The care record it lives in.
    pub care: SpaceId,
    /// Its id.
    pub id: String,
    /// When it was written, ms.
    pub created_ms: i64,
    /// Whether this device's person wrote it.
    pub mine: bool,
    /// Who reported: the care record's participant (a person id); `None` in a copy passed on.
    pub reporter: Option<[u8; 32]>,
    /// Whether this is the copy a coordinator passed on to the facilitator (protocol 31.4), in the
    /// programme's safeguarding space (`care` is then that space).
    pub passed_on: bool,
    /// The group or pairing (hex).
    pub space: String,
    /// `note`, `message` or `member`.
    pub target: String,
    /// The note's or message's id; the member's device for `member`.
    pub record: String,
    /// The reported member's device (hex).
    pub about: String,
    /// One of [`ROUTES`].
    pub route: String,
    /// The facilitator devices it is for besides the coordinators (empty for `coordinators`).
    pub facilitators: Vec<String>,
    /// One of [`REASONS`], or `blocked` for a block's notice.
    pub reason: String,
    /// The reporter's words.
    pub text: String,
    /// The copy of the reported content.
    pub copy: String,
}

fn bytes(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<Vec<u8>> {
    match doc.get(obj, key).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Bytes(b) => Some(b.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The devices of `space` whose person holds `min` or above in its programme now, with their X25519
/// keys.
pub(super) fn devices_with(space: &Space, min: ProgrammeRole) -> Vec<(DeviceId, [u8; 32])> {
    let Some(programme) = rules::programme_of(&space.doc) else {
        return Vec::new();
    };
    let registry = rules::registry_of(&space.doc, programme);
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let m = space.membership();
    m.members
        .keys()
        .filter_map(|d| {
            let person = m.proven_person(d)?;
            (registry.role_of(&PersonId(person), now)? >= min).then_some(())?;
            Some((*d, *m.x25519.get(d)?))
        })
        .collect()
}

impl Vault {
    /// Whether `device` is this device (not built yet).
    pub(super) fn is_mine(&self, _space: &Space, device: &DeviceId) -> bool {
        *device == self.identity.device
    }

    /// A member reports content of a space (not built yet).
    pub fn report(
        &mut self,
        space: &SpaceId,
        target: &str,
        record: &str,
        reason: &str,
        text: &str,
    ) -> Result<String> {
        self.report_with(space, target, record, reason, text)
    }

    /// [`Vault::report`] with any reason (not built yet).
    pub(super) fn report_with(
        &mut self,
        _space_id: &SpaceId,
        _target: &str,
        _record: &str,
        _reason: &str,
        _text: &str,
    ) -> Result<String> {
        let _ = (
            PREFIX,
            chars("", 0),
            MAX_COPY_CHARS,
            MAX_REPORT_TEXT,
            REASONS,
            ROUTES,
            TARGETS,
        );
        Err(Error::Internal("reports are not built yet"))
    }

    /// The reports this device opens (not built yet).
    pub fn reports(&self) -> Vec<Report> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // The sealed report's test vector (docs/protocol.md, section 31.5).
    const CARE: SpaceId = SpaceId([0xe1; 16]);
    const KEY: [u8; 32] = [0xe2; 32];
    const NONCE: [u8; 12] = [0xe3; 12];
    const ID: &str = "00000000000000f1";

    fn vector_plain() -> Plain {
        Plain {
            v: 1,
            space: "e4".repeat(16),
            target: "note".into(),
            record: "00000000000000f2".into(),
            about: "e5".repeat(32),
            route: ROUTES[0].into(),
            facilitators: vec!["e6".repeat(32)],
            reason: "harassment".into(),
            text: String::new(),
            copy: "t\nx".into(),
        }
    }

    #[test]
    fn the_sealed_report_vector_is_byte_exact_and_documented() {
        let sealed = seal_report_with(&KEY, NONCE, (&CARE, ID), &vector_plain()).unwrap();
        let aad = [&b"sebaya/v1/report"[..], &CARE.0, ID.as_bytes()].concat();
        assert_eq!(report_aad(&CARE, ID), aad);
        let plain = crate::crypto::open_value(&KEY, &aad, &sealed, "r").unwrap();
        assert_eq!(plain.len() % PAD, 0);
        let p: Plain = serde_json::from_slice(&plain).unwrap();
        assert_eq!(p, vector_plain());
        // Replayed under another id or into another care record, it no longer opens.
        for other in [
            report_aad(&CARE, "00000000000000f3"),
            report_aad(&SpaceId([0xe7; 16]), ID),
        ] {
            assert!(crate::crypto::open_value(&KEY, &other, &sealed, "r").is_err());
        }
        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        for h in [hex::encode(&aad), hex::encode(&sealed)] {
            assert!(doc.contains(&h), "{h} is not in docs/protocol.md");
        }
    }
}
