//! Second factors at sign-in. After the password, an account with an authenticator app (TOTP) or a verified
//! phone — or every account, when `mfa.required` — gets a challenge instead of tokens: a single-use,
//! short-lived `mfa_token` bound to that sign-in (its application, or its browser). A code of one of the
//! account's methods completes it; wrong codes are counted on the challenge and toward the account lock-out.

mod codes;
mod contact;
mod totp;

pub use codes::{Channel, SentCode};
pub use totp::TotpEnrollment;

use super::{AuthError, AuthService, Authentication, Credential, Origin, Principal, TokenPair};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::store::mfa_challenges::{self, MfaChallengeRow};
use crate::store::totp_factors;
use crate::store::users::{self, User};
use crate::tokens::opaque;
use codes::CodePurpose;

/// Prefix of `mfa_token`s.
pub const MFA_TOKEN_PREFIX: &str = "tsm_";

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

/// The second step a password sign-in needs.
#[derive(Debug)]
pub struct MfaChallenge {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub methods: Vec<Method>,
    /// The code sent at once, when the account's second factor is a text message.
    pub sent: Option<SentCode>,
}

/// What a password sign-in through the REST API produced.
#[derive(Debug)]
pub enum LoginStep {
    SignedIn(TokenPair),
    SecondFactor(MfaChallenge),
}

