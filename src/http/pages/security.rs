//! `/account/security`: the signed-in user's authenticator app in the browser — a QR code and the secret to
//! type in, the confirmation form, the recovery codes (shown once), turning it off with the password and a
//! current code, and new recovery codes for the old ones with the same two — and the sign-ins through upstream
//! providers linked to the account (link: the browser goes upstream and comes back through the provider's
//! callback; unlink), and the account's PIN (set or changed with the current PIN or after a recent sign-in;
//! removed). The same rules as the REST API: a recent sign-in, codes checked once, notices sent.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{BrowserState, PageError, PageForm, browser_state, check_csrf, page, render, see_other};
use crate::apps::pin_format::PinFormat;
use crate::auth::{AccountError, AuthError, BrowserSession, CredentialError, FactorError, Principal};
use crate::federation::Trip;
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account_security.html")]
struct SecurityPage<'a> {
    section: &'static str,
    csrf: &'a str,
    username: &'a str,
    totp_on: bool,
    codes_left: i64,
    /// A pending authenticator: (QR PNG base64, secret).
    enrollment: Option<(String, String)>,
    /// Just made: shown this once.
    recovery_codes: Vec<String>,
    /// Linked identities: (id, provider name, upstream address).
    identities: Vec<(String, String, Option<String>)>,
    /// Providers that can still be linked: (id, name).
    linkable: Vec<(String, String)>,
    has_pin: bool,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    /// The provider to link, or the linked identity to unlink.
    #[serde(default)]
    provider: String,
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pin: String,
    /// The PIN set now, instead of a recent sign-in (empty: none given).
    #[serde(default)]
    current_pin: String,
}

#[derive(Deserialize)]
pub struct SecurityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

/// What the page shows besides the account's state.
#[derive(Default)]
struct View<'a> {
    enrollment: Option<(String, String)>,
    recovery_codes: Vec<String>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

pub async fn get_security(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    show(&state, &browser, session, StatusCode::OK, View::default()).await
}

/// Starts adding an authenticator app: shows its QR code and secret.
pub async fn post_start_totp(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<SecurityForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    enroll(&state, &browser, session, StatusCode::OK, None).await
}

/// The first code turns the authenticator on; the recovery codes are shown this once.
pub async fn post_confirm_totp(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<SecurityForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let caller = Principal::of_browser(session);
    match state
        .auth
        .factors
        .confirm_totp(&caller, &form.code, state.clock.now())
        .await
    {
        Ok(recovery_codes) => {
            let view = View {
                recovery_codes,
                notice: Some("Your authenticator app is on. Keep these recovery codes somewhere safe."),
                ..View::default()
            };
            show(&state, &browser, session, StatusCode::OK, view).await
        }
        // The secret is not shown twice: a wrong code starts over with a new one.
        Err(AuthError::Factor(FactorError::InvalidCode)) => {
            let message = "That code did not match. Scan this new code and try again.";
            enroll(&state, &browser, session, StatusCode::UNAUTHORIZED, Some(message)).await
        }
        Err(other) => refused(&state, &browser, session, other).await,
    }
}

/// Turns the authenticator off with the password and a current code.
pub async fn post_disable_totp(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<SecurityForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let caller = Principal::of_browser(session);
    let outcome = state
        .auth
        .factors
        .disable_totp(&caller, &form.password, &form.code, &client.0.key, state.clock.now())
        .await;
    match outcome {
        Ok(()) => {
            let view = View {
                notice: Some("Your authenticator app is off."),
                ..View::default()
            };
            show(&state, &browser, session, StatusCode::OK, view).await
        }
        Err(other) => refused(&state, &browser, session, other).await,
    }
}

/// Replaces the recovery codes, with the password and a current code; the new ones are shown this once.
pub async fn post_regenerate_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<SecurityForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let caller = Principal::of_browser(session);
    let outcome = state
        .auth
        .factors
        .regenerate_recovery_codes(&caller, &form.password, &form.code, &client.0.key, state.clock.now())
        .await;
    match outcome {
        Ok(recovery_codes) => {
            let view = View {
                recovery_codes,
                notice: Some("New recovery codes: the old ones no longer work. Keep these somewhere safe."),
                ..View::default()
            };
            show(&state, &browser, session, StatusCode::OK, view).await
        }
        Err(other) => refused(&state, &browser, session, other).await,
    }
}

/// Starts linking a sign-in through an upstream provider: after a recent sign-in, the browser goes upstream
/// and comes back through the provider's callback to this account.
pub async fn post_link_identity(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<IdentityForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let caller = Principal::of_browser(session);
    let now = state.clock.now();
    if let Err(refusal) = state.auth.accounts.may_link(&caller, now) {
        return refused(&state, &browser, session, refusal).await;
    }
    let binding = browser.binding();
    let app = state.apps.get(crate::apps::DEFAULT_SLUG).await?;
    let trip = Trip {
        provider_id: &form.provider,
        application_id: &app.id,
        binding: &binding,
        request_id: None,
        link_user_id: Some(&session.user.id),
        return_to: None,
    };
    let started = state.federation.start(trip, now).await?;
    Ok(see_other(&started.location))
}

/// Unlinks a sign-in through an upstream provider.
pub async fn post_unlink_identity(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<IdentityForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let caller = Principal::of_browser(session);
    match state
        .auth
        .accounts
        .unlink_identity(&caller, &form.id, state.clock.now())
        .await
    {
        Ok(()) => {
            let view = View {
                notice: Some("The sign-in was removed from your account."),
                ..View::default()
            };
            show(&state, &browser, session, StatusCode::OK, view).await
        }
        Err(other) => refused(&state, &browser, session, other).await,
    }
}

