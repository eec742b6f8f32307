//! Invitations to applications: an administrator invites an e-mail address; the invitee gets a single-use link
//! that expires, and opening it makes them a member — with their existing account, or a new one (its address
//! proven by the link, with a password of their choosing when the application signs in by password). Then
//! they sign in as the application asks.

use super::identity::{account_username_problem, email_problem, normalize_email, normalize_username};
use super::{AccountError, Accounts, AuthError, PrivateTokenError};
use crate::apps::Application;
use crate::apps::policy::LoginMethod;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::store::invitations::{self, InvitationRow};
use crate::store::users::{self, NewUser, User};
use crate::store::{StoreError, members};
use crate::tokens::opaque;

/// Prefix of invitation tokens.
const INVITATION_PREFIX: &str = "tsi_";
/// How long an invitation lasts unless the administrator says otherwise, and at most.
pub const INVITATION_DAYS: std::ops::RangeInclusive<i64> = 1..=30;
const DEFAULT_INVITATION_DAYS: i64 = 7;

/// An invitation just made: its link is shown once (and e-mailed when e-mail is configured).
#[derive(Debug)]
pub struct NewInvitation {
    pub row: InvitationRow,
    pub link: String,
    /// Whether the e-mail went out.
    pub sent: bool,
}

/// A live invitation, as its page shows it.
#[derive(Debug)]
pub struct OpenInvitation {
    pub app: Application,
    pub email: String,
    /// The account the address already has, if any.
    pub account: Option<User>,
}

impl OpenInvitation {
    /// Whether the invitee chooses a password: for a new account, or an account whose address was never
    /// proven (its earlier password goes: it may be someone else's), when the application signs in by password.
    pub fn asks_password(&self) -> bool {
        self.claims_account() && self.app.policy.accepts(LoginMethod::Password)
    }

    /// Whether accepting makes the account the invitee's own: a new one, or one whose address was unproven.
    pub fn claims_account(&self) -> bool {
        self.account.as_ref().is_none_or(|user| !user.email_verified)
    }
}

impl Accounts {
    /// Invites `email` to `app` for `days` (7 by default); the link is `{base}/invite/{token}`.
    pub async fn invite(
        &self,
        app: &Application,
        email: &str,
        days: Option<i64>,
        base: &str,
        now: UnixTime,
    ) -> Result<NewInvitation, AuthError> {
        let email = normalize_email(email);
        let mut problems = Vec::new();
        if let Some(problem) = email_problem(&email) {
            problems.push(FieldError {
                field: "email",
                message: problem,
            });
        }
        let days = days.unwrap_or(DEFAULT_INVITATION_DAYS);
        if !INVITATION_DAYS.contains(&days) {
            problems.push(FieldError {
                field: "expires_in_days",
                message: "must be between 1 and 30".into(),
            });
        }
        if !problems.is_empty() {
            return Err(AuthError::Validation(problems));
        }
        let token = opaque::mint(INVITATION_PREFIX);
        let row = InvitationRow {
            id: opaque::random_id(),
            token_hash: token.hash,
            application_id: app.id.clone(),
            email: email.clone(),
            created_at: now,
            expires_at: now + days * 24 * 3600,
            accepted_at: None,
            accepted_by: None,
        };
        invitations::insert(&self.db, row.clone()).await?;
        let link = format!("{base}/invite/{}", token.value);
        let sent = self.send_invitation(app, &email, &link, days).await;
        tracing::info!(application_id = %app.id, invitation_id = %row.id, sent, "invitation made");
        audit::record(
            &self.db,
            Event::new(Kind::InvitationCreated)
                .about(Subject::Invitation(row.id.clone()))
                .in_application(&app.id)
                .with("sent", sent),
            now,
        )
        .await;
        Ok(NewInvitation { row, link, sent })
    }

