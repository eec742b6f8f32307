//! Proving the account's e-mail address and phone number with a code sent to them. A phone number is stored
//! only once its code came back; the e-mail address is marked verified (and a code for an older address
//! cannot verify a newer one).

use super::super::{AuthError, AuthService, Principal};
use super::codes::{Channel, CodePurpose, SentCode};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::notify::sms::{is_e164, mask_phone, normalize_phone};
use crate::store::users::{self, User};

impl AuthService {
    /// `POST /api/v1/user/email/verify`: sends a code to the account's address.
    pub async fn start_email_verification(
        &self,
        caller: &Principal,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        caller.require_interactive()?;
        let user = &caller.user;
        if user.email_verified {
            return Err(AuthError::AlreadyVerified("email"));
        }
        if !self.notify.email.is_enabled() {
            return Err(AuthError::MethodUnavailable("email"));
        }
        self.send_code(
            user,
            CodePurpose::VerifyEmail,
            user.email.clone(),
            Channel::Email,
            &user.email,
            client,
            now,
        )
        .await
    }

    /// `POST /api/v1/user/email/confirm`: the code marks the address verified.
    pub async fn confirm_email(&self, caller: &Principal, code: &str, now: UnixTime) -> Result<User, AuthError> {
        caller.require_interactive()?;
        let user = &caller.user;
        let spent = self
            .check_code(user, CodePurpose::VerifyEmail, Some(&user.email), None, code, now)
            .await?;
        if spent.is_none() || !users::set_email_verified(&self.db, user.id.clone(), user.email.clone(), now).await? {
            return Err(AuthError::InvalidCode);
        }
        tracing::info!(user_id = %user.id, "e-mail address verified");
        self.find_user(&user.id).await
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
        let phone = normalize_phone(phone);
        if !is_e164(&phone) {
            return Err(AuthError::Validation(vec![FieldError {
                field: "phone",
                message: "must be an international (E.164) number such as +14155552671".into(),
            }]));
        }
        if !self.notify.sms.is_enabled() {
            return Err(AuthError::MethodUnavailable("sms"));
        }
        let user = &caller.user;
        self.send_code(
            user,
            CodePurpose::VerifyPhone,
            phone.clone(),
            Channel::Sms,
            &phone,
            client,
            now,
        )
        .await
    }

    /// `POST /api/v1/user/phone/confirm`: the code stores the number it was sent to.
    pub async fn confirm_phone(&self, caller: &Principal, code: &str, now: UnixTime) -> Result<User, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        let user = &caller.user;
        let spent = self
            .check_code(user, CodePurpose::VerifyPhone, None, None, code, now)
            .await?
            .ok_or(AuthError::InvalidCode)?;
        users::set_phone(&self.db, user.id.clone(), Some(spent.binding.clone()), now).await?;
        tracing::info!(user_id = %user.id, "phone number verified");
        self.notify_security_event(
            user,
            format!(
                "The phone number {} was verified for your account.",
                mask_phone(&spent.binding)
            ),
        );
        self.find_user(&user.id).await
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
        let user = self.recheck_password(caller, password, client, now).await?;
        users::set_phone(&self.db, user.id.clone(), None, now).await?;
        tracing::info!(user_id = %user.id, "phone number removed");
        self.notify_security_event(&user, "The phone number was removed from your account.".into());
        self.find_user(&user.id).await
    }
}
