//! `/admin/providers`: upstream OpenID providers in the console — the list with the redirect URI to register
//! at each, adding one, a provider's settings edited or deleted (only those added here: the configuration
//! file's are shown, and changed only there), and a test of its discovery document and keys. The same
//! `federation` calls as the admin API, so the same checks and audit events.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{ConfirmForm, console, console_form, console_page};
use super::admin_provider_form::{FormView, ProviderForm, refusal};
use super::{BrowserState, PageError, PageForm, see_other};
use crate::config::ProviderConfig;
use crate::federation::{DiscoveryTest, Source};
use crate::state::AppState;

struct ProviderRow {
    id: String,
    name: String,
    kind: &'static str,
    issuer: String,
    source: &'static str,
    redirect_uri: String,
}

#[derive(Template)]
#[template(path = "admin_providers.html")]
struct ProvidersPage<'a> {
    section: &'static str,
    csrf: &'a str,
    providers: Vec<ProviderRow>,
    form: FormView,
    notice: Option<&'static str>,
    errors: Vec<String>,
}

async fn show_list(
    state: &AppState,
    browser: &BrowserState,
    form: FormView,
    notice: Option<&'static str>,
    errors: Vec<String>,
) -> Result<HttpResponse, PageError> {
    let providers = state.federation.providers.all().await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let template = ProvidersPage {
        section: "providers",
        csrf: &browser.csrf,
        providers: providers
            .into_iter()
            .map(|(provider, source)| ProviderRow {
                name: provider.display_name().to_owned(),
                kind: provider.kind.as_str(),
                issuer: provider.issuer().to_owned(),
                source: source.as_str(),
                redirect_uri: state.federation.redirect_uri(&provider.id),
                id: provider.id,
            })
            .collect(),
        form,
        notice,
        errors,
    };
    console_page(browser, status, &template)
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn get_providers(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let notice = (query.done.as_deref() == Some("deleted")).then_some("The provider is deleted.");
    show_list(&state, &browser, FormView::blank(), notice, Vec::new()).await
}

pub async fn post_providers(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ProviderForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    match state
        .federation
        .providers
        .create(form.new_spec(), state.clock.now())
        .await
    {
        Ok(provider) => Ok(see_other(&format!("/admin/providers/{}?done=created", provider.id))),
        Err(error) => show_list(&state, &browser, FormView::from(&*form), None, refusal(error)?).await,
    }
}

#[derive(Template)]
#[template(path = "admin_provider.html")]
struct ProviderPage<'a> {
    section: &'static str,
    csrf: &'a str,
    id: &'a str,
    display_name: &'a str,
    kind: &'static str,
    issuer: &'a str,
    client_id: &'a str,
    redirect_uri: String,
    /// Configured in the file: shown, never changed here.
    in_file: bool,
    form: FormView,
    test: Option<DiscoveryTest>,
    notice: Option<&'static str>,
    errors: Vec<String>,
}

/// What a provider's page shows besides its stored settings.
#[derive(Default)]
struct Shown {
    notice: Option<&'static str>,
    errors: Vec<String>,
    /// The form as sent, when it was refused.
    form: Option<FormView>,
    test: Option<DiscoveryTest>,
}

fn show_provider(
    state: &AppState,
    browser: &BrowserState,
    (provider, source): (ProviderConfig, Source),
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let template = ProviderPage {
        section: "providers",
        csrf: &browser.csrf,
        id: &provider.id,
        display_name: provider.display_name(),
        kind: provider.kind.as_str(),
        issuer: provider.issuer(),
        client_id: &provider.client_id,
        redirect_uri: state.federation.redirect_uri(&provider.id),
        in_file: source == Source::File,
        form: shown.form.unwrap_or_else(|| FormView::from(&provider)),
        test: shown.test,
        notice: shown.notice,
        errors: shown.errors,
    };
    console_page(browser, status, &template)
}

pub async fn get_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let found = state.federation.providers.find(&id).await?;
    let notice = match query.done.as_deref() {
        Some("created") => Some("The provider is added. Register the redirect URI below at the provider."),
        Some("saved") => Some("The settings are saved."),
        _ => None,
    };
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    show_provider(&state, &browser, found, StatusCode::OK, shown)
}

pub async fn post_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<ProviderForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    match state
        .federation
        .providers
        .update(&id, form.edit_spec(), state.clock.now())
        .await
    {
        Ok(provider) => Ok(see_other(&format!("/admin/providers/{}?done=saved", provider.id))),
        Err(error) => {
            let errors = refusal(error)?;
            let found = state.federation.providers.find(&id).await?;
            let mut view = FormView::from(&*form);
            view.id = found.0.id.clone();
            let shown = Shown {
                errors,
                form: Some(view),
                ..Shown::default()
            };
            show_provider(&state, &browser, found, StatusCode::UNPROCESSABLE_ENTITY, shown)
        }
    }
}

/// Fetches the provider's discovery document and keys now and shows what came (or why nothing did).
pub async fn post_test_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let test = state.federation.test_discovery(&id).await?;
    let found = state.federation.providers.find(&id).await?;
    let shown = Shown {
        test: Some(test),
        ..Shown::default()
    };
    show_provider(&state, &browser, found, StatusCode::OK, shown)
}

pub async fn post_delete_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    if console_form(&req, &state, &form.csrf).await?.is_none() {
        return Ok(see_other("/login"));
    }
    if form.confirm != "yes" {
        return Err(PageError::bad_request("Tick the box to confirm the deletion."));
    }
    state.federation.providers.delete(&id, state.clock.now()).await?;
    Ok(see_other("/admin/providers?done=deleted"))
}
