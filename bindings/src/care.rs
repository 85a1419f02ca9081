//! Care records through the bindings: enrolment in a programme, the consent ledger, the risk
//! escalation ladder (screenings, "I need help now", a supporter's "refer now"), referrals and their
//! states, crisis numbers. See `core/src/care.rs` and `docs/care.md`.

use super::programmes::parse_programme;
use super::{
    CareNotice, CareViewer, ConsentPurpose, CrisisChannel, CrisisResourceKind, Instrument,
    InstrumentScore, OnCallState, ReferralOrigin, ReferralReason, ReferralState, Result, RiskFlag,
    SebayaError, Shared, parse_space, with,
};

/// A care record this device holds.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CareRecord {
    /// The care record's id (hex): pass it to the other care calls.
    pub id: String,
    /// The programme it belongs to (hex), once its first change has arrived.
    pub programme: Option<String>,
    /// How this device takes part. The app shows each only what that role needs (a supporter never
    /// sees the participant's reasons or scores).
    pub viewer: CareViewer,
    /// How many coordinator persons a referral here reaches now. 0: none yet (a referral waits in
    /// the record for the first one added): alert the programme. A programme should have two.
    pub coordinators: u32,
    /// The participant is a minor: sharing and outcome reporting wait for a guardian.
    pub minor: bool,
    /// The programme made the duty-of-care agreement a condition of joining: on the participant's
    /// phone, ask for it (show `duty_of_care_limits` and `consent_text(DutyOfCare)`) until it stands.
    #[uniffi(default = false)]
    pub duty_of_care_required: bool,
}

/// What enrolling a participant made.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Enrolment {
    /// The new care record's id (hex).
    pub care_id: String,
    /// The response code to show the participant's phone (`Spaces.join`).
    pub response: String,
    /// Who will receive the new record's referrals: show its warning (`state`) at enrolment. It
    /// never blocks anything: the record, consent and referrals all go ahead.
    pub on_call: OnCallStatus,
}

/// Who will receive a care record's referrals (issue 14, item 2): the programme's on-call list and
/// the coordinators the record itself reaches (a referral reaches only the record's members).
#[derive(Clone, Debug, uniffi::Record)]
pub struct OnCallStatus {
    /// The care record (hex).
    pub care_id: String,
    /// Persons the programme's on-call list names (0: none declared).
    pub declared: u32,
    /// Of those, persons who hold `coordinator` now. A programme needs at least two.
    pub on_call: u32,
    /// Coordinator persons among the record's members now: who a referral here reaches.
    pub coordinators: u32,
    /// The warning to show (`on_call_message_id`); `Ready` needs none.
    pub state: OnCallState,
    /// Whether to show `state` as a warning (anything but `Ready`).
    pub warning: bool,
}

fn on_call(s: sebaya_core::care::OnCallStatus) -> OnCallStatus {
    OnCallStatus {
        care_id: s.care.to_hex(),
        declared: s.declared,
        on_call: s.on_call,
        coordinators: s.coordinators,
        warning: s.state.warning(),
        state: s.state.into(),
    }
}

/// One entry of the consent ledger: an agreement or a withdrawal, never edited.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ConsentEntry {
    /// Record id.
    pub id: String,
    /// What was agreed to or withdrawn.
    pub purpose: ConsentPurpose,
    /// Version of the text that was shown (`consent_text`).
    pub version: String,
    /// Agreed (true) or withdrawn (false).
    pub agreed: bool,
    /// Device (hex) that recorded it.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// For a guardian's consent, who they are to the participant; null for the participant's own.
    pub guardian_relation: Option<String>,
    /// For a guardian's consent: the signed form's reference, if recorded with one.
    pub form_reference: Option<String>,
}

/// A consent text to show before asking.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ConsentText {
    /// The purpose it is for.
    pub purpose: ConsentPurpose,
    /// Its version: recorded with the answer.
    pub version: String,
    /// A short title, in the requested language.
    pub title: String,
    /// The text, in the requested language.
    pub text: String,
}

