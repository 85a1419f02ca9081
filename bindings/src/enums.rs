//! Every closed set of values at the FFI as an enum, so an app matches on cases its compiler checks
//! instead of comparing strings it may misspell.
//!
//! Enums exist at the boundary only: what is stored or synced keeps its exact bytes and strings, and
//! the conversions below run where a value crosses. Two rules:
//!
//! - A value another device may have written (perhaps a newer app version with a case this one does
//!   not know) arrives in an enum with an `Unknown { raw }` case ([`open_enum!`]): an older app shows
//!   the newer value instead of failing, and never rewrites it. The same holds for a value the core
//!   hands over as a string, so that no conversion here can fail or panic.
//! - A value this device computes itself from a closed Rust enum of the core (a screening band, a
//!   sync scope) has no `Unknown`: every case is known at compile time.
//!
//! Passed in, an `Unknown { raw }` goes to the core as `raw`, which refuses what it does not know
//! (`InvalidInput`) exactly as it refused an unknown string before: no valid value is rejected here.

use sebaya_core::space::SpaceKind as CoreKind;
use sebaya_core::{ProgrammeRole as CoreProgrammeRole, Role};

use super::{Result, SebayaError};

/// An enum whose values are fixed strings in storage and sync, with an `Unknown` case for any other
/// string, and the two conversions: `from_id` (total: never fails) and `id` (the stored string).
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $id:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// Not known to this app version (a newer one wrote it): show `raw` as it is.
            Unknown {
                /// The value as stored or received.
                raw: String,
            },
        }

        impl $name {
            /// The case for a stored or received string; any other string is `Unknown`.
            #[allow(dead_code)]
            pub(crate) fn from_id(s: &str) -> Self {
                match s {
                    $( $id => Self::$variant, )*
                    _ => Self::Unknown { raw: s.to_string() },
                }
            }

            /// The string stored and synced for this case (`raw` for `Unknown`).
            #[allow(dead_code)]
            pub(crate) fn id(&self) -> &str {
                match self {
                    $( Self::$variant => $id, )*
                    Self::Unknown { raw } => raw,
                }
            }
        }
    };
}

open_enum! {
    /// The kind of a space. Synced (a newer app may add kinds): has `Unknown`.
    SpaceKind {
        /// A person's private journal.
        Journal = "journal",
        /// A support group.
        Group = "group",
        /// A one-to-one pairing.
        Pairing = "pairing",
        /// A supporter's case notes about a pairing.
        CaseNotes = "case-notes",
        /// A person's index of their spaces (internal).
        Index = "index",
        /// A participant's care record in a programme.
        Care = "care",
        /// A programme's report space.
        Report = "report",
        /// A programme's safeguarding space: supporters' concerns about minors, for coordinators.
        Safeguarding = "safeguarding",
    }
}

impl From<CoreKind> for SpaceKind {
    fn from(k: CoreKind) -> Self {
        match k {
            CoreKind::Journal => Self::Journal,
            CoreKind::Group => Self::Group,
            CoreKind::Pairing => Self::Pairing,
            CoreKind::CaseNotes => Self::CaseNotes,
            CoreKind::Index => Self::Index,
            CoreKind::Care => Self::Care,
            CoreKind::Report => Self::Report,
            CoreKind::Safeguarding => Self::Safeguarding,
        }
    }
}

open_enum! {
    /// A device's role in a space (its membership log is synced): has `Unknown`.
    SpaceRole {
        /// Admits, removes and rotates keys (a group's facilitator).
        Admin = "admin",
        /// Reads and writes.
        Member = "member",
    }
}

impl From<Role> for SpaceRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }
}

open_enum! {
    /// The path a space last synced through (`SpaceStatus.last_path`).
    SyncPath {
        /// Through the relay.
        Relay = "relay",
        /// By a bundle file.
        Bundle = "bundle",
        /// Face to face, in a peer session.
        Peer = "peer",
    }
}

