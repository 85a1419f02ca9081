//! Care records through the bindings: enrolment in a programme, the consent ledger, the risk
//! escalation ladder (screenings, "I need help now", a supporter's "refer now"), referrals and their
//! states, crisis numbers. See `core/src/care.rs` and `docs/care.md`.

use super::programmes::parse_programme;
use super::{InstrumentScore, Result, Vault, parse_space, with};

/// A care record this device holds.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CareRecord {
    /// The care record's id (hex): pass it to the other care calls.
    pub id: String,
    /// The programme it belongs to (hex), once its first change has arrived.
    pub programme: Option<String>,
    /// How this device takes part: "participant", "coordinator" or "supporter". The app shows each
    /// only what that role needs (a supporter never sees the participant's reasons or scores).
    pub viewer: String,
}

/// What enrolling a participant made.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Enrolment {
    /// The new care record's id (hex).
    pub care_id: String,
    /// The response code to show the participant's phone (`Vault.join_space`).
    pub response: String,
}

/// One entry of the consent ledger: an agreement or a withdrawal, never edited.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ConsentEntry {
    /// Record id.
    pub id: String,
    /// "duty-of-care", "share-with-supporter", "report-outcomes" or "data-processing".
    pub purpose: String,
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
}

/// A consent text to show before asking.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ConsentText {
    /// The purpose it is for.
    pub purpose: String,
    /// Its version: recorded with the answer.
    pub version: String,
    /// A short title, in the requested language.
    pub title: String,
    /// The text, in the requested language.
    pub text: String,
}

/// A number to call in a crisis.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CrisisResource {
    /// "crisis-line", "emergency" or "other" (label: `localized_message("crisis-kind-" + kind)`).
    pub kind: String,
    /// The service's own name.
    pub name: String,
    /// The number to dial.
    pub number: String,
    /// An extension to choose after dialling, if any.
    pub extension: Option<String>,
}

/// A referral as this device's person may see it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ReferralInfo {
    /// The care record it lives in (hex).
    pub care_id: String,
    /// Its id.
    pub id: String,
    /// "rule", "participant" or "supporter".
    pub origin: String,
    /// Why ("phq9-item9", "srq20-item17", "help-now", "refer-now", "safeguarding-minor"); null for a
    /// supporter when the reason is the participant's: show "refer now" (`referral-refer-now`).
    pub reason: Option<String>,
    /// When it was made, ms.
    pub created_ms: i64,
    /// "queued", "sent", "acknowledged", "in-care" or "closed".
    pub state: String,
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
}

/// What a risk event or a call for help did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Escalation {
    /// The participant's own score (screenings only; never sent anywhere).
    pub score: Option<InstrumentScore>,
    /// Risk rules that fired.
    pub rules: Vec<String>,
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
}

/// The "I need help now" screen that needs nothing else: see [`emergency_help`].
#[derive(Clone, Debug, uniffi::Record)]
pub struct EmergencyHelp {
    /// A short heading, in the language asked for.
    pub title: String,
    /// The built-in crisis numbers for the country (a programme's own list needs the vault:
    /// `Vault.crisis_resources`). Empty where none are built in; the first step then says to call
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
    /// "phq9", "gad7", "who5" or "srq20".
    pub instrument: String,
    /// Its total (WHO-5: raw 0–25).
    pub total: u32,
    /// Risk rules that fired.
    pub risk: Vec<String>,
    /// When, ms.
    pub at_ms: i64,
}

/// Something the participant shared with their supporter in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SharedItem {
    /// Its id (for `unshare`).
    pub id: String,
    /// "journal-entry", "checkin-summary" or "safety-plan".
    pub kind: String,
    /// The shared text.
    pub text: String,
    /// A journal entry's mood, 1–5.
    pub mood: Option<u8>,
    /// The journal entry it came from (empty otherwise).
    pub source: String,
    /// The consent record it was shared under.
    pub consent: String,
    /// When, ms.
    pub at_ms: i64,
}

/// The wall clock in ms since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn resource(r: sebaya_core::care::CrisisResource) -> CrisisResource {
    CrisisResource {
        kind: r.kind,
        name: r.name,
        number: r.number,
        extension: r.extension,
    }
}