/// A service to reach in a crisis, with what a person needs to trust it: how to reach it, when it
/// answers, and when and where someone last checked it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CrisisResource {
    /// What kind of service it is.
    pub kind: CrisisResourceKind,
    /// The service's own name.
    pub name: String,
    /// How to reach it: call, message on WhatsApp or SMS, or open a web page.
    pub channel: CrisisChannel,
    /// The number to dial or message; empty for a web service.
    pub number: String,
    /// An extension to choose after dialling, if any.
    pub extension: Option<String>,
    /// The `https://` address of a web service.
    pub url: Option<String>,
    /// When it answers: `24/7` or `HH:MM-HH:MM` local time (label for `24/7`:
    /// `crisis-hours-always`); unknown when absent.
    pub hours: Option<String>,
    /// It works in only part of the country: show `crisis-partial-coverage` beside it.
    pub partial_coverage: bool,
    /// The day (`YYYY-MM-DD`) it was last checked against `source`.
    pub verified_on: Option<String>,
    /// Where the entry comes from.
    pub source: Option<String>,
}

/// A referral as this device's person may see it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ReferralInfo {
    /// The care record it lives in (hex).
    pub care_id: String,
    /// Its id.
    pub id: String,
    /// Who made it.
    pub origin: ReferralOrigin,
    /// Why; null for a supporter when the reason is the participant's: show "refer now"
    /// (`referral-refer-now`). A sealed reason (`reason_sealed`) opens on a coordinator's device
    /// only: null elsewhere, the participant's too.
    pub reason: Option<ReferralReason>,
    /// The reason travels sealed for the coordinators (a risk rule's referral). Null `reason` with
    /// this set, on a coordinator's device: it was sealed before this device coordinated the
    /// record; the origin still says a risk rule fired. Always false on a supporter's device for
    /// the participant's referrals (it would tell a rule's from a call for help).
    pub reason_sealed: bool,
    /// When it was made, ms.
    pub created_ms: i64,
    /// Where it stands.
    pub state: ReferralState,
    /// When the relay took it (on the device that wrote it).
    pub sent_ms: Option<i64>,
    /// When a coordinator acknowledged it.
    pub acknowledged_ms: Option<i64>,
    /// When it was recorded as in care.
    pub in_care_ms: Option<i64>,
    /// When it was closed.
    pub closed_ms: Option<i64>,
    /// Whether this device wrote it.
    pub mine: bool,
    /// False until a coordinator's acknowledgement has arrived: say so plainly, with the crisis
    /// numbers (`care-not-told-yet`).
    pub told: bool,
    /// Time from the referral to its acknowledgement, ms.
    pub time_to_acknowledge_ms: Option<i64>,
    /// What to tell this device's person about it: waiting to be sent, sent with no answer yet, no
    /// coordinator yet, overdue (participant: call a crisis line and tell a trusted adult;
    /// supporter: phone the coordinator), told.
    pub notice: CareNotice,
    /// How many coordinator persons its record reaches now (0: it waits for the first one added).
    pub coordinators: u32,
    /// Its age now, ms.
    pub age_ms: i64,
    /// Unacknowledged past the record's deadline (`Care.ack_deadline_hours`).
    pub overdue: bool,
    /// The device (hex) whose acknowledgement came first, if any.
    pub acknowledged_by: Option<String>,
    /// False when its writer is not proven to be the participant (shown to coordinators only,
    /// marked with `care-unverified`, so a possible risk signal is never dropped for want of proof).
    pub verified: bool,
}

