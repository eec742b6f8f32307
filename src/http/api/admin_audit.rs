//! `/api/v1/admin/audit-events`: the audit log, newest first, filtered and paged.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;

use crate::audit::{self, Query};
use crate::clock::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::Admin;
use crate::state::AppState;
use crate::store::audit_events::AuditEventRow;

#[derive(Serialize, utoipa::ToSchema)]
struct EventBody {
    id: String,
    occurred_at: String,
    kind: String,
    actor_id: Option<String>,
    subject_type: Option<String>,
    subject_id: Option<String>,
    application_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
struct EventsBody {
    events: Vec<EventBody>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

impl From<AuditEventRow> for EventBody {
    fn from(row: AuditEventRow) -> Self {
        Self {
            details: serde_json::from_str(&row.details).unwrap_or_default(),
            occurred_at: rfc3339(row.occurred_at),
            id: row.id,
            kind: row.kind,
            actor_id: row.actor_id,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            application_id: row.application_id,
            ip: row.ip,
            user_agent: row.user_agent,
            request_id: row.request_id,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/audit-events",
    tag = "admin: audit",
    summary = "The audit log, newest first",
    params(
        ("kind" = Option<String>, Query, description = "an event name such as sign_in.failed"),
        ("actor" = Option<String>, Query, description = "the id of the account that acted"),
        ("subject" = Option<String>, Query, description = "the id of what the event is about"),
        ("application" = Option<String>, Query, description = "the id of the application"),
        ("since" = Option<String>, Query, description = "RFC 3339, events at or after this time"),
        ("until" = Option<String>, Query, description = "RFC 3339, events before this time"),
        ("cursor" = Option<String>, Query, description = "the next_cursor of the previous page"),
        ("limit" = Option<i64>, Query, description = "events per page"),
    ),
    responses((status = 200, description = "OK", body = EventsBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_events(
    _: Admin,
    state: web::Data<AppState>,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let page = audit::read(&state.db, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(EventsBody {
        events: page.events.into_iter().map(EventBody::from).collect(),
        next_cursor: page.next,
    }))
}
