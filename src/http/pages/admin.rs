//! `/admin`: the administrators' console — find an account, see its factors, linked sign-ins and private
//! tokens, disable or enable it, grant or take the administrator role, reset its second factors, end every
//! sign-in; and read the audit log (`admin_audit`). Only an administrator's browser session, signed in recently and with a
//! second factor when the account has one (`SecondFactors::console_access`); every change through the same
//! services as the admin REST API, so each writes its audit event.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{BrowserState, PageError, PageForm, browser_state, check_csrf, page, render, see_other};
use crate::audit::{self, Query};
use crate::auth::mfa::Method;
use crate::clock::rfc3339;
use crate::state::AppState;
use crate::store::users::User;

/// Registers the console's pages under `/admin`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin").get(get_console))
        .service(web::resource("/admin/users").get(get_users))
        .service(web::resource("/admin/users/{id}").get(get_user).post(post_user))
        .service(
            web::resource("/admin/apps")
                .get(super::admin_apps::get_apps)
                .post(super::admin_apps::post_apps),
        )
        .service(
            web::resource("/admin/apps/{id}")
                .get(super::admin_apps::get_app)
                .post(super::admin_app_settings::post_app),
        )
        .service(web::resource("/admin/apps/{id}/api-keys").post(super::admin_api_keys::post_api_key))
        .service(
            web::resource("/admin/apps/{id}/api-keys/{key_id}/revoke").post(super::admin_api_keys::post_revoke_api_key),
        )
        .service(web::resource("/admin/apps/{id}/delete").post(super::admin_apps::post_delete_app))
        .service(
            web::resource("/admin/apps/{id}/webhooks")
                .get(super::admin_webhooks::get_webhooks)
                .post(super::admin_webhooks::post_webhooks),
        )
        .service(web::resource("/admin/apps/{id}/webhooks/{webhook_id}").post(super::admin_webhooks::post_webhook))
        .service(
            web::resource("/admin/apps/{id}/webhooks/{webhook_id}/rotate").post(super::admin_webhooks::post_rotate),
        )
        .service(
            web::resource("/admin/apps/{id}/webhooks/{webhook_id}/delete").post(super::admin_webhooks::post_delete),
        )
        .service(
            web::resource("/admin/clients")
                .get(super::admin_clients::get_clients)
                .post(super::admin_clients::post_clients),
        )
        .service(
            web::resource("/admin/clients/{id}")
                .get(super::admin_clients::get_client)
                .post(super::admin_clients::post_client),
        )
        .service(web::resource("/admin/clients/{id}/secret").post(super::admin_clients::post_rotate_secret))
        .service(web::resource("/admin/clients/{id}/delete").post(super::admin_clients::post_delete_client))
        .service(
            web::resource("/admin/apps/{id}/members")
                .get(super::admin_members::get_members)
                .post(super::admin_members::post_member),
        )
        .service(web::resource("/admin/apps/{id}/members/import").post(super::admin_members::post_import))
        .service(web::resource("/admin/apps/{id}/members/{user_id}/remove").post(super::admin_members::post_remove))
        .service(web::resource("/admin/apps/{id}/invitations").post(super::admin_members::post_invite))
        .service(
            web::resource("/admin/providers")
                .get(super::admin_providers::get_providers)
                .post(super::admin_providers::post_providers),
        )
        .service(
            web::resource("/admin/providers/{id}")
                .get(super::admin_providers::get_provider)
                .post(super::admin_providers::post_provider),
        )
        .service(web::resource("/admin/providers/{id}/test").post(super::admin_providers::post_test_provider))
        .service(web::resource("/admin/providers/{id}/delete").post(super::admin_providers::post_delete_provider))
        .service(web::resource("/admin/keys").get(super::admin_keys::get_keys))
        .service(web::resource("/admin/keys/rotate").post(super::admin_keys::post_rotate))
        .service(web::resource("/admin/audit").get(super::admin_audit::get_audit));
}

/// Accounts on one page of the list.
const PER_PAGE: i64 = 50;

/// The browser of an administrator admitted to the console (see `SecondFactors::console_access`); `None`
/// when no one is signed in here, and the browser goes to the sign-in.
pub(super) async fn console(req: &HttpRequest, state: &AppState) -> Result<Option<BrowserState>, PageError> {
    let browser = browser_state(req, state).await?;
    let Some(session) = &browser.session else {
        return Ok(None);
    };
    state.auth.factors.console_access(session, state.clock.now()).await?;
    Ok(Some(browser))
}

