//! Password login: find the account by username or e-mail, check the password (one check at a time per
//! account), count failures and lock the account for a growing period after repeated ones — answering every
//! refusal the same way.

use std::hash::BuildHasher;

use super::identity::{normalize_email, normalize_username};
use super::password::is_common;
use super::{AccessError, AuthError, CredentialError, Credentials, Origin};
use crate::apps::rate_limit::Policy;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::metrics::SignInResult;
use crate::store::users::{self, User};

impl Credentials {
    /// A password sign-in from `origin` for `app`, the same at every front door: the application must accept
    /// passwords (an open one does, for people with accounts), then the captcha (when one is configured), the
    /// limit on failures per address, and the credentials.
    pub async fn sign_in_with_password(
        &self,
        app: &crate::apps::Application,
        login: &str,
        password: &str,
        captcha: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        if !app.policy.accepts_password() {
            return Err(AccessError::MethodNotAllowed("password").into());
        }
        super::access::check_network(app, origin.ip)?;
        self.captcha.verify(captcha, "login", origin.ip).await?;
        self.check_password(login, password, &origin.key, now).await
    }

    /// Checks credentials sent from `client` (an address key). Too many failures from one address are
    /// refused before any check; every refusal of the credentials themselves looks the same.
    pub async fn check_password(
        &self,
        login: &str,
        password: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        let failures_key = format!("login-failures:{client}");
        let policy = Policy::Window {
            max: self.policy.max_failures_per_ip,
            window_ms: self.policy.ip_window_secs * 1000,
        };
        let standing = self.limiter.check(&failures_key, policy, now * 1000).await?;
        if !standing.allowed {
            tracing::warn!(%client, "sign-in refused: too many failures from this address");
            self.audit_failure(None, "too_many_failures_from_address", now).await;
            return Err(CredentialError::LoginRateLimited(standing.retry_after_secs).into());
        }
        let result = self.verify_credentials(login, password, now).await;
        if matches!(result, Err(AuthError::Credentials(CredentialError::InvalidCredentials))) {
            self.limiter.take(&failures_key, policy, now * 1000).await?;
        }
        result
    }

    /// Unknown, disabled, locked and wrong all fail identically and cost one hash.
    async fn verify_credentials(&self, login: &str, password: &str, now: UnixTime) -> Result<User, AuthError> {
        if password.chars().count() > *self.password_len.end() {
            return Err(CredentialError::InvalidCredentials.into());
        }
        let Some(found) = self.find_by_login(login).await? else {
            tracing::info!(reason = "unknown account", "login failed");
            self.audit_failure(None, "unknown_account", now).await;
            return self.refuse(password).await;
        };
        // One check at a time per account, reading the failure count afresh: parallel guesses cannot
        // outrun the lock-out, on this instance or any other.
        let _turn = self.account_turn(&found.id).await?;
        let user = users::find_by_id(&self.db, found.id.clone())
            .await?
            .filter(|u| u.is_active);
        let Some(user) = user else {
            tracing::info!(reason = "disabled account", "login failed");
            self.audit_failure(Some(&found.id), "disabled_account", now).await;
            return self.refuse(password).await;
        };
        if user.locked_until.is_some_and(|until| until > now) {
            tracing::warn!(user_id = %user.id, reason = "account locked", "login failed");
            self.audit_failure(Some(&user.id), "account_locked", now).await;
            return self.refuse(password).await;
        }
        let check = self.passwords.verify(password, user.password_hash.as_deref()).await?;
        if !check.matches {
            self.count_failure(&user, Attempt::Password, now).await?;
            tracing::warn!(user_id = %user.id, "login failed");
            return Err(CredentialError::InvalidCredentials.into());
        }
        // The failure count stays until the whole sign-in succeeds (the flow clears it then): a known password
        // must not reset the count of guessed codes.
        if check.needs_rehash {
            let hash = self.passwords.hash(password).await?;
            users::update_password_hash(&self.db, user.id.clone(), hash, now).await?;
        }
        tracing::info!(user_id = %user.id, "login succeeded");
        Ok(user)
    }

