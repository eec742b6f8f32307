//! Scopes (RFC 6749 §3.3): space-separated tokens, compared as sets.

use std::fmt;

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const PHONE: &str = "phone";
pub const ADDRESS: &str = "address";
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The OpenID Connect scopes Tessera understands.
pub const OIDC_SCOPES: &[&str] = &[OPENID, PROFILE, EMAIL, PHONE, ADDRESS, OFFLINE_ACCESS];

/// A set of scopes, in first-seen order without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parses a `scope` value; `None` if a token has characters RFC 6749 §3.3 forbids.
    pub fn parse(text: &str) -> Option<Self> {
        let mut scopes = Vec::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let allowed = token.chars().all(|c| matches!(c, '!' | '#'..='[' | ']'..='~'));
            if !allowed {
                return None;
            }
            if !scopes.iter().any(|s| s == token) {
                scopes.push(token.to_owned());
            }
        }
        Some(Self(scopes))
    }

    /// A stored value (trusted: written by Tessera).
    pub fn stored(text: &str) -> Self {
        Self::parse(text).unwrap_or_default()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every scope here is also in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    /// The scopes here that `other` lacks.
    pub fn missing_from<'a>(&'a self, other: &'a Scope) -> impl Iterator<Item = &'a str> {
        self.0.iter().filter(|s| !other.contains(s)).map(String::as_str)
    }

    /// This set and `other`, together.
    pub fn union(&self, other: &Scope) -> Scope {
        let mut all = self.0.clone();
        all.extend(other.0.iter().filter(|s| !self.contains(s)).cloned());
        Self(all)
    }

    /// This set without `scope`.
    pub fn without(&self, scope: &str) -> Scope {
        Self(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_a_set() {
        let scope = Scope::parse("openid  email openid profile").unwrap();
        assert_eq!(scope.to_string(), "openid email profile");
        assert!(Scope::parse("openid \"quoted\"").is_none());
        assert!(Scope::parse("a\\b").is_none());
        let narrow = Scope::parse("email").unwrap();
        assert!(narrow.is_subset_of(&scope) && !scope.is_subset_of(&narrow));
        assert_eq!(scope.missing_from(&narrow).collect::<Vec<_>>(), ["openid", "profile"]);
        assert_eq!(
            narrow.union(&Scope::parse("openid").unwrap()).to_string(),
            "email openid"
        );
    }
}
