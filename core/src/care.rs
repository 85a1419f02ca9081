//! Care records: a participant's enrolment in a programme, with their consents, their referrals and
//! the coordinators' answers to them, in one shared space per participant and programme.
//!
//! Why a space of its own: a referral must reach the programme's coordinators by store-and-forward
//! (the participant may be offline for days, and so may the coordinator), and consent must be
//! provable later; both need a document the participant and the coordinators share, and nothing else
//! (journal entries, scores, pairing messages) belongs in it. Coordinators see here the rule that
//! fired, never the answers that made it fire.
//!
//! Shape (version 1). The root map holds:
//! - `"participant"`: str, the participant's person id (64 lowercase hex), set by the creator.
//! - `"programme"`: str, the programme id (`rules.rs`), set by the creator.
//! - `"consents"`: map id -> `{ purpose: str, version: str, agreed: bool, by: str (device), at: ms }`,
//!   written only by the participant's own devices (`Need::Subject`). A withdrawal is a new record
//!   with `agreed: false`; nothing is edited, so the ledger is the whole history.
//! - `"guardian"`: map id -> the same fields plus `relation: str`: a parent's or guardian's consent
//!   for a minor, witnessed and recorded by the supporter or coordinator who enrolled them (admins).
//! - `"referrals"`: map id -> `{ origin: str, reason: str, by: str (device), at: ms }`, written by any
//!   member: the participant's device (a rule that fired, or "I need help now") or their supporter.
//! - `"states"`: map id -> `{ referral: str (id), state: str, by: str (device), at: ms }`: a
//!   coordinator's acknowledgement and later states, written only by a member holding the
//!   `coordinator` role of the programme (`Need::With`).
//! - `"outcomes"`: map id -> `{ instrument: str, first: int, first_at: ms, latest: int, latest_at:
//!   ms }`: the participant's first and latest totals, published by their own devices while their
//!   `report-outcomes` consent stands (`report_space.rs`); never answers.
//! - `"resources"`: map country (ISO 3166 alpha-2, lowercase) -> str (JSON list of crisis resources),
//!   written by coordinators: the programme's own numbers, which override the built-in ones.
//! - `cred/<id>`, `revoke/<id>`: published programme credentials (`programmes.rs`).
//!
//! Records are keyed by fresh ids and never edited, so offline writes on several devices never
//! conflict. Every receiving device checks who wrote each root key (`rules.rs`); this view checks the
//! shape of what is written and reads defensively (a malformed record is skipped).
//!
//! A referral's state as people see it: `queued` (on this device only), `sent` (the relay holds it),
//! `acknowledged`, `in-care`, `closed`. `sent` is known only on the device that wrote it (the relay
//! acknowledged every envelope of that device in the space); on other devices a referral is at least
//! `sent`, since it arrived.

use crate::now_ms;
use std::collections::BTreeMap;

mod resources;
use resources::check_country;
pub use resources::{
    CrisisResource, EmergencyHelp, FALLBACK_COUNTRY, MAX_RESOURCES_JSON, built_in_resources,
    emergency_help, parse_resources,
};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::instruments::{Instrument, Score};
use crate::space::doc::{boolean, container_in, int, new_record_in, read_all, string, write};
use crate::space::{SpaceKind, rules};
use crate::{SpaceId, Vault, crypto};
use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

/// Purposes a participant consents to, each explained by its own text (`consent-<purpose>` in the
/// catalogues) at the version in [`consent_version`].
pub const PURPOSES: [&str; 4] = [
    "duty-of-care",
    "share-with-supporter",
    "report-outcomes",
    "data-processing",
];
/// The purpose sharing into a pairing needs: agreed in the pairing it is for, never here.
pub const SHARE_PURPOSE: &str = "share-with-supporter";

/// The version of the consent text for `purpose` that this build shows. A new wording gets a new
/// version, so the ledger proves which text a person agreed to.
pub fn consent_version(purpose: &str) -> Result<&'static str> {
    if PURPOSES.contains(&purpose) {
        Ok("1")
    } else {
        Err(Error::InvalidInput(
            "purpose must be duty-of-care, share-with-supporter, report-outcomes or data-processing"
                .into(),
        ))
    }
}

/// Where a referral came from.
pub const ORIGINS: [&str; 3] = ["rule", "participant", "supporter"];
/// Why: a risk rule's id (`instruments::RiskFlag::id`), the participant's "I need help now", the
/// supporter's "refer now", or the supporter's safeguarding concern about a minor.
pub const REASONS: [&str; 5] = [
    "phq9-item9",
    "srq20-item17",
    "help-now",
    "refer-now",
    "safeguarding-minor",
];
/// States a coordinator records, in order.
pub const STATES: [&str; 3] = ["acknowledged", "in-care", "closed"];

const SPACE: &str = "care record";
/// Longest guardian relation ("mother", "ibu", "wali kelas"…), in characters.
const MAX_RELATION_CHARS: usize = 40;

// ---- the document -------------------------------------------------------------------------------

/// Sets up a care record about `participant` (a person id in hex) in an empty document: every
/// container in one commit, by the enrolling supporter or coordinator.
pub fn init(doc: &mut AutoCommit, participant: &str, now_ms: i64) -> Result<()> {
    if participant.len() != 64 || hex::decode(participant).is_err() {
        return Err(Error::InvalidInput(
            "participant must be a person id".into(),
        ));
    }
    if doc.keys(ROOT).next().is_some() {
        return Err(Error::InvalidInput("the care record is not empty".into()));
    }
    write(doc, now_ms, |d| {
        d.put(ROOT, "participant", participant)?;
        for c in [
            "consents",
            "guardian",
            "referrals",
            "states",
            "resources",
            "outcomes",
        ] {
            d.put_object(ROOT, c, ObjType::Map)?;
        }
        Ok(())
    })
}

