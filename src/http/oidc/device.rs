//! `POST /oauth2/device_authorization` (RFC 8628 §3.1): a form body, a client authenticated as at the token
//! endpoint (or a public client by its id), a device code and a user code back.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::OAuthForm;
use super::client_auth::client_credentials;
use super::token::no_store_json;
use crate::http::rate_limit;
use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;

pub async fn post_device_authorization(
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
    // Like a token request, each spends one request of the application's budget.
    let decision = state.apps.take(&app, state.clock.now_millis()).await?;
    if !decision.allowed {
        let error = OAuthError::new(ErrorCode::SlowDown, "this application's request budget is spent");
        let mut response = error.error_response();
        rate_limit::apply(response.headers_mut(), &decision);
        return Ok(response);
    }
    let answer = state.oidc.authorize_device(&client, &params, state.clock.now()).await?;
    let mut response = no_store_json(&answer);
    rate_limit::apply(response.headers_mut(), &decision);
    Ok(response)
}
