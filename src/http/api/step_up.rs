//! `POST /api/v1/auth/step-up`: a refresh that proves the owner again (the PIN or the password) after the
//! application's idle time; `POST /api/v1/auth/activity`: the heartbeat that keeps a token family fresh. Each
//! translates into `auth` (`SignIn::step_up`, `Sessions::record_activity`), which holds the rules.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::missing_fields;
use super::body::{TokenPairBody, token_response};
use crate::auth::StepUpProof;
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Authenticated};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    refresh_token: Option<String>,
    pin: Option<String>,
    password: Option<String>,
}

/// New tokens for a refresh token whose owner proves it is them again.
#[utoipa::path(
    post,
    path = "/api/v1/auth/step-up",
    tag = "sign-in",
    summary = "Prove the PIN or password again and refresh",
    request_body = StepUpRequest,
    responses((status = 200, description = "OK", body = TokenPairBody)),
    security(("api_key" = []))
)]
pub async fn step_up(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<StepUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let StepUpRequest {
        refresh_token,
        pin,
        password,
    } = body.into_inner();
    let Some(refresh_token) = refresh_token else {
        return Err(missing_fields(&[("refresh_token", true)]));
    };
    let proof = match (&pin, &password) {
        (Some(pin), None) => StepUpProof::Pin(pin),
        (None, Some(password)) => StepUpProof::Password(password),
        (Some(_), Some(_)) => {
            return Err(ApiError::validation([(
                "pin",
                "send the PIN or the password, not both".to_owned(),
            )]));
        }
        (None, None) => return Err(missing_fields(&[("pin", true)])),
    };
    let pair = state
        .auth
        .sign_in
        .step_up(&refresh_token, &app.0, proof, &client.0, state.clock.now())
        .await?;
    Ok(token_response(StatusCode::OK, TokenPairBody::from(pair)))
}

/// The caller's token family was active now.
#[utoipa::path(
    post,
    path = "/api/v1/auth/activity",
    tag = "sign-in",
    summary = "Record the caller's activity (heartbeat)",
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn activity(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .sessions
        .record_activity(&caller.0, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
