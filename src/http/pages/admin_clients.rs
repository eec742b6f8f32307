//! `/admin/clients`: OAuth clients in the console — the list, registering one (its secret shown on that one
//! response), a client's registration edited, disabled, its secret rotated (shown once), deleted. The same
//! `ClientService` calls as the admin API, so the same registration rules and audit events.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{ConfirmForm, console, console_form, console_page};
use super::{BrowserState, PageError, PageForm, see_other};
use crate::oidc::clients::{Client, ClientError, ClientSpec, RegisteredClient};
use crate::state::AppState;

/// A registration as the form holds it: lists one item a line or space-separated, checkboxes `Some`.
#[derive(Default, Deserialize)]
pub struct ClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    application: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    grant_authorization_code: Option<String>,
    grant_refresh_token: Option<String>,
    grant_client_credentials: Option<String>,
    grant_token_exchange: Option<String>,
    grant_device_code: Option<String>,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    initiate_login_uri: String,
    first_party: Option<String>,
    resource_server: Option<String>,
    require_par: Option<String>,
    #[serde(default)]
    backchannel_logout_uri: String,
    backchannel_session_required: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: String,
    #[serde(default)]
    jwks: String,
    #[serde(default)]
    id_token_alg: String,
    #[serde(default)]
    access_token_alg: String,
    public: Option<String>,
    active: Option<String>,
}

/// The algorithms the form offers for a client's tokens (those not in `keys.algorithms` are refused on save).
const SIGNING_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// The methods a confidential client may be registered with, as the form offers them.
const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
];

/// The form's values as the page shows them.
struct FormView {
    application: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grants: Vec<String>,
    scopes: String,
    initiate_login_uri: String,
    first_party: bool,
    resource_server: bool,
    require_par: bool,
    backchannel_logout_uri: String,
    backchannel_session_required: bool,
    auth_method: String,
    jwks: String,
    id_token_alg: String,
    access_token_alg: String,
    public: bool,
    active: bool,
}

impl FormView {
    fn has_grant(&self, grant: &str) -> bool {
        self.grants.iter().any(|g| g == grant)
    }
}

impl From<&ClientForm> for FormView {
    fn from(form: &ClientForm) -> Self {
        Self {
            application: form.application.clone(),
            name: form.name.clone(),
            redirect_uris: form.redirect_uris.clone(),
            post_logout_redirect_uris: form.post_logout_redirect_uris.clone(),
            grants: form
                .grants()
                .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]),
            scopes: form.scopes.clone(),
            initiate_login_uri: form.initiate_login_uri.clone(),
            first_party: form.first_party.is_some(),
            resource_server: form.resource_server.is_some(),
            require_par: form.require_par.is_some(),
            backchannel_logout_uri: form.backchannel_logout_uri.clone(),
            backchannel_session_required: form.backchannel_session_required.is_some(),
            auth_method: form.token_endpoint_auth_method.clone(),
            jwks: form.jwks.clone(),
            id_token_alg: form.id_token_alg.clone(),
            access_token_alg: form.access_token_alg.clone(),
            public: form.public.is_some(),
            active: form.active.is_some(),
        }
    }
}

impl From<&Client> for FormView {
    fn from(client: &Client) -> Self {
        Self {
            application: client.application_id.clone(),
            name: client.name.clone(),
            redirect_uris: client.redirect_uris.join("\n"),
            post_logout_redirect_uris: client.post_logout_redirect_uris.join("\n"),
            grants: client.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: client.scopes.iter().collect::<Vec<_>>().join(" "),
            initiate_login_uri: client.initiate_login_uri.clone().unwrap_or_default(),
            first_party: client.first_party,
            resource_server: client.resource_server,
            require_par: client.require_pushed_authorization_requests,
            backchannel_logout_uri: client.backchannel_logout_uri.clone().unwrap_or_default(),
            backchannel_session_required: client.backchannel_logout_session_required,
            auth_method: client.auth_method.as_str().to_owned(),
            jwks: client
                .jwks
                .as_ref()
                .and_then(|jwks| serde_json::to_string_pretty(jwks).ok())
                .unwrap_or_default(),
            id_token_alg: client.id_token_alg().as_str().to_owned(),
            access_token_alg: client.access_token_alg().as_str().to_owned(),
            public: client.is_public(),
            active: client.is_active,
        }
    }
}