/// The network link the phone has now, as the app sees it (`Vault.sync_on`). Passed in only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum LinkKind {
    /// Wi-Fi or Ethernet: everything goes.
    Unmetered,
    /// Mobile data or a hotspot: the sync policy may hold all but care records back.
    Metered,
}

impl From<LinkKind> for sebaya_core::sync::policy::Link {
    fn from(l: LinkKind) -> Self {
        match l {
            LinkKind::Unmetered => Self::Unmetered,
            LinkKind::Metered => Self::Metered,
        }
    }
}

/// What a policy-aware sync moved, decided on this device for this sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SyncScope {
    /// Every space.
    All,
    /// Care records alone (referrals, acknowledgements, consents).
    UrgentOnly,
}

impl From<sebaya_core::sync::policy::SyncScope> for SyncScope {
    fn from(s: sebaya_core::sync::policy::SyncScope) -> Self {
        match s {
            sebaya_core::sync::policy::SyncScope::All => Self::All,
            sebaya_core::sync::policy::SyncScope::UrgentOnly => Self::UrgentOnly,
        }
    }
}

open_enum! {
    /// Where a referral stands (coordinators' states are synced): has `Unknown`. A coordinator
    /// records `Acknowledged`, `InCare` or `Closed` (`Care.update_referral`).
    ReferralState {
        /// Written, not yet taken by the relay.
        Queued = "queued",
        /// Taken by the relay.
        Sent = "sent",
        /// A coordinator acknowledged it.
        Acknowledged = "acknowledged",
        /// The participant is in care.
        InCare = "in-care",
        /// Closed.
        Closed = "closed",
    }
}

open_enum! {
    /// Who made a referral (synced): has `Unknown`.
    ReferralOrigin {
        /// A risk rule of a screening.
        Rule = "rule",
        /// The participant ("I need help now").
        Participant = "participant",
        /// The supporter ("refer now").
        Supporter = "supporter",
        /// A screening the supporter read aloud and entered for the participant.
        Administered = "administered",
    }
}

open_enum! {
    /// Why a referral was made (synced): has `Unknown`. Label:
    /// `localized_message("referral-" + id)`.
    ReferralReason {
        /// PHQ-9 item 9 above 0.
        Phq9Item9 = "phq9-item9",
        /// SRQ-20 item 17 answered yes.
        Srq20Item17 = "srq20-item17",
        /// The participant's "I need help now".
        HelpNow = "help-now",
        /// The supporter's "refer now".
        ReferNow = "refer-now",
        /// A safeguarding concern about a minor.
        SafeguardingMinor = "safeguarding-minor",
    }
}

open_enum! {
    /// A risk rule that fired: it calls for same-day follow-up whatever the total. Kept with the
    /// screening totals, which sync between a person's devices: has `Unknown`.
    RiskFlag {
        /// PHQ-9 item 9 (thoughts of death or self-harm) above 0.
        Phq9Item9 = "phq9-item9",
        /// SRQ-20 item 17 (thoughts of ending one's life) answered yes.
        Srq20Item17 = "srq20-item17",
    }
}

open_enum! {
    /// A person's role in a programme (credentials are synced): has `Unknown`. Passed in
    /// (`Programmes.grant_role`), `Unknown` is refused with `InvalidInput`.
    ProgrammeRole {
        /// Enrolled for care.
        Participant = "participant",
        /// Runs sessions and pairings.
        PeerSupporter = "peer_supporter",
        /// Runs the programme.
        Coordinator = "coordinator",
    }
}

impl From<CoreProgrammeRole> for ProgrammeRole {
    fn from(r: CoreProgrammeRole) -> Self {
        match r {
            CoreProgrammeRole::Participant => Self::Participant,
            CoreProgrammeRole::PeerSupporter => Self::PeerSupporter,
            CoreProgrammeRole::Coordinator => Self::Coordinator,
        }
    }
}

