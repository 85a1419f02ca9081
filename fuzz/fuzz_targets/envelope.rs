#![no_main]
//! libFuzzer entry for `sebaya_fuzz_harness::envelope` (the harness says what it fuzzes and checks).

libfuzzer_sys::fuzz_target!(
    init: sebaya_fuzz_harness::report_caught_panics(),
    |data: &[u8]| sebaya_fuzz_harness::envelope(data)
);
