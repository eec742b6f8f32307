//! Proving an e-mail address or a phone number with a code sent to it: from the account (REST), and as the
//! verification step of a sign-in when an application asks for proof of contact. A phone number is stored
//! only once its code came back; an address is marked verified — or, for an account without one (a guest, a
//! sign-up by text message), stored verified — and a code for an older address cannot verify a newer one.

use super::super::{AccountError, AuthError, FactorError, Principal, SecondFactors};
use super::codes::{Channel, CodePurpose, CodeRequest, SentCode};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::notify::sms::{is_e164, mask_phone, normalize_phone};
use crate::store::StoreError;
use crate::store::users::{self, User};

impl SecondFactors {
    /// `POST /api/v1/user/email/verify`: sends a code to the account's address, or to `address` for an
    /// account without one.
    pub async fn start_email_verification(
        &self,
        caller: &Principal,
        address: Option<&str>,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        caller.require_interactive()?;
        self.send_email_proof(&caller.user, address, client, self.otp_policy.ttl_secs, now)
            .await
    }

    /// `POST /api/v1/user/email/confirm`: the code marks the address verified.
    pub async fn confirm_email(&self, caller: &Principal, code: &str, now: UnixTime) -> Result<User, AuthError> {
        caller.require_interactive()?;
        self.prove_email(&caller.user, code, now).await
    }

    /// `POST /api/v1/user/email/change`: sends a code to `address`, the new address of an account that has
    /// one. Needs a recent sign-in; the old address stays the account's until the code comes back.
    pub async fn start_email_change(
        &self,
        caller: &Principal,
        address: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        let Some(current) = &caller.user.email else {
            return Err(field(
                "email",
                "cannot be changed: the account has no address yet; verify one instead".into(),
            ));
        };
        let address = super::super::identity::normalize_email(address);
        if let Some(message) = super::super::identity::email_problem(&address) {
            return Err(field("email", message));
        }
        if &address == current {
            return Err(field("email", "is already the account's address".into()));
        }
        if !self.notify.email.is_enabled() {
            return Err(FactorError::MethodUnavailable("email").into());
        }
        let request = CodeRequest {
            user: Some(&caller.user),
            purpose: CodePurpose::ChangeEmail,
            binding: address.clone(),
            channel: Channel::Email,
            destination: &address,
            ttl_secs: self.otp_policy.ttl_secs,
            notice: None,
        };
        self.send_code(request, client, now).await
    }

