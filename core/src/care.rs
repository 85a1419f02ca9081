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
//!   A risk rule's has `reason: "sealed"` and the rule sealed for the coordinators' devices
//!   (`epoch`, `sealed`, `wraps`; `reason.rs`).
//! - `"states"`: map id -> `{ referral: str (id), state: str, by: str (device), at: ms }`: a
//!   coordinator's acknowledgement and later states, written only by a member holding the
//!   `coordinator` role of the programme (`Need::With`).
//! - `"outcomes"`: map id -> `{ instrument: str, first: int, first_at: ms, latest: int, latest_at:
//!   ms }`: the participant's first and latest totals, published by their own devices while their
//!   `report-outcomes` consent stands (`reports/inputs.rs`); never answers.
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
//!
//! One idea a file: `record.rs` (the document, referrals and states in it, enrolment, the list of
//! care records), `consent.rs` (purposes, the ledger, whether a purpose stands), `escalation.rs`
//! (screening or a call for help to referrals, and referrals as people follow them),
//! `screening.rs` (totals kept in the journal), `resources.rs` (crisis numbers), `oncall.rs` (who
//! is there to receive a referral: coordinators reached, the on-call list, the deadline, the
//! caseload), `reason.rs` (a rule referral's reason sealed for coordinators). Around the record:
//! `instruments.rs` (scoring PHQ-9, GAD-7, WHO-5, SRQ-20) and `wordings.rs` (their texts as data),
//! `safety.rs` (the participant's safety plan), `programmes.rs` (programme roles held here),
//! `training.rs` (the training register) and `joining.rs` (duty of care as a condition of joining).

mod concerns;
mod consent;
mod escalation;
pub mod instruments;
pub(crate) mod joining;
#[cfg(test)]
mod joining_tests;
mod oncall;
pub(crate) mod outcomes;
pub mod programme_instruments;
mod programme_settings;
pub mod programmes;
mod reason;
mod record;
mod resources;
pub mod safety;
mod screening;
pub mod training;
pub mod wordings;

