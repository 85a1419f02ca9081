//! Escalation: from a screening or a call for help to referrals in the participant's care records,
//! the crisis numbers to show, and referrals as people follow them (queued, sent, acknowledged, in
//! care, closed), for the participant and in the coordinators' inbox.

use std::collections::BTreeMap;

use crate::care::instruments::{BUILTIN_VERSION, Instrument, Score};
use crate::care::programme_instruments::ProgrammeScore;
use crate::error::{Error, Result};
use crate::space::rules;
use crate::store::clock::now_ms;
use crate::{SpaceId, Vault};

use super::consent::consented;
use super::record::{Referral, add_state, new_id, referrals, stage_times, states};
use super::resources::{CrisisResource, FALLBACK_COUNTRY, built_in_resources};
use super::screening::{Kept, Used};

/// What to tell a person about who has been told, so that silence never looks like help: each
/// is a message id in both languages (`message_id`), chosen by the core from what actually happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CareNotice {
    /// Written on this phone, not yet sent: no one has been told yet.
    NotToldYet,
    /// Sent, but no coordinator has acknowledged it yet; coordinators are not an emergency service.
    SentNoAnswer,
    /// A coordinator has acknowledged it.
    Told,
    /// The referral could not be written in a care record: no one may have been told from there.
    ReferralFailed,
    /// A rule fired, but the participant has not agreed (or no longer agrees) to the duty-of-care
    /// rule in a care record: no one will be told from there.
    NoOneToldNoConsent,
    /// A rule fired or help was asked for, and this person is enrolled in no programme on this
    /// device: no one will be told.
    NoOneToldNoProgramme,
    /// The care record has no coordinator yet: the referral waits in it for the first one added,
    /// and no one can be told until then. The supporter sees it too, to alert the programme.
    NoCoordinatorYet,
    /// For the participant: no coordinator acknowledged it within the programme's deadline. Call a
    /// crisis line now and tell a trusted adult.
    Overdue,
    /// For the supporter: the referral is past the deadline unacknowledged. Phone the coordinator.
    OverdueCallCoordinator,
    /// For the supporter: a safeguarding concern still waits on this phone, because this device
    /// belongs to no safeguarding space of the programme with a coordinator in it. Ask the
    /// coordinator to add you; if the child is in danger, phone the coordinator now.
    ConcernNotDelivered,
}

impl CareNotice {
    /// The message to show (`i18n::message`), in Indonesian and English.
    pub fn message_id(self) -> &'static str {
        match self {
            Self::NotToldYet => "care-not-told-yet",
            Self::SentNoAnswer => "care-sent-no-answer",
            Self::Told => "care-told",
            Self::ReferralFailed => "care-referral-failed",
            Self::NoOneToldNoConsent => "care-no-one-told-no-consent",
            Self::NoOneToldNoProgramme => "care-no-one-told-no-programme",
            Self::NoCoordinatorYet => "care-no-coordinator-yet",
            Self::Overdue => "care-overdue",
            Self::OverdueCallCoordinator => "care-overdue-call-coordinator",
            Self::ConcernNotDelivered => "care-concern-not-delivered",
        }
    }
}

/// A referral as one viewer may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralView {
    /// The care record it lives in.
    pub care: SpaceId,
    /// Its id.
    pub id: String,
    /// `rule`, `participant` or `supporter`; a supporter sees `participant` for both of the
    /// participant's origins (never `rule`).
    pub origin: String,
    /// Why: shown to the participant and to coordinators; `None` for a supporter when the reason is
    /// the participant's (a rule that fired, or their own call for help): a supporter sees
    /// "refer now", never what the answers were. A sealed reason (`reason_sealed`) opens only on a
    /// device it was sealed for, a coordinator's: `None` everywhere else, the participant's too.
    pub reason: Option<String>,
    /// Whether the referral carries its reason sealed for the coordinators (a risk rule's, since
    /// issue 14 item 13); always false on a supporter's device for the participant's referrals,
    /// which it would otherwise tell apart. With `reason` `None` on a coordinator's device: it was
    /// written before this device was a coordinator there, or while the record had none; its
    /// origin still says that a risk rule fired.
    pub reason_sealed: bool,
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
    /// Whether its origin is proven true to its writer (a `rule` or `participant` referral written
    /// by a device proven to be the participant's). A coordinator also sees unverified ones, marked,
    /// rather than losing a possible risk signal to a missing proof; reports count verified ones.
    pub verified: bool,
    /// How this device takes part in the record: `participant`, `coordinator` or `supporter`.
    pub viewer: &'static str,
    /// How many coordinator persons the record reaches now (0: it waits for the first one added).
    pub coordinators: u32,
    /// Its age at the time asked for, ms (clocks of two devices: never below 0).
    pub age_ms: i64,
    /// Not acknowledged within the record's deadline (`ack_deadline_hours`), and not closed.
    pub overdue: bool,
    /// The device (hex) whose acknowledgement came first, if any.
    pub acknowledged_by: Option<String>,
}

