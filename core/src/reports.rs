//! Programme reports (issue 4): what a programme shows schools, NGOs and funders, computed from the
//! counts and flags devices publish, never from content (care.md, "Why programmes need reports").
//!
//! Pure code, no storage. Inputs (schema `sebaya-report-inputs/1`) are what devices publish:
//! facilitators' session records, pairings' activity records, referral records and consenting
//! participants' outcome records (first and latest totals, never answers). [`build`] turns them into a
//! [`ProgrammeReport`] for a period `[start, end)`, exported as CSV or JSON with locale-independent
//! metric ids; [`metric_label`] gives each id's label in Indonesian or English.
//!
//! Small cells: any count under [`MIN_CELL`] (0 to 4) and any statistic computed from fewer than
//! [`MIN_CELL`] people or records is suppressed (JSON `null` and listed under `suppressed`; CSV `<5`).
//! Complementary disclosure is handled for every group of counts that partitions a shown total (the
//! referral states, the referral origins, acknowledged and unacknowledged referrals, improved
//! participants within an outcome's n): when a total minus the shown cells would reveal a single
//! small cell, the next smallest cell is suppressed too. What stays knowable is the sum of two or more
//! suppressed cells, never one of them. See `docs/care-data.md`.
//!
//! Where the inputs come from (the report space, the care records, publishing on each device) is
//! `reports/inputs.rs`; this file only builds the report from them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::i18n;

pub mod concerns;
#[cfg(test)]
mod concerns_tests;
pub mod inputs;

pub use concerns::ConcernRecord;

/// The schema id of the inputs before they held safeguarding concerns (still read).
pub const INPUT_SCHEMA_V1: &str = "sebaya-report-inputs/1";
/// The schema id of the inputs: version 1 and `concerns` (review M5).
pub const INPUT_SCHEMA_V2: &str = "sebaya-report-inputs/2";
/// The schema id of the JSON export.
pub const REPORT_SCHEMA_V1: &str = "sebaya-report/1";
/// Smallest count shown; anything under it is suppressed.
pub const MIN_CELL: u64 = 5;
/// Largest inputs JSON accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;
/// What CSV shows for a suppressed cell.
pub const CSV_SUPPRESSED: &str = "<5";

/// PHQ-9: a fall of at least 5 points counts as a meaningful improvement (the minimal clinically
/// important difference in Löwe B, Unützer J, Callahan CM, Perkins AJ, Kroenke K. Monitoring
/// depression treatment outcomes with the Patient Health Questionnaire-9. Med Care
/// 2004;42(12):1194-1201).
pub const PHQ9_IMPROVEMENT: i64 = 5;
/// GAD-7: a fall of at least 4 points (the minimal clinically important difference in Toussaint A,
/// Hüsing P, Gumz A, et al. Sensitivity to change and minimal clinically important difference of the
/// 7-item Generalized Anxiety Disorder Questionnaire (GAD-7). J Affect Disord 2020;265:395-401).
pub const GAD7_IMPROVEMENT: i64 = 4;
/// WHO-5: a rise of at least 10 percentage points (care.md: "a change of 10 percentage points is
/// meaningful"). Percentages are raw × 4, so this is a raw rise of 3 or more (2 raw points are only 8).
pub const WHO5_IMPROVEMENT_PCT: i64 = 10;

/// A facilitator's record of one group session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRecord {
    /// The group's pseudonymous id.
    pub group: String,
    /// When the session was held, ms since the Unix epoch.
    pub at_ms: i64,
    /// How many members attended.
    pub attended: u32,
    /// How many members were absent.
    pub absent: u32,
}

/// A pairing's activity over a stretch of time (a week, a month).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingActivity {
    /// The pairing's pseudonymous id.
    pub pairing: String,
    /// Start of the stretch, ms (inclusive).
    pub period_start_ms: i64,
    /// End of the stretch, ms (exclusive).
    pub period_end_ms: i64,
    /// Whether the pairing was active then.
    pub active: bool,
    /// Check-ins over the stretch.
    pub checkins: u32,
}

/// A referral's state as its devices publish it (no content, no names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralRecord {
    /// The referral's pseudonymous id (the same referral published twice counts once).
    pub id: String,
    /// When it was made, ms.
    pub created_ms: i64,
    /// When a professional acknowledged it, ms; `None` while unacknowledged.
    pub acknowledged_ms: Option<i64>,
    /// Its state id (`open`, `acknowledged`, `closed`…: lowercase letters, digits, `-`).
    pub state: String,
    /// Its origin category (`phq9-item9`, `supporter`, `self`…: same alphabet).
    pub origin: String,
}

/// A consenting participant's first and latest totals on one instrument (never the answers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRecord {
    /// The participant's pseudonym (per programme).
    pub participant: String,
    /// `phq9`, `gad7` or `who5` (WHO-5 as its raw 0–25 total).
    pub instrument: String,
    /// First total.
    pub first_total: u32,
    /// When the first total was taken, ms.
    pub first_ms: i64,
    /// Latest total.
    pub latest_total: u32,
    /// When the latest total was taken, ms.
    pub latest_ms: i64,
}