/// A safeguarding concern about a minor (issue 14, item 14), kept in the programme's safeguarding
/// space, never in the child's care record. A coordinator sees every concern; a supporter its own.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ConcernInfo {
    /// The safeguarding space it lives in (hex); null while it waits on this phone for one (no
    /// coordinator can receive it yet). Pass it to `update_referral` to acknowledge.
    pub space_id: Option<String>,
    /// Its id.
    pub id: String,
    /// The care record it is about (hex): on a coordinator's device it was sealed for, and on its
    /// writer's; null elsewhere.
    pub care_id: Option<String>,
    /// The participant's person id (hex), where `care_id` is known.
    pub participant: Option<String>,
    /// The device (hex) that raised it.
    pub by: String,
    /// Whether this device raised it.
    pub mine: bool,
    /// When it was raised, ms.
    pub created_ms: i64,
    /// Where it stands.
    pub state: ReferralState,
    /// When a coordinator acknowledged it.
    pub acknowledged_ms: Option<i64>,
    /// When it was recorded as in care.
    pub in_care_ms: Option<i64>,
    /// When it was closed.
    pub closed_ms: Option<i64>,
    /// The device (hex) whose acknowledgement came first, if any.
    pub acknowledged_by: Option<String>,
    /// Time from the concern to its acknowledgement, ms.
    pub time_to_acknowledge_ms: Option<i64>,
    /// Coordinator persons the space reaches now (0 while it waits on this phone).
    pub coordinators: u32,
    /// Its age now, ms.
    pub age_ms: i64,
    /// Unacknowledged past the deadline.
    pub overdue: bool,
    /// What to tell its writer (no coordinator yet, not sent yet, sent, overdue: phone the
    /// coordinator, told).
    pub notice: CareNotice,
}

fn concern(c: sebaya_core::care::Concern) -> ConcernInfo {
    ConcernInfo {
        notice: c.notice().into(),
        time_to_acknowledge_ms: c.time_to_acknowledge_ms(),
        space_id: c.space.map(|s| s.to_hex()),
        id: c.id,
        care_id: c.care.map(|s| s.to_hex()),
        participant: c.participant.map(hex::encode),
        by: c.by,
        mine: c.mine,
        created_ms: c.created_ms,
        state: ReferralState::from_id(c.state),
        acknowledged_ms: c.acknowledged_ms,
        in_care_ms: c.in_care_ms,
        closed_ms: c.closed_ms,
        acknowledged_by: c.acknowledged_by,
        coordinators: c.coordinators,
        age_ms: c.age_ms,
        overdue: c.overdue,
    }
}

/// What a risk event or a call for help did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Escalation {
    /// The participant's own score (screenings only; never sent anywhere).
    pub score: Option<InstrumentScore>,
    /// The participant's own score of a programme-defined instrument
    /// (`submit_programme_screening`; never sent anywhere).
    pub programme_score: Option<super::instruments::ProgrammeScore>,
    /// Risk rules that fired (a programme instrument's as `Unknown { raw: "<id>-item<n>" }`).
    pub rules: Vec<RiskFlag>,
    /// Referrals queued, as "care id:referral id"; they go out at the next sync.
    pub referrals: Vec<String>,
    /// Care records (hex) where a rule fired but no duty-of-care consent stands: nobody was told;
    /// offer "I need help now".
    pub not_referred: Vec<String>,
    /// Care records (hex) where the referral could not be written: no one was told from there. Say
    /// so (`care-referral-failed`) beside the crisis numbers.
    pub failed: Vec<String>,
    /// Whether the screening's total was kept in the journal (true where there is none to keep).
    pub saved: bool,
    /// Crisis numbers: always there where any are known, whatever else failed.
    pub resources: Vec<CrisisResource>,
    /// The country code was not a two-letter code: Indonesia's built-in numbers stand in; also say
    /// "call your local emergency number" (`crisis-none`).
    pub country_unknown: bool,
    /// Whether to open the safety plan now.
    pub show_safety_plan: bool,
    /// What to tell the person about who has been told, in order, beside the crisis numbers
    /// (empty when no rule fired): never leave them to guess from silence.
    pub notices: Vec<CareNotice>,
    /// For each referral written, how many coordinator persons its record reaches now.
    pub coordinators: Vec<CoordinatorsReached>,
    /// Per programme a referral was written in: how many coordinator persons will be told (each
    /// once); 0: no one yet, it waits for the first coordinator added.
    pub programmes: Vec<ProgrammeCoordinators>,
}

/// How many coordinator persons of one programme an escalation will tell.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ProgrammeCoordinators {
    /// The programme (hex).
    pub programme_id: String,
    /// Coordinator persons told, each once; 0: none yet.
    pub count: u32,
}

/// How many coordinator persons a referral's care record reaches.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CoordinatorsReached {
    /// The care record (hex).
    pub care_id: String,
    /// Coordinator persons in it now; 0: the referral waits for the first one added.
    pub count: u32,
}

