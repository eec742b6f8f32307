//! The REST answers to authentication's refusals: one exhaustive `From` per concern, and `AuthError`'s own,
//! which only dispatches.

use actix_web::http::StatusCode;

use super::rest::{ApiError, LOGIN_LIMIT_MESSAGE, signup_limit_message};
use crate::auth::{
    AccessError, AccountError, AuthError, CredentialError, FactorError, FlowError, PrivateTokenError, SessionError,
};

/// Each concern of authentication answers in its own impl below; this one only dispatches, so a new concern
/// or a new variant is a compile error until it has its answer.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Credentials(e) => e.into(),
            AuthError::Flow(e) => e.into(),
            AuthError::Session(e) => e.into(),
            AuthError::PrivateToken(e) => e.into(),
            AuthError::Factor(e) => e.into(),
            AuthError::Access(e) => e.into(),
            AuthError::Account(e) => e.into(),
            AuthError::Validation(problems) => Self::validation(problems.into_iter().map(|p| (p.field, p.message))),
            AuthError::Notify(e) => e.into(),
            AuthError::Captcha(e) => e.into(),
            AuthError::Internal(cause) => Self::internal(&cause),
            AuthError::Token(e) => e.into(),
            AuthError::Dpop(e) => e.into(),
            AuthError::Store(e) => e.into(),
            AuthError::Password(e) => Self::internal(&e),
        }
    }
}

impl From<CredentialError> for ApiError {
    fn from(error: CredentialError) -> Self {
        use StatusCode as S;
        match error {
            CredentialError::InvalidCredentials => Self::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "The login or password is incorrect.",
            ),
            CredentialError::LoginRateLimited(retry_after) => {
                Self::too_many("login_rate_limited", LOGIN_LIMIT_MESSAGE, retry_after)
            }
            CredentialError::WrongPassword => {
                Self::new(S::FORBIDDEN, "wrong_password", "The current password is incorrect.")
            }
            CredentialError::WrongPin => Self::new(S::FORBIDDEN, "wrong_pin", "The PIN is incorrect."),
            CredentialError::ReauthenticationRequired { max_age_secs } => {
                Self::insufficient_user_authentication(max_age_secs)
            }
        }
    }
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        use StatusCode as S;
        match error {
            FlowError::MfaTokenInvalid => Self::new(
                S::UNAUTHORIZED,
                "mfa_token_invalid",
                "The flow_token (mfa_token) is unknown, expired, already used or for another sign-in; sign in again.",
            ),
            FlowError::SecondFactorUnavailable => Self::new(
                S::FORBIDDEN,
                "second_factor_unavailable",
                "Every sign-in here needs a second factor, and this account has none besides the code's own channel: sign in with the password instead.",
            ),
            FlowError::CodeExpired => Self::new(
                S::UNAUTHORIZED,
                "code_expired",
                "The code has expired; ask for a new one.",
            ),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        use StatusCode as S;
        match error {
            SessionError::RefreshInvalid => Self::new(
                S::UNAUTHORIZED,
                "refresh_token_invalid",
                "The refresh token is not valid.",
            ),
            SessionError::RefreshExpired => Self::new(
                S::UNAUTHORIZED,
                "refresh_token_expired",
                "The refresh token has expired; sign in again.",
            ),
            SessionError::RefreshReused => Self::new(
                S::UNAUTHORIZED,
                "refresh_token_reused",
                "This refresh token was already used. Every token of its session has been revoked; sign in again.",
            ),
            SessionError::RefreshRevoked => Self::new(
                S::UNAUTHORIZED,
                "refresh_token_revoked",
                "The session of this refresh token was revoked; sign in again.",
            ),
            SessionError::AppMismatch => Self::token(
                "token_app_mismatch",
                "The token was issued for another application than the one this x-api-key belongs to.",
            ),
            SessionError::InteractiveLoginRequired => Self::new(
                S::FORBIDDEN,
                "interactive_login_required",
                "This needs an access token from a password sign-in; a private token cannot do it.",
            ),
            SessionError::StepUpRequired(required) => Self::step_up_required(required),
            SessionError::UnknownSignIn => Self::new(S::NOT_FOUND, "not_found", "There is no such live sign-in."),
        }
    }
}

impl From<PrivateTokenError> for ApiError {
    fn from(error: PrivateTokenError) -> Self {
        use StatusCode as S;
        match error {
            PrivateTokenError::UnknownToken => Self::new(S::NOT_FOUND, "not_found", "There is no such live token."),
            PrivateTokenError::ScopeNotHeld(scope) => Self::new(
                S::FORBIDDEN,
                "insufficient_scope",
                format!("You do not hold the `{scope}` scope, so no token of yours can carry it."),
            ),
            PrivateTokenError::InsufficientScope(scope) => Self::insufficient_scope(scope),
        }
    }
}

