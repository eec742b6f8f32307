//! Second factors at sign-in. After the first factor, an account with an authenticator app (TOTP) or a
//! verified phone — or every account, when `mfa.required` — gets the second-factor step of its sign-in flow
//! instead of tokens. A code of one of the account's methods completes it; wrong codes are counted on the flow
//! and toward the account lock-out.

pub(super) mod codes;
mod contact;
pub(super) mod passkey;
mod totp;

pub use codes::{Channel, SentCode, mask_email};
pub use passkey::{PasskeyChallenge, PasskeyInfo, relying_party};
pub use totp::TotpEnrollment;

use super::{
    AuthError, Authentication, BrowserSession, CredentialError, FactorError, Origin, Principal, PrivateTokenError,
    SecondFactors,
};
use crate::clock::UnixTime;
use crate::store::totp_factors;
use crate::store::users::User;
use codes::{CodePurpose, CodeRequest};

/// A second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Totp,
    /// One of the account's passkeys (WebAuthn), through the browser's own ceremony rather than a typed code.
    Passkey,
    Sms,
    Email,
    RecoveryCode,
}

impl Method {
    pub const ALL: [Self; 5] = [Self::Totp, Self::Passkey, Self::Sms, Self::Email, Self::RecoveryCode];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Passkey => "passkey",
            Self::Sms => "sms",
            Self::Email => "email",
            Self::RecoveryCode => "recovery_code",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// The RFC 8176 method a sign-in with this factor records: `sms` for a code by text message, `otp` for
    /// every other one-time password (a passkey records what its authenticator reported instead).
    pub(in crate::auth) fn amr(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Passkey => "hwk",
            Self::Totp | Self::Email | Self::RecoveryCode => "otp",
        }
    }
}

impl SecondFactors {
    /// The second factors `user` can complete a sign-in with; empty when a password suffices.
    pub async fn second_factors(&self, user: &User) -> Result<Vec<Method>, AuthError> {
        self.factors(user, None).await
    }

    /// Whether the browser session may use the administrators' console now: an administrator's, signed in
    /// within `mfa.reauth_max_age_secs`, with a second factor when the account has one.
    pub async fn console_access(&self, session: &BrowserSession, now: UnixTime) -> Result<(), AuthError> {
        if !session.is_admin() {
            return Err(PrivateTokenError::InsufficientScope(super::ADMIN_SCOPE).into());
        }
        let max_age_secs = self.policy.reauth_max_age_secs;
        let stale = now - session.auth_time > max_age_secs;
        let single = !session.amr.split_whitespace().any(|method| method == "mfa");
        if stale || (single && !self.second_factors(&session.user).await?.is_empty()) {
            return Err(CredentialError::ReauthenticationRequired { max_age_secs }.into());
        }
        Ok(())
    }

    /// The second factors that may follow `first`: not the channel the first factor already used (after a
    /// code by text message, the phone is no second factor — nor a reason to ask for one).
    pub(in crate::auth) async fn second_factors_after(
        &self,
        user: &User,
        first: &Authentication,
    ) -> Result<Vec<Method>, AuthError> {
        self.factors(user, Some(first)).await
    }

    /// The account's second factors, after `first` when it is known.
    async fn factors(&self, user: &User, first: Option<&Authentication>) -> Result<Vec<Method>, AuthError> {
        let used = |amr: &str| first.is_some_and(|how| how.used(amr));
        let totp = totp_factors::find(&self.db, user.id.clone())
            .await?
            .is_some_and(|factor| factor.confirmed_at.is_some());
        let sms = user.phone.is_some() && self.notify.sms.is_enabled() && !used(super::SMS_CODE_AMR);
        let passkey = self.has_passkey(user).await? && !used("hwk") && !used("swk");
        let needed = totp || sms || passkey || self.policy.required;
        let email = needed
            && self.notify.email.is_enabled()
            && user.email.is_some()
            && (user.email_verified || self.policy.required)
            && !used(super::EMAIL_CODE_AMR);
        Ok(Method::ALL
            .into_iter()
            .filter(|method| match method {
                Method::Totp | Method::RecoveryCode => totp,
                Method::Passkey => passkey,
                Method::Sms => sms,
                Method::Email => email,
            })
            .collect())
    }

    /// When the account's second factor is a text message (a verified phone and no authenticator app), the
    /// code goes out as the challenge starts. Best effort: the sign-in goes on either way, and the explicit
    /// send step resends or says why it cannot.
    pub(super) async fn send_second_factor_at_once(
        &self,
        user: &User,
        methods: &[Method],
        flow_id: &str,
        ttl_secs: i64,
        origin: &Origin,
        now: UnixTime,
    ) -> Option<SentCode> {
        let phone = user.phone.as_ref()?;
        if methods.contains(&Method::Totp) || !methods.contains(&Method::Sms) {
            return None;
        }
        let request = CodeRequest {
            user: Some(user),
            purpose: CodePurpose::SignIn,
            binding: flow_id.to_owned(),
            channel: Channel::Sms,
            destination: phone,
            ttl_secs,
            notice: None,
        };
        let sent = self.send_code(request, &origin.key, now).await;
        sent.inspect_err(|e| tracing::warn!(user_id = %user.id, error = %e, "sign-in code not sent"))
            .ok()
    }

    /// Whether `code` proves `method` for `user`, spending it if so.
    pub(in crate::auth) async fn check_factor(
        &self,
        user: &User,
        method: Method,
        code: &str,
        flow_id: &str,
        now: UnixTime,
    ) -> Result<bool, AuthError> {
        match method {
            Method::Totp => self.check_totp(user, code, now).await,
            Method::RecoveryCode => self.use_recovery_code(user, code, now).await,
            // A passkey answers its own ceremony (`SignIn::complete_passkey_second_factor`), never a code.
            Method::Passkey => Err(FactorError::MethodUnavailable(method.as_str()).into()),
            Method::Sms | Method::Email => {
                let channel = if method == Method::Sms {
                    Channel::Sms
                } else {
                    Channel::Email
                };
                let spent = self
                    .check_code(Some(user), CodePurpose::SignIn, Some(flow_id), Some(channel), code, now)
                    .await?;
                Ok(spent.is_some())
            }
        }
    }

    /// Adding or removing a factor needs a password sign-in, and a recent one.
    pub(in crate::auth) fn require_recent_sign_in(&self, caller: &Principal, now: UnixTime) -> Result<(), AuthError> {
        caller.require_recent_sign_in(self.policy.reauth_max_age_secs, now)
    }

    /// Tells the account's owner that something about its security changed (see [`notify_security_event`]).
    fn notify_security_event(&self, user: &User, what: String) {
        super::notify_security_event(&self.notify, &self.policy.issuer_name, user, what);
    }
}
