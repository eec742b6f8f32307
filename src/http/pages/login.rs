//! `/login`: username or e-mail and password. Failures all read the same. Success starts a new browser
//! session and resumes the authorization request that sent the user here, if any.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{PageError, browser_state, check_csrf, finish_sign_in, page, render, see_other};
use crate::auth::AuthError;
use crate::config::UserCreateScope;
use crate::http::client_ip::ClientAddress;
use crate::http::error::LOGIN_LIMIT_MESSAGE;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    request: Option<&'a str>,
    client_name: Option<&'a str>,
    login: &'a str,
    error: Option<&'a str>,
    signup_open: bool,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    request: Option<String>,
}

/// The sign-in form (pre-filled with `login_hint`, naming the client).
pub async fn get_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let pending = match query.request.as_deref() {
        Some(id) => Some(
            state
                .oidc
                .pending(id, &browser.binding(), state.clock.now())
                .await
                .map_err(rejected)?,
        ),
        None if browser.session.is_some() => return Ok(see_other("/account")),
        None => None,
    };
    let mut response = page(StatusCode::OK);
    if let Some(cookie) = &browser.new_csrf_cookie {
        response.cookie(cookie.clone());
    }
    render(
        response,
        &LoginPage {
            csrf: &browser.csrf,
            request: pending.as_ref().map(|p| p.id.as_str()),
            client_name: pending.as_ref().map(|p| p.client.name.as_str()),
            login: pending
                .as_ref()
                .and_then(|p| p.request.login_hint.as_deref())
                .unwrap_or_default(),
            error: None,
            signup_open: state.config.user_create_scope == UserCreateScope::Public,
        },
    )
}

/// Checks the credentials; on success signs the browser in and continues where the user came from.
pub async fn post_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let now = state.clock.now();
    let binding = browser.binding();
    let pending = match form.request.as_deref() {
        Some(id) => Some(state.oidc.pending(id, &binding, now).await.map_err(rejected)?),
        None => None,
    };
    let refused = match state
        .auth
        .check_password(&form.login, &form.password, &client.0, now)
        .await
    {
        Ok(user) => Ok(user),
        Err(AuthError::InvalidCredentials) => Err((
            StatusCode::UNAUTHORIZED,
            "The username, e-mail or password is incorrect.",
        )),
        Err(AuthError::LoginRateLimited(_)) => Err((StatusCode::TOO_MANY_REQUESTS, LOGIN_LIMIT_MESSAGE)),
        Err(other) => return Err(other.into()),
    };
    let user = match refused {
        Ok(user) => user,
        Err((status, message)) => {
            return render(
                page(status),
                &LoginPage {
                    csrf: &browser.csrf,
                    request: form.request.as_deref(),
                    client_name: pending.as_ref().map(|p| p.client.name.as_str()),
                    login: &form.login,
                    error: Some(message),
                    signup_open: state.config.user_create_scope == UserCreateScope::Public,
                },
            );
        }
    };
    finish_sign_in(&state, &browser, user, pending.as_ref(), now).await
}

/// A pending request that cannot continue becomes an error page.
pub fn rejected(rejection: crate::oidc::authorize::Rejection) -> PageError {
    match rejection {
        crate::oidc::authorize::Rejection::Page(message) => PageError::bad_request(message),
        crate::oidc::authorize::Rejection::Redirect(error) => PageError::bad_request(error.error.description),
    }
}
