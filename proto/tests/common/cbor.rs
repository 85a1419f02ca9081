//! A minimal CBOR writer (RFC 8949, definite lengths, shortest heads), written apart from the crate's
//! own encoder so the vector tests check the documented bytes against an independent encoding. Shared
//! by `proto/tests/vectors.rs`, `proto/tests/spec_vectors.rs` and `core/tests/spec_vectors.rs`
//! (through `#[path]`); each uses part of it.
#![allow(dead_code)]

pub fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        0x1_0000..=0xffff_ffff => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 27], n.to_be_bytes().to_vec()].concat(),
    }
}
pub fn uint(n: u64) -> Vec<u8> {
    head(0, n)
}
pub fn bytes(b: &[u8]) -> Vec<u8> {
    [head(2, b.len() as u64), b.to_vec()].concat()
}
pub fn text(s: &str) -> Vec<u8> {
    [head(3, s.len() as u64), s.as_bytes().to_vec()].concat()
}
pub fn array(items: &[Vec<u8>]) -> Vec<u8> {
    [head(4, items.len() as u64), items.concat()].concat()
}
/// A map with text keys, in the order given.
pub fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, entries.len() as u64);
    for (k, v) in entries {
        out.extend(text(k));
        out.extend_from_slice(v);
    }
    out
}
pub fn boolean(b: bool) -> Vec<u8> {
    vec![if b { 0xf5 } else { 0xf4 }]
}
pub fn null() -> Vec<u8> {
    vec![0xf6]
}
