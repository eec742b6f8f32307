//! `/account`: who is signed in here, with a sign-out button.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{PageError, browser_state, page, render, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    csrf: &'a str,
    username: &'a str,
    email: &'a str,
}

pub async fn get_account(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let mut response = page(StatusCode::OK);
    browser.keep_csrf(&mut response);
    render(
        response,
        &AccountPage {
            csrf: &browser.csrf,
            username: &session.user.username,
            email: session.user.label(),
        },
    )
}
