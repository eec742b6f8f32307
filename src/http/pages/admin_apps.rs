//! `/admin/apps`: applications in the console — the list, a new one, an application's settings (budget, token
//! lifetimes, who may enter and how, code timeout, networks, idle check, PIN format), its API keys (made and
//! shown once, revoked: `admin_api_keys`) and deleting it; the settings form is read in `admin_app_settings`. The same `AppService` calls as the admin API, so the same checks and
//! audit events.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{ConfirmForm, console, console_form, console_page};
use super::{BrowserState, PageError, PageForm, see_other};
use crate::apps::api_keys::ApiKeyInfo;
use crate::apps::{AppError, AppSpec, Application, DEFAULT_SLUG};
use crate::clock::{UnixTime, rfc3339};
use crate::state::AppState;

struct AppRow {
    id: String,
    name: String,
    slug: String,
    access_mode: &'static str,
    budget: u32,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin_apps.html")]
struct AppsPage<'a> {
    section: &'static str,
    csrf: &'a str,
    apps: Vec<AppRow>,
    name: &'a str,
    slug: &'a str,
    errors: Vec<String>,
}

/// Each refused field as a sentence; anything else is the error page's.
pub(super) fn refusal(error: AppError) -> Result<Vec<String>, PageError> {
    match error {
        AppError::Validation(problems) => Ok(super::admin::field_sentences(&problems)),
        AppError::SlugTaken => Ok(vec!["slug: another application has it".into()]),
        other => Err(other.into()),
    }
}

async fn show_list(
    state: &AppState,
    browser: &BrowserState,
    form: &NewAppForm,
    errors: Vec<String>,
) -> Result<HttpResponse, PageError> {
    let apps = state.apps.list().await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let template = AppsPage {
        section: "apps",
        csrf: &browser.csrf,
        apps: apps
            .into_iter()
            .map(|app| AppRow {
                access_mode: app.policy.access_mode.as_str(),
                budget: app.rate_limit_per_minute,
                created_at: rfc3339(app.created_at),
                id: app.id,
                name: app.name,
                slug: app.slug,
            })
            .collect(),
        name: &form.name,
        slug: &form.slug,
        errors,
    };
    console_page(browser, status, &template)
}

#[derive(Default, Deserialize)]
pub struct NewAppForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
}

pub async fn get_apps(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    show_list(&state, &browser, &NewAppForm::default(), Vec::new()).await
}

pub async fn post_apps(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<NewAppForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let spec = AppSpec {
        name: Some(form.name.clone()),
        slug: (!form.slug.trim().is_empty()).then(|| form.slug.trim().to_owned()),
        ..AppSpec::default()
    };
    match state.apps.create(spec, state.clock.now()).await {
        Ok(app) => Ok(see_other(&format!("/admin/apps/{}?done=created", app.id))),
        Err(error) => show_list(&state, &browser, &form, refusal(error)?).await,
    }
}

/// An application as its page shows it.
struct AppView {
    id: String,
    name: String,
    slug: String,
    is_default: bool,
    budget: u32,
    access_ttl: i64,
    refresh_ttl: i64,
    access_mode: &'static str,
    methods: Vec<&'static str>,
    channels: Vec<&'static str>,
    providers: String,
    code_ttl: i64,
    ip_ranges: String,
    idle: String,
    pin_format: &'static str,
}

impl AppView {
    fn has_method(&self, method: &str) -> bool {
        self.methods.contains(&method)
    }

    fn has_channel(&self, channel: &str) -> bool {
        self.channels.contains(&channel)
    }
}

impl From<Application> for AppView {
    fn from(app: Application) -> Self {
        let policy = app.policy;
        Self {
            is_default: app.slug == DEFAULT_SLUG,
            budget: app.rate_limit_per_minute,
            access_ttl: app.access_token_ttl_secs,
            refresh_ttl: app.refresh_token_ttl_secs,
            access_mode: policy.access_mode.as_str(),
            methods: policy.login_methods.iter().map(|m| m.as_str()).collect(),
            channels: policy.verification_channels.iter().map(|c| c.as_str()).collect(),
            providers: policy.external_providers.join(", "),
            code_ttl: policy.code_ttl_secs,
            ip_ranges: policy
                .ip_ranges
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            idle: policy.idle_timeout_secs.map(|s| s.to_string()).unwrap_or_default(),
            pin_format: policy.pin_format.as_str(),
            id: app.id,
            name: app.name,
            slug: app.slug,
        }
    }
}

struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    created_at: String,
    expires_at: String,
    last_used: String,
    status: &'static str,
}

impl KeyRow {
    fn new(key: ApiKeyInfo, now: UnixTime) -> Self {
        Self {
            status: match (key.revoked_at, key.expires_at) {
                (Some(_), _) => "revoked",
                (None, Some(expires)) if expires <= now => "expired",
                _ => "active",
            },
            created_at: rfc3339(key.created_at),
            expires_at: key.expires_at.map(rfc3339).unwrap_or_else(|| "never".into()),
            last_used: key.last_used_at.map(rfc3339).unwrap_or_else(|| "never".into()),
            id: key.id,
            name: key.name,
            prefix: key.prefix,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_app.html")]
struct AppPage<'a> {
    section: &'static str,
    csrf: &'a str,
    app: AppView,
    keys: Vec<KeyRow>,
    notice: Option<&'static str>,
    /// Just made: shown this once.
    new_key: Option<String>,
    errors: Vec<String>,
}

/// What an application's page shows besides the application.
#[derive(Default)]
pub(super) struct Shown {
    pub(super) notice: Option<&'static str>,
    pub(super) new_key: Option<String>,
    pub(super) errors: Vec<String>,
}

pub(super) async fn show_app(
    state: &AppState,
    browser: &BrowserState,
    id: &str,
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let app = state.apps.get(id).await?;
    let now = state.clock.now();
    let keys = state.apps.list_api_keys(&app.id).await?;
    let template = AppPage {
        section: "apps",
        csrf: &browser.csrf,
        keys: keys.into_iter().map(|key| KeyRow::new(key, now)).collect(),
        app: app.into(),
        notice: shown.notice,
        new_key: shown.new_key,
        errors: shown.errors,
    };
    console_page(browser, status, &template)
}

#[derive(Deserialize)]
pub struct AppQuery {
    done: Option<String>,
}

pub async fn get_app(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<AppQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let notice = match query.done.as_deref() {
        Some("created") => Some("The application is created. Make it an API key below."),
        Some("saved") => Some("The settings are saved; they apply to the very next request."),
        Some("key_revoked") => Some("The API key is revoked: requests with it are refused from now on."),
        _ => None,
    };
    show_app(
        &state,
        &browser,
        &id,
        StatusCode::OK,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

pub async fn post_delete_app(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    if form.confirm != "yes" {
        let errors = vec!["Tick the box to confirm the deletion.".to_owned()];
        return show_app(
            &state,
            &browser,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                errors,
                ..Shown::default()
            },
        )
        .await;
    }
    match state.apps.delete(&id, state.clock.now()).await {
        Ok(()) => Ok(see_other("/admin/apps")),
        Err(error) => {
            let errors = refusal(error)?;
            show_app(
                &state,
                &browser,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Shown {
                    errors,
                    ..Shown::default()
                },
            )
            .await
        }
    }
}
