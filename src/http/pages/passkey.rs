//! Passkey sign-in from `/login`: `POST /login/passkey/options` answers the options of a usernameless
//! ceremony as JSON (for `static/passkeys.js`), and `POST /login/passkey` takes the authenticator's answer as
//! a form and goes on like any first factor (`auth::flow::passkey`). Both are CSRF-checked like every form; the
//! ceremony is bound to this browser. The second factor's twins are in `mfa`, the account's passkeys in
//! `account_passkeys`.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::login::{LoginView, refused};
use super::{PageError, PageForm, SignInContext, account_passkeys, browser_state, check_csrf, mfa, progress_response};
use crate::auth::mfa::PasskeyChallenge;
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

/// Registers the passkey routes of the sign-in and of the account console.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/login/passkey/options").post(post_options))
        .service(web::resource("/login/passkey").post(post_sign_in))
        .service(web::resource("/login/mfa/passkey/options").post(mfa::post_passkey_options))
        .service(web::resource("/login/mfa/passkey").post(mfa::post_passkey))
        .service(
            web::resource("/account/security/passkeys")
                .get(account_passkeys::get_passkeys)
                .post(account_passkeys::post_add),
        )
        .service(web::resource("/account/security/passkeys/options").post(account_passkeys::post_options))
        .service(web::resource("/account/security/passkeys/rename").post(account_passkeys::post_rename))
        .service(web::resource("/account/security/passkeys/remove").post(account_passkeys::post_remove));
}

/// The form that asks for a ceremony's options: the CSRF token, and the sign-in it is for.
#[derive(Deserialize)]
pub struct OptionsForm {
    #[serde(default)]
    pub(super) csrf: String,
    pub(super) request: Option<String>,
    pub(super) app: Option<String>,
}

/// The authenticator's answer to a ceremony, submitted as a form.
#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) ceremony: String,
    /// The `PublicKeyCredential`, as JSON.
    #[serde(default)]
    pub(super) credential: String,
    pub(super) request: Option<String>,
    pub(super) app: Option<String>,
}

/// A ceremony's options as the script reads them: `{"ceremony", "options": {"publicKey": …}}`.
pub(super) fn options_response(challenge: PasskeyChallenge) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({"ceremony": challenge.ceremony, "options": challenge.options}))
}

/// The options of a usernameless sign-in at the sign-in's application.
pub async fn post_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<OptionsForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let binding = browser.binding();
    let context = SignInContext::load(&state, &binding, form.request.as_deref(), form.app.as_deref()).await?;
    let challenge = state
        .auth
        .sign_in
        .start_passkey_sign_in(&context.app, &binding, state.clock.now())
        .await?;
    Ok(options_response(challenge))
}

/// Checks the passkey's answer; on success goes on to the flow's next step, or signs the browser in.
pub async fn post_sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    form: PageForm<AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let now = state.clock.now();
    let binding = browser.binding();
    let context = SignInContext::load(&state, &binding, form.request.as_deref(), form.app.as_deref()).await?;
    let progress = state
        .auth
        .sign_in
        .sign_in_with_passkey(&context.app, &binding, &form.ceremony, &form.credential, &client.0, now)
        .await;
    match progress {
        Ok(progress) => progress_response(&state, &browser, progress, context.pending.as_ref(), now).await,
        Err(refusal) => {
            let (status, message) = refused(refusal)?;
            let view = LoginView {
                login: "",
                identifier: "",
                error: Some(message),
            };
            view.render_to(&state, &browser.csrf, &context, status)?.finish()
        }
    }
}

/// The status of a refused passkey on the pages.
pub(super) const REFUSED_STATUS: StatusCode = StatusCode::UNAUTHORIZED;
/// What the pages say to a refused passkey.
pub(super) const REFUSED_MESSAGE: &str = "The passkey was not accepted. Please try again, or sign in another way.";
