//! Which address a request comes from: the TCP peer, or, when the peer is a
//! reverse proxy the operator trusts (`--trusted-proxy`), the address that
//! proxy says it forwarded for. A leaf: it imports nothing from the crate.
//!
//! `X-Forwarded-For` is a list each proxy appends its peer to, so only its
//! right end can be believed: the entries the trusted proxies added. The
//! client address is the rightmost entry that is not itself a trusted
//! proxy. Without `--trusted-proxy` the header is ignored: anyone can send
//! it.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;

/// The networks whose `X-Forwarded-For` is believed. Empty by default.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(nets: &[IpNet]) -> Self {
        Self(nets.into())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, from the TCP `peer` and the request `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Every X-Forwarded-For header, in order, read from the right.
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                // Garbage from the far side of the proxy: stop believing.
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address written as IPv6 (`::ffff:1.2.3.4`) is the IPv4 one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, maybe with a port
/// (`1.2.3.4:5678`, `[::1]:80`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| canonical(s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_trusted() {
        let none = TrustedProxies::default();
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(none.client_ip(peer, &headers(&["1.2.3.4"])), peer);
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let t = TrustedProxies::new(&["10.0.0.0/8".parse().unwrap()]);
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let h = headers(&["6.6.6.6, 1.2.3.4", "10.0.0.9"]);
        assert_eq!(t.client_ip(peer, &h), "1.2.3.4".parse::<IpAddr>().unwrap());
        // Nothing forwarded: the proxy itself.
        assert_eq!(t.client_ip(peer, &HeaderMap::new()), peer);
        // Garbage stops the walk at the last address believed.
        let h = headers(&["1.2.3.4, junk, 10.0.0.7"]);
        assert_eq!(t.client_ip(peer, &h), "10.0.0.7".parse::<IpAddr>().unwrap());
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(
            t.client_ip(peer, &h),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }
}
