//! Configuration of second factors and the outbound channels behind them: one-time codes, SMS through
//! Twilio, e-mail over SMTP, and captcha verification.

use serde::Deserialize;

use super::load::invalid;
use super::{ConfigError, Secret};

/// Second factors at sign-in.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaConfig {
    /// The name authenticator apps show beside the account, and e-mails are signed with.
    pub issuer_name: String,
    /// Every sign-in needs a second factor; accounts without an authenticator app or phone get an e-mail code.
    pub required: bool,
    /// Lifetime of the `mfa_token` between the password and the second factor.
    pub challenge_ttl_secs: i64,
    /// Wrong codes one sign-in may try before it has to start again (each also counts toward the lock-out).
    pub max_attempts: i32,
    /// Adding or removing a factor needs a sign-in at most this old.
    pub reauth_max_age_secs: i64,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            issuer_name: "Tessera".into(),
            required: false,
            challenge_ttl_secs: 300,
            max_attempts: 5,
            reauth_max_age_secs: 900,
        }
    }
}

/// Codes sent by SMS or e-mail.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtpConfig {
    pub ttl_secs: i64,
    /// Wrong guesses before a code is void.
    pub max_attempts: i32,
    /// The least time between two codes for the same purpose.
    pub resend_after_secs: i64,
    /// Sends allowed per window: to one phone number or address, for one account, from one client address.
    pub max_sends_per_destination: u32,
    pub max_sends_per_account: u32,
    pub max_sends_per_ip: u32,
    pub send_window_secs: i64,
}

impl Default for OtpConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 300,
            max_attempts: 5,
            resend_after_secs: 30,
            max_sends_per_destination: 5,
            max_sends_per_account: 10,
            max_sends_per_ip: 20,
            send_window_secs: 3600,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// No SMS: phone numbers cannot be verified and SMS is no factor.
    #[default]
    None,
    /// Development: the message is written to the log instead of being sent.
    Log,
    Twilio,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub account_sid: String,
    pub auth_token: Option<Secret>,
    /// The sender, E.164; or leave empty and name a messaging service.
    pub from_number: String,
    pub messaging_service_sid: String,
    pub base_url: String,
    pub timeout_secs: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::None,
            account_sid: String::new(),
            auth_token: None,
            from_number: String::new(),
            messaging_service_sid: String::new(),
            base_url: "https://api.twilio.com".into(),
            timeout_secs: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    /// No e-mail: addresses cannot be verified and e-mail is no factor.
    #[default]
    None,
    /// Development: the message is written to the log instead of being sent.
    Log,
    Smtp,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (refused if the server cannot).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network.
    None,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    pub transport: EmailTransport,
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    pub password: Option<Secret>,
    /// The `From` of every message, e.g. `Tessera <no-reply@example.com>`.
    pub from: String,
    pub timeout_secs: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            transport: EmailTransport::None,
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: None,
            from: "Tessera <no-reply@localhost>".into(),
            timeout_secs: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CaptchaProvider {
    #[default]
    None,
    Recaptcha,
    Hcaptcha,
    Turnstile,
}