/// Everything a report is computed from (schema `sebaya-report-inputs/2`; `/1` without concerns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInputs {
    /// [`INPUT_SCHEMA_V2`], or [`INPUT_SCHEMA_V1`] without concerns.
    pub schema: String,
    /// Session records.
    #[serde(default)]
    pub sessions: Vec<SessionRecord>,
    /// Pairing activity records.
    #[serde(default)]
    pub pairings: Vec<PairingActivity>,
    /// Referral records.
    #[serde(default)]
    pub referrals: Vec<ReferralRecord>,
    /// Outcome records.
    #[serde(default)]
    pub outcomes: Vec<OutcomeRecord>,
    /// Safeguarding concerns (version 2).
    #[serde(default)]
    pub concerns: Vec<ConcernRecord>,
}

impl Default for ReportInputs {
    fn default() -> Self {
        ReportInputs {
            schema: INPUT_SCHEMA_V2.into(),
            sessions: Vec::new(),
            pairings: Vec::new(),
            referrals: Vec::new(),
            outcomes: Vec::new(),
            concerns: Vec::new(),
        }
    }
}

impl ReportInputs {
    /// Reads inputs from JSON; malformed JSON, unknown fields, another schema or an oversized text
    /// are [`Error::InvalidInput`]. (Individual records that do not check are skipped by [`build`]
    /// and counted, so one buggy device cannot block a programme's report.)
    pub fn from_json(json: &str) -> Result<ReportInputs> {
        if json.len() > MAX_INPUT_BYTES {
            return Err(Error::InvalidInput(format!(
                "report inputs are larger than {MAX_INPUT_BYTES} bytes"
            )));
        }
        let inputs: ReportInputs = serde_json::from_str(json).map_err(|e| {
            Error::InvalidInput(format!(
                "report inputs are not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let v1 = inputs.schema == INPUT_SCHEMA_V1;
        if !(v1 || inputs.schema == INPUT_SCHEMA_V2) {
            return Err(Error::InvalidInput(format!(
                "report inputs schema must be {INPUT_SCHEMA_V2} or {INPUT_SCHEMA_V1}"
            )));
        }
        if v1 && !inputs.concerns.is_empty() {
            return Err(Error::InvalidInput(format!(
                "concerns in report inputs need schema {INPUT_SCHEMA_V2}"
            )));
        }
        Ok(inputs)
    }
}

/// A metric's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricValue {
    /// A count (or a duration in ms).
    Count(u64),
    /// A mean or another non-integer statistic.
    Number(f64),
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Locale-independent id (`sessions.held`, `referrals.state.open`, `outcome.phq9.mean_change`…).
    pub id: String,
    /// The value; `None` when suppressed.
    pub value: Option<MetricValue>,
}

/// A programme's report for one period.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgrammeReport {
    /// Period start, ms (inclusive).
    pub period_start_ms: i64,
    /// Period end, ms (exclusive).
    pub period_end_ms: i64,
    /// The rows, in a fixed order.
    pub metrics: Vec<Metric>,
    /// Input records skipped because they did not check (bad ids, impossible totals or times).
    pub rejected_records: u64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn format_value(v: MetricValue) -> String {
    match v {
        MetricValue::Count(c) => c.to_string(),
        MetricValue::Number(x) => format!("{:.2}", round2(x)),
    }
}

/// One CSV field: quoted when it holds a comma, a quote or a line break (quotes doubled); a text
/// that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
pub fn csv_field(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

impl ProgrammeReport {
    /// The row with this id.
    pub fn get(&self, id: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// The ids of the suppressed rows, in report order.
    pub fn suppressed(&self) -> Vec<&str> {
        self.metrics
            .iter()
            .filter(|m| m.value.is_none())
            .map(|m| m.id.as_str())
            .collect()
    }

    /// CSV, one row per metric: `metric,value` (suppressed as `<5`; numbers with two decimals).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("metric,value\n");
        for m in &self.metrics {
            out.push_str(&csv_field(&m.id));
            out.push(',');
            match m.value {
                Some(v) => out.push_str(&format_value(v)),
                None => out.push_str(CSV_SUPPRESSED),
            }
            out.push('\n');
        }
        out
    }

    /// JSON (schema `sebaya-report/1`): `{schema, period: {start_ms, end_ms}, metrics: {id: value or
    /// null}, order: [ids], suppressed: [ids], rejected_records}`.
    pub fn to_json(&self) -> Result<String> {
        let mut metrics = serde_json::Map::new();
        for m in &self.metrics {
            let v = match m.value {
                None => serde_json::Value::Null,
                Some(MetricValue::Count(c)) => c.into(),
                Some(MetricValue::Number(x)) => serde_json::Number::from_f64(round2(x))
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null),
            };
            metrics.insert(m.id.clone(), v);
        }
        let doc = serde_json::json!({
            "schema": REPORT_SCHEMA_V1,
            "period": { "start_ms": self.period_start_ms, "end_ms": self.period_end_ms },
            "metrics": metrics,
            "order": self.metrics.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            "suppressed": self.suppressed(),
            "rejected_records": self.rejected_records,
        });
        serde_json::to_string(&doc).map_err(|_| Error::Internal("encode report"))
    }
}

/// The label of a metric id in `locale` (for a report's screen or a localized export).
pub fn metric_label(id: &str, locale: &str) -> String {
    let msg = |m: &str, detail: &str| i18n::message(locale, m, &[("detail", detail)]);
    if let Some(state) = id.strip_prefix("referrals.state.") {
        return msg("report-referrals-state", state);
    }
    if let Some(origin) = id.strip_prefix("referrals.origin.") {
        return msg("report-referrals-origin", origin);
    }
    if let Some(rest) = id.strip_prefix("outcome.") {
        if let Some((inst, stat)) = rest.split_once('.') {
            let name = match inst {
                "phq9" => "PHQ-9",
                "gad7" => "GAD-7",
                "who5" => "WHO-5",
                other => other,
            };
            return msg(&format!("report-outcome-{}", stat.replace('_', "-")), name);
        }
    }
    msg(&format!("report-{}", id.replace(['.', '_'], "-")), "")
}

fn check_pseudonym(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_category(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The nearest-rank percentile (`p` in 1–100) of sorted values: an observed value, never an
/// interpolation between two people's.
fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// A row while the report is built: its true value and whether it is shown.
struct Row {
    id: String,
    value: MetricValue,
    shown: bool,
}

/// Rows by id while building, in insertion order.
#[derive(Default)]
struct Rows(Vec<Row>);

impl Rows {
    /// A count: suppressed when under [`MIN_CELL`].
    fn count(&mut self, id: impl Into<String>, c: u64) {
        self.0.push(Row {
            id: id.into(),
            value: MetricValue::Count(c),
            shown: c >= MIN_CELL,
        });
    }

    /// A statistic from `n` people or records: suppressed when `n` is under [`MIN_CELL`] (or the
    /// statistic is missing).
    fn stat(&mut self, id: impl Into<String>, v: Option<MetricValue>, n: u64) {
        self.0.push(Row {
            id: id.into(),
            value: v.unwrap_or(MetricValue::Count(0)),
            shown: v.is_some() && n >= MIN_CELL,
        });
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.0.iter().position(|r| r.id == id)
    }

    fn shown(&self, id: &str) -> bool {
        self.find(id).is_some_and(|i| self.0[i].shown)
    }

    fn hide(&mut self, id: &str) {
        if let Some(i) = self.find(id) {
            self.0[i].shown = false;
        }
    }

    /// Secondary suppression for cells that partition a total: `cells` are shown rows, `hidden` the
    /// values of parts never shown (an implicit remainder). While the total is shown and exactly
    /// one unknown part remains and it is small, the smallest shown cell is suppressed as well (or,
    /// with none left, the total).
    fn protect(&mut self, total: &str, cells: &[String], hidden: &[u64]) {
        loop {
            if !self.shown(total) {
                return;
            }
            let suppressed = cells.iter().filter(|c| !self.shown(c)).count();
            let small_hidden = hidden.iter().filter(|&&h| h < MIN_CELL).count();
            let unknown = suppressed + hidden.len();
            if unknown != 1 || (suppressed == 0 && small_hidden == 0) {
                return;
            }
            let smallest = cells
                .iter()
                .filter(|c| self.shown(c))
                .filter_map(|c| {
                    let i = self.find(c)?;
                    match self.0[i].value {
                        MetricValue::Count(v) => Some((v, c.clone())),
                        MetricValue::Number(_) => None,
                    }
                })
                .min();
            match smallest {
                Some((_, c)) => self.hide(&c),
                None => self.hide(total),
            }
        }
    }

    fn finish(self) -> Vec<Metric> {
        self.0
            .into_iter()
            .map(|r| Metric {
                id: r.id,
                value: r.shown.then_some(r.value),
            })
            .collect()
    }
}

/// The instruments whose outcome change is reported, with the meaningful-improvement rule.
const OUTCOME_INSTRUMENTS: [&str; 3] = ["phq9", "gad7", "who5"];

fn max_total(instrument: &str) -> Option<u32> {
    match instrument {
        "phq9" => Some(27),
        "gad7" => Some(21),
        "who5" => Some(25),
        _ => None,
    }
}

/// Whether a change from `first` to `latest` is a meaningful improvement on `instrument`.
fn improved(instrument: &str, first: u32, latest: u32) -> bool {
    let change = i64::from(latest) - i64::from(first);
    match instrument {
        "phq9" => -change >= PHQ9_IMPROVEMENT,
        "gad7" => -change >= GAD7_IMPROVEMENT,
        "who5" => change * 4 >= WHO5_IMPROVEMENT_PCT,
        _ => false,
    }
}

/// Computes the report for `[start_ms, end_ms)`. A record counts in the period by its time: a
/// session by when it was held, a referral by when it was made, an outcome by when its latest total
/// was taken; a pairing's activity only when its whole stretch lies inside the period (so check-ins
/// are never counted in two reports). Duplicates count once (sessions by group and time, activity by
/// pairing and stretch, referrals by id preferring an acknowledged copy, outcomes by participant and
/// instrument keeping the latest). WHO-5 means are in percentage points (raw × 4).
pub fn build(inputs: &ReportInputs, start_ms: i64, end_ms: i64) -> Result<ProgrammeReport> {
    if start_ms >= end_ms {
        return Err(Error::InvalidInput(
            "report period must end after it starts".into(),
        ));
    }
    let within = |t: i64| start_ms <= t && t < end_ms;
    let mut rejected = 0u64;

    // Sessions.
    let mut sessions: BTreeMap<(&str, i64), &SessionRecord> = BTreeMap::new();
    for s in &inputs.sessions {
        if !check_pseudonym(&s.group) {
            rejected += 1;
        } else if within(s.at_ms) {
            sessions.insert((s.group.as_str(), s.at_ms), s);
        }
    }
    let groups: BTreeSet<&str> = sessions.keys().map(|(g, _)| *g).collect();
    let attended: u64 = sessions.values().map(|s| u64::from(s.attended)).sum();

    // Pairing activity.
    let mut activity: BTreeMap<(&str, i64, i64), &PairingActivity> = BTreeMap::new();
    for p in &inputs.pairings {
        if !check_pseudonym(&p.pairing) || p.period_start_ms >= p.period_end_ms {
            rejected += 1;
        } else if start_ms <= p.period_start_ms && p.period_end_ms <= end_ms {
            activity.insert((p.pairing.as_str(), p.period_start_ms, p.period_end_ms), p);
        }
    }
    let active: BTreeSet<&str> = activity
        .values()
        .filter(|p| p.active)
        .map(|p| p.pairing.as_str())
        .collect();
    let checkins: u64 = activity.values().map(|p| u64::from(p.checkins)).sum();

    // Referrals.
    let mut referrals: BTreeMap<&str, &ReferralRecord> = BTreeMap::new();
    for r in &inputs.referrals {
        let ok = check_pseudonym(&r.id)
            && check_category(&r.state)
            && check_category(&r.origin)
            && r.acknowledged_ms.is_none_or(|a| a >= r.created_ms);
        if !ok {
            rejected += 1;
        } else if within(r.created_ms) {
            let keep = match referrals.get(r.id.as_str()) {
                Some(prev) => !(prev.acknowledged_ms.is_some() && r.acknowledged_ms.is_none()),
                None => true,
            };
            if keep {
                referrals.insert(r.id.as_str(), r);
            }
        }
    }
    let mut by_state: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_origin: BTreeMap<&str, u64> = BTreeMap::new();
    let mut ack_times: Vec<u64> = Vec::new();
    for r in referrals.values() {
        *by_state.entry(r.state.as_str()).or_default() += 1;
        *by_origin.entry(r.origin.as_str()).or_default() += 1;
        if let Some(a) = r.acknowledged_ms {
            ack_times.push(u64::try_from(a.saturating_sub(r.created_ms)).unwrap_or(0));
        }
    }
    crate::order::sort(&mut ack_times);
    let total_referrals = referrals.len() as u64;
    let acknowledged = ack_times.len() as u64;

    // Outcomes.
    let mut outcomes: BTreeMap<(&str, &str), &OutcomeRecord> = BTreeMap::new();
    for o in &inputs.outcomes {
        let ok = check_pseudonym(&o.participant)
            && max_total(&o.instrument).is_some_and(|m| o.first_total <= m && o.latest_total <= m)
            && o.first_ms <= o.latest_ms;
        if !ok {
            rejected += 1;
            continue;
        }
        // Only a second measurement taken in the period says anything about change.
        if !within(o.latest_ms) || o.latest_ms == o.first_ms {
            continue;
        }
        let k = (o.participant.as_str(), o.instrument.as_str());
        if outcomes.get(&k).is_none_or(|p| p.latest_ms <= o.latest_ms) {
            outcomes.insert(k, o);
        }
    }

    let mut rows = Rows::default();
    rows.count("groups.held", groups.len() as u64);
    rows.count("sessions.held", sessions.len() as u64);
    rows.count("attendance.total", attended);
    let n_sessions = sessions.len() as u64;
    let mean_attendance =
        (n_sessions > 0).then(|| MetricValue::Number(attended as f64 / n_sessions as f64));
    rows.stat("attendance.mean_per_session", mean_attendance, n_sessions);
    if !rows.shown("attendance.total") {
        // The mean times the shown session count would give the suppressed total back.
        rows.hide("attendance.mean_per_session");
    }
    rows.count("pairings.active", active.len() as u64);
    rows.count("checkins.total", checkins);

    rows.count("referrals.total", total_referrals);
    rows.count("referrals.acknowledged", acknowledged);
    rows.count("referrals.unacknowledged", total_referrals - acknowledged);
    let state_ids: Vec<String> = by_state
        .iter()
        .map(|(s, c)| {
            let id = format!("referrals.state.{s}");
            rows.count(id.clone(), *c);
            id
        })
        .collect();
    let origin_ids: Vec<String> = by_origin
        .iter()
        .map(|(o, c)| {
            let id = format!("referrals.origin.{o}");
            rows.count(id.clone(), *c);
            id
        })
        .collect();
    rows.stat(
        "referrals.ack_time_median_ms",
        percentile(&ack_times, 50).map(MetricValue::Count),
        acknowledged,
    );
    rows.stat(
        "referrals.ack_time_p90_ms",
        percentile(&ack_times, 90).map(MetricValue::Count),
        acknowledged,
    );
    rows.protect(
        "referrals.total",
        &[
            "referrals.acknowledged".to_string(),
            "referrals.unacknowledged".to_string(),
        ],
        &[],
    );
    rows.protect("referrals.total", &state_ids, &[]);
    rows.protect("referrals.total", &origin_ids, &[]);
    rejected += concerns::add_rows(&mut rows, &inputs.concerns, start_ms, end_ms);

    for inst in OUTCOME_INSTRUMENTS {
        let os: Vec<&&OutcomeRecord> = outcomes
            .iter()
            .filter(|((_, i), _)| *i == inst)
            .map(|(_, o)| o)
            .collect();
        let n = os.len() as u64;
        let scale = if inst == "who5" { 4.0 } else { 1.0 };
        let mean = |f: &dyn Fn(&OutcomeRecord) -> f64| {
            (n > 0).then(|| {
                MetricValue::Number(os.iter().map(|o| f(o)).sum::<f64>() / n as f64 * scale)
            })
        };
        let up = os
            .iter()
            .filter(|o| improved(inst, o.first_total, o.latest_total))
            .count() as u64;
        let n_id = format!("outcome.{inst}.n");
        rows.count(n_id.clone(), n);
        rows.stat(
            format!("outcome.{inst}.mean_first"),
            mean(&|o| f64::from(o.first_total)),
            n,
        );
        rows.stat(
            format!("outcome.{inst}.mean_latest"),
            mean(&|o| f64::from(o.latest_total)),
            n,
        );
        rows.stat(
            format!("outcome.{inst}.mean_change"),
            mean(&|o| f64::from(o.latest_total) - f64::from(o.first_total)),
            n,
        );
        let improved_id = format!("outcome.{inst}.improved");
        rows.count(improved_id.clone(), up);
        // The participants who did not improve are never shown, but n minus the improved would
        // give them: protect them as a hidden part of n.
        rows.protect(&n_id, &[improved_id], &[n - up]);
    }

    Ok(ProgrammeReport {
        period_start_ms: start_ms,
        period_end_ms: end_ms,
        metrics: rows.finish(),
        rejected_records: rejected,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    const DAY: i64 = 86_400_000;
    const START: i64 = 1_700_000_000_000;
    const END: i64 = START + 30 * DAY;

    fn session(group: &str, at_ms: i64, attended: u32) -> SessionRecord {
        SessionRecord {
            group: group.into(),
            at_ms,
            attended,
            absent: 1,
        }
    }

    fn referral(
        id: &str,
        created: i64,
        ack: Option<i64>,
        state: &str,
        origin: &str,
    ) -> ReferralRecord {
        ReferralRecord {
            id: id.into(),
            created_ms: created,
            acknowledged_ms: ack,
            state: state.into(),
            origin: origin.into(),
        }
    }

    fn outcome(p: &str, inst: &str, first: u32, latest: u32) -> OutcomeRecord {
        OutcomeRecord {
            participant: p.into(),
            instrument: inst.into(),
            first_total: first,
            first_ms: START - DAY,
            latest_total: latest,
            latest_ms: START + DAY,
        }
    }

    fn value(r: &ProgrammeReport, id: &str) -> Option<MetricValue> {
        r.get(id).unwrap_or_else(|| panic!("no metric {id}")).value
    }

    fn count(r: &ProgrammeReport, id: &str) -> Option<u64> {
        match value(r, id) {
            Some(MetricValue::Count(c)) => Some(c),
            Some(MetricValue::Number(_)) => panic!("{id} is not a count"),
            None => None,
        }
    }

    fn number(r: &ProgrammeReport, id: &str) -> Option<f64> {
        match value(r, id) {
            Some(MetricValue::Number(x)) => Some(x),
            Some(MetricValue::Count(_)) => panic!("{id} is not a number"),
            None => None,
        }
    }

    fn with_sessions(n: usize, attended: u32) -> ReportInputs {
        ReportInputs {
            sessions: (0..n)
                .map(|i| session(&format!("g{}", i % 5), START + i as i64 * 1000, attended))
                .collect(),
            ..ReportInputs::default()
        }
    }

    #[test]
    fn counts_of_four_are_suppressed_and_five_shown() {
        let r = build(&with_sessions(4, 10), START, END).unwrap();
        assert_eq!(count(&r, "sessions.held"), None);
        assert_eq!(count(&r, "groups.held"), None);
        assert_eq!(count(&r, "attendance.total"), Some(40));
        assert_eq!(
            number(&r, "attendance.mean_per_session"),
            None,
            "a mean over 4 sessions"
        );
        let r = build(&with_sessions(5, 10), START, END).unwrap();
        assert_eq!(count(&r, "sessions.held"), Some(5));
        assert_eq!(count(&r, "groups.held"), Some(5));
        assert_eq!(number(&r, "attendance.mean_per_session"), Some(10.0));
        // Five sessions attended by nobody: the total is small, so the mean (which would give it
        // back) goes too.
        let r = build(&with_sessions(5, 0), START, END).unwrap();
        assert_eq!(count(&r, "sessions.held"), Some(5));
        assert_eq!(count(&r, "attendance.total"), None);
        assert_eq!(number(&r, "attendance.mean_per_session"), None);
    }

    #[test]
    fn an_empty_period_suppresses_everything_and_still_lists_the_rows() {
        let r = build(&ReportInputs::default(), START, END).unwrap();
        assert!(r.metrics.iter().all(|m| m.value.is_none()));
        for inst in OUTCOME_INSTRUMENTS {
            assert!(r.get(&format!("outcome.{inst}.mean_change")).is_some());
        }
        assert_eq!(r.rejected_records, 0);
        let csv = r.to_csv();
        assert!(csv.starts_with("metric,value\n"));
        assert!(csv.lines().skip(1).all(|l| l.ends_with(",<5")));
        assert!(matches!(
            build(&ReportInputs::default(), END, START),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            build(&ReportInputs::default(), START, START),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn period_boundaries_are_start_inclusive_end_exclusive() {
        let mut inputs = ReportInputs::default();
        for (i, t) in [START, START + 1, END - 1, START + DAY, START + 2 * DAY]
            .into_iter()
            .enumerate()
        {
            inputs.sessions.push(session(&format!("g{i}"), t, 5));
        }
        inputs.sessions.push(session("before", START - 1, 5));
        inputs.sessions.push(session("atend", END, 5));
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "sessions.held"), Some(5));
        assert_eq!(count(&r, "attendance.total"), Some(25));
        // The next period takes the session held exactly at its start.
        let r = build(&inputs, END, END + DAY).unwrap();
        assert_eq!(count(&r, "sessions.held"), None);
        // Pairing activity counts only when its stretch lies wholly inside.
        let act = |id: &str, s: i64, e: i64| PairingActivity {
            pairing: id.into(),
            period_start_ms: s,
            period_end_ms: e,
            active: true,
            checkins: 3,
        };
        let inputs = ReportInputs {
            pairings: vec![
                act("p1", START, START + 7 * DAY),
                act("p2", START, END),
                act("p3", END - 7 * DAY, END),
                act("p4", START + DAY, START + 2 * DAY),
                act("p5", START, START + DAY),
                act("p5", START + DAY, START + 2 * DAY),
                act("p6", START - DAY, START + DAY),
                act("p7", END - DAY, END + DAY),
            ],
            ..ReportInputs::default()
        };
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "pairings.active"), Some(5));
        assert_eq!(count(&r, "checkins.total"), Some(18));
    }

    #[test]
    fn duplicates_count_once() {
        let mut inputs = with_sessions(5, 2);
        inputs.sessions.extend(with_sessions(5, 2).sessions);
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "sessions.held"), Some(5));
        assert_eq!(count(&r, "attendance.total"), Some(10));
    }

    #[test]
    fn acknowledgement_times_use_nearest_rank_percentiles() {
        let mut inputs = ReportInputs::default();
        // Ten acknowledged after 1..=10 hours, three never.
        for h in 1..=10i64 {
            inputs.referrals.push(referral(
                &format!("r{h}"),
                START + h,
                Some(START + h + h * 3_600_000),
                "acknowledged",
                "supporter",
            ));
        }
        for i in 0..3 {
            inputs
                .referrals
                .push(referral(&format!("u{i}"), START, None, "open", "supporter"));
        }
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "referrals.total"), Some(13));
        assert_eq!(
            count(&r, "referrals.ack_time_median_ms"),
            Some(5 * 3_600_000)
        );
        assert_eq!(count(&r, "referrals.ack_time_p90_ms"), Some(9 * 3_600_000));
        // 3 unacknowledged is small; with the total shown, acknowledged (13 - 3) would give it back.
        assert_eq!(count(&r, "referrals.unacknowledged"), None);
        assert_eq!(count(&r, "referrals.acknowledged"), None);
        assert_eq!(count(&r, "referrals.state.open"), None);
        assert_eq!(count(&r, "referrals.state.acknowledged"), None);
        assert_eq!(count(&r, "referrals.origin.supporter"), Some(13));

        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 50), Some(3));
        assert_eq!(percentile(&(1..=20).collect::<Vec<_>>(), 90), Some(18));
        assert_eq!(percentile(&(1..=21).collect::<Vec<_>>(), 90), Some(19));
        assert_eq!(percentile(&[], 50), None);

        // Four acknowledged: no times at all.
        let r = build(
            &ReportInputs {
                referrals: inputs.referrals[..4].to_vec(),
                ..ReportInputs::default()
            },
            START,
            END,
        )
        .unwrap();
        assert_eq!(count(&r, "referrals.ack_time_median_ms"), None);
        assert_eq!(count(&r, "referrals.ack_time_p90_ms"), None);
    }

