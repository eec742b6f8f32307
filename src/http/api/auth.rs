//! `POST /api/v1/auth/login`, `/refresh` and `/logout`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::body::{TokenPairBody, token_response};
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    login: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

/// Signs in with a username or e-mail and a password, for the API key's application.
pub async fn login(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { login, password } = body.into_inner();
    let (Some(login), Some(password)) = (&login, &password) else {
        return Err(missing_fields(&[
            ("login", login.is_none()),
            ("password", password.is_none()),
        ]));
    };
    let pair = state
        .auth
        .login(&app.0, login, password, &client.0, state.clock.now())
        .await?;
    Ok(token_response(StatusCode::OK, TokenPairBody::from(pair)))
}

/// Exchanges a refresh token for a new pair; the presented token is spent.
pub async fn refresh(
    state: web::Data<AppState>,
    app: RequestApp,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(refresh_token) = body.into_inner().refresh_token else {
        return Err(missing_fields(&[("refresh_token", true)]));
    };
    let pair = state.auth.refresh(&refresh_token, &app.0, state.clock.now()).await?;
    Ok(token_response(StatusCode::OK, TokenPairBody::from(pair)))
}

/// Ends the caller's session and revokes every token of it.
pub async fn logout(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    state.auth.logout(&caller.0, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// 422 naming each required field that is absent (`(name, is_missing)`).
fn missing_fields(fields: &[(&'static str, bool)]) -> ApiError {
    ApiError::validation(
        fields
            .iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| (*name, "is required".to_owned())),
    )
}
