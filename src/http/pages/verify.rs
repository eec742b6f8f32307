//! `/login/verify`: the proof of contact an application may ask for before a sign-in completes — a code sent
//! to the account's address, or to an address or number the person gives.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::mfa::restart;
use super::sign_in::{Step, StepForm, StepQuery, wrong_code};
use super::{BrowserState, PageError, PageForm, browser_state, page, progress_response, render};
use crate::apps::policy::ContactChannel;
use crate::auth::flow::Door;
use crate::auth::{AccountError, AuthError, FactorError, FlowError};
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login_verify.html")]
struct VerifyPage<'a> {
    csrf: &'a str,
    request: Option<&'a str>,
    client_name: Option<&'a str>,
    email_channel: bool,
    sms_channel: bool,
    /// The account's address, masked, when it has one.
    email: Option<String>,
    notice: Option<String>,
    error: Option<&'a str>,
}

/// The verification step: which proof the application accepts, and where a code can go.
pub async fn get_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let Some(step) = Step::load(&req, &state, &browser, query.request.as_deref()).await? else {
        return Ok(restart(&state, query.request.as_deref()));
    };
    step.verify_page(&state, &browser, StatusCode::OK, None, None).await
}

/// Sends a verification code by e-mail or text message.
pub async fn post_verify_send(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<StepForm>,
) -> Result<HttpResponse, PageError> {
    let request = form.request.as_deref();
    let (browser, step) = match Step::posted(&req, &state, &form.csrf, request).await? {
        Ok(posted) => posted,
        Err(restarted) => return Ok(restarted),
    };
    let Some(channel) = ContactChannel::parse(&form.channel) else {
        return Err(PageError::bad_request("Choose e-mail or a text message."));
    };
    let destination = Some(form.destination.as_str()).filter(|d| !d.trim().is_empty());
    let binding = browser.binding();
    let sent = state
        .auth
        .sign_in
        .send_verification_code(
            &step.token,
            Door::Browser(&binding),
            channel,
            destination,
            &client.0,
            state.clock.now(),
        )
        .await;
    let (status, notice, error) = match sent {
        Ok(sent) => (
            StatusCode::OK,
            Some(format!("We sent a code to {}.", sent.destination)),
            None,
        ),
        Err(AuthError::Factor(FactorError::OtpRateLimited(wait))) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!("Please wait {wait} seconds before asking for another code.")),
            Some("A code was sent a moment ago."),
        ),
        Err(AuthError::Notify(_)) => (
            StatusCode::BAD_GATEWAY,
            None,
            Some("The code could not be sent. Please try again later."),
        ),
        Err(AuthError::Validation(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Please enter a valid e-mail address, or a phone number in international form such as +14155552671."),
        ),
        Err(AuthError::Account(AccountError::EmailTaken)) => (
            StatusCode::CONFLICT,
            None,
            Some("This e-mail address belongs to another account."),
        ),
        Err(AuthError::Factor(FactorError::MethodUnavailable(_))) => (
            StatusCode::BAD_REQUEST,
            None,
            Some("This way of confirming is not offered here."),
        ),
        Err(AuthError::Factor(FactorError::AlreadyVerified(_))) => (
            StatusCode::CONFLICT,
            None,
            Some("This address is confirmed already. Please sign in again."),
        ),
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => return Ok(restart(&state, request)),
        Err(other) => return Err(other.into()),
    };
    step.verify_page(&state, &browser, status, notice, error).await
}

/// Checks a verification code; on success the sign-in completes.
pub async fn post_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<StepForm>,
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
        .complete_verification(&step.token, Door::Browser(&binding), &form.code, &client.0, now)
        .await;
    let (status, error) = match outcome {
        Ok(progress) => {
            return progress_response(&state, &browser, progress, step.context.pending.as_ref(), now).await;
        }
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => return Ok(restart(&state, request)),
        Err(AuthError::Account(AccountError::EmailTaken)) => {
            (StatusCode::CONFLICT, "This e-mail address belongs to another account.")
        }
        Err(AuthError::Validation(_)) => (StatusCode::CONFLICT, "This phone number belongs to another account."),
        Err(refusal) => match wrong_code(&refusal) {
            Some(error) => (StatusCode::UNAUTHORIZED, error),
            None => return Err(refusal.into()),
        },
    };
    step.verify_page(&state, &browser, status, None, Some(error)).await
}

impl Step {
    async fn verify_page(
        &self,
        state: &AppState,
        browser: &BrowserState,
        status: StatusCode,
        notice: Option<String>,
        error: Option<&str>,
    ) -> Result<HttpResponse, PageError> {
        let binding = browser.binding();
        let (channels, email) = match state
            .auth
            .sign_in
            .verification_channels(&self.token, Door::Browser(&binding), state.clock.now())
            .await
        {
            Ok(found) => found,
            Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => return Ok(restart(state, self.context.request_id())),
            Err(other) => return Err(other.into()),
        };
        let mut response = page(status);
        browser.keep_csrf(&mut response);
        render(
            response,
            &VerifyPage {
                csrf: &browser.csrf,
                request: self.context.request_id(),
                client_name: self.client_name(),
                email_channel: channels.contains(&ContactChannel::Email),
                sms_channel: channels.contains(&ContactChannel::Sms),
                email,
                notice,
                error,
            },
        )
    }
}