/// A select's choice; none chosen leaves the default.
fn chosen(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ClientForm {
    /// The grants ticked; `None` when the form names none (a new registration's defaults then apply).
    fn grants(&self) -> Option<Vec<String>> {
        let ticked: Vec<String> = [
            (&self.grant_authorization_code, "authorization_code"),
            (&self.grant_refresh_token, "refresh_token"),
            (&self.grant_client_credentials, "client_credentials"),
            (
                &self.grant_token_exchange,
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            (&self.grant_device_code, "urn:ietf:params:oauth:grant-type:device_code"),
        ]
        .into_iter()
        .filter(|(on, _)| on.is_some())
        .map(|(_, grant)| grant.to_owned())
        .collect();
        (!ticked.is_empty()).then_some(ticked)
    }

    /// The registration this form asks for; `public` and `active` as given (a client being edited keeps
    /// its kind).
    fn spec(&self, application: String, public: bool, active: bool) -> ClientSpec {
        let scopes: Vec<String> = self.scopes.split_whitespace().map(str::to_owned).collect();
        let initiate = self.initiate_login_uri.trim();
        let backchannel = self.backchannel_logout_uri.trim();
        let method = self.token_endpoint_auth_method.trim();
        let jwks = self.jwks.trim();
        ClientSpec {
            application: Some(application),
            name: Some(self.name.clone()),
            redirect_uris: lines(&self.redirect_uris),
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            public,
            grant_types: self.grants(),
            scopes: (!scopes.is_empty()).then_some(scopes),
            token_endpoint_auth_method: (!public && !method.is_empty()).then(|| method.to_owned()),
            // Text that is not JSON is kept as a string, which the registration check refuses as no JWK Set.
            jwks: (!public && !jwks.is_empty())
                .then(|| serde_json::from_str(jwks).unwrap_or_else(|_| serde_json::Value::String(jwks.to_owned()))),
            id_token_signed_response_alg: chosen(&self.id_token_alg),
            access_token_signed_response_alg: chosen(&self.access_token_alg),
            first_party: self.first_party.is_some(),
            resource_server: self.resource_server.is_some(),
            initiate_login_uri: (!initiate.is_empty()).then(|| initiate.to_owned()),
            require_pushed_authorization_requests: self.require_par.is_some(),
            backchannel_logout_uri: (!backchannel.is_empty()).then(|| backchannel.to_owned()),
            backchannel_logout_session_required: self.backchannel_session_required.is_some(),
            is_active: Some(active),
        }
    }
}

/// Each refused field as a sentence; anything else is the error page's.
fn refusal(error: ClientError) -> Result<Vec<String>, PageError> {
    match error {
        ClientError::Validation(problems) => Ok(super::admin::field_sentences(&problems)),
        other => Err(other.into()),
    }
}

struct ClientRow {
    id: String,
    name: String,
    application: String,
    kind: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "admin_clients.html")]
struct ClientsPage<'a> {
    section: &'static str,
    csrf: &'a str,
    clients: Vec<ClientRow>,
    /// (id, name) of every application, for the registration form.
    applications: Vec<(String, String)>,
    form: FormView,
    errors: Vec<String>,
}

async fn show_list(
    state: &AppState,
    browser: &BrowserState,
    form: FormView,
    errors: Vec<String>,
) -> Result<HttpResponse, PageError> {
    let clients = state.oidc.clients.list().await?;
    let applications = state
        .apps
        .list()
        .await?
        .into_iter()
        .map(|app| (app.id, app.name))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let template = ClientsPage {
        section: "clients",
        csrf: &browser.csrf,
        clients: clients
            .into_iter()
            .map(|client| ClientRow {
                kind: if client.is_public() { "public" } else { "confidential" },
                active: client.is_active,
                id: client.id,
                name: client.name,
                application: client.application_id,
            })
            .collect(),
        applications,
        form,
        errors,
    };
    console_page(browser, status, &template)
}

pub async fn get_clients(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    show_list(&state, &browser, FormView::from(&ClientForm::default()), Vec::new()).await
}

pub async fn post_clients(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ClientForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let spec = form.spec(form.application.clone(), form.public.is_some(), true);
    match state.oidc.clients.create(spec, state.clock.now()).await {
        Ok(registered) => show_client(&browser, registered, StatusCode::CREATED, Shown::default()).await,
        Err(error) => show_list(&state, &browser, FormView::from(&*form), refusal(error)?).await,
    }
}

#[derive(Template)]
#[template(path = "admin_client.html")]
struct ClientPage<'a> {
    section: &'static str,
    csrf: &'a str,
    id: &'a str,
    auth_method: &'static str,
    public: bool,
    has_secret: bool,
    form: FormView,
    secret: Option<String>,
    notice: Option<&'static str>,
    errors: Vec<String>,
}

/// What a client's page shows besides the stored registration.
#[derive(Default)]
struct Shown {
    notice: Option<&'static str>,
    errors: Vec<String>,
    /// The form as sent, when it was refused.
    form: Option<FormView>,
}

async fn show_client(
    browser: &BrowserState,
    registered: RegisteredClient,
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let client = registered.client;
    let template = ClientPage {
        section: "clients",
        csrf: &browser.csrf,
        id: &client.id,
        auth_method: client.auth_method.as_str(),
        public: client.is_public(),
        has_secret: client.auth_method.has_secret(),
        form: shown.form.unwrap_or_else(|| FormView::from(&client)),
        secret: registered.secret,
        notice: shown.notice,
        errors: shown.errors,
    };
    console_page(browser, status, &template)
}

#[derive(Deserialize)]
pub struct ClientQuery {
    done: Option<String>,
}

pub async fn get_client(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<ClientQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let client = state.oidc.clients.get(&id).await?;
    let notice = (query.done.as_deref() == Some("saved")).then_some("The registration is saved.");
    let registered = RegisteredClient { client, secret: None };
    show_client(
        &browser,
        registered,
        StatusCode::OK,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

pub async fn post_client(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<ClientForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let client = state.oidc.clients.get(&id).await?;
    let spec = form.spec(client.application_id.clone(), client.is_public(), form.active.is_some());
    match state.oidc.clients.update(&id, spec, state.clock.now()).await {
        Ok(_) => Ok(see_other(&format!("/admin/clients/{}?done=saved", client.id))),
        Err(error) => {
            let mut view = FormView::from(&*form);
            view.application = client.application_id.clone();
            let shown = Shown {
                errors: refusal(error)?,
                form: Some(view),
                ..Shown::default()
            };
            let registered = RegisteredClient { client, secret: None };
            show_client(&browser, registered, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

/// A new secret, shown on this response only; the old one stops at once.
pub async fn post_rotate_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let registered = state.oidc.clients.rotate_secret(&id, state.clock.now()).await?;
    show_client(&browser, registered, StatusCode::OK, Shown::default()).await
}

pub async fn post_delete_client(
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
    state.oidc.clients.delete(&id, state.clock.now()).await?;
    Ok(see_other("/admin/clients"))
}