impl From<FactorError> for ApiError {
    fn from(error: FactorError) -> Self {
        use StatusCode as S;
        match error {
            FactorError::InvalidCode => {
                Self::new(S::UNAUTHORIZED, "invalid_code", "The code is incorrect or has expired.")
            }
            FactorError::MethodUnavailable(method) => Self::new(
                S::BAD_REQUEST,
                "method_unavailable",
                format!("The method `{method}` is not available for this account or on this server."),
            ),
            FactorError::OtpRateLimited(retry_after) => Self::too_many(
                "otp_rate_limited",
                "Too many codes were asked for. Please wait before asking for another.",
                retry_after,
            ),
            FactorError::TotpAlreadyEnabled => Self::new(
                S::CONFLICT,
                "totp_already_enabled",
                "An authenticator app is already enabled; disable it before adding another.",
            ),
            FactorError::TotpNotPending => Self::new(
                S::CONFLICT,
                "totp_not_pending",
                "No authenticator enrollment is pending; start one with POST /api/v1/user/mfa/totp.",
            ),
            FactorError::AlreadyVerified(what) => Self::new(
                S::CONFLICT,
                "already_verified",
                format!("The {what} is already verified."),
            ),
            FactorError::PasskeyRefused => Self::new(
                S::UNAUTHORIZED,
                "passkey_refused",
                "The passkey was not accepted; start again with new options.",
            ),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        use StatusCode as S;
        match error {
            AccessError::NotMember => Self::new(
                S::FORBIDDEN,
                "not_a_member",
                "This account has no access to this application. Ask its administrator for an invitation.",
            ),
            AccessError::MethodNotAllowed(method) => Self::new(
                S::FORBIDDEN,
                "login_method_not_allowed",
                format!("This application does not accept sign-in by `{method}`."),
            ),
            AccessError::VerificationRequired => Self::new(
                S::FORBIDDEN,
                "verification_required",
                "This application now asks for a proven e-mail address or phone number: sign in again to give it.",
            ),
            AccessError::GuestAccount => Self::new(
                S::FORBIDDEN,
                "guest_account",
                "A guest cannot do this: register first (prove an e-mail address or a phone number, or set a password).",
            ),
            AccessError::GuestsNotAllowed => Self::new(
                S::FORBIDDEN,
                "guests_not_allowed",
                "This application is not open to guests: sign in or sign up instead.",
            ),
            AccessError::IpNotAllowed => Self::new(
                S::FORBIDDEN,
                "ip_not_allowed",
                "This application cannot be used from your network.",
            ),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        use StatusCode as S;
        match error {
            AccountError::UnknownAccount => Self::new(S::NOT_FOUND, "not_found", "There is no such account."),
            AccountError::SignupClosed => Self::new(
                S::FORBIDDEN,
                "signup_closed",
                "Accounts are created by administrators here: this needs an administrator's bearer token.",
            ),
            AccountError::UsernameTaken => Self::new(S::CONFLICT, "username_taken", "This username is already taken."),
            AccountError::EmailTaken => Self::new(
                S::CONFLICT,
                "email_taken",
                "An account with this e-mail address already exists.",
            ),
            AccountError::SignupRateLimited(by, retry_after) => {
                Self::too_many("signup_rate_limited", signup_limit_message(by), retry_after)
            }
            AccountError::InvitationInvalid => Self::new(
                S::NOT_FOUND,
                "invitation_invalid",
                "The invitation is unknown, has expired or was already used.",
            ),
            AccountError::IdentityTaken => Self::new(
                S::CONFLICT,
                "identity_taken",
                "This identity at the provider already belongs to another account.",
            ),
            AccountError::UnknownIdentity => Self::new(S::NOT_FOUND, "not_found", "There is no such linked identity."),
            AccountError::LastAdministrator => Self::new(
                S::CONFLICT,
                "last_administrator",
                "This is the last active administrator: make another account an administrator first.",
            ),
            AccountError::LastSignInMethod => Self::new(
                S::CONFLICT,
                "last_sign_in_method",
                "This is the account's last way to sign in: set a password or link another identity first.",
            ),
        }
    }
}

/// RFC 9449 §7.1: a DPoP proof refused, or a bound token presented without one, answers 401 with a `DPoP`
/// challenge; `use_dpop_nonce` also gives the nonce to retry with.
impl From<crate::tokens::dpop::DpopError> for ApiError {
    fn from(error: crate::tokens::dpop::DpopError) -> Self {
        use super::oauth::dpop_challenge;
        use crate::tokens::dpop::DpopError as D;
        match error {
            D::InvalidProof(why) => Self::dpop(
                "invalid_dpop_proof",
                why,
                dpop_challenge("invalid_dpop_proof", why),
                None,
            ),
            D::UseNonce(nonce) => {
                let why = "The DPoP proof must carry the nonce of the DPoP-Nonce header.";
                Self::dpop(
                    "use_dpop_nonce",
                    why,
                    dpop_challenge("use_dpop_nonce", why),
                    Some(nonce),
                )
            }
            D::Binding(why) => Self::dpop("token_invalid", why, dpop_challenge("invalid_token", why), None),
            D::Store(e) => e.into(),
        }
    }
}