/// The "I need help now" screen that needs nothing else: see [`emergency_help`].
#[derive(Clone, Debug, uniffi::Record)]
pub struct EmergencyHelp {
    /// A short heading, in the language asked for.
    pub title: String,
    /// The built-in crisis numbers for the country (a programme's own list needs the vault:
    /// `Care.crisis_resources`). Empty where none are built in; the first step then says to call
    /// the local emergency number.
    pub resources: Vec<CrisisResource>,
    /// The country code was not a two-letter code: Indonesia's numbers are shown.
    pub country_unknown: bool,
    /// What to do now, in order, in the language asked for.
    pub steps: Vec<String>,
}

/// Crisis numbers and what to do now, with no vault, no passcode and no network: for the lock
/// screen, for before a vault exists and for any error screen. Cannot fail. `country`: ISO 3166
/// alpha-2; `locale`: "id" or "en" (old Android's "in" reads as "id"; others read English).
#[uniffi::export]
pub fn emergency_help(country: String, locale: String) -> EmergencyHelp {
    let h = sebaya_core::care::emergency_help(&country, &locale);
    EmergencyHelp {
        title: h.title,
        resources: h.resources.into_iter().map(resource).collect(),
        country_unknown: h.country_unknown,
        steps: h.steps,
    }
}

/// A screening result kept in the participant's journal (totals, never answers).
#[derive(Clone, Debug, uniffi::Record)]
pub struct Screening {
    /// Record id.
    pub id: String,
    /// Which instrument.
    pub instrument: Instrument,
    /// Its total (WHO-5: raw 0–25).
    pub total: u32,
    /// Risk rules that fired.
    pub risk: Vec<RiskFlag>,
    /// When, ms.
    pub at_ms: i64,
    /// The instrument's version (a programme instrument's own, or the built-in scoring's); null in
    /// records kept before it was recorded.
    pub instrument_version: Option<String>,
    /// The language answered in; null when not recorded (`submit_screening`, older records).
    pub language: Option<String>,
    /// Which wording was answered (`builtin:<instrument>/<language>`, `programme:<hex>`,
    /// `<x-id>@<version>/<language>`); null as for `language`.
    pub wording: Option<String>,
}

fn resource(r: sebaya_core::care::CrisisResource) -> CrisisResource {
    CrisisResource {
        kind: CrisisResourceKind::from_id(&r.kind),
        name: r.name,
        channel: CrisisChannel::from_id(&r.channel),
        number: r.number,
        extension: r.extension,
        url: r.url,
        hours: r.hours,
        partial_coverage: r.partial_coverage,
        verified_on: r.verified_on,
        source: r.source,
    }
}

fn referral(r: sebaya_core::care::ReferralView) -> ReferralInfo {
    let notice = r.notice().into();
    ReferralInfo {
        care_id: r.care.to_hex(),
        told: r.told(),
        time_to_acknowledge_ms: r.time_to_acknowledge_ms(),
        id: r.id,
        origin: ReferralOrigin::from_id(&r.origin),
        reason: r.reason.as_deref().map(ReferralReason::from_id),
        reason_sealed: r.reason_sealed,
        created_ms: r.created_ms,
        state: ReferralState::from_id(r.state),
        sent_ms: r.sent_ms,
        acknowledged_ms: r.acknowledged_ms,
        in_care_ms: r.in_care_ms,
        closed_ms: r.closed_ms,
        mine: r.mine,
        notice,
        verified: r.verified,
        coordinators: r.coordinators,
        age_ms: r.age_ms,
        overdue: r.overdue,
        acknowledged_by: r.acknowledged_by,
    }
}