impl CaptchaProvider {
    /// The provider's verification endpoint (all three take the same form and answer the same shape).
    pub fn default_verify_url(self) -> &'static str {
        match self {
            Self::None | Self::Recaptcha => "https://www.google.com/recaptcha/api/siteverify",
            Self::Hcaptcha => "https://api.hcaptcha.com/siteverify",
            Self::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptchaConfig {
    pub provider: CaptchaProvider,
    pub site_key: String,
    pub secret: Option<Secret>,
    /// Empty: the provider's own endpoint.
    pub verify_url: String,
    /// The hostname the provider must report; empty: the issuer's host.
    pub hostname: String,
    /// reCAPTCHA v3: the lowest score accepted (answers without a score are v2 and skip this).
    pub min_score: f64,
    pub timeout_secs: u64,
}

impl Default for CaptchaConfig {
    fn default() -> Self {
        Self {
            provider: CaptchaProvider::None,
            site_key: String::new(),
            secret: None,
            verify_url: String::new(),
            hostname: String::new(),
            min_score: 0.5,
            timeout_secs: 5,
        }
    }
}

impl super::Config {
    pub(super) fn validate_channels(&mut self) -> Result<(), ConfigError> {
        let mfa = &self.mfa;
        if mfa.issuer_name.trim().is_empty() || mfa.issuer_name.contains(':') {
            return Err(invalid(
                "mfa.issuer_name",
                "TESSERA_MFA__ISSUER_NAME",
                "must be a non-empty name without ':'".into(),
            ));
        }
        for (value, key, env) in [
            (
                mfa.challenge_ttl_secs,
                "mfa.challenge_ttl_secs",
                "TESSERA_MFA__CHALLENGE_TTL_SECS",
            ),
            (
                mfa.reauth_max_age_secs,
                "mfa.reauth_max_age_secs",
                "TESSERA_MFA__REAUTH_MAX_AGE_SECS",
            ),
            (self.otp.ttl_secs, "otp.ttl_secs", "TESSERA_OTP__TTL_SECS"),
            (
                self.otp.send_window_secs,
                "otp.send_window_secs",
                "TESSERA_OTP__SEND_WINDOW_SECS",
            ),
            (
                i64::from(mfa.max_attempts),
                "mfa.max_attempts",
                "TESSERA_MFA__MAX_ATTEMPTS",
            ),
            (
                i64::from(self.otp.max_attempts),
                "otp.max_attempts",
                "TESSERA_OTP__MAX_ATTEMPTS",
            ),
        ] {
            if value < 1 {
                return Err(invalid(key, env, "must be at least 1".into()));
            }
        }
        if self.otp.ttl_secs > 600 {
            return Err(invalid(
                "otp.ttl_secs",
                "TESSERA_OTP__TTL_SECS",
                "must be at most 600: a code is valid ten minutes at most".into(),
            ));
        }
        if mfa.required && self.email.transport == EmailTransport::None {
            return Err(invalid(
                "mfa.required",
                "TESSERA_MFA__REQUIRED",
                "needs an e-mail transport (email.transport), the factor of accounts without another".into(),
            ));
        }
        self.validate_sms()?;
        self.validate_email()?;
        self.validate_captcha()
    }

    fn validate_sms(&self) -> Result<(), ConfigError> {
        let sms = &self.sms;
        if sms.provider != SmsProvider::Twilio {
            return Ok(());
        }
        if sms.account_sid.is_empty() || sms.auth_token.is_none() {
            return Err(invalid(
                "sms.account_sid",
                "TESSERA_SMS__ACCOUNT_SID",
                "Twilio needs account_sid and auth_token".into(),
            ));
        }
        if sms.from_number.is_empty() == sms.messaging_service_sid.is_empty() {
            return Err(invalid(
                "sms.from_number",
                "TESSERA_SMS__FROM_NUMBER",
                "set exactly one of from_number and messaging_service_sid".into(),
            ));
        }
        if let Some(message) = http_url_problem(&sms.base_url) {
            return Err(invalid("sms.base_url", "TESSERA_SMS__BASE_URL", message));
        }
        Ok(())
    }

    fn validate_email(&self) -> Result<(), ConfigError> {
        let email = &self.email;
        if email.transport == EmailTransport::None {
            return Ok(());
        }
        if email.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "email.from",
                "TESSERA_EMAIL__FROM",
                format!(
                    "`{}` is not an address like `Tessera <no-reply@example.com>`",
                    email.from
                ),
            ));
        }
        if email.transport == EmailTransport::Smtp && email.host.is_empty() {
            return Err(invalid(
                "email.host",
                "TESSERA_EMAIL__HOST",
                "the SMTP transport needs a host".into(),
            ));
        }
        Ok(())
    }

    fn validate_captcha(&mut self) -> Result<(), ConfigError> {
        let captcha = &mut self.captcha;
        if captcha.provider == CaptchaProvider::None {
            return Ok(());
        }
        if captcha.site_key.is_empty() || captcha.secret.is_none() {
            return Err(invalid(
                "captcha.secret",
                "TESSERA_CAPTCHA__SECRET",
                "a captcha provider needs site_key and secret".into(),
            ));
        }
        if captcha.verify_url.is_empty() {
            captcha.verify_url = captcha.provider.default_verify_url().into();
        }
        if let Some(message) = http_url_problem(&captcha.verify_url) {
            return Err(invalid("captcha.verify_url", "TESSERA_CAPTCHA__VERIFY_URL", message));
        }
        if !(0.0..=1.0).contains(&captcha.min_score) {
            return Err(invalid(
                "captcha.min_score",
                "TESSERA_CAPTCHA__MIN_SCORE",
                "must be between 0.0 and 1.0".into(),
            ));
        }
        if captcha.hostname.is_empty() {
            captcha.hostname = url::Url::parse(&self.server.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
        }
        Ok(())
    }
}

fn http_url_problem(text: &str) -> Option<String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => None,
        _ => Some(format!("`{text}` is not an http(s) URL")),
    }
}
