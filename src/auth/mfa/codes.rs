//! One-time codes by SMS or e-mail: six random digits, stored as a hash bound to the row, valid for
//! `otp.ttl_secs`, once, for one purpose and one thing (a sign-in, an address, a number). A new code voids the
//! earlier ones; wrong guesses void a code after `otp.max_attempts`; sends are limited per destination, per
//! account and per client address, with a cool-down between two codes (against SMS pumping).

use subtle::ConstantTimeEq;

use super::super::{AuthError, FactorError, SecondFactors};
use crate::apps::rate_limit::Policy;
use crate::clock::UnixTime;
use crate::notify::messages;
use crate::notify::sms::mask_phone;
use crate::store::one_time_codes::{self, OneTimeCodeRow};
use crate::store::users::User;
use crate::tokens::opaque::{self, random_bytes};

/// What a code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::auth) enum CodePurpose {
    /// A second factor.
    SignIn,
    /// A code sign-in (the first factor), perhaps for an address or number without an account yet.
    Login,
    VerifyEmail,
    VerifyPhone,
    /// A new address for an account that has one: it replaces the old once its code comes back.
    ChangeEmail,
}

impl CodePurpose {
    pub(in crate::auth) fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "mfa",
            Self::Login => "login",
            Self::VerifyEmail => "verify_email",
            Self::VerifyPhone => "verify_phone",
            Self::ChangeEmail => "change_email",
        }
    }

    /// How the message names it ("Your code to … is").
    fn words(self) -> &'static str {
        match self {
            Self::SignIn | Self::Login => "sign in",
            Self::VerifyEmail => "verify your e-mail address",
            Self::VerifyPhone => "verify your phone number",
            Self::ChangeEmail => "confirm your new e-mail address",
        }
    }
}

/// A code to make and send.
pub(in crate::auth) struct CodeRequest<'a> {
    /// The account it is for; `None` for a code sign-in to an address or number without one.
    pub user: Option<&'a User>,
    pub purpose: CodePurpose,
    /// What it is bound to: a sign-in flow's id, or the address or number being verified.
    pub binding: String,
    pub channel: Channel,
    pub destination: &'a str,
    /// How long it may be entered.
    pub ttl_secs: i64,
    /// Sent instead of the code, which then is stored but never told: the answer to someone who may not
    /// sign in, which must look like any other.
    pub notice: Option<String>,
}

/// How a code travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Sms, Self::Email].into_iter().find(|c| c.as_str() == text)
    }
}

/// A code on its way: where to (masked) and for how long it is good. Never the code.
#[derive(Clone, Debug)]
pub struct SentCode {
    pub channel: Channel,
    pub destination: String,
    pub expires_in: i64,
}

impl SecondFactors {
    /// Makes, stores and sends the code `request` describes, asked for from `client` (an address key).
    pub(in crate::auth) async fn send_code(
        &self,
        request: CodeRequest<'_>,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let CodeRequest {
            user,
            purpose,
            binding,
            channel,
            destination,
            ttl_secs,
            notice,
        } = request;
        let policy = &self.otp_policy;
        // The cool-down runs per account, or per sign-in for an address without one.
        let (user_id, bound) = match user {
            Some(user) => (Some(user.id.clone()), None),
            None => (None, Some(binding.clone())),
        };
        // A code sign-in cools down per destination, whoever it belongs to: the answer must not tell.
        let latest = match purpose {
            CodePurpose::Login => one_time_codes::latest_to(&self.db, purpose.as_str(), destination.to_owned()).await?,
            _ => one_time_codes::latest(&self.db, user_id.clone(), purpose.as_str(), bound).await?,
        };
        if let Some(latest) = latest {
            let wait = latest.created_at + policy.resend_after_secs - now;
            if wait > 0 {
                return Err(FactorError::OtpRateLimited(wait.unsigned_abs()).into());
            }
        }
        let window_ms = policy.send_window_secs * 1000;
        let mut limits = vec![
            (format!("otp-to:{destination}"), policy.max_sends_per_destination),
            (format!("otp-ip:{client}"), policy.max_sends_per_ip),
        ];
        // A code sign-in is limited as its answer is given: per destination and address, never per account
        // (which would tell the addresses that have one).
        if let Some(user_id) = user_id.as_ref().filter(|_| purpose != CodePurpose::Login) {
            limits.push((format!("otp-account:{user_id}"), policy.max_sends_per_account));
        }
        let who = user_id.clone().unwrap_or_else(|| "-".into());
        for (key, max) in &limits {
            let standing = self
                .limiter
                .check(key, Policy::Window { max: *max, window_ms }, now * 1000)
                .await?;
            if !standing.allowed {
                tracing::warn!(user_id = %who, "one-time code refused: send limit");
                return Err(FactorError::OtpRateLimited(standing.retry_after_secs).into());
            }
        }
        for (key, max) in &limits {
            self.limiter
                .take(key, Policy::Window { max: *max, window_ms }, now * 1000)
                .await?;
        }