impl ProgrammeRole {
    /// The core's role; `Unknown` is no role to grant.
    pub(crate) fn to_core(&self) -> Result<CoreProgrammeRole> {
        match self {
            Self::Participant => Ok(CoreProgrammeRole::Participant),
            Self::PeerSupporter => Ok(CoreProgrammeRole::PeerSupporter),
            Self::Coordinator => Ok(CoreProgrammeRole::Coordinator),
            Self::Unknown { .. } => Err(SebayaError::from(sebaya_core::Error::InvalidInput(
                "role must be participant, peer_supporter or coordinator".into(),
            ))),
        }
    }
}

open_enum! {
    /// What a participant consents to (the ledger is synced): has `Unknown`. Its text:
    /// `consent_text`.
    ConsentPurpose {
        /// Referrals when a risk rule fires.
        DutyOfCare = "duty-of-care",
        /// Sharing chosen items with the supporter.
        ShareWithSupporter = "share-with-supporter",
        /// Screening totals in the programme's reports.
        ReportOutcomes = "report-outcomes",
        /// Keeping the care record at all.
        DataProcessing = "data-processing",
        /// A minor's one-to-one pairing: a guardian's consent only (a coordinator records it);
        /// the participant agrees by joining.
        Pairing = "pairing",
    }
}

open_enum! {
    /// A screening instrument. Passed in (to score, to submit, for its wording), and kept with the
    /// screening totals, which sync: has `Unknown`, which the core refuses as input (`InvalidInput`).
    Instrument {
        /// PHQ-9 (depression).
        Phq9 = "phq9",
        /// GAD-7 (anxiety).
        Gad7 = "gad7",
        /// WHO-5 (wellbeing).
        Who5 = "who5",
        /// SRQ-20 (WHO Self-Reporting Questionnaire).
        Srq20 = "srq20",
    }
}

impl Instrument {
    /// The core's instrument; `Unknown` is `InvalidInput`.
    pub(crate) fn to_core(&self) -> Result<sebaya_core::care::instruments::Instrument> {
        Ok(sebaya_core::care::instruments::Instrument::from_id(
            self.id(),
        )?)
    }
}

impl From<sebaya_core::care::instruments::Instrument> for Instrument {
    fn from(i: sebaya_core::care::instruments::Instrument) -> Self {
        use sebaya_core::care::instruments::Instrument as I;
        match i {
            I::Phq9 => Self::Phq9,
            I::Gad7 => Self::Gad7,
            I::Who5 => Self::Who5,
            I::Srq20 => Self::Srq20,
        }
    }
}

/// Where a screening total falls, computed on this device from the answers: no `Unknown`. Label:
/// `localized_message("band-" + id)`, the id being the case in kebab case (`moderately-severe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ScreeningBand {
    /// PHQ-9, GAD-7 0–4.
    Minimal,
    /// PHQ-9, GAD-7 5–9.
    Mild,
    /// PHQ-9, GAD-7 10–14.
    Moderate,
    /// PHQ-9 15–19.
    ModeratelySevere,
    /// PHQ-9 20–27, GAD-7 15–21.
    Severe,
    /// WHO-5 adequate.
    WellbeingAdequate,
    /// WHO-5 low: screen for depression.
    WellbeingLow,
    /// WHO-5 very low: likely depression.
    WellbeingVeryLow,
    /// SRQ-20 under 6 yes answers.
    BelowCutoff,
    /// SRQ-20 6 or more yes answers.
    AboveCutoff,
}

impl From<sebaya_core::care::instruments::Band> for ScreeningBand {
    fn from(b: sebaya_core::care::instruments::Band) -> Self {
        use sebaya_core::care::instruments::Band as B;
        match b {
            B::Minimal => Self::Minimal,
            B::Mild => Self::Mild,
            B::Moderate => Self::Moderate,
            B::ModeratelySevere => Self::ModeratelySevere,
            B::Severe => Self::Severe,
            B::WellbeingAdequate => Self::WellbeingAdequate,
            B::WellbeingLow => Self::WellbeingLow,
            B::WellbeingVeryLow => Self::WellbeingVeryLow,
            B::BelowCutoff => Self::BelowCutoff,
            B::AboveCutoff => Self::AboveCutoff,
        }
    }
}

