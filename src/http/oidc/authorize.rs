//! `GET` and `POST /oauth2/authorize` (OIDC Core §3.1.2.1: both MUST be supported).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::pages::{PageError, browser_state, outcome_response};
use crate::oidc::params::Params;
use crate::state::AppState;

pub async fn get_authorize(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes());
    authorize(&req, &state, params).await
}

pub async fn post_authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    if !super::is_form(&req) {
        return Err(PageError::bad_request(
            "An authorization request sent by POST must be a form (application/x-www-form-urlencoded).",
        ));
    }
    authorize(&req, &state, Params::parse(&body)).await
}

async fn authorize(req: &HttpRequest, state: &AppState, params: Params) -> Result<HttpResponse, PageError> {
    let browser = browser_state(req, state).await?;
    let binding = browser.binding();
    let outcome = state
        .oidc
        .authorize(&params, browser.as_browser(&binding), state.clock.now())
        .await;
    let mut response = outcome_response(outcome, state.oidc.issuer())?;
    if let Some(cookie) = &browser.new_csrf_cookie {
        response.add_cookie(cookie).map_err(PageError::internal)?;
    }
    Ok(response)
}
