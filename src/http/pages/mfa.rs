//! `/login/mfa`: the second step of a browser sign-in. The password step left the challenge's token in a
//! short-lived cookie; this page asks for a code of one of the account's methods (with a resend, under a
//! cool-down, for SMS and e-mail, and a way to use a recovery code), and only then signs the browser in and
//! resumes the authorization request. Without a live challenge it sends the browser back to `/login`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::browser::pending_flow;
use super::login::rejected;
use super::{
    BrowserState, PageError, PageForm, browser_state, check_csrf, clear_flow_cookie, encode, page, progress_response,
    render, see_other,
};
use crate::auth::flow::Door;
use crate::auth::mfa::Method;
use crate::auth::{AuthError, FactorError, FlowError};
use crate::http::client_ip::ClientAddress;
use crate::notify::sms::mask_phone;
use crate::oidc::interaction::Pending;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login_mfa.html")]
struct MfaPage<'a> {
    csrf: &'a str,
    request: Option<&'a str>,
    client_name: Option<&'a str>,
    method: &'static str,
    prompt: &'static str,
    /// SMS and e-mail codes are sent on request.
    sendable: bool,
    /// The method is a passkey: the page runs its ceremony instead of asking for a code.
    passkey: bool,
    /// The other methods: (name, link text).
    others: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct MfaQuery {
    request: Option<String>,
    method: Option<String>,
    /// Set when the password step already sent a code by text message.
    sent: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    request: Option<String>,
}

/// Where the second step lives, keeping the authorization request and the chosen method (and whether a code
/// for it was sent already).
pub fn location(request: Option<&str>, method: Option<&str>, sent: bool) -> String {
    let mut query: Vec<String> = Vec::new();
    if let Some(id) = request {
        query.push(format!("request={}", encode(id)));
    }
    if let Some(method) = method {
        query.push(format!("method={}", encode(method)));
    }
    if sent {
        query.push("sent=1".into());
    }
    if query.is_empty() {
        "/login/mfa".into()
    } else {
        format!("/login/mfa?{}", query.join("&"))
    }
}

/// The code form for the chosen (or the first) method.
pub async fn get_mfa(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<MfaQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let Some(step) = Step::load(&req, &state, &browser, query.request.as_deref()).await? else {
        return Ok(restart(&state, query.request.as_deref()));
    };
    let method = step.choose(query.method.as_deref());
    let notice = match (&query.sent, method, &step.phone) {
        (Some(_), Method::Sms, Some(phone)) => Some(format!("We sent a code to {}.", mask_phone(phone))),
        _ => None,
    };
    step.render(&browser, method, StatusCode::OK, notice, None)
}

/// Checks the code; on success signs the browser in and continues.
pub async fn post_mfa(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<MfaForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let request = form.request.as_deref();
    let Some(step) = Step::load(&req, &state, &browser, request).await? else {
        return Ok(restart(&state, request));
    };
    let method = step.choose(Some(&form.method));
    let now = state.clock.now();
    let binding = browser.binding();
    let outcome = state
        .auth
        .sign_in
        .complete_second_factor(&step.token, Door::Browser(&binding), method, &form.code, &client.0, now)
        .await;
    match outcome {
        Ok(progress) => progress_response(&state, &browser, progress, step.pending.as_ref(), now).await,
        Err(AuthError::Factor(FactorError::InvalidCode)) => step.render(
            &browser,
            method,
            StatusCode::UNAUTHORIZED,
            None,
            Some("The code is incorrect or has expired."),
        ),
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => Ok(restart(&state, request)),
        Err(other) => Err(other.into()),
    }
}

/// Sends an SMS or e-mail code, then shows the form again.
pub async fn post_send(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<MfaForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let request = form.request.as_deref();
    let Some(step) = Step::load(&req, &state, &browser, request).await? else {
        return Ok(restart(&state, request));
    };
    let method = step.choose(Some(&form.method));
    let binding = browser.binding();
    let sent = state
        .auth
        .sign_in
        .send_second_factor_code(
            &step.token,
            Door::Browser(&binding),
            method,
            &client.0.key,
            state.clock.now(),
        )
        .await;
    match sent {
        Ok(sent) => step.render(
            &browser,
            method,
            StatusCode::OK,
            Some(format!("We sent a code to {}.", sent.destination)),
            None,
        ),
        Err(AuthError::Factor(FactorError::OtpRateLimited(wait))) => step.render(
            &browser,
            method,
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!("Please wait {wait} seconds before asking for another code.")),
            Some("A code was sent a moment ago."),
        ),
        Err(AuthError::Notify(_)) => step.render(
            &browser,
            method,
            StatusCode::BAD_GATEWAY,
            None,
            Some("The code could not be sent. Please try again later, or use another method."),
        ),
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => Ok(restart(&state, request)),
        Err(other) => Err(other.into()),
    }
}

