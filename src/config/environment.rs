//! Configuration from environment variables, exactly as the operator wrote them. figment's own `Env` guesses
//! types (`+15005550006` becomes the number 15005550006, `0123` becomes 123), which stops start-up or
//! silently changes a string setting; here every value stays text and is converted only where its key wants
//! a number or a boolean (`Figment::extract_lossy`). Errors name the variable, not the key path.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// The prefix of Tessera's own variables; sections and keys are joined by `__`.
pub const PREFIX: &str = "TESSERA_";

/// Names other products' operators already use, and the keys they set.
pub const ALIASES: &[(&str, &str)] = &[
    ("USER_SIGNUP_RATE_LIMIT_EMAIL", "signup.rate_limit_email"),
    (
        "USER_SIGNUP_RATE_LIMIT_EMAIL_WINDOW_MS",
        "signup.rate_limit_email_window_ms",
    ),
    ("USER_SIGNUP_RATE_LIMIT_IP", "signup.rate_limit_ip"),
    ("USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS", "signup.rate_limit_ip_window_ms"),
    ("API_USER_CREATE_SCOPE", "user_create_scope"),
];

/// Variables with the prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &["TESSERA_CONFIG"];

/// The name the metadata of the prefixed variables carries.
pub const PREFIXED_SOURCE: &str = "TESSERA_* environment variables";
/// The name the metadata of the aliases carries.
pub const ALIAS_SOURCE: &str = "environment variables";

/// One set of environment variables as a configuration source.
#[derive(Clone, Copy, Debug)]
pub enum Environment {
    /// `TESSERA_SECTION__KEY`.
    Prefixed,
    /// The names in [`ALIASES`] (the prefixed spelling wins when both are set).
    Aliases,
}

impl Environment {
    /// The configuration key `variable` sets, if it sets one.
    fn key_of(self, variable: &str) -> Option<String> {
        match self {
            Self::Prefixed => {
                if NOT_KEYS.iter().any(|n| n.eq_ignore_ascii_case(variable)) {
                    return None;
                }
                let rest = variable
                    .get(..PREFIX.len())?
                    .eq_ignore_ascii_case(PREFIX)
                    .then(|| &variable[PREFIX.len()..])?;
                let key = rest.to_ascii_lowercase().split("__").collect::<Vec<_>>().join(".");
                (!key.is_empty() && !key.split('.').any(str::is_empty)).then_some(key)
            }
            Self::Aliases => ALIASES
                .iter()
                .find(|(name, _)| *name == variable)
                .map(|(_, key)| (*key).to_owned()),
        }
    }

    /// The variable that sets `key` (the inverse of [`Environment::key_of`]).
    pub fn variable_of(self, key: &[&str]) -> String {
        let dotted = key.join(".");
        match self {
            Self::Prefixed => format!("{PREFIX}{}", key.join("__").to_ascii_uppercase()),
            Self::Aliases => ALIASES
                .iter()
                .find(|(_, k)| *k == dotted)
                .map_or(dotted, |(name, _)| (*name).to_owned()),
        }
    }

    fn source_name(self) -> &'static str {
        match self {
            Self::Prefixed => PREFIXED_SOURCE,
            Self::Aliases => ALIAS_SOURCE,
        }
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        let this = *self;
        Metadata::named(self.source_name()).interpolater(move |_: &Profile, keys: &[&str]| this.variable_of(keys))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        // Variables whose name or value is not UTF-8 cannot be configuration and are passed over; an empty
        // one (a blank line in a compose file) counts as not set.
        for (name, value) in std::env::vars_os() {
            let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            if let Some(key) = self.key_of(name) {
                let path: Vec<&str> = key.split('.').collect();
                insert(&mut dict, &path, Value::from(value.to_owned()));
            }
        }
        let mut profiles = Map::new();
        profiles.insert(Profile::Default, dict);
        Ok(profiles)
    }
}

/// Puts `value` at `path` in `dict`, making the sections on the way.
fn insert(dict: &mut Dict, path: &[&str], value: Value) {
    match path {
        [] => {}
        [key] => {
            dict.insert((*key).to_owned(), value);
        }
        [section, rest @ ..] => {
            let entry = dict
                .entry((*section).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_map_to_keys_and_back() {
        let e = Environment::Prefixed;
        assert_eq!(e.key_of("TESSERA_SMS__FROM_NUMBER").as_deref(), Some("sms.from_number"));
        assert_eq!(e.key_of("TESSERA_SECRET_KEY").as_deref(), Some("secret_key"));
        assert_eq!(e.key_of("TESSERA_CONFIG"), None);
        assert_eq!(e.key_of("TESSERA_"), None);
        assert_eq!(e.key_of("TESSERA_SMS____X"), None);
        assert_eq!(e.key_of("OTHER_SMS__X"), None);
        assert_eq!(e.variable_of(&["sms", "from_number"]), "TESSERA_SMS__FROM_NUMBER");
        let a = Environment::Aliases;
        assert_eq!(a.key_of("API_USER_CREATE_SCOPE").as_deref(), Some("user_create_scope"));
        assert_eq!(a.variable_of(&["user_create_scope"]), "API_USER_CREATE_SCOPE");
        assert_eq!(a.key_of("TESSERA_USER_CREATE_SCOPE"), None);
    }
}
