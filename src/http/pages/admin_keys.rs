//! `/admin/keys`: the signing keys in the console — the JWKS timeline (next, active, retired) and a rotation,
//! scheduled with the usual lead or at once after a compromise. The same rotation as `tessera keys rotate`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{console, console_form, console_page};
use super::{BrowserState, PageError, PageForm, see_other};
use crate::clock::rfc3339;
use crate::state::{AppState, key_policy};
use crate::tokens::keyring::KeyRingError;

#[derive(Template)]
#[template(path = "admin_keys.html")]
struct KeysPage<'a> {
    section: &'static str,
    csrf: &'a str,
    /// (kid, algorithm, created, status)
    keys: Vec<(String, String, String, String)>,
    lead_secs: i64,
    notice: Option<&'static str>,
    error: Option<String>,
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let keys = state
        .keys
        .timeline(&state.db, state.clock.now())
        .await
        .map_err(PageError::internal)?;
    let template = KeysPage {
        section: "keys",
        csrf: &browser.csrf,
        keys: keys
            .into_iter()
            .map(|key| (key.kid, key.algorithm, rfc3339(key.created_at), key.status.describe()))
            .collect(),
        lead_secs: key_policy(&state.config).lead,
        notice,
        error,
    };
    console_page(browser, status, &template)
}

#[derive(Deserialize)]
pub struct KeysQuery {
    done: Option<String>,
}

pub async fn get_keys(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<KeysQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let notice = match query.done.as_deref() {
        Some("scheduled") => Some("The next keys are published; they start signing at the time shown."),
        Some("now") => Some("The new keys sign now; the replaced ones stay published for the tokens they signed."),
        _ => None,
    };
    show(&state, &browser, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    confirm: String,
}

pub async fn post_rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<RotateForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let now_please = match (form.mode.as_str(), form.confirm.as_str()) {
        ("scheduled", _) => false,
        ("now", "yes") => true,
        _ => {
            return Err(PageError::bad_request(
                "Choose a rotation, and tick the box to replace the key at once.",
            ));
        }
    };
    let policy = key_policy(&state.config);
    match state
        .keys
        .rotate(&state.db, policy, state.clock.now(), now_please)
        .await
    {
        Ok(_) => Ok(see_other(if now_please {
            "/admin/keys?done=now"
        } else {
            "/admin/keys?done=scheduled"
        })),
        Err(refused @ KeyRingError::AlreadyScheduled { .. }) => {
            show(&state, &browser, StatusCode::CONFLICT, None, Some(refused.to_string())).await
        }
        Err(other) => Err(other.into()),
    }
}
