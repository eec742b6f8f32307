//! Second factors at sign-in. After the first factor, an account with an authenticator app (TOTP) or a
//! verified phone — or every account, when `mfa.required` — gets the second-factor step of its sign-in flow
//! instead of tokens. A code of one of the account's methods completes it; wrong codes are counted on the flow
//! and toward the account lock-out.

pub(super) mod codes;
mod contact;
mod totp;

pub use codes::{Channel, SentCode, mask_email};
pub use totp::TotpEnrollment;

use super::flow::{Door, Progress, Stage};
use super::{AuthError, AuthService, Authentication, Credential, Origin, Principal};
use crate::clock::UnixTime;
use crate::store::totp_factors;
use crate::store::users::{self, User};
use codes::{CodePurpose, CodeRequest};

/// A second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Totp,
    Sms,
    Email,
    RecoveryCode,
}

impl Method {
    pub const ALL: [Self; 4] = [Self::Totp, Self::Sms, Self::Email, Self::RecoveryCode];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::Email => "email",
            Self::RecoveryCode => "recovery_code",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// The RFC 8176 method a sign-in with this factor records: `sms` for a code by text message, `otp` for
    /// every other one-time password.
    fn amr(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Totp | Self::Email | Self::RecoveryCode => "otp",
        }
    }
}

impl AuthService {
    /// The second factors `user` can complete a sign-in with; empty when a password suffices.
    pub async fn second_factors(&self, user: &User) -> Result<Vec<Method>, AuthError> {
        self.factors(user, None).await
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

    /// The second factors a flow's step may be completed with: not the channel its first factor used.
    async fn flow_factors(&self, flow: &crate::auth::flow::LiveFlow) -> Result<Vec<Method>, AuthError> {
        let first = Authentication::from_flow(&flow.row.amr);
        self.second_factors_after(flow.account()?, &first).await
    }

    /// The account's second factors, after `first` when it is known.
    async fn factors(&self, user: &User, first: Option<&Authentication>) -> Result<Vec<Method>, AuthError> {
        let used = |amr: &str| first.is_some_and(|how| how.used(amr));
        let totp = totp_factors::find(&self.db, user.id.clone())
            .await?
            .is_some_and(|factor| factor.confirmed_at.is_some());
        let sms = user.phone.is_some() && self.notify.sms.is_enabled() && !used(super::SMS_CODE_AMR);
        let needed = totp || sms || self.mfa_policy.required;
        let email = needed
            && self.notify.email.is_enabled()
            && user.email.is_some()
            && (user.email_verified || self.mfa_policy.required)
            && !used(super::EMAIL_CODE_AMR);
        Ok(Method::ALL
            .into_iter()
            .filter(|method| match method {
                Method::Totp | Method::RecoveryCode => totp,
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

    /// The account and the methods of a sign-in waiting for its second factor (for the second-factor page).
    pub async fn challenge_methods(
        &self,
        token: &str,
        door: Door<'_>,
        now: UnixTime,
    ) -> Result<(User, Vec<Method>), AuthError> {
        let flow = self.live_flow(token, door, Stage::SecondFactor, now).await?;
        let user = flow.account()?.clone();
        let methods = self.flow_factors(&flow).await?;
        Ok((user, methods))
    }

    /// Checks the code of a sign-in waiting for its second factor. On success the flow moves on (the sign-in
    /// is complete) and the account's failure count is cleared; a wrong code counts on the flow (void after
    /// `mfa.max_attempts`) and toward the account lock-out, and a locked account is refused even a right
    /// code — all with the same answer.
    pub async fn complete_second_factor(
        &self,
        token: &str,
        door: Door<'_>,
        method: Method,
        code: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let flow = self.live_flow(token, door, Stage::SecondFactor, now).await?;
        let user = flow.account()?;
        if !self.flow_factors(&flow).await?.contains(&method) {
            return Err(AuthError::MethodUnavailable(method.as_str()));
        }
        let locked = user.locked_until.is_some_and(|until| until > now);
        let accepted = !locked && self.check_factor(user, method, code, &flow.row.id, now).await?;
        if !accepted {
            self.count_wrong_answer(&flow, now).await?;
            // Like a password, a code tried while locked is refused unchecked and does not extend the lock.
            if !locked {
                self.count_failure(user, now).await?;
            }
            tracing::warn!(user_id = %user.id, method = method.as_str(), locked, "second factor refused");
            return Err(AuthError::InvalidCode);
        }
        if user.failed_logins > 0 || user.locked_until.is_some() {
            users::clear_login_failures(&self.db, user.id.clone()).await?;
        }
        tracing::info!(user_id = %user.id, method = method.as_str(), "second factor accepted");
        let how = Authentication::from_flow(&flow.row.amr).then(method.amr());
        let app = flow.app.clone();
        self.next_stage(user.clone(), &app, door, how, Some(&flow), origin, now)
            .await
    }

    /// Sends a code for a sign-in waiting for its second factor, by SMS or e-mail.
    pub async fn send_second_factor_code(
        &self,
        token: &str,
        door: Door<'_>,
        method: Method,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let flow = self.live_flow(token, door, Stage::SecondFactor, now).await?;
        let user = flow.account()?;
        if !self.flow_factors(&flow).await?.contains(&method) {
            return Err(AuthError::MethodUnavailable(method.as_str()));
        }
        let (channel, destination) = match (method, &user.phone) {
            (Method::Sms, Some(phone)) => (Channel::Sms, phone.clone()),
            (Method::Email, _) => match &user.email {
                Some(email) => (Channel::Email, email.clone()),
                None => return Err(AuthError::MethodUnavailable(method.as_str())),
            },
            _ => return Err(AuthError::MethodUnavailable(method.as_str())),
        };
        let request = CodeRequest {
            user: Some(user),
            purpose: CodePurpose::SignIn,
            binding: flow.row.id.clone(),
            channel,
            destination: &destination,
            ttl_secs: flow.app.policy.code_ttl_secs,
            notice: None,
        };
        self.send_code(request, client, now).await
    }

    /// Whether `code` proves `method` for `user`, spending it if so.
    async fn check_factor(
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
        match caller.credential {
            Credential::Session { auth_time, .. } | Credential::Browser { auth_time } => {
                if now - auth_time <= self.mfa_policy.reauth_max_age_secs {
                    Ok(())
                } else {
                    Err(AuthError::ReauthenticationRequired)
                }
            }
            Credential::PrivateToken(_) => Err(AuthError::InteractiveLoginRequired),
        }
    }

    /// Tells the account's owner, by e-mail when there is a channel, that something about its security
    /// changed. Best effort, in the background: the change itself has happened.
    fn notify_security_event(&self, user: &User, what: String) {
        let Some(to) = user.email.clone().filter(|_| self.notify.email.is_enabled()) else {
            return;
        };
        let notify = self.notify.clone();
        let issuer = self.mfa_policy.issuer_name.clone();
        let user_id = user.id.clone();
        tokio::spawn(async move {
            let sent = match crate::notify::messages::notice_email(&issuer, &what) {
                Ok(email) => notify.email.send(&to, email).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(error) = sent {
                tracing::warn!(%user_id, %error, "security notice not sent");
            }
        });
    }
}
