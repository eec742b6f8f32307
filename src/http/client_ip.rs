//! The client's IP address: the socket peer, unless the peer is a trusted proxy — only then are
//! `X-Forwarded-For` / `Forwarded` read, taking the right-most address that is not itself a trusted proxy
//! (anything further left could have been written by the client).

use std::net::{IpAddr, Ipv6Addr};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::{Ready, ready};
use ipnet::IpNet;

use crate::auth::Origin;
use crate::state::AppState;

/// Where the request came from: its address and the key per-address limits count it under (see
/// [`rate_key`]).
#[derive(Clone, Debug)]
pub struct ClientAddress(pub Origin);

impl FromRequest for ClientAddress {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientAddress(origin(request_ip(req)))))
    }
}

/// A request's origin from its client address.
pub fn origin(ip: Option<IpAddr>) -> Origin {
    Origin { ip, key: rate_key(ip) }
}

/// The client's address for this request, believing only the configured trusted proxies.
pub fn request_ip(req: &HttpRequest) -> Option<IpAddr> {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.config.server.trusted_proxies.as_slice())
        .unwrap_or_default();
    client_ip(req, trusted)
}

/// The address requests from this client are counted under.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = canonical(req.peer_addr()?.ip());
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let headers = req.headers();
    let forwarded_for: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_address)
        .collect();
    let chain = if forwarded_for.is_empty() {
        headers
            .get_all("forwarded")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(forwarded_for_element)
            .collect()
    } else {
        forwarded_for
    };
    let first_untrusted = chain.iter().rev().copied().find(|ip| !is_trusted(*ip, trusted));
    Some(first_untrusted.or(chain.first().copied()).unwrap_or(peer))
}

/// The key a per-IP limit counts under: the address, or its /64 for IPv6 (one subscriber's block).
pub fn rate_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// One address of a header list: `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]:443` or `1.2.3.4:80`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest
            .split(']')
            .next()?
            .parse::<Ipv6Addr>()
            .ok()
            .map(|v6| canonical(IpAddr::V6(v6)));
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<IpAddr>().ok().map(canonical)
}

/// The `for=` of one `Forwarded` element (RFC 7239).
fn forwarded_for_element(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_address(value))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let req = TestRequest::default()
            .peer_addr("203.0.113.9:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "10.0.0.1"))
            .insert_header(("forwarded", "for=10.0.0.2"))
            .to_http_request();
        assert_eq!(client_ip(&req, &nets(&["10.0.0.0/8"])), Some(ip("203.0.113.9")));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_counts() {
        let trusted = nets(&["10.0.0.0/8"]);
        let req = TestRequest::default()
            .peer_addr("10.0.0.5:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.0.0.9"))
            .to_http_request();
        assert_eq!(
            client_ip(&req, &trusted),
            Some(ip("198.51.100.7")),
            "1.1.1.1 may be spoofed"
        );
        let req = TestRequest::default()
            .peer_addr("10.0.0.5:5000".parse().unwrap())
            .insert_header(("forwarded", "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.8"))
            .to_http_request();
        assert_eq!(client_ip(&req, &trusted), Some(ip("2001:db8::1")));
        let req = TestRequest::default()
            .peer_addr("10.0.0.5:5000".parse().unwrap())
            .to_http_request();
        assert_eq!(
            client_ip(&req, &trusted),
            Some(ip("10.0.0.5")),
            "no header: the proxy itself"
        );
    }

    #[test]
    fn addresses_are_canonical_and_ipv6_counts_per_64() {
        assert_eq!(parse_address("::ffff:10.0.0.1"), Some(ip("10.0.0.1")));
        assert_eq!(parse_address("010.0.0.1"), None, "no octal guessing");
        assert_eq!(parse_address("167772161"), None);
        assert_eq!(rate_key(Some(ip("2001:db8:1:2:3:4:5:6"))), "2001:db8:1:2::/64");
        assert_eq!(rate_key(Some(ip("2001:db8:1:2:ffff::1"))), "2001:db8:1:2::/64");
        assert_eq!(rate_key(Some(ip("192.0.2.1"))), "192.0.2.1");
    }
}
