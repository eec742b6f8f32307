//! `/federation/{provider}/start` and `/federation/{provider}/callback`: a browser's round trip through an
//! upstream OpenID provider. The start sends the browser upstream for the sign-in it is in (an authorization
//! request, or an application's access link); the callback hands what came back to `federation` (state,
//! code, ID token) and the identity it proves to the sign-in flow, then answers like every other first step —
//! or, for a link (started on the security page, or by a relying party at `/federation/{provider}/link`), adds
//! the identity to the signed-in account.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::login::{LoginView, refused};
use super::{
    PageError, PageForm, SignInContext, browser_state, check_csrf, page, progress_response, render, see_other,
};
use crate::auth::flow::Door;
use crate::auth::{AccountError, AuthError, Principal};
use crate::federation::{Callback, Trip};
use crate::http::client_ip::ClientAddress;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct StartQuery {
    request: Option<String>,
    app: Option<String>,
}

#[derive(Deserialize)]
pub struct LinkQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    /// Echoed back to the relying party, so it can match the answer to its request.
    state: Option<String>,
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
        return_to: None,
    };
    let started = state.federation.start(trip, state.clock.now()).await?;
    let mut response = HttpResponse::SeeOther();
    browser.keep_csrf(&mut response);
    Ok(response
        .insert_header((actix_web::http::header::LOCATION, started.location))
        .finish())
}

/// A relying party sends a signed-in person here to link an identity at `provider` to their account. The page
/// asks them to confirm (a form, so no other site can start a link in their browser); the browser comes back
/// to `redirect_uri` (one of the client's) with the relying party's `state` and `linked={provider}`, or
/// `error=` `login_required` (no recent sign-in here: sign in again, with `prompt=login`), `access_denied`
/// (cancelled) or `identity_taken`.
pub async fn get_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    provider: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let link = match LinkRequest::check(&state, &browser, &provider, &query).await? {
        Ok(link) => link,
        Err(back) => return Ok(back),
    };
    let (provider_config, _) = state.federation.providers.find(&provider).await?;
    let mut response = page(StatusCode::OK);
    browser.keep_csrf(&mut response);
    render(
        response,
        &LinkConfirmPage {
            csrf: &browser.csrf,
            provider_id: &provider,
            provider_name: provider_config.display_name(),
            client_name: &link.client.name,
            client_id: &link.client.id,
            redirect_uri: link.redirect_uri,
            state: query.state.as_deref(),
            username: &link.session.user.username,
        },
    )
}

/// The confirmation: the browser goes upstream, or back to the relying party when the person cancelled.
pub async fn post_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    provider: web::Path<String>,
    form: PageForm<LinkForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let query = LinkQuery {
        client_id: Some(form.client_id.clone()),
        redirect_uri: Some(form.redirect_uri.clone()),
        state: form.state.clone(),
    };
    let link = match LinkRequest::check(&state, &browser, &provider, &query).await? {
        Ok(link) => link,
        Err(back) => return Ok(back),
    };
    if form.decision != "link" {
        return Ok(see_other(&with_param(&link.return_to, "error", "access_denied")));
    }
    let binding = browser.binding();
    let trip = Trip {
        provider_id: &provider,
        application_id: &link.client.application_id,
        binding: &binding,
        request_id: None,
        link_user_id: Some(&link.session.user.id),
        return_to: Some(&link.return_to),
    };
    let started = state.federation.start(trip, state.clock.now()).await?;
    Ok(see_other(&started.location))
}

#[derive(Template)]
#[template(path = "link_confirm.html")]
struct LinkConfirmPage<'a> {
    csrf: &'a str,
    provider_id: &'a str,
    provider_name: &'a str,
    client_name: &'a str,
    client_id: &'a str,
    redirect_uri: &'a str,
    state: Option<&'a str>,
    username: &'a str,
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    state: Option<String>,
    #[serde(default)]
    decision: String,
}

/// A relying party's link request that may go ahead: its client, its redirect URI, where the answer goes (the
/// redirect URI with the relying party's `state`), and the session.
struct LinkRequest<'a> {
    client: crate::oidc::clients::Client,
    redirect_uri: &'a str,
    return_to: String,
    session: &'a crate::auth::BrowserSession,
}

