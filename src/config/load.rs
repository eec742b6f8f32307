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
        for (secs, key, variable, range) in [
            (
                self.server.header_timeout_secs,
                "server.header_timeout_secs",
                "TESSERA_SERVER__HEADER_TIMEOUT_SECS",
                1..=60,
            ),
            (
                self.server.keep_alive_secs,
                "server.keep_alive_secs",
                "TESSERA_SERVER__KEEP_ALIVE_SECS",
                1..=300,
            ),
            (
                self.server.shutdown_timeout_secs,
                "server.shutdown_timeout_secs",
                "TESSERA_SERVER__SHUTDOWN_TIMEOUT_SECS",
                0..=300,
            ),
        ] {
            if !range.contains(&secs) {
                return Err(invalid(
                    key,
                    variable,
                    format!("must be between {} and {}", range.start(), range.end()),
                ));
            }
        }
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
        self.validate_application_defaults()?;
        self.federation.validate()?;
        self.metrics.validate(&self.server.bind)?;
        self.webhooks.validate()?;
        self.backchannel_logout.validate()?;
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

    /// The policy new applications get must be one the admin API would accept.
    fn validate_application_defaults(&self) -> Result<(), ConfigError> {
        use crate::config::{AccessMode, ContactChannel, EmailTransport, LoginMethod, SmsProvider};
        let apps = &self.apps;
        if !(30..=600).contains(&apps.default_code_ttl_secs) {
            return Err(invalid(
                "apps.default_code_ttl_secs",
                "TESSERA_APPS__DEFAULT_CODE_TTL_SECS",
                "must be between 30 and 600 seconds".into(),
            ));
        }
        if apps.default_login_methods.is_empty() && apps.default_access_mode != Some(AccessMode::Open) {
            return Err(invalid(
                "apps.default_login_methods",
                "TESSERA_APPS__DEFAULT_LOGIN_METHODS",
                "needs at least one of password, email_code, sms_code".into(),
            ));
        }
        let email = self.email.transport != EmailTransport::None;
        let sms = self.sms.provider != SmsProvider::None;
        let methods_reachable = apps.default_login_methods.iter().all(|m| match m {
            LoginMethod::Password | LoginMethod::Passkey => true,
            LoginMethod::EmailCode => email,
            LoginMethod::SmsCode => sms,
            // Each application names its own providers.
            LoginMethod::External => false,
        });
        if !methods_reachable {
            return Err(invalid(
                "apps.default_login_methods",
                "TESSERA_APPS__DEFAULT_LOGIN_METHODS",
                "email_code needs email.transport, sms_code needs sms.provider, and external is set per application"
                    .into(),
            ));
        }
        let channels_reachable = apps.default_verification_channels.iter().all(|c| match c {
            ContactChannel::Email => email,
            ContactChannel::Sms => sms,
        });
        if !channels_reachable {
            return Err(invalid(
                "apps.default_verification_channels",
                "TESSERA_APPS__DEFAULT_VERIFICATION_CHANNELS",
                "email needs email.transport and sms needs sms.provider".into(),
            ));
        }
        if apps.max_guests_per_ip_per_hour < 1 {
            return Err(invalid(
                "apps.max_guests_per_ip_per_hour",
                "TESSERA_APPS__MAX_GUESTS_PER_IP_PER_HOUR",
                "must be at least 1".into(),
            ));
        }
        if apps.unused_guest_days < 1 {
            return Err(invalid(
                "apps.unused_guest_days",
                "TESSERA_APPS__UNUSED_GUEST_DAYS",
                "must be at least 1".into(),
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
                self.retention.audit_days,
                "retention.audit_days",
                "TESSERA_RETENTION__AUDIT_DAYS",
            ),
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
        if !self.keys.algorithms.contains(&crate::tokens::keys::SigningAlg::Rs256) {
            return Err(invalid(
                "keys.algorithms",
                "TESSERA_KEYS__ALGORITHMS",
                "must include RS256, the algorithm tokens are signed with by default".into(),
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

/// Checks each `(value, range, key, variable)` of a section's numeric settings: the first out of its range is
/// the error, naming its key and variable.
pub(super) fn check_ranges(
    checks: &[(u64, std::ops::RangeInclusive<u64>, &'static str, &'static str)],
) -> Result<(), ConfigError> {
    for (value, range, key, variable) in checks {
        if !range.contains(value) {
            return Err(invalid(
                key,
                variable,
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
    }
    Ok(())
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
