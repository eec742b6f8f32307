//! `POST /oauth2/par` (RFC 9126 §2): a form body with the authorization request, a client authenticated as at
//! the token endpoint (or a public client by its id), a one-time `request_uri` back with 201.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::OAuthForm;
use super::token::{admit_client, token_proof};
use crate::http::error::with_dpop_nonce;
use crate::http::extract::proof_url;
use crate::oidc::OAuthError;
use crate::state::AppState;

pub async fn post_pushed_authorization_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let params = form.0;
    // Like a token request, each spends one request of the application's budget (RFC 9126 §2.3: 429).
    let admitted = match admit_client(&req, &state, &params).await? {
        Ok(admitted) => admitted,
        Err(spent) => return Ok(spent),
    };
    // RFC 9449 §10.1: a DPoP proof sent with the push binds the authorization code to its key.
    let url = proof_url(&req, state.config.issuer());
    let dpop = token_proof(&req, &url)?;
    let now = state.clock.now();
    let answer = match state
        .oidc
        .push_authorization_request(&admitted.client, &params, dpop, now)
        .await
    {
        Ok(answer) => answer,
        Err(error) => return Ok(with_dpop_nonce(&error, state.auth.dpop.fresh_nonce(now))),
    };
    let mut response = admitted.answer(&answer);
    // RFC 9126 §2.2: a successful push answers 201 Created.
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}
