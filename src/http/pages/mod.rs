//! Server-rendered pages (askama): sign-in, sign-up, consent, a device's approval, sign-out and the account
//! console. They work without JavaScript; every form carries a CSRF token; every page forbids framing.

mod access;
mod account;
mod account_apps;
mod account_passkeys;
mod account_password;
mod account_profile;
mod account_sessions;
mod account_tokens;
mod admin;
mod admin_api_keys;
mod admin_app_settings;
mod admin_apps;
mod admin_audit;
mod admin_clients;
mod admin_keys;
mod admin_members;
mod admin_provider_form;
mod admin_providers;
mod admin_webhooks;
mod browser;
mod consent;
mod device;
mod enroll;
mod federation;
mod form;
mod form_post;
mod invitation;
mod login;
mod mfa;
mod passkey;
mod pin;
mod security;
mod select_account;
mod sign_in;
mod signup;
mod verify;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, HttpResponseBuilder, web};
use askama::Template;

pub use crate::http::error::PageError;
pub use browser::{
    BrowserState, browser_state, check_csrf, clear_flow_cookie, clear_session_cookie, flow_cookie, session_cookie,
};
pub use form::PageForm;

use crate::notify::captcha::Widget;

/// The pages' CSP: own stylesheet only, images from here or inline (QR codes), no scripts, no framing
/// (RFC 9700 §4.16). No `form-action`: Chromium and Safari hold a form's submission to it through every
/// redirect that follows, and a sign-in form's answer redirects on to the relying party's redirect URI — which
/// may redirect again (a native app's scheme; an upstream provider's callback here that redirects on to its own
/// relying party) — so no list of origins on the page could be complete. Every form posts to this server.
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &[u8] = include_bytes!("../../../static/tessera.css");
/// The passkey ceremonies' script, the only one the pages load (from here, never inline).
const PASSKEY_SCRIPT: &[u8] = include_bytes!("../../../static/passkeys.js");

/// Registers the page routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/login").get(login::get_login).post(login::post_login))
        .service(
            web::resource("/signup")
                .get(signup::get_signup)
                .post(signup::post_signup),
        )
        .service(
            web::resource("/consent")
                .get(consent::get_consent)
                .post(consent::post_consent),
        )
        .service(
            web::resource(crate::oidc::discovery::DEVICE_VERIFICATION_PATH)
                .get(device::get_device)
                .post(device::post_device),
        )
        .service(web::resource("/device/answer").post(consent::post_consent))
        .service(web::resource("/device/qr.svg").get(device::get_device_qr))
        .service(
            web::resource("/select-account")
                .get(select_account::get_select_account)
                .post(select_account::post_select_account),
        )
        .service(web::resource("/login/mfa").get(mfa::get_mfa).post(mfa::post_mfa))
        .service(web::resource("/login/code/start").post(sign_in::post_code_start))
        .service(
            web::resource("/login/code")
                .get(sign_in::get_code)
                .post(sign_in::post_code),
        )
        .service(web::resource("/login/code/resend").post(sign_in::post_code_resend))
        .service(
            web::resource("/login/verify")
                .get(verify::get_verify)
                .post(verify::post_verify),
        )
        .service(web::resource("/login/verify/send").post(verify::post_verify_send))
        .service(web::resource("/login/mfa/send").post(mfa::post_send))
        .service(web::resource("/login/mfa/cancel").post(mfa::post_cancel))
        .service(web::resource("/login/pin").get(pin::get_pin).post(pin::post_pin))
        .service(web::resource("/login/enroll").get(enroll::get_enroll))
        .service(web::resource("/login/enroll/start").post(enroll::post_start))
        .service(web::resource("/login/enroll/confirm").post(enroll::post_confirm))
        .service(web::resource("/login/enroll/continue").post(enroll::post_continue))
        .service(web::resource("/a/{slug}").get(access::get_access_link))
        .service(web::resource("/federation/{provider}/start").get(federation::get_start))
        .service(web::resource("/federation/{provider}/callback").get(federation::get_callback))
        .service(
            web::resource("/federation/{provider}/link")
                .get(federation::get_link)
                .post(federation::post_link),
        )
        .service(
            web::resource("/invite/{token}")
                .get(invitation::get_invitation)
                .post(invitation::post_invitation),
        )
        .service(web::resource("/admin/apps/{id}/access-link").get(access::get_admin_access_link))
        .configure(admin::routes)
        .service(web::resource("/account").get(account::get_account))
        .service(web::resource("/account/profile").get(account_profile::get_profile))
        .service(web::resource("/account/profile/name").post(account_profile::post_name))
        .service(web::resource("/account/profile/email").post(account_profile::post_email))
        .service(web::resource("/account/profile/email/verify").post(account_profile::post_verify_email))
        .service(web::resource("/account/profile/email/confirm").post(account_profile::post_confirm_email))
        .service(
            web::resource("/account/profile/email/change/confirm").post(account_profile::post_confirm_email_change),
        )
        .service(web::resource("/account/profile/phone").post(account_profile::post_phone))
        .service(web::resource("/account/profile/phone/confirm").post(account_profile::post_confirm_phone))
        .service(web::resource("/account/profile/phone/remove").post(account_profile::post_remove_phone))
        .service(
            web::resource("/account/password")
                .get(account_password::get_password)
                .post(account_password::post_password),
        )
        .service(
            web::resource("/account/tokens")
                .get(account_tokens::get_tokens)
                .post(account_tokens::post_create_token),
        )
        .service(web::resource("/account/tokens/{id}/rotate").post(account_tokens::post_rotate_token))
        .service(web::resource("/account/tokens/{id}/revoke").post(account_tokens::post_revoke_token))
        .service(web::resource("/account/sessions").get(account_sessions::get_sessions))
        .service(web::resource("/account/sessions/end").post(account_sessions::post_end_session))
        .service(web::resource("/account/sessions/end-others").post(account_sessions::post_end_other_sessions))
        .service(web::resource("/account/applications").get(account_apps::get_applications))
        .service(web::resource("/account/applications/revoke").post(account_apps::post_revoke_application))
        .service(web::resource("/account/security").get(security::get_security))
        .service(web::resource("/account/security/identities/link").post(security::post_link_identity))
        .service(web::resource("/account/security/identities/unlink").post(security::post_unlink_identity))
        .service(web::resource("/account/security/pin").post(security::post_set_pin))
        .service(web::resource("/account/security/pin/remove").post(security::post_remove_pin))
        .service(web::resource("/account/security/totp").post(security::post_start_totp))
        .service(web::resource("/account/security/totp/confirm").post(security::post_confirm_totp))
        .service(web::resource("/account/security/totp/disable").post(security::post_disable_totp))
        .service(web::resource("/account/security/recovery-codes").post(security::post_regenerate_codes))
        .configure(passkey::routes)
        .service(web::resource("/static/tessera.css").get(get_stylesheet))
        .service(web::resource("/static/passkeys.js").get(get_passkey_script));
}

