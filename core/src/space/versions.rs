//! Which envelope format version a space seals in (docs/protocol.md 12.1, issue 15 item 6).
//!
//! Every device announces, in each space, the envelope versions it can open: an Automerge change
//! with no operations whose message is `sebaya/v1/envelope-versions:` and the versions, ascending,
//! comma-separated (`sebaya/v1/envelope-versions:1,2`). It travels inside the device's ordinary
//! `changes` envelopes, so it is signed by the device (a change's actor must be its envelope's
//! author, 8.1), reaches every member by every path (relay, peers, bundles, carriers, snapshots),
//! and an older device applies it as the empty change it is: nothing in the document changes, so
//! no older rule refuses it and no older reader trips on it.
//!
//! A space seals version 2 only while every current member device's latest announcement (its
//! change carrying one with the highest actor generation, then Automerge sequence number) names 2; otherwise version 1. A device
//! added later that has not announced (older software never does) brings the space back to v1 for
//! every envelope sealed after this device learns of it.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use automerge::transaction::CommitOptions;

use sebaya_proto::envelope::{FORMAT_V1, FORMAT_V2, OPENABLE_VERSIONS};
use sebaya_proto::{DeviceId, Envelope, HeaderV1};

use crate::crypto;
use crate::error::Result;

use super::{Space, now_secs};

/// The label an announcement's message starts with, then `:` and the versions (docs/protocol.md
/// 12.1): a change message no other writer uses, so nothing else is read as an announcement.
pub const ANNOUNCE_LABEL: &str = "sebaya/v1/envelope-versions";

/// The most versions an announcement may name: more is not an announcement (a message is read
/// from any member's change, so its size is bounded before anything is kept).
const MAX_ANNOUNCED: usize = 16;

/// What the members of one space announced, read from its document, and what this device announces.
pub(crate) struct Announcements {
    /// The versions this device opens and announces: [`OPENABLE_VERSIONS`]; a test sets fewer to
    /// play a device of an older release.
    pub(super) opens: &'static [u8],
    /// The document's heads when it was last read: the next read takes only the changes after.
    read_to: Vec<ChangeHash>,
    /// Per device, the actor generation and Automerge sequence number of its latest announcement
    /// (a later generation's changes come after every earlier one's) and what it names.
    latest: BTreeMap<DeviceId, ((u32, u64), Vec<u8>)>,
}

impl Announcements {
    /// Forgets what was read, so the next read takes the whole document again: after a rebuild
    /// left changes out (`verdicts.rs`), an announcement read from one of them no longer stands.
    pub(super) fn read_again(&mut self) {
        self.read_to.clear();
        self.latest.clear();
    }
}

impl Default for Announcements {
    fn default() -> Self {
        Announcements {
            opens: &OPENABLE_VERSIONS,
            read_to: Vec::new(),
            latest: BTreeMap::new(),
        }
    }
}

/// The message announcing `versions` (ascending, each once).
pub fn announcement(versions: &[u8]) -> String {
    let list: Vec<String> = versions.iter().map(|v| v.to_string()).collect();
    format!("{ANNOUNCE_LABEL}:{}", list.join(","))
}

