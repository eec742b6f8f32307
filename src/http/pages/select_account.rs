//! `/select-account` (`prompt=select_account`, or a `login_hint` naming someone else): go on as the
//! signed-in user, or sign in as another one. Works without JavaScript; the choice is a CSRF-protected POST.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    PageError, PageForm, SignedInStep, browser_state, check_csrf, outcome_response, page, pending_for_signed_in, render,
};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "select_account.html")]
struct SelectAccountPage<'a> {
    csrf: &'a str,
    request: &'a str,
    /// The browser session shown: "continue" goes on with exactly this one.
    session: &'a str,
    client_name: &'a str,
    username: &'a str,
    email: &'a str,
}

#[derive(Deserialize)]
pub struct SelectAccountQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct SelectAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    decision: String,
}

pub async fn get_select_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SelectAccountQuery>,
) -> Result<HttpResponse, PageError> {
    let SignedInStep {
        browser,
        pending,
        session,
    } = match pending_for_signed_in(&req, &state, &query.request).await? {
        Ok(step) => step,
        Err(sign_in) => return Ok(sign_in),
    };
    let mut response = page(StatusCode::OK);
    browser.keep_csrf(&mut response);
    render(
        response,
        &SelectAccountPage {
            csrf: &browser.csrf,
            request: &pending.id,
            session: &session.id,
            client_name: &pending.client.name,
            username: &session.user.username,
            email: session.user.label(),
        },
    )
}

/// "Continue as …": the request goes on with the signed-in account. ("Use another account" is a link to the
/// sign-in page, which changes nothing by itself.)
pub async fn post_select_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<SelectAccountForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    if form.decision != "continue" {
        return Err(PageError::bad_request("Choose the account to continue with."));
    }
    let binding = browser.binding();
    let outcome = state
        .oidc
        .continue_as_signed_in(
            &form.request,
            &form.session,
            browser.as_browser(&binding),
            state.clock.now(),
        )
        .await;
    outcome_response(outcome, &state)
}
