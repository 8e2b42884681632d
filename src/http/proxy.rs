//! Which callers may speak for the client: `X-Forwarded-*` headers are kept
//! only on requests whose peer is a configured proxy (`trusted_proxies`),
//! and stripped from everyone else's before any handler sees them, so links
//! in answers and anything keyed on the client's address cannot be steered
//! by the client.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

/// The headers a proxy sets for the client it forwards.
const FORWARDED: [&str; 4] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// Addresses and CIDR ranges of the proxies in front of Tollgate.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Whether `address` is one of the proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0
            .iter()
            .any(|(network, prefix)| in_network(address, *network, *prefix))
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(|(a, p)| format!("{a}/{p}")).collect();
        f.debug_list().entries(list).finish()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses (`10.0.0.5`, `::1`) and ranges
    /// (`10.0.0.0/8`).
    fn from_str(list: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (address, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let address: IpAddr = address
                .parse()
                .map_err(|_| format!("{item:?} is not an IP address or CIDR range"))?;
            let address = canonical(address);
            let max = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{item:?} has a prefix length out of 0..={max}"))?,
            };
            entries.push((address, prefix));
        }
        Ok(TrustedProxies(entries))
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn in_network(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The peer address of the connection, when the server knows it.
pub fn peer(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The client's address as far as it can be believed: the peer's, or, when
/// the peer is a trusted proxy, the address that proxy reports (the last
/// entry of `X-Forwarded-For` that is not itself a trusted proxy). `None`
/// for in-process callers, which count as one client. Left in the request's
/// extensions by [`strip_untrusted_forwarding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// Strips the forwarding headers unless the peer is a trusted proxy, and
/// records the client's address ([`ClientIp`]).
pub async fn strip_untrusted_forwarding(
    trusted: TrustedProxies,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = peer(&request);
    let believed = peer.is_some_and(|ip| trusted.contains(ip));
    let client = if believed {
        forwarded_client(request.headers(), &trusted).or(peer)
    } else {
        remove_forwarding(request.headers_mut());
        peer
    };
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

/// Walks `X-Forwarded-For` from the right (the entry our proxy added) past
/// trusted proxies to the first address a client could not have chosen.
fn forwarded_client(headers: &HeaderMap, trusted: &TrustedProxies) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        let ip = entry
            .parse::<IpAddr>()
            .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
            .ok()?;
        if !trusted.contains(ip) {
            return Some(canonical(ip));
        }
    }
    None
}

fn remove_forwarding(headers: &mut HeaderMap) {
    for name in FORWARDED {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ranges_parse_and_match() {
        let t: TrustedProxies = "10.0.0.0/8, 192.168.1.7,::1".parse().unwrap();
        assert!(t.contains("10.200.3.4".parse().unwrap()));
        assert!(t.contains("192.168.1.7".parse().unwrap()));
        assert!(!t.contains("192.168.1.8".parse().unwrap()));
        assert!(t.contains("::1".parse().unwrap()));
        assert!(t.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!t.contains("11.0.0.1".parse().unwrap()));
        let all: TrustedProxies = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.example".parse::<TrustedProxies>().is_err());
        assert!(!TrustedProxies::default().contains("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn the_client_is_the_last_forwarded_address_that_is_not_a_proxy() {
        let t: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.0.0.2".parse().unwrap(),
        );
        assert_eq!(
            forwarded_client(&h, &t),
            Some("203.0.113.7".parse().unwrap())
        );
        h.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(forwarded_client(&h, &t), None);
    }
}