/// Reads an announcement; `None` for any message that is not one exactly as 12.1 writes it (a
/// version outside 1..=255, a leading zero, not strictly ascending, empty, or more than 16).
pub fn parse_announcement(message: &str) -> Option<Vec<u8>> {
    let list = message.strip_prefix(ANNOUNCE_LABEL)?.strip_prefix(':')?;
    let mut out: Vec<u8> = Vec::new();
    for part in list.split(',') {
        if part.is_empty() || part.starts_with('0') || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u8 = part.parse().ok()?;
        if out.last().is_some_and(|last| *last >= v) || out.len() >= MAX_ANNOUNCED {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

impl Space {
    /// Reads the announcements in the changes the document gained since the last read.
    fn read_announcements(&mut self) {
        let heads = self.doc.get_heads();
        if heads == self.announced.read_to {
            return;
        }
        let since = std::mem::take(&mut self.announced.read_to);
        for meta in self.doc.get_changes_meta(&since) {
            let Some(versions) = meta.message.as_deref().and_then(parse_announcement) else {
                continue;
            };
            let Some((device, generation)) = super::actor_generation(&meta.actor) else {
                continue;
            };
            let at = (generation, meta.seq);
            let newer = self
                .announced
                .latest
                .get(&device)
                .is_none_or(|(seen, _)| at > *seen);
            if newer {
                self.announced.latest.insert(device, (at, versions));
            }
        }
        self.announced.read_to = heads;
    }

    /// The envelope versions `device` last announced in this space, if it announced any.
    pub fn announced_versions(&mut self, device: &DeviceId) -> Option<Vec<u8>> {
        self.read_announcements();
        self.announced.latest.get(device).map(|(_, v)| v.clone())
    }

    /// The format version this device seals `changes` envelopes in now: 2 when every current member
    /// device (this one included) has announced it can open version 2, otherwise 1.
    pub fn sealing_version(&mut self) -> u8 {
        self.read_announcements();
        let members: Vec<DeviceId> = self.members.members.keys().copied().collect();
        let all = !members.is_empty()
            && members.iter().all(|d| {
                self.announced
                    .latest
                    .get(d)
                    .is_some_and(|(_, v)| v.contains(&FORMAT_V2))
            });
        if all { FORMAT_V2 } else { FORMAT_V1 }
    }

    /// Adds this device's announcement to the document when its latest one (if any) does not name
    /// exactly the versions this build opens. Called just before a seal that has changes of its own
    /// to send, so the announcement rides in that envelope and costs none of its own.
    pub(crate) fn announce_if_needed(&mut self) -> bool {
        self.read_announcements();
        let opens = self.announced.opens;
        let current = self
            .announced
            .latest
            .get(&self.me)
            .map(|(_, v)| v.as_slice());
        if current == Some(opens) {
            return false;
        }
        let options = CommitOptions::default()
            .with_message(announcement(opens))
            .with_time(i64::try_from(now_secs()).unwrap_or(i64::MAX));
        self.doc.empty_change(options);
        self.read_announcements();
        true
    }

    /// Seals a sealed kind's `content` in the version [`Space::sealing_version`] gives.
    pub(super) fn seal_content(
        &mut self,
        header: HeaderV1,
        content: &[u8],
        signer: &ring::signature::Ed25519KeyPair,
    ) -> Result<Envelope> {
        let env = if self.sealing_version() == FORMAT_V2 {
            Envelope::seal_v2(header, &self.key, crypto::random()?, content, signer)?
        } else {
            Envelope::seal_v1(header, &self.key, crypto::random()?, content, signer)?
        };
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn announcements_read_only_in_their_one_form() {
        let l = ANNOUNCE_LABEL;
        assert_eq!(announcement(&[1, 2]), format!("{l}:1,2"));
        assert_eq!(parse_announcement(&format!("{l}:1,2")), Some(vec![1, 2]));
        assert_eq!(parse_announcement(&format!("{l}:1")), Some(vec![1]));
        for bad in [
            "", "2,1", "1,1", "01,2", "0", "1, 2", "1,256", "1,2,", "+1", ",1", "1;2",
        ] {
            assert_eq!(parse_announcement(&format!("{l}:{bad}")), None, "{bad}");
        }
        assert_eq!(parse_announcement(&format!("{l}1,2")), None);
        assert_eq!(parse_announcement(&format!("{l}x:1,2")), None);
        assert_eq!(parse_announcement("hello"), None);
        let many: Vec<u8> = (1..=17).collect();
        assert_eq!(parse_announcement(&announcement(&many)), None);
        let sixteen: Vec<u8> = (1..=16).collect();
        assert_eq!(parse_announcement(&announcement(&sixteen)), Some(sixteen));
    }
}
