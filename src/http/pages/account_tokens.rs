//! `/account/tokens`: the account's private tokens in the browser — listed (never their secrets), made
//! (description, expiry in days, scopes the account holds) and rotated, the new secret shown on that answer
//! only (never in an address, never stored), and revoked. The same service calls, and so the same rules, as
//! `/api/v1/tokens`: a signed-in person, not a guest, no scope the account lacks, an expiry within
//! `tokens.private_token_max_ttl_days`. Tokens made here belong to the default application.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::account::{CsrfForm, DoneQuery, signed_in, signed_in_form};
use super::admin::console_page;
use super::{BrowserState, PageError, PageForm, see_other};
use crate::auth::{
    AccessError, AuthError, BrowserSession, NewPrivateToken, Principal, PrivateTokenError, PrivateTokenRequest,
};
use crate::clock::rfc3339;
use crate::state::AppState;

/// The expiry the form suggests, in days (less when the limit is lower).
const DEFAULT_DAYS: i64 = 90;
const DAY_SECS: i64 = 24 * 3600;

struct TokenRow {
    id: String,
    description: String,
    prefix: String,
    scopes: String,
    status: &'static str,
    expires_at: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "account_tokens.html")]
struct TokensPage<'a> {
    section: &'static str,
    csrf: &'a str,
    tokens: Vec<TokenRow>,
    /// The scopes the account holds, which a token may carry.
    scopes: Vec<&'a str>,
    max_days: i64,
    default_days: i64,
    /// Just made or rotated: (description, token), shown this once.
    made: Option<(String, String)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// The form making a token, read from its pairs (the scopes' checkboxes repeat one name).
struct CreateForm {
    csrf: String,
    description: String,
    days: Option<i64>,
    scopes: Vec<String>,
}

impl CreateForm {
    fn read(pairs: &[(String, String)]) -> Self {
        let field = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        Self {
            csrf: field("csrf").unwrap_or_default(),
            description: field("description").unwrap_or_default(),
            // Whole days, bounded so the arithmetic cannot overflow; the service checks the real limit.
            days: field("days")
                .and_then(|d| d.trim().parse::<i64>().ok())
                .filter(|d| (1..=1_000_000).contains(d)),
            scopes: pairs
                .iter()
                .filter(|(n, _)| n == "scope")
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }
}

/// What the page shows besides the list.
#[derive(Default)]
struct View {
    made: Option<(String, String)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

pub async fn get_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in(&req, &state).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let notice = (query.done.as_deref() == Some("revoked")).then_some("The token is revoked: it stopped working.");
    let view = View {
        notice,
        ..View::default()
    };
    show(&state, &browser, &session, StatusCode::OK, view).await
}

/// Makes a token; the answer shows it this once.
pub async fn post_create_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let form = CreateForm::read(&form);
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let now = state.clock.now();
    let app = state.apps.get(crate::apps::DEFAULT_SLUG).await?;
    let request = PrivateTokenRequest {
        description: Some(form.description),
        expires_at: form.days.map(|days| now + days * DAY_SECS),
        scopes: Some(form.scopes),
    };
    let made = state
        .auth
        .private_tokens
        .create_private_token(&Principal::of_browser(&session), &app, request, now)
        .await;
    answer_made(&state, &browser, &session, made).await
}

/// Replaces a token's secret; the answer shows the new one this once.
pub async fn post_rotate_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let made = state
        .auth
        .private_tokens
        .rotate_private_token(&Principal::of_browser(&session), &id, state.clock.now())
        .await;
    answer_made(&state, &browser, &session, made).await
}

/// Revokes a token at once, then shows the list again (POST, then GET).
pub async fn post_revoke_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let revoked = state
        .auth
        .private_tokens
        .revoke_private_token(&session.user.id, &id, "revoked_by_user", state.clock.now())
        .await;
    match revoked {
        Ok(()) => Ok(see_other("/account/tokens?done=revoked")),
        Err(error) => refused(&state, &browser, &session, error).await,
    }
}

async fn answer_made(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    made: Result<NewPrivateToken, AuthError>,
) -> Result<HttpResponse, PageError> {
    match made {
        Ok(made) => {
            let view = View {
                made: Some((made.info.description, made.token)),
                ..View::default()
            };
            show(state, browser, session, StatusCode::OK, view).await
        }
        Err(error) => refused(state, browser, session, error).await,
    }
}

/// A refusal the person can act on, shown on the page; anything else is an error page.
async fn refused(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    error: AuthError,
) -> Result<HttpResponse, PageError> {
    let max_days = max_days(state);
    let (status, message) = match error {
        AuthError::Validation(fields) => {
            let messages: Vec<String> = fields
                .iter()
                .map(|f| match f.field {
                    "description" => "Say what the token is for, in 1 to 200 characters.".to_owned(),
                    "expires_at" if f.message.contains("expired") => {
                        "This token has expired: make a new one instead.".to_owned()
                    }
                    "expires_at" => format!("Choose an expiry of 1 to {max_days} days."),
                    other => format!("{other}: {}", f.message),
                })
                .collect();
            (StatusCode::UNPROCESSABLE_ENTITY, messages.join(" "))
        }
        AuthError::PrivateToken(PrivateTokenError::ScopeNotHeld(scope)) => (
            StatusCode::FORBIDDEN,
            format!("Your account does not hold the scope “{scope}”, so no token of yours can carry it."),
        ),
        AuthError::PrivateToken(PrivateTokenError::UnknownToken) => (
            StatusCode::NOT_FOUND,
            "There is no such live token of yours. Reload the page to see those that are.".to_owned(),
        ),
        AuthError::Access(AccessError::GuestAccount) => (
            StatusCode::FORBIDDEN,
            "A guest cannot make private tokens. Register first.".to_owned(),
        ),
        other => return Err(other.into()),
    };
    let view = View {
        error: Some(message),
        ..View::default()
    };
    show(state, browser, session, status, view).await
}

/// The longest expiry a token made now may have, in whole days.
fn max_days(state: &AppState) -> i64 {
    let now = state.clock.now();
    (state.auth.private_tokens.latest_expiry(now) - now) / DAY_SECS
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    session: &BrowserSession,
    status: StatusCode,
    view: View,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let tokens = state.auth.private_tokens.list_private_tokens(&session.user.id).await?;
    let rows = tokens
        .into_iter()
        .map(|t| TokenRow {
            status: match t.revoked_at {
                Some(_) => "revoked",
                None if t.expires_at <= now => "expired",
                None => "active",
            },
            scopes: if t.scopes.is_empty() {
                "none".into()
            } else {
                t.scopes.join(" ")
            },
            expires_at: rfc3339(t.expires_at),
            last_used: t.last_used_at.map_or_else(|| "never".into(), rfc3339),
            id: t.id,
            description: t.description,
            prefix: t.prefix,
        })
        .collect();
    let max_days = max_days(state);
    let template = TokensPage {
        section: "tokens",
        csrf: &browser.csrf,
        tokens: rows,
        scopes: session.user.scopes.split_whitespace().collect(),
        max_days,
        default_days: DEFAULT_DAYS.min(max_days),
        made: view.made,
        notice: view.notice,
        error: view.error,
    };
    console_page(browser, status, &template)
}
