//! Typed configuration, loaded once: built-in defaults, then `tessera.toml`, then `TESSERA_*` variables.

mod apps;
mod backchannel;
mod channels;
mod compat;
mod dpop;
mod environment;
mod federation;
mod load;
mod metrics;
mod secret;
#[cfg(test)]
mod tests;
mod webhooks;

use ipnet::IpNet;
use serde::Deserialize;

pub use apps::{AccessMode, AppsConfig, ContactChannel, LoginMethod};
pub use backchannel::BackchannelLogoutConfig;
pub use channels::{
    CaptchaConfig, CaptchaProvider, EmailConfig, EmailTransport, MfaConfig, OtpConfig, SmsConfig, SmsProvider, SmtpTls,
};
pub use compat::{CellmobsConfig, CompatConfig, ProfileConfig};
pub use dpop::DpopConfig;
pub use federation::{
    FederationConfig, GOOGLE_ISSUER, ProviderConfig, ProviderKind, amr_problem, id_problem, issuer_problem,
};
pub use metrics::MetricsConfig;
pub use secret::Secret;
pub use webhooks::WebhooksConfig;

/// The whole configuration. Every key is documented in `tessera.example.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub tokens: TokenConfig,
    pub session: SessionConfig,
    pub oauth: OAuthConfig,
    pub keys: KeyConfig,
    pub password: PasswordConfig,
    pub login: LoginConfig,
    pub signup: SignupConfig,
    pub apps: AppsConfig,
    pub retention: RetentionConfig,
    pub mfa: MfaConfig,
    pub otp: OtpConfig,
    pub sms: SmsConfig,
    pub email: EmailConfig,
    pub captcha: CaptchaConfig,
    pub federation: FederationConfig,
    /// Drop-in profiles of other products' APIs.
    pub compat: CompatConfig,
    pub log: LogConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// Applications' webhooks of audit events.
    pub webhooks: WebhooksConfig,
    /// Sender-constrained tokens (RFC 9449).
    pub dpop: DpopConfig,
    /// Logout tokens sent to clients' back-channel logout URIs.
    pub backchannel_logout: BackchannelLogoutConfig,
    /// Encrypts signing keys at rest (`TESSERA_SECRET_KEY`).
    pub secret_key: Option<Secret>,
    /// E-mail of the administrator created at first start (`TESSERA_BOOTSTRAP_ADMIN_EMAIL`).
    pub bootstrap_admin_email: Option<String>,
    /// Password of that administrator; a random one is printed when unset.
    pub bootstrap_admin_password: Option<Secret>,
    /// Who may call `POST /api/v1/users` (`TESSERA_USER_CREATE_SCOPE`).
    pub user_create_scope: UserCreateScope,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: String,
    /// Public issuer URL; empty means `http://` + `bind`.
    pub issuer: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers are believed (addresses or CIDR ranges).
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<IpNet>,
    /// The longest a request's head (request line and headers) may take to arrive (408 and closed after that):
    /// a client that trickles its headers in holds a connection no longer.
    pub header_timeout_secs: u64,
    /// The longest a request's body may take to arrive after its headers (408 after that).
    pub body_timeout_secs: u64,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive_secs: u64,
    /// At shutdown, how long requests in flight may take to finish before their connections are closed.
    pub shutdown_timeout_secs: u64,
    /// Connections served at once, all workers together; more wait to be accepted. Keep it below the open-file
    /// limit (`ulimit -n`) less what the database pool needs.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            issuer: String::new(),
            workers: 0,
            trusted_proxies: Vec::new(),
            header_timeout_secs: 5,
            body_timeout_secs: 10,
            keep_alive_secs: 5,
            shutdown_timeout_secs: 30,
            max_connections: 4096,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    /// Largest number of pooled connections.
    pub max_connections: usize,
    /// How long a request waits for a free connection before failing with 503.
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/tessera.db".into(),
            max_connections: 16,
            acquire_timeout_secs: 5,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// Lifetime of access tokens.
    pub access_token_ttl_secs: i64,
    /// Absolute lifetime of a refresh-token family, counted from the login.
    pub refresh_token_ttl_secs: i64,
    /// Lifetime of ID tokens.
    pub id_token_ttl_secs: i64,
    /// Lifetime of authorization codes (RFC 6749 §4.1.2 recommends at most ten minutes).
    pub authorization_code_ttl_secs: i64,
    /// The furthest `expires_at` a new private token may have, in days from its creation.
    pub private_token_max_ttl_days: i64,
    /// Disabling an account revokes its private tokens (enabling it again does not bring them back).
    pub revoke_private_tokens_on_disable: bool,
    /// Changing a password revokes the account's private tokens.
    pub revoke_private_tokens_on_password_change: bool,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            id_token_ttl_secs: 3600,
            authorization_code_ttl_secs: 60,
            private_token_max_ttl_days: 365,
            revoke_private_tokens_on_disable: true,
            revoke_private_tokens_on_password_change: true,
        }
    }
}

