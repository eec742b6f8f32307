//! The OAuth endpoints' shape (RFC 6749 §5.2, RFC 6750 §3): `{"error", "error_description"}`, never cached,
//! with the challenge each error calls for.

use actix_web::HttpResponse;
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use serde::Serialize;

use crate::http::body::{BodyError, FormError};
use crate::http::outage::{STORAGE_RETRY_AFTER, log_storage_outage};
use crate::oidc::OAuthError;
use crate::oidc::dynamic_clients::RegistrationError;
use crate::store::StoreError;
use crate::tokens::TokenError;

/// RFC 9449 §8.1: the header a server gives its nonce in.
pub const DPOP_NONCE: &str = "dpop-nonce";

#[derive(Serialize)]
struct OAuthErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// A protected OAuth resource (userinfo) asked for without a token: 401 with the OAuth error body, and a
/// challenge that carries no error code (RFC 6750 §3.1: no credentials, no error information).
pub fn bearer_token_missing() -> HttpResponse {
    let error = crate::oidc::OAuthError::from(TokenError::Missing);
    let mut response = error.error_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer realm="tessera""#),
    );
    response
}

/// A protected OAuth resource's (userinfo's) refusal of a request whose token came with the `DPoP` scheme, or
/// of a DPoP proof: 401 with a `DPoP` challenge naming the error and the accepted algorithms (RFC 9449 §7.1),
/// and `DPoP-Nonce` for `use_dpop_nonce`. Other refusals answer as always.
pub fn dpop_resource_error(error: &OAuthError, dpop_scheme: bool, nonce: Option<String>) -> HttpResponse {
    use crate::oidc::ErrorCode as E;
    let dpop = match error.code {
        E::InvalidDpopProof | E::UseDpopNonce => true,
        E::InvalidToken => dpop_scheme,
        E::InvalidRequest
        | E::InvalidClient
        | E::InvalidGrant
        | E::UnauthorizedClient
        | E::UnsupportedGrantType
        | E::InvalidScope
        | E::AccessDenied
        | E::UnsupportedResponseType
        | E::ServerError
        | E::TemporarilyUnavailable
        | E::LoginRequired
        | E::ConsentRequired
        | E::AccountSelectionRequired
        | E::InteractionRequired
        | E::RequestNotSupported
        | E::RequestUriNotSupported
        | E::InsufficientScope
        | E::UnsupportedTokenType
        | E::SlowDown
        | E::PolledTooSoon
        | E::AuthorizationPending
        | E::ExpiredToken
        | E::InvalidTarget
        | E::UnmetAuthenticationRequirements
        | E::InvalidRedirectUri
        | E::InvalidClientMetadata => false,
    };
    let mut response = with_dpop_nonce(error, nonce);
    if dpop {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let challenge = dpop_challenge(error.code.as_str(), &error.description);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// `error`'s answer; a `use_dpop_nonce` one with the nonce to retry with (RFC 9449 §8.1: `DPoP-Nonce`).
pub fn with_dpop_nonce(error: &OAuthError, nonce: Option<String>) -> HttpResponse {
    let mut response = error.error_response();
    if error.code == crate::oidc::ErrorCode::UseDpopNonce
        && let Some(value) = nonce.and_then(|nonce| HeaderValue::from_str(&nonce).ok())
    {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(DPOP_NONCE), value);
    }
    response
}

/// RFC 9449 §7.1: the `DPoP` challenge with the algorithms proofs may use.
pub fn dpop_challenge(error: &str, description: &str) -> String {
    format!(
        r#"DPoP algs="{}", error="{error}", error_description="{description}""#,
        crate::tokens::dpop::SIGNING_ALGS.join(" ")
    )
}

/// OAuth endpoints answer RFC 6749 §5.2 / RFC 6750 §3 errors: `{"error", "error_description"}`, never cached.
impl ResponseError for crate::oidc::OAuthError {
    fn status_code(&self) -> StatusCode {
        use crate::oidc::ErrorCode as E;
        // Every code is listed, so a new one is a decision here.
        match self.code {
            E::InvalidClient | E::InvalidToken => StatusCode::UNAUTHORIZED,
            E::InsufficientScope => StatusCode::FORBIDDEN,
            E::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            E::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            E::SlowDown => StatusCode::TOO_MANY_REQUESTS,
            // RFC 8628 §3.5: the device flow's answers to a poll are token-endpoint errors (RFC 6749 §5.2).
            E::PolledTooSoon | E::AuthorizationPending | E::ExpiredToken => StatusCode::BAD_REQUEST,
            // RFC 9449 §5, §8: at the token endpoint; a resource answers them with 401 (`dpop_resource_error`).
            E::InvalidDpopProof | E::UseDpopNonce => StatusCode::BAD_REQUEST,
            E::InvalidRequest
            | E::InvalidGrant
            | E::UnauthorizedClient
            | E::UnsupportedGrantType
            | E::InvalidScope
            | E::AccessDenied
            | E::UnsupportedResponseType
            | E::LoginRequired
            | E::ConsentRequired
            | E::AccountSelectionRequired
            | E::InteractionRequired
            | E::RequestNotSupported
            | E::RequestUriNotSupported
            | E::UnsupportedTokenType
            | E::InvalidTarget
            | E::UnmetAuthenticationRequirements
            | E::InvalidRedirectUri
            | E::InvalidClientMetadata => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        use crate::oidc::ErrorCode as E;
        let mut response = HttpResponse::build(self.status_code());
        match (&self.cause, self.code) {
            (Some(cause), E::TemporarilyUnavailable) => {
                log_storage_outage(cause);
                response.insert_header((header::RETRY_AFTER, STORAGE_RETRY_AFTER));
            }
            (Some(cause), code) => tracing::error!(error = %cause, code = code.as_str(), "OAuth request failed"),
            (None, _) => {}
        }
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        let challenge = match self.code {
            // RFC 6749 §5.2: invalid_client answers with the scheme the client should use.
            E::InvalidClient => Some(r#"Basic realm="tessera""#.to_owned()),
            E::InvalidToken | E::InsufficientScope => Some(format!(
                r#"Bearer realm="tessera", error="{}", error_description="{}""#,
                self.code.as_str(),
                self.description
            )),
            E::InvalidRequest
            | E::InvalidGrant
            | E::UnauthorizedClient
            | E::UnsupportedGrantType
            | E::InvalidScope
            | E::AccessDenied
            | E::UnsupportedResponseType
            | E::ServerError
            | E::TemporarilyUnavailable
            | E::LoginRequired
            | E::ConsentRequired
            | E::AccountSelectionRequired
            | E::InteractionRequired
            | E::RequestNotSupported
            | E::RequestUriNotSupported
            | E::UnsupportedTokenType
            | E::SlowDown
            | E::PolledTooSoon
            | E::AuthorizationPending
            | E::ExpiredToken
            | E::InvalidTarget
            | E::UnmetAuthenticationRequirements
            | E::InvalidRedirectUri
            | E::InvalidClientMetadata
            | E::InvalidDpopProof
            | E::UseDpopNonce => None,
        };
        if let Some(challenge) = challenge
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        response.json(OAuthErrorBody {
            error: self.code.as_str(),
            error_description: &self.description,
        })
    }
}

/// Dynamic registration's refusals (RFC 7591 §3.2.2, RFC 7592 §2) in the OAuth shape. With registration off
/// the endpoints answer 404, as if they were not there.
impl ResponseError for RegistrationError {
    fn status_code(&self) -> StatusCode {
        match self {
            RegistrationError::Disabled => StatusCode::NOT_FOUND,
            RegistrationError::InvalidToken
            | RegistrationError::InvalidRedirectUri(_)
            | RegistrationError::InvalidMetadata(_)
            | RegistrationError::Store(_) => self.as_oauth().status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.as_oauth().error_response();
        *response.status_mut() = self.status_code();
        response
    }
}

impl RegistrationError {
    fn as_oauth(&self) -> OAuthError {
        use crate::oidc::ErrorCode as E;
        match self {
            Self::Disabled => OAuthError::invalid_request(self.to_string()),
            Self::InvalidToken => OAuthError::invalid_token(self.to_string()),
            Self::InvalidRedirectUri(why) => OAuthError::new(E::InvalidRedirectUri, why),
            Self::InvalidMetadata(why) => OAuthError::new(E::InvalidClientMetadata, why),
            Self::Store(StoreError::Unavailable(cause)) => StoreError::Unavailable(cause.clone()).into(),
            Self::Store(other) => OAuthError::server(other),
        }
    }
}

/// A form body an OAuth endpoint could not take.
#[derive(Debug)]
pub struct FormRejection(FormError);

impl From<FormError> for FormRejection {
    fn from(error: FormError) -> Self {
        Self(error)
    }
}

impl std::fmt::Display for FormRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl ResponseError for FormRejection {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            FormError::Body(BodyError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            FormError::Body(BodyError::TimedOut) => StatusCode::REQUEST_TIMEOUT,
            FormError::NotForm | FormError::Nul | FormError::Body(BodyError::Broken) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let description = match self.0 {
            FormError::NotForm => "the body must be application/x-www-form-urlencoded",
            FormError::Nul => "a parameter contains a NUL character",
            FormError::Body(BodyError::TooLarge) => "the request body is too large",
            FormError::Body(BodyError::TimedOut) => "the request body did not arrive in time",
            FormError::Body(BodyError::Broken) => "the request body could not be read",
        };
        let mut response = OAuthError::invalid_request(description).error_response();
        *response.status_mut() = self.status_code();
        response
    }
}