open_enum! {
    /// The kind of a crisis number (a programme's list is synced): has `Unknown`. Label:
    /// `localized_message("crisis-kind-" + id)`.
    CrisisResourceKind {
        /// A crisis line.
        CrisisLine = "crisis-line",
        /// An emergency number.
        Emergency = "emergency",
        /// Protection of women and children from violence (Indonesia's SAPA 129).
        Protection = "protection",
        /// Any other service.
        Other = "other",
    }
}

open_enum! {
    /// How to reach a crisis resource (a programme's list is synced): has `Unknown`, which an app
    /// shows as the number or address without a channel label. Label:
    /// `localized_message("crisis-channel-" + id)`.
    CrisisChannel {
        /// A call.
        Phone = "phone",
        /// A WhatsApp chat or call.
        Whatsapp = "whatsapp",
        /// A text message.
        Sms = "sms",
        /// A web page (`url`).
        Web = "web",
    }
}

open_enum! {
    /// How this device takes part in a care record (computed by the core, which hands it over as a
    /// string): has `Unknown`, so the conversion can never fail.
    CareViewer {
        /// The participant: sees everything of their own.
        Participant = "participant",
        /// A coordinator: sees reasons, acknowledges referrals.
        Coordinator = "coordinator",
        /// The supporter: never sees reasons or scores.
        Supporter = "supporter",
    }
}

/// What to tell a person about who has been told, computed on this device: no `Unknown`. Text:
/// `localized_message(notice_message_id(notice))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CareNotice {
    /// Not sent yet: no one has been told.
    NotToldYet,
    /// Sent; no coordinator has answered yet (they are not an emergency service).
    SentNoAnswer,
    /// A coordinator has acknowledged it.
    Told,
    /// The referral could not be written: no one may have been told.
    ReferralFailed,
    /// No duty-of-care consent: no one will be told from that record.
    NoOneToldNoConsent,
    /// Enrolled in no programme: no one will be told.
    NoOneToldNoProgramme,
    /// The record has no coordinator yet: kept for the first one added; no one can be told yet.
    NoCoordinatorYet,
    /// For the participant: unanswered past the deadline. Call a crisis line; tell a trusted adult.
    Overdue,
    /// For the supporter: unanswered past the deadline. Phone the coordinator.
    OverdueCallCoordinator,
    /// For the supporter: a safeguarding concern still waits on this phone (no safeguarding space
    /// to send it to). Ask the coordinator to add you; if the child is in danger, phone them now.
    ConcernNotDelivered,
}

impl From<sebaya_core::care::CareNotice> for CareNotice {
    fn from(n: sebaya_core::care::CareNotice) -> Self {
        use sebaya_core::care::CareNotice as N;
        match n {
            N::NotToldYet => Self::NotToldYet,
            N::SentNoAnswer => Self::SentNoAnswer,
            N::Told => Self::Told,
            N::ReferralFailed => Self::ReferralFailed,
            N::NoOneToldNoConsent => Self::NoOneToldNoConsent,
            N::NoOneToldNoProgramme => Self::NoOneToldNoProgramme,
            N::NoCoordinatorYet => Self::NoCoordinatorYet,
            N::Overdue => Self::Overdue,
            N::OverdueCallCoordinator => Self::OverdueCallCoordinator,
            N::ConcernNotDelivered => Self::ConcernNotDelivered,
        }
    }
}

impl CareNotice {
    fn to_core(self) -> sebaya_core::care::CareNotice {
        use sebaya_core::care::CareNotice as N;
        match self {
            Self::NotToldYet => N::NotToldYet,
            Self::SentNoAnswer => N::SentNoAnswer,
            Self::Told => N::Told,
            Self::ReferralFailed => N::ReferralFailed,
            Self::NoOneToldNoConsent => N::NoOneToldNoConsent,
            Self::NoOneToldNoProgramme => N::NoOneToldNoProgramme,
            Self::NoCoordinatorYet => N::NoCoordinatorYet,
            Self::Overdue => N::Overdue,
            Self::OverdueCallCoordinator => N::OverdueCallCoordinator,
            Self::ConcernNotDelivered => N::ConcernNotDelivered,
        }
    }
}