/// Deleting rows of tokens, sessions and codes that ended long enough ago.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days an expired or revoked row is kept (for audit and reuse detection) before it is deleted.
    pub days: i64,
    /// How often a server prunes.
    pub interval_secs: u64,
    /// Rows deleted per table and run at most.
    pub batch_size: i64,
    /// Days a security event stays in the audit log.
    pub audit_days: i64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            days: 30,
            interval_secs: 600,
            batch_size: 1000,
            audit_days: 365,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A browser session unused this long must sign in again.
    pub idle_timeout_secs: i64,
    /// A browser session this old must sign in again, however active.
    pub absolute_timeout_secs: i64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 12 * 3600,
            absolute_timeout_secs: 14 * 24 * 3600,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// How long a server keeps a client's registration in memory. Changes made through this server apply at
    /// once; changes made through another instance or the CLI apply within this time. 0 disables the cache.
    pub client_cache_ttl_secs: u64,
    /// RFC 7591/7592: clients may register themselves at `/oauth2/register` with an initial access token an
    /// administrator issued. Off by default.
    pub dynamic_registration: bool,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            client_cache_ttl_secs: 5,
            dynamic_registration: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyConfig {
    /// The algorithms tokens may be signed with, each with its own key in the JWKS. RS256 is always among them
    /// and signs unless a client asks for another (`id_token_signed_response_alg`,
    /// `access_token_signed_response_alg`).
    #[serde(deserialize_with = "comma_list")]
    pub algorithms: Vec<crate::tokens::keys::SigningAlg>,
    /// Size of newly generated RSA signing keys.
    pub rsa_bits: u32,
    /// How often a running server re-reads the signing keys (to see `tessera keys rotate`).
    pub reload_interval_secs: u64,
    /// Rotate the signing key automatically once it has signed this many days; 0 leaves rotation to
    /// `tessera keys rotate`.
    pub rotate_after_days: u32,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            algorithms: crate::tokens::keys::SigningAlg::ALL.to_vec(),
            rsa_bits: 2048,
            reload_interval_secs: 30,
            rotate_after_days: 0,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Fewest characters a new password may have.
    pub min_length: usize,
    /// Most characters a password may have (longer ones are refused before hashing).
    pub max_length: usize,
    /// argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core. Bounds memory under a login flood.
    pub max_concurrent_hashes: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    /// Consecutive failures after which an account is locked for a while.
    pub max_failed_attempts: i32,
    /// First lock-out period; each further failure doubles it.
    pub lockout_secs: i64,
    /// Longest lock-out period.
    pub max_lockout_secs: i64,
    /// Failed sign-ins allowed from one IP address (an IPv6 /64) in `ip_window_secs`.
    pub max_failures_per_ip: u32,
    pub ip_window_secs: i64,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            max_failed_attempts: 5,
            lockout_secs: 60,
            max_lockout_secs: 3600,
            max_failures_per_ip: 100,
            ip_window_secs: 900,
        }
    }
}

/// Limits on unauthenticated sign-ups (an administrator creating accounts is not limited).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignupConfig {
    /// Sign-up attempts per e-mail address (normalised: case, `+tag`) in `rate_limit_email_window_ms`.
    pub rate_limit_email: u32,
    pub rate_limit_email_window_ms: i64,
    /// Sign-up attempts per IP address (an IPv6 /64) in `rate_limit_ip_window_ms`.
    pub rate_limit_ip: u32,
    pub rate_limit_ip_window_ms: i64,
}

impl Default for SignupConfig {
    fn default() -> Self {
        Self {
            rate_limit_email: 10,
            rate_limit_email_window_ms: 3_600_000,
            rate_limit_ip: 50,
            rate_limit_ip_window_ms: 3_600_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `tessera=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Who may create accounts through the REST API.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UserCreateScope {
    /// Anyone may sign up.
    #[default]
    Public,
    /// Only callers whose token holds the `admin` scope.
    Admin,
}

/// A configuration problem, naming the setting the way the operator wrote it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Values that could not be read, each as `where: what`.
    #[error("invalid configuration: {}", .0.join("; "))]
    Load(Vec<String>),
    /// A value that was read but is not acceptable.
    #[error("invalid configuration: {}: {message}", .at.clone().unwrap_or_else(|| format!("{key} ({env})")))]
    Invalid {
        key: &'static str,
        env: &'static str,
        message: String,
        /// Where it was set (the variable or file), when known.
        at: Option<String>,
    },
}

/// A list of networks from TOML/env: a list, or one comma-separated string; plain addresses are single hosts.
fn networks<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("`{item}` is not an IP address or CIDR range")))
        })
        .collect()
}

/// A list from TOML/env: a list, or one string separated by commas or spaces.
fn comma_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(text) => vec![text],
    };
    items
        .iter()
        .flat_map(|item| item.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|item| !item.is_empty())
        .map(|item| {
            T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(item))
                .map_err(|e| serde::de::Error::custom(format!("`{item}`: {e}")))
        })
        .collect()
}

/// The shortest accepted `TESSERA_SECRET_KEY`.
pub const MIN_SECRET_KEY_LEN: usize = 32;

impl Config {
    /// The issuer exactly as published and signed.
    pub fn issuer(&self) -> &str {
        &self.server.issuer
    }

    /// Whether the issuer is plain http (cookies lose `Secure`, HSTS is not sent).
    pub fn is_plain_http(&self) -> bool {
        self.server.issuer.starts_with("http://")
    }
}
