//! Sign-in through an upstream provider over the REST API (`/auth/external`, `/auth/external/complete`): the
//! application gets the provider's authorization URL and a flow token, sends the person's browser there, and
//! receives a one-time `code` (or an `error`) at one of its client's redirect URIs; the flow token and that code
//! finish the sign-in. Each translates a request into a step of the flow in `auth::flow`, and the step into
//! JSON.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::{LoginStepBody, missing_fields, step_response};
use super::sign_in::{FlowCodeRequest, flow_and_code};
use crate::auth::flow::{Door, ExternalStart};
use crate::federation::{Trip, api_binding};
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalStartRequest {
    provider: Option<String>,
    /// A client of the API key's application, and one of its redirect URIs: where the browser comes back.
    client_id: Option<String>,
    redirect_uri: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ExternalStartBody {
    step: &'static str,
    flow_token: String,
    /// Where to send the person's browser.
    authorization_url: String,
}

/// The provider of a round trip the REST API starts, and where the browser comes back: a redirect URI of a
/// client of the API key's application.
pub(super) async fn round_trip(
    state: &AppState,
    app: &RequestApp,
    body: ExternalStartRequest,
) -> Result<(String, String), ApiError> {
    let (provider, client_id, redirect_uri) = match body {
        ExternalStartRequest {
            provider: Some(provider),
            client_id: Some(client_id),
            redirect_uri: Some(redirect_uri),
        } => (provider, client_id, redirect_uri),
        ExternalStartRequest {
            provider,
            client_id,
            redirect_uri,
        } => {
            return Err(missing_fields(&[
                ("provider", provider.is_none()),
                ("client_id", client_id.is_none()),
                ("redirect_uri", redirect_uri.is_none()),
            ]));
        }
    };
    let client = state.oidc.clients.with_redirect(&client_id, &redirect_uri).await?;
    if client.is_none_or(|client| client.application_id != app.0.id) {
        return Err(ApiError::validation([(
            "redirect_uri",
            "is not a redirect URI of a client of this application".to_owned(),
        )]));
    }
    Ok((provider, redirect_uri))
}

/// `POST /api/v1/auth/external`: begins a sign-in through an upstream provider the application offers.
#[utoipa::path(
    post,
    path = "/api/v1/auth/external",
    tag = "sign-in",
    summary = "Start a sign-in with an upstream provider",
    request_body = ExternalStartRequest,
    responses((status = 200, description = "OK", body = ExternalStartBody)),
    security(("api_key" = []))
)]
pub async fn start_external(
    state: web::Data<AppState>,
    app: RequestApp,
    body: ApiJson<ExternalStartRequest>,
) -> Result<HttpResponse, ApiError> {
    let (provider, redirect_uri) = round_trip(&state, &app, body.into_inner()).await?;
    let now = state.clock.now();
    let started = state.auth.sign_in.start_external_api(&app.0, &provider, now).await?;
    send_upstream(&state, &app, &provider, &redirect_uri, started, None).await
}

/// Sends the REST flow `started` upstream (to link an identity to `link_user_id`, or to sign in): the flow
/// token and the provider's authorization URL.
pub(super) async fn send_upstream(
    state: &AppState,
    app: &RequestApp,
    provider: &str,
    redirect_uri: &str,
    started: ExternalStart,
    link_user_id: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let binding = api_binding(&started.flow_id);
    let trip = Trip {
        provider_id: provider,
        application_id: &app.0.id,
        binding: &binding,
        request_id: None,
        link_user_id,
        return_to: Some(redirect_uri),
    };
    let upstream = state.federation.start(trip, state.clock.now()).await?;
    Ok(super::body::token_response(
        actix_web::http::StatusCode::OK,
        ExternalStartBody {
            step: if link_user_id.is_some() { "link" } else { "external" },
            flow_token: started.token,
            authorization_url: upstream.location,
        },
    ))
}

/// `POST /api/v1/auth/external/complete`: the flow token and the `code` that came back to the redirect URI.
#[utoipa::path(
    post,
    path = "/api/v1/auth/external/complete",
    tag = "sign-in",
    summary = "Complete an upstream provider's sign-in",
    request_body = FlowCodeRequest,
    responses((status = 200, description = "OK", body = LoginStepBody)),
    security(("api_key" = []))
)]
pub async fn complete_external(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<FlowCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, code) = flow_and_code(body.into_inner())?;
    let now = state.clock.now();
    let progress = state
        .auth
        .sign_in
        .complete_external_api(&token, Door::Api(&app.0), &code, &client.0, now)
        .await?;
    Ok(step_response(
        state.auth.sign_in.tokens_or_next(progress, &app.0, now).await?,
    ))
}
