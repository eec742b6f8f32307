//! Looking after existing accounts: enabling and disabling them, and changing a password. Both end what
//! the old state allowed: a disabled account's private tokens, a changed password's other sign-ins.

use super::{ADMIN_SCOPE, AccountError, Accounts, AuthError, Credential, Principal, SessionError};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::store::backchannel_logouts::Ended;
use crate::store::users::{self, KeptSignIn, User};

/// The most accounts one page of [`Accounts::search`] holds.
pub const MAX_PER_PAGE: i64 = 100;

/// A page of accounts and how many match in all.
pub struct UserPage {
    pub users: Vec<User>,
    pub total: i64,
}

impl Accounts {
    /// The account with this id.
    pub async fn find_user(&self, id: &str) -> Result<User, AuthError> {
        super::find_user(&self.db, id).await
    }

    /// Enables or disables the account with this username or e-mail.
    pub async fn set_active(&self, login: &str, active: bool, now: UnixTime) -> Result<User, AuthError> {
        let user = self
            .credentials
            .find_by_login(login)
            .await?
            .ok_or(AccountError::UnknownAccount)?;
        self.set_user_active(user, active, now).await
    }

    /// Enables or disables `user`. A disabled account cannot sign in and its tokens stop working on the next
    /// request; its private tokens are revoked for good unless configured otherwise. The last active
    /// administrator stays enabled.
    pub async fn set_user_active(&self, user: User, active: bool, now: UnixTime) -> Result<User, AuthError> {
        let admin = user.scopes.split_whitespace().any(|scope| scope == ADMIN_SCOPE);
        if !active && admin && user.is_active && !users::other_active_admin(&self.db, user.id.clone()).await? {
            return Err(AccountError::LastAdministrator.into());
        }
        let revoke = !active && self.token_policy.revoke_private_tokens_on_disable;
        if !active && user.is_active {
            // The account's sign-ins stop working: the clients holding them are told (Back-Channel Logout).
            let everything = Ended::User {
                user_id: user.id.clone(),
                keep: None,
            };
            super::backchannel::owe_logout_tokens(&self.db, everything, now).await?;
        }
        if !users::set_active(&self.db, user.id.clone(), active, revoke, now).await? {
            return Err(AccountError::UnknownAccount.into());
        }
        tracing::info!(user_id = %user.id, active, "account status changed");
        let kind = if active {
            Kind::AccountEnabled
        } else {
            Kind::AccountDisabled
        };
        audit::record(&self.db, Event::new(kind).about(Subject::User(user.id.clone())), now).await;
        Ok(User {
            is_active: active,
            ..user
        })
    }

    /// Sets the plan `user` is on: 1 to 64 visible characters (a label the applications read; Tessera gives it
    /// no meaning).
    pub async fn set_plan(&self, user: User, plan: &str, now: UnixTime) -> Result<User, AuthError> {
        let plan = plan.trim();
        if !(1..=64).contains(&plan.chars().count()) || plan.chars().any(char::is_control) {
            return Err(AuthError::Validation(vec![crate::error::FieldError {
                field: "plan",
                message: "must be 1 to 64 characters, without control characters".into(),
            }]));
        }
        users::set_plan(&self.db, user.id.clone(), plan.to_owned(), now).await?;
        tracing::info!(user_id = %user.id, plan, "plan changed");
        let event = Event::new(Kind::PlanChanged)
            .about(Subject::User(user.id.clone()))
            .with("plan", plan);
        audit::record(&self.db, event, now).await;
        Ok(User {
            plan: plan.to_owned(),
            ..user
        })
    }

    /// `PUT /api/v1/user/password`: checks the current password (counted like a failed sign-in when wrong),
    /// stores the new one, and ends every other sign-in of the account — its other token families, its
    /// browser sessions, and (unless configured otherwise) its private tokens. The caller's own session goes on.
    /// An account without a password (codes only, or a guest registering) sets its first one after a recent
    /// sign-in instead of the current password.
    pub async fn change_password(
        &self,
        caller: &Principal,
        current: Option<&str>,
        new: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        let keep = match &caller.credential {
            Credential::Session { family, .. } => KeptSignIn::Family(family.clone()),
            Credential::Browser { session, .. } => KeptSignIn::Browser(session.clone()),
            Credential::PrivateToken(_) => return Err(SessionError::InteractiveLoginRequired.into()),
        };
        let user = &caller.user;
        if let Some(message) =
            self.credentials
                .password_problem(new, &user.username, user.email.as_deref().unwrap_or_default())
        {
            return Err(AuthError::Validation(vec![FieldError {
                field: "new_password",
                message,
            }]));
        }
        match (&user.password_hash, current) {
            (Some(_), Some(current)) => {
                self.credentials
                    .recheck_password(&caller.user, current, client, now)
                    .await?;
            }
            (Some(_), None) => {
                return Err(AuthError::Validation(vec![FieldError {
                    field: "current_password",
                    message: "is required".into(),
                }]));
            }
            (None, _) => caller.require_recent_sign_in(self.reauth_max_age_secs, now)?,
        }
        let hash = self.credentials.hash(new).await?;
        let revoke_private_tokens = self.token_policy.revoke_private_tokens_on_password_change;
        let others = Ended::User {
            user_id: user.id.clone(),
            keep: Some(keep.clone()),
        };
        super::backchannel::owe_logout_tokens(&self.db, others, now).await?;
        users::change_password(&self.db, user.id.clone(), hash, keep, revoke_private_tokens, now).await?;
        tracing::info!(user_id = %user.id, revoke_private_tokens, "password changed");
        let event = Event::new(Kind::PasswordChanged)
            .about(Subject::User(user.id.clone()))
            .with("had_password", user.password_hash.is_some());
        audit::record(&self.db, event, now).await;
        Ok(())
    }

