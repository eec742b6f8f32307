//! The `[federation]` section: upstream OpenID providers people may sign in with (`[[federation.providers]]`,
//! or from the environment `TESSERA_FEDERATION__PROVIDERS__{ID}__{FIELD}`), and how long Tessera waits for
//! them and keeps what they publish.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::ConfigError;
use super::Secret;

/// Google's issuer: the `google` preset's.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationConfig {
    /// The longest wait for an upstream provider (discovery, keys, the token endpoint).
    pub timeout_secs: u64,
    /// How long an upstream's discovery document and keys are kept (an unknown key id refetches the keys).
    pub metadata_cache_secs: u64,
    /// How long a browser may take at the upstream provider.
    pub login_ttl_secs: i64,
    /// A list of tables (TOML), or a table of them by id (the environment's form, where an id's `_` stands
    /// for `-`).
    #[serde(deserialize_with = "providers")]
    pub providers: Vec<ProviderConfig>,
}

impl FederationConfig {
    /// The federation settings' bounds, and each provider: a valid unique id, a client id, trusted `amr` values
    /// and an issuer.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let federation = self;
        if !(1..=60).contains(&federation.timeout_secs) {
            return Err(super::load::invalid(
                "federation.timeout_secs",
                "TESSERA_FEDERATION__TIMEOUT_SECS",
                "must be between 1 and 60".into(),
            ));
        }
        if !(60..=3600).contains(&federation.login_ttl_secs) {
            return Err(super::load::invalid(
                "federation.login_ttl_secs",
                "TESSERA_FEDERATION__LOGIN_TTL_SECS",
                "must be between 60 and 3600".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for provider in &federation.providers {
            let id = &provider.id;
            let problem = if let Some(why) = id_problem(id) {
                Some(format!("`{id}`: {why}"))
            } else if !seen.insert(id.as_str()) {
                Some(format!("`{id}` is configured twice"))
            } else if provider.client_id.is_empty() {
                Some(format!("`{id}`: client_id is empty"))
            } else if let Some(why) = provider.trusted_amr.iter().find_map(|v| amr_problem(v)) {
                Some(format!("`{id}`: trusted_amr {why}"))
            } else {
                issuer_problem(provider.issuer()).map(|why| format!("`{id}`: issuer {why}"))
            };
            if let Some(message) = problem {
                return Err(super::load::invalid(
                    "federation.providers",
                    "TESSERA_FEDERATION__PROVIDERS",
                    message,
                ));
            }
        }
        Ok(())
    }
}

impl Default for FederationConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 10,
            metadata_cache_secs: 3600,
            login_ttl_secs: 600,
            providers: Vec::new(),
        }
    }
}

/// What kind of upstream provider.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Google: the issuer is Google's.
    Google,
    /// Any OpenID Connect provider, by its issuer URL (discovery).
    #[default]
    Oidc,
}

/// One upstream OpenID provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Its name in addresses (`/federation/{id}/start`) and in applications' `external_providers`; in the
    /// table-by-id form, the key.
    #[serde(default)]
    pub id: String,
    /// What the sign-in page's button says ("Sign in with …").
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: ProviderKind,
    /// The issuer URL (for `oidc`; the `google` preset has Google's).
    #[serde(default)]
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Scopes asked for beside `openid` (a list, or one string separated by spaces or commas).
    #[serde(default = "default_scopes", deserialize_with = "super::comma_list")]
    pub scopes: Vec<String>,
    /// The ID token claim that gives the e-mail address.
    #[serde(default = "default_email_claim")]
    pub email_claim: String,
    /// The claim that gives a username for new accounts (used when free).
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// The claim that gives a new account's display name (the `name` Tessera releases with `profile`).
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
    /// Authentication methods (RFC 8176 `amr` values, such as `mfa` or `hwk`) this provider's ID tokens may
    /// report that are passed on in Tessera's tokens. None by default; they never replace Tessera's own second
    /// factors.
    #[serde(default, deserialize_with = "super::comma_list")]
    pub trusted_amr: Vec<String>,
    /// When set, only addresses in these domains may sign in.
    #[serde(default, deserialize_with = "super::comma_list")]
    pub allowed_domains: Vec<String>,
    /// The addresses this provider says it verified are trusted here: a new account gets the address (proven),
    /// an invitation to it is accepted, and it joins the account here that proved the same address. Off by
    /// default: identities are found by (issuer, subject) only and new accounts get no address.
    #[serde(default)]
    pub trust_email: bool,
}

