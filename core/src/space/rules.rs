//! Who may write which part of a shared document, checked by every receiving device.
//!
//! A member's honest client only offers what its role allows; these rules make the same limits hold
//! against a modified client. Each root key of a space's document needs a capability: any member,
//! an admin of the space, the space's creator, or — in a space bound to a programme (section 19) —
//! an admin whose person holds a programme role (a peer supporter to run group sessions and write
//! case notes, a coordinator to review case notes). On receipt, every operation of every change is
//! traced to the root key it writes — through the objects the document already holds, or objects
//! the same envelope creates — and an envelope with any operation its author may not make is refused
//! whole (quarantined). The honest client runs the same check before writing. The table is in
//! `docs/roles.md`.
//!
//! Programme roles are read from the credentials published in the document itself (`cred/<id>`,
//! `revoke/<id>`: signed grants and revocations, verified here), at the time the change says it was
//! made, so every device holding the same credentials reaches the same verdict.

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{AutoCommit, Change, Prop, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::membership::{MembershipState, Role};
use sebaya_proto::programme::{ProgrammeRegistry, ProgrammeRole};
use sebaya_proto::{DeviceId, PersonId};

use crate::space::SpaceKind;
use crate::space::doc::{is_lower_hex, read_all, string};

pub mod casenotes;
pub(crate) mod credentials;
pub mod reminders;
pub mod rewraps;

/// Fields that name who wrote a record (a note's `author`, a coping idea's `added_by`, a check-in's,
/// message's or case note's `by`): they must name the device that signed the change.
const AUTHOR_FIELDS: &[&str] = &["author", "added_by", "by"];

/// Root key naming the programme a space is bound to (hex of the programme key), set by its creator.
pub const PROGRAMME_KEY: &str = "programme";
/// Prefix of root keys holding a published role grant (`cred/<grant id hex>` → signed bytes).
pub const CRED_PREFIX: &str = "cred/";
/// Prefix of root keys holding a published role revocation.
pub const REVOKE_PREFIX: &str = "revoke/";
/// Prefix of root keys holding a published training record (`train/<record id hex>` → signed
/// bytes, `care/training.rs`).
pub const TRAIN_PREFIX: &str = "train/";

/// What writing one root key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// Any member.
    Member,
    /// An admin of the space.
    Admin,
    /// An admin whose person holds at least this programme role (when the space is bound to a
    /// programme; otherwise an admin).
    AdminWith(ProgrammeRole),
    /// The space's creator (its genesis admin): fields fixed at creation.
    Creator,
    /// The creator, and, in a pairing bound to a programme (by the document or by the envelope
    /// being judged), only while its person is certified there: a peer supporter or coordinator
    /// with current training in every required module (`credentials::creator_certified`).
    CertifiedCreator,
    /// The person a care record is about (`participant` at its root): any of that person's devices
    /// that is a member. Consents are theirs alone.
    Subject,
    /// A member (admin or not) whose person holds at least this programme role, in a space bound to
    /// a programme; in a space bound to none, nobody.
    With(ProgrammeRole),
}

/// The capability a root key of a space of `kind` needs.
pub(crate) fn need(kind: SpaceKind, root: &str) -> Need {
    if root == PROGRAMME_KEY {
        // Binding a pairing to a programme claims its supporter is certified there.
        return match kind {
            SpaceKind::Pairing => Need::CertifiedCreator,
            _ => Need::Creator,
        };
    }
    if root.starts_with(CRED_PREFIX)
        || root.starts_with(REVOKE_PREFIX)
        || root.starts_with(TRAIN_PREFIX)
    {
        // Anyone may publish a credential: it is signed, and checked by every reader.
        return Need::Member;
    }
    if root.starts_with(reminders::PREFIX) {
        return reminders::need(kind);
    }
    if root.starts_with(REPORT_PREFIX) {
        // A member's report (protocol 31), sealed for the coordinators: only the care record's
        // subject; passed on to a facilitator in the safeguarding space: only a coordinator.
        match kind {
            SpaceKind::Care => return Need::Subject,
            SpaceKind::Safeguarding => return Need::With(ProgrammeRole::Coordinator),
            _ => {}
        }
    }
    match (kind, root) {
        (SpaceKind::Group, "notes" | "agenda" | "actions" | "coping") => Need::Member,
        (SpaceKind::Group, "sessions") => Need::AdminWith(ProgrammeRole::PeerSupporter),
        (SpaceKind::Pairing, "checkins" | "goals" | "messages") => Need::Member,
        (SpaceKind::Pairing, "participant" | "supporter") => Need::CertifiedCreator,
        (SpaceKind::Pairing, "consents" | "shared") => Need::Subject,
        (SpaceKind::CaseNotes, "notes") => Need::AdminWith(ProgrammeRole::PeerSupporter),
        (SpaceKind::CaseNotes, "reviews") => Need::AdminWith(ProgrammeRole::Coordinator),
        (SpaceKind::Care, "participant") => Need::Creator,
        (SpaceKind::Care, "consents" | "outcomes") => Need::Subject,
        (SpaceKind::Report, "sessions" | "pairings") => Need::With(ProgrammeRole::PeerSupporter),
        (SpaceKind::Care, "guardian" | "exceptions") => Need::With(ProgrammeRole::Coordinator),
        (SpaceKind::Care, "minor") => Need::With(ProgrammeRole::Coordinator),
        (SpaceKind::Care, "referrals") => Need::Member,
        (SpaceKind::Care, "states" | "resources" | "policy") => {
            Need::With(ProgrammeRole::Coordinator)
        }
        // A programme's safeguarding space (issue 14, item 14): a supporter adds its own concern,
        // sealed for the coordinators; only coordinators record states. Both append-only.
        (SpaceKind::Safeguarding, "concerns") => Need::With(ProgrammeRole::PeerSupporter),
        (SpaceKind::Safeguarding, "states") => Need::With(ProgrammeRole::Coordinator),
        // Everything else (a group's name, case notes' subject, journals, indexes): admins.
        _ => Need::Admin,
    }
}

/// Who is writing, as the rules see it.
pub(crate) struct Author<'a> {
    /// The writing device.
    pub device: DeviceId,
    /// Its role in the space for the envelope judged ([`MembershipState::writing_role_at`]).
    pub role: Option<Role>,
    /// Whether it created the space.
    pub creator: bool,
    /// The programme the space is bound to, with the registry of the credentials its document holds.
    pub programme: Option<&'a ProgrammeRegistry>,
    /// The author's person, when the log records it.
    pub person: Option<[u8; 32]>,
    /// Whose device is whose, as the log records it (to find a pairing participant's person).
    pub persons: std::collections::BTreeMap<DeviceId, [u8; 32]>,
    /// The log's successions, old person to new (to follow a care record's subject).
    pub successors: std::collections::BTreeMap<[u8; 32], [u8; 32]>,
    /// In a pairing this device joined as its participant under these rules
    /// (`Space::require_binding`): a set-up (`participant`, `supporter`) is refused unless the
    /// document or the same envelope binds a programme. False for every other space, and for
    /// pairings held from before, which stay outside a programme.
    pub needs_binding: bool,
    /// In case notes, a current member beyond the membership cap (`casenotes::refused`, rules
    /// version 5): everything it writes is refused. False for every other space.
    pub refused: bool,
}

impl Author<'_> {
    fn may(&self, need: Need, at_secs: u64, subject: bool) -> bool {
        let admin = self.role == Some(Role::Admin);
        match need {
            Need::Subject => self.role.is_some() && subject,
            Need::With(min) => {
                self.role.is_some()
                    && match (self.programme, self.person) {
                        (Some(reg), Some(p)) => {
                            reg.role_of(&PersonId(p), at_secs).is_some_and(|r| r >= min)
                        }
                        _ => false,
                    }
            }
            Need::Member => self.role.is_some(),
            Need::Admin => admin,
            Need::Creator | Need::CertifiedCreator => admin && self.creator,
            Need::AdminWith(min) => {
                admin
                    && match (self.programme, self.person) {
                        (None, _) => true,
                        (Some(_), None) => false,
                        (Some(reg), Some(p)) => {
                            reg.role_of(&PersonId(p), at_secs).is_some_and(|r| r >= min)
                        }
                    }
            }
        }
    }

    /// Whether nothing this author writes needs checking: an admin of a journal or an index, where
    /// admins may write every key. (In shared spaces every envelope is traced, the creator's too, so
    /// the verdict never depends on which envelopes a device happened to receive together.)
    pub(crate) fn unlimited(&self, kind: SpaceKind) -> bool {
        matches!(kind, SpaceKind::Journal | SpaceKind::Index) && self.role == Some(Role::Admin)
    }
}