fn referral(r: sebaya_core::care::ReferralView) -> ReferralInfo {
    ReferralInfo {
        care_id: r.care.to_hex(),
        told: r.told(),
        time_to_acknowledge_ms: r.time_to_acknowledge_ms(),
        id: r.id,
        origin: r.origin,
        reason: r.reason,
        created_ms: r.created_ms,
        state: r.state.to_string(),
        sent_ms: r.sent_ms,
        acknowledged_ms: r.acknowledged_ms,
        in_care_ms: r.in_care_ms,
        closed_ms: r.closed_ms,
        mine: r.mine,
    }
}

fn escalation(e: sebaya_core::care::Escalation) -> Escalation {
    Escalation {
        score: e.score.map(|s| InstrumentScore {
            instrument: s.instrument.id().to_string(),
            total: s.total,
            percentage: s.percentage,
            band: s.band.id().to_string(),
            positive_screen: s.positive_screen,
            risk_flags: s.risk.iter().map(|r| r.id().to_string()).collect(),
        }),
        rules: e.rules,
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
    }
}

/// The consent text for `purpose` in `locale` ("id" or "en"), with the version an answer records.
#[uniffi::export]
pub fn consent_text(purpose: String, locale: String) -> Result<ConsentText> {
    let version = sebaya_core::care::consent_version(&purpose)?;
    let m = |id: String| sebaya_core::i18n::message(&locale, &id, &[]);
    Ok(ConsentText {
        title: m(format!("consent-{purpose}-title")),
        text: m(format!("consent-{purpose}")),
        version: version.to_string(),
        purpose,
    })
}

#[uniffi::export]
impl Vault {
    /// Enrols a participant in a programme, in person: scan their request code (`link_request` on a
    /// phone that has a person), show them the returned response. Needs a peer supporter or
    /// coordinator role in the programme (`NotAllowed`). Add coordinators and their supporter with
    /// `approve_group_member`.
    pub fn enrol_participant(&self, request: String, programme_id: String) -> Result<Enrolment> {
        let p = parse_programme(&programme_id)?;
        let (id, response) = with(&self.inner, |v| v.enrol_participant(&request, p))?;
        Ok(Enrolment {
            care_id: id.to_hex(),
            response,
        })
    }

    /// Every care record this device holds, and how it takes part in each.
    pub fn care_records(&self) -> Result<Vec<CareRecord>> {
        with(&self.inner, |v| {
            Ok(v.care_records()
                .into_iter()
                .map(|c| CareRecord {
                    id: c.id.to_hex(),
                    programme: c.programme.map(hex::encode),
                    viewer: c.viewer.to_string(),
                })
                .collect())
        })
    }

