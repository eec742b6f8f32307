//! `/login`: the first step of a browser sign-in, with the methods the application accepts — username or
//! e-mail and password, and/or a code sent to an address or number. Failures all read the same. Success goes on
//! to the flow's next step or signs the browser in and resumes the authorization request that sent the user
//! here, if any.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::browser::pending_flow;
use super::{
    PageError, PageForm, SignInContext, after_password, browser_state, check_csrf, page_with_captcha,
    progress_response, see_other, stage_location,
};
use crate::apps::policy::LoginMethod;
use crate::auth::{AccessError, AuthError, CredentialError, FactorError, FlowError};
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
    /// The application, when no authorization request names it (the access link).
    app: Option<&'a str>,
    client_name: Option<&'a str>,
    login: &'a str,
    identifier: &'a str,
    error: Option<&'a str>,
    signup_open: bool,
    /// The password form is shown.
    password: bool,
    /// The code form is shown, with this label.
    code_label: Option<&'static str>,
    /// The upstream providers offered, as links that start a round trip.
    providers: Vec<ProviderLink<'a>>,
    captcha: Option<Widget>,
    /// The passkey button is offered (shown by the script where the browser can use it).
    passkey: bool,
}

struct ProviderLink<'a> {
    name: &'a str,
    href: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    request: Option<String>,
    app: Option<String>,
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
    app: Option<String>,
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
    let binding = browser.binding();
    if query.request.is_none() && query.app.is_none() && browser.session.is_some() {
        return Ok(see_other("/account"));
    }
    let context = SignInContext::load(&state, &binding, query.request.as_deref(), query.app.as_deref()).await?;
    // A sign-in waiting for its next step continues there: the first step is not a way around it.
    if let Some(token) = pending_flow(&req, &state)
        && let Some((stage, _)) = state
            .auth
            .sign_in
            .waiting_flow(&token, &binding, state.clock.now())
            .await?
    {
        return Ok(see_other(&stage_location(stage, context.request_id())));
    }
    let hint = context
        .pending
        .as_ref()
        .and_then(|p| p.request.login_hint.as_deref())
        .unwrap_or_default();
    let form = LoginView {
        login: hint,
        identifier: hint,
        error: None,
    };
    let mut response = form.render_to(&state, &browser.csrf, &context, StatusCode::OK)?;
    browser.keep_csrf(&mut response.0);
    response.finish()
}

/// Checks the credentials; on success goes on to the flow's next step, or signs the browser in and continues
/// where the user came from.
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
    let context = SignInContext::load(&state, &binding, form.request.as_deref(), form.app.as_deref()).await?;
    let checked = state
        .auth
        .credentials
        .sign_in_with_password(
            &context.app,
            &form.login,
            &form.password,
            form.captcha.as_deref(),
            &client.0,
            now,
        )
        .await;
    let user = match checked {
        Ok(user) => user,
        Err(refusal) => {
            let (status, message) = refused(refusal)?;
            let view = LoginView {
                login: &form.login,
                identifier: "",
                error: Some(message),
            };
            return view.render_to(&state, &browser.csrf, &context, status)?.finish();
        }
    };
    match after_password(&state, &browser, user, &context, &client.0, now).await {
        Ok(progress) => progress_response(&state, &browser, progress, context.pending.as_ref(), now).await,
        Err(refusal) => {
            let (status, message) = refused(refusal)?;
            let view = LoginView {
                login: &form.login,
                identifier: "",
                error: Some(message),
            };
            view.render_to(&state, &browser.csrf, &context, status)?.finish()
        }
    }
}

