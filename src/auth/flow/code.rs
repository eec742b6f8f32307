//! Passwordless sign-in by a code sent to an e-mail address or a phone number. The first step answers the
//! same way whether or not the address has an account, and whether or not it may enter: someone who may not
//! gets a notice instead of a code (sent under the same limits), so only the owner of the address learns it.
//! Under `registration`, a code for an address without an account creates one (sign-up by code).

use super::{Door, LiveFlow, Next, NextStep, Progress, Stage};
use crate::apps::Application;
use crate::apps::policy::{AccessMode, LoginMethod};
use crate::auth::identity::{email_problem, normalize_email};
use crate::auth::login::Attempt;
use crate::auth::mfa::codes::{CodePurpose, CodeRequest};
use crate::auth::mfa::{Channel, SentCode};
use crate::auth::{
    AccessError, AuthError, Authentication, EMAIL_CODE_AMR, FactorError, FlowError, Origin, SMS_CODE_AMR, SignIn,
};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::notify::sms::{is_e164, normalize_phone};
use crate::store::users::{self, NewUser, User};
use crate::store::{StoreError, members, one_time_codes, sign_in_flows};
use crate::tokens::opaque;

/// Who a code sign-in to an address reaches.
enum Audience {
    /// An account that may enter.
    Account(Box<User>),
    /// Nobody yet: a verified code makes the account.
    NewAccount,
    /// Someone who may not enter (no account where sign-up is closed, a non-member, a disabled account).
    Refused,
}