    #[test]
    fn a_single_small_cell_never_follows_from_the_total() {
        let mut inputs = ReportInputs::default();
        let mut add = |n: usize, state: &str, origin: &str| {
            for i in 0..n {
                let id = format!("{state}-{origin}-{i}");
                inputs
                    .referrals
                    .push(referral(&id, START, None, state, origin));
            }
        };
        add(6, "open", "supporter");
        add(7, "closed", "supporter");
        add(2, "declined", "phq9-item9");
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "referrals.total"), Some(15));
        assert_eq!(count(&r, "referrals.state.declined"), None);
        // Without a second suppression, 15 - 6 - 7 would give 2 declined.
        assert_eq!(
            count(&r, "referrals.state.open"),
            None,
            "smallest other cell"
        );
        assert_eq!(count(&r, "referrals.state.closed"), Some(7));
        assert_eq!(count(&r, "referrals.origin.phq9-item9"), None);
        assert_eq!(count(&r, "referrals.origin.supporter"), None);
        // Two small cells already hide each other: nothing more goes.
        let mut inputs2 = ReportInputs::default();
        for (state, n) in [("a", 2), ("b", 3), ("c", 9)] {
            for i in 0..n {
                inputs2
                    .referrals
                    .push(referral(&format!("{state}{i}"), START, None, state, "x"));
            }
        }
        let r = build(&inputs2, START, END).unwrap();
        assert_eq!(count(&r, "referrals.state.c"), Some(9));
        assert_eq!(count(&r, "referrals.state.a"), None);
        assert_eq!(count(&r, "referrals.state.b"), None);
        assert_eq!(count(&r, "referrals.total"), Some(14));
        let json: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(json["metrics"]["referrals.state.c"], 9);
        assert!(json["metrics"]["referrals.state.a"].is_null());
        assert!(
            json["suppressed"]
                .as_array()
                .unwrap()
                .contains(&"referrals.state.a".into())
        );
    }

    #[test]
    fn outcome_change_and_meaningful_improvement() {
        let mut inputs = ReportInputs::default();
        // PHQ-9: falls of 5, 4, 10, 6, 0, 7 (4 improved by 5 or more, 2 not).
        for (i, (a, b)) in [(15, 10), (14, 10), (20, 10), (12, 6), (9, 9), (17, 10)]
            .into_iter()
            .enumerate()
        {
            inputs
                .outcomes
                .push(outcome(&format!("p{i}"), "phq9", a, b));
        }
        // WHO-5 raw: +3 (12 points), +2 (8), +5, +3, +3, +4, -1 → 5 improved, 2 not.
        for (i, (a, b)) in [
            (8, 11),
            (8, 10),
            (5, 10),
            (10, 13),
            (12, 15),
            (9, 13),
            (10, 9),
        ]
        .into_iter()
        .enumerate()
        {
            inputs
                .outcomes
                .push(outcome(&format!("w{i}"), "who5", a, b));
        }
        // GAD-7: 10 participants, all improved by 4.
        for i in 0..10 {
            inputs
                .outcomes
                .push(outcome(&format!("g{i}"), "gad7", 12, 8));
        }
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "outcome.phq9.n"), Some(6));
        let first = (15 + 14 + 20 + 12 + 9 + 17) as f64 / 6.0;
        let latest = (10 + 10 + 10 + 6 + 9 + 10) as f64 / 6.0;
        assert_eq!(number(&r, "outcome.phq9.mean_first"), Some(first));
        assert_eq!(number(&r, "outcome.phq9.mean_latest"), Some(latest));
        let change = number(&r, "outcome.phq9.mean_change").unwrap();
        assert!((change - (latest - first)).abs() < 1e-9, "{change}");
        assert_eq!(count(&r, "outcome.phq9.improved"), None, "4 improved");
        // WHO-5 in percentage points; 5 improved but only 2 did not: 7 - 5 would give the 2.
        assert_eq!(count(&r, "outcome.who5.n"), Some(7));
        let change = number(&r, "outcome.who5.mean_change").unwrap();
        assert!((change - (3 + 2 + 5 + 3 + 3 + 4 - 1) as f64 * 4.0 / 7.0).abs() < 1e-9);
        assert_eq!(count(&r, "outcome.who5.improved"), None);
        // GAD-7: everyone improved: "10 of 10" says the 0 who did not, so improved goes too.
        assert_eq!(count(&r, "outcome.gad7.improved"), None);
        assert!(improved("gad7", 12, 8) && !improved("gad7", 12, 9));
        assert!(improved("phq9", 12, 7) && !improved("phq9", 12, 8));
        assert!(improved("who5", 10, 13) && !improved("who5", 10, 12));
        // Ten improved of fifteen: both parts are at least 5, so the count shows.
        for i in 0..5 {
            inputs
                .outcomes
                .push(outcome(&format!("h{i}"), "gad7", 12, 12));
        }
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "outcome.gad7.n"), Some(15));
        assert_eq!(count(&r, "outcome.gad7.improved"), Some(10));
    }

    #[test]
    fn outcomes_keep_the_latest_record_and_refuse_impossible_ones() {
        let mut inputs = ReportInputs::default();
        for i in 0..5 {
            inputs
                .outcomes
                .push(outcome(&format!("p{i}"), "phq9", 20, 15));
            let mut later = outcome(&format!("p{i}"), "phq9", 20, 5);
            later.latest_ms += DAY;
            inputs.outcomes.push(later);
        }
        inputs.outcomes.push(outcome("bad", "phq9", 28, 3));
        inputs.outcomes.push(outcome("bad", "srq20", 8, 3));
        inputs.outcomes.push(outcome("bad id!", "who5", 8, 3));
        let mut backwards = outcome("x", "gad7", 8, 3);
        backwards.first_ms = backwards.latest_ms + 1;
        inputs.outcomes.push(backwards);
        let mut single = outcome("y", "gad7", 8, 8);
        single.first_ms = single.latest_ms;
        inputs.outcomes.push(single);
        let r = build(&inputs, START, END).unwrap();
        assert_eq!(count(&r, "outcome.phq9.n"), Some(5));
        assert_eq!(number(&r, "outcome.phq9.mean_latest"), Some(5.0));
        assert_eq!(r.rejected_records, 4);
        assert_eq!(count(&r, "outcome.gad7.n"), None);
    }

    #[test]
    fn csv_escapes_and_json_round_trips() {
        assert_eq!(csv_field("plain.id"), "plain.id");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
        assert_eq!(csv_field("@x"), "'@x");
        let mut inputs = with_sessions(6, 3);
        inputs.sessions[0].attended = 4;
        let r = build(&inputs, START, END).unwrap();
        let csv = r.to_csv();
        assert!(csv.contains("\nsessions.held,6\n"));
        assert!(csv.contains("\nattendance.mean_per_session,3.17\n"));
        assert!(csv.contains("\npairings.active,<5\n"));
        assert_eq!(csv.lines().count(), r.metrics.len() + 1);
        let json: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(json["schema"], REPORT_SCHEMA_V1);
        assert_eq!(json["period"]["start_ms"], START);
        assert_eq!(json["metrics"]["sessions.held"], 6);
        assert_eq!(json["metrics"]["attendance.mean_per_session"], 3.17);
        assert!(json["metrics"]["pairings.active"].is_null());
        assert_eq!(json["order"].as_array().unwrap().len(), r.metrics.len());
    }

    #[test]
    fn inputs_parse_strictly() {
        let json = serde_json::to_string(&with_sessions(2, 1)).unwrap();
        assert_eq!(ReportInputs::from_json(&json).unwrap(), with_sessions(2, 1));
        assert!(ReportInputs::from_json("{").is_err());
        // An unknown version (2 reads since review M5, with concerns).
        assert!(ReportInputs::from_json(r#"{"schema":"sebaya-report-inputs/3"}"#).is_err());
        assert!(
            ReportInputs::from_json(r#"{"schema":"sebaya-report-inputs/1","answers":[]}"#).is_err(),
            "unknown fields (such as answers) are refused"
        );
        assert!(
            ReportInputs::from_json(
                r#"{"schema":"sebaya-report-inputs/1","outcomes":[{"participant":"p","instrument":"phq9","first_total":1,"first_ms":0,"latest_total":2,"latest_ms":1,"answers":[1]}]}"#
            )
            .is_err()
        );
        let empty = ReportInputs::from_json(r#"{"schema":"sebaya-report-inputs/1"}"#).unwrap();
        assert!(empty.sessions.is_empty() && empty.outcomes.is_empty());
    }

    #[test]
    fn every_metric_has_a_label_in_both_languages() {
        let mut inputs = with_sessions(5, 1);
        inputs
            .referrals
            .push(referral("r", START, None, "open", "self"));
        let r = build(&inputs, START, END).unwrap();
        for m in &r.metrics {
            let en = metric_label(&m.id, "en");
            let id = metric_label(&m.id, "id");
            assert!(!en.starts_with("report-"), "{} has no English label", m.id);
            assert!(
                !id.starts_with("report-"),
                "{} has no Indonesian label",
                m.id
            );
            assert_ne!(en, id, "{} is not translated", m.id);
        }
        assert!(metric_label("referrals.state.open", "en").contains("open"));
        assert!(metric_label("outcome.phq9.mean_change", "id").contains("PHQ-9"));
    }
}
