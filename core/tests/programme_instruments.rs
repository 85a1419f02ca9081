//! Programme-defined instruments (issue 14, item 8): a programme's published instrument as data,
//! validated on import with a typed error per fault, and scored on the device like the built-ins.
//!
//! Every instrument here is FICTIONAL ("TEST-3", "TEST-4"): placeholder items and labels made up for
//! tests, no real instrument's wording, cut-offs or citation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::Error;
use sebaya_core::care::instruments::{Instrument, score_srq20};
use sebaya_core::care::programme_instruments::{
    DefinitionError, ID_PREFIX, is_programme_flag, parse,
};

/// TEST-3: three placeholder items answered 0–2, item 2 reverse-scored, bands 0–2 and 3–6, item 3
/// raising a flag on 1 or 2. Fictional.
fn test3() -> serde_json::Value {
    serde_json::json!({
        "schema": "sebaya-instrument/1",
        "id": "x-test3",
        "name": "TEST-3 (fictional)",
        "version": "1.0",
        "citation": {
            "authors": "Sebaya test fixture",
            "year": 2026,
            "title": "TEST-3, a fictional three-item instrument for tests",
            "published_in": "not published: a test fixture"
        },
        "licence": "fictional, for tests only",
        "age": {"min": 12, "max": 17},
        "scoring": {"reverse_items": [2], "multiplier": 1},
        "bands": [
            {"id": "low", "min": 0, "max": 2, "positive": false},
            {"id": "high", "min": 3, "max": 6, "positive": true}
        ],
        "risk_items": [{"item": 3, "values": [1, 2]}],
        "languages": [{
            "language": "en",
            "instructions": "Placeholder instructions",
            "items": ["Placeholder item one", "Placeholder item two", "Placeholder item three"],
            "options": [
                {"label": "Placeholder answer A", "value": 0},
                {"label": "Placeholder answer B", "value": 1},
                {"label": "Placeholder answer C", "value": 2}
            ],
            "bands": {"low": "Placeholder low", "high": "Placeholder high"}
        }]
    })
}

fn problem(v: &serde_json::Value) -> DefinitionError {
    match parse(&v.to_string()) {
        Err(e) => e,
        Ok(_) => panic!("accepted: {v}"),
    }
}

#[test]
fn a_fictional_instrument_parses_and_scores_with_reverse_items_bands_and_risk() {
    let d = parse(&test3().to_string()).unwrap();
    assert_eq!(d.id, "x-test3");
    assert_eq!(d.version, "1.0");
    assert_eq!((d.min_age, d.max_age), (12, 17));
    assert_eq!(d.items(), 3);
    assert_eq!(d.citation.year, 2026);
    // Item 2 is reverse-scored: 0 counts 2, 2 counts 0.
    let s = d.score(&[0, 0, 0]).unwrap();
    assert_eq!(
        (s.total, s.band.as_str(), s.positive_screen),
        (2, "low", false)
    );
    assert!(s.risk.is_empty());
    let s = d.score(&[2, 0, 0]).unwrap();
    assert_eq!(
        (s.total, s.band.as_str(), s.positive_screen),
        (4, "high", true)
    );
    assert_eq!(s.instrument, "x-test3");
    assert_eq!(s.version, "1.0");
    // Item 3 at 1 or 2 raises the flag whatever the total.
    for v in [1u8, 2] {
        let s = d.score(&[0, 2, v]).unwrap();
        assert_eq!(s.risk, vec!["x-test3-item3".to_string()]);
        assert!(is_programme_flag(&s.risk[0]));
    }
    // Every answer set scores to sum(values, item 2 reversed), in exactly one band.
    for a in 0..=2u8 {
        for b in 0..=2u8 {
            for c in 0..=2u8 {
                let s = d.score(&[a, b, c]).unwrap();
                let want = u32::from(a) + u32::from(2 - b) + u32::from(c);
                assert_eq!(s.total, want);
                assert_eq!(s.band, if want <= 2 { "low" } else { "high" });
                assert_eq!(s.risk.is_empty(), c == 0);
            }
        }
    }
    // Wrong counts and values out of range are refused; nothing is scored from a partial form.
    assert!(matches!(d.score(&[0, 0]), Err(Error::InvalidInput(_))));
    assert!(matches!(d.score(&[0, 0, 3]), Err(Error::InvalidInput(_))));
    // The form in a language: labels with their values.
    let f = d.form("en-GB").unwrap();
    assert_eq!(f.language, "en");
    assert_eq!(f.options[2].label, "Placeholder answer C");
    assert_eq!(f.options[2].value, 2);
    assert!(
        d.form("id").is_none(),
        "no form in a language it does not have"
    );
}

