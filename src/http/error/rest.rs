//! The REST API's shape: `{"code", "detail"}` with a stable snake_case code and the right status; 5xx bodies
//! are constant and the cause is logged once, here.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::http::body::BodyError;
use crate::http::outage::{STORAGE_RETRY_AFTER, log_storage_outage};
use crate::notify::{CaptchaError, NotifyError};
use crate::store::StoreError;
use crate::tokens::TokenError;

/// A REST API error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    fields: Option<BTreeMap<String, String>>,
    /// A boxed `str`, eight bytes smaller than a `String`: every `Result` carrying an `ApiError` stays small.
    www_authenticate: Option<Box<str>>,
    retry_after: Option<u64>,
    /// RFC 9449 §8: the nonce a DPoP proof must carry (`DPoP-Nonce`), boxed so every `Result` stays small.
    dpop_nonce: Option<Box<DpopNonce>>,
    /// What a step-up accepts (`step_up_required`), as bits of [`STEP_UP_PROOFS`]: one byte keeps every
    /// `Result` small.
    required: u8,
}

/// A nonce for the `DPoP-Nonce` header.
#[derive(Debug)]
struct DpopNonce(String);

/// What a step-up may be made with, in the order a `step_up_required` body lists them.
const STEP_UP_PROOFS: [&str; 3] = ["pin", "password", "sign_in"];

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<Vec<&'static str>>,
}

/// The words of a signup refused by its limits (the same on the `/signup` page).
pub fn signup_limit_message(by: crate::auth::LimitedBy) -> &'static str {
    match by {
        crate::auth::LimitedBy::Email => "Too many signup attempts for this email address. Please try again later.",
        crate::auth::LimitedBy::Ip => "Too many signup attempts from your IP address. Please try again later.",
    }
}

/// The words of a sign-in refused because its address failed too often (the same on the `/login` page).
pub const LOGIN_LIMIT_MESSAGE: &str = "Too many failed sign-in attempts from your IP address. Please try again later.";

pub(super) const INTERNAL_DETAIL: &str = "An internal error occurred. It has been logged; please try again later.";

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            fields: None,
            www_authenticate: None,
            retry_after: None,
            dpop_nonce: None,
            required: 0,
        }
    }

    /// A `401 step_up_required` naming what proves the owner again.
    pub fn step_up_required(required: Vec<&'static str>) -> Self {
        Self {
            required: STEP_UP_PROOFS
                .iter()
                .enumerate()
                .filter(|(_, proof)| required.contains(proof))
                .fold(0, |bits, (i, _)| bits | (1 << i)),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "step_up_required",
                "This application asks you to prove it is you again: send one of `required` to /api/v1/auth/step-up.",
            )
        }
    }

    /// A 5xx for a failure that is no module's error (its cause is logged, never shown).
    pub fn internal_error(cause: &dyn std::fmt::Display) -> Self {
        Self::internal(cause)
    }

    /// Whether this is the server's fault (5xx), not the request's.
    pub fn is_server_error(&self) -> bool {
        self.status.is_server_error()
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The words, with the fields a validation error names.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// 401 for a DPoP refusal (RFC 9449 §7.1): its `DPoP` challenge, and the nonce to retry with, if any.
    pub(super) fn dpop(code: &'static str, detail: &str, challenge: String, nonce: Option<String>) -> Self {
        Self {
            www_authenticate: Some(challenge.into()),
            dpop_nonce: nonce.map(|nonce| Box::new(DpopNonce(nonce))),
            ..Self::new(StatusCode::UNAUTHORIZED, code, detail)
        }
    }

    /// 429 with `Retry-After`.
    pub(super) fn too_many(code: &'static str, detail: &str, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, detail)
        }
    }

    /// A 5xx whose cause is logged and never shown.
    pub(super) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", INTERNAL_DETAIL)
    }

    /// 422 naming each invalid field.
    pub fn validation<K: Into<String>>(fields: impl IntoIterator<Item = (K, String)>) -> Self {
        let fields: BTreeMap<String, String> = fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let detail = fields
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            fields: Some(fields),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail)
        }
    }

    /// 401 for a bearer-token problem, with the RFC 6750 §3 challenge.
    pub(super) fn token(code: &'static str, detail: &str) -> Self {
        // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
        let challenge = if code == "token_missing" {
            r#"Bearer realm="tessera""#.to_owned()
        } else {
            format!(r#"Bearer realm="tessera", error="invalid_token", error_description="{detail}""#)
        };
        Self {
            www_authenticate: Some(challenge.into()),
            ..Self::new(StatusCode::UNAUTHORIZED, code, detail)
        }
    }

    /// 401 for a token whose sign-in is older than `max_age_secs` where an operation needs a fresh one, with the
    /// RFC 9470 `insufficient_user_authentication` challenge naming that `max_age`.
    pub(super) fn insufficient_user_authentication(max_age_secs: i64) -> Self {
        let detail = "This needs a recent sign-in; sign in again and retry.";
        Self {
            www_authenticate: Some(
                format!(
                    r#"Bearer realm="tessera", error="insufficient_user_authentication", error_description="{detail}", max_age={max_age_secs}"#
                )
                .into(),
            ),
            ..Self::new(StatusCode::UNAUTHORIZED, "reauthentication_required", detail)
        }
    }

    /// 403 for a token that lacks `scope`, with the RFC 6750 §3.1 `insufficient_scope` challenge.
    pub(super) fn insufficient_scope(scope: &str) -> Self {
        Self {
            www_authenticate: Some(
                format!(r#"Bearer realm="tessera", error="insufficient_scope", scope="{scope}""#).into(),
            ),
            ..Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("This requires the `{scope}` scope."),
            )
        }
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be JSON, sent with Content-Type: application/json.",
        )
    }

    /// 400: the body is not valid JSON.
    pub fn malformed_json() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "The request body is not valid JSON.",
        )
    }

    /// 422: valid JSON of the wrong shape (missing, mistyped or unknown fields).
    pub fn unexpected_fields(error: &serde_json::Error) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("The request body does not have the expected fields: {error}."),
        )
    }

    /// 400: the URL or a header cannot be taken as given (a NUL character, a repeated credential header).
    pub fn malformed_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large.",
            ),
            BodyError::TimedOut => Self::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time.",
            ),
            BodyError::Broken => Self::new(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "The request body could not be read.",
            ),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        if let Some(challenge) = &self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(challenge)
        {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if let Some(nonce) = &self.dpop_nonce
            && let Ok(value) = HeaderValue::from_str(&nonce.0)
        {
            response.insert_header((super::DPOP_NONCE, value));
        }
        response.json(ErrorBody {
            code: self.code,
            detail: &self.detail,
            fields: self.fields.as_ref(),
            required: (self.required != 0).then(|| {
                STEP_UP_PROOFS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| self.required & (1 << i) != 0)
                    .map(|(_, proof)| *proof)
                    .collect()
            }),
        })
    }
}