/// [`console`] for a form: its CSRF token checked first.
pub(super) async fn console_form(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<Option<BrowserState>, PageError> {
    check_csrf(req, state, csrf)?;
    console(req, state).await
}

/// A console form that only asks "sure?": its CSRF token and the confirming tick (`yes`) where there is one.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) confirm: String,
}

/// Each refused field of a console form as the sentence the form shows above it.
pub(super) fn field_sentences(problems: &[crate::error::FieldError]) -> Vec<String> {
    problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect()
}

/// A console page: not cached, the CSRF cookie kept.
pub(super) fn console_page(
    browser: &BrowserState,
    status: StatusCode,
    template: &impl Template,
) -> Result<HttpResponse, PageError> {
    let mut response = page(status);
    response.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    browser.keep_csrf(&mut response);
    render(response, template)
}

/// `query` as a query string.
pub(super) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(name, value);
        }
    }
    serializer.finish()
}

pub async fn get_console() -> HttpResponse {
    see_other("/admin/users")
}

struct UserRow {
    id: String,
    username: String,
    email: String,
    phone: String,
    active: bool,
    admin: bool,
    created_at: String,
}

impl From<User> for UserRow {
    fn from(user: User) -> Self {
        Self {
            admin: user.scopes.split_whitespace().any(|s| s == crate::auth::ADMIN_SCOPE),
            email: user.email.unwrap_or_default(),
            phone: user.phone.unwrap_or_default(),
            created_at: rfc3339(user.created_at),
            active: user.is_active,
            username: user.username,
            id: user.id,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    section: &'static str,
    query: String,
    users: Vec<UserRow>,
    total: i64,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    query: String,
    page: Option<i64>,
}

pub async fn get_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<UsersQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let page_number = params.page.unwrap_or(1).clamp(1, 1_000_000);
    let found = state
        .auth
        .accounts
        .search(Some(&params.query), page_number, PER_PAGE)
        .await?;
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |to: i64| {
        format!(
            "/admin/users?{}",
            query_string([("query", params.query.as_str()), ("page", &to.to_string())])
        )
    };
    let template = UsersPage {
        section: "users",
        query: params.query.clone(),
        users: found.users.into_iter().map(UserRow::from).collect(),
        total: found.total,
        page: page_number,
        pages,
        previous: (page_number > 1).then(|| link(page_number - 1)),
        next: (page_number < pages).then(|| link(page_number + 1)),
    };
    console_page(&browser, StatusCode::OK, &template)
}

struct TokenRow {
    description: String,
    prefix: String,
    status: &'static str,
    expires_at: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage<'a> {
    section: &'static str,
    csrf: &'a str,
    id: &'a str,
    username: &'a str,
    email: &'a str,
    email_verified: bool,
    phone: &'a str,
    active: bool,
    admin: bool,
    plan: &'a str,
    created_at: String,
    last_sign_in: String,
    factors: Vec<&'static str>,
    has_pin: bool,
    /// (provider, address there, last used)
    identities: Vec<(String, String, String)>,
    tokens: Vec<TokenRow>,
    /// (what, started, last active) of each live sign-in.
    sign_ins: Vec<(String, String, String)>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct UserQuery {
    done: Option<String>,
}

/// What a factor is called on the page.
fn factor_name(method: Method) -> &'static str {
    match method {
        Method::Totp => "authenticator app",
        Method::RecoveryCode => "recovery codes",
        Method::Passkey => "passkeys",
        Method::Sms => "text message",
        Method::Email => "e-mail code",
    }
}

pub async fn get_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<UserQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let now = state.clock.now();
    let user = state.auth.accounts.find_user(&id).await?;
    let factors = state.auth.factors.second_factors(&user).await?;
    let identities = state.auth.accounts.identities_of(&user.id).await?;
    let tokens = state.auth.private_tokens.list_private_tokens(&user.id).await?;
    let live = state.auth.sessions.sign_ins_of(&user.id, None, now).await?;
    let browsers = live.browsers.into_iter().map(|b| {
        (
            format!("browser ({})", b.amr),
            rfc3339(b.started_at),
            rfc3339(b.last_seen_at),
        )
    });
    let families = live.families.into_iter().map(|f| {
        let what = match (f.client_name, f.application_name) {
            (Some(client), _) => format!("OAuth client {client}"),
            (None, Some(app)) => format!("REST sign-in to {app}"),
            (None, None) => "REST sign-in".to_owned(),
        };
        (
            what,
            rfc3339(f.started_at),
            f.last_active_at.map(rfc3339).unwrap_or_default(),
        )
    });
    let last = Query {
        kind: Some("sign_in.succeeded".into()),
        subject: Some(user.id.clone()),
        limit: Some(1),
        ..Query::default()
    };
    let last_sign_in = match audit::read(&state.db, last).await?.events.first() {
        Some(event) => format!(
            "{} from {}",
            rfc3339(event.occurred_at),
            event.ip.as_deref().unwrap_or("an unknown address")
        ),
        None => "never (or before the audit log's retention)".into(),
    };
    let template = UserPage {
        section: "users",
        csrf: &browser.csrf,
        id: &user.id,
        username: &user.username,
        email: user.email.as_deref().unwrap_or(""),
        email_verified: user.email_verified,
        phone: user.phone.as_deref().unwrap_or(""),
        active: user.is_active,
        admin: user.scopes.split_whitespace().any(|s| s == crate::auth::ADMIN_SCOPE),
        plan: &user.plan,
        created_at: rfc3339(user.created_at),
        last_sign_in,
        factors: factors.into_iter().map(factor_name).collect(),
        has_pin: user.pin_hash.is_some(),
        identities: identities
            .into_iter()
            .map(|i| (i.provider_id, i.email.unwrap_or_default(), rfc3339(i.last_used_at)))
            .collect(),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                status: match t.revoked_at {
                    Some(_) => "revoked",
                    None if t.expires_at <= now => "expired",
                    None => "active",
                },
                description: t.description,
                prefix: t.prefix,
                expires_at: rfc3339(t.expires_at),
                last_used: t.last_used_at.map(rfc3339).unwrap_or_else(|| "never".into()),
            })
            .collect(),
        sign_ins: browsers.chain(families).collect(),
        notice: params.done.as_deref().and_then(Action::parse).map(Action::done),
    };
    console_page(&browser, StatusCode::OK, &template)
}

