//! Creating accounts: self-service signup (open, or restricted to administrators) and the bootstrap
//! administrator of a fresh install.

use super::flow::{Door, LoginStep, Next};
use super::identity::{account_username_problem, counting_key, email_problem, normalize_email, normalize_username};
use super::{
    ADMIN_SCOPE, AccessError, AccountError, Accounts, AuthError, Authentication, LimitedBy, Origin, Principal,
    PrivateTokenError, SignIn, TokenPair,
};
use crate::apps::Application;
use crate::apps::rate_limit::Policy;
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::store::StoreError;
use crate::store::users::{self, NewUser, User};

/// The fields of a new account as they arrived (any may be missing).
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

/// What a signup produced.
#[derive(Debug)]
pub enum SignupOutcome {
    /// Someone signed themselves up and is now signed in.
    SignedUp(TokenPair),
    /// Someone signed themselves up, and another step is due before any token (a second factor, when
    /// `mfa.required`).
    Next { user: User, next: Next },
    /// An administrator created an account for someone else; no tokens are handed out.
    CreatedByAdmin(User),
}

struct ValidAccount {
    username: String,
    email: String,
    password: String,
}

impl SignIn {
    /// `POST /api/v1/users`: creates an account, honouring the configured signup scope. A closed signup is
    /// refused before anything else — before the captcha, which then costs no call to its provider.
    pub async fn signup(
        &self,
        caller: Option<&Principal>,
        app: &Application,
        account: NewAccount,
        captcha: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<SignupOutcome, AuthError> {
        let by_admin = caller.is_some_and(Principal::is_admin);
        if !self.accounts.signup_allowed(app) && !by_admin {
            return Err(match caller {
                None => AuthError::Account(AccountError::SignupClosed),
                Some(_) => AuthError::PrivateToken(PrivateTokenError::InsufficientScope(ADMIN_SCOPE)),
            });
        }
        if by_admin {
            return Ok(SignupOutcome::CreatedByAdmin(
                self.accounts.create_user(account, &[], now).await?,
            ));
        }
        let user = self.accounts.self_signup(app, account, captcha, origin, now).await?;
        let progress = self
            .after_first_factor(
                user.clone(),
                app,
                Door::Api(app),
                Authentication::password(),
                origin,
                now,
            )
            .await?;
        Ok(match self.tokens_or_next(progress, app, now).await? {
            LoginStep::SignedIn(pair) => SignupOutcome::SignedUp(*pair),
            LoginStep::Next(next) => SignupOutcome::Next { user, next },
        })
    }
}

impl Accounts {
    /// Someone signing themselves up, the same at every front door: the captcha (when one is configured), the
    /// limits per e-mail address and per client address, then the account.
    pub async fn self_signup(
        &self,
        app: &Application,
        account: NewAccount,
        captcha: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        if !self.signup_allowed(app) {
            return Err(AccountError::SignupClosed.into());
        }
        if !app.policy.accepts_password() {
            return Err(AccessError::MethodNotAllowed("password").into());
        }
        self.captcha.verify(captcha, "signup", origin.ip).await?;
        self.count_signup_attempt(account.email.as_deref(), &origin.key, now)
            .await?;
        self.create_user(account, &[], now).await
    }

    /// Counts a self-service signup attempt against the limits per e-mail address and per client address
    /// (`client`, an address key), refusing it when either is spent.
    pub async fn count_signup_attempt(
        &self,
        email: Option<&str>,
        client: &str,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        let limits = &self.signup_limits;
        let by_email = (
            format!("signup-email:{}", counting_key(email.unwrap_or_default())),
            Policy::Window {
                max: limits.rate_limit_email,
                window_ms: limits.rate_limit_email_window_ms,
            },
            LimitedBy::Email,
        );
        let by_ip = (
            format!("signup-ip:{client}"),
            Policy::Window {
                max: limits.rate_limit_ip,
                window_ms: limits.rate_limit_ip_window_ms,
            },
            LimitedBy::Ip,
        );
        let now_ms = now * 1000;
        for (key, policy, scope) in [&by_email, &by_ip] {
            let standing = self.limiter.check(key, *policy, now_ms).await?;
            if !standing.allowed {
                tracing::warn!(?scope, "signup refused: rate limit");
                return Err(AccountError::SignupRateLimited(*scope, standing.retry_after_secs).into());
            }
        }
        for (key, policy, _) in [&by_email, &by_ip] {
            self.limiter.take(key, *policy, now_ms).await?;
        }
        Ok(())
    }

    /// Validates and stores a new account with `scopes`.
    pub async fn create_user(&self, account: NewAccount, scopes: &[&str], now: UnixTime) -> Result<User, AuthError> {
        let valid = self.validate(account)?;
        let password_hash = self.credentials.hash(&valid.password).await?;
        let user = NewUser {
            email: Some(valid.email),
            password_hash: Some(password_hash),
            scopes: scopes.join(" "),
            ..NewUser::named(valid.username, now)
        };
        let id = user.id.clone();
        match users::insert(&self.db, user).await {
            Ok(()) => {}
            Err(StoreError::Duplicate(what)) if what.contains("email") => {
                return Err(AccountError::EmailTaken.into());
            }
            Err(StoreError::Duplicate(_)) => return Err(AccountError::UsernameTaken.into()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %id, "account created");
        super::audit_account_created(&self.db, &id, "password", now).await;
        users::find_by_id(&self.db, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a new account vanished".into()).into())
    }

    /// Creates the first administrator when no active one exists. Returns it when it was created.
    pub async fn bootstrap_admin(&self, email: &str, password: &str, now: UnixTime) -> Result<Option<User>, AuthError> {
        if users::has_active_admin(&self.db).await? {
            return Ok(None);
        }
        let account = NewAccount {
            username: Some("admin".into()),
            email: Some(email.into()),
            password: Some(password.into()),
        };
        match self.create_user(account, &[ADMIN_SCOPE], now).await {
            Ok(user) => Ok(Some(user)),
            // Another instance starting at the same moment created it first.
            Err(AuthError::Account(AccountError::UsernameTaken | AccountError::EmailTaken))
                if users::has_active_admin(&self.db).await? =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn validate(&self, account: NewAccount) -> Result<ValidAccount, AuthError> {
        let mut problems = Vec::new();
        let mut problem = |field: &'static str, message: String| problems.push(FieldError { field, message });
        let username = account.username.as_deref().map(normalize_username).unwrap_or_default();
        let email = account.email.as_deref().map(normalize_email).unwrap_or_default();
        let password = account.password.unwrap_or_default();
        match account.username {
            None => problem("username", "is required".into()),
            Some(_) => account_username_problem(&username, account.email.as_ref().map(|_| email.as_str()))
                .into_iter()
                .for_each(|m| problem("username", m)),
        }
        match account.email {
            None => problem("email", "is required".into()),
            Some(_) => email_problem(&email).into_iter().for_each(|m| problem("email", m)),
        }
        if let Some(message) = self.credentials.password_problem(&password, &username, &email) {
            problem("password", message);
        }
        if problems.is_empty() {
            Ok(ValidAccount {
                username,
                email,
                password,
            })
        } else {
            Err(AuthError::Validation(problems))
        }
    }
}