/// Query strings of the pages that cannot be read (a repeated or mistyped parameter): an HTML error page.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|_, _| {
        PageError::bad_request("The address of this page is malformed. Please go back and try again.").into()
    })
}

async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}

async fn get_passkey_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(PASSKEY_SCRIPT)
}

/// A page that runs the passkey script: scripts and requests from this origin only (and the captcha's
/// provider, when it shows one); nothing inline.
pub fn page_with_passkeys(status: StatusCode, widget: Option<&Widget>) -> HttpResponseBuilder {
    let mut builder = page(status);
    let origins = widget.map(|w| format!(" {}", w.origins)).unwrap_or_default();
    let frames = widget.map(|w| format!("; frame-src {}", w.origins)).unwrap_or_default();
    let csp = format!("{PAGE_CSP}; script-src 'self'{origins}; connect-src 'self'{origins}{frames}");
    builder.insert_header((header::CONTENT_SECURITY_POLICY, csp));
    builder
}

/// A page response with the page headers.
pub fn page(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP));
    builder
}

/// A page that shows a captcha widget: the provider's script and frames are allowed, nothing else more.
pub fn page_with_captcha(status: StatusCode, widget: Option<&Widget>) -> HttpResponseBuilder {
    let mut builder = page(status);
    if let Some(widget) = widget {
        let csp = format!(
            "{PAGE_CSP}; script-src {origins}; frame-src {origins}; connect-src {origins}",
            origins = widget.origins
        );
        builder.insert_header((header::CONTENT_SECURITY_POLICY, csp));
    }
    builder
}

/// Renders a template as the body of `response`.
pub fn render(mut response: HttpResponseBuilder, template: &impl Template) -> Result<HttpResponse, PageError> {
    Ok(response.body(template.render()?))
}