    /// `POST /api/v1/user/email/change/confirm`: the code sent by [`Self::start_email_change`] makes its
    /// address the account's, verified; the old address is told.
    pub async fn confirm_email_change(&self, caller: &Principal, code: &str, now: UnixTime) -> Result<User, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        let user = &caller.user;
        let spent = self
            .check_code(Some(user), CodePurpose::ChangeEmail, None, None, code, now)
            .await?
            .ok_or(FactorError::InvalidCode)?;
        let Some(old) = user.email.clone() else {
            return Err(FactorError::InvalidCode.into());
        };
        let new = spent.binding.clone();
        match users::replace_email(&self.db, user.id.clone(), old.clone(), new.clone(), now).await {
            Ok(true) => {}
            Ok(false) => return Err(FactorError::InvalidCode.into()),
            Err(StoreError::Duplicate(_)) => return Err(AccountError::EmailTaken.into()),
            Err(other) => return Err(other.into()),
        }
        tracing::info!(user_id = %user.id, "e-mail address changed");
        let event = Event::new(Kind::EmailChanged).about(Subject::User(user.id.clone()));
        audit::record(&self.db, event, now).await;
        self.notify_security_event(
            user,
            format!(
                "The e-mail address of your account was changed to {}.",
                super::codes::mask_email(&new)
            ),
        );
        super::super::find_user(&self.db, &user.id).await
    }

    /// `POST /api/v1/user/phone`: sends a code to a new number (E.164). Needs a recent password sign-in.
    pub async fn start_phone_verification(
        &self,
        caller: &Principal,
        phone: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        self.send_phone_proof(&caller.user, phone, client, self.otp_policy.ttl_secs, now)
            .await
    }

    /// `POST /api/v1/user/phone/confirm`: the code stores the number it was sent to.
    pub async fn confirm_phone(&self, caller: &Principal, code: &str, now: UnixTime) -> Result<User, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        self.prove_phone(&caller.user, code, now).await
    }

    /// `DELETE /api/v1/user/phone`: removes the number (and with it SMS as a factor), after the password.
    pub async fn remove_phone(
        &self,
        caller: &Principal,
        password: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        let user = self
            .credentials
            .recheck_password(&caller.user, password, client, now)
            .await?;
        users::set_phone(&self.db, user.id.clone(), None, now).await?;
        tracing::info!(user_id = %user.id, "phone number removed");
        let event = Event::new(Kind::PhoneRemoved).about(Subject::User(user.id.clone()));
        audit::record(&self.db, event, now).await;
        self.notify_security_event(&user, "The phone number was removed from your account.".into());
        super::super::find_user(&self.db, &user.id).await
    }

    /// Sends a code proving the account's address — or `address`, for an account without one — valid for
    /// `ttl_secs`.
    pub(in crate::auth) async fn send_email_proof(
        &self,
        user: &User,
        address: Option<&str>,
        client: &str,
        ttl_secs: i64,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        if user.email.is_some() && user.email_verified {
            return Err(FactorError::AlreadyVerified("email").into());
        }
        let address = match (&user.email, address) {
            (Some(current), _) => current.clone(),
            (None, Some(address)) => {
                let address = super::super::identity::normalize_email(address);
                if let Some(message) = super::super::identity::email_problem(&address) {
                    return Err(field("email", message));
                }
                address
            }
            (None, None) => return Err(field("email", "is required: the account has no e-mail address".into())),
        };
        if !self.notify.email.is_enabled() {
            return Err(FactorError::MethodUnavailable("email").into());
        }
        let request = CodeRequest {
            user: Some(user),
            purpose: CodePurpose::VerifyEmail,
            binding: address.clone(),
            channel: Channel::Email,
            destination: &address,
            ttl_secs,
            notice: None,
        };
        self.send_code(request, client, now).await
    }

    /// A code sent by [`Self::send_email_proof`]: the address it went to is the account's, verified.
    pub(in crate::auth) async fn prove_email(&self, user: &User, code: &str, now: UnixTime) -> Result<User, AuthError> {
        let spent = self
            .check_code(
                Some(user),
                CodePurpose::VerifyEmail,
                user.email.as_deref(),
                None,
                code,
                now,
            )
            .await?
            .ok_or(FactorError::InvalidCode)?;
        let proven = match &user.email {
            Some(current) => users::set_email_verified(&self.db, user.id.clone(), current.clone(), now).await?,
            None => match users::set_verified_email(&self.db, user.id.clone(), spent.binding.clone(), now).await {
                Err(StoreError::Duplicate(_)) => return Err(AccountError::EmailTaken.into()),
                other => other?,
            },
        };
        if !proven {
            return Err(FactorError::InvalidCode.into());
        }
        tracing::info!(user_id = %user.id, "e-mail address verified");
        let event = Event::new(Kind::EmailVerified).about(Subject::User(user.id.clone()));
        audit::record(&self.db, event, now).await;
        super::super::find_user(&self.db, &user.id).await
    }

    /// Sends a code to a number (E.164) the person gave, valid for `ttl_secs`.
    pub(in crate::auth) async fn send_phone_proof(
        &self,
        user: &User,
        phone: &str,
        client: &str,
        ttl_secs: i64,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let phone = normalize_phone(phone);
        if !is_e164(&phone) {
            return Err(field(
                "phone",
                "must be an international (E.164) number such as +14155552671".into(),
            ));
        }
        if !self.notify.sms.is_enabled() {
            return Err(FactorError::MethodUnavailable("sms").into());
        }
        let request = CodeRequest {
            user: Some(user),
            purpose: CodePurpose::VerifyPhone,
            binding: phone.clone(),
            channel: Channel::Sms,
            destination: &phone,
            ttl_secs,
            notice: None,
        };
        self.send_code(request, client, now).await
    }

    /// A code sent by [`Self::send_phone_proof`]: the number it went to becomes the account's.
    pub(in crate::auth) async fn prove_phone(&self, user: &User, code: &str, now: UnixTime) -> Result<User, AuthError> {
        let spent = self
            .check_code(Some(user), CodePurpose::VerifyPhone, None, None, code, now)
            .await?
            .ok_or(FactorError::InvalidCode)?;
        let holders = users::find_by_phone(&self.db, spent.binding.clone()).await?;
        if holders.iter().any(|other| other.id != user.id) {
            return Err(field("phone", "belongs to another account".into()));
        }
        users::set_phone(&self.db, user.id.clone(), Some(spent.binding.clone()), now).await?;
        tracing::info!(user_id = %user.id, "phone number verified");
        let event = Event::new(Kind::PhoneChanged).about(Subject::User(user.id.clone()));
        audit::record(&self.db, event, now).await;
        self.notify_security_event(
            user,
            format!(
                "The phone number {} was verified for your account.",
                mask_phone(&spent.binding)
            ),
        );
        super::super::find_user(&self.db, &user.id).await
    }
}

fn field(field: &'static str, message: String) -> AuthError {
    AuthError::Validation(vec![FieldError { field, message }])
}
