//! How a sign-in was authenticated, as Tessera records it beside sessions, codes and flows: RFC 8176 methods,
//! space-separated, and — for a sign-in through an upstream provider — `idp=<provider id>`. Tokens carry the
//! methods as `amr` and the provider as `idp`; this is the one place that reads the record.

const IDP_PREFIX: &str = "idp=";

/// The record of `methods` (space-separated) through the upstream provider `idp`.
pub fn through(methods: &str, idp: &str) -> String {
    format!("{methods} {IDP_PREFIX}{idp}")
}

/// The methods of a record, for `amr`.
pub fn methods(recorded: &str) -> Vec<String> {
    recorded
        .split_whitespace()
        .filter(|m| !m.starts_with(IDP_PREFIX))
        .map(str::to_owned)
        .collect()
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
        let recorded = through("fed", "corp");
        assert_eq!(methods(&recorded), ["fed"]);
        assert_eq!(idp(&recorded).as_deref(), Some("corp"));
        let with_factor = format!("{recorded} otp mfa");
        assert_eq!(methods(&with_factor), ["fed", "otp", "mfa"]);
        assert_eq!(idp(&with_factor).as_deref(), Some("corp"));
        assert_eq!(methods("pwd"), ["pwd"]);
        assert_eq!(idp("pwd"), None);
        assert!(methods("").is_empty());
    }
}