/// The options of a passkey ceremony for this browser's sign-in waiting for its second factor.
pub async fn post_passkey_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<super::passkey::OptionsForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let started = match pending_flow(&req, &state) {
        Some(token) => {
            let now = state.clock.now();
            state
                .auth
                .sign_in
                .start_passkey_second_factor(&token, &browser.binding(), now)
                .await
        }
        None => Err(AuthError::Flow(FlowError::MfaTokenInvalid)),
    };
    match started {
        Ok(challenge) => Ok(super::passkey::options_response(challenge)),
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => Err(PageError::with_status(
            StatusCode::CONFLICT,
            "This sign-in has ended. Please sign in again.",
        )),
        Err(other) => Err(other.into()),
    }
}

/// Checks the passkey's answer as the second factor; on success signs the browser in and continues.
pub async fn post_passkey(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<super::passkey::AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let request = form.request.as_deref();
    let Some(step) = Step::load(&req, &state, &browser, request).await? else {
        return Ok(restart(&state, request));
    };
    let now = state.clock.now();
    let binding = browser.binding();
    let outcome = state
        .auth
        .sign_in
        .complete_passkey_second_factor(&step.token, &binding, &form.ceremony, &form.credential, &client.0, now)
        .await;
    match outcome {
        Ok(progress) => progress_response(&state, &browser, progress, step.pending.as_ref(), now).await,
        Err(AuthError::Factor(FactorError::PasskeyRefused)) => step.render(
            &browser,
            Method::Passkey,
            super::passkey::REFUSED_STATUS,
            None,
            Some(super::passkey::REFUSED_MESSAGE),
        ),
        Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => Ok(restart(&state, request)),
        Err(other) => Err(other.into()),
    }
}

/// Gives up this sign-in (to start again, perhaps as someone else).
pub async fn post_cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<MfaForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&req, &state, &form.csrf)?;
    Ok(restart(&state, form.request.as_deref()))
}

/// Back to the first step of the sign-in, forgetting its flow.
pub(super) fn restart(state: &AppState, request: Option<&str>) -> HttpResponse {
    let location = match request {
        Some(id) => format!("/login?request={}", encode(id)),
        None => "/login".into(),
    };
    let mut response = see_other(&location);
    let _ = response.add_cookie(&clear_flow_cookie(state));
    response
}

/// A live challenge of this browser, its methods, and the authorization request it continues.
struct Step {
    token: String,
    methods: Vec<Method>,
    /// The account's verified phone, to say where a text message went.
    phone: Option<String>,
    pending: Option<Pending>,
}

impl Step {
    async fn load(
        req: &HttpRequest,
        state: &AppState,
        browser: &BrowserState,
        request: Option<&str>,
    ) -> Result<Option<Self>, PageError> {
        let Some(token) = pending_flow(req, state) else {
            return Ok(None);
        };
        let now = state.clock.now();
        let binding = browser.binding();
        let (phone, methods) = match state
            .auth
            .sign_in
            .challenge_methods(&token, Door::Browser(&binding), now)
            .await
        {
            Ok((user, methods)) => (user.phone, methods),
            Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let pending = match request {
            Some(id) => Some(state.oidc.pending(id, &binding, now).await.map_err(rejected)?),
            None => None,
        };
        Ok(Some(Self {
            token,
            methods,
            phone,
            pending,
        }))
    }

    /// The method asked for if the account has it, else the first one (a recovery code only if asked).
    fn choose(&self, asked: Option<&str>) -> Method {
        asked
            .and_then(Method::parse)
            .filter(|m| self.methods.contains(m))
            .or_else(|| self.methods.first().copied())
            .unwrap_or(Method::Totp)
    }

    fn render(
        &self,
        browser: &BrowserState,
        method: Method,
        status: StatusCode,
        notice: Option<String>,
        error: Option<&str>,
    ) -> Result<HttpResponse, PageError> {
        let passkey = method == Method::Passkey;
        let mut response = if passkey {
            super::page_with_passkeys(status, None)
        } else {
            page(status)
        };
        browser.keep_csrf(&mut response);
        render(
            response,
            &MfaPage {
                passkey,
                csrf: &browser.csrf,
                request: self.pending.as_ref().map(|p| p.id.as_str()),
                client_name: self.pending.as_ref().map(|p| p.client.name.as_str()),
                method: method.as_str(),
                prompt: prompt(method),
                sendable: matches!(method, Method::Sms | Method::Email),
                others: self
                    .methods
                    .iter()
                    .filter(|m| **m != method)
                    .map(|m| (m.as_str(), switch_to(*m)))
                    .collect(),
                notice,
                error,
            },
        )
    }
}

fn prompt(method: Method) -> &'static str {
    match method {
        Method::Totp => "Enter the 6-digit code from your authenticator app.",
        Method::Passkey => "Use one of your passkeys (your device's screen lock or security key).",
        Method::Sms => "Send a code to your phone, then enter it here.",
        Method::Email => "Send a code to your e-mail address, then enter it here.",
        Method::RecoveryCode => "Enter one of your recovery codes. Each works once.",
    }
}

fn switch_to(method: Method) -> &'static str {
    match method {
        Method::Totp => "Use your authenticator app",
        Method::Passkey => "Use a passkey",
        Method::Sms => "Get a code by text message",
        Method::Email => "Get a code by e-mail",
        Method::RecoveryCode => "Use a recovery code",
    }
}