/// `303 See Other` to `location` (never 307: a POST body must not follow, RFC 9700 §4.12).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Which sign-in a page works on: the authorization request that sent the browser (its client's application),
/// or an application named by the access link, or the default one.
pub struct SignInContext {
    pub pending: Option<crate::oidc::interaction::Pending>,
    pub app: crate::apps::Application,
    /// The application was named in the address (not through a request).
    named: bool,
    /// The upstream providers the application offers: (id, name on the button).
    pub providers: Vec<(String, String)>,
}

impl SignInContext {
    pub async fn load(
        state: &crate::state::AppState,
        binding: &str,
        request: Option<&str>,
        app: Option<&str>,
    ) -> Result<Self, PageError> {
        let now = state.clock.now();
        let pending = match request {
            Some(id) => Some(state.oidc.pending(id, binding, now).await.map_err(login::rejected)?),
            None => None,
        };
        let (id, named) = match (&pending, app) {
            (Some(pending), _) => (pending.client.application_id.as_str(), false),
            (None, Some(slug)) => (slug, true),
            (None, None) => (crate::apps::DEFAULT_SLUG, false),
        };
        let app = state.apps.get(id).await?;
        let providers = if app.policy.external_providers.is_empty() {
            Vec::new()
        } else {
            let all = state.federation.providers.all().await?;
            all.into_iter()
                .filter(|(p, _)| app.policy.offers_provider(&p.id))
                .map(|(p, _)| (p.id.clone(), p.display_name().to_owned()))
                .collect()
        };
        Ok(Self {
            app,
            pending,
            named,
            providers,
        })
    }

    pub fn request_id(&self) -> Option<&str> {
        self.pending.as_ref().map(|p| p.id.as_str())
    }

    /// The application's slug, to carry in forms, when the address named it.
    pub fn app_slug(&self) -> Option<&str> {
        self.named.then_some(self.app.slug.as_str())
    }
}

/// After a correct password: what the flow says comes next (a refusal the page shows, a step, or done).
pub(super) async fn after_password(
    state: &crate::state::AppState,
    browser: &BrowserState,
    user: crate::store::users::User,
    context: &SignInContext,
    origin: &crate::auth::Origin,
    now: crate::clock::UnixTime,
) -> Result<crate::auth::flow::Progress, crate::auth::AuthError> {
    let binding = browser.binding();
    state
        .auth
        .sign_in
        .after_first_factor(
            user,
            &context.app,
            crate::auth::flow::Door::Browser(&binding),
            crate::auth::Authentication::password(),
            origin,
            now,
        )
        .await
}

/// Where a step of a browser sign-in leads: signed in, or the page of the next step (the flow's token in a
/// short-lived cookie).
pub(super) async fn progress_response(
    state: &crate::state::AppState,
    browser: &BrowserState,
    progress: crate::auth::flow::Progress,
    pending: Option<&crate::oidc::interaction::Pending>,
    now: crate::clock::UnixTime,
) -> Result<HttpResponse, PageError> {
    use crate::auth::flow::{NextStep, Progress, Stage};
    let next = match progress {
        Progress::Proven(user, how) => {
            let mut response = finish_sign_in(state, browser, *user, how, pending, now).await?;
            response
                .add_cookie(&clear_flow_cookie(state))
                .map_err(PageError::internal)?;
            return Ok(response);
        }
        Progress::Next(next) => next,
    };
    let request = pending.map(|p| p.id.as_str());
    let location = match &next.step {
        NextStep::SecondFactor { sent, .. } => {
            // A code already sent by text message: the page says where it went.
            let sent = sent.as_ref().map(|_| crate::auth::mfa::Method::Sms.as_str());
            mfa::location(request, sent, sent.is_some())
        }
        NextStep::Code { .. } => stage_location(Stage::Code, request),
        NextStep::Verification { .. } => stage_location(Stage::Verification, request),
        NextStep::Pin => stage_location(Stage::Pin, request),
    };
    let mut response = see_other(&location);
    response
        .add_cookie(&flow_cookie(state, next.token))
        .map_err(PageError::internal)?;
    Ok(response)
}

/// The page of a flow's stage, keeping the authorization request.
pub(super) fn stage_location(stage: crate::auth::flow::Stage, request: Option<&str>) -> String {
    use crate::auth::flow::Stage;
    let path = match stage {
        Stage::Code => "/login/code",
        Stage::SecondFactor => "/login/mfa",
        Stage::Verification => "/login/verify",
        Stage::Pin => "/login/pin",
        // The REST API's stages: a browser never waits there.
        Stage::External | Stage::Link => "/login",
    };
    match request {
        Some(id) => format!("{path}?request={}", encode(id)),
        None => path.to_owned(),
    }
}

