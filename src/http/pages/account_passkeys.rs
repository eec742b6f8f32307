//! `/account/security/passkeys`: the signed-in account's passkeys — each with its name, when it was added and
//! last used — adding one (a name, then the browser's WebAuthn ceremony run by `static/passkeys.js`: its
//! options from `POST …/options` as JSON, its answer posted back as a form), renaming one, and removing one
//! (after a recent sign-in, or with the password). The same rules as every factor change: CSRF-checked forms,
//! a recent sign-in to add one, audit events and notices.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::account::{CsrfForm, DoneQuery, signed_in, signed_in_form};
use super::{BrowserState, PageError, PageForm, page_with_passkeys, render, see_other};
use crate::auth::{AuthError, BrowserSession, CredentialError, FactorError, Principal};
use crate::clock::rfc3339;
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

const PAGE_PATH: &str = "/account/security/passkeys";

#[derive(Template)]
#[template(path = "account_passkeys.html")]
struct PasskeysPage<'a> {
    section: &'static str,
    csrf: &'a str,
    username: &'a str,
    /// The server can use passkeys (its issuer is a domain).
    enabled: bool,
    passkeys: Vec<PasskeyLine>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

struct PasskeyLine {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    /// The password, instead of a recent sign-in (empty: none given).
    #[serde(default)]
    password: String,
}

pub async fn get_passkeys(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in(&req, &state).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let notice = match query.done.as_deref() {
        Some("added") => Some("The passkey was added. You can sign in with it now."),
        Some("renamed") => Some("The passkey was renamed."),
        Some("removed") => Some("The passkey was removed."),
        _ => None,
    };
    show(&state, &browser, &session, StatusCode::OK, notice, None).await
}

/// The options of a new passkey's ceremony, as JSON.
pub async fn post_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let challenge = state
        .auth
        .factors
        .start_passkey_registration(&Principal::of_browser(&session), &browser.binding(), state.clock.now())
        .await?;
    Ok(super::passkey::options_response(challenge))
}

/// Stores the new passkey the authenticator made.
pub async fn post_add(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<AddForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Principal::of_browser(&session);
    let binding = browser.binding();
    let added = state
        .auth
        .factors
        .finish_passkey_registration(
            &caller,
            &binding,
            &form.ceremony,
            &form.credential,
            &form.name,
            state.clock.now(),
        )
        .await;
    match added {
        Ok(_) => Ok(see_other(&format!("{PAGE_PATH}?done=added"))),
        Err(other) => refused(&state, &browser, &session, other).await,
    }
}

/// Renames one of the account's passkeys.
pub async fn post_rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Principal::of_browser(&session);
    match state.auth.factors.rename_passkey(&caller, &form.id, &form.name).await {
        Ok(()) => Ok(see_other(&format!("{PAGE_PATH}?done=renamed"))),
        Err(other) => refused(&state, &browser, &session, other).await,
    }
}

/// Removes one of the account's passkeys, after a recent sign-in or with the password.
pub async fn post_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Principal::of_browser(&session);
    let removed = state
        .auth
        .factors
        .remove_passkey(&caller, &form.id, &form.password, &client.0.key, state.clock.now())
        .await;
    match removed {
        Ok(()) => Ok(see_other(&format!("{PAGE_PATH}?done=removed"))),
        Err(other) => refused(&state, &browser, &session, other).await,
    }
}

/// The page again with what went wrong; anything else is an error page.
async fn refused(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    error: AuthError,
) -> Result<HttpResponse, PageError> {
    let (status, message) = match error {
        AuthError::Factor(FactorError::PasskeyRefused) => (
            StatusCode::UNAUTHORIZED,
            "The passkey was not added: the browser's answer was not accepted, or this passkey is here already.",
        ),
        AuthError::Factor(FactorError::MethodUnavailable(_)) => {
            (StatusCode::NOT_FOUND, "There is no such passkey, or the name is empty.")
        }
        AuthError::Credentials(CredentialError::WrongPassword) => (StatusCode::FORBIDDEN, "The password is incorrect."),
        AuthError::Credentials(CredentialError::ReauthenticationRequired { .. }) => (
            StatusCode::FORBIDDEN,
            "This needs a recent sign-in (or, to remove a passkey, your password). Please sign in again, then retry.",
        ),
        other => return Err(other.into()),
    };
    show(state, browser, session, status, None, Some(message)).await
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let passkeys = state.auth.factors.list_passkeys(&session.user).await?;
    let passkeys = passkeys
        .into_iter()
        .map(|p| PasskeyLine {
            id: p.id,
            name: p.name,
            created: rfc3339(p.created_at),
            last_used: p.last_used_at.map_or_else(|| "never".into(), rfc3339),
        })
        .collect();
    let mut response = page_with_passkeys(status, None);
    response.insert_header((CACHE_CONTROL, "no-store"));
    browser.keep_csrf(&mut response);
    render(
        response,
        &PasskeysPage {
            section: "security",
            csrf: &browser.csrf,
            username: &session.user.username,
            enabled: state.auth.factors.passkeys_enabled(),
            passkeys,
            notice,
            error,
        },
    )
}