/// One consent record: an agreement or a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentRecord {
    /// Record id (16 hex).
    pub id: String,
    /// One of [`PURPOSES`].
    pub purpose: String,
    /// Version of the text shown.
    pub version: String,
    /// Agreed (true) or withdrawn (false).
    pub agreed: bool,
    /// Device id (hex) that recorded it.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// For a guardian's consent: who they are to the participant. `None` for the participant's own.
    pub guardian_relation: Option<String>,
}

fn check_purpose_version(purpose: &str, version: &str) -> Result<()> {
    consent_version(purpose)?;
    if version.is_empty() || version.len() > 16 || !version.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::InvalidInput("consent version is malformed".into()));
    }
    Ok(())
}

/// Adds a consent record (the participant's own when `guardian_relation` is `None`).
#[allow(clippy::too_many_arguments)]
pub fn add_consent(
    doc: &mut AutoCommit,
    id: &str,
    purpose: &str,
    version: &str,
    agreed: bool,
    guardian_relation: Option<&str>,
    by: &str,
    now_ms: i64,
) -> Result<()> {
    crate::space::doc::check_id(id, "consent")?;
    crate::space::doc::check_device(by, "consent author")?;
    check_purpose_version(purpose, version)?;
    let key = match guardian_relation {
        None => "consents",
        Some(r) => {
            let r = r.trim();
            if r.is_empty()
                || r.chars().count() > MAX_RELATION_CHARS
                || r.chars().any(char::is_control)
            {
                return Err(Error::InvalidInput(
                    "a guardian's relation has 1 to 40 characters".into(),
                ));
            }
            "guardian"
        }
    };
    let c = new_record_in(doc, key, id, "consent", SPACE)?;
    write(doc, now_ms, |d| {
        let r = d.put_object(&c, id, ObjType::Map)?;
        d.put(&r, "purpose", purpose)?;
        d.put(&r, "version", version)?;
        d.put(&r, "agreed", agreed)?;
        if let Some(rel) = guardian_relation {
            d.put(&r, "relation", rel.trim())?;
        }
        d.put(&r, "by", by)?;
        d.put(&r, "at", now_ms)?;
        Ok(())
    })
}

fn read_consents(doc: &AutoCommit, key: &str) -> Vec<ConsentRecord> {
    let mut out = read_all(doc, key, |d, id, r| {
        let purpose = string(d, r, "purpose")?;
        let version = string(d, r, "version")?;
        check_purpose_version(&purpose, &version).ok()?;
        let relation = string(d, r, "relation");
        if key == "guardian" && relation.is_none() {
            return None;
        }
        Some(ConsentRecord {
            id: id.to_string(),
            purpose,
            version,
            agreed: boolean(d, r, "agreed")?,
            by: string(d, r, "by")?,
            at_ms: int(d, r, "at")?,
            guardian_relation: if key == "guardian" { relation } else { None },
        })
    });
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

/// The whole ledger, oldest first: the participant's records, then guardians' (each oldest first).
pub fn consents(doc: &AutoCommit) -> Vec<ConsentRecord> {
    let mut out = read_consents(doc, "consents");
    out.extend(read_consents(doc, "guardian"));
    out
}

/// Whether the newest of `records` for `purpose` agrees (to the current text version).
fn current(records: &[ConsentRecord], purpose: &str) -> bool {
    let Ok(version) = consent_version(purpose) else {
        return false;
    };
    records
        .iter()
        .filter(|r| r.purpose == purpose)
        .max_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)))
        .is_some_and(|r| r.agreed && r.version == version)
}

/// Whether the participant's consent to `purpose` stands now (their own newest record agrees to the
/// current text). A guardian's consent is needed in addition for a minor; [`guardian_consented`].
pub fn consented(doc: &AutoCommit, purpose: &str) -> bool {
    current(&read_consents(doc, "consents"), purpose)
}

/// Whether a guardian's consent to `purpose` stands now.
pub fn guardian_consented(doc: &AutoCommit, purpose: &str) -> bool {
    current(&read_consents(doc, "guardian"), purpose)
}

/// One referral as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    /// Record id (16 hex).
    pub id: String,
    /// One of [`ORIGINS`].
    pub origin: String,
    /// One of [`REASONS`].
    pub reason: String,
    /// Device id (hex) that wrote it.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

fn check_referral(origin: &str, reason: &str) -> Result<()> {
    let ok = match origin {
        "rule" => matches!(reason, "phq9-item9" | "srq20-item17"),
        "participant" => reason == "help-now",
        "supporter" => matches!(reason, "refer-now" | "safeguarding-minor"),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(
            "referral origin and reason do not go together".into(),
        ))
    }
}

/// Adds a referral record.
pub fn add_referral(
    doc: &mut AutoCommit,
    id: &str,
    origin: &str,
    reason: &str,
    by: &str,
    now_ms: i64,
) -> Result<()> {
    crate::space::doc::check_id(id, "referral")?;
    crate::space::doc::check_device(by, "referral author")?;
    check_referral(origin, reason)?;
    put_record(
        doc,
        ("referrals", "referral"),
        id,
        &[("origin", origin), ("reason", reason), ("by", by)],
        now_ms,
    )
}

