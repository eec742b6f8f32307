//! `POST /oauth2/token` (RFC 6749 §3.2): a form body, an authenticated client, one grant; and admitting a
//! client as the token endpoint does (its credentials, its application's budget), for the endpoints that do
//! the same.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::OAuthForm;
use super::client_auth::client_credentials;
use crate::apps::Application;
use crate::apps::rate_limit::Decision;
use crate::http::client_ip::request_ip;
use crate::http::error::{DPOP_NONCE, with_dpop_nonce};
use crate::http::extract::{dpop_proof, proof_url};
use crate::http::rate_limit;
use crate::oidc::clients::Client;
use crate::oidc::grants::TokenProof;
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::tokens::dpop::ProofTarget;

/// The request's one `DPoP` proof, if any, for this request to `url` (the token and PAR endpoints).
pub fn token_proof<'a>(req: &'a HttpRequest, url: &'a str) -> Result<Option<TokenProof<'a>>, OAuthError> {
    Ok(dpop_proof(req)?.map(|proof| TokenProof {
        proof,
        target: ProofTarget {
            method: req.method().as_str(),
            url,
        },
    }))
}

pub async fn post_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let params = form.0;
    let admitted = match admit_client(&req, &state, &params).await? {
        Ok(admitted) => admitted,
        Err(spent) => return Ok(spent),
    };
    let ip = request_ip(&req);
    let url = proof_url(&req, state.config.issuer());
    let dpop = token_proof(&req, &url)?;
    let tokens = match state
        .oidc
        .token(&admitted.client, &admitted.app, &params, dpop, ip, state.clock.now())
        .await
    {
        Ok(tokens) => tokens,
        Err(error) => return Ok(with_dpop_nonce(&error, state.auth.dpop.fresh_nonce(state.clock.now()))),
    };
    let mut response = admitted.answer(&tokens);
    if let Some(nonce) = tokens.dpop_nonce.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(DPOP_NONCE), nonce);
    }
    Ok(response)
}

/// A request of a client at an endpoint that authenticates it as the token endpoint does (the token
/// endpoint, device authorization, pushed requests): the client, its application, and the request of the
/// application's budget it spent.
pub struct AdmittedClient {
    pub client: Client,
    pub app: Application,
    decision: Decision,
}

impl AdmittedClient {
    /// `body` as an uncacheable JSON answer with the budget's `RateLimit-*` headers.
    pub fn answer(&self, body: &impl serde::Serialize) -> HttpResponse {
        let mut response = no_store_json(body);
        rate_limit::apply(response.headers_mut(), &self.decision);
        response
    }
}

/// Authenticates the request's client and spends one request of its application's budget; `Err` holds the
/// answer when the budget is spent.
pub async fn admit_client(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
) -> Result<Result<AdmittedClient, HttpResponse>, OAuthError> {
    let credentials = client_credentials(req, params)?;
    let url = proof_url(req, state.config.issuer());
    let client = state
        .oidc
        .clients
        .authenticate(&credentials, &url, state.clock.now())
        .await?;
    let app = state
        .apps
        .find(&client.application_id)
        .await?
        .ok_or_else(OAuthError::invalid_client)?;
    let decision = state.apps.take(&app, state.clock.now_millis()).await?;
    if !decision.allowed {
        let error = OAuthError::new(ErrorCode::SlowDown, "this application's request budget is spent");
        let mut response = error.error_response();
        rate_limit::apply(response.headers_mut(), &decision);
        return Ok(Err(response));
    }
    Ok(Ok(AdmittedClient { client, app, decision }))
}

/// A JSON response that must never be cached (RFC 6749 §5.1).
pub fn no_store_json(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}
