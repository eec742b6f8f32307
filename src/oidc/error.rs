//! OAuth 2.0 / OpenID Connect errors: the registered `error` codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
//! RFC 7009 §2.2.1; RFC 8628 §3.5; RFC 8693 §2.2.2; OIDC Core §3.1.2.6) with a description in the allowed
//! character set.

use crate::auth::AuthError;
use crate::store::StoreError;
use crate::tokens::TokenError;

/// A registered OAuth error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    /// OIDC Core §3.1.2.6: the user must choose an account.
    AccountSelectionRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    /// RFC 8628 §3.5's code, answered with 429 and `Retry-After` when an application's request budget is spent.
    SlowDown,
    /// RFC 8628 §3.5: the device polled before its interval passed; the interval is now 5 seconds longer.
    PolledTooSoon,
    /// RFC 8628 §3.5: the person has not answered the device authorization yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: the device code has expired; the device may start again.
    ExpiredToken,
    /// RFC 8693 §2.2.2: the token cannot be issued for the requested audience or resource.
    InvalidTarget,
    /// OpenID Connect Core Unmet Authentication Requirements 1.0: the requested `acr` cannot be met (here: not
    /// without a page, under `prompt=none`).
    UnmetAuthenticationRequirements,
    /// RFC 7591 §3.2.2: a redirect URI of a registration is refused.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: another member of a registration is refused.
    InvalidClientMetadata,
    /// RFC 9449 §5, §7.1: the DPoP proof is missing, invalid, or by the wrong key.
    InvalidDpopProof,
    /// RFC 9449 §8, §9: the DPoP proof must carry the nonce the answer's `DPoP-Nonce` header gives.
    UseDpopNonce,
}

impl ErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::SlowDown | Self::PolledTooSoon => "slow_down",
            Self::AuthorizationPending => "authorization_pending",
            Self::ExpiredToken => "expired_token",
            Self::InvalidTarget => "invalid_target",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

/// An OAuth error with a human-readable description.
#[derive(Debug, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Restricted to the characters RFC 6749 §5.2 allows in `error_description`.
    pub description: String,
    /// For server errors: the cause, logged and never sent.
    pub cause: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl AsRef<str>) -> Self {
        Self {
            code,
            description: sanitize(description.as_ref()),
            cause: None,
        }
    }

    pub fn invalid_request(description: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "Client authentication failed.")
    }

    pub fn invalid_token(description: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }

    /// A fault on our side; `cause` is logged, never shown.
    pub fn server(cause: impl std::fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(ErrorCode::ServerError, "The server could not complete the request.")
        }
    }
}

/// RFC 6749 §5.2: `error_description` is `%x20-21 / %x23-5B / %x5D-7E`; anything else becomes a space.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => ' ',
        })
        .collect()
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => Self {
                cause: Some(cause),
                ..Self::new(
                    ErrorCode::TemporarilyUnavailable,
                    "The service is temporarily unavailable.",
                )
            },
            StoreError::Duplicate(_)
            | StoreError::Connect(_)
            | StoreError::Migration(_)
            | StoreError::Corrupt(_)
            | StoreError::Panicked
            | StoreError::Query(_) => Self::server(error),
        }
    }
}

impl From<TokenError> for OAuthError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Key(_) => Self::server(error),
            TokenError::Missing => Self::invalid_token("No access token was presented."),
            TokenError::Expired => Self::invalid_token("The access token has expired."),
            TokenError::Invalid(why) | TokenError::Revoked(why) => Self::invalid_token(why),
        }
    }
}

impl From<crate::tokens::dpop::DpopError> for OAuthError {
    fn from(error: crate::tokens::dpop::DpopError) -> Self {
        use crate::tokens::dpop::DpopError as D;
        match error {
            D::InvalidProof(why) => Self::new(ErrorCode::InvalidDpopProof, why),
            // The nonce goes out as `DPoP-Nonce`, added where the answer is made (`http::error`).
            D::UseNonce(_) => Self::new(
                ErrorCode::UseDpopNonce,
                "The DPoP proof must carry the nonce of the DPoP-Nonce header.",
            ),
            D::Binding(why) => Self::invalid_token(why),
            D::Store(e) => e.into(),
        }
    }
}

/// What the token endpoint's grants meet from authentication. Every variant is listed, so a new one is a
/// decision here, never a silent `server_error`.
impl From<AuthError> for OAuthError {
    fn from(error: AuthError) -> Self {
        use crate::auth::{
            AccessError as Ac, AccountError as Acc, CredentialError as C, FactorError as F, FlowError as Fl,
            PrivateTokenError as P, SessionError as S,
        };
        use AuthError as A;
        match error {
            A::Session(S::RefreshInvalid) => Self::invalid_grant("The refresh token is not valid for this client."),
            A::Session(S::RefreshExpired) => Self::invalid_grant("The refresh token has expired."),
            A::Session(S::RefreshReused) => {
                Self::invalid_grant("The refresh token was already used; its whole grant is now revoked.")
            }
            A::Session(S::RefreshRevoked) => Self::invalid_grant("The refresh token was revoked."),
            A::Session(S::AppMismatch) => Self::invalid_grant("The token belongs to another application."),
            A::Access(Ac::NotMember) => Self::invalid_grant("The account has no access to this application."),
            A::Access(Ac::VerificationRequired) => {
                Self::invalid_grant("The application asks for a proven address or number: sign in again.")
            }
            // An OAuth client proves its user again through a new authorization request.
            A::Session(S::StepUpRequired(_)) => {
                Self::invalid_grant("The application asks the user to sign in again after being away.")
            }
            A::Access(Ac::IpNotAllowed) => Self::invalid_grant("The application cannot be used from this network."),
            A::Store(e) => e.into(),
            A::Token(e) => e.into(),
            A::Dpop(e) => e.into(),
            // Steps of a sign-in; account, factor and session management: no grant leads to them.
            A::Credentials(
                C::InvalidCredentials
                | C::WrongPassword
                | C::WrongPin
                | C::LoginRateLimited(_)
                | C::ReauthenticationRequired { .. },
            )
            | A::Session(S::InteractiveLoginRequired | S::UnknownSignIn)
            | A::Account(
                Acc::UnknownAccount
                | Acc::SignupClosed
                | Acc::UsernameTaken
                | Acc::EmailTaken
                | Acc::SignupRateLimited(..)
                | Acc::InvitationInvalid
                | Acc::IdentityTaken
                | Acc::UnknownIdentity
                | Acc::LastSignInMethod
                | Acc::LastAdministrator,
            )
            | A::PrivateToken(P::UnknownToken | P::ScopeNotHeld(_) | P::InsufficientScope(_))
            | A::Flow(Fl::MfaTokenInvalid | Fl::CodeExpired | Fl::SecondFactorUnavailable)
            | A::Factor(
                F::InvalidCode
                | F::MethodUnavailable(_)
                | F::OtpRateLimited(_)
                | F::TotpAlreadyEnabled
                | F::TotpNotPending
                | F::AlreadyVerified(_)
                | F::PasskeyRefused,
            )
            | A::Access(Ac::MethodNotAllowed(_) | Ac::GuestsNotAllowed | Ac::GuestAccount)
            | A::Validation(_)
            | A::Notify(_)
            | A::Captcha(_)
            | A::Internal(_)
            | A::Password(_) => Self::server(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_only_allowed_characters() {
        let error = OAuthError::invalid_request("bad \"quote\" \\ and\r\nnew\tline é");
        assert_eq!(error.description, "bad  quote    and  new line  ");
    }
}
