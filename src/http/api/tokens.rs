//! `/api/v1/tokens`: the caller's private tokens, and `/api/v1/admin/users/{id}/tokens`: anyone's, for
//! administrators. A token is shown when it is made (or rotated), and never again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::{parse_time, token_response};
use crate::auth::{NewPrivateToken, PrivateTokenInfo, PrivateTokenRequest};
use crate::clock::{UnixTime, rfc3339};
use crate::http::applications::RequestApp;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::extract::{Admin, Authenticated};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    description: Option<String>,
    /// RFC 3339; required.
    expires_at: Option<String>,
    scopes: Option<Vec<String>>,
}

/// A private token as the API shows it; `token` only in the answer that made it.
#[derive(Serialize, utoipa::ToSchema)]
struct TokenBody {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    description: String,
    prefix: String,
    scopes: Vec<String>,
    application_id: String,
    /// `active`, `expired` or `revoked`.
    status: &'static str,
    created_at: String,
    expires_at: String,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
    last_used_ip: Option<String>,
}

impl TokenBody {
    fn new(info: PrivateTokenInfo, token: Option<String>, now: UnixTime) -> Self {
        let status = match info.revoked_at {
            Some(_) => "revoked",
            None if info.expires_at <= now => "expired",
            None => "active",
        };
        Self {
            id: info.id,
            token,
            description: info.description,
            prefix: info.prefix,
            scopes: info.scopes,
            application_id: info.application_id,
            status,
            created_at: rfc3339(info.created_at),
            expires_at: rfc3339(info.expires_at),
            revoked_at: info.revoked_at.map(rfc3339),
            last_used_at: info.last_used_at.map(rfc3339),
            last_used_ip: info.last_used_ip,
        }
    }

    fn created(made: NewPrivateToken, now: UnixTime) -> HttpResponse {
        token_response(StatusCode::CREATED, Self::new(made.info, Some(made.token), now))
    }
}

/// Makes a private token for the caller (a password sign-in only), for the API key's application.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "private tokens",
    summary = "Create a private token (shown once)",
    request_body = CreateTokenRequest,
    responses((status = 201, description = "Created", body = TokenBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn create_token(
    state: web::Data<AppState>,
    app: RequestApp,
    caller: Authenticated,
    body: ApiJson<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateTokenRequest {
        description,
        expires_at,
        scopes,
    } = body.into_inner();
    let request = PrivateTokenRequest {
        description,
        expires_at: expires_at.as_deref().map(|t| parse_time("expires_at", t)).transpose()?,
        scopes,
    };
    let now = state.clock.now();
    let made = state
        .auth
        .private_tokens
        .create_private_token(&caller.0, &app.0, request, now)
        .await?;
    Ok(TokenBody::created(made, now))
}

/// The caller's private tokens, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "private tokens",
    summary = "The caller's private tokens",
    responses((status = 200, description = "OK", body = Vec<TokenBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_tokens(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    list_of(&state, &caller.0.user.id).await
}

/// Revokes one of the caller's private tokens at once.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "private tokens",
    summary = "Revoke a private token",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn revoke_token(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .private_tokens
        .revoke_private_token(&caller.0.user.id, &id, "revoked_by_user", state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces one of the caller's private tokens with a new secret (same description, scopes and expiry).
#[utoipa::path(
    post,
    path = "/api/v1/tokens/{id}/rotate",
    tag = "private tokens",
    summary = "Replace a private token by a new one",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 201, description = "Created", body = TokenBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn rotate_token(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let made = state
        .auth
        .private_tokens
        .rotate_private_token(&caller.0, &id, now)
        .await?;
    Ok(TokenBody::created(made, now))
}

/// An account's private tokens (administrators).
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}/tokens",
    tag = "admin: users",
    summary = "An account's private tokens",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = Vec<TokenBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn admin_list_tokens(
    _: Admin,
    state: web::Data<AppState>,
    user: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = state.auth.accounts.find_user(&user).await?;
    list_of(&state, &user.id).await
}

/// Revokes every live private token of an account (administrators).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/tokens",
    tag = "admin: users",
    summary = "Revoke every private token of an account",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn admin_revoke_all_tokens(
    _: Admin,
    state: web::Data<AppState>,
    user: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = state.auth.accounts.find_user(&user).await?;
    state
        .auth
        .private_tokens
        .revoke_all_private_tokens(&user.id, "revoked_by_admin", state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes one private token of an account (administrators).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/tokens/{token_id}",
    tag = "admin: users",
    summary = "Revoke one private token of an account",
    params(
        ("id" = String, Path, description = "The resource's id"),
        ("token_id" = String, Path, description = "The private token's id"),
    ),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn admin_revoke_token(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user, token) = path.into_inner();
    state
        .auth
        .private_tokens
        .revoke_private_token(&user, &token, "revoked_by_admin", state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_of(state: &AppState, user_id: &str) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let tokens: Vec<TokenBody> = state
        .auth
        .private_tokens
        .list_private_tokens(user_id)
        .await?
        .into_iter()
        .map(|info| TokenBody::new(info, None, now))
        .collect();
    Ok(HttpResponse::Ok().json(tokens))
}