impl<'a> LinkRequest<'a> {
    /// The request, or the answer already due: an error page for a return URI that is not the client's (never
    /// a redirect there), back to it with `login_required` without a recent sign-in here.
    async fn check(
        state: &AppState,
        browser: &'a super::BrowserState,
        provider: &str,
        query: &'a LinkQuery,
    ) -> Result<Result<Self, HttpResponse>, PageError> {
        let (Some(client_id), Some(redirect_uri)) = (query.client_id.as_deref(), query.redirect_uri.as_deref()) else {
            return Err(PageError::bad_request("The link needs client_id and redirect_uri."));
        };
        let Some(client) = state.oidc.clients.with_redirect(client_id, redirect_uri).await? else {
            return Err(PageError::bad_request(
                "The redirect_uri is not one of this client's redirect URIs (or there is no such client).",
            ));
        };
        state.federation.providers.find(provider).await?;
        let return_to = match query.state.as_deref() {
            Some(rp_state) => with_param(redirect_uri, "state", rp_state),
            None => redirect_uri.to_owned(),
        };
        let now = state.clock.now();
        let session = browser.session.as_ref().filter(|session| {
            state
                .auth
                .accounts
                .may_link(&Principal::of_browser(session), now)
                .is_ok()
        });
        Ok(match session {
            Some(session) => Ok(Self {
                client,
                redirect_uri,
                return_to,
                session,
            }),
            None => Err(see_other(&with_param(&return_to, "error", "login_required"))),
        })
    }
}

/// The callback of a round trip the REST API started: the browser goes back to the application's redirect URI
/// with the one-time `code` it finishes the sign-in (or the link) with, or with `error` (the REST API's code for the refusal).
async fn api_callback(
    state: &AppState,
    flow_id: &str,
    returned: crate::federation::Returned,
    origin: &crate::auth::Origin,
    now: crate::clock::UnixTime,
) -> Result<HttpResponse, PageError> {
    let Some(return_to) = returned.return_to.as_deref() else {
        return Err(PageError::internal("a REST round trip without its redirect URI"));
    };
    let sign_in = &state.auth.sign_in;
    let proven = match returned.link_user_id {
        Some(_) => sign_in.link_proven(flow_id, returned.identity, now).await,
        None => sign_in.external_proven(flow_id, returned.identity, origin, now).await,
    };
    match proven {
        Ok(code) => Ok(see_other(&with_param(return_to, "code", &code))),
        Err(refusal) => {
            let answer = crate::http::error::ApiError::from(refusal);
            if answer.is_server_error() {
                return Err(PageError::internal(format!("{answer:?}")));
            }
            Ok(see_other(&with_param(return_to, "error", answer.code())))
        }
    }
}

/// `uri` with `name=value` added to its query.
fn with_param(uri: &str, name: &str, value: &str) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair(name, value);
            url.to_string()
        }
        // Registered redirect URIs are absolute URLs; this is only a fallback.
        Err(_) => uri.to_owned(),
    }
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
    if let Some(flow_id) = returned.api_flow.clone() {
        return api_callback(&state, &flow_id, returned, &client.0, now).await;
    }
    if let Some(user_id) = &returned.link_user_id {
        // A link comes back to the session that started it.
        let Some(session) = browser.session.as_ref().filter(|s| &s.user.id == user_id) else {
            return Err(PageError::forbidden(
                "This link was started by another sign-in. Please sign in again, then link from your account.",
            ));
        };
        let caller = Principal::of_browser(session);
        let linked = state
            .auth
            .accounts
            .link_identity(&caller, returned.identity, now)
            .await
            .map(drop);
        // A link a relying party started goes back there.
        if let Some(return_to) = &returned.return_to {
            return match linked {
                Ok(()) => Ok(see_other(&with_param(return_to, "linked", &provider))),
                Err(AuthError::Account(AccountError::IdentityTaken)) => {
                    Ok(see_other(&with_param(return_to, "error", "identity_taken")))
                }
                Err(other) => Err(other.into()),
            };
        }
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
