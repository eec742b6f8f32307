//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693): a user's private token, as the
//! subject token, exchanged for a short-lived access token of the client's application. The scope is what
//! was asked for (or everything) narrowed to what both the private token and the client hold; no refresh
//! token and no ID token are issued, and the access token dies with the private token.

use std::net::IpAddr;

use super::{TokenResponse, param, required};
use crate::apps::Application;
use crate::auth::{AuthError, SessionError, exchanged_lifetime};
use crate::clock::UnixTime;
use crate::oidc::clients::Client;
use crate::oidc::params::Params;
use crate::oidc::scope::Scope;
use crate::oidc::{ErrorCode, OAuthError, OidcService};
use crate::tokens::AccessGrant;

/// The `subject_token_type` of a Tessera private token (`tsp_…`).
pub const PRIVATE_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:private_token";
/// RFC 8693 §3: the type of what the exchange issues.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

impl OidcService {
    pub(super) async fn exchange_private_token(
        &self,
        client: &Client,
        app: &Application,
        params: &Params,
        jkt: Option<&str>,
        client_ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let subject_token = required(params, "subject_token")?;
        let subject_type = required(params, "subject_token_type")?;
        if subject_type != PRIVATE_TOKEN_TYPE {
            return Err(OAuthError::invalid_request(format!(
                "subject_token_type must be {PRIVATE_TOKEN_TYPE}"
            )));
        }
        if param(params, "actor_token")?.is_some() || param(params, "actor_token_type")?.is_some() {
            return Err(OAuthError::invalid_request("delegation (actor_token) is not supported"));
        }
        if let Some(requested) = param(params, "requested_token_type")?
            && requested != ACCESS_TOKEN_TYPE
        {
            return Err(OAuthError::invalid_request(format!(
                "only {ACCESS_TOKEN_TYPE} can be issued"
            )));
        }
        for target in ["audience", "resource"] {
            if param(params, target)?.is_some_and(|value| value != self.issuer) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidTarget,
                    format!("tokens are issued for {} only", self.issuer),
                ));
            }
        }
        let requested = param(params, "scope")?
            .map(|text| Scope::parse(text).ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope")))
            .transpose()?;
        if let Err(refused) = self.private_tokens.usable_from(app, client_ip) {
            return Err(refused.into());
        }
        let live = match self
            .private_tokens
            .resolve_private_token(subject_token, &app.id, now)
            .await
        {
            Ok(live) => live,
            Err(AuthError::Store(e)) => return Err(e.into()),
            Err(AuthError::Session(SessionError::AppMismatch)) => {
                return Err(OAuthError::invalid_grant(
                    "the private token belongs to another application than this client",
                ));
            }
            Err(_) => {
                return Err(OAuthError::invalid_grant(
                    "the subject token is not a live private token",
                ));
            }
        };
        self.private_tokens.record_use(&live.token, client_ip, now);
        let held = Scope::stored(&live.token.scopes);
        let scope = requested
            .unwrap_or_else(|| held.clone())
            .iter()
            .filter(|s| held.contains(s) && client.scopes.contains(s))
            .collect::<Vec<_>>()
            .join(" ");
        let access = self.access.issue(
            AccessGrant {
                subject: &live.user.id,
                family: None,
                scope: &scope,
                client_id: Some(&client.id),
                application: Some(&app.id),
                private_token: Some(&live.token.id),
                amr: None,
                acr: None,
                auth_time: None,
                jkt,
                lifetime: exchanged_lifetime(app, &live.token, now),
                grant: crate::metrics::Grant::TokenExchange,
                alg: client.access_token_alg(),
            },
            now,
        )?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: super::token_type(jkt),
            expires_in: access.expires_in,
            refresh_token: None,
            id_token: None,
            scope,
            issued_token_type: Some(ACCESS_TOKEN_TYPE),
            dpop_nonce: None,
        })
    }
}
