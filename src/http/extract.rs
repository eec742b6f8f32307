//! Extractors: the bearer (or DPoP-bound) token and the principal behind it, and JSON bodies with documented
//! errors.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::applications::RequestApp;
use super::body::{has_content_type, read_limited};
use super::client_ip::request_ip;
use super::error::ApiError;
use crate::auth::{Principal, PrivateTokenError};
use crate::state::AppState;
use crate::tokens::TokenError;
use crate::tokens::dpop::{DpopError, Presentation, ProofTarget};

/// Largest JSON body the REST API reads.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A REST request's JSON body as `T`: `application/json` only, at most [`MAX_JSON_BODY`], read within the
/// body timeout. Malformed JSON is `400 malformed_json` whatever fields it names (the syntax is checked
/// before the shape); a string holding a NUL character is `422` naming the field; wrong or unknown fields
/// are `422 validation_failed`.
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !has_content_type(&req, "application/json") {
                return Err(ApiError::unsupported_media_type());
            }
            let bytes = read_limited(&req, &mut payload, MAX_JSON_BODY).await?;
            serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(|_| ApiError::malformed_json())?;
            // In JSON a NUL can only arrive escaped; look closer only then.
            if bytes.windows(6).any(|w| w == b"\\u0000") {
                let value: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|_| ApiError::malformed_json())?;
                if let Some(field) = nul_in(&value, None) {
                    return Err(ApiError::validation([(
                        field,
                        "must not contain NUL characters".to_owned(),
                    )]));
                }
            }
            // Typed straight from the bytes, so a repeated field is refused as serde refuses it.
            serde_json::from_slice(&bytes)
                .map(ApiJson)
                .map_err(|e| ApiError::unexpected_fields(&e))
        })
    }
}

/// A JSON body that may be left out entirely (no body, no content type): `None` then; otherwise exactly as
/// [`ApiJson`].
pub struct OptionalApiJson<T>(pub Option<T>);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for OptionalApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let absent = req.headers().get(actix_web::http::header::CONTENT_TYPE).is_none()
            && req
                .headers()
                .get(actix_web::http::header::CONTENT_LENGTH)
                .is_none_or(|length| length.as_bytes() == b"0");
        if absent {
            return Box::pin(async { Ok(Self(None)) });
        }
        let body = ApiJson::<T>::from_request(req, payload);
        Box::pin(async move { Ok(Self(Some(body.await?.0))) })
    }
}

/// The top-level field of `value` whose text (or key) holds a NUL character, if any (`body` for a value that
/// is no object, or a field whose name is itself the problem).
fn nul_in(value: &serde_json::Value, field: Option<&str>) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) if text.contains('\0') => Some(field.unwrap_or("body").to_owned()),
        Value::Array(items) => items.iter().find_map(|item| nul_in(item, field)),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some("body".to_owned())
            } else {
                nul_in(item, field.or(Some(key)))
            }
        }),
        _ => None,
    }
}

/// A credential header sent more than once: which of two credentials would count cannot be told, so the
/// request is refused, like a repeated form parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedHeader(pub &'static str);

/// The request's one `name` header; an error when it came more than once.
pub fn single_header<'a>(
    req: &'a HttpRequest,
    name: &'static str,
) -> Result<Option<&'a header::HeaderValue>, RepeatedHeader> {
    let mut values = req.headers().get_all(name);
    match (values.next(), values.next()) {
        (Some(_), Some(_)) => Err(RepeatedHeader(name)),
        (value, _) => Ok(value),
    }
}

/// The scheme an access token came with in the `Authorization` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenScheme {
    /// RFC 6750.
    Bearer,
    /// RFC 9449 §7.1: a DPoP-bound token, with a proof in the `DPoP` header.
    Dpop,
}

/// The raw token of an `Authorization: Bearer …` or `Authorization: DPoP …` header and its scheme, if the
/// request has one.
pub fn authorization_token(req: &HttpRequest) -> Result<Option<(&str, TokenScheme)>, TokenError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| TokenError::Invalid("The Authorization header is not readable text."))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        TokenScheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        TokenScheme::Dpop
    } else {
        // RFC 6750 §3.1: another scheme is the same as presenting no token at all.
        return Ok(None);
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Invalid("The bearer token is empty."));
    }
    Ok(Some((token, scheme)))
}

/// The raw token of an `Authorization: Bearer …` header, if the request has one.
pub fn bearer_token(req: &HttpRequest) -> Result<Option<&str>, TokenError> {
    Ok(authorization_token(req)?.and_then(|(token, scheme)| (scheme == TokenScheme::Bearer).then_some(token)))
}

/// The request's one `DPoP` header (RFC 9449 §4.3 check 1: exactly one), if any.
pub fn dpop_proof(req: &HttpRequest) -> Result<Option<&str>, DpopError> {
    single_header(req, "dpop")
        .map_err(|_| DpopError::InvalidProof("The DPoP header must not be repeated."))?
        .map(|value| {
            value
                .to_str()
                .map_err(|_| DpopError::InvalidProof("The DPoP header is not readable text."))
        })
        .transpose()
}

/// The URL a DPoP proof for this request names (`htu`): the issuer (as the endpoints in discovery are named)
/// and the request's path.
pub fn proof_url(req: &HttpRequest, issuer: &str) -> String {
    format!("{}{}", issuer.trim_end_matches('/'), req.path())
}

/// The caller behind a valid bearer token; refuses the request otherwise.
pub struct Authenticated(pub Principal);

/// The caller behind a bearer token if one was sent; a token that was sent must be valid.
pub struct MaybeAuthenticated(pub Option<Principal>);

type PrincipalFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

async fn resolve(req: HttpRequest) -> Result<Option<Principal>, ApiError> {
    let Some((token, scheme)) = authorization_token(&req)? else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::from(TokenError::Key("application state is missing".into())))?;
    let app = req
        .extensions()
        .get::<RequestApp>()
        .cloned()
        .ok_or_else(|| ApiError::from(TokenError::Key("no application resolved for this request".into())))?;
    let ip = request_ip(&req);
    let url = proof_url(&req, state.config.issuer());
    let presentation = match scheme {
        TokenScheme::Bearer => Presentation::Bearer,
        TokenScheme::Dpop => Presentation::Dpop {
            proof: dpop_proof(&req)?,
            target: ProofTarget {
                method: req.method().as_str(),
                url: &url,
            },
        },
    };
    let principal = state
        .auth
        .sessions
        .authenticate_bearer(token, presentation, &app.0, ip, state.clock.now())
        .await?;
    Ok(Some(principal))
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = PrincipalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            resolve(req)
                .await?
                .map(Authenticated)
                .ok_or_else(|| TokenError::Missing.into())
        })
    }
}

impl FromRequest for MaybeAuthenticated {
    type Error = ApiError;
    type Future = PrincipalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(req).await.map(MaybeAuthenticated) })
    }
}

/// An administrator: a valid bearer token whose token and account both hold the `admin` scope.
pub struct Admin(pub Principal);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = PrincipalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let principal = resolve(req).await?.ok_or(TokenError::Missing)?;
            if principal.is_admin() {
                Ok(Admin(principal))
            } else {
                Err(PrivateTokenError::InsufficientScope(crate::auth::ADMIN_SCOPE).into())
            }
        })
    }
}
