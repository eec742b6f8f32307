//! `POST /oauth2/token` (RFC 6749 §3.2): a form body, an authenticated client, one grant.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::OAuthForm;
use super::client_auth::client_credentials;
use crate::http::client_ip::request_ip;
use crate::http::rate_limit;
use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;

pub async fn post_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let params = form.0;
    let credentials = client_credentials(&req, &params)?;
    let client = state.oidc.clients.authenticate(&credentials).await?;
    let app = state
        .apps
        .find(&client.application_id)
        .await?
        .ok_or_else(OAuthError::invalid_client)?;
    // Every token request of an application's clients spends one request of its budget.
    let decision = state.apps.take(&app, state.clock.now_millis()).await?;
    if !decision.allowed {
        let error = OAuthError::new(ErrorCode::SlowDown, "this application's request budget is spent");
        let mut response = error.error_response();
        rate_limit::apply(response.headers_mut(), &decision);
        return Ok(response);
    }
    let ip = request_ip(&req);
    let tokens = state.oidc.token(&client, &app, &params, ip, state.clock.now()).await?;
    let mut response = no_store_json(&tokens);
    rate_limit::apply(response.headers_mut(), &decision);
    Ok(response)
}

/// A JSON response that must never be cached (RFC 6749 §5.1).
pub fn no_store_json(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}
