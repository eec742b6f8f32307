//! `/api/v1/admin/apps`: applications and their API keys (administrators only). A key is shown when it is
//! created, and never again.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::parse_time;
use crate::apps::api_keys::ApiKeyInfo;
use crate::apps::policy::PolicySpec;
use crate::apps::{AppSpec, Application};
use crate::clock::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::Admin;
use crate::http::extract::ApiJson;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppRequest {
    name: Option<String>,
    slug: Option<String>,
    rate_limit_per_minute: Option<u32>,
    access_token_ttl_secs: Option<i64>,
    refresh_token_ttl_secs: Option<i64>,
    access_mode: Option<String>,
    login_methods: Option<Vec<String>>,
    verification_channels: Option<Vec<String>>,
    code_ttl_secs: Option<i64>,
    /// `null` removes the home client.
    #[serde(default, deserialize_with = "present")]
    home_client_id: Option<Option<String>>,
    external_providers: Option<Vec<String>>,
    ip_ranges: Option<Vec<String>>,
    /// `null` turns the idle check off.
    #[serde(default, deserialize_with = "present")]
    idle_timeout_secs: Option<Option<i64>>,
    pin_format: Option<String>,
}

/// A field that may be sent as `null` (`Some(None)`), as opposed to left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl From<AppRequest> for AppSpec {
    fn from(request: AppRequest) -> Self {
        Self {
            name: request.name,
            slug: request.slug,
            rate_limit_per_minute: request.rate_limit_per_minute,
            access_token_ttl_secs: request.access_token_ttl_secs,
            refresh_token_ttl_secs: request.refresh_token_ttl_secs,
            policy: PolicySpec {
                access_mode: request.access_mode,
                login_methods: request.login_methods,
                verification_channels: request.verification_channels,
                code_ttl_secs: request.code_ttl_secs,
                home_client_id: request.home_client_id,
                external_providers: request.external_providers,
                ip_ranges: request.ip_ranges,
                idle_timeout_secs: request.idle_timeout_secs,
                pin_format: request.pin_format,
            },
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct AppBody {
    id: String,
    name: String,
    slug: String,
    rate_limit_per_minute: u32,
    access_token_ttl_secs: i64,
    refresh_token_ttl_secs: i64,
    access_mode: &'static str,
    login_methods: Vec<&'static str>,
    verification_channels: Vec<&'static str>,
    code_ttl_secs: i64,
    home_client_id: Option<String>,
    external_providers: Vec<String>,
    ip_ranges: Vec<String>,
    idle_timeout_secs: Option<i64>,
    pin_format: &'static str,
    created_at: String,
    updated_at: String,
}

impl From<Application> for AppBody {
    fn from(app: Application) -> Self {
        Self {
            created_at: rfc3339(app.created_at),
            updated_at: rfc3339(app.updated_at),
            id: app.id,
            name: app.name,
            slug: app.slug,
            rate_limit_per_minute: app.rate_limit_per_minute,
            access_token_ttl_secs: app.access_token_ttl_secs,
            refresh_token_ttl_secs: app.refresh_token_ttl_secs,
            access_mode: app.policy.access_mode.as_str(),
            login_methods: app.policy.login_methods.iter().map(|m| m.as_str()).collect(),
            verification_channels: app.policy.verification_channels.iter().map(|c| c.as_str()).collect(),
            code_ttl_secs: app.policy.code_ttl_secs,
            home_client_id: app.policy.home_client_id,
            ip_ranges: app.policy.ip_ranges.iter().map(ToString::to_string).collect(),
            idle_timeout_secs: app.policy.idle_timeout_secs,
            pin_format: app.policy.pin_format.as_str(),
            external_providers: app.policy.external_providers,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    name: Option<String>,
    /// RFC 3339; absent means the key does not expire.
    expires_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct KeyBody {
    id: String,
    name: String,
    prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    created_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
}

impl KeyBody {
    fn new(info: ApiKeyInfo, key: Option<String>) -> Self {
        Self {
            id: info.id,
            name: info.name,
            prefix: info.prefix,
            key,
            created_at: rfc3339(info.created_at),
            expires_at: info.expires_at.map(rfc3339),
            revoked_at: info.revoked_at.map(rfc3339),
            last_used_at: info.last_used_at.map(rfc3339),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/apps",
    tag = "admin: applications",
    summary = "Create an application",
    request_body = AppRequest,
    responses((status = 201, description = "Created", body = AppBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn create_app(
    _: Admin,
    state: web::Data<AppState>,
    body: ApiJson<AppRequest>,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.create(body.into_inner().into(), state.clock.now()).await?;
    Ok(HttpResponse::Created().json(AppBody::from(app)))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps",
    tag = "admin: applications",
    summary = "The applications",
    responses((status = 200, description = "OK", body = Vec<AppBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_apps(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let apps: Vec<AppBody> = state.apps.list().await?.into_iter().map(AppBody::from).collect();
    Ok(HttpResponse::Ok().json(apps))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}",
    tag = "admin: applications",
    summary = "An application",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = AppBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_app(_: Admin, state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(AppBody::from(state.apps.get(&id).await?)))
}

/// Changes the fields sent; a new allocation applies to the very next request.
#[utoipa::path(
    method(patch, put),
    path = "/api/v1/admin/apps/{id}",
    tag = "admin: applications",
    summary = "Change an application's settings",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = AppRequest,
    responses((status = 200, description = "OK", body = AppBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn update_app(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<AppRequest>,
) -> Result<HttpResponse, ApiError> {
    let app = state
        .apps
        .update(&id, body.into_inner().into(), state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(AppBody::from(app)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/apps/{id}",
    tag = "admin: applications",
    summary = "Delete an application",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn delete_app(_: Admin, state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    state.apps.delete(&id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/apps/{id}/api-keys",
    tag = "admin: applications",
    summary = "Create an API key (shown once)",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = KeyRequest,
    responses((status = 201, description = "Created", body = KeyBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn create_api_key(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<KeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let KeyRequest { name, expires_at } = body.into_inner();
    let expires_at = expires_at.as_deref().map(|t| parse_time("expires_at", t)).transpose()?;
    let created = state
        .apps
        .create_api_key(&id, name.as_deref().unwrap_or_default(), expires_at, state.clock.now())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(KeyBody::new(created.info, Some(created.key))))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/api-keys",
    tag = "admin: applications",
    summary = "An application's API keys",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = Vec<KeyBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_api_keys(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let keys: Vec<KeyBody> = state
        .apps
        .list_api_keys(&id)
        .await?
        .into_iter()
        .map(|info| KeyBody::new(info, None))
        .collect();
    Ok(HttpResponse::Ok().json(keys))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/apps/{id}/api-keys/{key_id}",
    tag = "admin: applications",
    summary = "Revoke an API key",
    params(
        ("id" = String, Path, description = "The resource's id"),
        ("key_id" = String, Path, description = "The API key's id"),
    ),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn revoke_api_key(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app, key) = path.into_inner();
    state.apps.revoke_api_key(&app, &key, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, utoipa::ToSchema)]
struct AccessLinkBody {
    url: String,
    svg: String,
    png: String,
}

/// The application's access link, with where its QR code is drawn.
#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/access-link",
    tag = "admin: applications",
    summary = "An application's access link",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = AccessLinkBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_access_link(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.get(&id).await?;
    let base = format!("{}/api/v1/admin/apps/{}/access-link", state.oidc.issuer(), app.id);
    Ok(HttpResponse::Ok().json(AccessLinkBody {
        url: state.oidc.access_link(&app),
        svg: format!("{base}.svg"),
        png: format!("{base}.png"),
    }))
}

/// The access link's QR code as SVG.
#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/access-link.svg",
    tag = "admin: applications",
    summary = "The access link's QR code as SVG",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", content_type = "image/svg+xml", body = String)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_access_link_svg(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.get(&id).await?;
    let svg = crate::qr::svg(&state.oidc.access_link(&app)).map_err(|e| ApiError::internal_error(&e))?;
    Ok(HttpResponse::Ok().content_type("image/svg+xml").body(svg))
}

/// The access link's QR code as PNG.
#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/access-link.png",
    tag = "admin: applications",
    summary = "The access link's QR code as PNG",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", content_type = "image/png", body = String)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_access_link_png(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.get(&id).await?;
    let png = crate::qr::png(&state.oidc.access_link(&app), 8).map_err(|e| ApiError::internal_error(&e))?;
    Ok(HttpResponse::Ok().content_type("image/png").body(png))
}