    /// The participant agrees to, or withdraws from, a purpose (current text version), on their own
    /// phone; from anyone else `NotAllowed`. Returns the ledger entry's id.
    pub fn give_consent(&self, care_id: String, purpose: String, agreed: bool) -> Result<String> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.give_consent(&c, &purpose, agreed))
    }

    /// The enrolling supporter or coordinator records a parent's or guardian's consent for a minor.
    pub fn record_guardian_consent(
        &self,
        care_id: String,
        purpose: String,
        relation: String,
        agreed: bool,
    ) -> Result<String> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| {
            v.record_guardian_consent(&c, &purpose, &relation, agreed)
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
                purpose: r.purpose,
                version: r.version,
                agreed: r.agreed,
                by: r.by,
                at_ms: r.at_ms,
                guardian_relation: r.guardian_relation,
            })
            .collect())
    }

    /// Whether the participant's consent to `purpose` stands now.
    pub fn has_consent(&self, care_id: String, purpose: String) -> Result<bool> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.has_consent(&c, &purpose))
    }

    /// Scores a completed instrument, keeps the total in the journal and runs the risk ladder
    /// offline (`country`: ISO 3166 alpha-2 for the crisis numbers).
    pub fn submit_screening(
        &self,
        instrument: String,
        answers: Vec<u8>,
        country: String,
    ) -> Result<Escalation> {
        let inst = sebaya_core::care::instruments::Instrument::from_id(&instrument)?;
        with(&self.inner, |v| {
            v.submit_screening(inst, &answers, &country)
        })
        .map(escalation)
    }

    /// The participant's "I need help now": a referral in every programme they are enrolled in, and
    /// the crisis numbers.
    pub fn ask_for_help(&self, country: String) -> Result<Escalation> {
        with(&self.inner, |v| v.ask_for_help(&country)).map(escalation)
    }

    /// A supporter's "refer now" (with `safeguarding_minor`: a safeguarding concern about a minor).
    pub fn refer_now(&self, care_id: String, safeguarding_minor: bool) -> Result<String> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.refer_now(&c, safeguarding_minor))
    }

    /// A coordinator records a referral's state: "acknowledged", "in-care" or "closed".
    pub fn update_referral(
        &self,
        care_id: String,
        referral_id: String,
        state: String,
    ) -> Result<()> {
        let c = parse_space(&care_id)?;
        with(&self.inner, |v| v.update_referral(&c, &referral_id, &state))
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

    /// The participant agrees to, or withdraws from, sharing with their supporter in a pairing; a
    /// withdrawal takes back everything shared there. Only the participant (`NotAllowed`).
    pub fn consent_to_sharing(&self, pairing_id: String, agreed: bool) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.consent_to_sharing(&p, agreed))
    }

    /// Shares one journal entry (text and mood) with the supporter; `NotAllowed` without consent.
    pub fn share_journal_entry(&self, pairing_id: String, entry_id: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.share_journal_entry(&p, &entry_id))
    }

    /// Shares a summary of the check-ins (weekly averages, streak; no entry text) in `locale`.
    pub fn share_checkin_summary(
        &self,
        pairing_id: String,
        utc_offset_min: i32,
        locale: String,
    ) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            v.share_checkin_summary(&p, utc_offset_min, &locale)
        })
    }

    /// Shares the safety plan, as rendered text, with the supporter.
    pub fn share_safety_plan_text(&self, pairing_id: String, text: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.share_safety_plan_text(&p, &text))
    }

    /// Shares the safety plan as it stands (its summary in `locale`) with the supporter.
    pub fn share_safety_plan(&self, pairing_id: String, locale: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.share_safety_plan(&p, &locale))
    }

    /// Takes one shared item back.
    pub fn unshare(&self, pairing_id: String, item_id: String) -> Result<()> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.unshare(&p, &item_id))
    }

    /// What the participant shares in a pairing now (nothing while consent does not stand).
    pub fn shared_in_pairing(&self, pairing_id: String) -> Result<Vec<SharedItem>> {
        let p = parse_space(&pairing_id)?;
        let list = with(&self.inner, |v| v.shared_in_pairing(&p))?;
        Ok(list
            .into_iter()
            .map(|i| SharedItem {
                id: i.id,
                kind: i.kind,
                text: i.text,
                mood: i.mood,
                source: i.source,
                consent: i.consent,
                at_ms: i.at_ms,
            })
            .collect())
    }

    /// Deletes journal entries for good by destroying the key they were written under: the journal
    /// goes on under a fresh key with everything else (other entries, the safety plan, screening
    /// totals); the old one is destroyed here now, erased at the relay at the next sync, and on the
    /// person's other devices at theirs (each keeps what it wrote meanwhile). Unknown ids throw
    /// `NotFound` and change nothing. Returns the new journal's id.
    pub fn erase_journal_entries(&self, entry_ids: Vec<String>) -> Result<String> {
        let now = now_ms();
        Ok(with(&self.inner, |v| v.erase_journal_entries(&entry_ids, now))?.to_hex())
    }

    /// Everything this person has on this device as JSON (`"schema": "sebaya-export/1"`): journal,
    /// screening totals, their consents and referrals, what they wrote in pairings, groups and case
    /// notes, their programmes. Never keys. Hand it only to the person.
    pub fn export_all(&self) -> Result<String> {
        let now = now_ms();
        with(&self.inner, |v| v.export_all(now))
    }

    /// The participant's screening results (totals and fired rules, never answers), oldest first.
    pub fn screenings(&self) -> Result<Vec<Screening>> {
        with(&self.inner, |v| {
            Ok(v.screenings()
                .into_iter()
                .map(|s| Screening {
                    id: s.id,
                    instrument: s.instrument,
                    total: s.total,
                    risk: s.risk,
                    at_ms: s.at_ms,
                })
                .collect())
        })
    }
}