impl From<NotifyError> for ApiError {
    fn from(error: NotifyError) -> Self {
        match error {
            NotifyError::Disabled(channel) => Self::new(
                StatusCode::BAD_REQUEST,
                "method_unavailable",
                format!("No {channel} channel is configured on this server."),
            ),
            NotifyError::Sms(cause) => {
                tracing::error!(error = %cause, "SMS delivery failed");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "sms_delivery_failed",
                    "The text message could not be sent. Please try again later.",
                )
            }
            NotifyError::Email(cause) => {
                tracing::error!(error = %cause, "e-mail delivery failed");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "email_delivery_failed",
                    "The e-mail could not be sent. Please try again later.",
                )
            }
        }
    }
}

impl From<CaptchaError> for ApiError {
    fn from(error: CaptchaError) -> Self {
        match error {
            CaptchaError::Failed(why) => {
                tracing::warn!(reason = %why, "captcha refused");
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "captcha_failed",
                    "The captcha was not solved; please try again.",
                )
            }
            CaptchaError::Unavailable(why) => {
                tracing::error!(reason = %why, "captcha provider unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "captcha_unavailable",
                    "The captcha cannot be checked right now; please try again later.",
                )
            }
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Missing => Self::token(
                "token_missing",
                "This endpoint needs an access token: Authorization: Bearer <token>.",
            ),
            TokenError::Invalid(why) => Self::token("token_invalid", why),
            TokenError::Expired => Self::token("token_expired", "The token has expired."),
            TokenError::Revoked(why) => Self::token("token_revoked", why),
            TokenError::Key(_) => Self::internal(&error),
        }
    }
}

