//! The emnify profile: `POST /api/v1/authenticate` (a username and password → `auth_token` and `refresh_token`; a
//! refresh token → a new pair, rotated as always; an application token → an `auth_token` alone), and
//! `POST /api/v1/application_token` (bearer: a private token); its `DELETE` is the native revocation (`mod.rs`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::flow::LoginStep;
use crate::auth::{Freshness, PrivateTokenRequest, TokenPair};
use crate::clock::{UnixTime, parse_rfc3339, rfc3339};
use crate::http::api::auth::NextStepBody;
use crate::http::api::body::token_response;
use crate::http::applications::RequestApp;
use crate::http::client_ip::{ClientAddress, request_ip};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Authenticated};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateRequest {
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    application_token: Option<String>,
}

#[derive(Serialize)]
struct Pair {
    auth_token: String,
    refresh_token: String,
}

impl From<TokenPair> for Pair {
    fn from(pair: TokenPair) -> Self {
        Self {
            auth_token: pair.access.token,
            refresh_token: pair.refresh_token,
        }
    }
}

#[derive(Serialize)]
struct AuthOnly {
    auth_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationTokenRequest {
    description: Option<String>,
    /// A day (`2021-10-29`: the end of that day, UTC) or an RFC 3339 time; absent: the longest allowed.
    expiry_date: Option<String>,
}

#[derive(Serialize)]
struct ApplicationToken {
    application_token: String,
    id: String,
    /// When it expires (the longest allowed when the request named no date).
    expiry_date: String,
}

/// `POST /api/v1/authenticate`: one of three ways in, by the fields sent.
pub async fn authenticate(
    req: HttpRequest,
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<AuthenticateRequest>,
) -> Result<HttpResponse, ApiError> {
    let AuthenticateRequest {
        username,
        password,
        refresh_token,
        application_token,
    } = body.into_inner();
    let now = state.clock.now();
    match (username, password, refresh_token, application_token) {
        (Some(username), Some(password), None, None) => {
            let step = state
                .auth
                .sign_in
                .login(&app.0, &username, &password, None, &client.0, now)
                .await?;
            Ok(match step {
                LoginStep::SignedIn(pair) => token_response(StatusCode::OK, Pair::from(*pair)),
                LoginStep::Next(next) => token_response(StatusCode::OK, NextStepBody::from(next)),
            })
        }
        (None, None, Some(refresh_token), None) => {
            let pair = state
                .auth
                .sessions
                .refresh(
                    &refresh_token,
                    &app.0,
                    client.0.ip,
                    Freshness::Refresh { resume: false },
                    now,
                )
                .await?;
            Ok(token_response(StatusCode::OK, Pair::from(pair)))
        }
        (None, None, None, Some(token)) => {
            let access = state
                .auth
                .private_tokens
                .exchange_private_token(&token, &app.0, request_ip(&req), now)
                .await?;
            Ok(token_response(
                StatusCode::OK,
                AuthOnly {
                    auth_token: access.token,
                },
            ))
        }
        _ => Err(ApiError::validation([(
            "username",
            "send username and password, or refresh_token, or application_token (one of the three)".to_owned(),
        )])),
    }
}

/// `POST /api/v1/application_token`: a private token of the caller (a password sign-in), for this application.
pub async fn create_application_token(
    state: web::Data<AppState>,
    app: RequestApp,
    caller: Authenticated,
    body: ApiJson<ApplicationTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let ApplicationTokenRequest {
        description,
        expiry_date,
    } = body.into_inner();
    let now = state.clock.now();
    let tokens = &state.auth.private_tokens;
    let expires_at = match expiry_date.as_deref() {
        Some(text) => parse_expiry(text)?,
        None => tokens.latest_expiry(now),
    };
    let request = PrivateTokenRequest {
        description,
        expires_at: Some(expires_at),
        scopes: None,
    };
    let made = tokens.create_private_token(&caller.0, &app.0, request, now).await?;
    Ok(token_response(
        StatusCode::OK,
        ApplicationToken {
            application_token: made.token,
            id: made.info.id,
            expiry_date: rfc3339(made.info.expires_at),
        },
    ))
}

/// A day (the last second of it, UTC) or an RFC 3339 time.
fn parse_expiry(text: &str) -> Result<UnixTime, ApiError> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &day) {
        return Ok(date.with_hms(23, 59, 59).map_or(0, |t| t.assume_utc().unix_timestamp()));
    }
    parse_rfc3339(text).ok_or_else(|| {
        ApiError::validation([(
            "expiry_date",
            "must be a day such as 2027-10-29 or an RFC 3339 time".to_owned(),
        )])
    })
}
