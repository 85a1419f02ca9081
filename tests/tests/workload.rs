//! The operation stream follows the shape workloads.md specifies.
#![allow(clippy::unwrap_used, clippy::panic)]

use sebaya_tests::workload::{Mulberry32, Op, fingerprint, ops};

#[test]
fn mulberry32_matches_its_reference_outputs() {
    // Reference outputs of mulberry32(1), computed independently with the usual JavaScript form
    // (Math.imul) under node.
    let mut r = Mulberry32::new(1);
    let got: Vec<u32> = (0..3).map(|_| r.next_u32()).collect();
    assert_eq!(got, vec![2_693_262_067, 11_749_833, 2_265_367_787]);
}

#[test]
fn stream_has_the_specified_mix_and_text_lengths() {
    let s = ops(1, 1000);
    let news = s.iter().filter(|o| matches!(o, Op::New { .. })).count();
    assert_eq!((news, s.len() - news), (700, 300));
    let tail = &s[900..];
    assert_eq!(
        tail.iter().filter(|o| matches!(o, Op::New { .. })).count(),
        70
    );
    let mut total = 0usize;
    for o in &s {
        let t = match o {
            Op::New { text, .. } | Op::Edit { text, .. } => text,
        };
        let n = t.chars().count();
        assert!((181..=229).contains(&n), "text of {n} chars");
        assert!(t.ends_with('.'));
        total += n;
    }
    let mean = total as f64 / s.len() as f64;
    assert!((195.0..215.0).contains(&mean), "mean {mean}");
    assert_eq!(fingerprint(&s), fingerprint(&ops(1, 1000)), "deterministic");
    assert_ne!(fingerprint(&s), fingerprint(&ops(2, 1000)));
}
