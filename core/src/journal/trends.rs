//! Mood trends computed on the device (issue 4, check-ins): weekly averages and streaks over a
//! person's check-ins (journal entries, each with a mood 1–5), in the person's own time zone. Nothing
//! here leaves the device.

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// Most offset from UTC a time zone has, in minutes (UTC+14).
const MAX_OFFSET_MIN: i32 = 14 * 60;

/// The mood average of one week (Monday to Sunday, local time).
#[derive(Clone, Debug, PartialEq)]
pub struct WeekMood {
    /// The week's Monday, as days since 1970-01-01 (local).
    pub monday: i64,
    /// Average mood of the check-ins that week.
    pub average: f64,
    /// How many check-ins.
    pub count: u32,
}

/// Trends over a person's check-ins.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MoodTrends {
    /// One row per week that has check-ins, oldest first.
    pub weeks: Vec<WeekMood>,
    /// Days in a row, ending today or yesterday (local), with at least one check-in; 0 otherwise.
    pub current_streak: u32,
    /// The longest run of consecutive days with a check-in.
    pub longest_streak: u32,
}

/// The local day (days since 1970-01-01) of a time, for a zone `offset_min` minutes east of UTC.
fn local_day(ms: i64, offset_min: i32) -> i64 {
    (ms + i64::from(offset_min) * 60_000).div_euclid(DAY_MS)
}

/// Computes trends from (time in ms since the epoch, mood) pairs, at `now_ms`, for a zone
/// `offset_min` minutes east of UTC (clamped to ±14 h). Moods outside 1–5 are ignored.
pub fn mood_trends(checkins: &[(i64, u8)], now_ms: i64, offset_min: i32) -> MoodTrends {
    let offset = offset_min.clamp(-MAX_OFFSET_MIN, MAX_OFFSET_MIN);
    let mut days: Vec<(i64, u8)> = checkins
        .iter()
        .filter(|(_, m)| (1..=5).contains(m))
        .map(|&(t, m)| (local_day(t, offset), m))
        .collect();
    crate::order::sort(&mut days);
    // 1970-01-01 was a Thursday: day d falls in the week whose Monday is d - (d + 3) mod 7.
    let mut weeks: Vec<WeekMood> = Vec::new();
    let mut sums: Vec<u32> = Vec::new();
    for &(d, m) in &days {
        let monday = d - (d + 3).rem_euclid(7);
        match weeks.last_mut() {
            Some(w) if w.monday == monday => {
                w.count += 1;
                if let Some(s) = sums.last_mut() {
                    *s += u32::from(m);
                }
            }
            _ => {
                weeks.push(WeekMood {
                    monday,
                    average: 0.0,
                    count: 1,
                });
                sums.push(u32::from(m));
            }
        }
    }
    for (w, s) in weeks.iter_mut().zip(&sums) {
        w.average = f64::from(*s) / f64::from(w.count);
    }
    let mut distinct: Vec<i64> = days.iter().map(|(d, _)| *d).collect();
    distinct.dedup();
    let mut longest = 0u32;
    let mut run = 0u32;
    let mut prev: Option<i64> = None;
    for &d in &distinct {
        run = if prev == Some(d - 1) { run + 1 } else { 1 };
        longest = longest.max(run);
        prev = Some(d);
    }
    let today = local_day(now_ms, offset);
    let current = match distinct.last() {
        Some(&last) if last == today || last == today - 1 => run,
        _ => 0,
    };
    MoodTrends {
        weeks,
        current_streak: current,
        longest_streak: longest,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// 2026-11-23 (a Monday) 12:00 UTC.
    const MON: i64 = 1_795_435_200_000;

    #[test]
    fn weekly_averages_and_streaks() {
        let h = 3_600_000;
        let checkins = [
            (MON, 2),              // Mon
            (MON + 2 * h, 4),      // Mon again
            (MON + 24 * h, 3),     // Tue
            (MON + 48 * h, 5),     // Wed
            (MON + 7 * 24 * h, 1), // next Mon
            (MON + 8 * 24 * h, 9), // out of range: ignored
        ];
        let t = mood_trends(&checkins, MON + 8 * 24 * h, 0);
        assert_eq!(t.weeks.len(), 2);
        assert_eq!(t.weeks[0].monday, MON.div_euclid(DAY_MS));
        assert_eq!(t.weeks[0].count, 4);
        assert!((t.weeks[0].average - 3.5).abs() < 1e-9);
        assert_eq!(t.weeks[1].count, 1);
        assert_eq!(t.longest_streak, 3, "Mon, Tue, Wed");
        assert_eq!(t.current_streak, 1, "next Monday, seen on Tuesday");
        assert_eq!(
            mood_trends(&checkins, MON + 10 * 24 * h, 0).current_streak,
            0
        );
        assert_eq!(mood_trends(&[], MON, 0), MoodTrends::default());
    }

    #[test]
    fn days_and_weeks_follow_the_local_zone() {
        // Sunday 23:30 in Jakarta (UTC+7) is Sunday 16:30 UTC; Monday 00:30 in Jakarta is Sunday
        // 17:30 UTC: a different week in Jakarta, the same week in UTC.
        let sun_late = MON - 24 * 3_600_000 + 4 * 3_600_000 + 30 * 60_000; // Sun 16:30 UTC
        let mon_early = sun_late + 3_600_000; // Sun 17:30 UTC = Mon 00:30 WIB
        let wib = mood_trends(&[(sun_late, 2), (mon_early, 4)], mon_early, 7 * 60);
        assert_eq!(wib.weeks.len(), 2);
        assert_eq!(wib.longest_streak, 2);
        let utc = mood_trends(&[(sun_late, 2), (mon_early, 4)], mon_early, 0);
        assert_eq!(utc.weeks.len(), 1);
        assert_eq!(utc.longest_streak, 1);
        // An absurd offset is clamped, not trusted.
        assert_eq!(mood_trends(&[(MON, 3)], MON, i32::MAX).weeks.len(), 1);
    }
}
