//! Loading the configuration (defaults → TOML file → environment) and checking every value once, naming the
//! key and its environment spelling in any complaint.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::{Figment, Profile, Source};

use super::environment::{ALIAS_SOURCE, Environment, PREFIXED_SOURCE};
use super::{Config, ConfigError, MIN_SECRET_KEY_LEN};

impl Config {
    /// Loads defaults → the TOML file (`path`, else `TESSERA_CONFIG`, else `./tessera.toml` if present) →
    /// the environment (the aliases other products use, then `TESSERA_*`), then validates. Every complaint names
    /// the setting the way the operator wrote it: the variable, or the TOML key and file.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let file = path
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("TESSERA_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("tessera.toml"));
        let figment = Figment::new()
            .merge(Toml::file(file))
            .merge(Environment::Aliases)
            .merge(Environment::Prefixed);
        // Lossy: environment values are text, read as numbers or booleans only where a key wants one.
        let mut config: Config = figment.extract_lossy().map_err(unreadable)?;
        config.validate().map_err(|e| e.located(&figment))?;
        Ok(config)
    }

    /// Checks every value and fills in derived ones (the issuer).
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let bind: SocketAddr = self.server.bind.parse().map_err(|_| {
            invalid(
                "server.bind",
                "TESSERA_SERVER__BIND",
                format!("`{}` is not an address like 127.0.0.1:8080", self.server.bind),
            )
        })?;
        if self.server.issuer.is_empty() {
            if bind.ip().is_unspecified() {
                return Err(invalid(
                    "server.issuer",
                    "TESSERA_SERVER__ISSUER",
                    format!("must be set when listening on all interfaces ({bind}): the public URL clients use"),
                ));
            }
            self.server.issuer = format!("http://{bind}");
        }
        validate_issuer(&self.server.issuer)?;
        if !(1..=600).contains(&self.server.body_timeout_secs) {
            return Err(invalid(
                "server.body_timeout_secs",
                "TESSERA_SERVER__BODY_TIMEOUT_SECS",
                "must be between 1 and 600".into(),
            ));
        }
        if self.server.max_connections == 0 {
            return Err(invalid(
                "server.max_connections",
                "TESSERA_SERVER__MAX_CONNECTIONS",
                "must be at least 1".into(),
            ));
        }
        if !is_supported_database_url(&self.database.url) {
            return Err(invalid(
                "database.url",
                "TESSERA_DATABASE__URL",
                "must start with sqlite:// or postgres:// (or postgresql://)".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid(
                "database.max_connections",
                "TESSERA_DATABASE__MAX_CONNECTIONS",
                "must be at least 1".into(),
            ));
        }
        self.validate_tokens()?;
        self.validate_password()?;
        self.validate_channels()?;
        for (value, key, env) in [
            (
                self.signup.rate_limit_email_window_ms,
                "signup.rate_limit_email_window_ms",
                "USER_SIGNUP_RATE_LIMIT_EMAIL_WINDOW_MS",
            ),
            (
                self.signup.rate_limit_ip_window_ms,
                "signup.rate_limit_ip_window_ms",
                "USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS",
            ),
            (
                self.login.ip_window_secs,
                "login.ip_window_secs",
                "TESSERA_LOGIN__IP_WINDOW_SECS",
            ),
        ] {
            if value < 1 {
                return Err(invalid(key, env, "must be at least 1".into()));
            }
        }
        if self.apps.default_rate_limit_per_minute < 1 || self.apps.invalid_key_limit_per_minute < 1 {
            return Err(invalid(
                "apps.default_rate_limit_per_minute",
                "TESSERA_APPS__DEFAULT_RATE_LIMIT_PER_MINUTE",
                "rate limits must be at least 1 a minute".into(),
            ));
        }
        if self.login.max_failed_attempts < 1 || self.login.lockout_secs < 1 {
            return Err(invalid(
                "login.max_failed_attempts",
                "TESSERA_LOGIN__MAX_FAILED_ATTEMPTS",
                "attempts and lock-out seconds must be at least 1".into(),
            ));
        }
        // An empty value (a blank variable in a compose file) means "not set".
        self.secret_key.take_if(|secret| secret.expose().is_empty());
        self.bootstrap_admin_password
            .take_if(|secret| secret.expose().is_empty());
        if let Some(secret) = &self.secret_key
            && secret.expose().len() < MIN_SECRET_KEY_LEN
        {
            return Err(invalid(
                "secret_key",
                "TESSERA_SECRET_KEY",
                format!("must be at least {MIN_SECRET_KEY_LEN} characters (try `openssl rand -base64 32`)"),
            ));
        }
        Ok(())
    }