/// Writes a new record `id` into the container `key` (`what` names it in errors): the string
/// `fields` and the time `at`, in one commit.
fn put_record(
    doc: &mut AutoCommit,
    (key, what): (&str, &str),
    id: &str,
    fields: &[(&str, &str)],
    now_ms: i64,
) -> Result<()> {
    let c = new_record_in(doc, key, id, what, SPACE)?;
    write(doc, now_ms, |d| {
        let r = d.put_object(&c, id, ObjType::Map)?;
        for (k, v) in fields {
            d.put(&r, *k, *v)?;
        }
        d.put(&r, "at", now_ms)?;
        Ok(())
    })
}

/// Every well-formed referral, oldest first.
pub fn referrals(doc: &AutoCommit) -> Vec<Referral> {
    let mut out = read_all(doc, "referrals", |d, id, r| {
        let origin = string(d, r, "origin")?;
        let reason = string(d, r, "reason")?;
        check_referral(&origin, &reason).ok()?;
        Some(Referral {
            id: id.to_string(),
            origin,
            reason,
            by: string(d, r, "by")?,
            at_ms: int(d, r, "at")?,
        })
    });
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

/// A coordinator's state record for a referral.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRecord {
    /// Record id (16 hex).
    pub id: String,
    /// The referral it is about.
    pub referral: String,
    /// One of [`STATES`].
    pub state: String,
    /// Device id (hex) of the coordinator's device.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

/// Adds a state record for an existing referral.
pub fn add_state(
    doc: &mut AutoCommit,
    id: &str,
    referral: &str,
    state: &str,
    by: &str,
    now_ms: i64,
) -> Result<()> {
    crate::space::doc::check_id(id, "state")?;
    crate::space::doc::check_device(by, "state author")?;
    if !STATES.contains(&state) {
        return Err(Error::InvalidInput(
            "state must be acknowledged, in-care or closed".into(),
        ));
    }
    if !referrals(doc).iter().any(|r| r.id == referral) {
        return Err(Error::NotFound("referral"));
    }
    put_record(
        doc,
        ("states", "state"),
        id,
        &[("referral", referral), ("state", state), ("by", by)],
        now_ms,
    )
}

/// Every well-formed state record.
pub fn states(doc: &AutoCommit) -> Vec<StateRecord> {
    read_all(doc, "states", |d, id, r| {
        let state = string(d, r, "state")?;
        if !STATES.contains(&state.as_str()) {
            return None;
        }
        Some(StateRecord {
            id: id.to_string(),
            referral: string(d, r, "referral")?,
            state,
            by: string(d, r, "by")?,
            at_ms: int(d, r, "at")?,
        })
    })
}

/// When `referral` first reached each state (a later state implies the earlier ones from its time).
fn stage_times(states: &[StateRecord], referral: &str) -> [Option<i64>; 3] {
    let mut out = [None; 3];
    for s in states.iter().filter(|s| s.referral == referral) {
        let Some(stage) = STATES.iter().position(|x| *x == s.state) else {
            continue;
        };
        for slot in out.iter_mut().take(stage + 1) {
            *slot = Some(slot.map_or(s.at_ms, |t: i64| t.min(s.at_ms)));
        }
    }
    out
}

/// The resources a programme set in this care record for `country`, if any (well-formed only).
pub fn resources(doc: &AutoCommit, country: &str) -> Option<Vec<CrisisResource>> {
    let c = container_in(doc, "resources", SPACE).ok()?;
    match doc.get(&c, country).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(t) => parse_resources(t).ok(),
            _ => None,
        },
        _ => None,
    }
}

// ---- screenings in the journal ------------------------------------------------------------------

/// Prefix of the journal's root keys holding screening results (`screening/<id>` -> `{ instrument,
/// total, risk: str (comma-separated rule ids), at: ms }`): the participant's own record, private to
/// their devices. The answers themselves are not kept.
pub const SCREENING_PREFIX: &str = "screening/";

/// A screening result kept in the participant's journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreeningRecord {
    /// Record id (16 hex).
    pub id: String,
    /// Instrument id (`phq9`…).
    pub instrument: String,
    /// Its total (WHO-5: raw 0–25).
    pub total: u32,
    /// Risk rules that fired.
    pub risk: Vec<String>,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

fn store_screening(doc: &mut AutoCommit, id: &str, score: &Score, now_ms: i64) -> Result<()> {
    let key = format!("{SCREENING_PREFIX}{id}");
    let risk: Vec<&str> = score.risk.iter().map(|f| f.id()).collect();
    write(doc, now_ms, |d| {
        let r = d.put_object(ROOT, key.as_str(), ObjType::Map)?;
        d.put(&r, "instrument", score.instrument.id())?;
        d.put(&r, "total", i64::from(score.total))?;
        d.put(&r, "risk", risk.join(","))?;
        d.put(&r, "at", now_ms)?;
        Ok(())
    })
}

