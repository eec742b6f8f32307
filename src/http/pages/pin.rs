//! `/login/pin`: a signed-in browser proves it is them again with the account's PIN, when the client's
//! application asks for it (its idle time passed, or the client asked for a fresh proof). A right PIN signs the
//! browser in again and resumes the authorization request; a wrong one counts toward the lock-out, and the
//! person may sign in with a password instead.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::mfa::restart;
use super::sign_in::{Step, StepQuery};
use super::{BrowserState, PageError, PageForm, browser_state, page, progress_response, render};
use crate::auth::flow::{Door, Stage};
use crate::auth::{AuthError, CredentialError, FlowError};
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login_pin.html")]
struct PinPage<'a> {
    csrf: &'a str,
    request: Option<&'a str>,
    client_name: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pin: String,
    request: Option<String>,
}

/// The PIN form, while this browser's flow waits for a PIN.
pub async fn get_pin(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let request = query.request.as_deref();
    let Some(step) = Step::load(&req, &state, &browser, request).await? else {
        return Ok(restart(&state, request));
    };
    let waiting = state
        .auth
        .sign_in
        .waiting_flow(&step.token, &browser.binding(), state.clock.now())
        .await?;
    if !matches!(waiting, Some((Stage::Pin, _))) {
        return Ok(restart(&state, request));
    }
    pin_page(&browser, &step, StatusCode::OK, None)
}

/// Checks the PIN; when right, the browser is signed in again and the request goes on.
pub async fn post_pin(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<PinForm>,
) -> Result<HttpResponse, PageError> {
    let request = form.request.as_deref();
    let (browser, step) = match Step::posted(&req, &state, &form.csrf, request).await? {
        Ok(posted) => posted,
        Err(restarted) => return Ok(restarted),
    };
    let now = state.clock.now();
    let binding = browser.binding();
    let outcome = state
        .auth
        .sign_in
        .complete_pin(&step.token, Door::Browser(&binding), &form.pin, &client.0, now)
        .await;
    match outcome {
        Ok(progress) => progress_response(&state, &browser, progress, step.context.pending.as_ref(), now).await,
        Err(AuthError::Credentials(CredentialError::WrongPin)) => pin_page(
            &browser,
            &step,
            StatusCode::UNAUTHORIZED,
            Some("That PIN is not right."),
        ),
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => Ok(restart(&state, request)),
        Err(other) => Err(other.into()),
    }
}

fn pin_page(
    browser: &BrowserState,
    step: &Step,
    status: StatusCode,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let mut response = page(status);
    browser.keep_csrf(&mut response);
    render(
        response,
        &PinPage {
            csrf: &browser.csrf,
            request: step.context.request_id(),
            client_name: step.client_name(),
            error,
        },
    )
}
