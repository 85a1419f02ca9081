//! Replays every committed corpus file of every fuzz target through the target's harness function,
//! on stable Rust, without libFuzzer: what fuzzing found once (crashes included, kept in the corpus)
//! is checked at every `cargo test --workspace`. A target without a corpus fails, so a new target
//! cannot be added without seeds.

#![allow(clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

#[test]
fn every_corpus_file_of_every_target_runs_without_panic() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut failures = Vec::new();
    let mut total = 0usize;
    for (name, run) in sebaya_fuzz_harness::TARGETS {
        let dir = corpus.join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("target {name} has no corpus at {}: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "target {name} has an empty corpus");
        for f in files {
            let bytes = std::fs::read(&f).expect("corpus file reads");
            total += 1;
            if catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
                failures.push(format!("{name}: {}", f.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} corpus files panicked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
