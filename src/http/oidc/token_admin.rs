//! `POST /oauth2/revoke` (RFC 7009) and `POST /oauth2/introspect` (RFC 7662): both for authenticated clients.

use actix_web::{HttpRequest, HttpResponse, web};

use super::OAuthForm;
use super::client_auth::client_credentials;
use super::token::no_store_json;
use crate::http::extract::proof_url;
use crate::oidc::OAuthError;
use crate::state::AppState;

pub async fn post_revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let params = form.0;
    let url = proof_url(&req, state.config.issuer());
    let client = state
        .oidc
        .clients
        .authenticate(&client_credentials(&req, &params)?, &url, state.clock.now())
        .await?;
    state.oidc.revoke(&client, &params, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish())
}

pub async fn post_introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let params = form.0;
    let credentials = client_credentials(&req, &params)?;
    // RFC 7662 §2.1: introspection requires authorization; public clients cannot authenticate.
    if credentials.is_public() {
        return Err(OAuthError::invalid_client());
    }
    let url = proof_url(&req, state.config.issuer());
    let client = state
        .oidc
        .clients
        .authenticate(&credentials, &url, state.clock.now())
        .await?;
    let token = params
        .get("token")
        .map_err(|_| OAuthError::invalid_request("token must not be repeated"))?
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let answer = state.oidc.introspect(&client, token, state.clock.now()).await?;
    Ok(no_store_json(&answer))
}