impl ReferralView {
    /// What to tell the person about it: waiting to be sent, sent with no answer yet, or told.
    pub fn notice(&self) -> CareNotice {
        if self.acknowledged_ms.is_some() || self.closed_ms.is_some() || self.in_care_ms.is_some() {
            return CareNotice::Told;
        }
        // No coordinator at all comes first: "phone your coordinator" would send a supporter to no
        // one. A coordinator reads overdue from the caseload, never the participant's advice.
        if self.coordinators == 0 {
            return CareNotice::NoCoordinatorYet;
        }
        if self.overdue {
            return match self.viewer {
                "supporter" => CareNotice::OverdueCallCoordinator,
                "participant" => CareNotice::Overdue,
                _ => CareNotice::SentNoAnswer,
            };
        }
        match self.state {
            "queued" => CareNotice::NotToldYet,
            _ => CareNotice::SentNoAnswer,
        }
    }

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
    /// The score of a programme-defined instrument (the participant's own; never sent anywhere).
    pub programme_score: Option<ProgrammeScore>,
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
    /// What to tell the person about who has been told, in order (empty when no rule fired).
    pub notices: Vec<CareNotice>,
    /// For each referral written: its care record and how many coordinator persons it reaches
    /// now (0: it waits in the record for the first coordinator added).
    pub coordinators: Vec<(SpaceId, u32)>,
    /// For each programme a referral was written in (by id): how many coordinator persons will be
    /// told, each person once however many of its records they are in (0: none yet; the referral
    /// waits for the first coordinator added). A programme should have at least two.
    pub programmes: Vec<([u8; 32], u32)>,
}

/// The notices for an escalation that fired (a rule or a call for help): failures first, then
/// where no one will be told, then that what was written waits to be sent.
fn notices(
    enrolled: bool,
    coordinators: &[(SpaceId, u32)],
    not_referred: bool,
    failed: bool,
) -> Vec<CareNotice> {
    let mut out = Vec::new();
    if failed {
        out.push(CareNotice::ReferralFailed);
    }
    if !enrolled {
        out.push(CareNotice::NoOneToldNoProgramme);
    }
    if not_referred {
        out.push(CareNotice::NoOneToldNoConsent);
    }
    if coordinators.iter().any(|(_, n)| *n == 0) {
        out.push(CareNotice::NoCoordinatorYet);
    }
    if !coordinators.is_empty() {
        out.push(CareNotice::NotToldYet);
    }
    out
}

