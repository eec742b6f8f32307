//! Members of applications: who may enter an `invite_only` application. Administrators add people one at a
//! time or in bulk — an existing account by e-mail, username or phone, or a new account for an address or
//! number (no password: they sign in by code, or set one when they accept an invitation) — and remove them,
//! which ends their sessions and tokens in that application.

use super::identity::{account_username_problem, email_problem, normalize_email, normalize_username};
use super::{Access, AccountError, AuthError};
use crate::apps::Application;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::notify::sms::{is_e164, normalize_phone};
use crate::store::users::{self, NewUser, User};
use crate::store::{StoreError, members};

/// Who to add, as an administrator names them (at least an e-mail address or a phone number for someone
/// new).
#[derive(Clone, Debug, Default)]
pub struct MemberSpec {
    pub username: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// What adding someone did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// An existing account became a member.
    Member,
    /// The account was a member already.
    AlreadyMember,
    /// A new account was made, and is a member.
    NewAccount,
}

impl Added {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "added",
            Self::AlreadyMember => "already_member",
            Self::NewAccount => "created",
        }
    }
}

/// The most members one listing or one import holds.
pub const MAX_PAGE: i64 = 500;

impl Access {
    /// Makes someone a member of `app`, creating the account when nobody has the address or number.
    pub async fn add_member(
        &self,
        app: &Application,
        spec: MemberSpec,
        now: UnixTime,
    ) -> Result<(User, Added), AuthError> {
        let spec = valid_spec(spec)?;
        let (user, created) = match self.account_named_by(&spec).await? {
            Some(user) => (user, false),
            None => (self.create_member_account(&spec, now).await?, true),
        };
        let added = members::add(&self.db, app.id.clone(), user.id.clone(), now).await?;
        let outcome = match (created, added) {
            (true, _) => Added::NewAccount,
            (false, true) => Added::Member,
            (false, false) => Added::AlreadyMember,
        };
        if outcome != Added::AlreadyMember {
            tracing::info!(user_id = %user.id, application_id = %app.id, "member added");
            audit::record(
                &self.db,
                Event::new(Kind::MemberAdded)
                    .about(Subject::User(user.id.clone()))
                    .in_application(&app.id),
                now,
            )
            .await;
        }
        Ok((user, outcome))
    }

    /// Removes a member; its sessions and tokens in the application end.
    pub async fn remove_member(&self, app: &Application, user_id: &str, now: UnixTime) -> Result<(), AuthError> {
        if !members::remove_and_revoke(&self.db, app.id.clone(), user_id.to_owned(), now).await? {
            return Err(AccountError::UnknownAccount.into());
        }
        tracing::info!(%user_id, application_id = %app.id, "member removed");
        audit::record(
            &self.db,
            Event::new(Kind::MemberRemoved)
                .about(Subject::User(user_id.to_owned()))
                .in_application(&app.id),
            now,
        )
        .await;
        Ok(())
    }

    /// A page of `app`'s members with when each was added, oldest first.
    pub async fn list_members(
        &self,
        app: &Application,
        page: i64,
        per_page: i64,
    ) -> Result<Vec<(User, UnixTime)>, AuthError> {
        let per_page = per_page.clamp(1, MAX_PAGE);
        let offset = page.max(1).saturating_sub(1).saturating_mul(per_page);
        Ok(members::list(&self.db, app.id.clone(), offset, per_page).await?)
    }

    /// The account the spec names, if any; names that point at different accounts are refused.
    async fn account_named_by(&self, spec: &MemberSpec) -> Result<Option<User>, AuthError> {
        let mut found: Vec<(&'static str, User)> = Vec::new();
        if let Some(email) = &spec.email
            && let Some(user) = users::find_by_email(&self.db, email.clone()).await?
        {
            found.push(("email", user));
        }
        if let Some(username) = &spec.username
            && let Some(user) = users::find_by_username(&self.db, username.clone()).await?
        {
            found.push(("username", user));
        }
        if let Some(phone) = &spec.phone {
            let mut holders = users::find_by_phone(&self.db, phone.clone()).await?;
            if holders.len() > 1 {
                return Err(invalid(
                    "phone",
                    "is held by several accounts: name the account instead".into(),
                ));
            }
            if let Some(user) = holders.pop() {
                found.push(("phone", user));
            }
        }
        // An address nobody proved may have been registered by someone else (pre-hijacking): not a member by it.
        if found
            .iter()
            .any(|(field, user)| *field == "email" && !user.email_verified)
        {
            return Err(invalid(
                "email",
                "belongs to an account that has not proven it: invite the address instead".into(),
            ));
        }
        match found.as_slice() {
            [] => Ok(None),
            [(_, first), rest @ ..] => {
                if let Some((field, _)) = rest.iter().find(|(_, other)| other.id != first.id) {
                    return Err(invalid(field, "names another account than the rest of this row".into()));
                }
                Ok(Some(first.clone()))
            }
        }
    }

    /// A new account for a member: the address (unverified until a code or an invitation proves it), the
    /// number an administrator vouches for, and no password.
    async fn create_member_account(&self, spec: &MemberSpec, now: UnixTime) -> Result<User, AuthError> {
        if spec.email.is_none() && spec.phone.is_none() {
            return Err(invalid(
                "email",
                "is required for someone without an account (or phone)".into(),
            ));
        }
        let username = spec.username.clone().unwrap_or_else(super::flow::generated_username);
        let user = NewUser {
            email: spec.email.clone(),
            phone: spec.phone.clone(),
            ..NewUser::named(username, now)
        };
        let id = user.id.clone();
        match users::insert(&self.db, user).await {
            Err(StoreError::Duplicate(what)) if what.contains("email") => return Err(AccountError::EmailTaken.into()),
            Err(StoreError::Duplicate(_)) => return Err(AccountError::UsernameTaken.into()),
            other => other?,
        }
        tracing::info!(user_id = %id, "account created for a member");
        super::audit_account_created(&self.db, &id, "member", now).await;
        super::find_user(&self.db, &id).await
    }
}

/// Normalises and checks what an administrator typed.
fn valid_spec(spec: MemberSpec) -> Result<MemberSpec, AuthError> {
    let blank = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let username = blank(spec.username).map(|u| normalize_username(&u));
    let email = blank(spec.email).map(|e| normalize_email(&e));
    let phone = blank(spec.phone).map(|p| normalize_phone(p.trim()));
    let mut problems = Vec::new();
    if let Some(problem) = username
        .as_deref()
        .and_then(|u| account_username_problem(u, email.as_deref()))
    {
        problems.push(FieldError {
            field: "username",
            message: problem,
        });
    }
    if let Some(problem) = email.as_deref().and_then(email_problem) {
        problems.push(FieldError {
            field: "email",
            message: problem,
        });
    }
    if phone.as_deref().is_some_and(|p| !is_e164(p)) {
        problems.push(FieldError {
            field: "phone",
            message: "must be an international (E.164) number such as +14155552671".into(),
        });
    }
    if username.is_none() && email.is_none() && phone.is_none() {
        problems.push(FieldError {
            field: "email",
            message: "name someone: email, username or phone".into(),
        });
    }
    if !problems.is_empty() {
        return Err(AuthError::Validation(problems));
    }
    Ok(MemberSpec { username, email, phone })
}

fn invalid(field: &'static str, message: String) -> AuthError {
    AuthError::Validation(vec![FieldError { field, message }])
}