/// What an administrator does to an account from its page.
#[derive(Clone, Copy)]
enum Action {
    Disable,
    Enable,
    GrantAdmin,
    RevokeAdmin,
    ResetFactors,
    EndSignIns,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            "grant_admin" => Self::GrantAdmin,
            "revoke_admin" => Self::RevokeAdmin,
            "reset_factors" => Self::ResetFactors,
            "end_sign_ins" => Self::EndSignIns,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::GrantAdmin => "grant_admin",
            Self::RevokeAdmin => "revoke_admin",
            Self::ResetFactors => "reset_factors",
            Self::EndSignIns => "end_sign_ins",
        }
    }

    /// What the page says once it is done.
    fn done(self) -> &'static str {
        match self {
            Self::Disable => "The account is disabled: its tokens stopped working.",
            Self::Enable => "The account is enabled again.",
            Self::GrantAdmin => "The account is an administrator from its next sign-in.",
            Self::RevokeAdmin => "The account is no longer an administrator.",
            Self::ResetFactors => "The second factors are reset: the person enrolls again after signing in.",
            Self::EndSignIns => "Every sign-in of the account has ended.",
        }
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

/// Does one [`Action`] to the account, then shows its page again (POST, then GET).
pub async fn post_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<ActionForm>,
) -> Result<HttpResponse, PageError> {
    if console_form(&req, &state, &form.csrf).await?.is_none() {
        return Ok(see_other("/login"));
    }
    let action = Action::parse(&form.action).ok_or_else(|| PageError::bad_request("There is no such action."))?;
    let accounts = &state.auth.accounts;
    let now = state.clock.now();
    let user = accounts.find_user(&id).await?;
    match action {
        Action::Disable | Action::Enable => {
            accounts
                .set_user_active(user, matches!(action, Action::Enable), now)
                .await?;
        }
        Action::GrantAdmin | Action::RevokeAdmin => {
            accounts
                .set_admin(user, matches!(action, Action::GrantAdmin), now)
                .await?;
        }
        Action::ResetFactors => accounts.reset_factors(&user, now).await?,
        Action::EndSignIns => {
            accounts.end_all_sign_ins(&user, now).await?;
        }
    }
    Ok(see_other(&format!("/admin/users/{}?done={}", id, action.as_str())))
}
