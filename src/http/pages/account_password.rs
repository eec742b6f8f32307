//! `/account/password`: changing the password in the browser — the current one, then the new one twice — or
//! setting the first one of an account without (after a recent sign-in). The same service call as
//! `PUT /api/v1/user/password`: a wrong current password counts like a failed sign-in, the new one is checked
//! against the password policy, and every other sign-in of the account ends while this browser stays signed in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::account::{signed_in, signed_in_form};
use super::account_profile::refusal;
use super::admin::console_page;
use super::{BrowserState, PageError, PageForm};
use crate::auth::{BrowserSession, Principal};
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage<'a> {
    section: &'static str,
    csrf: &'a str,
    username: &'a str,
    has_password: bool,
    min_length: usize,
    max_length: usize,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
}

pub async fn get_password(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in(&req, &state).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    show(&state, &browser, &session, StatusCode::OK, None, None).await
}

pub async fn post_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    if form.new_password != form.repeat_password {
        let error = "The two new passwords differ. Type the same one twice.".to_owned();
        return show(
            &state,
            &browser,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(error),
        )
        .await;
    }
    let current = Some(form.current_password.as_str()).filter(|current| !current.is_empty());
    let changed = state
        .auth
        .accounts
        .change_password(
            &Principal::of_browser(&session),
            current,
            &form.new_password,
            &client.0.key,
            state.clock.now(),
        )
        .await;
    match changed {
        Ok(()) => {
            let notice = "Your password is changed. You were signed out everywhere else.";
            show(&state, &browser, &session, StatusCode::OK, Some(notice), None).await
        }
        Err(error) => {
            let (status, message) = refusal(error)?;
            show(&state, &browser, &session, status, None, Some(message)).await
        }
    }
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    // Whether the account has a password now: the session's copy predates a first one set by the form.
    let user = state.auth.accounts.find_user(&session.user.id).await?;
    let template = PasswordPage {
        section: "password",
        csrf: &browser.csrf,
        username: &user.username,
        has_password: user.password_hash.is_some(),
        min_length: state.config.password.min_length,
        max_length: state.config.password.max_length,
        notice,
        error,
    };
    console_page(browser, status, &template)
}