/// The version of these rules. Raise it with every change that accepts something an earlier
/// version refused: each device then judges again, once per space, the envelopes it had set aside
/// (`Space::requeue_refused`), so records a since-fixed rule broke mend themselves on update.
/// 2: a care record may carry crisis numbers in the batch that binds it (found making the v1
/// fixtures), and the programme binding is written once. 3: a care record's `policy` (the
/// acknowledgement deadline), `minor` and `exceptions` (issue 14). 4 (issue 14, item 11; these
/// refuse more than 3, and the raise judges what was set aside once more under them): a pairing its
/// participant joined needs a programme, and running a group's sessions in a programme takes the
/// `group-facilitation` module. 5 (issue 14, item 12; refuses more than 4): in case notes, what a
/// member beyond the cap of supporter, one proven-coordinator supervisor and a handed-over successor
/// writes (`casenotes.rs`). 6 (issue 15, item 7): a change's Automerge actor may be a later
/// generation of its envelope's author (protocol 8.1), which a device takes up when one of its own
/// changes left its document, and what an older release refused for that is judged again; and a
/// snapshot whose cover names a number the membership log refuses is refused (protocol 26.3).
/// 7 (issue 14, item 14): the safeguarding space (kind 8), its `concerns` and `states` append-only.
/// 8 (issue 18, item 4): reminders, `reminder/<id>` root keys a pairing's members write
/// (`reminders.rs`), which 7 refused from anyone but an admin.
/// 9 (issue 18, item 1; refuses more than 8): a member's own `leave` and a device's own `end`
/// (protocol 15.11); an end names its author alone, and no envelope of a device past its own end is
/// accepted (`MembershipState::writing_role_at`); nobody else's writing stops (in a pairing the
/// other party's device signs its own end when it learns).
/// 10 (issue 14, review M2; refuses more than 9): a safeguarding concern's wraps added later,
/// `rewrap/<concern>/<device>/<adder>` root keys an admin of the space holding `coordinator` adds in
/// its own name, new keys of a key wrap's length for a concern in the change's past (`rewraps.rs`);
/// 9 takes any root key from an admin there, so a device still on 9 takes these too.
/// 11 (issue 18, item 2): a care record's `report/<id>` root keys, its subject's reports, and a
/// safeguarding space's `report/<pass-on id>/<writer>`, a coordinator device's copy for the
/// facilitator (protocol 31), each made once as judged against the change's own past; 10 refused
/// them from anyone but an admin.
pub const RULES_VERSION: u32 = 11;

/// A report's root key prefix in a care record (protocol 31.2; the moderation domain writes them).
pub(crate) const REPORT_PREFIX: &str = "report/";

/// The report id a root key's suffix after [`REPORT_PREFIX`] carries in a space of `kind`: a care
/// record's `<id>`, a safeguarding space's copy `<pass-on id>/<writer device hex>` (protocol 31.2,
/// 31.4); `None` for anything else.
pub(crate) fn report_id(kind: SpaceKind, suffix: &str) -> Option<&str> {
    let (id, writer) = match kind {
        SpaceKind::Care => (suffix, None),
        SpaceKind::Safeguarding => {
            let (id, w) = suffix.split_once('/')?;
            (id, Some(w))
        }
        _ => return None,
    };
    (is_lower_hex(id, 16) && writer.is_none_or(|w| is_lower_hex(w, 64))).then_some(id)
}

/// The rules version that accepts reports (protocol 31): a device on an older one refuses a report
/// and holds back everything its writer sends in that space after it (a participant's referrals, a
/// coordinator's acknowledgements), so a report waits until every member device has announced this
/// version (protocol 12.2, a widening rule).
pub(crate) const REPORTS_SINCE: u32 = 11;

