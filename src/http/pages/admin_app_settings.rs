//! The settings form of an application's console page: read into an `AppSpec` (numbers checked here, every
//! other rule by `AppService`), saved, or shown again with what is wrong.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::admin::console_form;
use super::admin_apps::{Shown, refusal, show_app};
use super::{PageError, PageForm, see_other};
use crate::apps::AppSpec;
use crate::apps::policy::PolicySpec;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    rate_limit_per_minute: String,
    #[serde(default)]
    access_token_ttl_secs: String,
    #[serde(default)]
    refresh_token_ttl_secs: String,
    #[serde(default)]
    access_mode: String,
    method_password: Option<String>,
    method_email_code: Option<String>,
    method_sms_code: Option<String>,
    method_external: Option<String>,
    method_passkey: Option<String>,
    channel_email: Option<String>,
    channel_sms: Option<String>,
    #[serde(default)]
    external_providers: String,
    #[serde(default)]
    code_ttl_secs: String,
    #[serde(default)]
    ip_ranges: String,
    #[serde(default)]
    idle_timeout_secs: String,
    #[serde(default)]
    pin_format: String,
}

/// `text` as a number, or the sentence saying it is not one.
pub(super) fn number<T: std::str::FromStr>(field: &str, text: &str, errors: &mut Vec<String>) -> Option<T> {
    let parsed = text.trim().parse().ok();
    if parsed.is_none() {
        errors.push(format!("{field}: must be a whole number"));
    }
    parsed
}

impl SettingsForm {
    /// The settings the form sets, or the fields that are not numbers.
    fn spec(&self) -> Result<AppSpec, Vec<String>> {
        let mut errors = Vec::new();
        let checked = |pairs: &[(&Option<String>, &str)]| -> Vec<String> {
            pairs
                .iter()
                .filter(|(on, _)| on.is_some())
                .map(|(_, name)| (*name).to_owned())
                .collect()
        };
        let idle = self.idle_timeout_secs.trim();
        let spec = AppSpec {
            name: Some(self.name.clone()),
            slug: None,
            rate_limit_per_minute: number("rate_limit_per_minute", &self.rate_limit_per_minute, &mut errors),
            access_token_ttl_secs: number("access_token_ttl_secs", &self.access_token_ttl_secs, &mut errors),
            refresh_token_ttl_secs: number("refresh_token_ttl_secs", &self.refresh_token_ttl_secs, &mut errors),
            policy: PolicySpec {
                access_mode: Some(self.access_mode.clone()),
                login_methods: Some(checked(&[
                    (&self.method_password, "password"),
                    (&self.method_email_code, "email_code"),
                    (&self.method_sms_code, "sms_code"),
                    (&self.method_external, "external"),
                    (&self.method_passkey, "passkey"),
                ])),
                verification_channels: Some(checked(&[(&self.channel_email, "email"), (&self.channel_sms, "sms")])),
                code_ttl_secs: number("code_ttl_secs", &self.code_ttl_secs, &mut errors),
                home_client_id: None,
                external_providers: Some(
                    self.external_providers
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ),
                ip_ranges: Some(
                    self.ip_ranges
                        .lines()
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ),
                idle_timeout_secs: Some(if idle.is_empty() {
                    None
                } else {
                    number("idle_timeout_secs", idle, &mut errors)
                }),
                pin_format: Some(self.pin_format.clone()),
            },
        };
        if errors.is_empty() { Ok(spec) } else { Err(errors) }
    }
}

pub async fn post_app(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<SettingsForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let refused = |errors| Shown {
        errors,
        ..Shown::default()
    };
    let spec = match form.spec() {
        Ok(spec) => spec,
        Err(errors) => return show_app(&state, &browser, &id, StatusCode::UNPROCESSABLE_ENTITY, refused(errors)).await,
    };
    match state.apps.update(&id, spec, state.clock.now()).await {
        Ok(app) => Ok(see_other(&format!("/admin/apps/{}?done=saved", app.id))),
        Err(error) => {
            let errors = refusal(error)?;
            show_app(&state, &browser, &id, StatusCode::UNPROCESSABLE_ENTITY, refused(errors)).await
        }
    }
}
