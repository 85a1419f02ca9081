//! Validated screening instruments, scored on the device: PHQ-9, GAD-7, WHO-5 and SRQ-20, with their
//! bands and the risk rules that must fire whatever the total (care.md, "Validated instruments").
//!
//! Scoring and risk rules are code, checked exhaustively against an independent formula in
//! `core/tests/instruments.rs`. Item wordings are not here: they are data a programme supplies with
//! their source (validated translations are licensed texts this core does not invent).

use crate::error::{Error, Result};

/// The version of the built-in scoring kept with each screening (`ScreeningRecord::instrument_version`):
/// raise it if a built-in's scoring ever changes, so old totals are never read as new ones.
pub const BUILTIN_VERSION: &str = "sebaya-builtin-1";

/// SRQ-20's cut-off when a programme set none: 6 or more yes answers, the cut-off for
/// mental-emotional distress in Indonesia's national health survey (`programme_settings.rs` holds
/// its citation and a programme's own).
pub const DEFAULT_SRQ20_CUTOFF: u32 = 6;

/// A screening instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instrument {
    /// Depression, 9 items 0–3 over the past two weeks (total 0–27).
    Phq9,
    /// Anxiety, 7 items 0–3 (total 0–21).
    Gad7,
    /// Wellbeing, 5 items 0–5 over the past two weeks (raw 0–25, as a percentage 0–100).
    Who5,
    /// WHO Self-Reporting Questionnaire, 20 yes (1) / no (0) items over the past 30 days.
    Srq20,
}

impl Instrument {
    /// The stable id used in records and the bindings.
    pub fn id(self) -> &'static str {
        match self {
            Instrument::Phq9 => "phq9",
            Instrument::Gad7 => "gad7",
            Instrument::Who5 => "who5",
            Instrument::Srq20 => "srq20",
        }
    }

    /// Reads an id (`phq9`, `gad7`, `who5`, `srq20`).
    pub fn from_id(id: &str) -> Result<Instrument> {
        match id {
            "phq9" => Ok(Instrument::Phq9),
            "gad7" => Ok(Instrument::Gad7),
            "who5" => Ok(Instrument::Who5),
            "srq20" => Ok(Instrument::Srq20),
            _ => Err(Error::InvalidInput(
                "instrument must be phq9, gad7, who5 or srq20".into(),
            )),
        }
    }

    /// How many items it has.
    pub fn items(self) -> usize {
        match self {
            Instrument::Phq9 => 9,
            Instrument::Gad7 => 7,
            Instrument::Who5 => 5,
            Instrument::Srq20 => 20,
        }
    }

    /// The highest answer an item takes (the lowest is 0).
    pub fn max_answer(self) -> u8 {
        match self {
            Instrument::Phq9 | Instrument::Gad7 => 3,
            Instrument::Who5 => 5,
            Instrument::Srq20 => 1,
        }
    }
}

/// Where a total falls. Participants may see their band; a supporter never does (issue 4: peers
/// refer, they do not diagnose).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Band {
    /// PHQ-9 0–4, GAD-7 0–4.
    Minimal,
    /// PHQ-9 5–9, GAD-7 5–9.
    Mild,
    /// PHQ-9 10–14, GAD-7 10–14.
    Moderate,
    /// PHQ-9 15–19.
    ModeratelySevere,
    /// PHQ-9 20–27, GAD-7 15–21.
    Severe,
    /// WHO-5: raw 13 or more and no item at 0 or 1.
    WellbeingAdequate,
    /// WHO-5: raw below 13, or any item at 0 or 1, and a percentage above 28: screen for depression.
    WellbeingLow,
    /// WHO-5: percentage 28 or below: likely depression.
    WellbeingVeryLow,
    /// SRQ-20: below the cut-off (6 yes answers unless the programme set its own).
    BelowCutoff,
    /// SRQ-20: at or above the cut-off (by default 6 or more yes answers: mental-emotional distress,
    /// Indonesia's national survey cut-off).
    AboveCutoff,
}

impl Band {
    /// The stable id used in the bindings and the message catalogues (`band-<id>`).
    pub fn id(self) -> &'static str {
        match self {
            Band::Minimal => "minimal",
            Band::Mild => "mild",
            Band::Moderate => "moderate",
            Band::ModeratelySevere => "moderately-severe",
            Band::Severe => "severe",
            Band::WellbeingAdequate => "wellbeing-adequate",
            Band::WellbeingLow => "wellbeing-low",
            Band::WellbeingVeryLow => "wellbeing-very-low",
            Band::BelowCutoff => "below-cutoff",
            Band::AboveCutoff => "above-cutoff",
        }
    }
}

