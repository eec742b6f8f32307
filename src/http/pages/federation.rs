//! `/federation/{provider}/start` and `/federation/{provider}/callback`: a browser's round trip through an
//! upstream OpenID provider. The start sends the browser upstream for the sign-in it is in (an authorization
//! request, or an application's access link); the callback hands what came back to `federation` (state,
//! code, ID token) and the identity it proves to the sign-in flow, then answers like every other first step —
//! or, for a link started on the security page, adds the identity to the signed-in account.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::login::{LoginView, refused};
use super::{PageError, SignInContext, browser_state, progress_response};
use crate::auth::Principal;
use crate::auth::flow::Door;
use crate::federation::{Callback, Trip};
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct StartQuery {
    request: Option<String>,
    app: Option<String>,
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Sends the browser to the upstream provider, for the sign-in it is in.
pub async fn get_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    provider: web::Path<String>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let binding = browser.binding();
    let context = SignInContext::load(&state, &binding, query.request.as_deref(), query.app.as_deref()).await?;
    state.auth.sign_in.external_allowed(&context.app, &provider)?;
    let trip = Trip {
        provider_id: &provider,
        application_id: &context.app.id,
        binding: &binding,
        request_id: context.request_id(),
        link_user_id: None,
    };
    let started = state.federation.start(trip, state.clock.now()).await?;
    let mut response = HttpResponse::SeeOther();
    browser.keep_csrf(&mut response);
    Ok(response
        .insert_header((actix_web::http::header::LOCATION, started.location))
        .finish())
}

/// Takes the upstream provider's answer: on success the sign-in goes on (a second factor, a proof of
/// contact) or the browser is signed in and continues where it came from.
pub async fn get_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: ClientAddress,
    provider: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let binding = browser.binding();
    let now = state.clock.now();
    let query = query.into_inner();
    let callback = Callback {
        state: query.state,
        code: query.code,
        iss: query.iss,
        error: query.error,
        error_description: query.error_description,
    };
    let returned = state.federation.finish(&provider, &binding, callback, now).await?;
    if let Some(user_id) = &returned.link_user_id {
        // A link comes back to the session that started it.
        let Some(session) = browser.session.as_ref().filter(|s| &s.user.id == user_id) else {
            return Err(PageError::forbidden(
                "This link was started by another sign-in. Please sign in again, then link from your account.",
            ));
        };
        let caller = Principal::of_browser(session);
        let linked = state.auth.accounts.link_identity(&caller, returned.identity, now).await;
        return super::security::after_link(&state, &browser, session, linked).await;
    }
    let app = state.apps.get(&returned.application_id).await?;
    let slug = returned.request_id.is_none().then_some(app.slug.as_str());
    let context = SignInContext::load(&state, &binding, returned.request_id.as_deref(), slug).await?;
    let progress = state
        .auth
        .sign_in
        .sign_in_external(&context.app, Door::Browser(&binding), returned.identity, &client.0, now)
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
