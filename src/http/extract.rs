//! Extractors: the bearer token and the principal behind it, and JSON bodies with documented errors.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::applications::RequestApp;
use super::client_ip::request_ip;
use super::error::ApiError;
use crate::auth::Principal;
use crate::state::AppState;
use crate::tokens::TokenError;

/// Largest JSON body the REST API reads.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// JSON bodies: `application/json` only, bounded, errors in the REST shape.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BODY)
        .error_handler(|error, _req| ApiError::from_json(&error).into())
}

/// The raw token of an `Authorization: Bearer …` header, if the request has one.
pub fn bearer_token(req: &HttpRequest) -> Result<Option<&str>, TokenError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| TokenError::Invalid("The Authorization header is not readable text."))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // RFC 6750 §3.1: another scheme is the same as presenting no bearer token at all.
        return Ok(None);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Invalid("The bearer token is empty."));
    }
    Ok(Some(token))
}

/// The caller behind a valid bearer token; refuses the request otherwise.
pub struct Authenticated(pub Principal);

/// The caller behind a bearer token if one was sent; a token that was sent must be valid.
pub struct MaybeAuthenticated(pub Option<Principal>);

type PrincipalFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

async fn resolve(req: HttpRequest) -> Result<Option<Principal>, ApiError> {
    let Some(token) = bearer_token(&req)? else {
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
    let principal = state
        .auth
        .authenticate_bearer(token, &app.0, ip, state.clock.now())
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
                Err(crate::auth::AuthError::InsufficientScope(crate::auth::ADMIN_SCOPE).into())
            }
        })
    }
}