/// Where a care record stands on who will receive its referrals (issue 14, item 2), computed on
/// this device: a warning to show at enrolment and on the record, never a gate. Text:
/// `localized_message(on_call_message_id(state))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum OnCallState {
    /// At least two on call hold `coordinator` now, and the record reaches at least two.
    Ready,
    /// The programme has named no on-call coordinators (that this device knows).
    NotDeclared,
    /// The on-call list names fewer than two persons holding `coordinator` now.
    FewerThanTwoOnCall,
    /// The record reaches fewer than two coordinators: add the on-call coordinators to it.
    FewerThanTwoReached,
}

impl From<sebaya_core::care::OnCallState> for OnCallState {
    fn from(s: sebaya_core::care::OnCallState) -> Self {
        use sebaya_core::care::OnCallState as S;
        match s {
            S::Ready => Self::Ready,
            S::NotDeclared => Self::NotDeclared,
            S::FewerThanTwoOnCall => Self::FewerThanTwoOnCall,
            S::FewerThanTwoReached => Self::FewerThanTwoReached,
        }
    }
}

impl OnCallState {
    fn to_core(self) -> sebaya_core::care::OnCallState {
        use sebaya_core::care::OnCallState as S;
        match self {
            Self::Ready => S::Ready,
            Self::NotDeclared => S::NotDeclared,
            Self::FewerThanTwoOnCall => S::FewerThanTwoOnCall,
            Self::FewerThanTwoReached => S::FewerThanTwoReached,
        }
    }
}

/// The message id of an on-call state, for `localized_message`, in Indonesian and English.
#[uniffi::export]
pub fn on_call_message_id(state: OnCallState) -> String {
    state.to_core().message_id().to_string()
}

/// The message id of a notice, for `localized_message`: the text comes from the core's
/// catalogues, so every app words it the same, in Indonesian and English.
#[uniffi::export]
pub fn notice_message_id(notice: CareNotice) -> String {
    notice.to_core().message_id().to_string()
}

/// Where a kept training record stands now, computed on this device: no `Unknown`. Label:
/// `localized_message("training-status-" + current|expired|withdrawn)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TrainingStatus {
    /// It counts now.
    Current,
    /// Its time is over.
    Expired,
    /// Its issuer's grant was revoked: it proves nothing.
    Withdrawn,
}

impl From<sebaya_core::care::training::TrainingStatus> for TrainingStatus {
    fn from(s: sebaya_core::care::training::TrainingStatus) -> Self {
        use sebaya_core::care::training::TrainingStatus as S;
        match s {
            S::Current => Self::Current,
            S::Expired => Self::Expired,
            S::Withdrawn => Self::Withdrawn,
        }
    }
}

/// Why a required module does not count, computed on this device: no `Unknown`. Label:
/// `localized_message("training-status-" + missing|expired)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ShortfallReason {
    /// Never certified.
    Missing,
    /// Certified, expired.
    Expired,
}

impl From<sebaya_core::care::training::Shortfall> for ShortfallReason {
    fn from(s: sebaya_core::care::training::Shortfall) -> Self {
        match s {
            sebaya_core::care::training::Shortfall::Missing => Self::Missing,
            sebaya_core::care::training::Shortfall::Expired => Self::Expired,
        }
    }
}

open_enum! {
    /// A training module (records are synced): has `Unknown`, which the core refuses as input
    /// (`InvalidInput`). Name: `localized_message("training-module-" + id)`.
    TrainingModule {
        /// Psychological first aid.
        Pfa = "pfa",
        /// Active listening.
        ActiveListening = "active-listening",
        /// Boundaries.
        Boundaries = "boundaries",
        /// Risk and referral.
        RiskReferral = "risk-referral",
        /// Self-care.
        SelfCare = "self-care",
        /// Group facilitation: what running a programme group's sessions takes.
        GroupFacilitation = "group-facilitation",
    }
}

