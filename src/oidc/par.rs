//! Pushed authorization requests (RFC 9126): an authenticated client sends its authorization request straight
//! to Tessera, where it is checked by the authorization endpoint's own checks (`authorize::validate_for`) and
//! kept for a minute under a one-time `request_uri`; the browser then brings only `client_id` and that
//! `request_uri` to the authorization endpoint. Only the SHA-256 of the `request_uri`'s random part is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::authorize::{self, AuthorizationRequest, Channel, Rejection};
use super::clients::Client;
use super::grants::TokenProof;
use super::params::Params;
use super::{ErrorCode, OAuthError, OidcService, redirect_uri};
use crate::clock::UnixTime;
use crate::store::StoreError;
use crate::store::pushed_requests::{self, PushedRequestRow};
use crate::tokens::opaque;

/// RFC 9126 §2.2: the URN prefix of every `request_uri` Tessera hands out.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// RFC 9126 §2.2: how long a pushed request may be used (a short lifetime, "between 5 and 600 seconds").
pub const PUSHED_REQUEST_TTL: i64 = 60;

/// The error page's words for a `request_uri` that leads nowhere (RFC 9101 §7's `invalid_request_uri`).
const INVALID_REQUEST_URI: &str = "invalid_request_uri: the request_uri is unknown, expired, already used, \
                                   or was pushed by another client.";

/// RFC 9126 §2.2: the answer to a pushed request.
#[derive(Debug, Serialize)]
pub struct PushedAuthorizationResponse {
    pub request_uri: String,
    pub expires_in: i64,
}

impl OidcService {
    /// `POST /oauth2/par` (RFC 9126 §2.1) for an authenticated (or public) `client`: the request is checked as
    /// the authorization endpoint would check it, and every refusal is answered to the client directly.
    pub async fn push_authorization_request(
        &self,
        client: &Client,
        params: &Params,
        dpop: Option<TokenProof<'_>>,
        now: UnixTime,
    ) -> Result<PushedAuthorizationResponse, OAuthError> {
        let mut request =
            authorize::validate_for(client, &self.id_tokens, params, Channel::Pushed, now).map_err(refusal)?;
        // RFC 9449 §10.1: a proof sent with the push binds the code to its key, which must be `dpop_jkt`'s
        // when both are there.
        if let Some(dpop) = dpop {
            let proven = self.dpop.check_proof(dpop.proof, dpop.target, None, now).await?;
            if request.dpop_jkt.as_ref().is_some_and(|named| *named != proven) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "dpop_jkt is not the thumbprint of the DPoP proof's key",
                ));
            }
            request.dpop_jkt = Some(proven);
        }
        let parameters = serde_json::to_string(&request).map_err(OAuthError::server)?;
        let random = URL_SAFE_NO_PAD.encode(opaque::random_bytes::<32>());
        let row = PushedRequestRow {
            request_uri_hash: opaque::hash(&random),
            client_id: client.id.clone(),
            parameters,
            created_at: now,
            expires_at: now + PUSHED_REQUEST_TTL,
            used_at: None,
        };
        pushed_requests::insert(&self.db, row).await?;
        tracing::info!(client_id = %client.id, "authorization request pushed");
        Ok(PushedAuthorizationResponse {
            request_uri: format!("{REQUEST_URI_PREFIX}{random}"),
            expires_in: PUSHED_REQUEST_TTL,
        })
    }

    /// The pushed request a browser brings to the authorization endpoint as `client_id` and `request_uri`
    /// (RFC 9126 §4): spent here, once; every other parameter of the browser's request is ignored. A
    /// `request_uri` that leads nowhere is an error page, since no redirect URI can be trusted yet.
    pub(super) async fn pushed_request(
        &self,
        params: &Params,
        now: UnixTime,
    ) -> Result<(AuthorizationRequest, Client), Rejection> {
        let client = authorize::check_client(&self.clients, params).await?;
        let random = match params.get("request_uri") {
            Err(_) => return Err(Rejection::Page("The request_uri parameter is repeated.".into())),
            Ok(value) => value.and_then(|uri| uri.strip_prefix(REQUEST_URI_PREFIX)),
        };
        let Some(random) = random else {
            return Err(Rejection::Page(INVALID_REQUEST_URI.into()));
        };
        let parameters = pushed_requests::spend(&self.db, opaque::hash(random), client.id.clone(), now)
            .await?
            .ok_or_else(|| Rejection::Page(INVALID_REQUEST_URI.into()))?;
        let mut request: AuthorizationRequest = serde_json::from_str(&parameters)
            .map_err(|_| StoreError::Corrupt("pushed authorization request: parameters".into()))?;
        // The client may have been edited since it pushed: its redirect URI must still be registered.
        if !redirect_uri::is_registered(&client.redirect_uris, &request.redirect_uri, client.is_public()) {
            return Err(Rejection::Page(
                "The redirect_uri is not registered for this application.".into(),
            ));
        }
        request.created_at = now;
        Ok((request, client))
    }
}

/// RFC 9126 §2.3: a refused pushed request is answered as at the token endpoint (RFC 6749 §5.2). What the
/// authorization endpoint would show on an error page — the redirect URI — is `invalid_request`.
fn refusal(rejection: Rejection) -> OAuthError {
    match rejection {
        Rejection::Page(message) => OAuthError::invalid_request(message),
        Rejection::Redirect(redirect) => redirect.error,
        Rejection::Store(error) => error.into(),
    }
}
