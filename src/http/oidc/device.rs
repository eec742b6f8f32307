//! `POST /oauth2/device_authorization` (RFC 8628 §3.1): a form body, a client authenticated as at the token
//! endpoint (or a public client by its id), a device code and a user code back.

use actix_web::{HttpRequest, HttpResponse, web};

use super::OAuthForm;
use super::token::admit_client;
use crate::oidc::OAuthError;
use crate::state::AppState;

pub async fn post_device_authorization(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let params = form.0;
    // Like a token request, each spends one request of the application's budget.
    let admitted = match admit_client(&req, &state, &params).await? {
        Ok(admitted) => admitted,
        Err(spent) => return Ok(spent),
    };
    let answer = state
        .oidc
        .authorize_device(&admitted.client, &params, state.clock.now())
        .await?;
    Ok(admitted.answer(&answer))
}