pub(crate) fn escalation(e: sebaya_core::care::Escalation) -> Escalation {
    Escalation {
        score: e.score.map(Into::into),
        programme_score: e.programme_score.map(Into::into),
        rules: e.rules.iter().map(|r| RiskFlag::from_id(r)).collect(),
        referrals: e
            .referrals
            .into_iter()
            .map(|(c, id)| format!("{}:{id}", c.to_hex()))
            .collect(),
        not_referred: e.not_referred.iter().map(|c| c.to_hex()).collect(),
        failed: e.failed.iter().map(|c| c.to_hex()).collect(),
        saved: e.saved,
        resources: e.resources.into_iter().map(resource).collect(),
        country_unknown: e.country_unknown,
        show_safety_plan: e.show_safety_plan,
        notices: e.notices.into_iter().map(Into::into).collect(),
        coordinators: e
            .coordinators
            .into_iter()
            .map(|(c, count)| CoordinatorsReached {
                care_id: c.to_hex(),
                count,
            })
            .collect(),
        programmes: e
            .programmes
            .into_iter()
            .map(|(p, count)| ProgrammeCoordinators {
                programme_id: hex::encode(p),
                count,
            })
            .collect(),
    }
}

/// The consent text for `purpose` in `locale` ("id" or "en"), with the version an answer records.
/// An `Unknown` purpose has no text here: `InvalidInput`.
#[uniffi::export]
pub fn consent_text(purpose: ConsentPurpose, locale: String) -> Result<ConsentText> {
    let id = purpose.id();
    let version = sebaya_core::care::consent_version(id)?;
    let m = |key: String| sebaya_core::i18n::message(&locale, &key, &[]);
    Ok(ConsentText {
        title: m(format!("consent-{id}-title")),
        text: m(format!("consent-{id}")),
        version: version.to_string(),
        purpose,
    })
}

/// The text on the limits of confidentiality in `locale` ("id" or "en"), shown with
/// `consent_text(DutyOfCare)` before the participant agrees to the duty-of-care rule (issue 14,
/// item 15): what stays between them and their supporter, and when the programme's coordinator is
/// told. Its version is the duty-of-care text's.
#[uniffi::export]
pub fn duty_of_care_limits(locale: String) -> ConsentText {
    let id = sebaya_core::care::LIMITS_TEXT;
    let m = |key: String| sebaya_core::i18n::message(&locale, &key, &[]);
    ConsentText {
        title: m(format!("{id}-title")),
        text: m(id.to_string()),
        version: sebaya_core::care::consent_version("duty-of-care")
            .unwrap_or("1")
            .to_string(),
        purpose: ConsentPurpose::DutyOfCare,
    }
}