/// What the sign-in page says to a refusal a person can act on; anything else is an error page.
pub(super) fn refused(error: AuthError) -> Result<(StatusCode, &'static str), PageError> {
    Ok(match error {
        AuthError::Captcha(CaptchaError::Failed(_)) => (StatusCode::BAD_REQUEST, CAPTCHA_FAILED),
        AuthError::Captcha(CaptchaError::Unavailable(_)) => (StatusCode::SERVICE_UNAVAILABLE, CAPTCHA_UNAVAILABLE),
        AuthError::Credentials(CredentialError::InvalidCredentials) => (
            StatusCode::UNAUTHORIZED,
            "The username, e-mail or password is incorrect.",
        ),
        AuthError::Credentials(CredentialError::LoginRateLimited(_)) => {
            (StatusCode::TOO_MANY_REQUESTS, LOGIN_LIMIT_MESSAGE)
        }
        AuthError::Access(AccessError::NotMember) => (StatusCode::FORBIDDEN, crate::http::error::NOT_MEMBER_MESSAGE),
        AuthError::Access(AccessError::MethodNotAllowed(_)) => (
            StatusCode::FORBIDDEN,
            "This application does not accept this way of signing in.",
        ),
        AuthError::Factor(FactorError::PasskeyRefused) => {
            (super::passkey::REFUSED_STATUS, super::passkey::REFUSED_MESSAGE)
        }
        AuthError::Factor(FactorError::OtpRateLimited(_)) => (
            StatusCode::TOO_MANY_REQUESTS,
            "A code was sent a moment ago. Please wait a little, then ask again.",
        ),
        AuthError::Notify(_) => (
            StatusCode::BAD_GATEWAY,
            "The code could not be sent. Please try again later.",
        ),
        AuthError::Validation(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please enter an e-mail address, or a phone number in international form such as +14155552671.",
        ),
        // A sign-in in parallel moved the same flow, or took the same name, a moment ago.
        AuthError::Flow(FlowError::MfaTokenInvalid) => (
            StatusCode::CONFLICT,
            "This sign-in could not be completed. Please sign in again.",
        ),
        other => return Err(other.into()),
    })
}

/// What the sign-in page shows besides the application's methods.
pub(super) struct LoginView<'a> {
    pub login: &'a str,
    pub identifier: &'a str,
    pub error: Option<&'a str>,
}

/// A rendered page waiting for its CSRF cookie.
pub(super) struct Rendered(pub actix_web::HttpResponseBuilder, pub String);

impl Rendered {
    pub(super) fn finish(mut self) -> Result<HttpResponse, PageError> {
        Ok(self.0.body(self.1))
    }
}

impl LoginView<'_> {
    pub(super) fn render_to(
        &self,
        state: &AppState,
        csrf: &str,
        context: &SignInContext,
        status: StatusCode,
    ) -> Result<Rendered, PageError> {
        let policy = &context.app.policy;
        let captcha = state.auth.credentials.captcha_widget();
        let code_label = match (
            policy.accepts(LoginMethod::EmailCode),
            policy.accepts(LoginMethod::SmsCode),
        ) {
            (true, true) => Some("E-mail address or phone number"),
            (true, false) => Some("E-mail address"),
            (false, true) => Some("Phone number (international, such as +14155552671)"),
            (false, false) => None,
        };
        let page = LoginPage {
            csrf,
            request: context.request_id(),
            app: context.app_slug(),
            client_name: context.pending.as_ref().map(|p| p.client.name.as_str()),
            login: self.login,
            identifier: self.identifier,
            error: self.error,
            signup_open: state.auth.accounts.signup_allowed(&context.app) && policy.accepts_password(),
            password: policy.accepts_password(),
            code_label,
            providers: provider_links(context),
            captcha: captcha.clone(),
            passkey: policy.accepts_passkey() && state.auth.factors.passkeys_enabled(),
        };
        let body = page.render()?;
        let response = if page.passkey {
            super::page_with_passkeys(status, captcha.as_ref())
        } else {
            page_with_captcha(status, captcha.as_ref())
        };
        Ok(Rendered(response, body))
    }
}

/// The application's upstream providers, each a link that starts a round trip for this sign-in.
fn provider_links(context: &SignInContext) -> Vec<ProviderLink<'_>> {
    let continues = match (context.request_id(), context.app_slug()) {
        (Some(id), _) => format!("?request={}", super::encode(id)),
        (None, Some(slug)) => format!("?app={}", super::encode(slug)),
        (None, None) => String::new(),
    };
    context
        .providers
        .iter()
        .map(|(id, name)| ProviderLink {
            name,
            href: format!("/federation/{id}/start{continues}"),
        })
        .collect()
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
