//! Instrument scoring checked exhaustively against an independent formula (issue 4): every PHQ-9
//! (4^9), GAD-7 (4^7), WHO-5 (6^5) and SRQ-20 (2^20) answer set, with every risk rule; out-of-range
//! answers and wrong counts are typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::Error;
use sebaya_core::care::instruments::{Band, Instrument, RiskFlag, score};

/// Every answer set of `items` items, each 0..=max, as a mixed-radix counter.
fn each_set(items: usize, max: u8, mut f: impl FnMut(&[u8])) {
    let mut a = vec![0u8; items];
    loop {
        f(&a);
        let mut i = 0;
        loop {
            if i == items {
                return;
            }
            if a[i] < max {
                a[i] += 1;
                break;
            }
            a[i] = 0;
            i += 1;
        }
    }
}

/// The published bands, written from care.md as (lowest total, band) tables.
fn band_from_table(table: &[(u32, Band)], total: u32) -> Band {
    table
        .iter()
        .rev()
        .find(|(lo, _)| total >= *lo)
        .map(|(_, b)| *b)
        .unwrap()
}

#[test]
fn phq9_every_answer_set() {
    let table = [
        (0, Band::Minimal),
        (5, Band::Mild),
        (10, Band::Moderate),
        (15, Band::ModeratelySevere),
        (20, Band::Severe),
    ];
    let mut n = 0u32;
    let mut flagged = 0u32;
    each_set(9, 3, |a| {
        let s = score(Instrument::Phq9, a).unwrap();
        let total: u32 = a.iter().fold(0, |acc, &x| acc + x as u32);
        assert_eq!(s.total, total);
        assert_eq!(s.band, band_from_table(&table, total));
        assert_eq!(s.positive_screen, total > 9);
        let item9 = a[8] != 0;
        assert_eq!(s.risk == vec![RiskFlag::Phq9Item9], item9);
        assert_eq!(s.risk.is_empty(), !item9);
        assert_eq!(s.percentage, None);
        n += 1;
        flagged += u32::from(item9);
    });
    assert_eq!(n, 4u32.pow(9));
    assert_eq!(
        flagged,
        4u32.pow(9) - 4u32.pow(8),
        "item 9 above 0 in 3/4 of the sets"
    );
}

#[test]
fn gad7_every_answer_set() {
    let table = [
        (0, Band::Minimal),
        (5, Band::Mild),
        (10, Band::Moderate),
        (15, Band::Severe),
    ];
    let mut n = 0u32;
    each_set(7, 3, |a| {
        let s = score(Instrument::Gad7, a).unwrap();
        let total: u32 = a.iter().map(|&x| x as u32).sum();
        assert_eq!(s.total, total);
        assert_eq!(s.band, band_from_table(&table, total));
        assert_eq!(s.positive_screen, total >= 10);
        assert!(s.risk.is_empty());
        n += 1;
    });
    assert_eq!(n, 4u32.pow(7));
}

#[test]
fn who5_every_answer_set() {
    let mut n = 0u32;
    each_set(5, 5, |a| {
        let s = score(Instrument::Who5, a).unwrap();
        let raw: u32 = a.iter().map(|&x| x as u32).sum();
        let pct = raw * 4;
        let any_low = a.contains(&0) || a.contains(&1);
        assert_eq!(s.total, raw);
        assert_eq!(s.percentage, Some(pct));
        assert_eq!(s.positive_screen, raw < 13 || any_low);
        let expected = if pct <= 28 {
            Band::WellbeingVeryLow
        } else if raw < 13 || any_low {
            Band::WellbeingLow
        } else {
            Band::WellbeingAdequate
        };
        assert_eq!(s.band, expected);
        assert!(s.risk.is_empty());
        n += 1;
    });
    assert_eq!(n, 6u32.pow(5));
}

#[test]
fn srq20_every_answer_set() {
    let mut n = 0u32;
    for bits in 0u32..(1 << 20) {
        let a: Vec<u8> = (0..20).map(|i| ((bits >> i) & 1) as u8).collect();
        let s = score(Instrument::Srq20, &a).unwrap();
        let yes = bits.count_ones();
        assert_eq!(s.total, yes);
        assert_eq!(s.positive_screen, yes >= 6);
        assert_eq!(
            s.band,
            if yes >= 6 {
                Band::AboveCutoff
            } else {
                Band::BelowCutoff
            }
        );
        assert_eq!(
            s.risk.contains(&RiskFlag::Srq20Item17),
            bits & (1 << 16) != 0
        );
        n += 1;
    }
    assert_eq!(n, 1 << 20);
}

#[test]
fn wrong_counts_and_out_of_range_answers_are_typed_errors() {
    for inst in [
        Instrument::Phq9,
        Instrument::Gad7,
        Instrument::Who5,
        Instrument::Srq20,
    ] {
        let n = inst.items();
        assert!(matches!(
            score(inst, &vec![0; n - 1]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            score(inst, &vec![0; n + 1]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(score(inst, &[]), Err(Error::InvalidInput(_))));
        for pos in 0..n {
            let mut a = vec![0; n];
            a[pos] = inst.max_answer() + 1;
            assert!(matches!(score(inst, &a), Err(Error::InvalidInput(_))));
            a[pos] = u8::MAX;
            assert!(matches!(score(inst, &a), Err(Error::InvalidInput(_))));
        }
        assert_eq!(Instrument::from_id(inst.id()).unwrap(), inst);
    }
    assert!(matches!(
        Instrument::from_id("bdi"),
        Err(Error::InvalidInput(_))
    ));
}
