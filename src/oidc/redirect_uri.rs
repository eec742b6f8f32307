//! Redirect URIs: what may be registered (RFC 6749 §3.1.2; RFC 9700 §2.1, §4.1.3; RFC 8252 §7.3) and the
//! exact-match rule at the authorization and logout endpoints.

/// Loopback hosts allowed over plain http, and only as literal IPs (RFC 8252 §8.3).
const LOOPBACK_PREFIXES: &[&str] = &["http://127.0.0.1", "http://[::1]"];

/// Why `uri` cannot be registered, if it cannot.
pub fn registration_problem(uri: &str) -> Option<&'static str> {
    if uri.is_empty() || uri.len() > 2000 {
        return Some("must be 1 to 2000 characters");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain spaces or control characters");
    }
    if uri.contains('*') {
        return Some("must not contain wildcards");
    }
    if uri.contains('#') {
        return Some("must not have a fragment");
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return Some("must be an absolute URI");
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("must not carry user information");
    }
    match parsed.scheme() {
        "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => None,
        "http" if LOOPBACK_PREFIXES.iter().any(|p| strip_loopback_port(uri, p).is_some()) => None,
        "http" => Some("must use https (plain http only for http://127.0.0.1 or http://[::1])"),
        _ => Some("must use https"),
    }
}

/// Whether `presented` is one of `registered`: byte-for-byte (RFC 9700 §4.1.3), except that a public
/// (native) client's loopback redirect may name any port (RFC 8252 §7.3) — `any_loopback_port`. A
/// confidential client's loopback redirect matches exactly, port included.
pub fn is_registered(registered: &[String], presented: &str, any_loopback_port: bool) -> bool {
    registered.iter().any(|r| r == presented)
        || any_loopback_port
            && LOOPBACK_PREFIXES.iter().any(|prefix| {
                strip_loopback_port(presented, prefix).is_some_and(|bare| {
                    registered
                        .iter()
                        .any(|r| strip_loopback_port(r, prefix) == Some(bare.clone()))
                })
            })
}

/// `uri` without its port when it is `prefix` + optional `:port` + a path, query or nothing.
fn strip_loopback_port(uri: &str, prefix: &str) -> Option<String> {
    let rest = uri.strip_prefix(prefix)?;
    let rest = match rest.strip_prefix(':') {
        Some(after) => {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=5).contains(&digits) {
                return None;
            }
            &after[digits..]
        }
        None => rest,
    };
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')).then(|| format!("{prefix}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_accepts_https_and_literal_loopback_only() {
        for ok in [
            "https://rp.example.test/cb",
            "https://rp.example.test/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8000/cb",
            "http://[::1]/cb",
        ] {
            assert_eq!(registration_problem(ok), None, "{ok}");
        }
        for bad in [
            "https://rp.example.test/cb#frag",
            "http://rp.example.test/cb",
            "http://localhost/cb",
            "https://*.example.test/cb",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "/relative",
            "https://user:pass@rp.example.test/cb",
            " https://rp.example.test/cb",
            "http://127.0.0.1.evil.test/cb",
        ] {
            assert!(registration_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn matching_is_exact_except_loopback_ports() {
        let registered = vec!["https://rp1.test/cb".to_owned(), "http://127.0.0.1/cb".to_owned()];
        assert!(is_registered(&registered, "https://rp1.test/cb", true));
        assert!(is_registered(&registered, "http://127.0.0.1:54321/cb", true));
        assert!(is_registered(&registered, "http://127.0.0.1/cb", true));
        assert!(!is_registered(&registered, "http://127.0.0.1:54321/cb", false));
        assert!(is_registered(&registered, "http://127.0.0.1/cb", false));
        for bad in [
            "https://rp1.test/cb/",
            "https://rp1.test/CB",
            "HTTPS://RP1.TEST/cb",
            "https://rp1.test:443/cb",
            "https://rp1.test/cb?a=b",
            "https://rp1.test/cb#x",
            "https://rp1.test/cb/../evil",
            "https://rp1.test@evil.test/cb",
            "http://127.0.0.1:54321/cb?x=1",
            "http://127.0.0.1/other",
            "http://localhost/cb",
            "https://127.0.0.1/cb",
            "http://127.0.0.1.evil.test/cb",
            "http://127.0.0.1:123456/cb",
        ] {
            assert!(!is_registered(&registered, bad, true), "{bad}");
        }
    }
}
