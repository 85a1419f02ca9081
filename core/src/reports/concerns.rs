//! Safeguarding concerns in a programme's report (review M5).
//!
//! A concern lives in the programme's safeguarding space, not in a care record, so the referral rows
//! never counted it. A coordinator's device publishes nothing for it: it reads the space it holds
//! (`inputs.rs`), one record per concern with no more than the report needs (its id to count it
//! once, when it was raised, when a coordinator first recorded a state, the deadline it carries),
//! never the care record or the person it is about, and the report counts them with the same
//! small-cell suppression as every other count.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MetricValue, Rows, check_pseudonym, percentile};

/// A safeguarding concern as a report counts it (inputs schema `sebaya-report-inputs/2`): nothing
/// about whom it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernRecord {
    /// The concern's id (the same concern read twice counts once).
    pub id: String,
    /// When it was raised, ms.
    pub created_ms: i64,
    /// When a coordinator first recorded a state for it (acknowledged, in care or closed), ms.
    pub acknowledged_ms: Option<i64>,
    /// The acknowledgement deadline it is overdue by, hours (1 to 168): the one it carries, else as
    /// the coordinator's device reckons it (`Concern::deadline_hours`).
    pub deadline_hours: u32,
}

/// Adds the concerns' rows for `[start_ms, end_ms)`; returns how many records were rejected.
/// Counted by when a concern was raised; overdue when its first state came after its deadline, or
/// none came and the deadline had passed by the period's end.
pub(super) fn add_rows(
    rows: &mut Rows,
    concerns: &[ConcernRecord],
    start_ms: i64,
    end_ms: i64,
) -> u64 {
    let mut rejected = 0u64;
    let mut kept: BTreeMap<&str, &ConcernRecord> = BTreeMap::new();
    for c in concerns {
        let ok = check_pseudonym(&c.id)
            && (1..=crate::care::MAX_ACK_HOURS).contains(&c.deadline_hours)
            && c.acknowledged_ms.is_none_or(|a| a >= c.created_ms);
        if !ok {
            rejected += 1;
        } else if start_ms <= c.created_ms && c.created_ms < end_ms {
            let keep = match kept.get(c.id.as_str()) {
                Some(prev) => !(prev.acknowledged_ms.is_some() && c.acknowledged_ms.is_none()),
                None => true,
            };
            if keep {
                kept.insert(c.id.as_str(), c);
            }
        }
    }
    let mut ack_times: Vec<u64> = Vec::new();
    let mut overdue = 0u64;
    for c in kept.values() {
        let deadline = c
            .created_ms
            .saturating_add(i64::from(c.deadline_hours) * 3_600_000);
        if let Some(a) = c.acknowledged_ms {
            ack_times.push(u64::try_from(a.saturating_sub(c.created_ms)).unwrap_or(0));
        }
        if c.acknowledged_ms.unwrap_or(end_ms) > deadline {
            overdue += 1;
        }
    }
    crate::order::sort(&mut ack_times);
    let raised = kept.len() as u64;
    let acknowledged = ack_times.len() as u64;
    rows.count("concerns.raised", raised);
    rows.count("concerns.acknowledged", acknowledged);
    rows.count("concerns.unacknowledged", raised - acknowledged);
    rows.count("concerns.overdue", overdue);
    rows.stat(
        "concerns.ack_time_median_ms",
        percentile(&ack_times, 50).map(MetricValue::Count),
        acknowledged,
    );
    rows.stat(
        "concerns.ack_time_p90_ms",
        percentile(&ack_times, 90).map(MetricValue::Count),
        acknowledged,
    );
    rows.protect(
        "concerns.raised",
        &[
            "concerns.acknowledged".to_string(),
            "concerns.unacknowledged".to_string(),
        ],
        &[],
    );
    // Those in time are never shown, but raised minus overdue would give them.
    rows.protect(
        "concerns.raised",
        &["concerns.overdue".to_string()],
        &[raised - overdue],
    );
    rejected
}