/// Every screening result in a journal document, oldest first.
pub fn screenings(doc: &AutoCommit) -> Vec<ScreeningRecord> {
    let mut out: Vec<ScreeningRecord> = doc
        .keys(ROOT)
        .filter_map(|k| {
            let id = k.strip_prefix(SCREENING_PREFIX)?;
            crate::space::doc::check_id(id, "screening").ok()?;
            let r = match doc.get(ROOT, k.as_str()).ok().flatten() {
                Some((Value::Object(ObjType::Map), r)) => r,
                _ => return None,
            };
            let instrument = string(doc, &r, "instrument")?;
            Instrument::from_id(&instrument).ok()?;
            let risk = string(doc, &r, "risk").unwrap_or_default();
            Some(ScreeningRecord {
                id: id.to_string(),
                instrument,
                total: u32::try_from(int(doc, &r, "total")?).ok()?,
                risk: risk
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                at_ms: int(doc, &r, "at")?,
            })
        })
        .collect();
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

// ---- on a device --------------------------------------------------------------------------------

/// A care record this device holds, and who this device is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareInfo {
    /// The care record's space id.
    pub id: SpaceId,
    /// The programme it belongs to.
    pub programme: Option<[u8; 32]>,
    /// The participant's person id.
    pub participant: Option<[u8; 32]>,
    /// How this device takes part: `participant`, `coordinator` or `supporter`.
    pub viewer: &'static str,
}

/// A referral as one viewer may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralView {
    /// The care record it lives in.
    pub care: SpaceId,
    /// Its id.
    pub id: String,
    /// `rule`, `participant` or `supporter`.
    pub origin: String,
    /// Why: shown to the participant and to coordinators; `None` for a supporter when the reason is
    /// the participant's (a rule that fired, or their own call for help): a supporter sees
    /// "refer now", never what the answers were.
    pub reason: Option<String>,
    /// When it was made, ms.
    pub created_ms: i64,
    /// `queued`, `sent`, `acknowledged`, `in-care` or `closed`.
    pub state: &'static str,
    /// When the relay took it (known on the device that wrote it).
    pub sent_ms: Option<i64>,
    /// When a coordinator acknowledged it.
    pub acknowledged_ms: Option<i64>,
    /// When it was recorded as in care.
    pub in_care_ms: Option<i64>,
    /// When it was closed.
    pub closed_ms: Option<i64>,
    /// Whether this device wrote it.
    pub mine: bool,
}

impl ReferralView {
    /// Whether anyone has been told: false until a coordinator's acknowledgement has arrived. Until
    /// then the app says so plainly, with the crisis numbers (`care-not-told-yet`).
    pub fn told(&self) -> bool {
        self.acknowledged_ms.is_some()
    }

    /// Time from the referral to its acknowledgement, ms (device clocks; for reports).
    pub fn time_to_acknowledge_ms(&self) -> Option<i64> {
        self.acknowledged_ms.map(|a| (a - self.created_ms).max(0))
    }
}

/// What a risk event or a call for help did on this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalation {
    /// The score, for a screening (the participant's own; never sent anywhere).
    pub score: Option<Score>,
    /// Risk rules that fired (empty: nothing to escalate).
    pub rules: Vec<String>,
    /// Referrals queued: (care record, referral id).
    pub referrals: Vec<(SpaceId, String)>,
    /// Care records where a rule fired but the participant has not agreed to the duty-of-care rule
    /// (or withdrew it): no referral was made there; the app offers "I need help now" instead.
    pub not_referred: Vec<SpaceId>,
    /// Care records where the referral could not be written (the vault could not be written, or the
    /// record refused it): no one was told from there. The app says so (`care-referral-failed`) next
    /// to the crisis numbers, so that silence never looks like help.
    pub failed: Vec<SpaceId>,
    /// Whether the screening's total was kept in the journal (false: the answer was scored and
    /// escalated, but the vault could not be written; nothing else depends on it). True where there
    /// is no score to keep ("I need help now").
    pub saved: bool,
    /// Crisis numbers: always present where any are known, whatever else failed (a risk answer or a
    /// call for help must never end on an error screen).
    pub resources: Vec<CrisisResource>,
    /// The country code given was not a two-letter code, so the built-in list of
    /// [`FALLBACK_COUNTRY`] stands in: the app should also say "call your local emergency number".
    pub country_unknown: bool,
    /// Whether the app should open the safety plan now.
    pub show_safety_plan: bool,
}

/// Whether a referral's origin is true to its writer: one from a rule or from the participant's call
/// for help must be written by a device of the participant (a supporter writing "rule" would be
/// counted as the participant's). Others are read as written.
pub(crate) fn genuine(space: &crate::space::Space, r: &Referral) -> bool {
    if r.origin == "supporter" {
        return true;
    }
    let subject = rules::current_subject(&space.doc, space.membership());
    crate::DeviceId::from_hex(&r.by)
        .ok()
        .and_then(|d| space.membership().proven_person(&d))
        .is_some_and(|p| Some(p) == subject)
}

/// What trying to refer did in each of the participant's care records: each record is tried on its
/// own, so one that cannot be written never stops the others.
#[derive(Default)]
struct Referred {
    /// Referrals written: (care record, referral id).
    made: Vec<(SpaceId, String)>,
    /// Records skipped for want of the duty-of-care consent.
    skipped: Vec<SpaceId>,
    /// Records where writing the referral failed.
    failed: Vec<SpaceId>,
}

const SENT: &str = "care/sent";

fn load_sent(store: &crate::store::Store) -> Result<BTreeMap<String, i64>> {
    match store.kv_get(SENT)? {
        None => Ok(BTreeMap::new()),
        Some(b) => {
            ciborium::from_reader(b.as_slice()).map_err(|_| Error::Corrupt("sent referrals"))
        }
    }
}

/// A new record id: 16 random lowercase hex characters.
pub(crate) fn new_id() -> Result<String> {
    Ok(hex::encode(crypto::random::<8>()?))
}

impl Vault {
    fn care_ref(&self, care: &SpaceId) -> Result<&crate::space::Space> {
        self.shared
            .get(care)
            .filter(|s| s.kind == SpaceKind::Care)
            .ok_or(Error::NotFound("care record"))
    }

