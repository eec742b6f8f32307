//! `/invite/{token}`: an invitation's page. Accepting makes the invitee a member — with their account, or a
//! new one — and then the application's access link signs them in as it asks.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{PageError, PageForm, browser_state, check_csrf, encode, page, render, see_other};
use crate::auth::invitations::OpenInvitation;
use crate::auth::{AccountError, AuthError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage<'a> {
    csrf: &'a str,
    token: &'a str,
    app: &'a str,
    email: &'a str,
    /// Accepting makes the account the invitee's (new, or unproven until now).
    claims: bool,
    new_account: bool,
    asks_password: bool,
    username: &'a str,
    min_password: usize,
    error: Option<&'a str>,
    errors: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
pub struct InvitationForm {
    #[serde(default)]
    csrf: String,
    username: Option<String>,
    password: Option<String>,
}

pub async fn get_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let open = state.auth.accounts.open_invitation(&token, state.clock.now()).await?;
    let mut response = page(StatusCode::OK);
    browser.keep_csrf(&mut response);
    response.insert_header((actix_web::http::header::REFERRER_POLICY, "no-referrer"));
    show(response, &browser.csrf, &token, &open, "", None, Vec::new(), &state)
}

pub async fn post_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: PageForm<InvitationForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let now = state.clock.now();
    let accepted = state
        .auth
        .accounts
        .accept_invitation(&token, form.username.as_deref(), form.password.as_deref(), now)
        .await;
    let (status, error, errors) = match accepted {
        Ok((app, _)) => return Ok(see_other(&format!("/a/{}", encode(&app.slug)))),
        Err(AuthError::Validation(problems)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            problems.into_iter().map(|p| (p.field, p.message)).collect(),
        ),
        Err(AuthError::Account(AccountError::UsernameTaken)) => (
            StatusCode::CONFLICT,
            None,
            vec![("username", "is already taken".to_owned())],
        ),
        Err(AuthError::Account(AccountError::EmailTaken)) => (
            StatusCode::CONFLICT,
            Some("An account with this address was made a moment ago; open the link again."),
            Vec::new(),
        ),
        Err(other) => return Err(other.into()),
    };
    let open = state.auth.accounts.open_invitation(&token, now).await?;
    let username = form.username.clone().unwrap_or_default();
    show(
        page(status),
        &browser.csrf,
        &token,
        &open,
        &username,
        error,
        errors,
        &state,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "each is one piece of the page, named at the call"
)]
fn show(
    response: actix_web::HttpResponseBuilder,
    csrf: &str,
    token: &str,
    open: &OpenInvitation,
    username: &str,
    error: Option<&str>,
    errors: Vec<(&'static str, String)>,
    state: &AppState,
) -> Result<HttpResponse, PageError> {
    render(
        response,
        &InvitationPage {
            csrf,
            token,
            app: &open.app.name,
            email: &open.email,
            claims: open.claims_account(),
            new_account: open.account.is_none(),
            asks_password: open.asks_password(),
            username,
            min_password: state.config.password.min_length,
            error,
            errors,
        },
    )
}