/// A risk rule that fired: it calls for same-day follow-up whatever the total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiskFlag {
    /// PHQ-9 item 9 (thoughts of death or self-harm) above 0.
    Phq9Item9,
    /// SRQ-20 item 17 (thoughts of ending one's life) answered yes.
    Srq20Item17,
}

impl RiskFlag {
    /// The stable id (what a referral carries instead of the answers).
    pub fn id(self) -> &'static str {
        match self {
            RiskFlag::Phq9Item9 => "phq9-item9",
            RiskFlag::Srq20Item17 => "srq20-item17",
        }
    }
}

/// A scored instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    /// Which instrument.
    pub instrument: Instrument,
    /// The sum of the answers (WHO-5: the raw 0–25).
    pub total: u32,
    /// WHO-5 only: the percentage (raw × 4).
    pub percentage: Option<u32>,
    /// Where the total falls.
    pub band: Band,
    /// Whether the usual positive-screen threshold is met (PHQ-9 ≥ 10, GAD-7 ≥ 10, WHO-5 raw < 13 or
    /// any item ≤ 1, SRQ-20 ≥ 6).
    pub positive_screen: bool,
    /// Risk rules that fired.
    pub risk: Vec<RiskFlag>,
}

/// Scores one completed instrument. `answers` holds one answer per item, in order; a wrong count or
/// an answer out of range is [`Error::InvalidInput`] (nothing is scored from a partial form).
/// SRQ-20 is scored against [`DEFAULT_SRQ20_CUTOFF`]; a programme's own is [`score_srq20`]'s.
pub fn score(instrument: Instrument, answers: &[u8]) -> Result<Score> {
    score_with(instrument, answers, DEFAULT_SRQ20_CUTOFF)
}

/// SRQ-20 scored against `cutoff` yes answers (1 to 20), a programme's own (issue 14, item 8). The
/// item 17 rule fires whatever the cut-off: a cut-off says who screens positive, never who is at
/// risk.
pub fn score_srq20(answers: &[u8], cutoff: u32) -> Result<Score> {
    if !(1..=20).contains(&cutoff) {
        return Err(Error::InvalidInput(
            "an SRQ-20 cut-off is 1 to 20 yes answers".into(),
        ));
    }
    score_with(Instrument::Srq20, answers, cutoff)
}

fn score_with(instrument: Instrument, answers: &[u8], srq20_cutoff: u32) -> Result<Score> {
    if answers.len() != instrument.items() {
        return Err(Error::InvalidInput(format!(
            "{} has {} items, {} answers given",
            instrument.id(),
            instrument.items(),
            answers.len()
        )));
    }
    if let Some(pos) = answers.iter().position(|&a| a > instrument.max_answer()) {
        return Err(Error::InvalidInput(format!(
            "answer {} of {} is out of range 0 to {}",
            pos + 1,
            instrument.id(),
            instrument.max_answer()
        )));
    }
    let total: u32 = answers.iter().map(|&a| u32::from(a)).sum();
    let mut risk = Vec::new();
    let (band, positive_screen, percentage) = match instrument {
        Instrument::Phq9 => {
            if answers[8] > 0 {
                risk.push(RiskFlag::Phq9Item9);
            }
            let band = match total {
                0..=4 => Band::Minimal,
                5..=9 => Band::Mild,
                10..=14 => Band::Moderate,
                15..=19 => Band::ModeratelySevere,
                _ => Band::Severe,
            };
            (band, total >= 10, None)
        }
        Instrument::Gad7 => {
            let band = match total {
                0..=4 => Band::Minimal,
                5..=9 => Band::Mild,
                10..=14 => Band::Moderate,
                _ => Band::Severe,
            };
            (band, total >= 10, None)
        }
        Instrument::Who5 => {
            let pct = total * 4;
            let low_item = answers.iter().any(|&a| a <= 1);
            let band = if pct <= 28 {
                Band::WellbeingVeryLow
            } else if total < 13 || low_item {
                Band::WellbeingLow
            } else {
                Band::WellbeingAdequate
            };
            (band, total < 13 || low_item, Some(pct))
        }
        Instrument::Srq20 => {
            if answers[16] == 1 {
                risk.push(RiskFlag::Srq20Item17);
            }
            let above = total >= srq20_cutoff;
            (
                if above {
                    Band::AboveCutoff
                } else {
                    Band::BelowCutoff
                },
                above,
                None,
            )
        }
    };
    Ok(Score {
        instrument,
        total,
        percentage,
        band,
        positive_screen,
        risk,
    })
}
