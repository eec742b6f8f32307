//! `/consent`: a third-party client asks for scopes; the user allows or denies. Allowing is remembered per
//! client and scope set; `prompt=consent` asks again. A device's approval (`/device/answer`) is answered here
//! too.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    PageError, PageForm, SignedInStep, browser_state, check_csrf, outcome_response, page, pending_for_signed_in, render,
};
use crate::oidc::scope;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    request: &'a str,
    client_name: &'a str,
    username: &'a str,
    scopes: Vec<String>,
}

#[derive(Deserialize)]
pub struct ConsentQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// What granting a scope means, in words.
pub(super) fn describe(scope: &str) -> String {
    match scope {
        scope::OPENID => "know who you are".into(),
        scope::PROFILE => "see your username".into(),
        scope::EMAIL => "see your e-mail address".into(),
        scope::PHONE => "see your phone number".into(),
        scope::ADDRESS => "see your postal address".into(),
        scope::OFFLINE_ACCESS => "stay connected to your account while you are away".into(),
        other => format!("use the \"{other}\" permission"),
    }
}

pub async fn get_consent(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ConsentQuery>,
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
        &ConsentPage {
            csrf: &browser.csrf,
            request: &pending.id,
            client_name: &pending.client.name,
            username: &session.user.username,
            scopes: pending.request.scope().iter().map(describe).collect(),
        },
    )
}

pub async fn post_consent(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let approved = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(PageError::bad_request("Choose Allow or Deny.")),
    };
    let binding = browser.binding();
    let outcome = state
        .oidc
        .answer_consent(&form.request, approved, browser.as_browser(&binding), state.clock.now())
        .await;
    outcome_response(outcome, &state)
}