    /// How this device takes part in a care record.
    fn viewer(&self, space: &crate::space::Space) -> &'static str {
        let me = self.person_id().map(|p| p.0);
        if me.is_some() && me == rules::current_subject(&space.doc, space.membership()) {
            return "participant";
        }
        let coordinator = match (rules::programme_of(&space.doc), me) {
            (Some(p), Some(me)) => {
                let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
                let in_doc = rules::registry_of(&space.doc, p)
                    .role_of(&crate::PersonId(me), now)
                    .is_some_and(|r| r >= ProgrammeRole::Coordinator);
                in_doc
                    || self
                        .programmes()
                        .ok()
                        .and_then(|l| l.into_iter().find(|i| i.id == p))
                        .and_then(|i| i.role)
                        .is_some_and(|r| r >= ProgrammeRole::Coordinator)
            }
            _ => false,
        };
        if coordinator {
            "coordinator"
        } else {
            "supporter"
        }
    }

    /// Enrols a participant in a programme, in person: the supporter or coordinator scans the
    /// participant's request code ([`Vault::link_request`]; their phone must have a person) and
    /// shows the returned response code to them. Makes the care record, bound to the programme,
    /// with the participant as a member. Needs a `peer_supporter` or `coordinator` role there. Add
    /// coordinators and the participant's supporter afterwards with
    /// [`Vault::approve_group_member`]. The participant then agrees to the duty-of-care rule
    /// ([`Vault::give_consent`]) on their phone.
    pub fn enrol_participant(
        &mut self,
        participant_request: &str,
        programme: [u8; 32],
    ) -> Result<(SpaceId, String)> {
        self.check_can_bind(Some(programme), ProgrammeRole::PeerSupporter)?;
        let req = crate::link::LinkRequest::from_code(participant_request)?;
        let cert = req.certificate.as_deref().ok_or_else(|| {
            Error::InvalidInput(
                "the participant's phone has no person yet: create one there first".into(),
            )
        })?;
        let cert = crate::verify_device_certificate(cert)?;
        if cert.device != req.device {
            return Err(Error::BadLinkCode);
        }
        let person = hex::encode(cert.person.0);
        let (id, response) = self.open_shared(
            SpaceKind::Care,
            |doc, now| init(doc, &person, now),
            participant_request,
            Role::Member,
        )?;
        {
            let store = &self.store;
            let s = self
                .shared
                .get_mut(&id)
                .ok_or(Error::Internal("space missing"))?;
            Vault::bind_programme(store, s, &programme)?;
        }
        if let Some(me) = self.person_id() {
            self.claim_spaces(me.0)?;
        }
        Ok((id, response))
    }

    /// Every care record this device holds.
    pub fn care_records(&self) -> Vec<CareInfo> {
        let mut out: Vec<CareInfo> = self
            .shared
            .values()
            .filter(|s| s.kind == SpaceKind::Care)
            .map(|s| CareInfo {
                id: s.id,
                programme: rules::programme_of(&s.doc),
                participant: rules::current_subject(&s.doc, s.membership()),
                viewer: self.viewer(s),
            })
            .collect();
        out.sort_unstable_by_key(|c| c.id.0);
        out
    }

    /// The participant agrees to (`agreed`) or withdraws from a purpose, on their own phone, at the
    /// current text's version. Nobody else can write it: every device refuses it from anyone but
    /// the participant's devices (`NotAllowed` here).
    pub fn give_consent(&mut self, care: &SpaceId, purpose: &str, agreed: bool) -> Result<String> {
        self.care_ref(care)?;
        let version = consent_version(purpose)?;
        if purpose == SHARE_PURPOSE {
            return Err(Error::InvalidInput(
                "sharing is agreed in the pairing it is for (consent_to_sharing)".into(),
            ));
        }
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_group(care, |doc, now| {
            add_consent(doc, &id, purpose, version, agreed, None, &by, now)
        })?;
        if purpose == "report-outcomes" {
            // Publishes the totals on agreement, deletes them on withdrawal.
            self.publish_outcomes()?;
        }
        Ok(id)
    }

    /// Records a parent's or guardian's consent for a minor, as witnessed by the enrolling supporter
    /// or coordinator (admins of the care record).
    pub fn record_guardian_consent(
        &mut self,
        care: &SpaceId,
        purpose: &str,
        relation: &str,
        agreed: bool,
    ) -> Result<String> {
        self.care_ref(care)?;
        let version = consent_version(purpose)?;
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_group(care, |doc, now| {
            add_consent(doc, &id, purpose, version, agreed, Some(relation), &by, now)
        })?;
        Ok(id)
    }

    /// The consent ledger of a care record (every agreement and withdrawal, with text versions).
    pub fn consent_ledger(&self, care: &SpaceId) -> Result<Vec<ConsentRecord>> {
        Ok(consents(&self.care_ref(care)?.doc))
    }

    /// Whether the participant's consent to `purpose` stands now in this care record.
    pub fn has_consent(&self, care: &SpaceId, purpose: &str) -> Result<bool> {
        consent_version(purpose)?;
        Ok(consented(&self.care_ref(care)?.doc, purpose))
    }

    /// Care records where this device is the participant.
    fn my_care_records(&self) -> Vec<SpaceId> {
        self.care_records()
            .into_iter()
            .filter(|c| c.viewer == "participant")
            .map(|c| c.id)
            .collect()
    }

    /// Crisis numbers for `country` (ISO 3166 alpha-2): a programme's own list from a care record
    /// this device holds (the first, by id, that has one), else the built-in list (Indonesia: 119
    /// extension 8 and 112; elsewhere empty: the app then says to call the local emergency number).
    pub fn crisis_resources(&self, country: &str) -> Result<Vec<CrisisResource>> {
        let cc = check_country(country)?;
        for c in self.care_records() {
            if let Some(list) = self
                .care_ref(&c.id)
                .ok()
                .and_then(|s| resources(&s.doc, &cc))
            {
                return Ok(list);
            }
        }
        Ok(built_in_resources(&cc))
    }

    /// A coordinator sets the programme's crisis numbers for `country` (JSON list of resources) in
    /// every care record of `programme` this device holds. Returns how many records were written.
    /// Not a coordinator there: `NotAllowed`.
    pub fn set_crisis_resources(
        &mut self,
        programme: &[u8; 32],
        country: &str,
        json: &str,
    ) -> Result<u32> {
        let cc = check_country(country)?;
        parse_resources(json)?;
        let targets: Vec<SpaceId> = self
            .care_records()
            .into_iter()
            .filter(|c| c.programme.as_ref() == Some(programme))
            .map(|c| c.id)
            .collect();
        let mut n = 0;
        for t in targets {
            self.with_group(&t, |doc, now| {
                let c = container_in(doc, "resources", SPACE)?;
                write(doc, now, |d| {
                    d.put(&c, cc.as_str(), json)?;
                    Ok(())
                })
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// Queues one referral in each care record where this device is the participant.
    fn refer_as_participant(
        &mut self,
        origin: &str,
        reason: &str,
        need_duty_consent: bool,
    ) -> Referred {
        let by = self.identity.device.to_hex();
        let mut out = Referred::default();
        for care in self.my_care_records() {
            let consented_here = self
                .care_ref(&care)
                .map(|s| consented(&s.doc, "duty-of-care"));
            match consented_here {
                Ok(false) if need_duty_consent => {
                    out.skipped.push(care);
                    continue;
                }
                Ok(_) => {}
                Err(_) => {
                    out.failed.push(care);
                    continue;
                }
            }
            let written = new_id().and_then(|id| {
                self.with_group(&care, |doc, now| {
                    add_referral(doc, &id, origin, reason, &by, now)
                })
                .map(|()| id)
            });
            match written {
                Ok(id) => out.made.push((care, id)),
                Err(_) => out.failed.push(care),
            }
        }
        out
    }

    /// Crisis numbers for an escalation, which must never fail: the programme's or the built-in list
    /// for `country`, or, when the code is not a two-letter code, the built-in list of
    /// [`FALLBACK_COUNTRY`] (second value true).
    fn escalation_resources(&self, country: &str) -> (Vec<CrisisResource>, bool) {
        match self.crisis_resources(country) {
            Ok(list) => (list, false),
            Err(_) => (built_in_resources(FALLBACK_COUNTRY), true),
        }
    }

    /// Scores a completed instrument on the participant's phone, keeps the total (not the answers) in
    /// their journal, and runs the risk ladder offline: when a rule fires (PHQ-9 item 9 above 0,
    /// SRQ-20 item 17 yes) a referral carrying the rule, never the answers, is queued to the
    /// coordinators of each programme the participant agreed to the duty-of-care rule in; the
    /// returned escalation carries the crisis numbers for `country` and asks for the safety plan.
    ///
    /// Only answers that cannot be scored (wrong count or value) are an error. Once scored, nothing
    /// else fails the call: a country code that is not one, a journal that cannot be written and a
    /// care record that refuses the referral are reported in the [`Escalation`] (`country_unknown`,
    /// `saved`, `failed`), and the crisis numbers are always in it.
    pub fn submit_screening(
        &mut self,
        instrument: Instrument,
        answers: &[u8],
        country: &str,
    ) -> Result<Escalation> {
        let score = crate::instruments::score(instrument, answers)?;
        let saved = self.save_screening(&score).is_ok();
        let rules: Vec<String> = score.risk.iter().map(|f| f.id().to_string()).collect();
        let (mut referrals, mut not_referred, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for rule in &rules {
            let done = self.refer_as_participant("rule", rule, true);
            referrals.extend(done.made);
            for (from, to) in [
                (done.skipped, &mut not_referred),
                (done.failed, &mut failed),
            ] {
                for s in from {
                    if !to.contains(&s) {
                        to.push(s);
                    }
                }
            }
        }
        let (resources, country_unknown) = self.escalation_resources(country);
        let risky = !rules.is_empty();
        Ok(Escalation {
            score: Some(score),
            rules,
            referrals,
            not_referred,
            failed,
            saved,
            resources,
            country_unknown,
            show_safety_plan: risky,
        })
    }

    /// Keeps a screening's total in the journal, durably.
    fn save_screening(&mut self, score: &Score) -> Result<()> {
        let id = new_id()?;
        self.journal()?;
        let (store, j) = self.parts()?;
        store_screening(&mut j.doc, &id, score, now_ms())?;
        j.persist(store)
    }

    /// The participant's "I need help now": a referral to every programme they are enrolled in (their
    /// own explicit act, so it needs no standing consent), and the crisis numbers. Never fails: what
    /// could not be written is in `failed`, and the crisis numbers are always there.
    pub fn ask_for_help(&mut self, country: &str) -> Result<Escalation> {
        let done = self.refer_as_participant("participant", "help-now", false);
        let (resources, country_unknown) = self.escalation_resources(country);
        Ok(Escalation {
            score: None,
            rules: Vec::new(),
            referrals: done.made,
            not_referred: Vec::new(),
            failed: done.failed,
            saved: true,
            resources,
            country_unknown,
            show_safety_plan: true,
        })
    }

    /// A supporter's "refer now" (or, with `safeguarding_minor`, a safeguarding concern about a
    /// minor) in a participant's care record. Peers refer; they never assess. Returns the referral id.
    pub fn refer_now(&mut self, care: &SpaceId, safeguarding_minor: bool) -> Result<String> {
        let space = self.care_ref(care)?;
        if self.viewer(space) == "participant" {
            return Err(Error::NotAllowed(
                "a participant asks for help with ask_for_help",
            ));
        }
        let reason = if safeguarding_minor {
            "safeguarding-minor"
        } else {
            "refer-now"
        };
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_group(care, |doc, now| {
            add_referral(doc, &id, "supporter", reason, &by, now)
        })?;
        Ok(id)
    }

    /// A coordinator records a referral's state (`acknowledged`, `in-care`, `closed`); every device
    /// refuses it from anyone who is not a coordinator of the programme (`NotAllowed` here).
    pub fn update_referral(&mut self, care: &SpaceId, referral: &str, state: &str) -> Result<()> {
        self.care_ref(care)?;
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_group(care, |doc, now| {
            add_state(doc, &id, referral, state, &by, now)
        })
    }

    /// The referrals of one care record as this device's person may see them (a supporter sees
    /// "refer now" without the participant's reason), oldest first. Marks as sent what the relay
    /// has taken since the last look.
    pub fn referrals(&mut self, care: &SpaceId) -> Result<Vec<ReferralView>> {
        let me = self.identity.device.to_hex();
        self.care_ref(care)?;
        let all_sent = self
            .shared
            .get_mut(care)
            .ok_or(Error::NotFound("care record"))?
            .all_sent();
        let space = self.care_ref(care)?;
        let viewer = self.viewer(space);
        let list: Vec<Referral> = referrals(&space.doc)
            .into_iter()
            .filter(|r| genuine(space, r))
            .collect();
        let st = states(&space.doc);
        let mut sent = load_sent(&self.store)?;
        let mut changed = false;
        let now = now_ms();
        let mut out = Vec::with_capacity(list.len());
        for r in list {
            let mine = r.by == me;
            let sent_ms = if mine {
                match sent.get(&r.id) {
                    Some(t) => Some(*t),
                    None if all_sent => {
                        sent.insert(r.id.clone(), now);
                        changed = true;
                        Some(now)
                    }
                    None => None,
                }
            } else {
                None
            };
            let [ack, in_care, closed] = stage_times(&st, &r.id);
            let state = if closed.is_some() {
                "closed"
            } else if in_care.is_some() {
                "in-care"
            } else if ack.is_some() {
                "acknowledged"
            } else if !mine || sent_ms.is_some() {
                "sent"
            } else {
                "queued"
            };
            let hide = viewer == "supporter" && r.origin != "supporter";
            out.push(ReferralView {
                care: *care,
                id: r.id,
                origin: r.origin,
                reason: if hide { None } else { Some(r.reason) },
                created_ms: r.at_ms,
                state,
                sent_ms,
                acknowledged_ms: ack,
                in_care_ms: in_care,
                closed_ms: closed,
                mine,
            });
        }
        if changed {
            let mut bytes = Vec::new();
            ciborium::into_writer(&sent, &mut bytes)
                .map_err(|_| Error::Internal("encode sent referrals"))?;
            self.store.kv_put(SENT, &bytes)?;
        }
        Ok(out)
    }

    /// Every referral in every care record this device holds (a coordinator's inbox), newest first.
    pub fn referral_inbox(&mut self) -> Result<Vec<ReferralView>> {
        let mut out = Vec::new();
        for c in self.care_records() {
            out.extend(self.referrals(&c.id)?);
        }
        out.sort_unstable_by(|a, b| {
            b.created_ms
                .cmp(&a.created_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// The participant's screening results kept in their journal, oldest first.
    pub fn screenings(&self) -> Vec<ScreeningRecord> {
        self.journal
            .as_ref()
            .map(|j| screenings(&j.doc))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const P: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const D: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn doc() -> AutoCommit {
        let mut d = AutoCommit::new();
        init(&mut d, P, 1_000).unwrap();
        d
    }

    #[test]
    fn the_ledger_keeps_every_agreement_and_withdrawal_and_the_newest_counts() {
        let mut d = doc();
        assert!(!consented(&d, "duty-of-care"));
        add_consent(
            &mut d,
            "00000000000000a1",
            "duty-of-care",
            "1",
            true,
            None,
            D,
            2_000,
        )
        .unwrap();
        assert!(consented(&d, "duty-of-care"));
        add_consent(
            &mut d,
            "00000000000000a2",
            "duty-of-care",
            "1",
            false,
            None,
            D,
            3_000,
        )
        .unwrap();
        assert!(!consented(&d, "duty-of-care"));
        assert_eq!(consents(&d).len(), 2);
        // An agreement to an older text version does not count for the current one.
        add_consent(
            &mut d,
            "00000000000000a3",
            "duty-of-care",
            "0",
            true,
            None,
            D,
            4_000,
        )
        .unwrap();
        assert!(!consented(&d, "duty-of-care"));
        // A guardian's consent is kept apart from the participant's own.
        add_consent(
            &mut d,
            "00000000000000a4",
            "data-processing",
            "1",
            true,
            Some("ibu"),
            D,
            5_000,
        )
        .unwrap();
        assert!(guardian_consented(&d, "data-processing"));
        assert!(!consented(&d, "data-processing"));
        assert_eq!(
            consents(&d).last().unwrap().guardian_relation.as_deref(),
            Some("ibu")
        );
    }

    #[test]
    fn bad_records_are_refused_and_change_nothing() {
        let mut d = doc();
        let heads = d.get_heads();
        assert!(
            add_consent(
                &mut d,
                "00000000000000a1",
                "marketing",
                "1",
                true,
                None,
                D,
                1
            )
            .is_err()
        );
        assert!(add_consent(&mut d, "bad", "duty-of-care", "1", true, None, D, 1).is_err());
        assert!(add_referral(&mut d, "00000000000000b1", "supporter", "phq9-item9", D, 1).is_err());
        assert!(add_referral(&mut d, "00000000000000b1", "rule", "help-now", D, 1).is_err());
        assert!(matches!(
            add_state(
                &mut d,
                "00000000000000c1",
                "00000000000000b9",
                "acknowledged",
                D,
                1
            ),
            Err(Error::NotFound("referral"))
        ));
        assert!(
            add_consent(
                &mut d,
                "00000000000000a1",
                "duty-of-care",
                "1",
                true,
                Some(""),
                D,
                1
            )
            .is_err()
        );
        assert_eq!(d.get_heads(), heads);
        assert!(init(&mut d, P, 1).is_err());
    }

    #[test]
    fn a_later_state_implies_the_earlier_ones_from_its_time() {
        let mut d = doc();
        add_referral(&mut d, "00000000000000b1", "rule", "phq9-item9", D, 10_000).unwrap();
        add_state(
            &mut d,
            "00000000000000c1",
            "00000000000000b1",
            "in-care",
            D,
            15_000,
        )
        .unwrap();
        add_state(
            &mut d,
            "00000000000000c2",
            "00000000000000b1",
            "acknowledged",
            D,
            12_000,
        )
        .unwrap();
        let t = stage_times(&states(&d), "00000000000000b1");
        assert_eq!(t, [Some(12_000), Some(15_000), None]);
    }

    #[test]
    fn resources_are_data_and_checked() {
        assert_eq!(built_in_resources("ID").len(), 2);
        assert_eq!(built_in_resources("id")[0].number, "119");
        assert_eq!(built_in_resources("id")[0].extension.as_deref(), Some("8"));
        assert!(built_in_resources("fr").is_empty());
        let ok = r#"[{"kind":"crisis-line","name":"Hotline","number":"0800123"}]"#;
        assert_eq!(parse_resources(ok).unwrap()[0].name, "Hotline");
        for bad in [
            "[]",
            "not json",
            r#"[{"kind":"crisis-line","name":"x","number":"call me"}]"#,
            r#"[{"kind":"psychic","name":"x","number":"1"}]"#,
            r#"[{"kind":"emergency","name":"x","number":"1","extra":1}]"#,
        ] {
            assert!(parse_resources(bad).is_err(), "{bad}");
        }
        assert!(parse_resources(&"x".repeat(MAX_RESOURCES_JSON + 1)).is_err());
        let mut d = doc();
        let c = container_in(&d, "resources", SPACE).unwrap();
        d.put(&c, "ke", ok).unwrap();
        d.put(&c, "ug", "[junk").unwrap();
        assert_eq!(resources(&d, "ke").unwrap().len(), 1);
        assert!(resources(&d, "ug").is_none());
        assert!(check_country("idn").is_err());
    }

    #[test]
    fn every_purpose_reason_state_and_kind_has_text_in_both_languages() {
        let mut ids: Vec<String> = Vec::new();
        for p in PURPOSES {
            ids.push(format!("consent-{p}"));
            ids.push(format!("consent-{p}-title"));
        }
        ids.extend(REASONS.iter().map(|r| format!("referral-{r}")));
        for st in ["queued", "sent", "acknowledged", "in-care", "closed"] {
            ids.push(format!("care-state-{st}"));
        }
        for k in ["crisis-line", "emergency", "other"] {
            ids.push(format!("crisis-kind-{k}"));
        }
        ids.extend(
            [
                "care-not-told-yet",
                "care-told",
                "crisis-none",
                "notify-neutral",
            ]
            .map(String::from),
        );
        for lang in crate::i18n::LANGUAGES {
            let have = crate::i18n::message_ids(lang);
            for id in &ids {
                assert!(have.contains(id), "{id} missing in {lang}");
            }
        }
        // Discretion: the notification text says nothing about mental health, in either language.
        for lang in crate::i18n::LANGUAGES {
            let t = crate::i18n::message(lang, "notify-neutral", &[]).to_lowercase();
            for word in [
                "mental", "jiwa", "depres", "risk", "risiko", "crisis", "krisis", "help", "bantu",
            ] {
                assert!(!t.contains(word), "{lang}: {t}");
            }
        }
    }

    #[test]
    fn screenings_keep_totals_and_rules_not_answers() {
        let mut j = AutoCommit::new();
        let s = crate::instruments::score(Instrument::Phq9, &[1, 1, 1, 1, 1, 1, 1, 1, 1]).unwrap();
        store_screening(&mut j, "00000000000000d1", &s, 7_000).unwrap();
        let got = screenings(&j);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].total, 9);
        assert_eq!(got[0].risk, vec!["phq9-item9".to_string()]);
        // The journal's own list ignores it.
        assert!(crate::journal::list(&j).is_empty());
    }
}