#[test]
fn a_multiplier_scales_the_total_and_the_bands_cover_the_scaled_range() {
    let mut v = test3();
    v["scoring"]["multiplier"] = 4.into();
    v["bands"] = serde_json::json!([
        {"id": "low", "min": 0, "max": 11, "positive": false},
        {"id": "high", "min": 12, "max": 24, "positive": true}
    ]);
    let d = parse(&v.to_string()).unwrap();
    let s = d.score(&[2, 0, 2]).unwrap();
    assert_eq!((s.total, s.band.as_str()), (24, "high"));
    // The unscaled bands now leave 7..=24 uncovered.
    let mut v = test3();
    v["scoring"]["multiplier"] = 4.into();
    assert!(matches!(problem(&v), DefinitionError::BandsGap { .. }));
    v["scoring"]["multiplier"] = 0.into();
    assert!(matches!(problem(&v), DefinitionError::Multiplier));
}

#[test]
fn overlapping_bands_and_gaps_are_refused() {
    let mut v = test3();
    v["bands"][1]["min"] = 2.into();
    assert_eq!(
        problem(&v),
        DefinitionError::BandsOverlap { at: 2 },
        "2 falls in both bands"
    );
    let mut v = test3();
    v["bands"][1]["min"] = 4.into();
    assert_eq!(problem(&v), DefinitionError::BandsGap { at: 3 });
    // The range not covered at either end.
    let mut v = test3();
    v["bands"][0]["min"] = 1.into();
    assert_eq!(problem(&v), DefinitionError::BandsGap { at: 0 });
    let mut v = test3();
    v["bands"][1]["max"] = 5.into();
    assert_eq!(problem(&v), DefinitionError::BandsGap { at: 6 });
    // Beyond the range, or upside down.
    let mut v = test3();
    v["bands"][1]["max"] = 7.into();
    assert!(matches!(problem(&v), DefinitionError::Band(_)));
    let mut v = test3();
    v["bands"][0]["min"] = 3.into();
    assert!(matches!(problem(&v), DefinitionError::Band(_)));
    // A band's label missing in a language.
    let mut v = test3();
    v["languages"][0]["bands"] = serde_json::json!({"low": "x"});
    assert!(matches!(problem(&v), DefinitionError::Band(_)));
}

#[test]
fn risk_items_out_of_range_are_refused() {
    let mut v = test3();
    v["risk_items"][0]["item"] = 4.into();
    assert_eq!(problem(&v), DefinitionError::RiskItemOutOfRange { item: 4 });
    v["risk_items"][0]["item"] = 0.into();
    assert_eq!(problem(&v), DefinitionError::RiskItemOutOfRange { item: 0 });
    let mut v = test3();
    v["risk_items"][0]["values"] = serde_json::json!([3]);
    assert_eq!(
        problem(&v),
        DefinitionError::RiskValueOutOfRange { item: 3 }
    );
    let mut v = test3();
    v["risk_items"][0]["values"] = serde_json::json!([]);
    assert_eq!(
        problem(&v),
        DefinitionError::RiskValueOutOfRange { item: 3 }
    );
}

#[test]
fn a_citation_is_required_and_complete() {
    let mut v = test3();
    v.as_object_mut().unwrap().remove("citation");
    assert_eq!(problem(&v), DefinitionError::MissingCitation);
    let mut v = test3();
    v["citation"] = serde_json::Value::Null;
    assert_eq!(problem(&v), DefinitionError::MissingCitation);
    for field in ["authors", "title", "published_in"] {
        let mut v = test3();
        v["citation"][field] = "  ".into();
        assert_eq!(problem(&v), DefinitionError::MissingCitation, "{field}");
    }
    let mut v = test3();
    v["citation"]["year"] = 1700.into();
    assert_eq!(problem(&v), DefinitionError::MissingCitation);
    let mut v = test3();
    v["licence"] = "".into();
    assert_eq!(problem(&v), DefinitionError::MissingLicence);
}