/// Signs `user` in to this browser with a new session cookie, then continues the authorization request that
/// sent them here, or shows the account page.
pub(super) async fn finish_sign_in(
    state: &crate::state::AppState,
    browser: &BrowserState,
    user: crate::store::users::User,
    how: crate::auth::Authentication,
    pending: Option<&crate::oidc::interaction::Pending>,
    now: crate::clock::UnixTime,
) -> Result<HttpResponse, PageError> {
    let signed_in = state
        .auth
        .sessions
        .sign_in_browser(browser.session.as_ref(), user, &how.amr, how.acr, now)
        .await?;
    let mut response = match pending {
        Some(pending) => {
            let binding = browser.binding();
            let resumed = crate::oidc::interaction::Browser {
                session: Some(&signed_in.session),
                binding: &binding,
                origin: &browser.origin,
            };
            outcome_response(state.oidc.resume(&pending.id, resumed, now).await, state)?
        }
        None => see_other("/account"),
    };
    response
        .add_cookie(&session_cookie(state, signed_in.cookie))
        .map_err(PageError::internal)?;
    Ok(response)
}

/// A pending authorization request that the signed-in user answers on a page (consent, the account choice).
struct SignedInStep {
    browser: BrowserState,
    pending: crate::oidc::interaction::Pending,
    session: crate::auth::BrowserSession,
}

/// The step for `request_id` in this browser — or, when nobody is signed in, the way to the sign-in page.
async fn pending_for_signed_in(
    req: &actix_web::HttpRequest,
    state: &crate::state::AppState,
    request_id: &str,
) -> Result<Result<SignedInStep, HttpResponse>, PageError> {
    let browser = browser_state(req, state).await?;
    let pending = state
        .oidc
        .pending(request_id, &browser.binding(), state.clock.now())
        .await
        .map_err(login::rejected)?;
    let Some(session) = browser.session.clone() else {
        return Ok(Err(see_other(&format!("/login?request={}", encode(&pending.id)))));
    };
    Ok(Ok(SignedInStep {
        browser,
        pending,
        session,
    }))
}

/// Where an authorization step sends the browser, or the error page it shows.
pub fn outcome_response(
    outcome: Result<crate::oidc::interaction::Outcome, crate::oidc::authorize::Rejection>,
    state: &crate::state::AppState,
) -> Result<HttpResponse, PageError> {
    use crate::oidc::authorize::Rejection;
    use crate::oidc::interaction::Outcome;
    let issuer = state.oidc.issuer();
    match outcome {
        Ok(Outcome::Guest { cookie, then }) => {
            let mut response = outcome_response(Ok(*then), state)?;
            response
                .add_cookie(&session_cookie(state, cookie))
                .map_err(PageError::internal)?;
            Ok(response)
        }
        Ok(Outcome::Step {
            request_id,
            flow_token,
            stage,
        }) => {
            let location = stage_location(stage, Some(&request_id));
            let mut response = see_other(&location);
            response
                .add_cookie(&flow_cookie(state, flow_token))
                .map_err(PageError::internal)?;
            Ok(response)
        }
        Ok(Outcome::Respond(response)) => respond(&response),
        Ok(Outcome::Login { request_id }) => Ok(see_other(&format!("/login?request={}", encode(&request_id)))),
        Ok(Outcome::Enroll { request_id }) => Ok(see_other(&format!("/login/enroll?request={}", encode(&request_id)))),
        Ok(Outcome::Consent { request_id }) => Ok(see_other(&format!("/consent?request={}", encode(&request_id)))),
        Ok(Outcome::ConfirmDevice { request_id }) => Ok(see_other(&format!("/device?request={}", encode(&request_id)))),
        Ok(Outcome::DeviceAnswered { client_name, answer }) => device::answered(&client_name, answer),
        Ok(Outcome::SelectAccount { request_id }) => {
            Ok(see_other(&format!("/select-account?request={}", encode(&request_id))))
        }
        Err(Rejection::Redirect(error)) => respond(&error.response(issuer)),
        Err(Rejection::Page(message)) => Err(PageError::bad_request(message)),
        Err(Rejection::Store(error)) => Err(error.into()),
    }
}

/// An authorization response in its mode: a `303` for `query` and `fragment`, the auto-submitting page for
/// `form_post`.
fn respond(response: &crate::oidc::response_mode::AuthorizationResponse) -> Result<HttpResponse, PageError> {
    match response.location() {
        Some(location) => Ok(see_other(&location)),
        None => form_post::respond(response),
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
