//! `/login/enroll`: the client asks for two factors (`acr_values=2`) and the signed-in account has no second
//! factor. The page offers to set up an authenticator app (its QR code and secret, then the first code, then
//! the recovery codes, shown once) and then continues the authorization request, which asks for a code of the
//! new app like any second step. The same rules as the security page: a recent sign-in, codes checked once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    PageError, PageForm, SignedInStep, check_csrf, encode, outcome_response, page, pending_for_signed_in, render,
};
use crate::auth::{AuthError, CredentialError, FactorError, Principal};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login_enroll.html")]
struct EnrollPage<'a> {
    csrf: &'a str,
    request: &'a str,
    client_name: &'a str,
    /// A pending authenticator: (QR PNG base64, secret).
    enrollment: Option<(String, String)>,
    /// Just made: shown this once, with the way on.
    recovery_codes: Vec<String>,
    /// Where to sign in again when the sign-in is too old to add a factor.
    sign_in_again: Option<String>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct EnrollQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct EnrollForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    code: String,
}

/// What the client asks for, and the button that starts.
pub async fn get_enroll(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<EnrollQuery>,
) -> Result<HttpResponse, PageError> {
    let step = match pending_for_signed_in(&req, &state, &query.request).await? {
        Ok(step) => step,
        Err(sign_in) => return Ok(sign_in),
    };
    show(&step, StatusCode::OK, View::default())
}

/// A new authenticator: its QR code and secret.
pub async fn post_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<EnrollForm>,
) -> Result<HttpResponse, PageError> {
    let step = match posted(&req, &state, &form).await? {
        Ok(step) => step,
        Err(sign_in) => return Ok(sign_in),
    };
    start(&state, &step, StatusCode::OK, None).await
}

/// The first code turns the authenticator on; the recovery codes are shown this once.
pub async fn post_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<EnrollForm>,
) -> Result<HttpResponse, PageError> {
    let step = match posted(&req, &state, &form).await? {
        Ok(step) => step,
        Err(sign_in) => return Ok(sign_in),
    };
    let caller = Principal::of_browser(&step.session);
    match state
        .auth
        .factors
        .confirm_totp(&caller, &form.code, state.clock.now())
        .await
    {
        Ok(recovery_codes) => {
            let view = View {
                recovery_codes,
                ..View::default()
            };
            show(&step, StatusCode::OK, view)
        }
        // The secret is not shown twice: a wrong code starts over with a new one.
        Err(AuthError::Factor(FactorError::InvalidCode)) => {
            let message = "That code did not match. Scan this new code and try again.";
            start(&state, &step, StatusCode::UNAUTHORIZED, Some(message)).await
        }
        Err(other) => refused(&step, other),
    }
}

/// On to the request, which now asks for a code of the new authenticator.
pub async fn post_continue(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<EnrollForm>,
) -> Result<HttpResponse, PageError> {
    let step = match posted(&req, &state, &form).await? {
        Ok(step) => step,
        Err(sign_in) => return Ok(sign_in),
    };
    let binding = step.browser.binding();
    let outcome = state
        .oidc
        .resume(&step.pending.id, step.browser.as_browser(&binding), state.clock.now())
        .await;
    outcome_response(outcome, &state)
}

async fn posted(
    req: &HttpRequest,
    state: &AppState,
    form: &EnrollForm,
) -> Result<Result<SignedInStep, HttpResponse>, PageError> {
    check_csrf(req, state, &form.csrf)?;
    pending_for_signed_in(req, state, &form.request).await
}

async fn start(
    state: &AppState,
    step: &SignedInStep,
    status: StatusCode,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let caller = Principal::of_browser(&step.session);
    match state.auth.factors.start_totp(&caller, state.clock.now()).await {
        Ok(enrollment) => {
            let view = View {
                enrollment: Some((enrollment.qr_png_base64, enrollment.secret)),
                error,
                ..View::default()
            };
            show(step, status, view)
        }
        Err(other) => refused(step, other),
    }
}

/// A refusal the person can act on, on the page; anything else is an error page.
fn refused(step: &SignedInStep, error: AuthError) -> Result<HttpResponse, PageError> {
    let (status, view) = match error {
        AuthError::Credentials(CredentialError::ReauthenticationRequired { .. }) => (
            StatusCode::FORBIDDEN,
            View {
                sign_in_again: Some(format!("/login?request={}", encode(&step.pending.id))),
                error: Some("For your security, sign in again before adding a second factor."),
                ..View::default()
            },
        ),
        AuthError::Factor(FactorError::TotpAlreadyEnabled) => (
            StatusCode::CONFLICT,
            View {
                error: Some("An authenticator app is already on: continue to use it."),
                ..View::default()
            },
        ),
        AuthError::Factor(FactorError::TotpNotPending) => (
            StatusCode::CONFLICT,
            View {
                error: Some("Start adding an authenticator app first."),
                ..View::default()
            },
        ),
        other => return Err(other.into()),
    };
    show(step, status, view)
}

#[derive(Default)]
struct View<'a> {
    enrollment: Option<(String, String)>,
    recovery_codes: Vec<String>,
    sign_in_again: Option<String>,
    error: Option<&'a str>,
}

fn show(step: &SignedInStep, status: StatusCode, view: View<'_>) -> Result<HttpResponse, PageError> {
    let mut response = page(status);
    step.browser.keep_csrf(&mut response);
    render(
        response,
        &EnrollPage {
            csrf: &step.browser.csrf,
            request: &step.pending.id,
            client_name: &step.pending.client.name,
            enrollment: view.enrollment,
            recovery_codes: view.recovery_codes,
            sign_in_again: view.sign_in_again,
            error: view.error,
        },
    )
}
