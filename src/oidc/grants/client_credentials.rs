//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client acting for itself. The token's
//! subject is the client; no refresh token and no ID token (§4.4.3); only scopes the client may have, and
//! none of the user-facing OpenID Connect ones.

use super::{TokenResponse, param};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::oidc::clients::Client;
use crate::oidc::params::Params;
use crate::oidc::scope::{OIDC_SCOPES, Scope};
use crate::oidc::{ErrorCode, OAuthError, OidcService};
use crate::tokens::AccessGrant;

impl OidcService {
    pub(super) fn issue_client_credentials(
        &self,
        client: &Client,
        app: &Application,
        params: &Params,
        jkt: Option<&str>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let allowed = OIDC_SCOPES
            .iter()
            .fold(client.scopes.clone(), |scopes, s| scopes.without(s));
        let scope = match param(params, "scope")? {
            None => allowed,
            Some(text) => {
                let requested =
                    Scope::parse(text).ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?;
                if let Some(extra) = requested.missing_from(&allowed).next() {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        format!("scope {extra} is not available to this client"),
                    ));
                }
                requested
            }
        };
        let scope = scope.to_string();
        let access = self.access.issue(
            AccessGrant {
                subject: &client.id,
                family: None,
                scope: &scope,
                client_id: Some(&client.id),
                application: Some(&app.id),
                private_token: None,
                amr: None,
                acr: None,
                auth_time: None,
                jkt,
                lifetime: app.access_token_ttl_secs,
                grant: crate::metrics::Grant::ClientCredentials,
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
            issued_token_type: None,
            dpop_nonce: None,
        })
    }
}
