//! `POST /oauth2/par` (RFC 9126 §2): a form body with the authorization request, a client authenticated as at
//! the token endpoint (or a public client by its id), a one-time `request_uri` back with 201.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::OAuthForm;
use super::token::admit_client;
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
    let answer = state
        .oidc
        .push_authorization_request(&admitted.client, &params, state.clock.now())
        .await?;
    let mut response = admitted.answer(&answer);
    // RFC 9126 §2.2: a successful push answers 201 Created.
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}
