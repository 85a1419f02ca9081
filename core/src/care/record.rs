//! The care record document and its life on a device: setting it up when a participant is enrolled,
//! referrals and the coordinators' states written into it, the programme's own crisis numbers, and
//! the list of care records this device holds.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use crate::error::{Error, Result};
use crate::space::doc::{container_in, int, new_record_in, read_all, string, write};
use crate::space::{SpaceKind, rules};
use crate::store::clock::now_ms;
use crate::{SpaceId, Vault, crypto};

use super::resources::{
    CrisisResource, built_in_resources, check_country, parse_resources, with_national_numbers,
};

/// Where a referral came from.
pub const ORIGINS: [&str; 4] = ["rule", "participant", "supporter", "administered"];
/// Why: a risk rule's id (`instruments::RiskFlag::id`), the participant's "I need help now", the
/// supporter's "refer now", or the supporter's safeguarding concern about a minor. A programme
/// instrument's risk rule (`x-<id>-item<n>`, `programme_instruments::is_programme_flag`) is also a
/// reason of origin `rule` or `administered`; it is not listed, being the programme's own.
pub const REASONS: [&str; 5] = [
    "phq9-item9",
    "srq20-item17",
    "help-now",
    "refer-now",
    "safeguarding-minor",
];
/// States a coordinator records, in order.
pub const STATES: [&str; 3] = ["acknowledged", "in-care", "closed"];

pub(super) const SPACE: &str = "care record";

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
            super::oncall::POLICY,
            "exceptions",
        ] {
            d.put_object(ROOT, c, ObjType::Map)?;
        }
        Ok(())
    })
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

/// Whether a referral no coordinator has acknowledged is in the record, a legacy safeguarding
/// concern aside (`rules::erasure_waits` counts those too).
fn waits_but_for_legacy_concerns(doc: &AutoCommit) -> bool {
    let acknowledged: std::collections::HashSet<String> =
        read_all(doc, "states", |d, _, r| string(d, r, "referral"))
            .into_iter()
            .collect();
    read_all(doc, "referrals", |d, id, r| {
        let legacy = string(d, r, "reason").as_deref() == Some(super::escalation::LEGACY_CONCERN);
        Some((id.to_string(), legacy))
    })
    .iter()
    .any(|(id, legacy)| !legacy && !acknowledged.contains(id))
}

