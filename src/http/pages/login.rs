//! `/login`: username or e-mail and password. Failures all read the same. Success starts a new browser
//! session and resumes the authorization request that sent the user here, if any.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::browser::pending_mfa;
use super::{
    PageError, PageForm, after_password, browser_state, check_csrf, mfa, page_with_captcha, render, see_other,
};
use crate::auth::AuthError;
use crate::auth::flow::Door;
use crate::http::client_ip::ClientAddress;
use crate::http::error::LOGIN_LIMIT_MESSAGE;
use crate::notify::CaptchaError;
use crate::notify::captcha::Widget;
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
    captcha: Option<Widget>,
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
    /// The captcha widget's answer (each provider names the field its own way).
    #[serde(
        default,
        rename = "g-recaptcha-response",
        alias = "h-captcha-response",
        alias = "cf-turnstile-response"
    )]
    captcha: Option<String>,
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
    // A sign-in waiting for its second factor continues there: the password step is not a way around it.
    if let Some(token) = pending_mfa(&req, &state) {
        let binding = browser.binding();
        let place = Door::Browser(&binding);
        if state
            .auth
            .challenge_methods(&token, place, state.clock.now())
            .await
            .is_ok()
        {
            return Ok(see_other(&mfa::location(query.request.as_deref(), None, false)));
        }
    }
    let captcha = state.auth.captcha_widget();
    let mut response = page_with_captcha(StatusCode::OK, captcha.as_ref());
    browser.keep_csrf(&mut response);
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
            signup_open: state.auth.is_signup_open(),
            captcha,
        },
    )
}

/// Checks the credentials; on success signs the browser in and continues where the user came from.
pub async fn post_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let now = state.clock.now();
    let binding = browser.binding();
    let pending = match form.request.as_deref() {
        Some(id) => Some(state.oidc.pending(id, &binding, now).await.map_err(rejected)?),
        None => None,
    };
    let checked = state
        .auth
        .sign_in_with_password(&form.login, &form.password, form.captcha.as_deref(), &client.0, now)
        .await;
    let refused = match checked {
        Ok(user) => Ok(user),
        Err(AuthError::Captcha(CaptchaError::Failed(_))) => Err((StatusCode::BAD_REQUEST, CAPTCHA_FAILED)),
        Err(AuthError::Captcha(CaptchaError::Unavailable(_))) => {
            Err((StatusCode::SERVICE_UNAVAILABLE, CAPTCHA_UNAVAILABLE))
        }
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
            let captcha = state.auth.captcha_widget();
            return render(
                page_with_captcha(status, captcha.as_ref()),
                &LoginPage {
                    csrf: &browser.csrf,
                    request: form.request.as_deref(),
                    client_name: pending.as_ref().map(|p| p.client.name.as_str()),
                    login: &form.login,
                    error: Some(message),
                    signup_open: state.auth.is_signup_open(),
                    captcha,
                },
            );
        }
    };
    after_password(&state, &browser, user, pending.as_ref(), &client.0, now).await
}

/// The words of a captcha that was not solved (the same on `/signup`).
pub const CAPTCHA_FAILED: &str = "Please solve the captcha, then try again.";
/// The words of a captcha that could not be checked (the same on `/signup`).
pub const CAPTCHA_UNAVAILABLE: &str = "The captcha cannot be checked right now. Please try again in a moment.";

/// A pending request that cannot continue becomes an error page.
pub fn rejected(rejection: crate::oidc::authorize::Rejection) -> PageError {
    match rejection {
        crate::oidc::authorize::Rejection::Page(message) => PageError::bad_request(message),
        crate::oidc::authorize::Rejection::Redirect(error) => PageError::bad_request(error.error.description),
        crate::oidc::authorize::Rejection::Store(error) => error.into(),
    }
}
