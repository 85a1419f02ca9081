//! Which push endpoints a relay posts to (review finding F1): the relay makes requests to URLs that
//! devices chose, so it must never be made to post into its own network. An endpoint is an `https`
//! URL without user or password whose host is a name or a global unicast address; the name is
//! resolved by the sender itself, and a name resolving to anything but global addresses is refused
//! too (`send.rs` connects only to the addresses checked here). Plain `http` to a loopback address
//! is taken only when the operator turned on the test switch (`--push-allow-loopback`): the tests'
//! push service listens there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::WebPushError;

/// Checks `endpoint` as a place to post wake-ups to, returning it parsed. `allow_loopback` (tests
/// only) also takes `http` and `https` to a loopback address or the name `localhost`.
pub fn check_endpoint(endpoint: &str, allow_loopback: bool) -> Result<url::Url, WebPushError> {
    let url = url::Url::parse(endpoint).map_err(|_| WebPushError::BadEndpoint)?;
    // A fragment is never sent, so `…#1`, `…#2` would be one endpoint under many names (review S2).
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(WebPushError::BadEndpoint);
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            let ip = IpAddr::V4(ip);
            if !address_allowed(ip, allow_loopback) {
                return Err(WebPushError::BadEndpoint);
            }
            is_loopback(ip)
        }
        Some(url::Host::Ipv6(ip)) => {
            let ip = IpAddr::V6(ip);
            if !address_allowed(ip, allow_loopback) {
                return Err(WebPushError::BadEndpoint);
            }
            is_loopback(ip)
        }
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            // Names the resolver answers locally, whatever DNS says.
            let local = name == "localhost" || name.ends_with(".localhost");
            if local && !allow_loopback {
                return Err(WebPushError::BadEndpoint);
            }
            local
        }
        None => return Err(WebPushError::BadEndpoint),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_loopback => {}
        _ => return Err(WebPushError::BadEndpoint),
    }
    Ok(url)
}

/// Whether the sender may connect to `ip`: a global unicast address, or (with `allow_loopback`,
/// tests only) a loopback one.
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    is_global(ip) || (allow_loopback && is_loopback(ip))
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// A global unicast address: none of the loopback, private, shared (CGNAT), link-local,
/// unique-local, multicast, unspecified, broadcast, reserved, benchmarking or documentation ranges,
/// and for IPv6 an address that embeds IPv4 (mapped, NAT64, 6to4) only when the embedded one is
/// global.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                    // "this network", 0.0.0.0/8
        || a == 10                              // private
        || a == 127                             // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), 100.64/10
        || (a == 169 && b == 254)               // link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b))  // private
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 192 && b == 88 && c == 99)     // 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168)               // private
        || (a == 198 && (18..20).contains(&b))  // benchmarking
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96): reaches the embedded IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_global_v4(Ipv4Addr::new(a, b, c, d));
    }
    // 6to4 (2002::/16): reaches the IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return is_global_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Only global unicast (2000::/3) is global; within it, Teredo, ORCHID, benchmarking and
    // documentation are not.
    (s[0] & 0xe000) == 0x2000
        && !(s[0] == 0x2001 && s[1] == 0)           // Teredo 2001::/32
        && !(s[0] == 0x2001 && s[1] == 0x2)         // benchmarking 2001:2::/48 (and its /32)
        && !(s[0] == 0x2001 && (s[1] & 0xfff0) == 0x10) // ORCHID 2001:10::/28
        && !(s[0] == 0x2001 && (s[1] & 0xfff0) == 0x20) // ORCHIDv2 2001:20::/28
        && !(s[0] == 0x2001 && s[1] == 0xdb8)       // documentation
        && !(s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
}