    fn validate_tokens(&self) -> Result<(), ConfigError> {
        if self.tokens.access_token_ttl_secs < 1 {
            return Err(invalid(
                "tokens.access_token_ttl_secs",
                "TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS",
                "must be at least 1".into(),
            ));
        }
        for (value, key, env) in [
            (
                self.tokens.refresh_token_ttl_secs,
                "tokens.refresh_token_ttl_secs",
                "TESSERA_TOKENS__REFRESH_TOKEN_TTL_SECS",
            ),
            (
                self.tokens.id_token_ttl_secs,
                "tokens.id_token_ttl_secs",
                "TESSERA_TOKENS__ID_TOKEN_TTL_SECS",
            ),
            (
                self.session.idle_timeout_secs,
                "session.idle_timeout_secs",
                "TESSERA_SESSION__IDLE_TIMEOUT_SECS",
            ),
            (
                self.session.absolute_timeout_secs,
                "session.absolute_timeout_secs",
                "TESSERA_SESSION__ABSOLUTE_TIMEOUT_SECS",
            ),
        ] {
            if value < 1 {
                return Err(invalid(key, env, "must be at least 1".into()));
            }
        }
        if !(1..=600).contains(&self.tokens.authorization_code_ttl_secs) {
            return Err(invalid(
                "tokens.authorization_code_ttl_secs",
                "TESSERA_TOKENS__AUTHORIZATION_CODE_TTL_SECS",
                "must be between 1 and 600 (RFC 6749 §4.1.2)".into(),
            ));
        }
        for (value, key, env) in [
            (
                self.tokens.private_token_max_ttl_days,
                "tokens.private_token_max_ttl_days",
                "TESSERA_TOKENS__PRIVATE_TOKEN_MAX_TTL_DAYS",
            ),
            (self.retention.days, "retention.days", "TESSERA_RETENTION__DAYS"),
            (
                self.retention.batch_size,
                "retention.batch_size",
                "TESSERA_RETENTION__BATCH_SIZE",
            ),
        ] {
            if !(1..=36_500).contains(&value) {
                return Err(invalid(key, env, "must be between 1 and 36500".into()));
            }
        }
        if self.retention.interval_secs < 1 {
            return Err(invalid(
                "retention.interval_secs",
                "TESSERA_RETENTION__INTERVAL_SECS",
                "must be at least 1".into(),
            ));
        }
        if self.keys.rotate_after_days > 3650 {
            return Err(invalid(
                "keys.rotate_after_days",
                "TESSERA_KEYS__ROTATE_AFTER_DAYS",
                "must be between 0 (off) and 3650".into(),
            ));
        }
        if !(1..=3600).contains(&self.keys.reload_interval_secs) {
            return Err(invalid(
                "keys.reload_interval_secs",
                "TESSERA_KEYS__RELOAD_INTERVAL_SECS",
                "must be between 1 and 3600".into(),
            ));
        }
        if !matches!(self.keys.rsa_bits, 2048 | 3072 | 4096) {
            return Err(invalid(
                "keys.rsa_bits",
                "TESSERA_KEYS__RSA_BITS",
                "must be 2048, 3072 or 4096".into(),
            ));
        }
        Ok(())
    }

    fn validate_password(&self) -> Result<(), ConfigError> {
        let p = &self.password;
        if p.min_length < 1 || p.max_length < p.min_length || p.max_length > 4096 {
            return Err(invalid(
                "password.max_length",
                "TESSERA_PASSWORD__MAX_LENGTH",
                "need 1 <= min_length <= max_length <= 4096".into(),
            ));
        }
        if argon2::Params::new(p.argon2_memory_kib, p.argon2_iterations, p.argon2_parallelism, None).is_err() {
            return Err(invalid(
                "password.argon2_memory_kib",
                "TESSERA_PASSWORD__ARGON2_MEMORY_KIB",
                "these argon2 parameters are not valid (memory >= 8 x parallelism KiB, iterations >= 1)".into(),
            ));
        }
        Ok(())
    }
}

pub(super) fn invalid(key: &'static str, env: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key,
        env,
        message,
        at: None,
    }
}

