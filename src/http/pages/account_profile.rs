//! `/account/profile`: the account's display name, its e-mail address (verified by a code; changed by a code
//! sent to the new address, the old one kept until it comes back) and its phone number (stored once its code
//! comes back; removed with the password). The same service calls, and so the same rules, as
//! `PATCH /api/v1/user` and `/api/v1/user/email/…` and `/api/v1/user/phone…`: a recent sign-in before a new
//! address or number, codes checked once and limited, notices sent.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::account::{signed_in, signed_in_form};
use super::admin::console_page;
use super::{BrowserState, PageError, PageForm};
use crate::auth::mfa::SentCode;
use crate::auth::{AccountError, AuthError, BrowserSession, CredentialError, FactorError, Principal};
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

/// A code on its way, and the form that takes it.
struct Pending {
    /// Where the confirmation goes: `email/confirm`, `email/change/confirm` or `phone/confirm`.
    action: &'static str,
    /// Where the code went, masked.
    destination: String,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "account_profile.html")]
struct ProfilePage<'a> {
    section: &'static str,
    csrf: &'a str,
    username: &'a str,
    name: &'a str,
    email: Option<&'a str>,
    email_verified: bool,
    phone: Option<&'a str>,
    has_password: bool,
    pending: Option<Pending>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

/// What the page shows besides the account.
#[derive(Default)]
struct View {
    pending: Option<Pending>,
    notice: Option<&'static str>,
    error: Option<String>,
}

impl View {
    fn notice(notice: &'static str) -> Self {
        Self {
            notice: Some(notice),
            ..Self::default()
        }
    }
}

pub async fn get_profile(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in(&req, &state).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    show(&state, &browser, &session, StatusCode::OK, View::default()).await
}

/// Sets or clears the display name.
pub async fn post_name(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Principal::of_browser(&session);
    let done = state
        .auth
        .accounts
        .set_name(&caller, Some(&form.name), state.clock.now())
        .await
        .map(|_| View::notice("Your name is saved."));
    answer(&state, &browser, &session, done).await
}

/// Sends a code to a new address (an account with one), or to the address given (an account without).
pub async fn post_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Principal::of_browser(&session);
    let (factors, now) = (&state.auth.factors, state.clock.now());
    let sent = if session.user.email.is_some() {
        factors
            .start_email_change(&caller, &form.email, &client.0.key, now)
            .await
            .map(|sent| pending("email/change/confirm", sent))
    } else {
        factors
            .start_email_verification(&caller, Some(&form.email), &client.0.key, now)
            .await
            .map(|sent| pending("email/confirm", sent))
    };
    answer(&state, &browser, &session, sent).await
}

/// Sends a code proving the account's own (unverified) address.
pub async fn post_verify_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let sent = state
        .auth
        .factors
        .start_email_verification(&Principal::of_browser(&session), None, &client.0.key, state.clock.now())
        .await
        .map(|sent| pending("email/confirm", sent));
    answer(&state, &browser, &session, sent).await
}

/// The code proving the account's address (its own, or the one given for an account without).
pub async fn post_confirm_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let done = state
        .auth
        .factors
        .confirm_email(&Principal::of_browser(&session), &form.code, state.clock.now())
        .await
        .map(|_| View::notice("Your e-mail address is verified."));
    answer(&state, &browser, &session, done).await
}

/// The code sent to a new address: it becomes the account's.
pub async fn post_confirm_email_change(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let done = state
        .auth
        .factors
        .confirm_email_change(&Principal::of_browser(&session), &form.code, state.clock.now())
        .await
        .map(|_| View::notice("Your e-mail address is changed. The old address was told."));
    answer(&state, &browser, &session, done).await
}

/// Sends a code to a new phone number.
pub async fn post_phone(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let sent = state
        .auth
        .factors
        .start_phone_verification(
            &Principal::of_browser(&session),
            &form.phone,
            &client.0.key,
            state.clock.now(),
        )
        .await
        .map(|sent| pending("phone/confirm", sent));
    answer(&state, &browser, &session, sent).await
}

