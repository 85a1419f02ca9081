//! Programme reports through the bindings: a coordinator's report space, supporters' and
//! participants' devices publishing counts and consented outcome totals, and the report itself with
//! small cells suppressed, as rows, CSV and JSON. See `core/src/reports/inputs.rs` and
//! `core/src/reports.rs`.

use super::programmes::{Programmes, parse_programme};
use super::{Result, parse_space, with};

/// One row of a report.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ReportMetric {
    /// Locale-independent id (`sessions.held`, `referrals.ack_ms.median`…).
    pub id: String,
    /// Its label in the requested language.
    pub label: String,
    /// The value; null when suppressed (fewer than 5 behind it).
    pub value: Option<f64>,
}

/// A programme's report for one period.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ProgrammeReport {
    /// Period start, ms (inclusive).
    pub period_start_ms: i64,
    /// Period end, ms (exclusive).
    pub period_end_ms: i64,
    /// The rows, in a fixed order.
    pub metrics: Vec<ReportMetric>,
    /// Ids of the suppressed rows.
    pub suppressed: Vec<String>,
    /// Published records skipped because they did not check.
    pub rejected_records: u64,
    /// CSV export (one row per metric; suppressed cells "<5").
    pub csv: String,
    /// JSON export (`sebaya-report/1`).
    pub json: String,
}

#[uniffi::export]
impl Programmes {
    /// A coordinator makes the programme's report space; add supporters with
    /// `Spaces.approve_member`. Returns its id.
    pub fn create_report_space(&self, programme_id: String) -> Result<String> {
        let p = parse_programme(&programme_id)?;
        Ok(with(&self.inner, |v| v.create_report_space(p))?.to_hex())
    }

    /// Publishes this device's session and pairing counts for `[start_ms, end_ms)` into a report
    /// space (supporters and coordinators; never names or text). Returns how many records.
    pub fn publish_activity(&self, report_id: String, start_ms: i64, end_ms: i64) -> Result<u32> {
        let r = parse_space(&report_id)?;
        with(&self.inner, |v| v.publish_activity(&r, start_ms, end_ms))
    }

    /// On the participant's phone: publishes first and latest PHQ-9, GAD-7 and WHO-5 totals where
    /// their `report-outcomes` consent stands, and removes them where it does not.
    pub fn publish_outcomes(&self) -> Result<u32> {
        with(&self.inner, |v| v.publish_outcomes())
    }

    /// A programme's report for `[start_ms, end_ms)` from what this device holds, labels in
    /// `locale`: counts and flags only, cells under 5 suppressed.
    pub fn report(
        &self,
        programme_id: String,
        start_ms: i64,
        end_ms: i64,
        locale: String,
    ) -> Result<ProgrammeReport> {
        use sebaya_core::reports::MetricValue;
        let p = parse_programme(&programme_id)?;
        let r = with(&self.inner, |v| v.programme_report(&p, start_ms, end_ms))?;
        let json = r.to_json()?;
        Ok(ProgrammeReport {
            period_start_ms: r.period_start_ms,
            period_end_ms: r.period_end_ms,
            suppressed: r.suppressed().into_iter().map(str::to_string).collect(),
            rejected_records: r.rejected_records,
            csv: r.to_csv(),
            json,
            metrics: r
                .metrics
                .iter()
                .map(|m| ReportMetric {
                    label: sebaya_core::reports::metric_label(&m.id, &locale),
                    id: m.id.clone(),
                    value: m.value.map(|v| match v {
                        MetricValue::Count(c) => c as f64,
                        MetricValue::Number(x) => x,
                    }),
                })
                .collect(),
        })
    }
}
