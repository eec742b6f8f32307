//! `/admin/apps/{id}/webhooks`: an application's webhooks in the console — the list with each one's latest
//! deliveries, a new one (its secret shown on that one response), changing its URL, kinds, description and
//! whether it is on, rotating its secret, deleting it. The same `Webhooks` calls as the admin API, so the same
//! checks and audit events.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{ConfirmForm, console, console_form, console_page, field_sentences};
use super::{BrowserState, PageError, PageForm, see_other};
use crate::audit::Kind;
use crate::clock::rfc3339;
use crate::state::AppState;
use crate::webhooks::{Delivery, WebhookError, WebhookSpec};

/// Deliveries shown under each webhook.
const DELIVERIES_SHOWN: usize = 10;

struct DeliveryRow {
    created_at: String,
    event_kind: String,
    status: String,
    attempts: i32,
    last_answer: String,
    next_attempt: String,
}

impl From<Delivery> for DeliveryRow {
    fn from(delivery: Delivery) -> Self {
        let last_answer = match (delivery.last_status, delivery.last_error) {
            (Some(status), Some(text)) => format!("{status}: {text}"),
            (Some(status), None) => status.to_string(),
            (None, Some(text)) => text,
            (None, None) => String::new(),
        };
        Self {
            created_at: rfc3339(delivery.created_at),
            event_kind: delivery.event_kind,
            status: delivery.status,
            attempts: delivery.attempts,
            last_answer,
            next_attempt: delivery.next_attempt_at.map(rfc3339).unwrap_or_default(),
        }
    }
}

struct WebhookRow {
    id: String,
    url: String,
    events: String,
    description: String,
    enabled: bool,
    created_at: String,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "admin_webhooks.html")]
struct WebhooksPage<'a> {
    section: &'static str,
    csrf: &'a str,
    app_id: &'a str,
    app_name: &'a str,
    webhooks: Vec<WebhookRow>,
    kinds: Vec<&'static str>,
    notice: Option<&'static str>,
    /// Just made: shown this once.
    secret: Option<String>,
    errors: Vec<String>,
    form_url: &'a str,
    form_events: &'a str,
    form_description: &'a str,
}

/// What the page shows besides the webhooks.
#[derive(Default)]
struct Shown<'a> {
    notice: Option<&'static str>,
    secret: Option<String>,
    errors: Vec<String>,
    /// The new-webhook form as it was sent, when it was refused.
    form: Option<&'a WebhookForm>,
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    app_id: &str,
    status: StatusCode,
    shown: Shown<'_>,
) -> Result<HttpResponse, PageError> {
    let app = state.apps.get(app_id).await?;
    let mut webhooks = Vec::new();
    for webhook in state.webhooks.list(&app.id).await? {
        let mut deliveries = state.webhooks.deliveries(&app.id, &webhook.id).await?;
        deliveries.truncate(DELIVERIES_SHOWN);
        webhooks.push(WebhookRow {
            events: webhook.events.names().join(" "),
            created_at: rfc3339(webhook.created_at),
            deliveries: deliveries.into_iter().map(DeliveryRow::from).collect(),
            id: webhook.id,
            url: webhook.url,
            description: webhook.description,
            enabled: webhook.enabled,
        });
    }
    let template = WebhooksPage {
        section: "apps",
        csrf: &browser.csrf,
        app_id: &app.id,
        app_name: &app.name,
        webhooks,
        kinds: Kind::ALL.iter().map(|kind| kind.as_str()).collect(),
        notice: shown.notice,
        secret: shown.secret,
        errors: shown.errors,
        form_url: shown.form.map_or("", |form| form.url.as_str()),
        form_events: shown.form.map_or("", |form| form.events.as_str()),
        form_description: shown.form.map_or("", |form| form.description.as_str()),
    };
    console_page(browser, status, &template)
}

/// Each refused field as a sentence; anything else is the error page's.
fn refusal(error: WebhookError) -> Result<Vec<String>, PageError> {
    match error {
        WebhookError::Invalid(problems) => Ok(field_sentences(&problems)),
        other => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct WebhooksQuery {
    done: Option<String>,
}

pub async fn get_webhooks(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<WebhooksQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let notice = match query.done.as_deref() {
        Some("saved") => Some("The webhook is saved."),
        Some("deleted") => Some("The webhook and its deliveries are deleted."),
        _ => None,
    };
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    show(&state, &browser, &id, StatusCode::OK, shown).await
}

#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    events: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    enabled: String,
}

impl WebhookForm {
    fn spec(&self, enabled: Option<bool>) -> WebhookSpec {
        WebhookSpec {
            url: Some(self.url.clone()),
            events: Some(
                self.events
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            enabled,
            description: Some(self.description.clone()),
        }
    }
}

/// Makes a webhook and shows its secret on this response only (never in a URL, never again).
pub async fn post_webhooks(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<WebhookForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let (status, shown) = match state.webhooks.create(&id, form.spec(None), state.clock.now()).await {
        Ok(made) => (
            StatusCode::CREATED,
            Shown {
                notice: Some("The webhook is created; it is sent the events that happen from now on."),
                secret: Some(made.secret),
                ..Shown::default()
            },
        ),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                errors: refusal(error)?,
                form: Some(&form.0),
                ..Shown::default()
            },
        ),
    };
    show(&state, &browser, &id, status, shown).await
}

/// Changes a webhook from its form, then shows the page again (POST, then GET).
pub async fn post_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: PageForm<WebhookForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let (app, webhook) = path.into_inner();
    let spec = form.spec(Some(form.enabled == "on"));
    match state.webhooks.update(&app, &webhook, spec, state.clock.now()).await {
        Ok(_) => Ok(see_other(&format!("/admin/apps/{app}/webhooks?done=saved"))),
        Err(error) => {
            let shown = Shown {
                errors: refusal(error)?,
                ..Shown::default()
            };
            show(&state, &browser, &app, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

/// Gives a webhook a new secret and shows it on this response only.
pub async fn post_rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: PageForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let (app, webhook) = path.into_inner();
    let made = state.webhooks.rotate_secret(&app, &webhook, state.clock.now()).await?;
    let shown = Shown {
        notice: Some("The secret is rotated: deliveries are signed with the new one from now on."),
        secret: Some(made.secret),
        ..Shown::default()
    };
    show(&state, &browser, &app, StatusCode::OK, shown).await
}

pub async fn post_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: PageForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let (app, webhook) = path.into_inner();
    if form.confirm != "yes" {
        let shown = Shown {
            errors: vec!["Tick the box to confirm the deletion.".to_owned()],
            ..Shown::default()
        };
        return show(&state, &browser, &app, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    state.webhooks.delete(&app, &webhook, state.clock.now()).await?;
    Ok(see_other(&format!("/admin/apps/{app}/webhooks?done=deleted")))
}