        let code = six_digits();
        let id = opaque::random_id();
        let row = OneTimeCodeRow {
            code_hash: code_hash(&id, &code),
            id,
            user_id,
            purpose: purpose.as_str().into(),
            binding,
            channel: channel.as_str().into(),
            destination: destination.to_owned(),
            created_at: now,
            expires_at: now + ttl_secs,
            attempts: 0,
            consumed_at: None,
        };
        one_time_codes::insert_replacing(&self.db, row).await?;
        let issuer = &self.policy.issuer_name;
        let minutes = (ttl_secs + 59) / 60;
        let unrendered = |e: askama::Error| AuthError::Notify(crate::notify::NotifyError::Email(e.to_string()));
        match (channel, &notice) {
            (Channel::Sms, None) => {
                let text = messages::code_sms(issuer, &code, purpose.words(), minutes);
                self.notify.sms.send(destination, &text).await?;
            }
            (Channel::Sms, Some(notice)) => self.notify.sms.send(destination, notice).await?,
            (Channel::Email, None) => {
                let email = messages::code_email(issuer, &code, purpose.words(), minutes).map_err(unrendered)?;
                self.notify.email.send(destination, email).await?;
            }
            (Channel::Email, Some(notice)) => {
                let email = messages::message_email(issuer, notice).map_err(unrendered)?;
                self.notify.email.send(destination, email).await?;
            }
        }
        tracing::info!(user_id = %who, purpose = purpose.as_str(), channel = channel.as_str(), "one-time code sent");
        Ok(SentCode {
            channel,
            destination: match channel {
                Channel::Sms => mask_phone(destination),
                Channel::Email => mask_email(destination),
            },
            expires_in: ttl_secs,
        })
    }

    /// Checks `code` against the newest code of `purpose` for `user` (or, without one, for `binding`), for
    /// `binding` and over `channel` when given. A match spends it and returns it; a wrong guess is counted.
    pub(in crate::auth) async fn check_code(
        &self,
        user: Option<&User>,
        purpose: CodePurpose,
        binding: Option<&str>,
        channel: Option<Channel>,
        code: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeCodeRow>, AuthError> {
        let user_id = user.map(|u| u.id.clone());
        if user_id.is_none() && binding.is_none() {
            return Ok(None);
        }
        let latest = one_time_codes::latest(&self.db, user_id, purpose.as_str(), binding.map(str::to_owned)).await?;
        let Some(row) = latest else {
            return Ok(None);
        };
        let usable = row.consumed_at.is_none()
            && row.expires_at > now
            && channel.is_none_or(|channel| channel.as_str() == row.channel);
        if !usable {
            return Ok(None);
        }
        let presented = code_hash(&row.id, code.trim());
        if !bool::from(presented.as_bytes().ct_eq(row.code_hash.as_bytes())) {
            one_time_codes::record_attempt(&self.db, row.id.clone(), self.otp_policy.max_attempts, now).await?;
            return Ok(None);
        }
        if !one_time_codes::consume(&self.db, row.id.clone(), now).await? {
            return Ok(None);
        }
        Ok(Some(row))
    }
}

/// Six uniformly random digits.
fn six_digits() -> String {
    // Rejection sampling keeps every code equally likely.
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let value = u32::from_be_bytes(random_bytes::<4>());
        if value < LIMIT {
            return format!("{:06}", value % 1_000_000);
        }
    }
}

/// The stored form of a code: SHA-256 over the row id and the code, so equal codes never hash alike.
fn code_hash(id: &str, code: &str) -> String {
    opaque::hash(&format!("{id}:{code}"))
}

/// An address with most of its local part hidden: `a•••e@example.org`.
pub fn mask_email(address: &str) -> String {
    let Some((local, domain)) = address.split_once('@') else {
        return "•••".into();
    };
    let mut chars = local.chars();
    let first = chars.next().unwrap_or('•');
    let last = chars.next_back().map(String::from).unwrap_or_default();
    format!("{first}•••{last}@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hash_per_row() {
        let code = six_digits();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
        assert_eq!(mask_email("alice@example.org"), "a•••e@example.org");
        assert_eq!(mask_email("x@example.org"), "x•••@example.org");
    }
}