/// The code sent to a new number: it becomes the account's.
pub async fn post_confirm_phone(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let done = state
        .auth
        .factors
        .confirm_phone(&Principal::of_browser(&session), &form.code, state.clock.now())
        .await
        .map(|_| View::notice("Your phone number is saved."));
    answer(&state, &browser, &session, done).await
}

/// Removes the phone number, with the password.
pub async fn post_remove_phone(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let done = state
        .auth
        .factors
        .remove_phone(
            &Principal::of_browser(&session),
            &form.password,
            &client.0.key,
            state.clock.now(),
        )
        .await
        .map(|_| View::notice("Your phone number is removed."));
    answer(&state, &browser, &session, done).await
}

fn pending(action: &'static str, sent: SentCode) -> View {
    View {
        pending: Some(Pending {
            action,
            destination: sent.destination,
            minutes: (sent.expires_in / 60).max(1),
        }),
        ..View::default()
    }
}

/// The page after a form: what it did, or why not.
async fn answer(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    done: Result<View, AuthError>,
) -> Result<HttpResponse, PageError> {
    let (status, view) = match done {
        Ok(view) => (StatusCode::OK, view),
        Err(error) => {
            let (status, message) = refusal(error)?;
            let view = View {
                error: Some(message),
                ..View::default()
            };
            (status, view)
        }
    };
    show(state, browser, session, status, view).await
}

/// A refusal of an account page the person can act on, as its status and sentence; anything else is an
/// error page.
pub(super) fn refusal(error: AuthError) -> Result<(StatusCode, String), AuthError> {
    let (status, message) = match error {
        AuthError::Credentials(CredentialError::ReauthenticationRequired { .. }) => (
            StatusCode::FORBIDDEN,
            "For your security, sign out and sign in again first: this needs a recent sign-in.".to_owned(),
        ),
        AuthError::Credentials(CredentialError::WrongPassword) => {
            (StatusCode::FORBIDDEN, "The password is incorrect.".to_owned())
        }
        AuthError::Credentials(CredentialError::LoginRateLimited(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many wrong passwords from here. Try again in {secs} seconds."),
        ),
        AuthError::Validation(fields) => {
            let messages: Vec<String> = fields.iter().map(|f| sentence(f.field, &f.message)).collect();
            (StatusCode::UNPROCESSABLE_ENTITY, messages.join(" "))
        }
        AuthError::Factor(FactorError::InvalidCode) => (
            StatusCode::UNAUTHORIZED,
            "The code is incorrect or has expired. Ask for a new one.".to_owned(),
        ),
        AuthError::Factor(FactorError::OtpRateLimited(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many codes were asked for. Try again in {secs} seconds."),
        ),
        AuthError::Factor(FactorError::MethodUnavailable(channel)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "This server sends no {}, so it cannot send the code.",
                if channel == "sms" { "text messages" } else { "e-mail" }
            ),
        ),
        AuthError::Factor(FactorError::AlreadyVerified(_)) => (
            StatusCode::CONFLICT,
            "Your e-mail address is already verified.".to_owned(),
        ),
        AuthError::Account(AccountError::EmailTaken) => (
            StatusCode::CONFLICT,
            "That address belongs to another account.".to_owned(),
        ),
        other => return Err(other),
    };
    Ok((status, message))
}

/// A refused field as the sentence the page shows.
fn sentence(field: &str, message: &str) -> String {
    let what = match field {
        "name" => "Your name",
        "email" => "The e-mail address",
        "phone" => "The phone number",
        "new_password" => "The new password",
        "current_password" => "The current password",
        other => other,
    };
    format!("{what} {message}.")
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    status: StatusCode,
    view: View,
) -> Result<HttpResponse, PageError> {
    // The account as it is now: the session's copy predates the form's change.
    let user = state.auth.accounts.find_user(&session.user.id).await?;
    let template = ProfilePage {
        section: "profile",
        csrf: &browser.csrf,
        username: &user.username,
        name: user.name.as_deref().unwrap_or_default(),
        email: user.email.as_deref(),
        email_verified: user.email_verified,
        phone: user.phone.as_deref(),
        has_password: user.password_hash.is_some(),
        pending: view.pending,
        notice: view.notice,
        error: view.error,
    };
    console_page(browser, status, &template)
}