impl SignIn {
    /// `POST /api/v1/auth/code`: sends a sign-in code to `identifier` (an e-mail address, or an E.164 number),
    /// for `app` at `door`. The answer is the same for every address that is well formed.
    pub async fn start_code_sign_in(
        &self,
        app: &Application,
        door: Door<'_>,
        identifier: &str,
        captcha: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Next, AuthError> {
        let (channel, destination) = parse_identifier(identifier)?;
        let method = match channel {
            Channel::Email => LoginMethod::EmailCode,
            Channel::Sms => LoginMethod::SmsCode,
        };
        if !app.policy.accepts(method) {
            return Err(AccessError::MethodNotAllowed(method.as_str()).into());
        }
        crate::auth::access::check_network(app, origin.ip)?;
        self.captcha.verify(captcha, "login", origin.ip).await?;
        let audience = self.audience(app, channel, &destination).await?;
        let user = match &audience {
            Audience::Account(user) => Some(&**user),
            Audience::NewAccount | Audience::Refused => None,
        };
        let (token, mut row) = self.new_flow(app, door, user, Stage::Code, &Authentication::code(""), now);
        row.amr = String::new();
        row.channel = Some(channel.as_str().into());
        row.destination = Some(destination.clone());
        sign_in_flows::insert(&self.db, row.clone()).await?;
        let sent = self
            .send_sign_in_code(app, &audience, &row.id, channel, &destination, origin, now)
            .await?;
        Ok(Next {
            token,
            step: NextStep::Code { sent },
        })
    }

    /// Sends the code of a code sign-in again (after the cool-down).
    pub async fn resend_sign_in_code(
        &self,
        token: &str,
        door: Door<'_>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let flow = self.live_flow(token, door, Stage::Code, now).await?;
        let (channel, destination) = flow_destination(&flow)?;
        let audience = self.audience(&flow.app, channel, &destination).await?;
        self.send_sign_in_code(&flow.app, &audience, &flow.row.id, channel, &destination, origin, now)
            .await
    }

    /// `POST /api/v1/auth/code/verify`: the code proves the address or number. The account signs in — or,
    /// under `registration`, is created — and the flow goes on to what the application asks next.
    pub async fn complete_code_sign_in(
        &self,
        token: &str,
        door: Door<'_>,
        code: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let flow = self.live_flow(token, door, Stage::Code, now).await?;
        let (channel, destination) = flow_destination(&flow)?;
        let audience = self.audience(&flow.app, channel, &destination).await?;
        let (user, locked) = match &audience {
            Audience::Account(user) => (Some(&**user), user.locked_until.is_some_and(|until| until > now)),
            Audience::NewAccount | Audience::Refused => (None, false),
        };
        // The code was made for whoever the flow started with: an account that appeared or went since is
        // refused like a wrong code.
        let same_audience = flow.row.user_id.as_deref() == user.map(|u| u.id.as_str());
        let spent = if locked || !same_audience || matches!(audience, Audience::Refused) {
            None
        } else {
            self.factors
                .check_code(user, CodePurpose::Login, Some(&flow.row.id), Some(channel), code, now)
                .await?
        };
        if spent.is_none() {
            self.count_wrong_answer(&flow, now).await?;
            if let Some(user) = user.filter(|_| !locked) {
                self.credentials.count_failure(user, Attempt::SignInCode, now).await?;
            }
            tracing::warn!(application_id = %flow.app.id, channel = channel.as_str(), "sign-in code refused");
            // The flow's latest code outlived the application's timeout: say so (alike for every audience:
            // the notice sent to someone refused has its stored code too).
            let latest =
                one_time_codes::latest(&self.db, None, CodePurpose::Login.as_str(), Some(flow.row.id.clone())).await?;
            if latest.is_some_and(|code| code.consumed_at.is_none() && code.expires_at <= now) {
                return Err(FlowError::CodeExpired.into());
            }
            return Err(FactorError::InvalidCode.into());
        }
        let user = match audience {
            Audience::Account(user) => self.proven_by_code(&user, channel, now).await?,
            Audience::NewAccount => self.sign_up_by_code(channel, &destination, origin, now).await?,
            Audience::Refused => return Err(FactorError::InvalidCode.into()),
        };
        let how = Authentication::code(match channel {
            Channel::Email => EMAIL_CODE_AMR,
            Channel::Sms => SMS_CODE_AMR,
        });
        tracing::info!(user_id = %user.id, channel = channel.as_str(), "sign-in code accepted");
        let app = flow.app.clone();
        self.next_stage(user, &app, door, how, Some(&flow), origin, now).await
    }

    /// Who a code to `destination` reaches in `app`.
    async fn audience(&self, app: &Application, channel: Channel, destination: &str) -> Result<Audience, AuthError> {
        let found = match channel {
            Channel::Email => users::find_by_email(&self.db, destination.to_owned()).await?,
            Channel::Sms => {
                let mut holders = users::find_by_phone(&self.db, destination.to_owned()).await?;
                if holders.len() > 1 {
                    // A number several accounts hold signs in none of them, and makes no new one.
                    return Ok(Audience::Refused);
                }
                holders.pop()
            }
        };
        Ok(match found {
            Some(user) if !user.is_active => Audience::Refused,
            Some(user) if app.policy.access_mode == AccessMode::InviteOnly => {
                if members::is_member(&self.db, app.id.clone(), user.id.clone()).await? {
                    Audience::Account(Box::new(user))
                } else {
                    Audience::Refused
                }
            }
            Some(user) => Audience::Account(Box::new(user)),
            None if self.accounts.signup_allowed(app) => Audience::NewAccount,
            None => Audience::Refused,
        })
    }

    /// Makes and sends the code (or, to someone who may not enter, the notice in its place).
    #[expect(
        clippy::too_many_arguments,
        reason = "each is one fact about the code, named at the call"
    )]
    async fn send_sign_in_code(
        &self,
        app: &Application,
        audience: &Audience,
        flow_id: &str,
        channel: Channel,
        destination: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let (user, notice) = match audience {
            Audience::Account(user) => (Some(&**user), None),
            Audience::NewAccount => (None, None),
            Audience::Refused => (None, Some(refusal_notice(app))),
        };
        let request = CodeRequest {
            user,
            purpose: CodePurpose::Login,
            binding: flow_id.to_owned(),
            channel,
            destination,
            ttl_secs: app.policy.code_ttl_secs,
            notice,
        };
        self.factors.send_code(request, &origin.key, now).await
    }

    /// A code to the account's address proves that address.
    async fn proven_by_code(&self, user: &User, channel: Channel, now: UnixTime) -> Result<User, AuthError> {
        if user.failed_logins > 0 || user.locked_until.is_some() {
            users::clear_login_failures(&self.db, user.id.clone()).await?;
        }
        if channel == Channel::Email
            && !user.email_verified
            && let Some(email) = &user.email
        {
            if user.password_hash.is_some() {
                // A password set before anyone proved the address may be someone else's: it goes.
                users::claim_email(&self.db, user.id.clone(), email.clone(), None, now).await?;
                tracing::warn!(user_id = %user.id, "address proven by code: the earlier password removed");
            } else {
                users::set_email_verified(&self.db, user.id.clone(), email.clone(), now).await?;
            }
        }
        crate::auth::find_user(&self.db, &user.id).await
    }

    /// Sign-up by code: the new account has the proven address or number, a generated username and no
    /// password. It counts against the sign-up limits like any other.
    async fn sign_up_by_code(
        &self,
        channel: Channel,
        destination: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        self.accounts
            .count_signup_attempt(Some(destination), &origin.key, now)
            .await?;
        let (email, phone) = match channel {
            Channel::Email => (Some(destination.to_owned()), None),
            Channel::Sms => (None, Some(destination.to_owned())),
        };
        let user = NewUser {
            email_verified: email.is_some(),
            email,
            phone,
            ..NewUser::named(generated_username(), now)
        };
        let id = user.id.clone();
        match users::insert(&self.db, user).await {
            // The address was taken a moment ago, by a sign-up in parallel.
            Err(StoreError::Duplicate(_)) => return Err(FactorError::InvalidCode.into()),
            other => other?,
        }
        tracing::info!(user_id = %id, channel = channel.as_str(), "account created by code");
        crate::auth::audit_account_created(&self.db, &id, "code", now).await;
        crate::auth::find_user(&self.db, &id).await
    }
}