/// Care, handed out by `Vault.care()`: a participant's enrolment in a programme, the consent ledger,
/// screenings and the risk escalation ladder, referrals, crisis numbers, the safety plan and the
/// instruments' wordings. It holds the vault's shared state, so `Vault.lock()` locks it too
/// (`Locked`): after a lock or `lock_now`, nothing here answers until the vault is opened again.
/// (`emergency_help` needs no vault and always answers.)
#[derive(uniffi::Object)]
pub struct Care {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Care {
    /// Enrols a participant in a programme, in person: scan their request code (`link_request` on a
    /// phone that has a person), show them the returned response. Needs a peer supporter or
    /// coordinator role in the programme (`NotAllowed`). Add coordinators and their supporter with
    /// `Spaces.approve_member`.
    pub fn enrol(&self, request: String, programme_id: String) -> Result<Enrolment> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| {
            let (id, response) = v.enrol_participant(&request, p)?;
            Ok(Enrolment {
                care_id: id.to_hex(),
                response,
                on_call: on_call(v.on_call_status(&id)?),
            })
        })
    }

    /// Every care record this device holds, and how it takes part in each.
    pub fn records(&self) -> Result<Vec<CareRecord>> {
        with(&self.inner, |v| {
            Ok(v.care_records()
                .into_iter()
                .map(|c| CareRecord {
                    id: c.id.to_hex(),
                    programme: c.programme.map(hex::encode),
                    viewer: CareViewer::from_id(c.viewer),
                    coordinators: c.coordinators,
                    minor: c.minor,
                    duty_of_care_required: c.duty_of_care_required,
                })
                .collect())
        })
    }

    /// The participant agrees to, or withdraws from, a purpose (current text version), on their own
    /// phone; from anyone else `NotAllowed`. Returns the ledger entry's id.
    pub fn give_consent(
        &self,
        care_id: String,
        purpose: ConsentPurpose,
        agreed: bool,
    ) -> Result<String> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.give_consent(&c, purpose.id(), agreed))
    }

    /// A coordinator records a parent's or guardian's consent for a minor, with the reference of
    /// the signed form (`form_reference`; without one it is kept in the ledger but opens nothing
    /// that waits for a guardian). Anyone else: `NotAllowed`.
    pub fn record_guardian_consent(
        &self,
        care_id: String,
        purpose: ConsentPurpose,
        relation: String,
        form_reference: Option<String>,
        agreed: bool,
    ) -> Result<String> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| {
            v.record_guardian_consent(
                &c,
                purpose.id(),
                &relation,
                form_reference.as_deref(),
                agreed,
            )
        })
    }

    /// Enrols a participant who is a minor: sharing with the supporter and outcome reporting then
    /// wait for a guardian's consent with a form reference, or a best-interests exception; crisis
    /// lines, "I need help now" and referrals never wait.
    pub fn enrol_minor(&self, request: String, programme_id: String) -> Result<Enrolment> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| {
            let (id, response) = v.enrol_participant_as(&request, p, true)?;
            Ok(Enrolment {
                care_id: id.to_hex(),
                response,
                on_call: on_call(v.on_call_status(&id)?),
            })
        })
    }

    /// Enrols a participant who agreed to the duty-of-care rule after being shown its text
    /// (`consent_text(DutyOfCare)`) and the limits of confidentiality (`duty_of_care_limits`), as a
    /// minor when `minor`. Where the programme makes that agreement a condition of joining
    /// (`duty_of_care_required`), `enrol` and `enrol_minor` are `DutyOfCareRequired` and this is the
    /// way in. The participant's own phone then records the agreement (`give_consent`).
    pub fn enrol_with_duty_of_care(
        &self,
        request: String,
        programme_id: String,
        minor: bool,
    ) -> Result<Enrolment> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| {
            let (id, response) = v.enrol_participant_with(&request, p, minor, true)?;
            Ok(Enrolment {
                care_id: id.to_hex(),
                response,
                on_call: on_call(v.on_call_status(&id)?),
            })
        })
    }

    /// A coordinator makes (or stops making) the participant's duty-of-care agreement a condition
    /// of joining the programme: kept on this phone and written into every care record of it held
    /// here (returns how many). Anyone else: `NotAllowed`.
    pub fn set_duty_of_care_required(&self, programme_id: String, required: bool) -> Result<u32> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| v.set_duty_of_care_required(&p, required))
    }

    /// Whether, as far as this phone knows, the programme makes the duty-of-care agreement a
    /// condition of joining.
    pub fn duty_of_care_required(&self, programme_id: String) -> Result<bool> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| Ok(v.duty_of_care_required(&p)))
    }

    /// A coordinator marks a record's participant as a minor (never undone). Anyone else:
    /// `NotAllowed`.
    pub fn mark_minor(&self, care_id: String) -> Result<()> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.mark_minor(&c))
    }

    /// A coordinator records a best-interests (vital interests) exception for a minor: `purpose`
    /// goes ahead without a guardian's consent, for the `reason` (1 to 300 characters) kept in the
    /// record. Returns its id.
    pub fn record_best_interests_exception(
        &self,
        care_id: String,
        purpose: ConsentPurpose,
        reason: String,
    ) -> Result<String> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| {
            v.record_best_interests_exception(&c, purpose.id(), &reason)
        })
    }

    /// The whole consent ledger of a care record, oldest first (the participant's, then guardians').
    pub fn consent_ledger(&self, care_id: String) -> Result<Vec<ConsentEntry>> {
        let c = parse_space(&care_id)?;
        let list = with(&self.inner, |v| v.consent_ledger(&c))?;
        Ok(list
            .into_iter()
            .map(|r| ConsentEntry {
                id: r.id,
                purpose: ConsentPurpose::from_id(&r.purpose),
                version: r.version,
                agreed: r.agreed,
                by: r.by,
                at_ms: r.at_ms,
                guardian_relation: r.guardian_relation,
                form_reference: r.form,
            })
            .collect())
    }

    /// Whether the participant's consent to `purpose` stands now.
    pub fn has_consent(&self, care_id: String, purpose: ConsentPurpose) -> Result<bool> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.has_consent(&c, purpose.id()))
    }

    /// Scores a completed instrument, keeps the total in the journal and runs the risk ladder
    /// offline (`country`: ISO 3166 alpha-2 for the crisis numbers). Once scored nothing else fails
    /// it (see `failed`, `saved`, `country_unknown`); it still throws when the vault is locked or
    /// the answers cannot be scored: on any error, show `emergency_help` at once.
    pub fn submit_screening(
        &self,
        instrument: Instrument,
        answers: Vec<u8>,
        country: String,
    ) -> Result<Escalation> {
        let inst = instrument.to_core()?;
        with(&self.inner, |v| {
            v.submit_screening(inst, &answers, &country)
        })
        .map(escalation)
    }

    /// A screening a supporter reads aloud and enters on the participant's behalf: escalated by
    /// the same rules (the participant's duty-of-care consent in that record), recorded as
    /// `Administered`; the escalation never carries a score or band. A participant: `NotAllowed`.
    pub fn submit_screening_for(
        &self,
        care_id: String,
        instrument: Instrument,
        answers: Vec<u8>,
        country: String,
    ) -> Result<Escalation> {
        let c = parse_space(&care_id)?;
        let inst = instrument.to_core()?;
        with(&self.inner, |v| {
            v.submit_screening_for(&c, inst, &answers, &country)
        })
        .map(escalation)
    }

    /// The participant's "I need help now": a referral in every programme they are enrolled in, and
    /// the crisis numbers. Throws only when the vault is locked: then show `emergency_help`.
    pub fn ask_for_help(&self, country: String) -> Result<Escalation> {
        with(&self.inner, |v| v.ask_for_help(&country)).map(escalation)
    }

    /// The participant erases their own care record for good, by destroying its keys (issue 14,
    /// item 17; their right to deletion): gone here at once, on the supporter's and coordinators'
    /// devices at their next sync, and at the relay once a coordinator's device has synced.
    /// `OpenReferrals` while a referral in it waits for a coordinator's acknowledgement (nothing
    /// changes: erase once it is acknowledged); `NotAllowed` for anyone but the participant.
    pub fn erase_record(&self, care_id: String) -> Result<()> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.erase_care_record(&c))
    }

    /// A supporter's "refer now". With `safeguarding_minor`: a safeguarding concern about the
    /// minor, written not into the care record (the child's phone holds it) but into the
    /// programme's safeguarding space, sealed for its coordinators; it waits on this phone until
    /// this device belongs to one (`concerns`). Returns the referral's or concern's id.
    pub fn refer_now(&self, care_id: String, safeguarding_minor: bool) -> Result<String> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.refer_now(&c, safeguarding_minor))
    }

    /// A coordinator makes the programme's safeguarding space; its other coordinators and its
    /// supporters join with `Spaces.approve_member` / `Spaces.join`, never a participant. Not a
    /// coordinator there: `NotAllowed`. Returns its id (hex).
    pub fn create_safeguarding_space(&self, programme_id: String) -> Result<String> {
        let p = parse_programme(&programme_id)?;
        Ok(with(&self.inner, |v| v.create_safeguarding_space(p))?.to_hex())
    }

    /// The safeguarding concerns this device may see, oldest first: a coordinator's every concern
    /// (about which care record, where sealed for it); a supporter's own, waiting ones too.
    /// Acknowledge with `update_referral(space_id, id, ...)`; they are in the caseload too.
    pub fn concerns(&self) -> Result<Vec<ConcernInfo>> {
        Ok(with(&self.inner, |v| v.concerns())?
            .into_iter()
            .map(concern)
            .collect())
    }

    /// A coordinator records a referral's state: `Acknowledged`, `InCare` or `Closed` (any other is
    /// `InvalidInput`: `Queued` and `Sent` are the writer's device's own). Given a safeguarding
    /// space's id, a concern's state there.
    pub fn update_referral(
        &self,
        care_id: String,
        referral_id: String,
        state: ReferralState,
    ) -> Result<()> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| {
            v.update_referral(&c, &referral_id, state.id())
        })
    }

    /// The referrals of one care record as this person may see them, oldest first.
    pub fn referrals(&self, care_id: String) -> Result<Vec<ReferralInfo>> {
        let c = parse_space(&care_id)?;
        Ok(with(&self.inner, |v| v.referrals(&c))?
            .into_iter()
            .map(referral)
            .collect())
    }

    /// Every referral this device can see, newest first (a coordinator's inbox).
    pub fn referral_inbox(&self) -> Result<Vec<ReferralInfo>> {
        Ok(with(&self.inner, |v| v.referral_inbox())?
            .into_iter()
            .map(referral)
            .collect())
    }

    /// A coordinator's caseload: every referral not yet closed in the records it coordinates, and
    /// every safeguarding concern not yet closed (`care_id` the safeguarding space's, reason
    /// `SafeguardingMinor`), overdue first, then oldest first, with age and who acknowledged. Empty
    /// for anyone else.
    pub fn caseload(&self) -> Result<Vec<ReferralInfo>> {
        Ok(with(&self.inner, |v| v.caseload())?
            .into_iter()
            .map(referral)
            .collect())
    }

    /// A coordinator sets the programme's acknowledgement deadline (1 to 168 hours; 24 until set)
    /// in every care record of the programme it holds; returns how many were written. Not a
    /// coordinator there: `NotAllowed`.
    pub fn set_ack_deadline(&self, programme_id: String, hours: u32) -> Result<u32> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| v.set_ack_deadline(&p, hours))
    }

    /// A coordinator names the programme's on-call coordinators (person ids, hex; 1 to 16, each
    /// once) in every care record of the programme it holds; returns how many were written. Fewer
    /// than two holding `coordinator` is accepted and shown as a warning (`on_call_status`). Not a
    /// coordinator there: `NotAllowed`.
    pub fn set_on_call(&self, programme_id: String, person_ids: Vec<String>) -> Result<u32> {
        let p = parse_programme(&programme_id)?;
        let persons = person_ids
            .iter()
            .map(|id| {
                sebaya_core::PersonId::from_hex(id).map_err(|_| {
                    SebayaError::from(sebaya_core::Error::InvalidInput(
                        "person id must be 64 hex characters".into(),
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        with(&self.inner, |v| v.set_on_call(&p, &persons))
    }

    /// Who will receive a care record's referrals: the programme's on-call list, the coordinators
    /// the record reaches, and the warning to show when fewer than two.
    pub fn on_call_status(&self, care_id: String) -> Result<OnCallStatus> {
        let c = parse_space(&care_id)?;
        Ok(on_call(with(&self.inner, |v| v.on_call_status(&c))?))
    }

    /// The acknowledgement deadline of a care record, in hours.
    pub fn ack_deadline_hours(&self, care_id: String) -> Result<u32> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.ack_deadline_hours(&c))
    }

    /// Crisis numbers for `country`: the programme's own, else the built-in ones (Indonesia: 119
    /// extension 8, 112); empty elsewhere (say: call your local emergency number, `crisis-none`).
    pub fn crisis_resources(&self, country: String) -> Result<Vec<CrisisResource>> {
        Ok(with(&self.inner, |v| v.crisis_resources(&country))?
            .into_iter()
            .map(resource)
            .collect())
    }

    /// A coordinator sets the programme's crisis numbers for a country (a JSON list of
    /// `{kind, name, number, extension?}`) in every care record of the programme it holds.
    pub fn set_crisis_resources(
        &self,
        programme_id: String,
        country: String,
        json: String,
    ) -> Result<u32> {
        let p = parse_programme(&programme_id)?;
        with(&self.inner, |v| v.set_crisis_resources(&p, &country, &json))
    }

    /// The participant's screening results (totals and fired rules, never answers), oldest first.
    pub fn screenings(&self) -> Result<Vec<Screening>> {
        with(&self.inner, |v| {
            Ok(v.screenings()
                .into_iter()
                .map(|s| Screening {
                    id: s.id,
                    instrument: Instrument::from_id(&s.instrument),
                    total: s.total,
                    risk: s.risk.iter().map(|r| RiskFlag::from_id(r)).collect(),
                    at_ms: s.at_ms,
                    instrument_version: s.instrument_version,
                    language: s.language,
                    wording: s.wording,
                })
                .collect())
        })
    }
}
