//! Reading CBOR through one decoder, for the mobile library's size.
//!
//! ciborium's reader is generic over what it builds: each type read straight from bytes linked its
//! own copy of the reader's parsing paths. Here the bytes are parsed once into a [`ciborium::Value`]
//! (one copy of the parser for the whole core) and the type is built from that value, which is far
//! smaller per type. The price is a second copy of what is read while it is built, so the records read
//! here are small: the device's own (held spaces, queues, policies) and small messages (link codes,
//! programme and training documents). Envelopes and other bulk (the carried envelopes, up to 16 MiB)
//! are read straight from bytes.

use serde::de::DeserializeOwned;

/// Reads `bytes` as one CBOR item of type `T`, nesting at most `depth` levels; `None` when the bytes
/// are not that (the caller names what was corrupt or refused).
///
/// The answer is the one ciborium's reader gives for the same bytes (tests below): the value keeps
/// maps as ordered pairs, so a repeated field is still refused, and bytes stay bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], depth: usize) -> Option<T> {
    let value = parse(bytes, depth)?;
    value.deserialized().ok()
}

/// The one place bytes are parsed.
fn parse(bytes: &[u8], depth: usize) -> Option<ciborium::Value> {
    ciborium::de::from_reader_with_recursion_limit(bytes, depth).ok()
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
        assert_eq!(decode::<Record>(&b, 16), Some(r));
        assert_eq!(decode::<Record>(&b, 16), direct::<Record>(&b, 16));
    }

    #[test]
    fn truncated_altered_repeated_or_too_deep_bytes_are_refused_as_the_reader_refuses_them() {
        let b = bytes_of(&Record::default());
        for cut in 0..b.len() {
            assert_eq!(decode::<Record>(&b[..cut], 16), None, "cut at {cut}");
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
        assert!(decode::<Named>(&map, 16).is_none());
        assert!(direct::<Named>(&map, 16).is_none());
        // Bytes where a text is expected, and nesting past the limit.
        let wrong = bytes_of(&serde_bytes::ByteBuf::from(vec![1, 2]));
        assert!(decode::<String>(&wrong, 16).is_none());
        let deep = bytes_of(&vec![vec![vec![vec![1u8]]]]);
        assert!(decode::<Vec<Vec<Vec<Vec<u8>>>>>(&deep, 2).is_none());
        assert!(decode::<Vec<Vec<Vec<Vec<u8>>>>>(&deep, 16).is_some());
    }
}
