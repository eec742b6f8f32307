//! `POST /oauth2/par` (RFC 9126 §2): a form body with the authorization request, a client authenticated as at
//! the token endpoint (or a public client by its id), a one-time `request_uri` back with 201.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::OAuthForm;
use super::client_auth::client_credentials;
use super::token::no_store_json;
use crate::http::rate_limit;
use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;

pub async fn post_pushed_authorization_request(
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
    // Like a token request, each spends one request of the application's budget (RFC 9126 §2.3: 429).
    let decision = state.apps.take(&app, state.clock.now_millis()).await?;
    if !decision.allowed {
        let error = OAuthError::new(ErrorCode::SlowDown, "this application's request budget is spent");
        let mut response = error.error_response();
        rate_limit::apply(response.headers_mut(), &decision);
        return Ok(response);
    }
    let answer = state
        .oidc
        .push_authorization_request(&client, &params, state.clock.now())
        .await?;
    let mut response = no_store_json(&answer);
    // RFC 9126 §2.2: a successful push answers 201 Created.
    *response.status_mut() = StatusCode::CREATED;
    rate_limit::apply(response.headers_mut(), &decision);
    Ok(response)
}
