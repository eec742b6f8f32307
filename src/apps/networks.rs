//! The networks an application may be used from (`ip_ranges`): CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`),
//! start–end pairs (`192.0.2.10-192.0.2.20`) and single addresses, IPv4 and IPv6. None: anywhere.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::FieldError;

/// The most ranges one application lists.
const MAX_RANGES: usize = 100;

/// One range of addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpRange {
    Net(IpNet),
    /// From the first address to the second, both included (same family).
    Span(IpAddr, IpAddr),
}

impl IpRange {
    /// `10.0.0.0/8`, `192.0.2.10-192.0.2.20` or `2001:db8::1`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let address = |part: &str| {
            part.trim()
                .parse::<IpAddr>()
                .map_err(|_| format!("`{text}` is not an address, a CIDR block or a start-end pair"))
        };
        if let Some((start, end)) = text.split_once('-') {
            let (start, end) = (address(start)?, address(end)?);
            if start.is_ipv4() != end.is_ipv4() {
                return Err(format!("`{text}` mixes IPv4 and IPv6"));
            }
            if start > end {
                return Err(format!("`{text}` ends before it starts"));
            }
            return Ok(Self::Span(start, end));
        }
        if text.contains('/') {
            return text
                .parse::<IpNet>()
                .map(|net| Self::Net(net.trunc()))
                .map_err(|_| format!("`{text}` is not a CIDR block"));
        }
        let single = address(text)?;
        Ok(Self::Span(single, single))
    }

    /// Whether `ip` (an IPv4 address written as IPv6, `::ffff:a.b.c.d`, counts as IPv4) is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match self {
            Self::Net(net) => net.contains(&ip),
            Self::Span(start, end) => start.is_ipv4() == ip.is_ipv4() && *start <= ip && ip <= *end,
        }
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Net(net) => write!(f, "{net}"),
            Self::Span(start, end) if start == end => write!(f, "{start}"),
            Self::Span(start, end) => write!(f, "{start}-{end}"),
        }
    }
}

/// Whether a request from `ip` may use an application listing `ranges`: any address when it lists none; else
/// one inside them (an address that cannot be told is not).
pub fn admits(ranges: &[IpRange], ip: Option<IpAddr>) -> bool {
    ranges.is_empty() || ip.is_some_and(|ip| ranges.iter().any(|range| range.contains(ip)))
}

/// The ranges `spec` sets (or `current` when it sets none), each checked, problems naming `ip_ranges`.
pub(super) fn resolve(spec: Option<Vec<String>>, current: &[IpRange], problems: &mut Vec<FieldError>) -> Vec<IpRange> {
    let Some(texts) = spec else {
        return current.to_vec();
    };
    let mut ranges: Vec<IpRange> = Vec::new();
    for text in &texts {
        match IpRange::parse(text) {
            Ok(range) if !ranges.contains(&range) => ranges.push(range),
            Ok(_) => {}
            Err(message) => problems.push(FieldError {
                field: "ip_ranges",
                message,
            }),
        }
    }
    if ranges.len() > MAX_RANGES {
        problems.push(FieldError {
            field: "ip_ranges",
            message: format!("at most {MAX_RANGES} ranges"),
        });
    }
    ranges
}

/// The stored form: space-separated.
pub(super) fn stored(ranges: &[IpRange]) -> String {
    ranges.iter().map(IpRange::to_string).collect::<Vec<_>>().join(" ")
}

/// Reads the stored form; a word that does not parse (never written by this version) is skipped.
pub(super) fn from_stored(text: &str) -> Vec<IpRange> {
    text.split_whitespace()
        .filter_map(|word| IpRange::parse(word).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn ranges_of_both_families_and_forms() {
        let ranges: Vec<IpRange> = ["10.0.0.0/8", "192.0.2.10-192.0.2.20", "2001:db8::/32", "198.51.100.7"]
            .into_iter()
            .map(|t| IpRange::parse(t).unwrap())
            .collect();
        for inside in [
            "10.1.2.3",
            "192.0.2.10",
            "192.0.2.20",
            "2001:db8::1",
            "198.51.100.7",
            "::ffff:10.0.0.1",
        ] {
            assert!(admits(&ranges, ip(inside)), "{inside}");
        }
        for outside in [
            "11.0.0.1",
            "192.0.2.9",
            "192.0.2.21",
            "2001:db9::1",
            "198.51.100.8",
            "::1",
        ] {
            assert!(!admits(&ranges, ip(outside)), "{outside}");
        }
        assert!(!admits(&ranges, None));
        assert!(admits(&[], None));
        assert_eq!(from_stored(&stored(&ranges)), ranges);
        assert_eq!(
            stored(&ranges),
            "10.0.0.0/8 192.0.2.10-192.0.2.20 2001:db8::/32 198.51.100.7"
        );
    }

    #[test]
    fn bad_ranges_are_named() {
        for bad in [
            "10.0.0.0/33",
            "10.0.0.9-10.0.0.1",
            "10.0.0.1-::1",
            "nowhere",
            "",
            "1.2.3.4/x",
        ] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
        // A block written with host bits is kept as its network.
        assert_eq!(IpRange::parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
    }
}
