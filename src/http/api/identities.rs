//! `/api/v1/user/identities`: the caller's sign-ins through upstream providers — listed, linked and unlinked
//! (after a recent interactive sign-in; unlinking keeps another way to sign in). A link is a round trip like a
//! REST sign-in through a provider (`/link`: the flow token and the provider's URL; the browser comes back to
//! one of the application's redirect URIs with a one-time `code`; `/link/complete` with the same bearer token,
//! the flow token and the code links the identity).
//! `/api/v1/admin/users/{id}/identities`: administrators list an account's identities and link one by its
//! provider and subject (a member who will sign in through that provider).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::external::{ExternalStartBody, ExternalStartRequest, round_trip, send_upstream};
use super::sign_in::{FlowCodeRequest, flow_and_code};
use crate::auth::LinkedIdentity;
use crate::clock::rfc3339;
use crate::http::applications::RequestApp;
use crate::http::error::ApiError;
use crate::http::extract::{Admin, ApiJson, Authenticated};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
struct IdentityBody {
    id: String,
    provider: String,
    email: Option<String>,
    created_at: String,
    last_used_at: String,
}

impl From<LinkedIdentity> for IdentityBody {
    fn from(identity: LinkedIdentity) -> Self {
        Self {
            id: identity.id,
            provider: identity.provider_id,
            email: identity.email,
            created_at: rfc3339(identity.created_at),
            last_used_at: rfc3339(identity.last_used_at),
        }
    }
}

/// The caller's linked identities, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/user/identities",
    tag = "account",
    summary = "The caller's linked upstream identities",
    responses((status = 200, description = "OK", body = Vec<IdentityBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_identities(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    let identities = state.auth.accounts.identities(&caller.0).await?;
    let body: Vec<IdentityBody> = identities.into_iter().map(IdentityBody::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/user/identities/link`: begins linking an identity at a provider to the caller's account.
#[utoipa::path(
    post,
    path = "/api/v1/user/identities/link",
    tag = "account",
    summary = "Start linking an upstream identity",
    request_body = ExternalStartRequest,
    responses((status = 200, description = "OK", body = ExternalStartBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn start_link(
    state: web::Data<AppState>,
    app: RequestApp,
    caller: Authenticated,
    body: ApiJson<ExternalStartRequest>,
) -> Result<HttpResponse, ApiError> {
    let (provider, redirect_uri) = round_trip(&state, &app, body.into_inner()).await?;
    state.federation.providers.find(&provider).await?;
    let started = state
        .auth
        .sign_in
        .start_link_api(&caller.0, &app.0, state.clock.now())
        .await?;
    send_upstream(&state, &app, &provider, &redirect_uri, started, Some(&caller.0.user.id)).await
}

/// `POST /api/v1/user/identities/link/complete`: the flow token and the `code` that came back to the redirect
/// URI; the identity is linked.
#[utoipa::path(
    post,
    path = "/api/v1/user/identities/link/complete",
    tag = "account",
    summary = "Complete linking an upstream identity",
    request_body = FlowCodeRequest,
    responses((status = 201, description = "Created", body = IdentityBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn complete_link(
    state: web::Data<AppState>,
    app: RequestApp,
    caller: Authenticated,
    body: ApiJson<FlowCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, code) = flow_and_code(body.into_inner())?;
    let linked = state
        .auth
        .sign_in
        .complete_link_api(&caller.0, &token, &app.0, &code, state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(IdentityBody::from(linked)))
}

/// Unlinks one of the caller's identities.
#[utoipa::path(
    delete,
    path = "/api/v1/user/identities/{id}",
    tag = "account",
    summary = "Unlink an upstream identity",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn unlink_identity(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .accounts
        .unlink_identity(&caller.0, &id, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminLinkRequest {
    provider: Option<String>,
    /// The `sub` the provider gives the person.
    subject: Option<String>,
}

/// An account's linked identities.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}/identities",
    tag = "admin: users",
    summary = "An account's upstream identities",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = Vec<IdentityBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn admin_list_identities(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.auth.accounts.find_user(&id).await?;
    let identities = state.auth.accounts.identities_of(&id).await?;
    let body: Vec<IdentityBody> = identities.into_iter().map(IdentityBody::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Links the identity `subject` at `provider` to an account.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/identities",
    tag = "admin: users",
    summary = "Link an upstream identity to an account",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = AdminLinkRequest,
    responses((status = 201, description = "Created", body = IdentityBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn admin_link_identity(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<AdminLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let (provider, subject) = match body.into_inner() {
        AdminLinkRequest {
            provider: Some(provider),
            subject: Some(subject),
        } if !subject.trim().is_empty() => (provider, subject),
        AdminLinkRequest { provider, subject } => {
            return Err(ApiError::validation(
                [
                    ("provider", provider.is_none()),
                    ("subject", subject.as_deref().is_none_or(|s| s.trim().is_empty())),
                ]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(name, _)| (name, "is required".to_owned())),
            ));
        }
    };
    let (config, _) = state.federation.providers.find(&provider).await?;
    let linked = state
        .auth
        .accounts
        .admin_link_identity(&id, &provider, config.issuer(), subject.trim(), state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(IdentityBody::from(linked)))
}