/// Where the operator wrote the value at `path` that `metadata` describes: the environment variable (with
/// the key), or the key in its file.
fn written_at(metadata: Option<&figment::Metadata>, path: &[&str]) -> String {
    let key = path.join(".");
    let Some(md) = metadata else {
        return key;
    };
    match &md.source {
        Some(Source::File(file)) => format!("{key} in {}", file.display()),
        _ if md.name == PREFIXED_SOURCE || md.name == ALIAS_SOURCE => {
            format!("{} ({key})", md.interpolate(&Profile::Default, path))
        }
        _ => key,
    }
}

/// A configuration that could not be read, each problem named where it was written.
fn unreadable(error: figment::Error) -> ConfigError {
    let problems = error
        .into_iter()
        .map(|e| {
            let path: Vec<&str> = e.path.iter().map(String::as_str).collect();
            format!("{}: {}", written_at(e.metadata.as_ref(), &path), e.kind)
        })
        .collect();
    ConfigError::Load(problems)
}

impl ConfigError {
    /// Names an invalid value where the operator set it, when `figment` knows.
    fn located(self, figment: &Figment) -> Self {
        match self {
            ConfigError::Invalid { key, env, message, .. } => {
                let path: Vec<&str> = key.split('.').collect();
                let at = figment.find_metadata(key).map(|md| written_at(Some(md), &path));
                ConfigError::Invalid { key, env, message, at }
            }
            other => other,
        }
    }
}

fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let problem = match url::Url::parse(issuer) {
        Err(e) => Some(format!("`{issuer}` is not a URL: {e}")),
        Ok(url) if !matches!(url.scheme(), "https" | "http") => Some("must be an https:// URL".into()),
        Ok(url) if url.query().is_some() || url.fragment().is_some() => {
            Some("must not have a query or fragment".into())
        }
        Ok(url) if url.host_str().is_none_or(str::is_empty) => Some("must name a host".into()),
        Ok(_) if issuer.ends_with('/') => Some("must not end with '/'".into()),
        Ok(_) => None,
    };
    match problem {
        Some(message) => Err(invalid("server.issuer", "TESSERA_SERVER__ISSUER", message)),
        None => Ok(()),
    }
}

