//! PINs: a short secret an account keeps beside its password, for the extra checks an application may ask for
//! after idle time. The owner sets, changes or removes it after a recent interactive sign-in or with the current
//! PIN; an administrator may set one for an account. Stored with argon2id like passwords; a wrong PIN counts
//! toward the account's lock-out like a wrong password; each change is logged and the owner told by e-mail.

use super::login::Attempt;
use super::{Accounts, AuthError, CredentialError, Credentials, Principal, SessionError};
use crate::apps::pin_format::PinFormat;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::store::users::{self, User};

/// A new PIN in `format`, or the refusal naming the field `pin`.
fn checked(pin: &str, format: PinFormat) -> Result<(), AuthError> {
    match format.problem(pin) {
        Some(message) => Err(AuthError::Validation(vec![FieldError {
            field: "pin",
            message: message.into(),
        }])),
        None => Ok(()),
    }
}

impl Credentials {
    /// Checks the PIN of `user` (as it is stored now): a locked account is refused unchecked, and a wrong PIN
    /// (or none set) counts toward the lock-out.
    pub(in crate::auth) async fn check_pin(&self, user: &User, pin: &str, now: UnixTime) -> Result<(), AuthError> {
        let _turn = self.account_turn(&user.id).await?;
        let current = users::find_by_id(&self.db, user.id.clone())
            .await?
            .ok_or(CredentialError::WrongPin)?;
        if current.locked_until.is_some_and(|until| until > now) {
            tracing::warn!(user_id = %user.id, "PIN refused: account locked");
            return Err(CredentialError::WrongPin.into());
        }
        let check = self.passwords.verify(pin, current.pin_hash.as_deref()).await?;
        if !check.matches {
            self.count_failure(&current, Attempt::Pin, now).await?;
            tracing::warn!(user_id = %user.id, "wrong PIN");
            return Err(CredentialError::WrongPin.into());
        }
        Ok(())
    }
}

impl Accounts {
    /// Sets or changes the caller's PIN, in `format` (the application's it is set through): with the current PIN,
    /// or after a recent interactive sign-in.
    pub async fn set_pin(
        &self,
        caller: &Principal,
        pin: &str,
        current_pin: Option<&str>,
        format: PinFormat,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        checked(pin, format)?;
        self.may_change_pin(caller, current_pin, now).await?;
        let hash = self.credentials.hash(pin).await?;
        users::set_pin_hash(&self.db, caller.user.id.clone(), Some(hash), now).await?;
        let changed = caller.user.pin_hash.is_some();
        tracing::info!(user_id = %caller.user.id, changed, "PIN set");
        audit::record(
            &self.db,
            Event::new(Kind::PinSet).about(Subject::User(caller.user.id.clone())),
            now,
        )
        .await;
        self.notify_pin(&caller.user, if changed { "changed" } else { "set" });
        Ok(())
    }

    /// Removes the caller's PIN, under the same conditions as changing it.
    pub async fn remove_pin(
        &self,
        caller: &Principal,
        current_pin: Option<&str>,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        if caller.user.pin_hash.is_none() {
            return Ok(());
        }
        self.may_change_pin(caller, current_pin, now).await?;
        users::set_pin_hash(&self.db, caller.user.id.clone(), None, now).await?;
        tracing::info!(user_id = %caller.user.id, "PIN removed");
        audit::record(
            &self.db,
            Event::new(Kind::PinRemoved).about(Subject::User(caller.user.id.clone())),
            now,
        )
        .await;
        self.notify_pin(&caller.user, "removed");
        Ok(())
    }

    /// An administrator sets the PIN of the account `user_id`, in `format` (the owner may change it later).
    pub async fn admin_set_pin(
        &self,
        user_id: &str,
        pin: &str,
        format: PinFormat,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        let user = super::find_user(&self.db, user_id).await?;
        checked(pin, format)?;
        let hash = self.credentials.hash(pin).await?;
        users::set_pin_hash(&self.db, user.id.clone(), Some(hash), now).await?;
        tracing::info!(user_id = %user.id, "PIN set by an administrator");
        audit::record(
            &self.db,
            Event::new(Kind::PinSet).about(Subject::User(user.id.clone())),
            now,
        )
        .await;
        self.notify_pin(&user, "set by an administrator");
        Ok(())
    }

    /// A PIN changes only in an interactive sign-in, with the current PIN or a recent sign-in.
    async fn may_change_pin(
        &self,
        caller: &Principal,
        current_pin: Option<&str>,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        if !caller.is_interactive() {
            return Err(SessionError::InteractiveLoginRequired.into());
        }
        match current_pin {
            Some(current) if caller.user.pin_hash.is_some() => {
                self.credentials.check_pin(&caller.user, current, now).await
            }
            _ => caller.require_recent_sign_in(self.reauth_max_age_secs, now),
        }
    }

    fn notify_pin(&self, user: &User, what: &str) {
        super::notify_security_event(
            &self.notify,
            &self.issuer_name,
            user,
            format!("The PIN of your account was {what}."),
        );
    }
}
