//! Link options for the mobile library (the cdylib only; nothing else in the workspace is affected).
//!
//! - `-z max-page-size=16384`: every LOAD segment aligned to 16 KB, as Android 15+ devices with
//!   16 KB pages require (harmless on 4 KB-page systems).
//! - Release builds on lld targets: `--icf=safe` folds identical functions (only those whose address
//!   is never taken), and on glibc hosts `-z pack-relative-relocs` stores relative relocations in the
//!   compact RELR form. See docs/size.md for what each saves and where each applies.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let target = env::var("TARGET").unwrap_or_default();
    let release = env::var("PROFILE").map(|p| p == "release").unwrap_or(false);
    if os == "linux" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,max-page-size=16384");
    }
    // lld is the linker of the Android NDK and, since Rust 1.90, of x86_64-unknown-linux-gnu; other
    // linux targets may link with GNU ld, which has no --icf.
    let lld = os == "android" || target == "x86_64-unknown-linux-gnu";
    if release && lld {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--icf=safe");
    }
    // DT_RELR needs glibc 2.36+ to load; on Android it needs API 28+ (not assumed here).
    if release && os == "linux" && target_env == "gnu" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
}
