//! `GET` and `POST /oauth2/authorize` (OIDC Core §3.1.2.1: both MUST be supported).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::pages::{PageError, PageForm, browser_state, outcome_response};
use crate::oidc::params::Params;
use crate::state::AppState;

pub async fn get_authorize(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes());
    authorize(&req, &state, params).await
}

/// The parameters in a form body (a non-form body, one too large or too slow is an error page).
pub async fn post_authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<Params>,
) -> Result<HttpResponse, PageError> {
    authorize(&req, &state, form.0).await
}

async fn authorize(req: &HttpRequest, state: &AppState, params: Params) -> Result<HttpResponse, PageError> {
    let browser = browser_state(req, state).await?;
    let binding = browser.binding();
    let outcome = state
        .oidc
        .authorize(&params, browser.as_browser(&binding), state.clock.now())
        .await;
    let mut response = outcome_response(outcome, state)?;
    if let Some(cookie) = &browser.new_csrf_cookie {
        response.add_cookie(cookie).map_err(PageError::internal)?;
    }
    Ok(response)
}
