//! Safeguarding concerns in a programme's report (review M5): counted by when they were raised,
//! overdue by the deadline each carries, small cells suppressed as every other count.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
const START: i64 = 1_700_000_000_000;
const END: i64 = START + 30 * DAY;

fn concern(id: &str, created: i64, ack: Option<i64>, hours: u32) -> ConcernRecord {
    ConcernRecord {
        id: id.into(),
        created_ms: created,
        acknowledged_ms: ack,
        deadline_hours: hours,
    }
}

fn count(r: &ProgrammeReport, id: &str) -> Option<u64> {
    match r.get(id).unwrap_or_else(|| panic!("no metric {id}")).value {
        Some(MetricValue::Count(c)) => Some(c),
        Some(MetricValue::Number(_)) => panic!("{id} is not a count"),
        None => None,
    }
}

#[test]
fn concerns_are_counted_with_their_own_deadline_and_suppressed_when_small() {
    let mut concerns = Vec::new();
    // Five acknowledged within the hour, five a day and a quarter late (past 24 hours, within a
    // deadline of 48), five never (overdue by the period's end).
    for i in 0..5 {
        let at = START + i * HOUR;
        concerns.push(concern(&format!("a{i}"), at, Some(at + HOUR), 24));
        concerns.push(concern(&format!("b{i}"), at, Some(at + 30 * HOUR), 24));
        concerns.push(concern(&format!("c{i}"), at, None, 24));
    }
    // Late by the default, in time by its own deadline.
    concerns.push(concern("d0", START, Some(START + 30 * HOUR), 48));
    // The same concern twice (two devices' copies): once, the acknowledged copy kept.
    concerns.push(concern("a0", START, None, 24));
    // Outside the period; and impossible ones (rejected).
    concerns.push(concern("e0", END, None, 24));
    concerns.push(concern("bad id!", START, None, 24));
    concerns.push(concern("f0", START, Some(START - 1), 24));
    concerns.push(concern("f1", START, None, 0));
    concerns.push(concern("f2", START, None, 169));
    let inputs = ReportInputs {
        concerns,
        ..ReportInputs::default()
    };
    let r = build(&inputs, START, END).unwrap();
    assert_eq!(count(&r, "concerns.raised"), Some(16));
    assert_eq!(count(&r, "concerns.acknowledged"), Some(11));
    assert_eq!(count(&r, "concerns.unacknowledged"), Some(5));
    assert_eq!(count(&r, "concerns.overdue"), Some(10));
    // Nearest rank over 11: 5 × 1 h, then 6 × 30 h.
    assert_eq!(
        count(&r, "concerns.ack_time_median_ms"),
        Some(30 * HOUR as u64)
    );
    assert_eq!(
        count(&r, "concerns.ack_time_p90_ms"),
        Some(30 * HOUR as u64)
    );
    assert_eq!(r.rejected_records, 4);
    // A concern still open whose deadline runs past the period's end is not (yet) overdue.
    let open = ReportInputs {
        concerns: (0..5)
            .map(|i| concern(&format!("o{i}"), END - HOUR, None, 24))
            .collect(),
        ..ReportInputs::default()
    };
    let r = build(&open, START, END).unwrap();
    assert_eq!(count(&r, "concerns.raised"), Some(5));
    assert_eq!(count(&r, "concerns.overdue"), None, "0: suppressed");
}

#[test]
fn a_small_part_of_the_concerns_is_never_left_to_subtraction() {
    // Seven raised, six acknowledged, one not: the one is suppressed, and so is the acknowledged
    // count (else 7 - 6 gives it back).
    let mut concerns: Vec<_> = (0..6)
        .map(|i| concern(&format!("a{i}"), START, Some(START + HOUR), 24))
        .collect();
    concerns.push(concern("u0", START, None, 24));
    let r = build(
        &ReportInputs {
            concerns,
            ..ReportInputs::default()
        },
        START,
        END,
    )
    .unwrap();
    assert_eq!(count(&r, "concerns.raised"), Some(7));
    assert_eq!(count(&r, "concerns.unacknowledged"), None);
    assert_eq!(count(&r, "concerns.acknowledged"), None);
    // One overdue: suppressed; the on-time six are never shown, so nothing gives it back.
    assert_eq!(count(&r, "concerns.overdue"), None);
    // Four raised: nothing shown at all.
    let r = build(
        &ReportInputs {
            concerns: (0..4)
                .map(|i| concern(&format!("a{i}"), START, Some(START + HOUR), 24))
                .collect(),
            ..ReportInputs::default()
        },
        START,
        END,
    )
    .unwrap();
    assert!(
        r.metrics
            .iter()
            .filter(|m| m.id.starts_with("concerns."))
            .all(|m| m.value.is_none())
    );
}

#[test]
fn the_concern_rows_have_labels_in_both_languages_and_the_inputs_a_version() {
    let r = build(&ReportInputs::default(), START, END).unwrap();
    for m in r.metrics.iter().filter(|m| m.id.starts_with("concerns.")) {
        for locale in ["id", "en"] {
            let label = metric_label(&m.id, locale);
            assert!(!label.starts_with("report-"), "{} in {locale}", m.id);
        }
    }
    assert_ne!(
        metric_label("concerns.raised", "id"),
        metric_label("concerns.raised", "en")
    );
    // Version 1 inputs still read; concerns come only with version 2.
    let v1 = r#"{"schema":"sebaya-report-inputs/1","referrals":[]}"#;
    assert!(ReportInputs::from_json(v1).unwrap().concerns.is_empty());
    let v1_with = r#"{"schema":"sebaya-report-inputs/1","concerns":[{"id":"a1","created_ms":1,"acknowledged_ms":null,"deadline_hours":24}]}"#;
    assert!(matches!(
        ReportInputs::from_json(v1_with),
        Err(Error::InvalidInput(_))
    ));
    let v2 = r#"{"schema":"sebaya-report-inputs/2","concerns":[{"id":"a1","created_ms":1,"acknowledged_ms":null,"deadline_hours":24}]}"#;
    assert_eq!(ReportInputs::from_json(v2).unwrap().concerns.len(), 1);
    // A concern record holds nothing about whom it is about.
    let extra = r#"{"schema":"sebaya-report-inputs/2","concerns":[{"id":"a1","created_ms":1,"acknowledged_ms":null,"deadline_hours":24,"care":"c1"}]}"#;
    assert!(ReportInputs::from_json(extra).is_err());
}