// Tests only (compiled in with the `test-escapes` feature or under `cfg(test)`; the bindings never
// reach it): while set, this thread's receipt checks judge as rules version 9 did, before the
// safeguarding space's `rewrap/` rule (a root key of that space is then an admin's, as every
// unknown root key), so tests can show what a device of the previous release does with a write.
#[cfg(any(test, feature = "test-escapes"))]
thread_local! {
    static AS_RULES_9: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this thread's receipt checks judging as rules version 9 did, before the
/// safeguarding space's `rewrap/` rule (tests only: what a device of the previous release does).
#[cfg(any(test, feature = "test-escapes"))]
pub fn judged_as_rules_9_for_tests<T>(f: impl FnOnce() -> T) -> T {
    AS_RULES_9.with(|c| c.set(true));
    let out = f();
    AS_RULES_9.with(|c| c.set(false));
    out
}

/// Whether this thread judges as rules version 9 (tests only; always false in a release).
fn as_rules_9() -> bool {
    #[cfg(any(test, feature = "test-escapes"))]
    {
        AS_RULES_9.with(std::cell::Cell::get)
    }
    #[cfg(not(any(test, feature = "test-escapes")))]
    {
        false
    }
}

/// A care record's root key saying its participant is a minor: only ever set `true` (the care
/// domain writes it; named here because every device judges it).
const MINOR_KEY: &str = "minor";

/// A care record's root containers: once there, never replaced or deleted at the root.
const CARE_CONTAINERS: [&str; 8] = [
    "consents",
    "guardian",
    "referrals",
    "states",
    "resources",
    "outcomes",
    "policy",
    "exceptions",
];

/// Containers added to care records after the first records were made: in an older record, the
/// role that writes inside one may lay it out (an empty map where nothing stands yet).
const LATE_CONTAINERS: [&str; 2] = ["policy", "exceptions"];

/// Care-record containers whose records are never edited or deleted once written.
const APPEND_ONLY: [&str; 5] = ["consents", "guardian", "referrals", "states", "exceptions"];

/// Whether records under `root` of a space of `kind` are never edited or deleted once written, nor
/// the container replaced: a care record's ledger, and a safeguarding space's concerns and states
/// (a supporter may add its own concern, never touch another's; a concern must reach coordinators).
fn append_only(kind: SpaceKind, root: &str) -> bool {
    match kind {
        SpaceKind::Care => APPEND_ONLY.contains(&root),
        SpaceKind::Safeguarding => matches!(root, "concerns" | "states"),
        _ => false,
    }
}

/// Whether an operation on the document's object `id` under `key` adds a new key directly to a
/// top-level container (a new record), rather than writing into an existing record.
fn new_record_in_container(doc: &AutoCommit, id: &OpId, key: &Key) -> bool {
    let Ok(obj) = doc.import_obj(&opid_text(id)) else {
        return false;
    };
    let depth = doc.parents(&obj).map(|p| p.path().len()).unwrap_or(0);
    let fresh = match key {
        Key::Map(k) => doc.get(&obj, k.as_str()).ok().flatten().is_none(),
        Key::Seq(_) => false,
    };
    depth == 1 && fresh
}

/// The person a care record is about now: the one its creator named, followed through the space's
/// successions (the participant may have replaced their recovery phrase since).
pub(crate) fn current_subject(doc: &AutoCommit, members: &MembershipState) -> Option<[u8; 32]> {
    subject_of(doc).map(|p| members.current_person(p))
}

/// The person a care record is about: the 64-hex person id its creator wrote at `participant`.
pub(crate) fn subject_of(doc: &AutoCommit) -> Option<[u8; 32]> {
    match doc.get(ROOT, "participant") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(t) if t.len() == 64 => hex::decode(t.as_str()).ok()?.try_into().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The programme a document is bound to, if its creator bound it.
pub(crate) fn programme_of(doc: &AutoCommit) -> Option<[u8; 32]> {
    match doc.get(ROOT, PROGRAMME_KEY) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(t) => hex::decode(t.as_str()).ok()?.try_into().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The registry of the credentials a document holds for its programme (unverifiable entries are
/// skipped: they grant nothing).
pub(crate) fn registry_of(doc: &AutoCommit, programme: [u8; 32]) -> ProgrammeRegistry {
    let mut reg = ProgrammeRegistry::new(programme);
    for key in doc.keys(ROOT) {
        let grant = key.starts_with(CRED_PREFIX);
        if !grant && !key.starts_with(REVOKE_PREFIX) {
            continue;
        }
        // Every value a conflict holds, not only the winner: a credential cannot be hidden by
        // writing something else under its key at the same time.
        for (value, _) in doc.get_all(ROOT, key.as_str()).unwrap_or_default() {
            let Value::Scalar(s) = value else {
                continue;
            };
            let ScalarValue::Bytes(b) = s.as_ref() else {
                continue;
            };
            if grant {
                let _ = reg.insert_grant(b);
            } else {
                let _ = reg.insert_revocation(b);
            }
        }
    }
    reg
}

/// The registry an envelope is judged with: the credentials the document holds, plus those the
/// envelope itself publishes (a device publishes its credential in the same envelope as the first
/// write that needs it). `None` for a space bound to no programme.
pub(crate) fn registry_for(doc: &AutoCommit, changes: &[Change]) -> Option<ProgrammeRegistry> {
    // A document not yet bound takes the binding the batch itself writes: the creator sets up a new
    // record and may act under its programme in the same envelope (a coordinator who enrols someone
    // and sets the crisis numbers before syncing). Only the creator may write the binding
    // (`need`), so a batch from anyone else that claims one is refused whole anyway.
    let programme = programme_of(doc).or_else(|| programme_in(changes))?;
    let mut reg = registry_of(doc, programme);
    for change in changes {
        let Some(expanded) = expand(change) else {
            continue;
        };
        for op in expanded.operations {
            let (ObjectId::Root, Key::Map(k), OpType::Put(ScalarValue::Bytes(b))) =
                (&op.obj, &op.key, &op.action)
            else {
                continue;
            };
            if k.starts_with(CRED_PREFIX) {
                let _ = reg.insert_grant(b);
            } else if k.starts_with(REVOKE_PREFIX) {
                let _ = reg.insert_revocation(b);
            }
        }
    }
    Some(reg)
}

/// The values a batch writes at the root `programme` key, in order: the bindings it claims. One
/// walk for the care record's registry ([`registry_for`]) and a pairing's certification check
/// (`credentials::bound_programmes`).
pub(crate) fn claimed_programmes(changes: &[Change]) -> Vec<String> {
    let mut out = Vec::new();
    for change in changes {
        let Some(expanded) = expand(change) else {
            continue;
        };
        for op in expanded.operations {
            if let (ObjectId::Root, Key::Map(k), OpType::Put(ScalarValue::Str(v))) =
                (&op.obj, &op.key, &op.action)
            {
                if k.as_str() == PROGRAMME_KEY {
                    out.push(v.to_string());
                }
            }
        }
    }
    out
}

/// The programme a batch binds its document to (the last root `programme` it writes), if any.
fn programme_in(changes: &[Change]) -> Option<[u8; 32]> {
    let last = claimed_programmes(changes).pop()?;
    hex::decode(last).ok().and_then(|b| b.try_into().ok())
}

/// Everything about the writers of one space that the check needs, taken once per batch.
pub(crate) fn author<'a>(
    members: &MembershipState,
    creator: Option<DeviceId>,
    (device, seq): (DeviceId, u64),
    programme: Option<&'a ProgrammeRegistry>,
) -> Author<'a> {
    Author {
        device,
        // By the envelope's number, not the role the device holds now: every device judges one
        // envelope the same whenever it learns of a demotion or removal (protocol 15.10).
        role: members.writing_role_at(&device, seq),
        creator: creator == Some(device),
        programme,
        // Only a person who signed for the device counts: an admin naming someone else's person
        // for a device of its own must not make it a coordinator or a record's subject.
        person: members.proven_person(&device),
        // Removed devices too: a participant's lost and revoked phone still names their person.
        persons: members
            .removed_persons
            .iter()
            .chain(members.persons.iter())
            .filter(|(d, _)| members.proven.contains(d))
            .map(|(d, p)| (*d, *p))
            .collect(),
        successors: members.successors.clone(),
        needs_binding: false,
        refused: false,
    }
}

/// Whether `device` may erase a shared space for good (issue 14, item 17; protocol 23.2), judged by
/// every device against its own log and document: a group by a current admin (its facilitator); a
/// pairing and a care record by a current member who is the person they are about (the
/// participant), never by the supporter or a coordinator. No other kind is erased this way (a
/// person's journal and index have their own erasure, case notes are the supporter's record).
pub(crate) fn may_erase(
    doc: &AutoCommit,
    kind: SpaceKind,
    members: &MembershipState,
    device: &DeviceId,
) -> bool {
    if !members.is_member(device) {
        return false;
    }
    match kind {
        SpaceKind::Group => members.role(device) == Some(Role::Admin),
        SpaceKind::Pairing | SpaceKind::Care => {
            is_subject(doc, kind, &author(members, None, (*device, u64::MAX), None))
        }
        _ => false,
    }
}

/// Whether an erasure of this space must wait: a care record holding a referral that no
/// coordinator has acknowledged (no state record names it; states are a coordinator's own, refused
/// from anyone else on receipt). Until then every device keeps the record, and an admin's device
/// sends no statement of its own, so a risk signal is never dropped before someone whose duty it is
/// has seen it; the relay serves the statement again at each sync, so the erasure takes effect once
/// the referral is acknowledged (protocol 23.2). Read straight from the document, so a referral this
/// device cannot yet verify (from the participant's new phone) holds it too.
pub(crate) fn erasure_waits(doc: &AutoCommit, kind: SpaceKind) -> bool {
    if kind != SpaceKind::Care {
        return false;
    }
    let acknowledged: std::collections::HashSet<String> =
        read_all(doc, "states", |d, _, r| string(d, r, "referral"))
            .into_iter()
            .collect();
    read_all(doc, "referrals", |_, id, _| Some(id.to_string()))
        .iter()
        .any(|id| !acknowledged.contains(id))
}

/// Whether `author` is the person a document is about: in a care record, a device of the person
/// `participant` names; in a pairing, the `participant` device or another device of its person.
fn is_subject(doc: &AutoCommit, kind: SpaceKind, author: &Author<'_>) -> bool {
    match kind {
        SpaceKind::Care => subject_of(doc).is_some_and(|mut p| {
            for _ in 0..16 {
                match author.successors.get(&p) {
                    Some(next) if *next != p => p = *next,
                    _ => break,
                }
            }
            author.person == Some(p)
        }),
        SpaceKind::Pairing => {
            // The pairing's `participant` device, read as `pairing::participant` reads it.
            let Some(device) = string(doc, &ROOT, "participant")
                .filter(|d| is_lower_hex(d, 64))
                .and_then(|h| DeviceId::from_hex(&h).ok())
            else {
                return false;
            };
            author.device == device
                || author
                    .persons
                    .get(&device)
                    .is_some_and(|p| author.person == Some(*p))
        }
        _ => false,
    }
}

/// Whether an operation that names who wrote a record ([`AUTHOR_FIELDS`]) names the signer.
fn signed_as_written(author: &Author<'_>, key: &Key, action: &OpType) -> bool {
    match (key, action) {
        (Key::Map(k), OpType::Put(ScalarValue::Str(v))) if AUTHOR_FIELDS.contains(&k.as_str()) => {
            v.as_str() == author.device.to_hex()
        }
        _ => true,
    }
}

/// A change's operations, or `None` when Automerge cannot expand them (its expander panics on some
/// malformed operations; a panic here would stop every sync of the space).
pub(crate) fn expand(change: &Change) -> Option<automerge::ExpandedChange> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change.decode())).ok()
}

fn opid_text(id: &OpId) -> String {
    format!("{}@{}", id.counter(), id.actor())
}

/// The root key an object lives under: from objects created earlier in the same envelope, or from
/// the document.
fn root_of(doc: &AutoCommit, id: &OpId, created: &HashMap<OpId, String>) -> Option<String> {
    if let Some(r) = created.get(id) {
        return Some(r.clone());
    }
    let ex = doc.import_obj(&opid_text(id)).ok()?;
    let path = doc.parents(&ex).ok()?.path();
    match path.first() {
        Some((_, Prop::Map(k))) => Some(k.clone()),
        _ => None,
    }
}

