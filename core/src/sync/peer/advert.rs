//! The name a device advertises while it listens for a peer session on a local network (protocol
//! 25.1), made here once for every platform: the CLI's mDNS responder, Android NSD and Apple Bonjour
//! (through the bindings' `nearby_advert_name`) all advertise the same kind of name.
//!
//! A name is [`ADVERT_NAME_BYTES`] fresh random bytes in lowercase hex, made anew for each opening:
//! it names no device, person or vault, and two openings cannot be linked by it.

pub use sebaya_proto::peer::{ADVERT_NAME_BYTES, MDNS_SERVICE, SERVICE_TYPE};

use crate::Result;

/// A fresh random instance name for one advertisement (16 lowercase hex characters).
pub fn advert_name() -> Result<String> {
    Ok(hex::encode(crate::crypto::random::<ADVERT_NAME_BYTES>()?))
}

/// The mDNS host name that goes with an instance name (`sebaya-<name>.local.`), for a responder that
/// announces its own host record (the CLI); Android NSD and Bonjour use the phone's own host name.
pub fn advert_host(name: &str) -> String {
    format!("sebaya-{name}.local.")
}

/// Whether `name` is of the form [`advert_name`] makes: a browsing device may skip other names.
pub fn is_advert_name(name: &str) -> bool {
    name.len() == 2 * ADVERT_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_name_is_sixteen_fresh_lowercase_hex_characters() {
        let a = advert_name().unwrap();
        let b = advert_name().unwrap();
        assert_eq!(a.len(), 16);
        assert!(is_advert_name(&a) && is_advert_name(&b));
        assert_ne!(a, b, "made fresh for each opening");
        assert_eq!(advert_host(&a), format!("sebaya-{a}.local."));
    }

    #[test]
    fn the_service_types_are_one_name() {
        assert_eq!(SERVICE_TYPE, "_sebaya._tcp");
        assert_eq!(MDNS_SERVICE, format!("{SERVICE_TYPE}.local."));
    }

    #[test]
    fn other_names_are_not_advert_names() {
        for n in [
            "",
            "0123456789abcde",
            "0123456789abcdef0",
            "0123456789ABCDEF",
            "sebaya-0123456789",
        ] {
            assert!(!is_advert_name(n), "{n}");
        }
        assert!(is_advert_name("0123456789abcdef"));
    }
}
