//! How a sign-in was authenticated, as Tessera records it beside sessions, codes and flows: RFC 8176 methods,
//! space-separated, and — for a sign-in through an upstream provider — `idp=<provider id>` and `up=<method>`
//! for each method the upstream reported that the provider is trusted for. Tokens carry the methods (Tessera's
//! and the upstream's, once each) as `amr` and the provider as `idp`; this is the one place that reads the
//! record. Tessera's own policy (is a second factor due?) reads only its own methods: `up=mfa` is not `mfa`.

const IDP_PREFIX: &str = "idp=";
const UPSTREAM_PREFIX: &str = "up=";

/// The record of `methods` (space-separated) through the upstream provider `idp`, which reported `upstream`.
pub fn through(methods: &str, idp: &str, upstream: &[String]) -> String {
    let mut record = format!("{methods} {IDP_PREFIX}{idp}");
    for method in upstream {
        record.push(' ');
        record.push_str(UPSTREAM_PREFIX);
        record.push_str(method);
    }
    record
}

/// The record with Tessera's `method` added (once): a proof made again, at a step-up.
pub fn adding(recorded: &str, method: &str) -> String {
    if recorded.split_whitespace().any(|m| m == method) {
        recorded.to_owned()
    } else {
        format!("{recorded} {method}").trim().to_owned()
    }
}

/// The methods of a record, for `amr`: Tessera's, then the upstream's, each once.
pub fn methods(recorded: &str) -> Vec<String> {
    let mut methods: Vec<String> = Vec::new();
    for word in recorded.split_whitespace().filter(|m| !m.starts_with(IDP_PREFIX)) {
        let method = word.strip_prefix(UPSTREAM_PREFIX).unwrap_or(word);
        if !methods.iter().any(|m| m == method) {
            methods.push(method.to_owned());
        }
    }
    methods
}

/// The upstream provider of a record, for `idp`.
pub fn idp(recorded: &str) -> Option<String> {
    recorded
        .split_whitespace()
        .find_map(|m| m.strip_prefix(IDP_PREFIX))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_travels_beside_the_methods() {
        let recorded = through("fed", "corp", &[]);
        assert_eq!(methods(&recorded), ["fed"]);
        assert_eq!(idp(&recorded).as_deref(), Some("corp"));
        let with_factor = format!("{recorded} otp mfa");
        assert_eq!(methods(&with_factor), ["fed", "otp", "mfa"]);
        assert_eq!(idp(&with_factor).as_deref(), Some("corp"));
        assert_eq!(methods("pwd"), ["pwd"]);
        assert_eq!(idp("pwd"), None);
        assert!(methods("").is_empty());
        let vouched = through("fed", "corp", &["mfa".into(), "hwk".into()]);
        assert_eq!(methods(&vouched), ["fed", "mfa", "hwk"]);
        assert_eq!(idp(&vouched).as_deref(), Some("corp"));
        assert_eq!(methods(&format!("{vouched} otp mfa")), ["fed", "mfa", "hwk", "otp"]);
        assert_eq!(adding("pwd", "pin"), "pwd pin");
        assert_eq!(adding("pwd pin", "pin"), "pwd pin");
        assert_eq!(adding("", "pin"), "pin");
    }
}
