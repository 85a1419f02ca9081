//! Who may be a member of case notes (issue 14, item 12; rules version 5): the supporter (every
//! device of the person who opened them), one supervisor (a person who holds `coordinator` in the
//! programme the notes are bound to) and, once the supporter has left, a handed-over successor (a
//! person who holds `peer_supporter` or `coordinator` there and is an admin). Nobody else — the
//! participant included, who holds neither role.
//!
//! The membership log (section 15 of `docs/protocol.md`) knows nothing of programmes, and the relay
//! cannot read them, so this is a verdict each device reaches over the log's state and the grants
//! and revocations the document holds (`cred/`, `revoke/`: signed, checked by every reader). The
//! same statements give every device the same verdict. A member it refuses writes nothing another
//! device takes (`rules::allowed`), and an honest client writes nothing new while such a member
//! is there (`Vault::with_space`), so nothing new it could read comes from an honest device.
//!
//! It is pure: the caller gives the state, the creator, the registry and the time.

use std::collections::BTreeMap;

use sebaya_proto::membership::MembershipState;
use sebaya_proto::programme::{ProgrammeRegistry, ProgrammeRole};
use sebaya_proto::{DeviceId, PersonId};

/// Where a current member of case notes stands under the membership cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseNotesStanding {
    /// A device of the person who opened the notes.
    Supporter,
    /// A device of the one person, besides the supporter, proven a coordinator of the programme.
    Supervisor,
    /// A device of the person the notes were handed over to, once no device of the supporter is
    /// left: an admin proven a peer supporter or coordinator of the programme.
    Successor,
    /// Beyond the cap: no proven role that makes them supervisor or successor, a second candidate
    /// where only one may be, or no person at all. Their writes are refused on receipt, and honest
    /// clients write nothing new while they are members.
    Refused,
}

/// The standing of every current member of a case-notes space at `now` (Unix seconds). `creator`
/// is the space's genesis admin; `programme` the registry of the credentials the document holds
/// (`None` in notes bound to no programme, where nobody can be proven supervisor).
///
/// A device counts as the person the log names for it. Roles need the person's grant in the
/// document; which device belongs to whom comes from the log, where an admin names the person when
/// it adds the device (the device proves it at its first sync).
pub fn standings(
    members: &MembershipState,
    creator: Option<DeviceId>,
    programme: Option<&ProgrammeRegistry>,
    now: u64,
) -> BTreeMap<DeviceId, CaseNotesStanding> {
    let supporter = creator.and_then(|c| members.writing_person(&c));
    let mut out = BTreeMap::new();
    let mut others: BTreeMap<[u8; 32], Vec<DeviceId>> = BTreeMap::new();
    let mut supporter_here = false;
    for device in members.members.keys() {
        let person = members.persons.get(device).copied();
        if Some(*device) == creator || (person.is_some() && person == supporter) {
            out.insert(*device, CaseNotesStanding::Supporter);
            supporter_here = true;
            continue;
        }
        match person {
            Some(p) => others.entry(p).or_default().push(*device),
            None => {
                out.insert(*device, CaseNotesStanding::Refused);
            }
        }
    }
    let role = |p: &[u8; 32]| programme.and_then(|r| r.role_of(&PersonId(*p), now));
    let coordinator = |p: &[u8; 32]| role(p) == Some(ProgrammeRole::Coordinator);
    let successor = |p: &[u8; 32]| {
        role(p).is_some_and(|r| r >= ProgrammeRole::PeerSupporter)
            && others
                .get(p)
                .is_some_and(|ds| ds.iter().any(|d| members.is_admin(d)))
    };
    let persons: Vec<[u8; 32]> = others.keys().copied().collect();
    let mut assigned: BTreeMap<[u8; 32], CaseNotesStanding> = BTreeMap::new();
    if supporter_here {
        // One supervisor, never two: with two coordinators it is not clear which one the
        // supporter chose, so neither counts until one is removed.
        let coordinators: Vec<&[u8; 32]> = persons.iter().filter(|p| coordinator(p)).collect();
        if let [only] = coordinators.as_slice() {
            assigned.insert(**only, CaseNotesStanding::Supervisor);
        }
    } else {
        match persons.as_slice() {
            [p] if successor(p) => {
                assigned.insert(*p, CaseNotesStanding::Successor);
            }
            [p] if coordinator(p) => {
                assigned.insert(*p, CaseNotesStanding::Supervisor);
            }
            [a, b] => {
                // A successor and a supervisor; where both fit either place, the lower person id
                // is named successor (the cap is the same either way).
                let pair = if successor(a) && coordinator(b) {
                    Some((a, b))
                } else if successor(b) && coordinator(a) {
                    Some((b, a))
                } else {
                    None
                };
                if let Some((s, v)) = pair {
                    assigned.insert(*s, CaseNotesStanding::Successor);
                    assigned.insert(*v, CaseNotesStanding::Supervisor);
                }
            }
            _ => {}
        }
    }
    for (p, devices) in &others {
        let standing = assigned
            .get(p)
            .copied()
            .unwrap_or(CaseNotesStanding::Refused);
        for d in devices {
            out.insert(*d, standing);
        }
    }
    out
}

/// Whether `device`, a current member, is beyond the cap (`Refused`) at `now`. A device that is no
/// current member (a removed one, whose earlier envelopes still count) is not judged here.
pub(crate) fn refused(
    members: &MembershipState,
    creator: Option<DeviceId>,
    programme: Option<&ProgrammeRegistry>,
    device: &DeviceId,
    now: u64,
) -> bool {
    members.is_member(device)
        && standings(members, creator, programme, now).get(device)
            == Some(&CaseNotesStanding::Refused)
}

/// Whether any current member is beyond the cap at `now`.
pub(crate) fn any_refused(
    members: &MembershipState,
    creator: Option<DeviceId>,
    programme: Option<&ProgrammeRegistry>,
    now: u64,
) -> bool {
    standings(members, creator, programme, now)
        .values()
        .any(|s| *s == CaseNotesStanding::Refused)
}
