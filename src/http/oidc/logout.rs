//! `GET`/`POST /oauth2/logout` (RP-Initiated Logout 1.0) and the confirmation form behind it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::http::pages::{
    BrowserState, PageError, PageForm, browser_state, check_csrf, clear_session_cookie, page, render, see_other,
};
use crate::oidc::logout::LogoutPlan;
use crate::oidc::params::Params;
use crate::state::AppState;

/// The request parameters a confirmation form carries over.
const CARRIED: &[&str] = &["id_token_hint", "client_id", "post_logout_redirect_uri", "state"];

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    client_name: Option<&'a str>,
    username: Option<&'a str>,
    carried: Vec<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOutPage;

pub async fn get_logout(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes());
    logout(&req, &state, params, false).await
}

/// An RP may also send its logout request as a form; the confirmation form comes back here too.
pub async fn post_logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<Params>,
) -> Result<HttpResponse, PageError> {
    let params = form.0;
    let confirmed = params.get("confirm").ok().flatten() == Some("yes");
    if confirmed {
        let csrf = params.get("csrf").ok().flatten().unwrap_or_default();
        check_csrf(&req, &state, csrf)?;
    }
    logout(&req, &state, params, confirmed).await
}

async fn logout(
    req: &HttpRequest,
    state: &AppState,
    params: Params,
    confirmed: bool,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(req, state).await?;
    let plan = state.oidc.plan_logout(&params, browser.session.as_ref()).await;
    match plan {
        LogoutPlan::Refuse(message) => Err(PageError::bad_request(message)),
        LogoutPlan::Unavailable(error) => Err(error.into()),
        LogoutPlan::Now { redirect, hinted } => end_session(state, &browser, hinted, redirect).await,
        LogoutPlan::Confirm { redirect, .. } if confirmed || browser.session.is_none() => {
            end_session(state, &browser, None, redirect).await
        }
        LogoutPlan::Confirm { client_name, .. } => {
            let carried = CARRIED
                .iter()
                .filter_map(|name| params.get(name).ok().flatten().map(|value| (*name, value)))
                .collect();
            let mut response = page(StatusCode::OK);
            browser.keep_csrf(&mut response);
            render(
                response,
                &ConfirmPage {
                    csrf: &browser.csrf,
                    client_name: client_name.as_deref(),
                    username: browser.session.as_ref().map(|s| s.user.username.as_str()),
                    carried,
                },
            )
        }
    }
}

/// Ends the browser's session and the one the hint named (with their non-offline grants), clears the cookie,
/// and leaves.
async fn end_session(
    state: &AppState,
    browser: &BrowserState,
    hinted: Option<String>,
    redirect: Option<String>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    for id in browser.session.iter().map(|s| s.id.clone()).chain(hinted) {
        state.auth.sessions.end_browser_session(&id, now).await?;
    }
    let mut response = match redirect {
        Some(location) => see_other(&location),
        None => render(page(StatusCode::OK), &LoggedOutPage)?,
    };
    response
        .add_cookie(&clear_session_cookie(state))
        .map_err(PageError::internal)?;
    Ok(response)
}
