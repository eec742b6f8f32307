//! An application's API keys in the console: made and shown on that one response (never in a URL, never
//! again), and revoked.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::admin::ConfirmForm;
use super::admin::console_form;
use super::admin_app_settings::number;
use super::admin_apps::{Shown, refusal, show_app};
use super::{PageError, PageForm, see_other};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_days: String,
}

/// Makes an API key and shows it on this response only (never in a URL, never again).
pub async fn post_api_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<KeyForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let now = state.clock.now();
    let mut errors = Vec::new();
    let days = form.expires_in_days.trim();
    let expires_at = match days {
        "" => None,
        days => {
            number::<i64>("expires_in_days", days, &mut errors).map(|d| now.saturating_add(d.saturating_mul(86_400)))
        }
    };
    if !errors.is_empty() {
        return show_app(
            &state,
            &browser,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                errors,
                ..Shown::default()
            },
        )
        .await;
    }
    match state.apps.create_api_key(&id, &form.name, expires_at, now).await {
        Ok(created) => {
            let shown = Shown {
                new_key: Some(created.key),
                ..Shown::default()
            };
            show_app(&state, &browser, &id, StatusCode::CREATED, shown).await
        }
        Err(error) => {
            let errors = refusal(error)?;
            show_app(
                &state,
                &browser,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Shown {
                    errors,
                    ..Shown::default()
                },
            )
            .await
        }
    }
}

pub async fn post_revoke_api_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: PageForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    if console_form(&req, &state, &form.csrf).await?.is_none() {
        return Ok(see_other("/login"));
    }
    let (app, key) = path.into_inner();
    state.apps.revoke_api_key(&app, &key, state.clock.now()).await?;
    Ok(see_other(&format!("/admin/apps/{app}?done=key_revoked")))
}
