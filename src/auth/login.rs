//! Password login: find the account by username or e-mail, count the attempt, check the password, and
//! lock the account for a growing period after repeated failures — always answering the same way.

use super::identity::{normalize_email, normalize_username};
use super::{AuthError, AuthService, TokenPair};
use crate::clock::UnixTime;
use crate::store::users::{self, User};

/// Attempts to win the optimistic attempt counter before giving up on a contended account.
const RESERVE_RETRIES: usize = 3;

impl AuthService {
    /// Signs in with a username or e-mail and a password, starting a session.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        now: UnixTime,
    ) -> Result<TokenPair, AuthError> {
        let user = self.check_password(login, password, now).await?;
        self.start_session(user, now).await
    }

    /// Checks credentials; unknown, disabled, locked and wrong all fail identically and cost one hash.
    pub async fn check_password(
        &self,
        login: &str,
        password: &str,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        if password.chars().count() > *self.password_len.end() {
            return Err(AuthError::InvalidCredentials);
        }
        let found = self.find_by_login(login).await?;
        let Some(user) = found.filter(|u| u.is_active) else {
            tracing::info!(reason = "unknown or disabled account", "login failed");
            return self.refuse(password).await;
        };
        let user_id = user.id.clone();
        let Some(user) = self.reserve_attempt(user, now).await? else {
            tracing::warn!(%user_id, reason = "account locked", "login failed");
            return self.refuse(password).await;
        };
        let check = self
            .passwords
            .verify(password, Some(&user.password_hash))
            .await?;
        if !check.matches {
            tracing::warn!(user_id = %user.id, failures = user.failed_logins + 1, "login failed");
            return Err(AuthError::InvalidCredentials);
        }
        users::clear_login_failures(&self.db, user.id.clone()).await?;
        if check.needs_rehash {
            let hash = self.passwords.hash(password).await?;
            users::update_password_hash(&self.db, user.id.clone(), hash, now).await?;
        }
        tracing::info!(user_id = %user.id, "login succeeded");
        Ok(user)
    }

    /// The account with this username, or this e-mail when `login` contains `@`.
    pub(super) async fn find_by_login(&self, login: &str) -> Result<Option<User>, AuthError> {
        Ok(if login.contains('@') {
            users::find_by_email(&self.db, normalize_email(login)).await?
        } else {
            users::find_by_username(&self.db, normalize_username(login)).await?
        })
    }

    /// Counts the attempt before the password is checked, locking the account when this attempt reaches
    /// the threshold. `None` means the account is locked (or too contended) and the attempt is refused.
    async fn reserve_attempt(
        &self,
        mut user: User,
        now: UnixTime,
    ) -> Result<Option<User>, AuthError> {
        for _ in 0..RESERVE_RETRIES {
            if user.locked_until.is_some_and(|until| until > now) {
                return Ok(None);
            }
            let failures = user.failed_logins.saturating_add(1);
            let lock = (failures >= self.login_policy.max_failed_attempts)
                .then(|| now + self.lockout(failures));
            if users::reserve_login_attempt(
                &self.db,
                user.id.clone(),
                user.failed_logins,
                lock,
                now,
            )
            .await?
            {
                return Ok(Some(user));
            }
            match users::find_by_id(&self.db, user.id.clone()).await? {
                Some(fresh) => user = fresh,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The lock-out after `failures` failures: the base period, doubled for each failure past the threshold.
    fn lockout(&self, failures: i32) -> i64 {
        let policy = &self.login_policy;
        let doublings = (failures - policy.max_failed_attempts).clamp(0, 20) as u32;
        policy
            .lockout_secs
            .saturating_mul(1_i64 << doublings)
            .min(policy.max_lockout_secs)
    }

    /// Spends one dummy hash so a refusal costs what a real check costs, then refuses.
    async fn refuse<T>(&self, password: &str) -> Result<T, AuthError> {
        self.passwords.verify(password, None).await?;
        Err(AuthError::InvalidCredentials)
    }
}