/// The providers: a list, or a table by id.
fn providers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<ProviderConfig>, D::Error> {
    struct Providers;
    impl<'de> Visitor<'de> for Providers {
        type Value = Vec<ProviderConfig>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of providers, or a table of providers by id")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut list = Vec::new();
            while let Some(provider) = seq.next_element()? {
                list.push(provider);
            }
            Ok(list)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut list = Vec::new();
            while let Some((key, mut provider)) = map.next_entry::<String, ProviderConfig>()? {
                let id = key.replace('_', "-");
                if !provider.id.is_empty() && provider.id != id {
                    return Err(serde::de::Error::custom(format!(
                        "the provider under `{key}` says its id is `{}`",
                        provider.id
                    )));
                }
                provider.id = id;
                list.push(provider);
            }
            Ok(list)
        }
    }
    deserializer.deserialize_any(Providers)
}

fn default_scopes() -> Vec<String> {
    vec!["email".into(), "profile".into()]
}

fn default_email_claim() -> String {
    "email".into()
}

fn default_username_claim() -> String {
    "preferred_username".into()
}

fn default_name_claim() -> String {
    "name".into()
}

/// What is wrong with an `amr` value a provider is trusted for, if anything: RFC 8176 values are short words.
pub fn amr_problem(value: &str) -> Option<String> {
    let plain = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    (!(1..=32).contains(&value.len()) || !plain).then(|| format!("`{value}` is not an amr value (a-z, 0-9, _ and -)"))
}

impl ProviderConfig {
    /// The issuer, the preset's for `google`.
    pub fn issuer(&self) -> &str {
        match self.kind {
            ProviderKind::Google if self.issuer.is_empty() => GOOGLE_ISSUER,
            ProviderKind::Google | ProviderKind::Oidc => &self.issuer,
        }
    }

    /// What the sign-in button says.
    pub fn display_name(&self) -> &str {
        match (self.name.is_empty(), self.kind) {
            (false, _) => &self.name,
            (true, ProviderKind::Google) => "Google",
            (true, ProviderKind::Oidc) => &self.id,
        }
    }
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Oidc => "oidc",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Google, Self::Oidc].into_iter().find(|k| k.as_str() == text)
    }
}

/// What is wrong with a provider id, if anything: ids appear in addresses, so they are short, lower case and
/// plain.
pub fn id_problem(id: &str) -> Option<&'static str> {
    let plain = id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (!(1..=40).contains(&id.len()) || !plain).then_some("an id is 1 to 40 of a-z, 0-9 and '-'")
}

/// What is wrong with an upstream issuer, if anything: https (plain http only on this machine's loopback, for
/// tests and development), without a query or fragment.
pub fn issuer_problem(issuer: &str) -> Option<String> {
    match url::Url::parse(issuer) {
        Err(e) => Some(format!("`{issuer}` is not a URL: {e}")),
        Ok(url) if url.query().is_some() || url.fragment().is_some() => {
            Some("must not have a query or fragment".into())
        }
        Ok(url) if url.scheme() == "https" && url.host_str().is_some_and(|h| !h.is_empty()) => None,
        Ok(url) if url.scheme() == "http" && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) => {
            None
        }
        Ok(_) => Some(format!("`{issuer}` must be an https:// URL")),
    }
}