fn is_supported_database_url(url: &str) -> bool {
    ["sqlite://", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, UserCreateScope};

    fn valid() -> Config {
        let mut config = Config::default();
        config.validate().unwrap();
        config
    }

    #[test]
    fn defaults_are_valid_and_derive_the_issuer() {
        assert_eq!(valid().issuer(), "http://127.0.0.1:8080");
    }

    #[test]
    fn rejects_bad_values_naming_the_key() {
        let mut config = Config::default();
        config.server.bind = "localhost".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("server.bind") && err.contains("TESSERA_SERVER__BIND"),
            "{err}"
        );

        let mut config = Config::default();
        config.database.url = "mysql://x".into();
        assert!(config.validate().unwrap_err().to_string().contains("database.url"));

        for issuer in [
            "https://id.example.com/",
            "https://id.example.com?x=1",
            "ftp://x",
            "nonsense",
        ] {
            let mut config = Config::default();
            config.server.issuer = issuer.into();
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("server.issuer"), "{issuer}: {err}");
        }

        let mut config = Config {
            secret_key: Some(Secret::new("short")),
            ..Config::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("TESSERA_SECRET_KEY")
        );
    }

    #[test]
    fn all_interfaces_need_an_explicit_issuer_and_blank_secrets_are_unset() {
        let mut config = Config::default();
        config.server.bind = "0.0.0.0:8080".into();
        assert!(config.validate().unwrap_err().to_string().contains("server.issuer"));
        config.server.issuer = "https://id.example.test".into();
        config.secret_key = Some(Secret::new(""));
        config.validate().unwrap();
        assert!(config.secret_key.is_none());
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn the_example_file_documents_the_defaults() {
        figment::Jail::expect_with(|jail| {
            let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tessera.example.toml"))
                .map_err(|e| e.to_string())?;
            jail.create_file("tessera.toml", &example)?;
            let loaded = Config::load(None).map_err(|e| e.to_string())?;
            let defaults = valid();
            assert_eq!(format!("{loaded:?}"), format!("{defaults:?}"));
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn signup_limits_answer_to_their_unprefixed_names_and_proxies_parse() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("USER_SIGNUP_RATE_LIMIT_EMAIL", "3");
            jail.set_env("USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS", "1000");
            jail.set_env("TESSERA_SIGNUP__RATE_LIMIT_IP", "7");
            jail.set_env("TESSERA_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.signup.rate_limit_email, 3);
            assert_eq!(config.signup.rate_limit_ip_window_ms, 1000);
            assert_eq!(config.signup.rate_limit_ip, 7);
            let proxies: Vec<String> = config.server.trusted_proxies.iter().map(ToString::to_string).collect();
            assert_eq!(proxies, ["10.0.0.0/8", "192.168.1.1/32"]);
            jail.set_env("TESSERA_SERVER__TRUSTED_PROXIES", "not-a-network");
            let err = Config::load(None).unwrap_err().to_string().to_lowercase();
            assert!(err.contains("trusted_proxies"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn environment_strings_stay_as_written() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TESSERA_SMS__FROM_NUMBER", "+15005550006");
            jail.set_env("TESSERA_SMS__ACCOUNT_SID", "0123");
            jail.set_env("TESSERA_CAPTCHA__SITE_KEY", "12345");
            jail.set_env("TESSERA_SECRET_KEY", "01234567890123456789012345678901234");
            jail.set_env("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "true");
            jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "900");
            jail.set_env("TESSERA_TOKENS__REVOKE_PRIVATE_TOKENS_ON_DISABLE", "false");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.sms.from_number, "+15005550006");
            assert_eq!(config.sms.account_sid, "0123");
            assert_eq!(config.captcha.site_key, "12345");
            assert_eq!(
                config.secret_key.as_ref().map(Secret::expose),
                Some("01234567890123456789012345678901234")
            );
            assert_eq!(config.bootstrap_admin_email.as_deref(), Some("true"));
            assert_eq!(config.tokens.access_token_ttl_secs, 900);
            assert!(!config.tokens.revoke_private_tokens_on_disable);
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn api_user_create_scope_is_an_alias_and_unknown_values_stop_start_up() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("API_USER_CREATE_SCOPE", "admin");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.user_create_scope, UserCreateScope::Admin);
            jail.set_env("TESSERA_USER_CREATE_SCOPE", "public");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                config.user_create_scope,
                UserCreateScope::Public,
                "the prefixed name wins"
            );

            jail.set_env("TESSERA_USER_CREATE_SCOPE", "everyone");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("TESSERA_USER_CREATE_SCOPE") && err.contains("everyone"),
                "{err}"
            );
            jail.set_env("TESSERA_USER_CREATE_SCOPE", "");
            jail.set_env("API_USER_CREATE_SCOPE", "Admins");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("API_USER_CREATE_SCOPE"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn errors_name_the_setting_where_it_was_written() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tessera.toml", "[tokens]\naccess_token_ttl_secs = \"an hour\"\n")?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("tokens.access_token_ttl_secs in") && err.contains("tessera.toml"),
                "{err}"
            );
            jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "soon");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS"), "{err}");
            jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "60");

            jail.create_file("tessera.toml", "[server]\nissuer = \"https://id.example.test/\"\n")?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("server.issuer in") && err.contains("tessera.toml"),
                "{err}"
            );
            jail.set_env("TESSERA_SERVER__ISSUER", "https://id.example.test?x=1");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("TESSERA_SERVER__ISSUER (server.issuer)"), "{err}");
            jail.set_env("TESSERA_SERVER__ISSUER", "https://id.example.test");
            jail.set_env("USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS", "0");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS"), "{err}");
            jail.set_env("TESSERA_SMS__FROM_NUMBERS", "+1");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("TESSERA_SMS__FROM_NUMBERS"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("hunter2-hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn environment_overrides_file_and_names_bad_keys() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tessera.toml", "[server]\nbind = \"127.0.0.1:9000\"\n")?;
            jail.set_env("TESSERA_DATABASE__URL", "postgres://db/tessera");
            jail.set_env("TESSERA_USER_CREATE_SCOPE", "admin");
            jail.set_env("TESSERA_SECRET_KEY", "12345678901234567890123456789012");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.issuer(), "http://127.0.0.1:9000");
            assert_eq!(config.database.url, "postgres://db/tessera");
            assert_eq!(config.user_create_scope, UserCreateScope::Admin);
            assert_eq!(config.secret_key.unwrap().expose(), "12345678901234567890123456789012");

            jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "soon");
            let err = Config::load(None).unwrap_err().to_string().to_lowercase();
            assert!(err.contains("tokens.access_token_ttl_secs"), "{err}");
            Ok(())
        });
    }
}
