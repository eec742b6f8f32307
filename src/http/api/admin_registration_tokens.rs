//! `/api/v1/admin/registration-tokens`: initial access tokens for dynamic client registration (RFC 7591 §3),
//! made, listed and revoked by administrators. A token is shown when it is made, and never again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{Admin, ApiJson};
use crate::oidc::dynamic_clients::{NewRegistrationToken, RegistrationTokenInfo};
use crate::state::AppState;

/// An initial access token as the API takes it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationTokenRequest {
    /// The application (id or slug) its clients join; the default application when absent.
    application: Option<String>,
    /// What it is for (at most 200 characters).
    #[serde(default)]
    description: String,
    /// Days it lives: 1 to 365, 7 when absent.
    expires_in_days: Option<i64>,
    /// How many clients it may register; any number until it expires when absent.
    uses: Option<i64>,
}

/// An initial access token as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistrationTokenBody {
    id: String,
    application_id: String,
    description: String,
    /// Registrations it may still make; null: any number.
    uses_left: Option<i64>,
    created_at: String,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    /// The token itself (`tsi_…`), only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl RegistrationTokenBody {
    fn new(info: RegistrationTokenInfo, token: Option<String>) -> Self {
        Self {
            id: info.id,
            application_id: info.application_id,
            description: info.description,
            uses_left: info.uses_left,
            created_at: rfc3339(info.created_at),
            expires_at: rfc3339(info.expires_at),
            revoked_at: info.revoked_at.map(rfc3339),
            token,
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/registration-tokens",
    tag = "admin: clients",
    summary = "Make an initial access token for dynamic client registration (shown once)",
    request_body = RegistrationTokenRequest,
    responses((status = 201, description = "Created", body = RegistrationTokenBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn create_registration_token(
    _: Admin,
    state: web::Data<AppState>,
    body: ApiJson<RegistrationTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let new = NewRegistrationToken {
        application: request.application,
        description: request.description,
        expires_in_days: request.expires_in_days,
        uses: request.uses,
    };
    let issued = state
        .oidc
        .dynamic_clients
        .issue_registration_token(new, state.clock.now())
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(RegistrationTokenBody::new(issued.info, Some(issued.token))))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/registration-tokens",
    tag = "admin: clients",
    summary = "The initial access tokens, newest first (never the tokens themselves)",
    responses((status = 200, description = "OK", body = Vec<RegistrationTokenBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_registration_tokens(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tokens = state.oidc.dynamic_clients.registration_tokens().await?;
    let bodies: Vec<RegistrationTokenBody> = tokens
        .into_iter()
        .map(|info| RegistrationTokenBody::new(info, None))
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/registration-tokens/{id}",
    tag = "admin: clients",
    summary = "Revoke an initial access token (the clients it registered stay)",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn revoke_registration_token(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .oidc
        .dynamic_clients
        .revoke_registration_token(&id, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