open_enum! {
    /// Where an invite stands in its space's log (synced): has `Unknown`.
    InviteStatus {
        /// Admits one device still.
        Open = "open",
        /// Admitted someone (`InviteState.admitted`).
        Spent = "spent",
        /// An admin revoked it.
        Revoked = "revoked",
    }
}

/// Where a join this device asked for stands, kept on this device only: no `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum JoinStatus {
    /// Waiting for an admin.
    Waiting,
    /// Refused (`PendingJoin.refused_reason` says why).
    Refused,
}

open_enum! {
    /// What a participant shared with their supporter (synced): has `Unknown`.
    SharedItemKind {
        /// One journal entry.
        JournalEntry = "journal-entry",
        /// A summary of the check-ins.
        CheckinSummary = "checkin-summary",
        /// The safety plan, as text.
        SafetyPlan = "safety-plan",
    }
}

open_enum! {
    /// A section of the safety plan, in the order shown (the plan syncs between a person's
    /// devices): has `Unknown`, which the core refuses as input (`InvalidInput`).
    SafetyStep {
        /// 1. Signs that a hard moment is coming.
        WarningSigns = "warning-signs",
        /// 2. Things to do alone to cope.
        CopingAlone = "coping-alone",
        /// 3. People and places that distract.
        Distractions = "distractions",
        /// 4. People to ask for help.
        HelpPeople = "help-people",
        /// 5. Professionals and crisis lines.
        Professionals = "professionals",
        /// 6. Making surroundings safer.
        SaferSurroundings = "safer-surroundings",
        /// What matters most.
        WhatMatters = "what-matters",
    }
}

impl SafetyStep {
    /// The core's step; `Unknown` is `InvalidInput`.
    pub(crate) fn to_core(&self) -> Result<sebaya_core::care::safety::Step> {
        Ok(sebaya_core::care::safety::Step::from_id(self.id())?)
    }
}

impl From<sebaya_core::care::safety::Step> for SafetyStep {
    fn from(s: sebaya_core::care::safety::Step) -> Self {
        Self::from_id(s.id())
    }
}

impl From<sebaya_core::care::instruments::RiskFlag> for RiskFlag {
    fn from(r: sebaya_core::care::instruments::RiskFlag) -> Self {
        use sebaya_core::care::instruments::RiskFlag as R;
        match r {
            R::Phq9Item9 => Self::Phq9Item9,
            R::Srq20Item17 => Self::Srq20Item17,
        }
    }
}

open_enum! {
    /// How a member attended a group session (synced): has `Unknown`, which
    /// `Groups.set_attendance` refuses (`InvalidInput`).
    Attendance {
        /// Was there.
        Present = "present",
        /// Was not there.
        Absent = "absent",
        /// Was not there, with a reason the facilitator accepted.
        Excused = "excused",
    }
}

impl Attendance {
    /// The core's attendance; `Unknown` is `InvalidInput`.
    pub(crate) fn to_core(&self) -> Result<sebaya_core::groups::Attendance> {
        use sebaya_core::groups::Attendance as A;
        match self {
            Self::Present => Ok(A::Present),
            Self::Absent => Ok(A::Absent),
            Self::Excused => Ok(A::Excused),
            Self::Unknown { .. } => Err(SebayaError::from(sebaya_core::Error::InvalidInput(
                "attendance must be present, absent or excused".into(),
            ))),
        }
    }
}

impl From<sebaya_core::groups::Attendance> for Attendance {
    fn from(a: sebaya_core::groups::Attendance) -> Self {
        use sebaya_core::groups::Attendance as A;
        match a {
            A::Present => Self::Present,
            A::Absent => Self::Absent,
            A::Excused => Self::Excused,
        }
    }
}

