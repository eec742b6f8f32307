//! `/account`: the account console's overview — who is signed in here, the menu of its pages
//! (`account_profile`, `account_password`, `security`, `account_tokens`, `account_sessions`, `account_apps`) and the sign-out button — and what those pages share:
//! the signed-in browser they need (none: the sign-in page), forms checked for CSRF first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{BrowserState, PageError, browser_state, check_csrf, page, render, see_other};
use crate::auth::BrowserSession;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    section: &'static str,
    csrf: &'a str,
    username: &'a str,
    email: &'a str,
    admin: bool,
}

/// A form of the account pages that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `?done=…`: what a form did, said once the browser is back on the page.
#[derive(Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// The browser's session an account page needs, or where the browser goes first (the sign-in).
pub(super) async fn signed_in(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Result<(BrowserState, BrowserSession), HttpResponse>, PageError> {
    let browser = browser_state(req, state).await?;
    match browser.session.clone() {
        Some(session) => Ok(Ok((browser, session))),
        None => Ok(Err(see_other("/login"))),
    }
}

/// [`signed_in`] for a form, whose CSRF token is checked first.
pub(super) async fn signed_in_form(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<Result<(BrowserState, BrowserSession), HttpResponse>, PageError> {
    check_csrf(req, state, csrf)?;
    signed_in(req, state).await
}

pub async fn get_account(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in(&req, &state).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let mut response = page(StatusCode::OK);
    browser.keep_csrf(&mut response);
    render(
        response,
        &AccountPage {
            section: "overview",
            csrf: &browser.csrf,
            username: &session.user.username,
            email: session.user.label(),
            admin: session.is_admin(),
        },
    )
}
