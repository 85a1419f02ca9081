//! Reading CBOR through one decoder, for the mobile library's size.
//!
//! ciborium's reader is generic over what it builds: each type read straight from bytes linked its
//! own copy of the reader's parsing paths (141 KB for the membership statement's operations alone).
//! Here the bytes are parsed once into a [`ciborium::Value`] (one copy of the parser for the device
//! core and this crate) and the type is built from that value, which is far smaller per type. The
//! price is a second copy of what is read while it is built, and a little time: what is read here is
//! small, bounded and not per edit (membership statements, signed bodies, the device's own records,
//! programme and training credentials). Envelopes, sync messages, link codes, presentations and
//! other bulk are read straight from bytes.

use serde::de::DeserializeOwned;

/// Why bytes were refused. Deliberately without anything read: ciborium's value errors quote the
/// text they met, and a refusal's text reaches logs and the app's error detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CborError {
    /// Not one well-formed CBOR item within the nesting limit (truncated, damaged, too deep).
    NotCbor,
    /// Well-formed, but not the type expected (a missing or repeated field, a wrong type).
    WrongShape,
}

impl std::fmt::Display for CborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CborError::NotCbor => "not one well-formed CBOR item within the nesting limit",
            CborError::WrongShape => "CBOR of another shape than expected",
        })
    }
}

impl std::error::Error for CborError {}

/// Reads `bytes` as one CBOR item of type `T`, nesting at most `depth` levels.
///
/// What it accepts is what ciborium's reader accepts for the types read here (the tests below
/// compare them), with one difference that does not reach them: the value path wants bytes where
/// the type reads bytes (`serde_bytes`), where the reader also took an array of small integers. Its
/// memory is a `Value` per item read (about 32 bytes each), so callers bound the input first; the
/// carried envelopes, link codes and sync messages are read straight from bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], depth: usize) -> Result<T, CborError> {
    let value = parse(bytes, depth)?;
    value.deserialized().map_err(|_| CborError::WrongShape)
}

/// The one place bytes are parsed.
fn parse(bytes: &[u8], depth: usize) -> Result<ciborium::Value, CborError> {
    ciborium::de::from_reader_with_recursion_limit(bytes, depth).map_err(|_| CborError::NotCbor)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct Record {
        name: String,
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        ids: Vec<[u8; 4]>,
        at: Option<u64>,
        kind: Kind,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    enum Kind {
        #[default]
        Plain,
        Named(String),
    }

    fn bytes_of(v: &impl Serialize) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).expect("encode in a test");
        out
    }

    fn direct<T: DeserializeOwned>(bytes: &[u8], depth: usize) -> Option<T> {
        ciborium::de::from_reader_with_recursion_limit(bytes, depth).ok()
    }

    fn ours<T: DeserializeOwned>(bytes: &[u8], depth: usize) -> Option<T> {
        decode(bytes, depth).ok()
    }

    #[test]
    fn a_record_reads_back_as_the_reader_reads_it() {
        let r = Record {
            name: "kelompok".into(),
            key: vec![7; 32],
            ids: vec![[1, 2, 3, 4]],
            at: Some(1_700_000_000_000),
            kind: Kind::Named("pagi".into()),
        };
        let b = bytes_of(&r);
        assert_eq!(ours::<Record>(&b, 16), Some(r));
        assert_eq!(ours::<Record>(&b, 16), direct::<Record>(&b, 16));
    }

    #[test]
    fn a_unit_variant_a_missing_option_and_a_default_field_read_as_the_reader_reads_them() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Small {
            kind: Kind,
            at: Option<u64>,
            #[serde(default)]
            count: u32,
        }
        let mut map = vec![0xa2];
        map.extend_from_slice(&bytes_of(&"kind"));
        map.extend_from_slice(&bytes_of(&"Plain"));
        map.extend_from_slice(&bytes_of(&"at"));
        map.push(0xf6);
        let read = ours::<Small>(&map, 8);
        assert_eq!(
            read,
            Some(Small {
                kind: Kind::Plain,
                at: None,
                count: 0
            })
        );
        assert_eq!(read, direct::<Small>(&map, 8));
    }

    #[test]
    fn a_refusal_never_quotes_what_it_read() {
        let secret = "aku tidak mau hidup lagi";
        // A text where a number is expected, and a text as an unknown enum variant.
        for bytes in [bytes_of(&secret), {
            let mut m = vec![0xa1];
            m.extend_from_slice(&bytes_of(&"kind"));
            m.extend_from_slice(&bytes_of(&secret));
            m
        }] {
            let as_number = decode::<u64>(&bytes, 8).map_err(|e| e.to_string());
            let as_record = decode::<Record>(&bytes, 8).map_err(|e| e.to_string());
            for e in [as_number, as_record.map(|_| 0)] {
                let text = e.expect_err("refused");
                assert!(!text.contains("hidup"), "{text}");
            }
        }
        assert_eq!(decode::<u64>(&[0x1b, 1], 8), Err(CborError::NotCbor));
        assert_eq!(
            decode::<u64>(&bytes_of(&"x"), 8),
            Err(CborError::WrongShape)
        );
    }

    #[test]
    fn truncated_altered_repeated_or_too_deep_bytes_are_refused_as_the_reader_refuses_them() {
        let b = bytes_of(&Record::default());
        for cut in 0..b.len() {
            assert_eq!(ours::<Record>(&b[..cut], 16), None, "cut at {cut}");
            assert_eq!(direct::<Record>(&b[..cut], 16), None);
        }
        // One level is the limit: four nested arrays pass at 4 and not at 3, on both paths.
        let nested = bytes_of(&vec![vec![vec![vec![1u8]]]]);
        for depth in [3, 4] {
            assert_eq!(
                ours::<Vec<Vec<Vec<Vec<u8>>>>>(&nested, depth).is_some(),
                direct::<Vec<Vec<Vec<Vec<u8>>>>>(&nested, depth).is_some(),
                "depth {depth}"
            );
        }
        // A map whose field "name" comes twice.
        let mut map = vec![0xa2];
        map.extend_from_slice(&bytes_of(&"name"));
        map.extend_from_slice(&bytes_of(&"a"));
        map.extend_from_slice(&bytes_of(&"name"));
        map.extend_from_slice(&bytes_of(&"b"));
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Named {
            name: String,
        }
        assert!(ours::<Named>(&map, 16).is_none());
        assert!(direct::<Named>(&map, 16).is_none());
        // Bytes where a text is expected, and nesting past the limit.
        let wrong = bytes_of(&serde_bytes::ByteBuf::from(vec![1, 2]));
        assert!(ours::<String>(&wrong, 16).is_none());
        let deep = bytes_of(&vec![vec![vec![vec![1u8]]]]);
        assert!(ours::<Vec<Vec<Vec<Vec<u8>>>>>(&deep, 2).is_none());
        assert!(ours::<Vec<Vec<Vec<Vec<u8>>>>>(&deep, 16).is_some());
    }
}
