//! What a step of an authorization request leads to: the request kept for the pages (`keep`), the page of a
//! flow's step, a refusal back to the client, and — when nothing more is needed — the code.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Browser, Outcome, REQUEST_TTL, back, spent};
use crate::auth::AccessError;
use crate::auth::BrowserSession;
use crate::auth::flow::{Next, NextStep, Stage};
use crate::clock::UnixTime;
use crate::oidc::authorize::{AuthorizationRequest, Rejection};
use crate::oidc::clients::Client;
use crate::oidc::device::DeviceAnswer;
use crate::oidc::response_mode::AuthorizationResponse;
use crate::oidc::{ErrorCode, OAuthError, OidcService};
use crate::store::authorization_codes::{self, AuthorizationCodeRow};
use crate::store::authorization_requests::{self, AuthorizationRequestRow};
use crate::tokens::opaque::{self, random_bytes};

impl OidcService {
    /// To the page of the flow step `next`, keeping the request.
    pub(super) async fn to_step(
        &self,
        request: &AuthorizationRequest,
        pending_id: Option<String>,
        browser: Browser<'_>,
        next: Next,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        let stage = match next.step {
            NextStep::Pin => Stage::Pin,
            NextStep::SecondFactor { .. } => Stage::SecondFactor,
            NextStep::Verification { .. } => Stage::Verification,
            NextStep::Code { .. } => Stage::Code,
        };
        Ok(Outcome::Step {
            request_id: self.keep(request, pending_id, browser.binding, now).await?,
            flow_token: next.token,
            stage,
        })
    }

    /// The account, or this network, may not use the client's application: the request ends with
    /// `access_denied` (a device's, at its next poll).
    pub(super) async fn refuse(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        pending_id: Option<String>,
        refused: AccessError,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        if let Some(device) = &request.device {
            return self
                .deny_device(device, client, None, pending_id, DeviceAnswer::NotAdmitted, now)
                .await;
        }
        if let Some(id) = pending_id
            && !authorization_requests::consume(&self.db, id, now).await?
        {
            return Err(spent());
        }
        let why = match refused {
            AccessError::IpNotAllowed => "the application cannot be used from this network",
            _ => "the account has no access to this application",
        };
        let error = OAuthError::new(ErrorCode::AccessDenied, why);
        Ok(Outcome::Respond(back(request, error).response(&self.issuer)))
    }

    /// Stores the request (once) and returns its id.
    pub(super) async fn keep(
        &self,
        request: &AuthorizationRequest,
        pending_id: Option<String>,
        binding: &str,
        now: UnixTime,
    ) -> Result<String, Rejection> {
        if let Some(id) = pending_id {
            return Ok(id);
        }
        let parameters =
            serde_json::to_string(request).map_err(|_| Rejection::Page("The request could not be kept.".into()))?;
        let row = AuthorizationRequestRow {
            id: opaque::random_id(),
            client_id: request.client_id.clone(),
            browser_binding: binding.to_owned(),
            parameters,
            created_at: now,
            expires_at: now + REQUEST_TTL,
            consumed_at: None,
        };
        let id = row.id.clone();
        authorization_requests::insert(&self.db, row).await?;
        Ok(id)
    }

    /// RFC 6749 §4.1.2: a single-use code of 256 random bits, bound to the client, redirect URI, PKCE
    /// challenge, nonce and browser session; the redirect carries `iss` (RFC 9207).
    pub(super) async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &BrowserSession,
        pending_id: Option<String>,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        if let Some(id) = pending_id
            && !authorization_requests::consume(&self.db, id, now).await?
        {
            return Err(spent());
        }
        let code = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let scope = request.scope();
        let row = AuthorizationCodeRow {
            code_hash: opaque::hash(&code),
            client_id: request.client_id.clone(),
            user_id: session.user.id.clone(),
            browser_session_id: session.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: scope.to_string(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: session.acr.clone(),
            offline: scope.contains(crate::oidc::scope::OFFLINE_ACCESS),
            created_at: now,
            expires_at: now + self.code_ttl,
            used_at: None,
            session_id: None,
            replayed_at: None,
            dpop_jkt: request.dpop_jkt.clone(),
        };
        authorization_codes::insert(&self.db, row).await?;
        let mut params = vec![("code", code)];
        if let Some(state) = &request.state {
            params.push(("state", state.clone()));
        }
        params.push(("iss", self.issuer.clone()));
        Ok(Outcome::Respond(AuthorizationResponse {
            redirect_uri: request.redirect_uri.clone(),
            mode: request.response_mode,
            params,
        }))
    }
}