/// Where a sign-in with a second factor happens: the challenge is good there only.
#[derive(Clone, Copy, Debug)]
pub enum SignInPlace<'a> {
    /// The REST API, for this application.
    Api(&'a Application),
    /// The sign-in pages, in the browser with this binding.
    Browser(&'a str),
}

impl AuthService {
    /// The second factors `user` can complete a sign-in with; empty when a password suffices.
    pub async fn second_factors(&self, user: &User) -> Result<Vec<Method>, AuthError> {
        let totp = totp_factors::find(&self.db, user.id.clone())
            .await?
            .is_some_and(|factor| factor.confirmed_at.is_some());
        let sms = user.phone.is_some() && self.notify.sms.is_enabled();
        let needed = totp || sms || self.mfa_policy.required;
        let email = needed && self.notify.email.is_enabled() && (user.email_verified || self.mfa_policy.required);
        Ok(Method::ALL
            .into_iter()
            .filter(|method| match method {
                Method::Totp | Method::RecoveryCode => totp,
                Method::Sms => sms,
                Method::Email => email,
            })
            .collect())
    }

    /// Signs in with a username or e-mail and a password from `origin`, for `app`: tokens, or a challenge
    /// when the account has a second factor.
    pub async fn login(
        &self,
        app: &Application,
        login: &str,
        password: &str,
        captcha: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<LoginStep, AuthError> {
        let user = self
            .sign_in_with_password(login, password, captcha, origin, now)
            .await?;
        self.after_first_factor(user, app, Authentication::password(), origin, now)
            .await
    }

    /// Once `user` has proven `how` for `app`: tokens, or the second-factor challenge when one is needed.
    pub(crate) async fn after_first_factor(
        &self,
        user: User,
        app: &Application,
        how: Authentication,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<LoginStep, AuthError> {
        if let Some(challenge) = self
            .challenge_if_needed(&user, SignInPlace::Api(app), origin, now)
            .await?
        {
            return Ok(LoginStep::SecondFactor(challenge));
        }
        let pair = self.start_session(user, app, how, now).await?;
        Ok(LoginStep::SignedIn(pair))
    }

    /// After a correct password: a challenge for `place` when `user` must show a second factor. When that
    /// factor is a text message (a verified phone and no authenticator app), the code goes out at once.
    pub async fn challenge_if_needed(
        &self,
        user: &User,
        place: SignInPlace<'_>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Option<MfaChallenge>, AuthError> {
        let methods = self.second_factors(user).await?;
        if methods.is_empty() {
            return Ok(None);
        }
        let token = opaque::mint(MFA_TOKEN_PREFIX);
        let (application_id, browser_binding) = match place {
            SignInPlace::Api(app) => (Some(app.id.clone()), None),
            SignInPlace::Browser(binding) => (None, Some(binding.to_owned())),
        };
        let challenge_id = opaque::random_id();
        mfa_challenges::insert(
            &self.db,
            MfaChallengeRow {
                id: challenge_id.clone(),
                token_hash: token.hash,
                user_id: user.id.clone(),
                application_id,
                browser_binding,
                created_at: now,
                expires_at: now + self.mfa_policy.challenge_ttl_secs,
                attempts: 0,
                consumed_at: None,
            },
        )
        .await?;
        tracing::info!(user_id = %user.id, "password accepted; second factor required");
        let sent = match (&user.phone, methods.contains(&Method::Totp)) {
            (Some(phone), false) if methods.contains(&Method::Sms) => {
                let sent = self
                    .send_code(
                        user,
                        CodePurpose::SignIn,
                        challenge_id,
                        Channel::Sms,
                        phone,
                        &origin.key,
                        now,
                    )
                    .await;
                // The sign-in goes on either way: the explicit challenge call resends, or says why it cannot.
                sent.inspect_err(|e| tracing::warn!(user_id = %user.id, error = %e, "sign-in code not sent"))
                    .ok()
            }
            _ => None,
        };
        Ok(Some(MfaChallenge {
            token: token.value,
            methods,
            sent,
        }))
    }

    /// The methods a pending challenge may be completed with (for the second-factor page).
    pub async fn challenge_methods(
        &self,
        token: &str,
        place: SignInPlace<'_>,
        now: UnixTime,
    ) -> Result<(User, Vec<Method>), AuthError> {
        let (_, user) = self.pending_challenge(token, place, now).await?;
        let methods = self.second_factors(&user).await?;
        Ok((user, methods))
    }

    /// `POST /api/v1/auth/mfa`: completes a REST sign-in with a code and returns the token pair.
    pub async fn login_second_factor(
        &self,
        app: &Application,
        token: &str,
        method: Method,
        code: &str,
        now: UnixTime,
    ) -> Result<TokenPair, AuthError> {
        let (user, how) = self
            .complete_second_factor(token, SignInPlace::Api(app), method, code, now)
            .await?;
        self.start_session(user, app, how, now).await
    }

    /// Checks the code of a pending challenge for `place`. On success the challenge is spent and the account's
    /// failure count cleared; a wrong code counts on the challenge (void after `mfa.max_attempts`) and toward
    /// the account lock-out, and a locked account is refused even a right code — all with the same answer.
    pub async fn complete_second_factor(
        &self,
        token: &str,
        place: SignInPlace<'_>,
        method: Method,
        code: &str,
        now: UnixTime,
    ) -> Result<(User, Authentication), AuthError> {
        let (challenge, user) = self.pending_challenge(token, place, now).await?;
        if !self.second_factors(&user).await?.contains(&method) {
            return Err(AuthError::MethodUnavailable(method.as_str()));
        }
        let locked = user.locked_until.is_some_and(|until| until > now);
        let accepted = !locked && self.check_factor(&user, method, code, &challenge.id, now).await?;
        if !accepted {
            mfa_challenges::record_attempt(&self.db, challenge.id, self.mfa_policy.max_attempts, now).await?;
            // Like a password, a code tried while locked is refused unchecked and does not extend the lock.
            if !locked {
                self.count_failure(&user, now).await?;
            }
            tracing::warn!(user_id = %user.id, method = method.as_str(), locked, "second factor refused");
            return Err(AuthError::InvalidCode);
        }
        if !mfa_challenges::consume(&self.db, challenge.id, now).await? {
            return Err(AuthError::MfaTokenInvalid);
        }
        if user.failed_logins > 0 || user.locked_until.is_some() {
            users::clear_login_failures(&self.db, user.id.clone()).await?;
        }
        tracing::info!(user_id = %user.id, method = method.as_str(), "second factor accepted");
        Ok((user, Authentication::with_second_factor(method.amr())))
    }

    /// `POST /api/v1/auth/mfa/challenge`: sends a code for a pending sign-in by SMS or e-mail.
    pub async fn send_second_factor_code(
        &self,
        token: &str,
        place: SignInPlace<'_>,
        method: Method,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let (challenge, user) = self.pending_challenge(token, place, now).await?;
        if !self.second_factors(&user).await?.contains(&method) {
            return Err(AuthError::MethodUnavailable(method.as_str()));
        }
        let (channel, destination) = match (method, &user.phone) {
            (Method::Sms, Some(phone)) => (Channel::Sms, phone.clone()),
            (Method::Email, _) => (Channel::Email, user.email.clone()),
            _ => return Err(AuthError::MethodUnavailable(method.as_str())),
        };
        self.send_code(
            &user,
            CodePurpose::SignIn,
            challenge.id,
            channel,
            &destination,
            client,
            now,
        )
        .await
    }

    /// Whether `code` proves `method` for `user`, spending it if so.
    async fn check_factor(
        &self,
        user: &User,
        method: Method,
        code: &str,
        challenge_id: &str,
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
                    .check_code(user, CodePurpose::SignIn, Some(challenge_id), Some(channel), code, now)
                    .await?;
                Ok(spent.is_some())
            }
        }
    }

    /// The live challenge a presented token names, for this place only.
    async fn pending_challenge(
        &self,
        token: &str,
        place: SignInPlace<'_>,
        now: UnixTime,
    ) -> Result<(MfaChallengeRow, User), AuthError> {
        if !opaque::is_well_formed(token, MFA_TOKEN_PREFIX) {
            return Err(AuthError::MfaTokenInvalid);
        }
        let (challenge, user) = mfa_challenges::find_by_hash(&self.db, opaque::hash(token))
            .await?
            .ok_or(AuthError::MfaTokenInvalid)?;
        let same_place = match place {
            SignInPlace::Api(app) => challenge.application_id.as_deref() == Some(app.id.as_str()),
            SignInPlace::Browser(binding) => challenge.browser_binding.as_deref() == Some(binding),
        };
        let live = challenge.consumed_at.is_none() && challenge.expires_at > now && user.is_active;
        if !(same_place && live) {
            return Err(AuthError::MfaTokenInvalid);
        }
        Ok((challenge, user))
    }

    /// Adding or removing a factor needs a password sign-in, and a recent one.
    fn require_recent_sign_in(&self, caller: &Principal, now: UnixTime) -> Result<(), AuthError> {
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
        if !self.notify.email.is_enabled() {
            return;
        }
        let notify = self.notify.clone();
        let issuer = self.mfa_policy.issuer_name.clone();
        let (to, user_id) = (user.email.clone(), user.id.clone());
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
