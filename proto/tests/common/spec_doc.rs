//! The protocol document as the vector tests read it, and the hashes they recompute by hand (ring's
//! SHA-256 and HMAC only, so a vector never depends on the crate's own derivations). Shared by
//! `proto/tests/spec_vectors.rs`, `proto/tests/spec_constants.rs`, `proto/tests/vectors.rs` and
//! `core/tests/spec_vectors.rs` (through `#[path]`); each uses part of it.
#![allow(dead_code)]

use ring::{digest, hmac};

/// A file of the repository, by its path from the repository's root.
pub fn repo_file(relative: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn spec() -> String {
    repo_file("docs/protocol.md")
}

/// The document without whitespace, so hex split over lines is found whole.
pub fn squeezed_spec() -> String {
    spec().chars().filter(|c| !c.is_whitespace()).collect()
}

/// The text of one section, from its heading to the next heading of the same or a higher level.
pub fn section(doc: &str, heading: &str) -> String {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/protocol.md has no {heading:?}"));
    let level = heading
        .trim_start_matches('\n')
        .chars()
        .take_while(|c| *c == '#')
        .count();
    let rest = &doc[start + heading.len()..];
    let mut end = rest.len();
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            end = at;
            break;
        }
        at += line.len();
    }
    rest[..end].to_string()
}

pub fn assert_documented(name: &str, hex_text: &str) {
    assert!(
        squeezed_spec().contains(hex_text),
        "docs/protocol.md lacks the {name}: {hex_text}"
    );
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    digest::digest(&digest::SHA256, data)
        .as_ref()
        .try_into()
        .unwrap()
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .try_into()
        .unwrap()
}

/// HKDF-SHA256 (RFC 5869), one output block: `HMAC(HMAC(salt, ikm), info ‖ 0x01)`.
pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    hmac_sha256(&hmac_sha256(salt, ikm), &[info, &[1u8]].concat())
}