fn check_referral(origin: &str, reason: &str) -> Result<()> {
    let ok = match origin {
        // A built-in rule, or a programme instrument's (`x-<id>-item<n>`, issue 14 item 8).
        "rule" | "administered" => {
            matches!(reason, "phq9-item9" | "srq20-item17")
                || super::programme_instruments::is_programme_flag(reason)
        }
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

/// Adds a referral of a risk rule's origin (`rule`, `administered`) whose reason is sealed for the
/// record's coordinators (`reason.rs`): the clear `reason` is [`super::reason::SEALED_REASON`], so the
/// participant's and the supporter's devices hold only ciphertext of which item was answered.
pub(crate) fn add_sealed_referral(
    doc: &mut AutoCommit,
    id: &str,
    origin: &str,
    reason: &str,
    by: &str,
    sealed: &super::reason::SealedReason,
    now_ms: i64,
) -> Result<()> {
    crate::space::doc::check_id(id, "referral")?;
    crate::space::doc::check_device(by, "referral author")?;
    check_referral(origin, reason)?;
    if !super::reason::sealed_origin(origin) {
        return Err(Error::InvalidInput(
            "only a risk rule's referral carries a sealed reason".into(),
        ));
    }
    let c = new_record_in(doc, "referrals", id, "referral", SPACE)?;
    write(doc, now_ms, |d| {
        let r = d.put_object(&c, id, ObjType::Map)?;
        for (k, v) in [
            ("origin", origin),
            ("reason", super::reason::SEALED_REASON),
            ("by", by),
        ] {
            d.put(&r, k, v)?;
        }
        d.put(&r, "at", now_ms)?;
        super::reason::put_sealed(d, &r, sealed)
    })
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

/// A short id such as a referral's origin or reason: 1 to 40 of `a-z`, `0-9` and `-`.
pub(super) fn token(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every well-formed referral, oldest first, of any kind (see [`ORIGINS`] for those written here).
pub fn referrals(doc: &AutoCommit) -> Vec<Referral> {
    let mut out = read_all(doc, "referrals", |d, id, r| {
        let origin = string(d, r, "origin")?;
        let reason = string(d, r, "reason")?;
        // Read any well-shaped kind, even one this version does not know (a newer app wrote it):
        // an older coordinator app must show it, not drop a risk signal. Writing is checked.
        if !token(&origin) || !token(&reason) {
            return None;
        }
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
pub(super) fn stage_times(states: &[StateRecord], referral: &str) -> [Option<i64>; 3] {
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
    /// How many coordinator persons a referral here reaches now (0: none yet; a referral waits in
    /// the record for the first one added). A programme should have at least two.
    pub coordinators: u32,
    /// The participant is a minor: sharing and outcome reporting wait for a guardian.
    pub minor: bool,
    /// The programme made the participant's duty-of-care agreement a condition of joining (as this
    /// record carries it): the participant's app asks for it until it stands.
    pub duty_of_care_required: bool,
}

/// A new record id: 16 random lowercase hex characters.
pub(crate) fn new_id() -> Result<String> {
    Ok(hex::encode(crypto::random::<8>()?))
}

impl Vault {
    pub(super) fn care_ref(&self, care: &SpaceId) -> Result<&crate::space::Space> {
        self.shared
            .get(care)
            .filter(|s| s.kind == SpaceKind::Care)
            .ok_or(Error::NotFound("care record"))
    }

    /// How this device takes part in a care record.
    pub(super) fn viewer(&self, space: &crate::space::Space) -> &'static str {
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
        self.enrol_participant_as(participant_request, programme, false)
    }

    /// [`Vault::enrol_participant`], saying whether the participant is a minor: then sharing with
    /// the supporter and outcome reporting wait for a guardian's consent (recorded by a coordinator
    /// with the signed form's reference) or a coordinator's best-interests exception.
    pub fn enrol_participant_as(
        &mut self,
        participant_request: &str,
        programme: [u8; 32],
        minor: bool,
    ) -> Result<(SpaceId, String)> {
        self.enrol_participant_with(participant_request, programme, minor, false)
    }

    /// [`Vault::enrol_participant_as`], saying whether the participant agreed to the duty-of-care
    /// rule after being shown its text (`consent-duty-of-care`) and the limits of confidentiality
    /// (`consent-duty-of-care-limits`). Where the programme makes that agreement a condition of
    /// joining ([`Vault::duty_of_care_required`]), an enrolment without it is `DutyOfCareRequired`
    /// and nothing is made. The participant's own phone records the agreement in the new record
    /// ([`Vault::give_consent`]): nobody else may write their consent.
    pub fn enrol_participant_with(
        &mut self,
        participant_request: &str,
        programme: [u8; 32],
        minor: bool,
        duty_of_care_agreed: bool,
    ) -> Result<(SpaceId, String)> {
        self.check_can_bind(Some(programme), ProgrammeRole::PeerSupporter)?;
        self.check_duty_of_care_for_enrolment(&programme, duty_of_care_agreed)?;
        let req = crate::identity::link::LinkRequest::from_code(participant_request)?;
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
            |doc, now| {
                init(doc, &person, now)?;
                if minor {
                    write(doc, now, |d| {
                        d.put(ROOT, super::consent::MINOR_KEY, true)?;
                        Ok(())
                    })?;
                }
                Ok(())
            },
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
        self.carry_programme_settings(&id, &programme);
        self.carry_duty_of_care(&id, &programme);
        Ok((id, response))
    }

    /// The care records of `programme` this device holds, by id: ids only, without the viewer and
    /// coordinator count [`Vault::care_records`] works out (and verifies grants for) per record.
    pub(super) fn care_records_of(&self, programme: &[u8; 32]) -> Vec<SpaceId> {
        let mut ids: Vec<SpaceId> = self
            .shared
            .values()
            .filter(|s| {
                s.kind == SpaceKind::Care && rules::programme_of(&s.doc).as_ref() == Some(programme)
            })
            .map(|s| s.id)
            .collect();
        ids.sort_unstable_by_key(|c| c.0);
        ids
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
                coordinators: super::oncall::coordinators_in(
                    s,
                    u64::try_from(now_ms() / 1000).unwrap_or(0),
                ),
                minor: super::consent::is_minor(&s.doc),
                duty_of_care_required: super::joining::duty_of_care_in(&s.doc)
                    .is_some_and(|(required, _)| required),
            })
            .collect();
        out.sort_unstable_by_key(|c| c.id.0);
        out
    }

    /// The participant erases their own care record for good, by destroying its keys (issue 14,
    /// item 17; the data subject's right to deletion, UU 27/2022 art. 8 and 16): here at once, on
    /// the coordinators' and the supporter's devices at their next sync, and at the relay once a
    /// coordinator's device (an admin there) has synced (`space/erasure.rs`). Only the participant
    /// may (`NotAllowed` for the supporter, a coordinator, anyone else; `NotFound` for a record
    /// this device does not hold). Never while a referral in it waits for a coordinator's
    /// acknowledgement (`OpenReferrals`): that would drop a risk signal before anyone whose duty
    /// it is has seen it; nothing changes, and the participant can erase once it is acknowledged.
    pub fn erase_care_record(&mut self, care: &SpaceId) -> Result<()> {
        self.check_erase(care, SpaceKind::Care)?;
        // Also a referral this device cannot verify yet (from the participant's new phone), which
        // the view above leaves out: the document itself is read. Except a safeguarding concern an
        // earlier version wrote here (review M4): refusing for it would tell the participant that
        // something is hidden from them. It does not block on their phone because it is not lost:
        // every other device that holds the record (the coordinators', the writer's) keeps it
        // until a coordinator acknowledges the concern (`space/erasure.rs`, `erasure_waits` on
        // receipt), and the relay deletes the record only on a coordinator's statement, which
        // waits the same way.
        let open = self
            .referrals(care)?
            .iter()
            .any(|r| r.state == "queued" || r.state == "sent")
            || waits_but_for_legacy_concerns(&self.care_ref(care)?.doc);
        if open {
            return Err(Error::OpenReferrals);
        }
        self.erase_shared(care, SpaceKind::Care)
    }

    /// Care records where this device is the participant.
    pub(super) fn my_care_records(&self) -> Vec<SpaceId> {
        self.care_records()
            .into_iter()
            .filter(|c| c.viewer == "participant")
            .map(|c| c.id)
            .collect()
    }

    /// Crisis resources for `country` (ISO 3166 alpha-2): a programme's own list from a care record
    /// this device holds (the first, by id, that has one) followed by the national emergency
    /// numbers it does not name, else the built-in list (Indonesia: crisis lines, child protection
    /// and the emergency numbers; elsewhere empty: the app then says to call the local emergency
    /// number).
    pub fn crisis_resources(&self, country: &str) -> Result<Vec<CrisisResource>> {
        let cc = check_country(country)?;
        for c in self.care_records() {
            if let Some(list) = self
                .care_ref(&c.id)
                .ok()
                .and_then(|s| resources(&s.doc, &cc))
            {
                return Ok(with_national_numbers(&cc, list));
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
        let targets = self.care_records_of(programme);
        let mut n = 0;
        for t in targets {
            self.with_space(&t, |doc, now| {
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
}
