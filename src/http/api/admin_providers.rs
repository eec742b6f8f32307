//! `/api/v1/admin/providers`: upstream OpenID providers (administrators only). Those of the configuration
//! file are listed but changed only there; those added here are stored with their client secret sealed, which
//! is never shown again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::config::{ProviderConfig, Secret};
use crate::federation::{ProviderSpec, Source};
use crate::http::error::ApiError;
use crate::http::extract::{Admin, ApiJson};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRequest {
    id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scopes: Option<Vec<String>>,
    email_claim: Option<String>,
    username_claim: Option<String>,
    name_claim: Option<String>,
    trusted_amr: Option<Vec<String>>,
    allowed_domains: Option<Vec<String>>,
    trust_email: Option<bool>,
}

impl From<ProviderRequest> for ProviderSpec {
    fn from(request: ProviderRequest) -> Self {
        Self {
            id: request.id,
            name: request.name,
            kind: request.kind,
            issuer: request.issuer,
            client_id: request.client_id,
            client_secret: request.client_secret.map(Secret::new),
            scopes: request.scopes,
            email_claim: request.email_claim,
            username_claim: request.username_claim,
            name_claim: request.name_claim,
            trusted_amr: request.trusted_amr,
            allowed_domains: request.allowed_domains,
            trust_email: request.trust_email,
        }
    }
}

/// A provider as the API shows it: never its secret.
#[derive(Serialize, utoipa::ToSchema)]
struct ProviderBody {
    id: String,
    name: String,
    kind: &'static str,
    issuer: String,
    client_id: String,
    scopes: Vec<String>,
    email_claim: String,
    username_claim: String,
    name_claim: String,
    trusted_amr: Vec<String>,
    allowed_domains: Vec<String>,
    trust_email: bool,
    /// `file` or `api`: where it is configured (and can be changed).
    source: &'static str,
    /// What to register at the provider as the redirect URI.
    redirect_uri: String,
}

impl ProviderBody {
    fn new(state: &AppState, provider: ProviderConfig, source: Source) -> Self {
        Self {
            name: provider.display_name().to_owned(),
            kind: provider.kind.as_str(),
            issuer: provider.issuer().to_owned(),
            redirect_uri: state.federation.redirect_uri(&provider.id),
            id: provider.id,
            client_id: provider.client_id,
            scopes: provider.scopes,
            email_claim: provider.email_claim,
            username_claim: provider.username_claim,
            name_claim: provider.name_claim,
            trusted_amr: provider.trusted_amr,
            allowed_domains: provider.allowed_domains,
            trust_email: provider.trust_email,
            source: source.as_str(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/providers",
    tag = "admin: providers",
    summary = "The upstream identity providers",
    responses((status = 200, description = "OK", body = Vec<ProviderBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_providers(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let providers = state.federation.providers.all().await?;
    let bodies: Vec<ProviderBody> = providers
        .into_iter()
        .map(|(provider, source)| ProviderBody::new(&state, provider, source))
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/providers",
    tag = "admin: providers",
    summary = "Add an upstream identity provider",
    request_body = ProviderRequest,
    responses((status = 201, description = "Created", body = ProviderBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn create_provider(
    _: Admin,
    state: web::Data<AppState>,
    body: ApiJson<ProviderRequest>,
) -> Result<HttpResponse, ApiError> {
    let provider = state
        .federation
        .providers
        .create(body.into_inner().into(), state.clock.now())
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(ProviderBody::new(&state, provider, Source::Api)))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/providers/{id}",
    tag = "admin: providers",
    summary = "An upstream identity provider",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = ProviderBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_provider(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (provider, source) = state.federation.providers.find(&id).await?;
    Ok(HttpResponse::Ok().json(ProviderBody::new(&state, provider, source)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/admin/providers/{id}",
    tag = "admin: providers",
    summary = "Change an upstream identity provider",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = ProviderRequest,
    responses((status = 200, description = "OK", body = ProviderBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn update_provider(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<ProviderRequest>,
) -> Result<HttpResponse, ApiError> {
    let provider = state
        .federation
        .providers
        .update(&id, body.into_inner().into(), state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(ProviderBody::new(&state, provider, Source::Api)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/providers/{id}",
    tag = "admin: providers",
    summary = "Remove an upstream identity provider",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn delete_provider(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.federation.providers.delete(&id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