/// Whether a referral's origin is true to its writer: one from a rule or from the participant's call
/// for help must be written by a device proven to be the participant's (a supporter writing "rule"
/// would be counted as the participant's); one from a supporter, by a device that is not (a
/// participant's app writing "supporter" would be counted as their supporter's act); a kind this
/// version does not know is never verified.
pub(crate) fn genuine(space: &crate::space::Space, r: &Referral) -> bool {
    let subject = rules::current_subject(&space.doc, space.membership());
    let writer = crate::DeviceId::from_hex(&r.by)
        .ok()
        .and_then(|d| space.membership().proven_person(&d));
    match r.origin.as_str() {
        // The participant's own: written by a device proven to be theirs.
        "rule" | "participant" => writer.is_some_and(|p| Some(p) == subject),
        // A supporter's: written by anyone but the participant (a participant's modified app
        // writing "supporter" is not their supporter's act).
        "supporter" | "administered" => writer.is_none_or(|p| Some(p) != subject),
        // A kind a newer version wrote: shown, marked unverified, never counted.
        _ => false,
    }
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
/// The reason of a safeguarding concern written into a care record before issue 14, item 14.
pub(crate) const LEGACY_CONCERN: &str = "safeguarding-minor";
const SEEN: &str = "care/seen";

pub(super) fn load_map(
    store: &crate::store::Store,
    name: &str,
    what: &'static str,
) -> Result<BTreeMap<String, i64>> {
    match store.kv_get(name)? {
        None => Ok(BTreeMap::new()),
        Some(b) => sebaya_proto::cbor::decode(b.as_slice(), 256).map_err(|_| Error::Corrupt(what)),
    }
}

pub(super) fn save_map(
    store: &crate::store::Store,
    name: &str,
    map: &BTreeMap<String, i64>,
) -> Result<()> {
    let mut bytes = Vec::new();
    ciborium::into_writer(map, &mut bytes).map_err(|_| Error::Internal("encode referral notes"))?;
    store.kv_put(name, &bytes)
}

impl Vault {
    /// Queues one referral in each care record where this device is the participant.
    fn refer_as_participant(
        &mut self,
        origin: &str,
        reason: &str,
        need_duty_consent: bool,
    ) -> Referred {
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
            match self.write_referral(&care, origin, reason) {
                Ok(id) => out.made.push((care, id)),
                Err(_) => out.failed.push(care),
            }
        }
        out
    }

    /// How many coordinator persons each written referral's record reaches now.
    fn coordinators_for(&self, made: &[(SpaceId, String)]) -> Vec<(SpaceId, u32)> {
        let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
        made.iter()
            .map(|(care, _)| {
                let n = self
                    .care_ref(care)
                    .map(|s| super::oncall::coordinators_in(s, now))
                    .unwrap_or(0);
                (*care, n)
            })
            .collect()
    }

    /// How many coordinator persons will be told, per programme the written referrals went to.
    fn coordinators_per_programme(&self, made: &[(SpaceId, String)]) -> Vec<([u8; 32], u32)> {
        let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
        let mut per: BTreeMap<[u8; 32], Vec<[u8; 32]>> = BTreeMap::new();
        for (care, _) in made {
            let Ok(space) = self.care_ref(care) else {
                continue;
            };
            let Some(programme) = rules::programme_of(&space.doc) else {
                continue;
            };
            let persons = per.entry(programme).or_default();
            persons.extend(super::oncall::coordinator_persons(space, now));
            crate::order::sort(persons);
            persons.dedup();
        }
        per.into_iter()
            .map(|(p, persons)| (p, u32::try_from(persons.len()).unwrap_or(u32::MAX)))
            .collect()
    }

    /// Crisis numbers for an escalation, which must never fail: the programme's or the built-in list
    /// for `country`, or, when the code is not a two-letter code, the built-in list of
    /// [`FALLBACK_COUNTRY`] (second value true).
    fn escalation_resources(&self, country: &str) -> (Vec<CrisisResource>, bool) {
        match self.crisis_resources(country) {
            Ok(list) => (list, false),
            Err(_) => (
                self.crisis_resources(FALLBACK_COUNTRY)
                    .unwrap_or_else(|_| built_in_resources(FALLBACK_COUNTRY)),
                true,
            ),
        }
    }

    /// Scores a completed instrument on the participant's phone, keeps the total (not the answers) in
    /// their journal, and runs the risk ladder offline: when a rule fires (PHQ-9 item 9 above 0,
    /// SRQ-20 item 17 yes) a referral carrying the rule, never the answers, is queued to the
    /// coordinators of each programme the participant agreed to the duty-of-care rule in; the
    /// returned escalation carries the crisis numbers for `country` and asks for the safety plan.
    /// SRQ-20 is scored against the programme's cut-off ([`Vault::srq20_settings`]).
    ///
    /// Only answers that cannot be scored (wrong count or value) are an error. Once scored, nothing
    /// else fails the call: a country code that is not one, a journal that cannot be written and a
    /// care record that refuses the referral are reported in the [`Escalation`] (`country_unknown`,
    /// `saved`, `failed`), and the crisis numbers are always in it. The kept record names no wording
    /// or language (this call is not told them): [`Vault::submit_screening_with`] records both.
    pub fn submit_screening(
        &mut self,
        instrument: Instrument,
        answers: &[u8],
        country: &str,
    ) -> Result<Escalation> {
        let used = Used {
            version: BUILTIN_VERSION.to_string(),
            language: None,
            wording: None,
        };
        self.screen_builtin(instrument, answers, &used, country)
    }

    /// [`Vault::submit_screening`] for a form shown in `language`: the wording
    /// [`Vault::instrument_wording`] gives for it is the one answered, and the kept record names it,
    /// its language and the scoring version (issue 14, item 8). A language with no wording is
    /// `NotFound` before anything is scored (the app never showed that form); a malformed tag is
    /// `InvalidInput`.
    pub fn submit_screening_with(
        &mut self,
        instrument: Instrument,
        language: &str,
        answers: &[u8],
        country: &str,
    ) -> Result<Escalation> {
        let w = self.instrument_wording(instrument, language)?;
        let used = Used {
            version: BUILTIN_VERSION.to_string(),
            wording: Some(crate::care::wordings::wording_id(&w)),
            language: Some(w.language),
        };
        self.screen_builtin(instrument, answers, &used, country)
    }

    /// Scores a built-in instrument (SRQ-20 against the programme's cut-off), keeps the result with
    /// what was used, and runs the ladder.
    fn screen_builtin(
        &mut self,
        instrument: Instrument,
        answers: &[u8],
        used: &Used,
        country: &str,
    ) -> Result<Escalation> {
        let score = match instrument {
            Instrument::Srq20 => {
                crate::care::instruments::score_srq20(answers, self.srq20_settings().cutoff)?
            }
            _ => crate::care::instruments::score(instrument, answers)?,
        };
        let rules: Vec<String> = score.risk.iter().map(|f| f.id().to_string()).collect();
        let saved = self
            .save_screening(&Kept {
                instrument: instrument.id(),
                total: score.total,
                risk: &rules,
                used,
            })
            .is_ok();
        let mut e = self.escalate_for_participant(rules, country);
        e.saved = saved;
        e.score = Some(score);
        Ok(e)
    }

    /// A programme-defined instrument ([`Vault::programme_instrument`]) answered in `language`:
    /// scored on this phone by its own definition, kept with its version, wording and language, and
    /// escalated by exactly the ladder of [`Vault::submit_screening`]: a risk rule that fires
    /// (`<id>-item<n>`) queues the same sealed referral, and the crisis numbers always come back. An
    /// instrument this device does not hold, or a language it has no form in, is `NotFound` before
    /// anything is scored; answers that cannot be scored are `InvalidInput`.
    pub fn submit_programme_screening(
        &mut self,
        id: &str,
        language: &str,
        answers: &[u8],
        country: &str,
    ) -> Result<Escalation> {
        crate::care::wordings::normalize_language(language)?;
        let d = self.programme_instrument(id)?;
        let form = d
            .form(language)
            .ok_or(Error::NotFound("programme instrument in this language"))?;
        let used = Used {
            version: d.version.clone(),
            wording: Some(format!("{}@{}/{}", d.id, d.version, form.language)),
            language: Some(form.language.clone()),
        };
        let mut score = d.score(answers)?;
        // Every programme's definition of this id judges the answers for risk: a rule that fires
        // under any of them refers (a second programme's instrument of the same id never silences
        // the first's). The band shown stays the newest definition's.
        let mut risk: std::collections::BTreeSet<String> = score.risk.iter().cloned().collect();
        for other in self.programme_instrument_all(id) {
            if let Ok(s) = other.score(answers) {
                risk.extend(s.risk);
            }
        }
        score.risk = risk.into_iter().collect();
        let saved = self
            .save_screening(&Kept {
                instrument: &score.instrument,
                total: score.total,
                risk: &score.risk,
                used: &used,
            })
            .is_ok();
        let mut e = self.escalate_for_participant(score.risk.clone(), country);
        e.saved = saved;
        e.programme_score = Some(score);
        Ok(e)
    }

    /// The ladder once a participant's own screening is scored: a referral per rule in each care
    /// record where the duty-of-care consent stands, the crisis numbers, the notices.
    fn escalate_for_participant(&mut self, rules: Vec<String>, country: &str) -> Escalation {
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
        let coordinators = self.coordinators_for(&referrals);
        let programmes = self.coordinators_per_programme(&referrals);
        let notices = match risky {
            true => notices(
                !self.my_care_records().is_empty(),
                &coordinators,
                !not_referred.is_empty(),
                !failed.is_empty(),
            ),
            false => Vec::new(),
        };
        Escalation {
            score: None,
            programme_score: None,
            rules,
            referrals,
            not_referred,
            failed,
            saved: true,
            resources,
            country_unknown,
            show_safety_plan: risky,
            notices,
            coordinators,
            programmes,
        }
    }

    /// A screening a supporter (or coordinator) reads aloud and enters on the participant's behalf,
    /// as PM+ and Friendship Bench helpers do. Scored here; when a rule fires, a referral of origin
    /// `administered` carrying the rule (never the answers) is written in that care record if the
    /// participant's duty-of-care consent stands there (the same rule as their own screening). The
    /// returned escalation never carries the score or band: the supporter refers, never assesses.
    /// Nothing is kept of the answers or the total. A participant uses [`Vault::submit_screening`].
    /// SRQ-20 is scored against the programme's cut-off, as on the participant's phone.
    pub fn submit_screening_for(
        &mut self,
        care: &SpaceId,
        instrument: Instrument,
        answers: &[u8],
        country: &str,
    ) -> Result<Escalation> {
        self.check_administering(care)?;
        let score = match instrument {
            Instrument::Srq20 => {
                crate::care::instruments::score_srq20(answers, self.srq20_settings().cutoff)?
            }
            _ => crate::care::instruments::score(instrument, answers)?,
        };
        let rules: Vec<String> = score.risk.iter().map(|f| f.id().to_string()).collect();
        Ok(self.escalate_administered(care, rules, country))
    }

    /// [`Vault::submit_screening_for`] with a programme-defined instrument: its risk rules refer by
    /// the same ladder; no score, band or answer is kept or returned.
    pub fn submit_programme_screening_for(
        &mut self,
        care: &SpaceId,
        id: &str,
        answers: &[u8],
        country: &str,
    ) -> Result<Escalation> {
        self.check_administering(care)?;
        let score = self.programme_instrument_in(care, id)?.score(answers)?;
        Ok(self.escalate_administered(care, score.risk, country))
    }

    fn check_administering(&self, care: &SpaceId) -> Result<()> {
        if self.viewer(self.care_ref(care)?) == "participant" {
            return Err(Error::NotAllowed(
                "a participant answers with submit_screening",
            ));
        }
        Ok(())
    }

    /// The ladder for a screening entered on the participant's behalf in one care record.
    fn escalate_administered(
        &mut self,
        care: &SpaceId,
        rules: Vec<String>,
        country: &str,
    ) -> Escalation {
        let (mut referrals, mut not_referred, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for rule in &rules {
            match self
                .care_ref(care)
                .map(|s| consented(&s.doc, "duty-of-care"))
            {
                Ok(false) => {
                    if !not_referred.contains(care) {
                        not_referred.push(*care);
                    }
                    continue;
                }
                Ok(true) => {}
                Err(_) => {
                    if !failed.contains(care) {
                        failed.push(*care);
                    }
                    continue;
                }
            }
            match self.write_referral(care, "administered", rule) {
                Ok(id) => referrals.push((*care, id)),
                Err(_) if !failed.contains(care) => failed.push(*care),
                Err(_) => {}
            }
        }
        let (resources, country_unknown) = self.escalation_resources(country);
        let risky = !rules.is_empty();
        let coordinators = self.coordinators_for(&referrals);
        let programmes = self.coordinators_per_programme(&referrals);
        let notices = match risky {
            true => notices(
                true,
                &coordinators,
                !not_referred.is_empty(),
                !failed.is_empty(),
            ),
            false => Vec::new(),
        };
        Escalation {
            score: None,
            programme_score: None,
            rules,
            referrals,
            not_referred,
            failed,
            saved: true,
            resources,
            country_unknown,
            show_safety_plan: risky,
            notices,
            coordinators,
            programmes,
        }
    }

    /// The participant's "I need help now": a referral to every programme they are enrolled in (their
    /// own explicit act, so it needs no standing consent), and the crisis numbers. Never fails: what
    /// could not be written is in `failed`, and the crisis numbers are always there.
    pub fn ask_for_help(&mut self, country: &str) -> Result<Escalation> {
        let done = self.refer_as_participant("participant", "help-now", false);
        let (resources, country_unknown) = self.escalation_resources(country);
        let coordinators = self.coordinators_for(&done.made);
        let programmes = self.coordinators_per_programme(&done.made);
        let notices = notices(
            !self.my_care_records().is_empty(),
            &coordinators,
            false,
            !done.failed.is_empty(),
        );
        Ok(Escalation {
            score: None,
            programme_score: None,
            rules: Vec::new(),
            referrals: done.made,
            not_referred: Vec::new(),
            failed: done.failed,
            saved: true,
            resources,
            country_unknown,
            show_safety_plan: true,
            notices,
            coordinators,
            programmes,
        })
    }

    /// A supporter's "refer now" in a participant's care record. Peers refer; they never assess.
    /// With `safeguarding_minor`, a safeguarding concern about the minor: never written into the
    /// care record (the child's devices hold it), but into the programme's safeguarding space,
    /// sealed for its coordinators (`concerns.rs`; issue 14, item 14), waiting on this phone until
    /// there is one. Returns the referral's or the concern's id.
    pub fn refer_now(&mut self, care: &SpaceId, safeguarding_minor: bool) -> Result<String> {
        let space = self.care_ref(care)?;
        if self.viewer(space) == "participant" {
            return Err(Error::NotAllowed(
                "a participant asks for help with ask_for_help",
            ));
        }
        if safeguarding_minor {
            return self.raise_concern(care);
        }
        self.write_referral(care, "supporter", "refer-now")
    }

    /// A coordinator records a referral's state (`acknowledged`, `in-care`, `closed`); every device
    /// refuses it from anyone who is not a coordinator of the programme (`NotAllowed` here). Given
    /// a safeguarding space's id (a concern's `care` in the caseload), the concern's state there.
    pub fn update_referral(&mut self, care: &SpaceId, referral: &str, state: &str) -> Result<()> {
        if self
            .shared
            .get(care)
            .is_some_and(|s| s.kind == crate::space::SpaceKind::Safeguarding)
        {
            return self.update_concern(care, referral, state);
        }
        self.care_ref(care)?;
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_space(care, |doc, now| {
            add_state(doc, &id, referral, state, &by, now)
        })
    }

    /// The referrals of one care record as this device's person may see them (a supporter sees
    /// "refer now" without the participant's reason), oldest first. Marks as sent what the relay
    /// has taken since the last look.
    pub fn referrals(&mut self, care: &SpaceId) -> Result<Vec<ReferralView>> {
        self.referrals_at(care, now_ms())
    }

    /// [`Vault::referrals`] as of `at_ms`: ages and what is overdue are reckoned at that time.
    pub fn referrals_at(&mut self, care: &SpaceId, at_ms: i64) -> Result<Vec<ReferralView>> {
        let me = self.identity.device.to_hex();
        self.care_ref(care)?;
        let all_sent = self
            .shared
            .get_mut(care)
            .ok_or(Error::NotFound("care record"))?
            .all_sent();
        let space = self.care_ref(care)?;
        let viewer = self.viewer(space);
        // A coordinator sees every referral, unverified ones marked; others see verified ones and
        // their own (a participant's new device writes before its proof has arrived).
        let list: Vec<(Referral, bool)> = referrals(&space.doc)
            .into_iter()
            .map(|r| {
                let verified = genuine(space, &r);
                (r, verified)
            })
            .filter(|(r, verified)| *verified || r.by == me || viewer == "coordinator")
            // A safeguarding concern written here by an earlier version stays for coordinators
            // and its writer, never in the participant's own view (issue 14, item 14).
            .filter(|(r, _)| !(viewer == "participant" && r.reason == LEGACY_CONCERN))
            .collect();
        let st = super::minor_staff::counted_states(space, states(&space.doc));
        let coordinators =
            super::oncall::coordinators_in(space, u64::try_from(at_ms / 1000).unwrap_or(0));
        let deadline_ms = i64::from(super::oncall::ack_hours(&space.doc)) * 3_600_000;
        let mut sent = load_map(&self.store, SENT, "sent referrals")?;
        let mut changed = false;
        let now = now_ms();
        // When this device first listed each referral: a referral's age never rests on its writer's
        // clock alone (a phone days fast would otherwise keep it from ever being overdue).
        let mut seen = load_map(&self.store, SEEN, "seen referrals")?;
        let mut seen_changed = false;
        let mut out = Vec::with_capacity(list.len());
        for (r, verified) in list {
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
            let sealed = r.reason == super::reason::SEALED_REASON;
            let id = r.id.clone();
            let key = format!("{}/{}", care.to_hex(), r.id);
            let first_seen = *seen.entry(key).or_insert_with(|| {
                seen_changed = true;
                now
            });
            let age_ms = at_ms.saturating_sub(r.at_ms.min(first_seen)).max(0);
            let acknowledged_by = st
                .iter()
                .filter(|x| x.referral == r.id && x.state == "acknowledged")
                .min_by_key(|x| x.at_ms)
                .map(|x| x.by.clone());
            out.push(ReferralView {
                care: *care,
                id: r.id,
                // A supporter sees one origin for whatever the participant's side raised: "rule"
                // would say the participant answered the suicide item.
                origin: if hide {
                    "participant".to_string()
                } else {
                    r.origin
                },
                reason: match (hide, sealed) {
                    (true, _) => None,
                    // Opens only on a device it was wrapped for: a coordinator's.
                    (false, true) => {
                        super::reason::open_reason(&space.doc, care, &id, &self.identity)
                    }
                    (false, false) => Some(r.reason),
                },
                // Not for a supporter: sealed only for a rule's referral, it would tell them what
                // the one origin they see hides.
                reason_sealed: sealed && !hide,
                created_ms: r.at_ms,
                state,
                sent_ms,
                acknowledged_ms: ack,
                in_care_ms: in_care,
                closed_ms: closed,
                mine,
                verified,
                viewer,
                coordinators,
                age_ms,
                overdue: ack.is_none()
                    && in_care.is_none()
                    && closed.is_none()
                    && age_ms > deadline_ms,
                acknowledged_by,
            });
        }
        // Best effort: the view is right whether or not these notes are kept; a failed write only
        // means they are made again next time (a view must never fail on a write).
        if changed {
            let _ = save_map(&self.store, SENT, &sent);
        }
        if seen_changed {
            let _ = save_map(&self.store, SEEN, &seen);
        }
        Ok(out)
    }

    /// Every referral in every care record this device holds (a coordinator's inbox), and the
    /// safeguarding concerns it coordinates (`care` their space's id), newest first.
    pub fn referral_inbox(&mut self) -> Result<Vec<ReferralView>> {
        let mut out = Vec::new();
        for c in self.care_records() {
            out.extend(self.referrals(&c.id)?);
        }
        // As the caseload does: damaged bookkeeping of concerns never hides the whole inbox.
        if let Ok(list) = self.concerns_as_referrals(now_ms()) {
            out.extend(list);
        }
        crate::order::sort_by(&mut out, |a, b| {
            b.created_ms
                .cmp(&a.created_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }
}