/// Sets or changes the account's PIN.
pub async fn post_set_pin(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<PinForm>,
) -> Result<HttpResponse, PageError> {
    pin_form(req, state, form, false).await
}

/// Removes the account's PIN.
pub async fn post_remove_pin(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<PinForm>,
) -> Result<HttpResponse, PageError> {
    pin_form(req, state, form, true).await
}

/// A PIN form: set (or change) it, or `remove` it, with the current PIN when one is given.
async fn pin_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<PinForm>,
    remove: bool,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let caller = Principal::of_browser(session);
    let current = Some(form.current_pin.as_str()).filter(|pin| !pin.is_empty());
    let accounts = &state.auth.accounts;
    let now = state.clock.now();
    let (done, notice) = if remove {
        (accounts.remove_pin(&caller, current, now).await, "Your PIN is removed.")
    } else {
        (
            // The account's page belongs to no application: any PIN format.
            accounts.set_pin(&caller, &form.pin, current, PinFormat::Any, now).await,
            "Your PIN is set.",
        )
    };
    pin_changed(&state, &browser, session, done, notice).await
}

async fn pin_changed(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    done: Result<(), AuthError>,
    notice: &'static str,
) -> Result<HttpResponse, PageError> {
    // The account as it is now (the session's copy predates the change).
    let mut session = session.clone();
    session.user = state.auth.accounts.find_user(&session.user.id).await?;
    match done {
        Ok(()) => {
            let view = View {
                notice: Some(notice),
                ..View::default()
            };
            show(state, browser, &session, StatusCode::OK, view).await
        }
        Err(other) => refused(state, browser, &session, other).await,
    }
}

/// The page after an upstream provider came back for a link: linked, or why not.
pub(super) async fn after_link(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    linked: Result<(), AuthError>,
) -> Result<HttpResponse, PageError> {
    match linked {
        Ok(()) => {
            let view = View {
                notice: Some("The sign-in is linked: you can use it to sign in to this account."),
                ..View::default()
            };
            show(state, browser, session, StatusCode::OK, view).await
        }
        Err(other) => refused(state, browser, session, other).await,
    }
}

async fn enroll(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    status: StatusCode,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let caller = Principal::of_browser(session);
    match state.auth.factors.start_totp(&caller, state.clock.now()).await {
        Ok(enrollment) => {
            let view = View {
                enrollment: Some((enrollment.qr_png_base64, enrollment.secret)),
                error,
                ..View::default()
            };
            show(state, browser, session, status, view).await
        }
        Err(other) => refused(state, browser, session, other).await,
    }
}

/// A refusal the user can act on, shown on the page; anything else is an error page.
async fn refused(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    error: AuthError,
) -> Result<HttpResponse, PageError> {
    let (status, message) = match error {
        AuthError::Credentials(CredentialError::ReauthenticationRequired { .. }) => (
            StatusCode::FORBIDDEN,
            "For your security, sign out and sign in again before changing how you sign in.",
        ),
        AuthError::Account(AccountError::IdentityTaken) => (
            StatusCode::CONFLICT,
            "That account at the provider is already linked to another account here.",
        ),
        AuthError::Account(AccountError::LastSignInMethod) => (
            StatusCode::CONFLICT,
            "This is your last way to sign in. Set a password or link another account first.",
        ),
        AuthError::Credentials(CredentialError::WrongPassword) => (StatusCode::FORBIDDEN, "The password is incorrect."),
        AuthError::Credentials(CredentialError::WrongPin) => (StatusCode::FORBIDDEN, "The current PIN is incorrect."),
        AuthError::Validation(fields) if fields.iter().any(|f| f.field == "pin") => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A PIN is 4 to 12 digits, or a passphrase of 8 to 128 characters.",
        ),
        AuthError::Factor(FactorError::InvalidCode) => {
            (StatusCode::UNAUTHORIZED, "The code is incorrect or has expired.")
        }
        AuthError::Factor(FactorError::TotpAlreadyEnabled) => {
            (StatusCode::CONFLICT, "An authenticator app is already on.")
        }
        AuthError::Factor(FactorError::TotpNotPending) => {
            (StatusCode::CONFLICT, "Start adding an authenticator app first.")
        }
        other => return Err(other.into()),
    };
    let view = View {
        error: Some(message),
        ..View::default()
    };
    show(state, browser, session, status, view).await
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    status: StatusCode,
    view: View<'_>,
) -> Result<HttpResponse, PageError> {
    let methods = state.auth.factors.second_factors(&session.user).await?;
    let totp_on = methods.contains(&crate::auth::mfa::Method::Totp);
    let codes_left = state.auth.factors.recovery_codes_left(&session.user).await?;
    let caller = Principal::of_browser(session);
    let linked = state.auth.accounts.identities(&caller).await?;
    let providers = state.federation.providers.all().await?;
    let name = |id: &str| {
        providers
            .iter()
            .find(|(p, _)| p.id == id)
            .map_or_else(|| id.to_owned(), |(p, _)| p.display_name().to_owned())
    };
    let identities = linked
        .iter()
        .map(|i| (i.id.clone(), name(&i.provider_id), i.email.clone()))
        .collect();
    let linkable = providers
        .iter()
        .filter(|(p, _)| !linked.iter().any(|i| i.provider_id == p.id))
        .map(|(p, _)| (p.id.clone(), p.display_name().to_owned()))
        .collect();
    let mut response = page(status);
    browser.keep_csrf(&mut response);
    render(
        response,
        &SecurityPage {
            section: "security",
            csrf: &browser.csrf,
            username: &session.user.username,
            totp_on,
            codes_left,
            enrollment: view.enrollment,
            recovery_codes: view.recovery_codes,
            identities,
            linkable,
            has_pin: session.user.pin_hash.is_some(),
            notice: view.notice,
            error: view.error,
        },
    )
}
