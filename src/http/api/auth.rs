//! `POST /api/v1/auth/login`, `/refresh` and `/logout`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::{TokenPairBody, token_response};
use crate::http::applications::RequestApp;
use crate::http::client_ip::{ClientAddress, client_ip};
use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    login: Option<String>,
    password: Option<String>,
    /// A private token to exchange for a short-lived access token, instead of a login and password.
    application_token: Option<String>,
}

/// The answer to an application-token exchange: an access token and nothing to refresh it with.
#[derive(Serialize)]
struct ExchangedToken {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

/// Signs in with a username or e-mail and a password, for the API key's application; or exchanges an
/// application (private) token for a short-lived access token.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        login,
        password,
        application_token,
    } = body.into_inner();
    if let Some(token) = application_token {
        if login.is_some() || password.is_some() {
            return Err(ApiError::validation([(
                "application_token",
                "is sent alone, without login and password".to_owned(),
            )]));
        }
        let ip = client_ip(&req, &state.config.server.trusted_proxies).map(|ip| ip.to_string());
        let access = state
            .auth
            .exchange_private_token(&token, &app.0, ip, state.clock.now())
            .await?;
        return Ok(token_response(
            StatusCode::OK,
            ExchangedToken {
                access_token: access.token,
                token_type: "Bearer",
                expires_in: access.expires_in,
            },
        ));
    }
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
pub(super) fn missing_fields(fields: &[(&'static str, bool)]) -> ApiError {
    ApiError::validation(
        fields
            .iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| (*name, "is required".to_owned())),
    )
}