pub use concerns::{CONCERN_REASON, Concern};
pub use consent::{
    ConsentRecord, Exception, MINOR_KEY, PAIRING_PURPOSE, PURPOSES, SHARE_PURPOSE, add_consent,
    add_consent_with_form, consent_version, consented, consents, exceptions, guardian_allows,
    guardian_allows_pairing, guardian_consented, is_minor,
};
pub use escalation::{CareNotice, Escalation, ReferralView};
pub(crate) use escalation::{LEGACY_CONCERN, genuine};
pub use joining::{DUTY_OF_CARE_KEY, LIMITS_TEXT};
pub use oncall::{
    DEFAULT_ACK_HOURS, MAX_ACK_HOURS, MAX_ON_CALL, MIN_ON_CALL, OnCallState, OnCallStatus,
    ack_hours,
};
pub use programme_settings::{DEFAULT_SRQ20_CITATION, Srq20Settings};
pub use reason::SEALED_REASON;
pub(crate) use record::new_id;
pub use record::{
    CareInfo, ORIGINS, REASONS, Referral, STATES, StateRecord, add_referral, add_state, init,
    referrals, resources, states,
};
pub use resources::{
    CrisisResource, EmergencyHelp, FALLBACK_COUNTRY, MAX_RESOURCES_JSON, built_in_resources,
    emergency_help, parse_resources, with_national_numbers,
};
pub use screening::{SCREENING_PREFIX, ScreeningRecord, Used, screenings};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::record::{SPACE, stage_times};
    use super::resources::check_country;
    use super::screening::store_screening;
    use super::*;
    use crate::care::instruments::Instrument;
    use crate::error::Error;
    use crate::space::doc::container_in;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType};

    const P: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const D: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn doc() -> AutoCommit {
        let mut d = AutoCommit::new();
        init(&mut d, P, 1_000).unwrap();
        d
    }

    /// A referral whose origin and reason this version does not know (written by a newer app) is
    /// still read, never dropped: an older coordinator app must not lose a risk signal.
    /// Issue 14, item 4: the expected response time is stated from the programme's deadline, in
    /// both languages, with the reminder that coordinators are not an emergency service.
    #[test]
    fn the_expected_response_time_is_stated_in_both_languages() {
        let d = doc();
        let hours = ack_hours(&d).to_string();
        for locale in ["en", "id"] {
            let text =
                crate::i18n::message(locale, "care-response-time", &[("detail", hours.as_str())]);
            assert!(text.contains("24"), "{text}");
            assert_ne!(text, "care-response-time");
        }
    }

    #[test]
    fn a_referral_of_a_newer_kind_is_read_not_dropped() {
        let mut d = doc();
        let c = container_in(&d, "referrals", SPACE).unwrap();
        let r = d.put_object(&c, "00000000000000c1", ObjType::Map).unwrap();
        for (k, v) in [
            ("origin", "future-origin"),
            ("reason", "future-reason"),
            ("by", &"ab".repeat(32)[..]),
        ] {
            d.put(&r, k, v).unwrap();
        }
        d.put(&r, "at", 5_i64).unwrap();
        let got = referrals(&d);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].origin, "future-origin");
        // Junk is still not a referral.
        let r = d.put_object(&c, "00000000000000c2", ObjType::Map).unwrap();
        d.put(&r, "origin", "x".repeat(200)).unwrap();
        d.put(&r, "reason", "help-now").unwrap();
        d.put(&r, "by", "ab".repeat(32)).unwrap();
        d.put(&r, "at", 6_i64).unwrap();
        assert_eq!(referrals(&d).len(), 1);
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
        assert_eq!(built_in_resources("ID"), built_in_resources("id"));
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
        ] {
            assert!(parse_resources(bad).is_err(), "{bad}");
        }
        assert!(parse_resources(&"x".repeat(MAX_RESOURCES_JSON + 1)).is_err());
        // A field a newer app adds is ignored, not refused: an older app still shows the lines
        // (it used to refuse the whole list and fall back to the built-in one).
        let newer = r#"[{"kind":"emergency","name":"x","number":"1","extra":1}]"#;
        assert_eq!(parse_resources(newer).unwrap()[0].number, "1");
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
        let s = crate::care::instruments::score(Instrument::Phq9, &[1, 1, 1, 1, 1, 1, 1, 1, 1])
            .unwrap();
        let risk: Vec<String> = s.risk.iter().map(|f| f.id().to_string()).collect();
        let used = Used {
            version: "v".into(),
            language: Some("en".into()),
            wording: Some("builtin:phq9/en".into()),
        };
        let kept = super::screening::Kept {
            instrument: "phq9",
            total: s.total,
            risk: &risk,
            used: &used,
        };
        store_screening(&mut j, "00000000000000d1", &kept, 7_000).unwrap();
        let got = screenings(&j);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].total, 9);
        assert_eq!(got[0].risk, vec!["phq9-item9".to_string()]);
        assert_eq!(got[0].wording.as_deref(), Some("builtin:phq9/en"));
        assert_eq!(got[0].instrument_version.as_deref(), Some("v"));
        // A record kept before issue 14 item 8 (no version, language or wording) still reads.
        j.put_object(automerge::ROOT, "screening/00000000000000d2", ObjType::Map)
            .and_then(|r| {
                j.put(&r, "instrument", "srq20")?;
                j.put(&r, "total", 7_i64)?;
                j.put(&r, "risk", "")?;
                j.put(&r, "at", 8_000_i64)
            })
            .unwrap();
        let got = screenings(&j);
        assert_eq!(got.len(), 2);
        assert_eq!((got[1].instrument.as_str(), got[1].total), ("srq20", 7));
        assert_eq!(
            (
                &got[1].instrument_version,
                &got[1].language,
                &got[1].wording
            ),
            (&None, &None, &None)
        );
        // The journal's own list ignores it.
        assert!(crate::journal::list(&j).is_empty());
    }
}