    /// The account's turn to have a secret checked: one check at a time, in this process and — on PostgreSQL —
    /// across every instance (an advisory lock per account, taken after the process's own turn, so each instance
    /// holds at most one connection for it).
    pub(in crate::auth) async fn account_turn(&self, account_id: &str) -> Result<AccountTurn<'_>, AuthError> {
        let local = self.account_turns.wait_for(account_id).await;
        let shared = self.db.advisory_lock(format!("account-turn:{account_id}")).await?;
        Ok(AccountTurn {
            _shared: shared,
            _local: local,
        })
    }

    /// Counts a failed credential (password or code) against the account: after `max_failed_attempts` it is
    /// locked for a period that doubles with each further failure. Each is an audit event.
    pub(in crate::auth) async fn count_failure(
        &self,
        user: &User,
        attempt: Attempt,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        let failures = user.failed_logins.saturating_add(1);
        let lock_until = now + self.lockout(failures);
        let threshold = self.policy.max_failed_attempts;
        users::record_login_failure(&self.db, user.id.clone(), threshold, lock_until).await?;
        let event = Event::new(Kind::CredentialRefused)
            .about(Subject::User(user.id.clone()))
            .by(&user.id)
            .with("credential", attempt.as_str())
            .with("locks", failures >= threshold);
        audit::record(&self.db, event, now).await;
        self.metrics.sign_in(attempt.as_str(), SignInResult::Failed);
        Ok(())
    }

    /// A password sign-in refused before any password was compared, as an audit event.
    async fn audit_failure(&self, account: Option<&str>, reason: &str, now: UnixTime) {
        let mut event = Event::new(Kind::SignInFailed).with("reason", reason);
        if let Some(account) = account {
            event = event.about(Subject::User(account.to_owned()));
        }
        audit::record(&self.db, event, now).await;
        self.metrics.sign_in(Attempt::Password.as_str(), SignInResult::Failed);
    }

    /// The caller's password again, before a sensitive change: counted like a sign-in, and a wrong one is
    /// `WrongPassword` (the caller is signed in; it is not a failed sign-in to them).
    pub(in crate::auth) async fn recheck_password(
        &self,
        account: &User,
        password: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        match self.check_password(&account.username, password, client, now).await {
            Ok(user) if user.id == account.id => Ok(user),
            Ok(_) | Err(AuthError::Credentials(CredentialError::InvalidCredentials)) => {
                Err(CredentialError::WrongPassword.into())
            }
            Err(e) => Err(e),
        }
    }

    /// The account with this username, or this e-mail when `login` contains `@`.
    pub(in crate::auth) async fn find_by_login(&self, login: &str) -> Result<Option<User>, AuthError> {
        Ok(if login.contains('@') {
            users::find_by_email(&self.db, normalize_email(login)).await?
        } else {
            users::find_by_username(&self.db, normalize_username(login)).await?
        })
    }

    /// A completed sign-in clears the account's failure count and lock.
    pub(in crate::auth) async fn clear_failures(&self, user: &User) -> Result<(), AuthError> {
        if user.failed_logins > 0 || user.locked_until.is_some() {
            users::clear_login_failures(&self.db, user.id.clone()).await?;
        }
        Ok(())
    }

    /// A new password's argon2id hash.
    pub(in crate::auth) async fn hash(&self, password: &str) -> Result<String, AuthError> {
        Ok(self.passwords.hash(password).await?)
    }

    /// What is wrong with a new password, if anything.
    pub(in crate::auth) fn password_problem(&self, password: &str, username: &str, email: &str) -> Option<String> {
        let len = password.chars().count();
        let (min, max) = (*self.password_len.start(), *self.password_len.end());
        if password.is_empty() {
            Some("is required".into())
        } else if len < min {
            Some(format!("must be at least {min} characters"))
        } else if len > max {
            Some(format!("must be at most {max} characters"))
        } else if is_common(password) {
            Some("is one of the most common passwords; choose another".into())
        } else if password.eq_ignore_ascii_case(username) || password.eq_ignore_ascii_case(email) {
            Some("must not be the username or e-mail address".into())
        } else {
            None
        }
    }

    /// The lock-out after `failures` failures: the base period, doubled for each failure past the threshold.
    fn lockout(&self, failures: i32) -> i64 {
        let policy = &self.policy;
        let doublings = (failures - policy.max_failed_attempts).clamp(0, 20) as u32;
        policy
            .lockout_secs
            .saturating_mul(1_i64 << doublings)
            .min(policy.max_lockout_secs)
    }

    /// Spends one dummy hash so a refusal costs what a real check costs, then refuses.
    async fn refuse<T>(&self, password: &str) -> Result<T, AuthError> {
        self.passwords.verify(password, None).await?;
        Err(CredentialError::InvalidCredentials.into())
    }
}

/// A secret a person gave that can be wrong, counted toward the lock-out.
#[derive(Clone, Copy, Debug)]
pub(in crate::auth) enum Attempt {
    Password,
    /// A code sent to sign in.
    SignInCode,
    SecondFactor,
    Authenticator,
    Pin,
}

impl Attempt {
    fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::SignInCode => "sign_in_code",
            Self::SecondFactor => "second_factor",
            Self::Authenticator => "authenticator",
            Self::Pin => "pin",
        }
    }
}

/// An account's turn (dropped: the next check may start). The shared lock is released before the local one.
pub(in crate::auth) struct AccountTurn<'a> {
    _shared: Option<crate::store::AdvisoryLock>,
    _local: tokio::sync::MutexGuard<'a, ()>,
}

/// Serialises password checks per account within this process (accounts share one of a fixed set of
/// stripes, chosen by a keyed hash so nobody can aim at another account's stripe).
pub(super) struct AccountTurns {
    stripes: Vec<tokio::sync::Mutex<()>>,
    hasher: std::hash::RandomState,
}

impl AccountTurns {
    pub(super) fn new(stripes: usize) -> Self {
        Self {
            stripes: (0..stripes.max(1)).map(|_| tokio::sync::Mutex::new(())).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    pub(in crate::auth) async fn wait_for(&self, account_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = self.hasher.hash_one(account_id) as usize % self.stripes.len();
        self.stripes[stripe].lock().await
    }
}