#[test]
fn a_label_without_a_value_is_refused() {
    let mut v = test3();
    v["languages"][0]["options"][1]
        .as_object_mut()
        .unwrap()
        .remove("value");
    assert_eq!(problem(&v), DefinitionError::LabelWithoutValue);
    // Values not each once, or not one run of whole numbers.
    let mut v = test3();
    v["languages"][0]["options"][1]["value"] = 0.into();
    assert_eq!(problem(&v), DefinitionError::AnswerValues);
    let mut v = test3();
    v["languages"][0]["options"][2]["value"] = 5.into();
    assert_eq!(problem(&v), DefinitionError::AnswerValues);
}

#[test]
fn an_id_colliding_with_a_built_in_or_outside_the_namespace_is_refused() {
    for id in [
        "phq9", "gad7", "who5", "srq20", "test3", "x-", "x-Test3", "x-a b", "x-",
    ] {
        let mut v = test3();
        v["id"] = id.into();
        let p = problem(&v);
        assert!(
            matches!(p, DefinitionError::ReservedId | DefinitionError::Id),
            "{id}: {p:?}"
        );
    }
    for id in ["phq9", "srq20"] {
        let mut v = test3();
        v["id"] = id.into();
        assert_eq!(problem(&v), DefinitionError::ReservedId);
        assert!(Instrument::from_id(id).is_ok());
    }
    assert_eq!(ID_PREFIX, "x-");
    // The longest id still makes a flag id a referral can carry.
    let mut v = test3();
    v["id"] = format!("x-{}", "a".repeat(24)).into();
    parse(&v.to_string()).unwrap();
    v["id"] = format!("x-{}", "a".repeat(25)).into();
    assert_eq!(problem(&v), DefinitionError::Id);
}

#[test]
fn other_faults_each_have_their_own_error_and_never_echo_the_text() {
    let cases: Vec<(serde_json::Value, DefinitionError)> = vec![
        (
            {
                let mut v = test3();
                v["schema"] = "sebaya-instrument/9".into();
                v
            },
            DefinitionError::Schema,
        ),
        (
            {
                // A second language with one item fewer.
                let mut v = test3();
                let mut other = v["languages"][0].clone();
                other["language"] = "fr".into();
                other["items"] = serde_json::json!(["a", "b"]);
                v["languages"].as_array_mut().unwrap().push(other);
                v
            },
            DefinitionError::ItemCount,
        ),
        (
            {
                let mut v = test3();
                v["languages"] = serde_json::json!([]);
                v
            },
            DefinitionError::NoLanguage,
        ),
        (
            {
                let mut v = test3();
                v["age"] = serde_json::json!({"min": 18, "max": 12});
                v
            },
            DefinitionError::Age,
        ),
        (
            {
                let mut v = test3();
                v["scoring"]["reverse_items"] = serde_json::json!([9]);
                v
            },
            DefinitionError::ReverseItemOutOfRange { item: 9 },
        ),
        (
            {
                let mut v = test3();
                let en = v["languages"][0].clone();
                v["languages"] = serde_json::json!([en.clone(), en]);
                v
            },
            DefinitionError::Language,
        ),
        (
            {
                let mut v = test3();
                v["languages"][0]["items"][0] = "RAHASIA\u{0007}".into();
                v
            },
            DefinitionError::Text,
        ),
        (
            {
                let mut v = test3();
                v["RAHASIA"] = 1.into();
                v
            },
            DefinitionError::Json { line: 0, column: 0 },
        ),
    ];
    for (v, want) in cases {
        let got = problem(&v);
        match want {
            DefinitionError::Json { .. } => assert!(matches!(got, DefinitionError::Json { .. })),
            _ => assert_eq!(got, want),
        }
        let e: Error = got.clone().into();
        let m = e.to_string();
        assert!(!m.contains("RAHASIA"), "{m}");
        assert!(m.contains(got.code()), "{m}");
    }
    assert!(matches!(parse("{"), Err(DefinitionError::Json { .. })));
}

#[test]
fn srq20_scores_against_the_cutoff_given() {
    let mut seven = [0u8; 20];
    for a in seven.iter_mut().take(7) {
        *a = 1;
    }
    assert!(score_srq20(&seven, 6).unwrap().positive_screen);
    let s = score_srq20(&seven, 8).unwrap();
    assert!(!s.positive_screen);
    assert_eq!(s.band.id(), "below-cutoff");
    // Item 17 fires whatever the cut-off.
    let mut a = [0u8; 20];
    a[16] = 1;
    assert_eq!(score_srq20(&a, 20).unwrap().risk.len(), 1);
    assert!(score_srq20(&a, 0).is_err());
    assert!(score_srq20(&a, 21).is_err());
}
