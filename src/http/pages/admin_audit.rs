//! `/admin/audit`: the audit log in the console, newest first, filtered by kind, actor, subject or application,
//! a page of events at a time.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{console, console_page, query_string};
use super::{PageError, see_other};
use crate::audit::{self, Query, ReadError};
use crate::clock::rfc3339;
use crate::state::AppState;
use crate::store::audit_events::AuditEventRow;

/// Events on one page of the log.
const EVENTS_PER_PAGE: i64 = 100;

struct EventRow {
    occurred_at: String,
    kind: String,
    actor_id: Option<String>,
    subject: String,
    ip: String,
    request_id: String,
    details: String,
}

impl From<AuditEventRow> for EventRow {
    fn from(row: AuditEventRow) -> Self {
        Self {
            occurred_at: rfc3339(row.occurred_at),
            subject: match (row.subject_type, row.subject_id) {
                (Some(kind), Some(id)) => format!("{kind} {id}"),
                _ => String::new(),
            },
            ip: row.ip.unwrap_or_default(),
            request_id: row.request_id.unwrap_or_default(),
            details: if row.details == "{}" {
                String::new()
            } else {
                row.details
            },
            kind: row.kind,
            actor_id: row.actor_id,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    section: &'static str,
    kind: String,
    actor: String,
    subject: String,
    application: String,
    events: Vec<EventRow>,
    older: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    application: String,
    cursor: Option<String>,
}

pub async fn get_audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let given = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
    let query = Query {
        kind: given(&params.kind),
        actor: given(&params.actor),
        subject: given(&params.subject),
        application: given(&params.application),
        cursor: params.cursor.clone(),
        limit: Some(EVENTS_PER_PAGE),
        ..Query::default()
    };
    let (events, older, error) = match audit::read(&state.db, query).await {
        Ok(page) => {
            let older = page.next.map(|cursor| {
                let filters = [
                    ("kind", params.kind.as_str()),
                    ("actor", params.actor.as_str()),
                    ("subject", params.subject.as_str()),
                    ("application", params.application.as_str()),
                    ("cursor", cursor.as_str()),
                ];
                format!("/admin/audit?{}", query_string(filters))
            });
            (page.events.into_iter().map(EventRow::from).collect(), older, None)
        }
        Err(ReadError::Invalid(problems)) => {
            let words: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            (Vec::new(), None, Some(words.join("; ")))
        }
        Err(ReadError::Store(e)) => return Err(e.into()),
    };
    let template = AuditPage {
        section: "audit",
        kind: params.kind.clone(),
        actor: params.actor.clone(),
        subject: params.subject.clone(),
        application: params.application.clone(),
        events,
        older,
        error,
    };
    console_page(&browser, StatusCode::OK, &template)
}
