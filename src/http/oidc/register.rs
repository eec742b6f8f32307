//! Dynamic client registration (RFC 7591 §3) at `POST /oauth2/register`, and each client's own registration
//! (RFC 7592 §2) at `GET`/`PUT`/`DELETE /oauth2/register/{client_id}`, each with its bearer token. The rules are
//! in `oidc::dynamic_clients`; this file reads JSON bodies and tokens and shapes the answers.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use super::token::no_store_json;
use crate::http::body::{FormError, has_nul, read_limited};
use crate::http::error::FormRejection;
use crate::http::extract::bearer_token;
use crate::oidc::dynamic_clients::{ClientMetadata, RegistrationError};
use crate::state::AppState;

/// Largest registration body read.
const MAX_BODY: usize = 64 * 1024;

pub async fn post_register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: MetadataBody,
) -> Result<HttpResponse, RegistrationError> {
    let token = presented_token(&req)?;
    let metadata = ClientMetadata::parse(&body.0)?;
    let registered = state
        .oidc
        .dynamic_clients
        .register(token, metadata, state.clock.now())
        .await?;
    let mut response = no_store_json(&registered);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

pub async fn get_registration(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, RegistrationError> {
    let token = presented_token(&req)?;
    let registration = state.oidc.dynamic_clients.read(&client_id, token).await?;
    Ok(no_store_json(&registration))
}

pub async fn put_registration(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
    body: MetadataBody,
) -> Result<HttpResponse, RegistrationError> {
    let token = presented_token(&req)?;
    let metadata = ClientMetadata::parse(&body.0)?;
    let registration = state
        .oidc
        .dynamic_clients
        .replace(&client_id, token, metadata, state.clock.now())
        .await?;
    Ok(no_store_json(&registration))
}

pub async fn delete_registration(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, RegistrationError> {
    let token = presented_token(&req)?;
    state
        .oidc
        .dynamic_clients
        .delete(&client_id, token, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// The bearer token of the request, if any (an unreadable header counts as a bad token).
fn presented_token(req: &HttpRequest) -> Result<Option<&str>, RegistrationError> {
    bearer_token(req).map_err(|_| RegistrationError::InvalidToken)
}

/// A JSON body of client metadata (RFC 7591 §3.1: `application/json`), bounded in size.
pub struct MetadataBody(Bytes);

impl FromRequest for MetadataBody {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let json = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
            if !json {
                return Err(RegistrationError::InvalidMetadata("the body must be application/json".into()).into());
            }
            let body = read_limited(&req, &mut payload, MAX_BODY)
                .await
                .map_err(|e| FormRejection::from(FormError::Body(e)))?;
            if has_nul(&body) {
                return Err(RegistrationError::InvalidMetadata("the body contains a NUL character".into()).into());
            }
            Ok(Self(body))
        })
    }
}