open_enum! {
    /// Why a member reports (issue 18, item 2; protocol 31): shown with
    /// `localized_message("report-reason-" + its id)`. Read from synced reports: has `Unknown`.
    ReportReason {
        /// Harassing or bullying.
        Harassment = "harassment",
        /// Hateful about who someone is.
        Hateful = "hateful",
        /// Advice that could hurt someone.
        UnsafeAdvice = "unsafe-advice",
        /// Sharing someone's private information.
        PrivateInformation = "private-information",
        /// The reporter is worried about the member.
        WorriedAboutThem = "worried-about-them",
        /// Something else (say what in the words).
        Other = "other",
        /// Not a report: a member was blocked (the facilitator's notice); never given to `report`.
        Blocked = "blocked",
    }
}

open_enum! {
    /// What a report is about. Read from synced reports: has `Unknown`.
    ReportTarget {
        /// A group's note (its id).
        Note = "note",
        /// A pairing's message (its id).
        Message = "message",
        /// A member (their device id).
        Member = "member",
    }
}

open_enum! {
    /// Whom a report is for. Read from synced reports: has `Unknown`.
    ReportRoute {
        /// The group's facilitator and the programme's coordinators.
        FacilitatorAndCoordinators = "facilitator-and-coordinators",
        /// The coordinators alone (a report about the facilitator or the supporter).
        Coordinators = "coordinators",
    }
}

#[cfg(test)]
mod tests {
    //! The string tables above must match what the core stores and sends, or a known value would
    //! arrive as `Unknown`: each is checked against the core's own list where it has one.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn every_care_notice_has_a_text_in_both_languages() {
        for n in [
            CareNotice::NotToldYet,
            CareNotice::SentNoAnswer,
            CareNotice::Told,
            CareNotice::ReferralFailed,
            CareNotice::NoOneToldNoConsent,
            CareNotice::NoOneToldNoProgramme,
            CareNotice::NoCoordinatorYet,
            CareNotice::Overdue,
            CareNotice::OverdueCallCoordinator,
            CareNotice::ConcernNotDelivered,
        ] {
            assert_eq!(CareNotice::from(n.to_core()), n);
            let id = notice_message_id(n);
            for locale in ["en", "id"] {
                assert_ne!(sebaya_core::i18n::message(locale, &id, &[]), id);
            }
        }
    }

    #[test]
    fn known_ids_round_trip_and_others_are_unknown_never_refused() {
        for id in sebaya_core::care::PURPOSES {
            assert_eq!(ConsentPurpose::from_id(id).id(), id);
            assert!(!matches!(
                ConsentPurpose::from_id(id),
                ConsentPurpose::Unknown { .. }
            ));
        }
        for id in sebaya_core::care::ORIGINS {
            assert!(
                !matches!(ReferralOrigin::from_id(id), ReferralOrigin::Unknown { .. }),
                "{id}"
            );
        }
        for id in sebaya_core::care::REASONS {
            assert_eq!(ReferralReason::from_id(id).id(), id);
            assert!(
                !matches!(ReferralReason::from_id(id), ReferralReason::Unknown { .. }),
                "{id}"
            );
        }
        for id in sebaya_core::care::STATES.iter().chain(&["queued", "sent"]) {
            assert!(
                !matches!(ReferralState::from_id(id), ReferralState::Unknown { .. }),
                "{id}"
            );
        }
        for id in sebaya_core::care::training::required_training() {
            assert!(
                !matches!(TrainingModule::from_id(id), TrainingModule::Unknown { .. }),
                "{id}"
            );
        }
        for s in sebaya_core::care::safety::Step::ALL {
            let ours = SafetyStep::from(s);
            assert_eq!(ours.id(), s.id());
            assert_eq!(ours.to_core().unwrap(), s);
        }
        for i in ["phq9", "gad7", "who5", "srq20"] {
            let core = sebaya_core::care::instruments::Instrument::from_id(i).unwrap();
            assert_eq!(Instrument::from(core), Instrument::from_id(i));
            assert_eq!(Instrument::from_id(i).to_core().unwrap(), core);
        }
        for k in ["crisis-line", "emergency", "protection", "other"] {
            assert!(!matches!(
                CrisisResourceKind::from_id(k),
                CrisisResourceKind::Unknown { .. }
            ));
        }
        for c in ["phone", "whatsapp", "sms", "web"] {
            assert_eq!(CrisisChannel::from_id(c).id(), c);
            assert!(!matches!(
                CrisisChannel::from_id(c),
                CrisisChannel::Unknown { .. }
            ));
        }
        for r in sebaya_core::care::built_in_resources("id") {
            assert!(!matches!(
                CrisisResourceKind::from_id(&r.kind),
                CrisisResourceKind::Unknown { .. }
            ));
            assert!(!matches!(
                CrisisChannel::from_id(&r.channel),
                CrisisChannel::Unknown { .. }
            ));
        }
        // A value from a newer app version is kept as it is, and passed back unchanged.
        let newer = SpaceKind::from_id("circle");
        assert_eq!(
            newer,
            SpaceKind::Unknown {
                raw: "circle".into()
            }
        );
        assert_eq!(newer.id(), "circle");
        // As input, the core refuses what it does not know (no panic, a typed error).
        assert!(matches!(
            SafetyStep::from_id("no-such-step").to_core(),
            Err(SebayaError::InvalidInput { .. })
        ));
        assert!(matches!(
            ProgrammeRole::Unknown {
                raw: "therapist".into()
            }
            .to_core(),
            Err(SebayaError::InvalidInput { .. })
        ));
        assert!(matches!(
            Attendance::Unknown { raw: "late".into() }.to_core(),
            Err(SebayaError::InvalidInput { .. })
        ));
    }
}