    /// `PATCH /api/v1/user`: the account's display name, set by its owner (empty: none).
    pub async fn set_name(&self, caller: &Principal, name: Option<&str>, now: UnixTime) -> Result<User, AuthError> {
        caller.require_interactive()?;
        let name = name.map(str::trim).filter(|name| !name.is_empty());
        if let Some(message) = name.and_then(name_problem) {
            return Err(AuthError::Validation(vec![FieldError { field: "name", message }]));
        }
        let user = &caller.user;
        users::set_name(&self.db, user.id.clone(), name.map(str::to_owned), now).await?;
        let event = Event::new(Kind::ProfileChanged)
            .about(Subject::User(user.id.clone()))
            .with("field", "name");
        audit::record(&self.db, event, now).await;
        self.find_user(&user.id).await
    }

    /// Grants `user` the administrator role, or takes it away — never from the last active administrator.
    pub async fn set_admin(&self, user: User, admin: bool, now: UnixTime) -> Result<User, AuthError> {
        let mut scopes: Vec<&str> = user.scopes.split_whitespace().filter(|s| *s != ADMIN_SCOPE).collect();
        let was_admin = scopes.len() != user.scopes.split_whitespace().count();
        if was_admin == admin {
            return Ok(user);
        }
        if !admin && user.is_active && !users::other_active_admin(&self.db, user.id.clone()).await? {
            return Err(AccountError::LastAdministrator.into());
        }
        if admin {
            scopes.push(ADMIN_SCOPE);
        }
        let scopes = scopes.join(" ");
        if !users::set_scopes(&self.db, user.id.clone(), user.scopes.clone(), scopes.clone(), now).await? {
            // Changed meanwhile (or gone): start again from what is stored now.
            let current = self.find_user(&user.id).await?;
            return Box::pin(self.set_admin(current, admin, now)).await;
        }
        tracing::info!(user_id = %user.id, admin, "administrator role changed");
        let kind = if admin { Kind::AdminGranted } else { Kind::AdminRevoked };
        audit::record(&self.db, Event::new(kind).about(Subject::User(user.id.clone())), now).await;
        Ok(User { scopes, ..user })
    }

    /// Takes away `user`'s second factors — authenticator app, recovery codes, passkeys, PIN, and the phone when
    /// the account has an e-mail address to sign in with instead — and lifts a lock-out, for a person who lost
    /// them.
    pub async fn reset_factors(&self, user: &User, now: UnixTime) -> Result<(), AuthError> {
        let phone = user.phone.is_some() && user.email.is_some();
        if !users::reset_factors(&self.db, user.id.clone(), phone, now).await? {
            return Err(AccountError::UnknownAccount.into());
        }
        tracing::info!(user_id = %user.id, phone, "second factors reset");
        let event = Event::new(Kind::FactorsReset)
            .about(Subject::User(user.id.clone()))
            .with("phone_removed", phone);
        audit::record(&self.db, event, now).await;
        Ok(())
    }

    /// Ends every sign-in of `user`: token families, browser sessions and private tokens. Returns how many
    /// token families and browser sessions ended.
    pub async fn end_all_sign_ins(&self, user: &User, now: UnixTime) -> Result<usize, AuthError> {
        let everything = Ended::User {
            user_id: user.id.clone(),
            keep: None,
        };
        super::backchannel::owe_logout_tokens(&self.db, everything, now).await?;
        let ended = users::end_all_sign_ins(&self.db, user.id.clone(), "revoked_by_administrator", now).await?;
        tracing::info!(user_id = %user.id, ended, "every sign-in ended");
        let event = Event::new(Kind::SessionsRevoked)
            .about(Subject::User(user.id.clone()))
            .with("ended", ended);
        audit::record(&self.db, event, now).await;
        Ok(ended)
    }

    /// One page of accounts (1-based `page`), by username, whose username, e-mail or phone contains `query`.
    pub async fn search(&self, query: Option<&str>, page: i64, per_page: i64) -> Result<UserPage, AuthError> {
        let mut problems = Vec::new();
        if !(1..=1_000_000).contains(&page) {
            problems.push(FieldError {
                field: "page",
                message: "must be 1 to 1000000".into(),
            });
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            problems.push(FieldError {
                field: "per_page",
                message: format!("must be 1 to {MAX_PER_PAGE}"),
            });
        }
        if !problems.is_empty() {
            return Err(AuthError::Validation(problems));
        }
        let needle = query
            .map(super::identity::normalize_email)
            .filter(|needle| !needle.is_empty());
        let (users, total) = users::search(&self.db, needle, (page - 1) * per_page, per_page).await?;
        Ok(UserPage { users, total })
    }
}

/// The longest display name, in characters.
pub const NAME_MAX_CHARS: usize = 128;

/// Why `name` (trimmed, not empty) cannot be a display name, if it cannot.
fn name_problem(name: &str) -> Option<String> {
    if name.chars().count() > NAME_MAX_CHARS {
        return Some(format!("must be at most {NAME_MAX_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    None
}
