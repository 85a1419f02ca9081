//! Reading CBOR through one decoder, for the mobile library's size.
//!
//! ciborium's reader is generic over what it builds: each type read straight from bytes linked its
//! own copy of the reader's parsing paths (141 KB for the membership statement's operations alone).
//! Here the bytes are parsed once into a [`ciborium::Value`] (one copy of the parser for the device
//! core and this crate) and the type is built from that value, which is far smaller per type. The
//! price is a second copy of what is read while it is built, and a little time: what is read here is
//! small and not per edit (membership statements, signed bodies, the device's own records, link
//! codes, programme and training documents). Envelopes, sync messages and other bulk are read
//! straight from bytes.

use serde::de::DeserializeOwned;

/// Reads `bytes` as one CBOR item of type `T`, nesting at most `depth` levels; the error is the
/// decoder's own text, which names a place or a type, never a value read.
///
/// The answer is the one ciborium's reader gives for the same bytes (tests below): the value keeps
/// maps as ordered pairs, so a repeated field is still refused, and bytes stay bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], depth: usize) -> Result<T, String> {
    let value = parse(bytes, depth)?;
    value.deserialized().map_err(|e| e.to_string())
}

/// The one place bytes are parsed.
fn parse(bytes: &[u8], depth: usize) -> Result<ciborium::Value, String> {
    ciborium::de::from_reader_with_recursion_limit(bytes, depth).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
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
    fn truncated_altered_repeated_or_too_deep_bytes_are_refused_as_the_reader_refuses_them() {
        let b = bytes_of(&Record::default());
        for cut in 0..b.len() {
            assert_eq!(ours::<Record>(&b[..cut], 16), None, "cut at {cut}");
            assert_eq!(direct::<Record>(&b[..cut], 16), None);
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
