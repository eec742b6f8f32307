//! The `[apps]` section: the budget of applications and the access policy new applications start with.

use serde::Deserialize;

use super::comma_list;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppsConfig {
    /// Requests a minute a new application may make (its bucket's capacity and refill).
    pub default_rate_limit_per_minute: u32,
    /// Requests a minute one IP address may make with a missing or invalid API key.
    pub invalid_key_limit_per_minute: u32,
    /// How long API keys and application settings are kept in memory (changes through this server apply at
    /// once; through another instance or the CLI within this time).
    pub cache_ttl_secs: u64,
    /// Who may enter a new application; unset: `registration` when `user_create_scope` is `public`,
    /// `invite_only` when it is `admin`.
    pub default_access_mode: Option<AccessMode>,
    /// How people prove who they are in a new application.
    #[serde(deserialize_with = "comma_list")]
    pub default_login_methods: Vec<LoginMethod>,
    /// Which proof of contact a new `registration` application asks for before its first token (empty: none).
    #[serde(deserialize_with = "comma_list")]
    pub default_verification_channels: Vec<ContactChannel>,
    /// How long a code sent during a new application's sign-in may be entered.
    pub default_code_ttl_secs: i64,
    /// Guests (of `open` applications) with no live session are deleted this many days after they were made.
    pub unused_guest_days: i64,
    /// Guests one client address may make in an hour.
    pub max_guests_per_ip_per_hour: u32,
}

impl Default for AppsConfig {
    fn default() -> Self {
        Self {
            default_rate_limit_per_minute: 1000,
            invalid_key_limit_per_minute: 60,
            cache_ttl_secs: 5,
            default_access_mode: None,
            default_login_methods: vec![LoginMethod::Password],
            default_verification_channels: Vec::new(),
            default_code_ttl_secs: 60,
            unused_guest_days: 30,
            max_guests_per_ip_per_hour: 30,
        }
    }
}

/// Who may enter an application.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccessMode {
    /// Anyone, without registration: a browser without a session gets a guest identity.
    Open,
    /// Anyone who registers (and proves an address or number, when the application asks).
    Registration,
    /// Only the members an administrator added.
    InviteOnly,
}

/// How a person proves who they are.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    Password,
    /// A code sent to the e-mail address.
    EmailCode,
    /// A code sent by text message.
    SmsCode,
    /// An upstream OpenID provider (Google, or any OpenID Connect provider), per application.
    External,
    /// A passkey alone (WebAuthn, a discoverable credential with user verification).
    Passkey,
}

/// A way to reach a person: an e-mail address, or a phone number (by text message).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Email,
    Sms,
}

// The names the API, the CLI and the stored rows use (the same as in the configuration).
impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Registration => "registration",
            Self::InviteOnly => "invite_only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Open, Self::Registration, Self::InviteOnly]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::EmailCode => "email_code",
            Self::SmsCode => "sms_code",
            Self::External => "external",
            Self::Passkey => "passkey",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Password,
            Self::EmailCode,
            Self::SmsCode,
            Self::External,
            Self::Passkey,
        ]
        .into_iter()
        .find(|m| m.as_str() == text)
    }
}

impl ContactChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Email, Self::Sms].into_iter().find(|c| c.as_str() == text)
    }
}