/// The channel and normalised destination of what someone typed: an address when it has an `@`, else a
/// number.
fn parse_identifier(identifier: &str) -> Result<(Channel, String), AuthError> {
    let invalid = |field: &'static str, message: String| AuthError::Validation(vec![FieldError { field, message }]);
    if identifier.contains('@') {
        let email = normalize_email(identifier);
        match email_problem(&email) {
            Some(problem) => Err(invalid("email", problem)),
            None => Ok((Channel::Email, email)),
        }
    } else {
        let phone = normalize_phone(identifier.trim());
        if is_e164(&phone) {
            Ok((Channel::Sms, phone))
        } else {
            Err(invalid(
                "phone",
                "must be an e-mail address, or an international (E.164) number such as +14155552671".into(),
            ))
        }
    }
}

fn flow_destination(flow: &LiveFlow) -> Result<(Channel, String), AuthError> {
    let channel = flow.row.channel.as_deref().and_then(Channel::parse);
    match (channel, &flow.row.destination) {
        (Some(channel), Some(destination)) => Ok((channel, destination.clone())),
        _ => Err(FlowError::MfaTokenInvalid.into()),
    }
}

/// What someone who may not enter reads instead of a code.
fn refusal_notice(app: &Application) -> String {
    format!(
        "Someone asked to sign in to {} with this address or number, which has no access to it. If you need \
         access, ask the application's administrator for an invitation; otherwise ignore this message.",
        app.name
    )
}

/// `user-` and ten random characters of a-z and 2-7.
pub(in crate::auth) fn generated_username() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = opaque::random_bytes::<10>();
    let tail: String = bytes.iter().map(|b| ALPHABET[usize::from(b & 31)] as char).collect();
    format!("user-{tail}")
}

impl SignIn {
    /// Where the code of a code sign-in went, masked (for its page).
    pub async fn code_sent_to(&self, token: &str, door: Door<'_>, now: UnixTime) -> Result<String, AuthError> {
        let flow = self.live_flow(token, door, Stage::Code, now).await?;
        let (channel, destination) = flow_destination(&flow)?;
        Ok(match channel {
            Channel::Email => crate::auth::mfa::mask_email(&destination),
            Channel::Sms => crate::notify::sms::mask_phone(&destination),
        })
    }
}