impl From<crate::audit::ReadError> for ApiError {
    fn from(error: crate::audit::ReadError) -> Self {
        match error {
            crate::audit::ReadError::Invalid(problems) => {
                Self::validation(problems.into_iter().map(|p| (p.field, p.message)))
            }
            crate::audit::ReadError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                log_storage_outage(&cause);
                Self {
                    retry_after: Some(STORAGE_RETRY_AFTER),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage_unavailable",
                        "The database cannot be reached right now; please try again in a few seconds.",
                    )
                }
            }
            StoreError::Duplicate(_)
            | StoreError::Connect(_)
            | StoreError::Migration(_)
            | StoreError::Corrupt(_)
            | StoreError::Panicked
            | StoreError::Query(_) => Self::internal(&error),
        }
    }
}

impl From<crate::apps::AppError> for ApiError {
    fn from(error: crate::apps::AppError) -> Self {
        use crate::apps::AppError as A;
        match error {
            A::Validation(problems) => Self::validation(problems.into_iter().map(|p| (p.field, p.message))),
            A::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "There is no such application or key.",
            ),
            A::SlugTaken => Self::new(StatusCode::CONFLICT, "slug_taken", "Another application has this slug."),
            A::Store(e) => e.into(),
        }
    }
}

/// The admin API's provider settings, and a round trip through an upstream provider (the pages answer those;
/// listed so that every variant is a decision).
impl From<crate::federation::FederationError> for ApiError {
    fn from(error: crate::federation::FederationError) -> Self {
        use crate::federation::FederationError as F;
        use StatusCode as S;
        match error {
            F::Invalid(problems) => Self::validation(problems.into_iter().map(|p| (p.field, p.message))),
            F::UnknownProvider => Self::new(S::NOT_FOUND, "not_found", "There is no such provider."),
            F::ProviderExists => Self::new(S::CONFLICT, "provider_exists", "A provider with this id exists."),
            F::ProviderInUse(apps) => Self::new(
                S::CONFLICT,
                "provider_in_use",
                format!("Applications still offer this provider: {}.", apps.join(", ")),
            ),
            F::ConfiguredInFile => Self::new(
                S::CONFLICT,
                "provider_configured_in_file",
                "This provider is configured in the configuration file; change it there.",
            ),
            F::StateInvalid | F::IssuerMismatch => Self::new(
                S::BAD_REQUEST,
                "federation_state_invalid",
                "The sign-in through the provider is unknown, expired, already used or for another provider.",
            ),
            F::Refused(_) => Self::new(S::FORBIDDEN, "federation_refused", "The provider refused the sign-in."),
            F::DomainNotAllowed => Self::new(
                S::FORBIDDEN,
                "federation_domain_not_allowed",
                "Addresses of this domain cannot sign in with this provider.",
            ),
            F::Upstream(cause) | F::IdToken(cause) => {
                tracing::warn!(%cause, "upstream provider failed");
                Self::new(
                    S::BAD_GATEWAY,
                    "federation_upstream_failed",
                    "The provider did not answer as expected.",
                )
            }
            F::Store(e) => e.into(),
            F::Internal(cause) => Self::internal(&cause),
        }
    }
}

impl From<crate::apps::api_keys::KeyError> for ApiError {
    fn from(error: crate::apps::api_keys::KeyError) -> Self {
        use crate::apps::api_keys::KeyError as K;
        match error {
            K::Missing => Self::new(
                StatusCode::UNAUTHORIZED,
                "api_key_missing",
                "This API needs the application's key in the x-api-key header.",
            ),
            K::Invalid => Self::new(
                StatusCode::UNAUTHORIZED,
                "api_key_invalid",
                "The x-api-key is unknown, revoked or expired.",
            ),
            K::OtherApplication => Self::new(
                StatusCode::FORBIDDEN,
                "api_key_wrong_application",
                "This x-api-key belongs to another application than the one this API serves.",
            ),
            K::Store(e) => e.into(),
        }
    }
}

impl From<crate::oidc::clients::ClientError> for ApiError {
    fn from(error: crate::oidc::clients::ClientError) -> Self {
        use crate::oidc::clients::ClientError as C;
        match error {
            C::Validation(problems) => Self::validation(problems.into_iter().map(|p| (p.field, p.message))),
            C::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "There is no such client."),
            C::Store(e) => e.into(),
        }
    }
}

impl From<crate::webhooks::WebhookError> for ApiError {
    fn from(error: crate::webhooks::WebhookError) -> Self {
        use crate::webhooks::WebhookError as W;
        match error {
            W::Invalid(problems) => Self::validation(problems.into_iter().map(|p| (p.field, p.message))),
            W::Application(e) => e.into(),
            W::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "There is no such webhook."),
            W::Secret(_) => Self::internal(&error),
            W::Store(e) => e.into(),
        }
    }
}
