//! `/account/applications`: the third-party clients the account consented to, with what they may see, and
//! withdrawing a consent — the client asks again next time, and its tokens for this account stop at once
//! (`OidcService::revoke_consent`, which records the audit event).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::account::{DoneQuery, signed_in, signed_in_form};
use super::admin::console_page;
use super::{PageError, PageForm, see_other};
use crate::clock::rfc3339;
use crate::state::AppState;

struct ConsentRow {
    client_id: String,
    name: String,
    scopes: String,
    granted: String,
}

#[derive(Template)]
#[template(path = "account_applications.html")]
struct ApplicationsPage<'a> {
    section: &'static str,
    csrf: &'a str,
    consents: Vec<ConsentRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
}

pub async fn get_applications(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let (browser, session) = match signed_in(&req, &state).await? {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let consents = state.oidc.consents(&session.user.id).await?;
    let template = ApplicationsPage {
        section: "applications",
        csrf: &browser.csrf,
        consents: consents
            .into_iter()
            .map(|c| ConsentRow {
                scopes: c.scopes.join(" "),
                granted: rfc3339(c.granted_at),
                name: c.client_name,
                client_id: c.client_id,
            })
            .collect(),
        notice: (query.done.as_deref() == Some("revoked"))
            .then_some("The application's access is withdrawn: its tokens stopped working, and it will ask again."),
    };
    console_page(&browser, actix_web::http::StatusCode::OK, &template)
}

/// Withdraws a consent, then shows the list again (POST, then GET).
pub async fn post_revoke_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    let session = match signed_in_form(&req, &state, &form.csrf).await? {
        Ok((_, session)) => session,
        Err(redirect) => return Ok(redirect),
    };
    state
        .oidc
        .revoke_consent(&session.user.id, &form.client_id, state.clock.now())
        .await?;
    Ok(see_other("/account/applications?done=revoked"))
}
