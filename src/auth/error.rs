//! What authentication refuses, one enum per concern, gathered under `AuthError` so the sign-in flow, which
//! uses every service, can carry any of them. `http/error` turns each concern into responses with exhaustive
//! matches.

use crate::error::FieldError;
use crate::notify::{CaptchaError, NotifyError};
use crate::store::StoreError;
use crate::tokens::TokenError;

use super::PasswordError;

/// Everything authentication can refuse or fail with: a refusal of one concern, or a failure underneath.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    PrivateToken(#[from] PrivateTokenError),
    #[error(transparent)]
    Factor(#[from] FactorError),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Captcha(#[from] CaptchaError),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A DPoP proof, or how a DPoP-bound token was presented (RFC 9449).
    #[error(transparent)]
    Dpop(#[from] crate::tokens::dpop::DpopError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// Passwords and lock-out: what `Credentials` refuses.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("invalid login or password")]
    InvalidCredentials,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("too many failed sign-ins from this address")]
    LoginRateLimited(u64),
    /// This needs a sign-in within the last `max_age_secs` seconds.
    #[error("this needs a recent sign-in")]
    ReauthenticationRequired { max_age_secs: i64 },
    /// A wrong PIN, none set, or the account locked.
    #[error("the PIN is wrong")]
    WrongPin,
}

/// The sign-in flow itself: a step that does not fit the flow it names.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the mfa_token is unknown, expired, spent, or for another sign-in")]
    MfaTokenInvalid,
    #[error("the code has expired")]
    CodeExpired,
    #[error("this sign-in needs a second factor the account cannot give")]
    SecondFactorUnavailable,
}

/// Token families, refresh and bearer resolution: what `Sessions` refuses.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the refresh token is not valid")]
    RefreshInvalid,
    #[error("the refresh token has expired")]
    RefreshExpired,
    #[error("the refresh token was already used; its whole family is now revoked")]
    RefreshReused,
    #[error("the refresh token was revoked")]
    RefreshRevoked,
    #[error("the token was issued for another application")]
    AppMismatch,
    #[error("this needs a password sign-in, not a private token")]
    InteractiveLoginRequired,
    /// The family was idle longer than its application allows (or the app said it was offloaded): its owner
    /// proves it is them again with one of these (`pin`, `password`) before the next refresh.
    #[error("a step-up is required before the next refresh")]
    StepUpRequired(Vec<&'static str>),
    /// A sign-in (browser session or token family) the account does not have, or no longer live.
    #[error("no such live sign-in of this account")]
    UnknownSignIn,
}

/// Private and application tokens: what `PrivateTokens` refuses.
#[derive(Debug, thiserror::Error)]
pub enum PrivateTokenError {
    #[error("no such token")]
    UnknownToken,
    #[error("the caller does not hold the `{0}` scope it tried to hand on")]
    ScopeNotHeld(String),
    #[error("the caller lacks the `{0}` scope")]
    InsufficientScope(&'static str),
}

/// Second factors and the proof of an address or number: what `SecondFactors` refuses.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error("the code is wrong, expired or spent")]
    InvalidCode,
    #[error("the second factor `{0}` is not available for this account")]
    MethodUnavailable(&'static str),
    #[error("too many codes were asked for; retry in {0} s")]
    OtpRateLimited(u64),
    #[error("an authenticator is already enabled")]
    TotpAlreadyEnabled,
    #[error("no authenticator enrollment is pending")]
    TotpNotPending,
    #[error("the {0} is already verified")]
    AlreadyVerified(&'static str),
    /// A passkey's answer was not accepted: an unknown credential, a challenge unknown, spent, expired or
    /// another browser's, a wrong signature, origin or counter, no user verification.
    #[error("the passkey was not accepted")]
    PasskeyRefused,
}

/// An application's access policy: what `Access` refuses.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("this account may not enter the application")]
    NotMember,
    #[error("the application asks for a proven address or number first")]
    VerificationRequired,
    #[error("a guest cannot do this before registering")]
    GuestAccount,
    #[error("the application does not admit guests")]
    GuestsNotAllowed,
    #[error("the application does not accept sign-in by `{0}`")]
    MethodNotAllowed(&'static str),
    /// The request comes from outside the networks the application may be used from.
    #[error("the application may not be used from this network")]
    IpNotAllowed,
}

/// Sign-up, guests, invitations and account lookups: what `Accounts` refuses.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no such account")]
    UnknownAccount,
    #[error("accounts are created by administrators only")]
    SignupClosed,
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the e-mail address is taken")]
    EmailTaken,
    #[error("too many signup attempts ({0:?})")]
    SignupRateLimited(LimitedBy, u64),
    #[error("the invitation is unknown, expired or already used")]
    InvitationInvalid,
    #[error("the upstream identity belongs to another account")]
    IdentityTaken,
    #[error("no such linked identity")]
    UnknownIdentity,
    #[error("this is the account's last way to sign in")]
    LastSignInMethod,
    #[error("this is the last active administrator")]
    LastAdministrator,
}

/// What a signup limit counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedBy {
    Email,
    Ip,
}