    async fn send_invitation(&self, app: &Application, email: &str, link: &str, days: i64) -> bool {
        if !self.notify.email.is_enabled() {
            return false;
        }
        let issuer = &self.issuer_name;
        let sent = match crate::notify::messages::invitation_email(issuer, &app.name, link, days) {
            Ok(message) => self.notify.email.send(email, message).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        sent.inspect_err(|error| tracing::warn!(application_id = %app.id, %error, "invitation not sent"))
            .is_ok()
    }

    /// The invitations of `app`, newest first.
    pub async fn list_invitations(&self, app: &Application) -> Result<Vec<InvitationRow>, AuthError> {
        Ok(invitations::list(&self.db, app.id.clone()).await?)
    }

    /// Withdraws an invitation: its link stops working.
    pub async fn withdraw_invitation(&self, app: &Application, id: &str) -> Result<(), AuthError> {
        if !invitations::delete(&self.db, app.id.clone(), id.to_owned()).await? {
            return Err(PrivateTokenError::UnknownToken.into());
        }
        Ok(())
    }

    /// The live invitation a link names.
    pub async fn open_invitation(&self, token: &str, now: UnixTime) -> Result<OpenInvitation, AuthError> {
        let row = self.live_invitation(token, now).await?;
        let app = self
            .apps
            .find(&row.application_id)
            .await?
            .ok_or(AccountError::InvitationInvalid)?;
        let account = users::find_by_email(&self.db, row.email.clone()).await?;
        Ok(OpenInvitation {
            app,
            email: row.email,
            account,
        })
    }

    /// Accepts an invitation: the account of its address (or a new one, with `username` and `password` when
    /// given) becomes a member, its address verified. Works once.
    pub async fn accept_invitation(
        &self,
        token: &str,
        username: Option<&str>,
        password: Option<&str>,
        now: UnixTime,
    ) -> Result<(Application, User), AuthError> {
        let row = self.live_invitation(token, now).await?;
        let open = self.open_invitation(token, now).await?;
        let user = match &open.account {
            Some(user) if user.email_verified => user.clone(),
            Some(user) => {
                // The link proves the address; a password set before that may be someone else's.
                let hash = self.invitee_password(&open, &user.username, password).await?;
                users::claim_email(&self.db, user.id.clone(), row.email.clone(), hash, now).await?;
                user.clone()
            }
            None => self.invited_account(&open, username, password, now).await?,
        };
        if !invitations::accept(&self.db, row.id.clone(), user.id.clone(), now).await? {
            return Err(AccountError::InvitationInvalid.into());
        }
        members::add(&self.db, open.app.id.clone(), user.id.clone(), now).await?;
        tracing::info!(user_id = %user.id, application_id = %open.app.id, "invitation accepted");
        let user = self.find_user(&user.id).await?;
        Ok((open.app, user))
    }

    async fn invited_account(
        &self,
        open: &OpenInvitation,
        username: Option<&str>,
        password: Option<&str>,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        let username = username
            .filter(|u| !u.trim().is_empty())
            .map(normalize_username)
            .unwrap_or_else(super::flow::generated_username);
        if let Some(problem) = account_username_problem(&username, Some(&open.email)) {
            return Err(AuthError::Validation(vec![FieldError {
                field: "username",
                message: problem,
            }]));
        }
        let password_hash = self.invitee_password(open, &username, password).await?;
        let user = NewUser {
            email: Some(open.email.clone()),
            email_verified: true,
            password_hash,
            ..NewUser::named(username, now)
        };
        let id = user.id.clone();
        match users::insert(&self.db, user).await {
            Err(StoreError::Duplicate(what)) if what.contains("email") => return Err(AccountError::EmailTaken.into()),
            Err(StoreError::Duplicate(_)) => return Err(AccountError::UsernameTaken.into()),
            other => other?,
        }
        super::audit_account_created(&self.db, &id, "invitation", now).await;
        self.find_user(&id).await
    }

    /// The hash of the password the invitee chose, checked like any other; required when the application
    /// signs in by password only.
    async fn invitee_password(
        &self,
        open: &OpenInvitation,
        username: &str,
        password: Option<&str>,
    ) -> Result<Option<String>, AuthError> {
        let invalid = |message: String| {
            AuthError::Validation(vec![FieldError {
                field: "password",
                message,
            }])
        };
        match password.filter(|p| !p.is_empty()) {
            Some(password) => {
                if let Some(problem) = self.credentials.password_problem(password, username, &open.email) {
                    return Err(invalid(problem));
                }
                Ok(Some(self.credentials.hash(password).await?))
            }
            None if open.app.policy.login_methods == [LoginMethod::Password] => {
                Err(invalid("is required: this application signs in by password".into()))
            }
            None => Ok(None),
        }
    }

    async fn live_invitation(&self, token: &str, now: UnixTime) -> Result<InvitationRow, AuthError> {
        if !opaque::is_well_formed(token, INVITATION_PREFIX) {
            return Err(AccountError::InvitationInvalid.into());
        }
        let row = invitations::find_by_hash(&self.db, opaque::hash(token))
            .await?
            .ok_or(AccountError::InvitationInvalid)?;
        if row.accepted_at.is_some() || row.expires_at <= now {
            return Err(AccountError::InvitationInvalid.into());
        }
        Ok(row)
    }
}
