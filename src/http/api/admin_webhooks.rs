//! `/api/v1/admin/apps/{id}/webhooks`: an application's webhooks of audit events (administrators only). The
//! signing secret is shown when a webhook is made and when it is rotated, and never again.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{Admin, ApiJson};
use crate::state::AppState;
use crate::webhooks::{Delivery, Webhook, WebhookSpec, WithSecret};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// `https://…` (plain `http://` only with `webhooks.allow_http`).
    url: Option<String>,
    /// Audit event kinds such as `sign_in.failed`, or `["*"]` for every kind.
    events: Option<Vec<String>>,
    /// Off: nothing is sent (default on).
    enabled: Option<bool>,
    description: Option<String>,
}

impl From<WebhookRequest> for WebhookSpec {
    fn from(request: WebhookRequest) -> Self {
        Self {
            url: request.url,
            events: request.events,
            enabled: request.enabled,
            description: request.description,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct WebhookBody {
    id: String,
    application_id: String,
    url: String,
    events: Vec<&'static str>,
    enabled: bool,
    description: String,
    /// Only when the webhook is made and when its secret is rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    created_at: String,
    updated_at: String,
}

impl WebhookBody {
    fn new(webhook: Webhook, secret: Option<String>) -> Self {
        Self {
            events: webhook.events.names(),
            created_at: rfc3339(webhook.created_at),
            updated_at: rfc3339(webhook.updated_at),
            id: webhook.id,
            application_id: webhook.application_id,
            url: webhook.url,
            enabled: webhook.enabled,
            description: webhook.description,
            secret,
        }
    }

    fn with_secret(made: WithSecret) -> Self {
        Self::new(made.webhook, Some(made.secret))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryBody {
    id: String,
    event_id: String,
    event_kind: String,
    /// `pending`, `delivered` or `failed` (given up).
    status: String,
    attempts: i32,
    /// When a pending delivery is tried next.
    next_attempt_at: Option<String>,
    /// The HTTP status of the last answer.
    last_status: Option<i32>,
    /// Why the last attempt failed, or the start of the answer's body.
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Delivery> for DeliveryBody {
    fn from(delivery: Delivery) -> Self {
        Self {
            next_attempt_at: delivery.next_attempt_at.map(rfc3339),
            created_at: rfc3339(delivery.created_at),
            updated_at: rfc3339(delivery.updated_at),
            id: delivery.id,
            event_id: delivery.event_id,
            event_kind: delivery.event_kind,
            status: delivery.status,
            attempts: delivery.attempts,
            last_status: delivery.last_status,
            last_error: delivery.last_error,
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/apps/{id}/webhooks",
    tag = "admin: webhooks",
    summary = "Create a webhook (its secret shown once)",
    params(("id" = String, Path, description = "The application's id or slug")),
    request_body = WebhookRequest,
    responses((status = 201, description = "Created", body = WebhookBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn create_webhook(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<WebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let made = state
        .webhooks
        .create(&id, body.into_inner().into(), state.clock.now())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(WebhookBody::with_secret(made)))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/webhooks",
    tag = "admin: webhooks",
    summary = "An application's webhooks",
    params(("id" = String, Path, description = "The application's id or slug")),
    responses((status = 200, description = "OK", body = Vec<WebhookBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_webhooks(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let webhooks = state.webhooks.list(&id).await?;
    let body: Vec<WebhookBody> = webhooks.into_iter().map(|w| WebhookBody::new(w, None)).collect();
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/webhooks/{webhook_id}",
    tag = "admin: webhooks",
    summary = "A webhook",
    params(
        ("id" = String, Path, description = "The application's id or slug"),
        ("webhook_id" = String, Path, description = "The webhook's id"),
    ),
    responses((status = 200, description = "OK", body = WebhookBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_webhook(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app, webhook) = path.into_inner();
    let webhook = state.webhooks.get(&app, &webhook).await?;
    Ok(HttpResponse::Ok().json(WebhookBody::new(webhook, None)))
}

/// Changes the fields sent.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/apps/{id}/webhooks/{webhook_id}",
    tag = "admin: webhooks",
    summary = "Change a webhook",
    params(
        ("id" = String, Path, description = "The application's id or slug"),
        ("webhook_id" = String, Path, description = "The webhook's id"),
    ),
    request_body = WebhookRequest,
    responses((status = 200, description = "OK", body = WebhookBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn update_webhook(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: ApiJson<WebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let (app, webhook) = path.into_inner();
    let webhook = state
        .webhooks
        .update(&app, &webhook, body.into_inner().into(), state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(WebhookBody::new(webhook, None)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/apps/{id}/webhooks/{webhook_id}",
    tag = "admin: webhooks",
    summary = "Delete a webhook and its deliveries",
    params(
        ("id" = String, Path, description = "The application's id or slug"),
        ("webhook_id" = String, Path, description = "The webhook's id"),
    ),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn delete_webhook(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app, webhook) = path.into_inner();
    state.webhooks.delete(&app, &webhook, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/apps/{id}/webhooks/{webhook_id}/rotate-secret",
    tag = "admin: webhooks",
    summary = "Give a webhook a new secret (shown once)",
    params(
        ("id" = String, Path, description = "The application's id or slug"),
        ("webhook_id" = String, Path, description = "The webhook's id"),
    ),
    responses((status = 200, description = "OK", body = WebhookBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn rotate_webhook_secret(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app, webhook) = path.into_inner();
    let made = state.webhooks.rotate_secret(&app, &webhook, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(WebhookBody::with_secret(made)))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/webhooks/{webhook_id}/deliveries",
    tag = "admin: webhooks",
    summary = "A webhook's latest deliveries, newest first",
    params(
        ("id" = String, Path, description = "The application's id or slug"),
        ("webhook_id" = String, Path, description = "The webhook's id"),
    ),
    responses((status = 200, description = "OK", body = Vec<DeliveryBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_deliveries(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app, webhook) = path.into_inner();
    let deliveries = state.webhooks.deliveries(&app, &webhook).await?;
    let body: Vec<DeliveryBody> = deliveries.into_iter().map(DeliveryBody::from).collect();
    Ok(HttpResponse::Ok().json(body))
}