/// Whether every operation of `changes` (one envelope, in order) is one `author` may make in a space
/// of `kind`. An operation on an object this device cannot place is refused too.
pub(crate) fn allowed(
    doc: &AutoCommit,
    kind: SpaceKind,
    author: &Author<'_>,
    changes: &[Change],
) -> bool {
    if author.unlimited(kind) {
        return true;
    }
    if author.refused {
        return false;
    }
    let subject = is_subject(doc, kind, author);
    // A space is bound to one programme, once: the binding decides whose credentials judge every
    // later write, so it is never rewritten, removed, or claimed twice by one batch.
    let already_bound = doc.get(ROOT, PROGRAMME_KEY).ok().flatten().is_some();
    let mut claims = claimed_programmes(changes);
    claims.dedup();
    if claims.len() > 1 || (already_bound && !claims.is_empty()) {
        return false;
    }
    let mut created: HashMap<OpId, String> = HashMap::new();
    // What a wrap added to a safeguarding concern is judged by: the envelope's own past.
    let mut past = rewraps::Past::default();
    for change in changes {
        // Shared documents commit with Unix seconds (`groups::write`). A change is judged no earlier
        // than the newest change it depends on, so an author cannot backdate below what it saw.
        let deps_time = change
            .deps()
            .iter()
            .filter_map(|d| doc.get_change_by_hash(d).map(|c| c.timestamp()))
            .max()
            .unwrap_or(0);
        let at = u64::try_from(change.timestamp().max(deps_time)).unwrap_or(0);
        let Some(expanded) = expand(change) else {
            return false;
        };
        // The change's own past as this device holds it (a dependency in the same envelope is
        // not in `doc` yet, and made nothing `doc` shows): what a reminder's make is judged by.
        let known_deps: Vec<automerge::ChangeHash> = change
            .deps()
            .iter()
            .filter(|d| doc.get_change_by_hash(d).is_some())
            .copied()
            .collect();
        past.add_heads(&known_deps);
        let start = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            if kind == SpaceKind::Safeguarding {
                let id = OpId::new(start + i as u64, &expanded.actor_id);
                past.note(doc, id, (&op.obj, &op.key, &op.action));
            }
            let root = match &op.obj {
                ObjectId::Root => match &op.key {
                    Key::Map(k) => Some(k.to_string()),
                    Key::Seq(_) => None,
                },
                ObjectId::Id(id) => root_of(doc, id, &created),
            };
            let Some(root) = root else {
                return false;
            };
            let at_root = matches!(op.obj, ObjectId::Root);
            // The creator lays out the document: it makes each root container once, even one it
            // could not write into later (a supporter making case notes' `reviews`).
            let layout = author.creator
                && author.role == Some(Role::Admin)
                && at_root
                && matches!(op.action, OpType::Make(_))
                && op.pred.is_empty()
                && doc.get(ROOT, root.as_str()).ok().flatten().is_none();
            // A published credential is a put of signed bytes under their own id: nothing else
            // (no delete, no overwrite with junk) is accepted under those keys.
            if at_root
                && (root.starts_with(CRED_PREFIX)
                    || root.starts_with(REVOKE_PREFIX)
                    || root.starts_with(TRAIN_PREFIX))
            {
                let ok = match &op.action {
                    OpType::Put(ScalarValue::Bytes(b)) => {
                        root.ends_with(&hex::encode(crate::crypto::sha256(b)))
                    }
                    _ => false,
                };
                if !ok || author.role.is_none() {
                    return false;
                }
                continue;
            }
            // A wrap added to a safeguarding concern later is its own root key (`rewraps.rs`).
            if rewraps::is_rewrap(kind, &root) && !as_rules_9() {
                let op_at = (at_root, &op.key, &op.action, op.pred.is_empty());
                if !rewraps::op_allowed(doc, author, &root, op_at, (at, &past)) {
                    return false;
                }
                continue;
            }
            // A report (protocol 31.2, 31.4) is its own root key of a care record (by the record's
            // subject) or a safeguarding space (by a coordinator): made once and filled in by the
            // batch that made it; never edited or deleted.
            if matches!(kind, SpaceKind::Care | SpaceKind::Safeguarding)
                && root.starts_with(REPORT_PREFIX)
            {
                // Made once, judged against the change's own past (not this device's present), so
                // two concurrent makes are judged alike on every device whatever their order
                // (review H1); a copy's key names its writer, so two coordinators never make one.
                let fresh = match &op.obj {
                    ObjectId::Root => {
                        matches!(op.action, OpType::Make(automerge::ObjType::Map))
                            && op.pred.is_empty()
                            && root
                                .strip_prefix(REPORT_PREFIX)
                                .and_then(|x| report_id(kind, x).map(|id| (x, id)))
                                .is_some_and(|(x, id)| {
                                    kind == SpaceKind::Care
                                        || x[id.len() + 1..] == author.device.to_hex()
                                })
                            && !created.values().any(|r| *r == root)
                            && doc
                                .get_all_at(ROOT, root.as_str(), &known_deps)
                                .is_ok_and(|v| v.is_empty())
                    }
                    ObjectId::Id(id) => {
                        created.contains_key(id) && !matches!(op.action, OpType::Delete)
                    }
                };
                if !fresh || !author.may(need(kind, &root), at, subject) {
                    return false;
                }
                if matches!(op.action, OpType::Make(_)) {
                    created.insert(OpId::new(start + i as u64, &expanded.actor_id), root);
                }
                continue;
            }
            // A reminder is its own root key, with its own rule (`reminders.rs`).
            if reminders::is_reminder(kind, &root) {
                let target = match &op.obj {
                    ObjectId::Root => reminders::Target::Root(&known_deps),
                    ObjectId::Id(id) if created.contains_key(id) => reminders::Target::Made,
                    ObjectId::Id(id) => {
                        reminders::Target::Existing(doc.import_obj(&opid_text(id)).ok())
                    }
                };
                if !reminders::op_allowed(
                    doc,
                    kind,
                    author.role,
                    &root,
                    target,
                    &op.key,
                    &op.action,
                    op.pred.is_empty(),
                ) || !signed_as_written(author, &op.key, &op.action)
                {
                    return false;
                }
                if matches!(op.action, OpType::Make(_)) {
                    created.insert(OpId::new(start + i as u64, &expanded.actor_id), root);
                }
                continue;
            }
            // A care record's ledger is append-only, for everyone: new records only, never an edit,
            // a delete or a replaced container (consents prove what was agreed; referrals must reach
            // coordinators; states are history).
            if append_only(kind, &root) && !layout {
                if at_root || matches!(op.action, OpType::Delete) {
                    return false;
                }
                if let ObjectId::Id(id) = &op.obj {
                    if !created.contains_key(id) && !new_record_in_container(doc, id, &op.key) {
                        return false;
                    }
                }
            }
            // The binding, a care record's participant, and a pairing's participant and supporter
            // (whom its erasure and sharing rules name) are ids written once: a text of 64
            // lowercase hex while the key is absent, never any other value, never again (a number
            // written over the binding would unbind the record and hide its referrals from every
            // coordinator; a rewritten participant would stop the person's own help counting).
            if at_root
                && (root == PROGRAMME_KEY
                    || (kind == SpaceKind::Care && root == "participant")
                    || (kind == SpaceKind::Pairing
                        && (root == "participant" || root == "supporter")))
            {
                let id =
                    matches!(&op.action, OpType::Put(ScalarValue::Str(v)) if is_lower_hex(v, 64));
                if !id || doc.get(ROOT, root.as_str()).ok().flatten().is_some() {
                    return false;
                }
            }
            // A care record's participant, once a minor, stays one: `minor` is only ever set true.
            if kind == SpaceKind::Care
                && at_root
                && root == MINOR_KEY
                && !matches!(op.action, OpType::Put(ScalarValue::Boolean(true)))
            {
                return false;
            }
            let mut needed = need(kind, &root);
            // A care record's containers, once there, are never replaced or deleted at the root,
            // by anyone (an admin who is no coordinator replacing `policy` or `resources` would
            // undo the programme's deadline or crisis lines).
            // (Looked up only for a care record's root keys: this runs for every operation.)
            let care_root = kind == SpaceKind::Care && at_root;
            let exists = care_root && doc.get(ROOT, root.as_str()).ok().flatten().is_some();
            if exists && CARE_CONTAINERS.contains(&root.as_str()) {
                return false;
            }
            // In records made before a container existed, the role that writes inside it may lay
            // it out: a new empty map, where nothing stands yet.
            let late_layout = care_root
                && !exists
                && LATE_CONTAINERS.contains(&root.as_str())
                && matches!(op.action, OpType::Make(automerge::ObjType::Map))
                && op.pred.is_empty();
            // `minor` is a coordinator's to set (only ever true, checked above).
            let minor = kind == SpaceKind::Care && at_root && root == MINOR_KEY;
            // A member writes inside its containers, never the container itself (replacing or
            // deleting `notes` would wipe everyone's notes); published credentials excepted.
            if at_root
                && matches!(needed, Need::Member | Need::Subject | Need::With(_))
                && !root.starts_with(CRED_PREFIX)
                && !root.starts_with(REVOKE_PREFIX)
                && !late_layout
                && !minor
            {
                needed = Need::Admin;
            }
            // The creator may say so at enrolment (a peer supporter who enrols a child).
            if minor && author.creator {
                needed = Need::Creator;
            }
            if !layout && !author.may(needed, at, subject) {
                return false;
            }
            if needed == Need::CertifiedCreator
                && !credentials::creator_certified(doc, changes, author.person, at)
            {
                return false;
            }
            // A pairing this device joined as its participant is set up under a programme, or not
            // at all here (one-to-one work happens under a programme's rules).
            if author.needs_binding
                && kind == SpaceKind::Pairing
                && at_root
                && matches!(root.as_str(), "participant" | "supporter")
                && !credentials::binds_programme(doc, changes)
            {
                return false;
            }
            // Running a programme group's sessions takes the facilitation module, current.
            if kind == SpaceKind::Group
                && root == "sessions"
                && !layout
                && !credentials::facilitator_trained(
                    author.programme,
                    doc,
                    changes,
                    author.person,
                    at,
                )
            {
                return false;
            }
            // Whoever a record says wrote it must be who signed it.
            if !signed_as_written(author, &op.key, &op.action) {
                return false;
            }
            if matches!(op.action, OpType::Make(_)) {
                let id = OpId::new(start + i as u64, &expanded.actor_id);
                created.insert(id, root);
            }
        }
    }
    true
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::groups;
    use crate::identity::Identity;
    use crate::space::{CODEC_BUNDLE as DEFAULT_TEST_CODEC, Space};
    use crate::store::Store;
    use automerge::transaction::Transactable;

    /// A device with its own vault (for the unit tests here and in `care/training.rs`).
    pub(crate) struct Device {
        _dir: tempfile::TempDir,
        pub(crate) store: Store,
        pub(crate) id: Identity,
    }

    pub(crate) fn device(seed: u8) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("v.db"), &[seed; 32]).unwrap();
        let id = Identity::load_or_create(&store).unwrap();
        Device {
            _dir: dir,
            store,
            id,
        }
    }

    fn outgoing(d: &Device, s: &mut Space) -> Vec<Vec<u8>> {
        s.seal_outgoing(&d.store, &d.id, DEFAULT_TEST_CODEC)
            .unwrap();
        s.unacked(&d.store).unwrap()
    }

    /// A care record about `subject` (hex), made and laid out by `f`.
    fn care_record(f: &Device, subject: &str) -> Space {
        let mut fs = Space::create(&f.store, SpaceKind::Care, &f.id).unwrap();
        crate::care::init(&mut fs.doc, subject, 1_000).unwrap();
        fs.persist(&f.store).unwrap();
        fs
    }

    /// A support group named "Kelompok", made by `f`.
    pub(crate) fn group(f: &Device) -> Space {
        let mut fs = Space::create(&f.store, SpaceKind::Group, &f.id).unwrap();
        groups::init(&mut fs.doc, "Kelompok", 1).unwrap();
        fs.persist(&f.store).unwrap();
        fs
    }

    /// `m` joins `f`'s space as a member (named as `person` by `f`, unproven); its copy.
    pub(crate) fn joined(
        f: &Device,
        fs: &mut Space,
        m: &Device,
        person: Option<[u8; 32]>,
    ) -> Space {
        fs.add_member(
            &f.store,
            &f.id,
            m.id.device,
            m.id.x25519_public,
            Role::Member,
            person,
        )
        .unwrap();
        let mut ms = Space::adopt_at(
            &m.store,
            fs.id,
            fs.kind,
            zeroize::Zeroizing::new(*fs.key()),
            fs.epoch,
            m.id.device,
        )
        .unwrap();
        ms.receive(&m.store, &m.id, &outgoing(f, fs)).unwrap();
        ms
    }

    /// A space is bound to its programme once, by its creator, and stays bound: a creator who
    /// rebinds a care record to a programme of its own making (where it is "coordinator") could
    /// otherwise write acknowledgements no real coordinator gave, and a deleted binding would let
    /// it bind again (review finding, issue 14). Refused on receipt, whoever sends it.
    #[test]
    fn a_programme_binding_is_written_once_and_never_changed_or_removed() {
        // Each attempt in a record of its own: bound by its creator f, then seen by member m. A
        // number or a map written over the binding would unbind it as surely as a delete (review
        // finding); a rewritten participant would stop the person's own help counting.
        for attempt in ["rebind", "unbind", "number", "map", "participant", "policy"] {
            let f = device(1);
            let m = device(2);
            let mut fs = care_record(&f, &"ab".repeat(32));
            fs.doc.put(ROOT, PROGRAMME_KEY, "11".repeat(32)).unwrap();
            fs.doc.commit();
            fs.persist(&f.store).unwrap();
            let mut ms = joined(&f, &mut fs, &m, None);
            assert_eq!(programme_of(&ms.doc), Some([0x11; 32]));
            let seen = outgoing(&f, &mut fs);
            match attempt {
                "rebind" => fs.doc.put(ROOT, PROGRAMME_KEY, "22".repeat(32)).unwrap(),
                "number" => fs.doc.put(ROOT, PROGRAMME_KEY, 0_i64).unwrap(),
                "map" => {
                    fs.doc
                        .put_object(ROOT, PROGRAMME_KEY, automerge::ObjType::Map)
                        .unwrap();
                }
                "participant" => fs.doc.put(ROOT, "participant", "cd".repeat(32)).unwrap(),
                // The creator, an admin holding no coordinator role, replaces the deadline's
                // container (it would undo the programme's deadline).
                "policy" => {
                    fs.doc
                        .put_object(ROOT, "policy", automerge::ObjType::Map)
                        .unwrap();
                }
                _ => fs.doc.delete(ROOT, PROGRAMME_KEY).unwrap(),
            }
            fs.doc.commit();
            fs.persist(&f.store).unwrap();
            let sent: Vec<Vec<u8>> = outgoing(&f, &mut fs)
                .into_iter()
                .filter(|e| !seen.contains(e))
                .collect();
            assert_eq!(sent.len(), 1);
            let r = ms.receive(&m.store, &m.id, &sent).unwrap();
            assert_eq!(r.quarantined, 1, "{attempt} is refused");
            assert_eq!(programme_of(&ms.doc), Some([0x11; 32]), "{attempt}");
            assert_eq!(subject_of(&ms.doc), Some([0xab; 32]), "{attempt}");
        }
    }

    /// Review finding: a pairing's `participant` and `supporter` were not written once, so the
    /// supporter (the pairing's creator) could name its own device the participant, then erase the
    /// pairing from the participant's phone as its "subject". Neither is ever rewritten.
    #[test]
    fn a_pairings_participant_and_supporter_are_written_once() {
        for attempt in ["participant", "supporter"] {
            let f = device(1);
            let m = device(2);
            let mut fs = Space::create(&f.store, SpaceKind::Pairing, &f.id).unwrap();
            let m_hex = m.id.device.to_hex();
            let f_hex = f.id.device.to_hex();
            crate::pairing::init(&mut fs.doc, &m_hex, &f_hex, 1_000).unwrap();
            fs.persist(&f.store).unwrap();
            let mut ms = joined(&f, &mut fs, &m, None);
            let seen = outgoing(&f, &mut fs);
            fs.doc.put(ROOT, attempt, "cd".repeat(32)).unwrap();
            fs.doc.commit();
            fs.persist(&f.store).unwrap();
            let sent: Vec<Vec<u8>> = outgoing(&f, &mut fs)
                .into_iter()
                .filter(|e| !seen.contains(e))
                .collect();
            assert_eq!(sent.len(), 1);
            let r = ms.receive(&m.store, &m.id, &sent).unwrap();
            assert_eq!(r.quarantined, 1, "{attempt} rewritten is refused");
            assert_eq!(
                crate::space::doc::string(&ms.doc, &ROOT, "participant"),
                Some(m_hex.clone()),
                "{attempt}"
            );
        }
    }

    /// An envelope an older version refused (kept, quarantined) is judged again once the rules
    /// change: records broken by a since-fixed rule (crisis numbers set before a record's first
    /// sync made every device refuse it) mend themselves when the app updates, instead of staying
    /// refused for ever (review finding, issue 14).
    #[test]
    fn envelopes_refused_under_older_rules_are_judged_again() {
        let f = device(1);
        let m = device(2);
        let mut fs = group(&f);
        let mut ms = joined(&f, &mut fs, &m, None);
        let seen = outgoing(&f, &mut fs);
        let f_me = f.id.device.to_hex();
        groups::add_note(&mut fs.doc, "00000000000000a1", "", "catatan", &f_me, 2).unwrap();
        fs.persist(&f.store).unwrap();
        let new: Vec<Vec<u8>> = outgoing(&f, &mut fs)
            .into_iter()
            .filter(|e| !seen.contains(e))
            .collect();
        assert_eq!(new.len(), 1);
        // What an older version did with it: stored, counted as held, refused.
        let env = sebaya_proto::envelope::Envelope::parse(&new[0]).unwrap();
        let h = env.header().unwrap();
        Space::insert_envelope(&m.store, &env, &h.author, h.seq, 2).unwrap();
        ms.vector.insert(h.author, h.seq);
        ms.save_record(&m.store).unwrap();
        let id = ms.id;
        drop(ms);
        // The updated app opens the space: the envelope is judged again, and taken.
        let again = Space::load(&m.store, &id, &m.id).unwrap();
        assert!(groups::note(&again.doc, "00000000000000a1").is_some());
        let states: Vec<i64> = {
            let mut stmt = m.store.conn.prepare("SELECT state FROM envelopes").unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap()
        };
        assert!(!states.contains(&2), "{states:?}");
        // Judged again once per change of the rules, not at every open: what these rules refuse
        // stays set aside.
        drop(again);
        m.store
            .conn
            .execute("UPDATE envelopes SET state = 2", [])
            .unwrap();
        let _ = Space::load(&m.store, &id, &m.id).unwrap();
        let still: i64 = m
            .store
            .conn
            .query_row("SELECT count(*) FROM envelopes WHERE state = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(still > 0);
    }

    /// A new record's first batch may bind it once, not claim two programmes (one to be judged
    /// under, another to end with).
    #[test]
    fn a_first_batch_may_not_claim_two_programmes() {
        let f = device(1);
        let mut fs = care_record(&f, &"ab".repeat(32));
        let before = fs.doc.get_heads();
        fs.doc.put(ROOT, PROGRAMME_KEY, "11".repeat(32)).unwrap();
        fs.doc.commit();
        fs.doc.put(ROOT, PROGRAMME_KEY, "22".repeat(32)).unwrap();
        fs.doc.commit();
        let changes: Vec<Change> = fs.doc.get_changes(&before);
        let base = fs.doc.fork_at(&before).unwrap();
        let members = fs.membership().clone();
        let author = author(&members, fs.creator(), (f.id.device, 1), None);
        assert!(!allowed(&base, SpaceKind::Care, &author, &changes));
        // One claim is the creator's to make.
        assert!(allowed(&base, SpaceKind::Care, &author, &changes[..1]));
    }

    /// A member whose client skips the local check (a modified app) writes a session, renames the
    /// group, and adds a note: the facilitator's device takes the note and refuses the rest.
    #[test]
    fn a_members_writes_outside_its_containers_are_refused_on_receipt() {
        let f = device(1);
        let m = device(2);
        let mut fs = group(&f);
        let mut ms = joined(&f, &mut fs, &m, None);
        assert_eq!(groups::name(&ms.doc), "Kelompok");

        // A legitimate note, in its own envelope.
        let me = m.id.device.to_hex();
        groups::add_note(&mut ms.doc, "00000000000000a1", "", "boleh", &me, 2).unwrap();
        ms.persist(&m.store).unwrap();
        let note = outgoing(&m, &mut ms);
        // Then, bypassing the client's check: a session with attendance, and a rename.
        groups::add_session(&mut ms.doc, "00000000000000b1", 3, "palsu", &me, 3).unwrap();
        ms.persist(&m.store).unwrap();
        let session = outgoing(&m, &mut ms);
        groups::rename(&mut ms.doc, "Nama lain", 4).unwrap();
        ms.persist(&m.store).unwrap();

        let r = fs.receive(&f.store, &f.id, &note).unwrap();
        assert_eq!(r.quarantined, 0);
        assert!(groups::note(&fs.doc, "00000000000000a1").is_some());
        // Everything after the note: the session envelope and the rename envelope.
        let all: Vec<Vec<u8>> = outgoing(&m, &mut ms)
            .into_iter()
            .filter(|e| !note.contains(e))
            .collect();
        assert_eq!(all.len(), 2);
        assert!(
            session
                .iter()
                .filter(|e| !note.contains(e))
                .all(|e| all.contains(e))
        );
        let r = fs.receive(&f.store, &f.id, &all).unwrap();
        assert_eq!(r.quarantined, 1, "the session envelope is refused whole");
        assert!(groups::sessions(&fs.doc).is_empty());
        assert_eq!(
            groups::name(&fs.doc),
            "Kelompok",
            "the rename waits on the refused change"
        );
    }

    /// A member may write inside the notebook but not wipe it, and may not sign a note as someone
    /// else: both refused on receipt.
    #[test]
    fn a_member_cannot_delete_a_container_or_forge_a_records_author() {
        let f = device(1);
        let m = device(2);
        let mut fs = Space::create(&f.store, SpaceKind::Group, &f.id).unwrap();
        groups::init(&mut fs.doc, "Kelompok", 1).unwrap();
        fs.persist(&f.store).unwrap();
        fs.add_member(
            &f.store,
            &f.id,
            m.id.device,
            m.id.x25519_public,
            Role::Member,
            None,
        )
        .unwrap();
        let f_me = f.id.device.to_hex();
        groups::add_note(&mut fs.doc, "00000000000000a1", "", "punya f", &f_me, 2).unwrap();
        fs.persist(&f.store).unwrap();
        let mut ms = Space::adopt_at(
            &m.store,
            fs.id,
            SpaceKind::Group,
            zeroize::Zeroizing::new(*fs.key()),
            fs.epoch,
            m.id.device,
        )
        .unwrap();
        ms.receive(&m.store, &m.id, &outgoing(&f, &mut fs)).unwrap();
        let seen = outgoing(&m, &mut ms);
        // What it sealed so far carries its rules announcement (protocol 12.2): the receiver holds it.
        fs.receive(&f.store, &f.id, &seen).unwrap();
        // A note signed with the facilitator's id.
        groups::add_note(&mut ms.doc, "00000000000000b1", "", "palsu", &f_me, 3).unwrap();
        ms.persist(&m.store).unwrap();
        let forged: Vec<Vec<u8>> = outgoing(&m, &mut ms)
            .into_iter()
            .filter(|e| !seen.contains(e))
            .collect();
        let r = fs.receive(&f.store, &f.id, &forged).unwrap();
        assert_eq!(r.quarantined, 1);
        assert!(groups::note(&fs.doc, "00000000000000b1").is_none());
        // A member deleting the whole notebook (a fresh device, so nothing depends on the forgery).
        let m2 = device(3);
        fs.add_member(
            &f.store,
            &f.id,
            m2.id.device,
            m2.id.x25519_public,
            Role::Member,
            None,
        )
        .unwrap();
        let mut m2s = Space::adopt_at(
            &m2.store,
            fs.id,
            SpaceKind::Group,
            zeroize::Zeroizing::new(*fs.key()),
            fs.epoch,
            m2.id.device,
        )
        .unwrap();
        m2s.receive(&m2.store, &m2.id, &outgoing(&f, &mut fs))
            .unwrap();
        let seen = outgoing(&m2, &mut m2s);
        // What it sealed so far carries its rules announcement (protocol 12.2): the receiver holds it.
        fs.receive(&f.store, &f.id, &seen).unwrap();
        m2s.doc.delete(ROOT, "notes").unwrap();
        m2s.doc.commit();
        m2s.persist(&m2.store).unwrap();
        let wipe: Vec<Vec<u8>> = outgoing(&m2, &mut m2s)
            .into_iter()
            .filter(|e| !seen.contains(e))
            .collect();
        let r = fs.receive(&f.store, &f.id, &wipe).unwrap();
        assert_eq!(r.quarantined, 1);
        assert!(groups::note(&fs.doc, "00000000000000a1").is_some());
    }

    /// Published credentials are puts of signed bytes under their own id: a member cannot hide one
    /// by deleting it or writing junk over it.
    #[test]
    fn credentials_are_only_ever_added_under_their_own_id() {
        let f = device(1);
        let m = device(2);
        let mut fs = Space::create(&f.store, SpaceKind::Group, &f.id).unwrap();
        groups::init(&mut fs.doc, "Kelompok", 1).unwrap();
        fs.persist(&f.store).unwrap();
        fs.add_member(
            &f.store,
            &f.id,
            m.id.device,
            m.id.x25519_public,
            Role::Member,
            None,
        )
        .unwrap();
        let bytes = b"any signed statement".to_vec();
        let key = format!(
            "{CRED_PREFIX}{}",
            hex::encode(crate::crypto::sha256(&bytes))
        );
        fs.doc
            .put(ROOT, key.as_str(), ScalarValue::Bytes(bytes.clone()))
            .unwrap();
        fs.doc.commit();
        fs.persist(&f.store).unwrap();
        let mut ms = Space::adopt_at(
            &m.store,
            fs.id,
            SpaceKind::Group,
            zeroize::Zeroizing::new(*fs.key()),
            fs.epoch,
            m.id.device,
        )
        .unwrap();
        ms.receive(&m.store, &m.id, &outgoing(&f, &mut fs)).unwrap();
        let mut seen = outgoing(&m, &mut ms);
        // What it sealed so far carries its rules announcement (protocol 12.2): the receiver holds it.
        fs.receive(&f.store, &f.id, &seen).unwrap();
        let mut attempt = |ms: &mut Space, f_space: &mut Space, edit: &dyn Fn(&mut AutoCommit)| {
            let mut trial = ms
                .doc
                .fork()
                .with_actor(crate::space::actor_of(&m.id.device));
            edit(&mut trial);
            trial.commit();
            let changes = trial.get_changes(&ms.doc.get_heads());
            let author = author(ms.membership(), ms.creator(), (m.id.device, 1), None);
            let local = allowed(&ms.doc, SpaceKind::Group, &author, &changes);
            ms.doc.apply_changes(changes).unwrap();
            ms.persist(&m.store).unwrap();
            let new: Vec<Vec<u8>> = outgoing(&m, ms)
                .into_iter()
                .filter(|e| !seen.contains(e))
                .collect();
            seen.extend(new.iter().cloned());
            let r = f_space.receive(&f.store, &f.id, &new).unwrap();
            (local, r.quarantined)
        };
        let junk = |d: &mut AutoCommit| {
            d.put(ROOT, key.as_str(), ScalarValue::Bytes(b"junk".to_vec()))
                .unwrap();
        };
        assert_eq!(attempt(&mut ms, &mut fs, &junk), (false, 1));
        assert_eq!(
            crate::space::rules::registry_of(&fs.doc, [0; 32]).grant_count(),
            0
        );
        assert!(
            fs.doc.get(ROOT, key.as_str()).unwrap().is_some(),
            "still there"
        );
    }

    /// In a group bound to a programme, a co-facilitator (space admin) without a programme role whose
    /// client skips the local check writes a session: the certified facilitator's device refuses it;
    /// the facilitator's own session reaches the co-facilitator.
    #[test]
    fn an_uncertified_admins_session_is_refused_on_receipt() {
        use ring::signature::{Ed25519KeyPair, KeyPair};
        use sebaya_proto::programme::RoleGrant;
        let f = device(1);
        let u = device(2);
        let prog = Ed25519KeyPair::from_seed_unchecked(&[0x50; 32]).unwrap();
        let programme: [u8; 32] = prog.public_key().as_ref().try_into().unwrap();
        let person_f =
            crate::identity::person::PersonKey::from_seed(zeroize::Zeroizing::new([0x61; 32]))
                .unwrap();
        let person_u =
            crate::identity::person::PersonKey::from_seed(zeroize::Zeroizing::new([0x62; 32]))
                .unwrap();
        let mut fs = Space::create(&f.store, SpaceKind::Group, &f.id).unwrap();
        groups::init(&mut fs.doc, "Kelompok", 1_800_000_000_000).unwrap();
        fs.persist(&f.store).unwrap();
        // f's person, recorded in the log; u added as an admin with its person.
        let cert = person_f
            .certify(f.id.device, f.id.x25519_public, 1_800_000_000)
            .unwrap();
        let sig = cert.signature().unwrap();
        fs.write_statement(
            &f.store,
            &f.id,
            sebaya_proto::membership::Op::Recertify {
                device: f.id.device,
                person: person_f.id().0,
                x25519: f.id.x25519_public,
                created: 1_800_000_000,
                signature: sig,
            },
        )
        .unwrap();
        fs.add_member(
            &f.store,
            &f.id,
            u.id.device,
            u.id.x25519_public,
            Role::Admin,
            Some(person_u.id().0),
        )
        .unwrap();
        // Bound to the programme, with f's peer supporter grant published.
        let grant = RoleGrant {
            programme,
            person: person_f.id(),
            role: ProgrammeRole::PeerSupporter,
            issuer: programme,
            issued: 1_700_000_000,
            expires: 1_700_000_000 + 700 * 86_400,
            chain: None,
        }
        .sign(&prog)
        .unwrap();
        fs.doc
            .put(ROOT, PROGRAMME_KEY, hex::encode(programme))
            .unwrap();
        fs.doc
            .put(
                ROOT,
                format!("{CRED_PREFIX}{}", hex::encode(grant.id())),
                ScalarValue::Bytes(grant.as_bytes().to_vec()),
            )
            .unwrap();
        // And f's certification in group facilitation (issue 14, item 11).
        let record = sebaya_proto::training::TrainingRecord {
            programme,
            person: person_f.id(),
            module: "group-facilitation".into(),
            completed: 1_700_000_000,
            expires: 1_700_000_000 + 700 * 86_400,
            issuer: programme,
            chain: None,
        }
        .sign(&prog)
        .unwrap()
        .into_bytes();
        fs.doc
            .put(
                ROOT,
                format!(
                    "{TRAIN_PREFIX}{}",
                    hex::encode(crate::crypto::sha256(&record))
                ),
                ScalarValue::Bytes(record),
            )
            .unwrap();
        fs.doc
            .commit_with(automerge::transaction::CommitOptions::default().with_time(1_750_000_000));
        fs.persist(&f.store).unwrap();
        let f_me = f.id.device.to_hex();
        groups::add_session(
            &mut fs.doc,
            "00000000000000a1",
            1,
            "Sesi",
            &f_me,
            1_750_000_000_000,
        )
        .unwrap();
        fs.persist(&f.store).unwrap();

        let mut us = Space::adopt_at(
            &u.store,
            fs.id,
            SpaceKind::Group,
            zeroize::Zeroizing::new(*fs.key()),
            fs.epoch,
            u.id.device,
        )
        .unwrap();
        let r = us.receive(&u.store, &u.id, &outgoing(&f, &mut fs)).unwrap();
        assert_eq!(r.quarantined, 0);
        assert_eq!(
            groups::sessions(&us.doc).len(),
            1,
            "a certified facilitator's session counts"
        );
        let before = outgoing(&u, &mut us);
        // What it sealed so far carries its rules announcement (protocol 12.2): the receiver holds it.
        fs.receive(&f.store, &f.id, &before).unwrap();
        let u_me = u.id.device.to_hex();
        groups::add_session(
            &mut us.doc,
            "00000000000000b1",
            1,
            "Palsu",
            &u_me,
            1_750_000_000_000,
        )
        .unwrap();
        us.persist(&u.store).unwrap();
        let new: Vec<Vec<u8>> = outgoing(&u, &mut us)
            .into_iter()
            .filter(|e| !before.contains(e))
            .collect();
        let r = fs.receive(&f.store, &f.id, &new).unwrap();
        assert_eq!(r.quarantined, 1);
        assert_eq!(groups::sessions(&fs.doc).len(), 1);
    }

    #[test]
    fn capability_table() {
        assert_eq!(need(SpaceKind::Group, "notes"), Need::Member);
        assert_eq!(
            need(SpaceKind::Group, "sessions"),
            Need::AdminWith(ProgrammeRole::PeerSupporter)
        );
        assert_eq!(need(SpaceKind::Group, "name"), Need::Admin);
        assert_eq!(need(SpaceKind::Group, "programme"), Need::Creator);
        assert_eq!(need(SpaceKind::Group, "cred/00"), Need::Member);
        assert_eq!(
            need(SpaceKind::Pairing, "reminder/0000000000000001"),
            Need::Member
        );
        assert_eq!(
            need(SpaceKind::Group, "reminder/0000000000000001"),
            Need::Admin
        );
        assert_eq!(
            need(SpaceKind::Care, "reminder/0000000000000001"),
            Need::Admin
        );
        assert_eq!(need(SpaceKind::Pairing, "goals"), Need::Member);
        assert_eq!(
            need(SpaceKind::Pairing, "participant"),
            Need::CertifiedCreator
        );
        assert_eq!(
            need(SpaceKind::Pairing, "programme"),
            Need::CertifiedCreator
        );
        assert_eq!(need(SpaceKind::Pairing, "train/00"), Need::Member);
        assert_eq!(
            need(SpaceKind::CaseNotes, "reviews"),
            Need::AdminWith(ProgrammeRole::Coordinator)
        );
        assert_eq!(need(SpaceKind::Journal, "anything"), Need::Admin);
        assert_eq!(need(SpaceKind::Care, "consents"), Need::Subject);
        assert_eq!(need(SpaceKind::Care, "referrals"), Need::Member);
        assert_eq!(
            need(SpaceKind::Care, "states"),
            Need::With(ProgrammeRole::Coordinator)
        );
        // A guardian's consent and a best-interests exception: a coordinator's only (issue 14,
        // item 15; it was any admin holding a peer supporter role).
        for key in ["guardian", "exceptions", "policy"] {
            assert_eq!(
                need(SpaceKind::Care, key),
                Need::With(ProgrammeRole::Coordinator),
                "{key}"
            );
        }
        assert_eq!(
            need(SpaceKind::Care, "minor"),
            Need::With(ProgrammeRole::Coordinator)
        );
    }

    /// A batch is judged under the programme it binds its document to only when its author may bind
    /// it: a member who is not the record's creator claiming a programme together with crisis numbers
    /// is refused whole, and the record stays unbound.
    #[test]
    fn only_the_creator_binds_a_record_in_the_batch_that_uses_the_binding() {
        let f = device(1);
        let m = device(2);
        let mut fs = care_record(&f, &"ab".repeat(32));
        let mut ms = joined(&f, &mut fs, &m, None);
        ms.doc
            .put(ROOT, PROGRAMME_KEY, hex::encode([0x77u8; 32]))
            .unwrap();
        let c = crate::space::doc::container_in(&ms.doc, "resources", "care record").unwrap();
        ms.doc
            .put(
                &c,
                "id",
                r#"[{"kind":"crisis-line","name":"x","number":"1"}]"#,
            )
            .unwrap();
        ms.doc.commit();
        ms.persist(&m.store).unwrap();
        let r = fs.receive(&f.store, &f.id, &outgoing(&m, &mut ms)).unwrap();
        assert_eq!(r.quarantined, 1);
        assert_eq!(programme_of(&fs.doc), None);
        assert_eq!(crate::care::resources(&fs.doc, "id"), None);
    }

    /// In a care record, a member who is not the participant (a supporter with a modified app)
    /// writes a consent in the participant's name and acknowledges a referral: the creator's device
    /// takes the member's referral and refuses both of the others.
    #[test]
    fn a_care_records_consents_and_states_are_refused_from_anyone_else() {
        use crate::care;
        let f = device(1);
        let m = device(2);
        let mut fs = care_record(&f, &"ab".repeat(32));
        let mut ms = joined(&f, &mut fs, &m, None);
        let me = m.id.device.to_hex();
        care::add_referral(
            &mut ms.doc,
            "00000000000000a1",
            "supporter",
            "refer-now",
            &me,
            2_000,
        )
        .unwrap();
        ms.persist(&m.store).unwrap();
        let referral = outgoing(&m, &mut ms);
        let r = fs.receive(&f.store, &f.id, &referral).unwrap();
        assert_eq!(r.quarantined, 0);
        assert_eq!(care::referrals(&fs.doc).len(), 1);

        care::add_consent(
            &mut ms.doc,
            "00000000000000b1",
            "duty-of-care",
            "1",
            true,
            None,
            &me,
            3_000,
        )
        .unwrap();
        ms.persist(&m.store).unwrap();
        let consent: Vec<Vec<u8>> = outgoing(&m, &mut ms)
            .into_iter()
            .filter(|e| !referral.contains(e))
            .collect();
        let r = fs.receive(&f.store, &f.id, &consent).unwrap();
        assert_eq!(r.quarantined, 1, "a consent from someone else is refused");
        assert!(care::consents(&fs.doc).is_empty());

        // Another member, with its own history: a forged acknowledgement of the referral.
        let n = device(3);
        let mut ns = joined(&f, &mut fs, &n, None);
        ns.receive(&n.store, &n.id, &referral).unwrap();
        assert_eq!(care::referrals(&ns.doc).len(), 1);
        let them = n.id.device.to_hex();
        care::add_state(
            &mut ns.doc,
            "00000000000000c1",
            "00000000000000a1",
            "acknowledged",
            &them,
            4_000,
        )
        .unwrap();
        ns.persist(&n.store).unwrap();
        let r = fs.receive(&f.store, &f.id, &outgoing(&n, &mut ns)).unwrap();
        assert_eq!(r.quarantined, 1);
        assert!(
            care::states(&fs.doc).is_empty(),
            "only coordinators acknowledge"
        );
    }

    /// A care record's referrals cannot be deleted or edited, by their author or by an admin; a
    /// new one is accepted.
    #[test]
    fn a_care_records_ledger_is_append_only_on_receipt() {
        use crate::care;
        let f = device(1);
        let m = device(2);
        let mut fs = care_record(&f, &"ab".repeat(32));
        let mut ms = joined(&f, &mut fs, &m, None);
        let me = m.id.device.to_hex();
        care::add_referral(
            &mut ms.doc,
            "00000000000000a1",
            "supporter",
            "refer-now",
            &me,
            2_000,
        )
        .unwrap();
        ms.persist(&m.store).unwrap();
        let first = outgoing(&m, &mut ms);
        assert_eq!(fs.receive(&f.store, &f.id, &first).unwrap().quarantined, 0);
        // The author deletes its referral (a modified app): refused.
        let c = crate::space::doc::container_in(&ms.doc, "referrals", "care record").unwrap();
        ms.doc.delete(&c, "00000000000000a1").unwrap();
        ms.doc.commit();
        ms.persist(&m.store).unwrap();
        let delete: Vec<Vec<u8>> = outgoing(&m, &mut ms)
            .into_iter()
            .filter(|e| !first.contains(e))
            .collect();
        assert_eq!(fs.receive(&f.store, &f.id, &delete).unwrap().quarantined, 1);
        assert_eq!(care::referrals(&fs.doc).len(), 1);
        // The admin (the creator) edits the referral's reason, on its own device: every other
        // device would refuse it, and the honest check says so before writing.
        let r = match fs
            .doc
            .get(
                crate::space::doc::container_in(&fs.doc, "referrals", "x").unwrap(),
                "00000000000000a1",
            )
            .unwrap()
        {
            Some((automerge::Value::Object(_), r)) => r,
            _ => panic!("referral missing"),
        };
        let before = fs.doc.get_heads();
        let mut trial = fs.doc.fork();
        trial.put(&r, "reason", "safeguarding-minor").unwrap();
        trial.commit();
        let changes = trial.get_changes(&before);
        let creator = fs.creator();
        let a = author(fs.membership(), creator, (f.id.device, 1), None);
        assert!(!allowed(&fs.doc, SpaceKind::Care, &a, &changes));
    }

    /// An admin names the participant's person for a device of its own (an unsigned claim): that
    /// device's consent in the participant's name is refused; only a person's own signature
    /// (`recertify`, `vouch`) makes a device theirs.
    #[test]
    fn a_person_named_by_an_admin_without_proof_is_not_the_subject() {
        use crate::care;
        let f = device(1);
        let m = device(2);
        let subject = [0xab; 32];
        let mut fs = care_record(&f, &hex::encode(subject));
        let mut ms = joined(&f, &mut fs, &m, Some(subject));
        assert_eq!(fs.membership().persons.get(&m.id.device), Some(&subject));
        assert_eq!(fs.membership().proven_person(&m.id.device), None);
        let me = m.id.device.to_hex();
        care::add_consent(
            &mut ms.doc,
            "00000000000000b1",
            "duty-of-care",
            "1",
            true,
            None,
            &me,
            3_000,
        )
        .unwrap();
        ms.persist(&m.store).unwrap();
        let r = fs.receive(&f.store, &f.id, &outgoing(&m, &mut ms)).unwrap();
        assert_eq!(r.quarantined, 1);
        assert!(care::consents(&fs.doc).is_empty());
    }

    /// Kind 8 (issue 14, item 14): a supporter adds concerns, only a coordinator records states,
    /// anything else is an admin's; both ledgers are append-only for everyone (review M3).
    #[test]
    fn the_safeguarding_spaces_needs_and_ledgers() {
        let k = SpaceKind::Safeguarding;
        assert_eq!(
            need(k, "concerns"),
            Need::With(ProgrammeRole::PeerSupporter)
        );
        assert_eq!(need(k, "states"), Need::With(ProgrammeRole::Coordinator));
        assert_eq!(need(k, PROGRAMME_KEY), Need::Creator);
        assert_eq!(need(k, "referrals"), Need::Admin);
        assert_eq!(need(k, "anything"), Need::Admin);
        assert_eq!(need(k, &format!("{CRED_PREFIX}x")), Need::Member);
        assert!(append_only(k, "concerns") && append_only(k, "states"));
        assert!(!append_only(k, "programme") && !append_only(k, "referrals"));
        // Not the care record's list: a safeguarding space has no `referrals` or `consents`.
        assert!(!append_only(k, "consents"));
    }
}