/// What a reminder is for (issue 18, item 4). The core skips kinds it does not know, so this
/// device computes the value from a closed Rust enum: no `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ReminderKind {
    /// A check-in cadence in a pairing, agreed by the pair (repeats).
    Cadence,
    /// A session's date (in a group: its sessions, read as reminders).
    Session,
    /// A task agreed between sessions (PM+ homework).
    Task,
    /// A supporter's follow-up on a pairing (the supporter's side writes it and is told of it).
    FollowUp,
}

impl From<ReminderKind> for sebaya_core::reminders::ReminderKind {
    fn from(k: ReminderKind) -> Self {
        match k {
            ReminderKind::Cadence => Self::Cadence,
            ReminderKind::Session => Self::Session,
            ReminderKind::Task => Self::Task,
            ReminderKind::FollowUp => Self::FollowUp,
        }
    }
}

impl From<sebaya_core::reminders::ReminderKind> for ReminderKind {
    fn from(k: sebaya_core::reminders::ReminderKind) -> Self {
        use sebaya_core::reminders::ReminderKind as K;
        match k {
            K::Cadence => Self::Cadence,
            K::Session => Self::Session,
            K::Task => Self::Task,
            K::FollowUp => Self::FollowUp,
        }
    }
}

/// Whose devices a reminder notifies. No `Unknown`: the core skips values it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ReminderFor {
    /// Every member.
    Everyone,
    /// The pairing's participant.
    Participant,
    /// The pairing's supporter.
    Supporter,
}

impl From<ReminderFor> for sebaya_core::reminders::ReminderFor {
    fn from(k: ReminderFor) -> Self {
        match k {
            ReminderFor::Everyone => Self::Everyone,
            ReminderFor::Participant => Self::Participant,
            ReminderFor::Supporter => Self::Supporter,
        }
    }
}

impl From<sebaya_core::reminders::ReminderFor> for ReminderFor {
    fn from(k: sebaya_core::reminders::ReminderFor) -> Self {
        use sebaya_core::reminders::ReminderFor as F;
        match k {
            F::Everyone => Self::Everyone,
            F::Participant => Self::Participant,
            F::Supporter => Self::Supporter,
        }
    }
}
