//! `/account/sessions`: where the account is signed in — its live browser sessions (this one marked) and token
//! families (REST sign-ins and OAuth grants, with their application) — and ending one, or every one but this
//! browser (`Sessions::end_sign_in`, `end_other_sign_ins`, which record the audit events).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::account::{CsrfForm, DoneQuery, signed_in, signed_in_form};
use super::admin::console_page;
use super::{PageError, PageForm, see_other};
use crate::auth::{BrowserSignIn, FamilySignIn, SignInKind};
use crate::clock::rfc3339;
use crate::state::AppState;

struct BrowserRow {
    id: String,
    started: String,
    last_seen: String,
    how: String,
    current: bool,
}

impl From<BrowserSignIn> for BrowserRow {
    fn from(browser: BrowserSignIn) -> Self {
        Self {
            started: rfc3339(browser.started_at),
            last_seen: rfc3339(browser.last_seen_at),
            how: methods(&browser.amr),
            current: browser.current,
            id: browser.id,
        }
    }
}

struct FamilyRow {
    id: String,
    /// The OAuth client, or what a REST sign-in is.
    what: String,
    application: String,
    started: String,
    last_active: String,
    note: &'static str,
}

impl From<FamilySignIn> for FamilyRow {
    fn from(family: FamilySignIn) -> Self {
        Self {
            what: family.client_name.unwrap_or_else(|| "Sign-in through the API".into()),
            application: family.application_name.unwrap_or_default(),
            started: rfc3339(family.started_at),
            last_active: family.last_active_at.map_or_else(|| "not since".into(), rfc3339),
            note: match (family.in_this_browser, family.offline) {
                (true, _) => "granted in this browser",
                (false, true) => "offline access",
                (false, false) => "",
            },
            id: family.id,
        }
    }
}

/// What an `amr` list says, in words.
fn methods(amr: &str) -> String {
    let words: Vec<&str> = amr
        .split_whitespace()
        .filter(|m| *m != "mfa")
        .map(|m| match m {
            "pwd" => "password",
            "otp" => "e-mail code",
            "sms" => "text message",
            "totp" => "authenticator app",
            "pin" => "PIN",
            "fed" => "another provider",
            other => other,
        })
        .collect();
    if words.is_empty() {
        "—".into()
    } else {
        words.join(", ")
    }
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage<'a> {
    section: &'static str,
    csrf: &'a str,
    browsers: Vec<BrowserRow>,
    families: Vec<FamilyRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    /// `browser` or `family`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    id: String,
}

pub async fn get_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in(&req, &state).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let sign_ins = state.auth.sessions.sign_ins(&session, state.clock.now()).await?;
    let template = SessionsPage {
        section: "sessions",
        csrf: &browser.csrf,
        browsers: sign_ins.browsers.into_iter().map(BrowserRow::from).collect(),
        families: sign_ins.families.into_iter().map(FamilyRow::from).collect(),
        notice: match query.done.as_deref() {
            Some("ended") => Some("That sign-in has ended: its tokens stopped working."),
            Some("others") => Some("Every other sign-in has ended. This browser stays signed in."),
            _ => None,
        },
    };
    console_page(&browser, actix_web::http::StatusCode::OK, &template)
}

/// Ends one sign-in, then shows the list again (POST, then GET).
pub async fn post_end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<EndForm>,
) -> Result<HttpResponse, PageError> {
    let session = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok((_, session)) => session,
        Err(redirect) => return Ok(redirect),
    };
    let kind = match form.kind.as_str() {
        "browser" => SignInKind::Browser,
        "family" => SignInKind::Family,
        _ => return Err(PageError::bad_request("There is no such kind of sign-in.")),
    };
    state
        .auth
        .sessions
        .end_sign_in(&session, kind, &form.id, state.clock.now())
        .await?;
    Ok(see_other("/account/sessions?done=ended"))
}

/// Ends every sign-in but this browser's, then shows the list again.
pub async fn post_end_other_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let session = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok((_, session)) => session,
        Err(redirect) => return Ok(redirect),
    };
    state
        .auth
        .sessions
        .end_other_sign_ins(&session, state.clock.now())
        .await?;
    Ok(see_other("/account/sessions?done=others"))
}
