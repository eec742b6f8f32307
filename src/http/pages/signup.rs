//! `/signup`: the same account rules as `POST /api/v1/users`; closed when sign-up is restricted to
//! administrators. A new account is signed in and continues the authorization request, if any.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::login::{CAPTCHA_FAILED, CAPTCHA_UNAVAILABLE};
use super::{
    PageError, PageForm, SignInContext, after_password, browser_state, check_csrf, page_with_captcha,
    progress_response, render,
};
use crate::auth::{AccountError, AuthError, NewAccount};
use crate::http::client_ip::ClientAddress;
use crate::http::error::signup_limit_message;
use crate::notify::CaptchaError;
use crate::notify::captcha::Widget;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    csrf: &'a str,
    request: Option<&'a str>,
    client_name: Option<&'a str>,
    username: &'a str,
    email: &'a str,
    errors: Vec<(&'a str, String)>,
    min_password: usize,
    captcha: Option<Widget>,
}

#[derive(Deserialize)]
pub struct SignupQuery {
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    request: Option<String>,
    #[serde(
        default,
        rename = "g-recaptcha-response",
        alias = "h-captcha-response",
        alias = "cf-turnstile-response"
    )]
    captcha: Option<String>,
}

fn closed(state: &AppState, context: &SignInContext) -> Result<(), PageError> {
    if state.auth.accounts.signup_allowed(&context.app) {
        Ok(())
    } else {
        Err(PageError::forbidden(
            "Accounts are created by an administrator here; sign-up is closed.",
        ))
    }
}

pub async fn get_signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SignupQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let context = SignInContext::load(&state, &browser.binding(), query.request.as_deref(), None).await?;
    closed(&state, &context)?;
    let pending = context.pending.as_ref();
    let captcha = state.auth.credentials.captcha_widget();
    let mut response = page_with_captcha(StatusCode::OK, captcha.as_ref());
    browser.keep_csrf(&mut response);
    render(
        response,
        &SignupPage {
            csrf: &browser.csrf,
            request: pending.map(|p| p.id.as_str()),
            client_name: pending.map(|p| p.client.name.as_str()),
            username: "",
            email: "",
            errors: Vec::new(),
            min_password: state.config.password.min_length,
            captcha,
        },
    )
}

pub async fn post_signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<SignupForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let now = state.clock.now();
    let binding = browser.binding();
    let context = SignInContext::load(&state, &binding, form.request.as_deref(), None).await?;
    closed(&state, &context)?;
    let pending = context.pending.as_ref();
    let account = NewAccount {
        username: Some(form.username.clone()),
        email: Some(form.email.clone()),
        password: Some(form.password.clone()),
    };
    let created = state
        .auth
        .accounts
        .self_signup(&context.app, account, form.captcha.as_deref(), &client.0, now)
        .await;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let errors = match created {
        Ok(user) => {
            return match after_password(&state, &browser, user, &context, &client.0, now).await {
                Ok(progress) => progress_response(&state, &browser, progress, pending, now).await,
                Err(other) => Err(other.into()),
            };
        }
        Err(AuthError::Validation(problems)) => problems.into_iter().map(|p| (p.field, p.message)).collect(),
        Err(AuthError::Account(AccountError::UsernameTaken)) => vec![("username", "is already taken".to_owned())],
        Err(AuthError::Account(AccountError::EmailTaken)) => vec![("email", "already has an account".to_owned())],
        Err(AuthError::Account(AccountError::SignupRateLimited(by, _))) => {
            status = StatusCode::TOO_MANY_REQUESTS;
            vec![("signup", signup_limit_message(by).to_owned())]
        }
        Err(AuthError::Captcha(CaptchaError::Failed(_))) => {
            status = StatusCode::BAD_REQUEST;
            vec![("signup", CAPTCHA_FAILED.to_owned())]
        }
        Err(AuthError::Captcha(CaptchaError::Unavailable(_))) => {
            status = StatusCode::SERVICE_UNAVAILABLE;
            vec![("signup", CAPTCHA_UNAVAILABLE.to_owned())]
        }
        Err(other) => return Err(other.into()),
    };
    let captcha = state.auth.credentials.captcha_widget();
    render(
        page_with_captcha(status, captcha.as_ref()),
        &SignupPage {
            csrf: &browser.csrf,
            request: form.request.as_deref(),
            client_name: pending.map(|p| p.client.name.as_str()),
            username: &form.username,
            email: &form.email,
            errors,
            min_password: state.config.password.min_length,
            captcha,
        },
    )
}
