//! Looking after existing accounts: enabling and disabling them, and changing a password. Both end what
//! the old state allowed: a disabled account's private tokens, a changed password's other sign-ins.

use super::{ADMIN_SCOPE, AccountError, Accounts, AuthError, Credential, Principal, SessionError};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::store::users::{self, User};

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
    /// request; its private tokens are revoked for good unless configured otherwise.
    pub async fn set_user_active(&self, user: User, active: bool, now: UnixTime) -> Result<User, AuthError> {
        let revoke = !active && self.token_policy.revoke_private_tokens_on_disable;
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
        let Credential::Session { family, .. } = &caller.credential else {
            return Err(SessionError::InteractiveLoginRequired.into());
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
        users::change_password(
            &self.db,
            user.id.clone(),
            hash,
            family.clone(),
            revoke_private_tokens,
            now,
        )
        .await?;
        tracing::info!(user_id = %user.id, revoke_private_tokens, "password changed");
        let event = Event::new(Kind::PasswordChanged)
            .about(Subject::User(user.id.clone()))
            .with("had_password", user.password_hash.is_some());
        audit::record(&self.db, event, now).await;
        Ok(())
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
}
