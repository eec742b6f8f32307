//! The pages of a browser sign-in's code step: `/login/code` (passwordless sign-in by a code sent to an address
//! or number), and what every step page beyond the password shares (`Step`: the flow this browser is in and the
//! request it continues). They translate forms into steps of the flow in `auth::flow` and its answers into
//! pages; the flow's token travels in a short-lived cookie. The verification step's pages are in `verify`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::browser::pending_flow;
use super::login::{LoginView, refused};
use super::mfa::restart;
use super::{
    BrowserState, PageError, PageForm, SignInContext, browser_state, check_csrf, clear_flow_cookie, page,
    progress_response, render,
};
use crate::auth::flow::{Door, Progress};
use crate::auth::{AuthError, FactorError, FlowError};
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage<'a> {
    csrf: &'a str,
    request: Option<&'a str>,
    client_name: Option<&'a str>,
    notice: Option<String>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct StepQuery {
    pub(super) request: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeStartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifier: String,
    request: Option<String>,
    app: Option<String>,
    #[serde(
        default,
        rename = "g-recaptcha-response",
        alias = "h-captcha-response",
        alias = "cf-turnstile-response"
    )]
    captcha: Option<String>,
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) code: String,
    #[serde(default)]
    pub(super) channel: String,
    #[serde(default)]
    pub(super) destination: String,
    pub(super) request: Option<String>,
}

/// Sends a sign-in code to the address or number typed on `/login`.
pub async fn post_code_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<CodeStartForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let now = state.clock.now();
    let binding = browser.binding();
    let context = SignInContext::load(&state, &binding, form.request.as_deref(), form.app.as_deref()).await?;
    let started = state
        .auth
        .sign_in
        .start_code_sign_in(
            &context.app,
            Door::Browser(&binding),
            &form.identifier,
            form.captcha.as_deref(),
            &client.0,
            now,
        )
        .await;
    match started {
        Ok(next) => progress_response(&state, &browser, Progress::Next(next), context.pending.as_ref(), now).await,
        Err(refusal) => {
            let (status, message) = refused(refusal)?;
            let view = LoginView {
                login: "",
                identifier: &form.identifier,
                error: Some(message),
            };
            view.render_to(&state, &browser.csrf, &context, status)?.finish()
        }
    }
}

/// The code form of a code sign-in.
pub async fn get_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let Some(step) = Step::load(&req, &state, &browser, query.request.as_deref()).await? else {
        return Ok(restart(&state, query.request.as_deref()));
    };
    let binding = browser.binding();
    let sent_to = match state
        .auth
        .sign_in
        .code_sent_to(&step.token, Door::Browser(&binding), state.clock.now())
        .await
    {
        Ok(sent_to) => sent_to,
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => return Ok(restart(&state, query.request.as_deref())),
        Err(other) => return Err(other.into()),
    };
    step.code_page(
        &browser,
        StatusCode::OK,
        Some(format!("We sent a code to {sent_to}.")),
        None,
    )
}

/// Checks the code of a code sign-in; on success goes on to the next step, or signs the browser in.
pub async fn post_code(
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
        .complete_code_sign_in(&step.token, Door::Browser(&binding), &form.code, &client.0, now)
        .await;
    let error = match outcome {
        Ok(progress) => {
            return progress_response(&state, &browser, progress, step.context.pending.as_ref(), now).await;
        }
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => return Ok(restart(&state, request)),
        Err(refusal) => match wrong_code(&refusal) {
            Some(error) => error,
            None => return step.refused_page(&state, &browser, refusal),
        },
    };
    step.code_page(&browser, StatusCode::UNAUTHORIZED, None, Some(error))
}

/// Sends the code of a code sign-in again.
pub async fn post_code_resend(
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
    let binding = browser.binding();
    let sent = state
        .auth
        .sign_in
        .resend_sign_in_code(&step.token, Door::Browser(&binding), &client.0, state.clock.now())
        .await;
    match sent {
        Ok(sent) => step.code_page(
            &browser,
            StatusCode::OK,
            Some(format!("We sent a new code to {}.", sent.destination)),
            None,
        ),
        Err(AuthError::Factor(FactorError::OtpRateLimited(wait))) => step.code_page(
            &browser,
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!("Please wait {wait} seconds before asking for another code.")),
            Some("A code was sent a moment ago."),
        ),
        Err(AuthError::Notify(_)) => step.code_page(
            &browser,
            StatusCode::BAD_GATEWAY,
            None,
            Some("The code could not be sent. Please try again later."),
        ),
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => Ok(restart(&state, request)),
        Err(other) => Err(other.into()),
    }
}

/// What the code form says to a code that did not work; `None` for any other refusal.
pub(super) fn wrong_code(refusal: &AuthError) -> Option<&'static str> {
    match refusal {
        AuthError::Factor(FactorError::InvalidCode) => Some("The code is incorrect or has expired."),
        AuthError::Flow(FlowError::CodeExpired) => Some("The code has expired. Please ask for a new one."),
        _ => None,
    }
}

/// A flow of this browser and the authorization request it continues.
pub(super) struct Step {
    pub(super) token: String,
    pub(super) context: SignInContext,
}

impl Step {
    /// A form posted at a step: its browser (the CSRF token checked) and the step — or, with no live flow,
    /// the way back to the first step.
    pub(super) async fn posted(
        req: &HttpRequest,
        state: &AppState,
        csrf: &str,
        request: Option<&str>,
    ) -> Result<Result<(BrowserState, Self), HttpResponse>, PageError> {
        let browser = browser_state(req, state).await?;
        check_csrf(req, state, csrf)?;
        Ok(match Self::load(req, state, &browser, request).await? {
            Some(step) => Ok((browser, step)),
            None => Err(restart(state, request)),
        })
    }

    pub(super) async fn load(
        req: &HttpRequest,
        state: &AppState,
        browser: &BrowserState,
        request: Option<&str>,
    ) -> Result<Option<Self>, PageError> {
        let Some(token) = pending_flow(req, state) else {
            return Ok(None);
        };
        let binding = browser.binding();
        // Without an authorization request, the flow's own application (the access link's) is shown.
        let app = match request {
            Some(_) => None,
            None => state
                .auth
                .sign_in
                .waiting_flow(&token, &binding, state.clock.now())
                .await?
                .map(|(_, app)| app.slug),
        };
        let context = SignInContext::load(state, &binding, request, app.as_deref()).await?;
        Ok(Some(Self { token, context }))
    }

    pub(super) fn client_name(&self) -> Option<&str> {
        self.context.pending.as_ref().map(|p| p.client.name.as_str())
    }

    fn code_page(
        &self,
        browser: &BrowserState,
        status: StatusCode,
        notice: Option<String>,
        error: Option<&str>,
    ) -> Result<HttpResponse, PageError> {
        let mut response = page(status);
        browser.keep_csrf(&mut response);
        render(
            response,
            &CodePage {
                csrf: &browser.csrf,
                request: self.context.request_id(),
                client_name: self.client_name(),
                notice,
                error,
            },
        )
    }

    /// A refusal after the code: the sign-in page with its message.
    fn refused_page(
        &self,
        state: &AppState,
        browser: &BrowserState,
        refusal: AuthError,
    ) -> Result<HttpResponse, PageError> {
        let (status, message) = refused(refusal)?;
        let view = LoginView {
            login: "",
            identifier: "",
            error: Some(message),
        };
        let mut response = view.render_to(state, &browser.csrf, &self.context, status)?;
        response.0.cookie(clear_flow_cookie(state));
        response.finish()
    }
}
