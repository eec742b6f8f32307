//! The token endpoint's grants (RFC 6749 §4.1.3, §4.4, §6; RFC 8628 §3.4; RFC 8693), one file each, the
//! response they share, and the tokens every grant for an account issues alike.

mod authorization_code;
mod client_credentials;
mod device_code;
mod refresh_token;
mod token_exchange;

use std::net::IpAddr;

use serde::Serialize;

use super::clients::{Client, GrantType};
use super::params::{Duplicated, Params};
use super::scope::{OPENID, Scope};
use super::{ErrorCode, OAuthError, OidcService};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::metrics::Grant;
use crate::tokens::AccessGrant;
use crate::tokens::dpop::ProofTarget;
use crate::tokens::id_token::IdTokenFacts;

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
    /// RFC 8693 §2.2.1: what a token exchange issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
    /// RFC 9449 §8: the nonce the client's next proof must carry (the `DPoP-Nonce` header), when nonces are
    /// required.
    #[serde(skip)]
    pub dpop_nonce: Option<String>,
}

/// The DPoP proof a token request came with (RFC 9449 §5), and the request it must have been made for.
#[derive(Clone, Copy, Debug)]
pub struct TokenProof<'a> {
    pub proof: &'a str,
    pub target: ProofTarget<'a>,
}

/// RFC 9449 §5: the key a new token family's refresh tokens are bound to. A public client's are bound to the
/// key it proved (MUST); a confidential client's stay bound to its authentication alone, so it may change
/// keys — each refresh's access token is bound to the key of that refresh's proof.
fn family_binding(client: &Client, jkt: Option<&str>) -> Option<String> {
    jkt.filter(|_| client.is_public()).map(str::to_owned)
}

/// RFC 9449 §5: `DPoP` for a token bound to a key, `Bearer` otherwise.
fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}

impl OidcService {
    /// `POST /oauth2/token` for an authenticated `client` of application `app`, sent from `client_ip`, with a
    /// DPoP proof if the request had one: its key then binds the access token (RFC 9449 §5).
    pub async fn token(
        &self,
        client: &Client,
        app: &Application,
        params: &Params,
        dpop: Option<TokenProof<'_>>,
        client_ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        if let Some(name) = params.first_duplicate() {
            return Err(OAuthError::invalid_request(format!("{name} must not be repeated")));
        }
        let grant = match param(params, "grant_type")? {
            None => return Err(OAuthError::invalid_request("grant_type is required")),
            Some(name) => GrantType::parse(name).ok_or_else(|| {
                // RFC 9700 §2.4: the password grant MUST NOT be used, so it is as unknown as any other.
                OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {name} is not supported"),
                )
            })?,
        };
        if !client.allows(grant) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use the {} grant", grant.as_str()),
            ));
        }
        // Checked before the grant, so a refused proof (a nonce asked for) spends no code or refresh token.
        let jkt = match dpop {
            Some(dpop) => Some(self.dpop.check_proof(dpop.proof, dpop.target, None, now).await?),
            None => None,
        };
        let jkt = jkt.as_deref();
        let mut response = match grant {
            GrantType::AuthorizationCode => self.exchange_code(client, app, params, jkt, now).await,
            GrantType::RefreshToken => {
                self.exchange_refresh_token(client, app, params, jkt, client_ip, now)
                    .await
            }
            GrantType::ClientCredentials => self.issue_client_credentials(client, app, params, jkt, now),
            GrantType::TokenExchange => {
                self.exchange_private_token(client, app, params, jkt, client_ip, now)
                    .await
            }
            GrantType::DeviceCode => self.exchange_device_code(client, app, params, jkt, now).await,
        }?;
        response.dpop_nonce = dpop.and_then(|_| self.dpop.fresh_nonce(now));
        Ok(response)
    }

    /// The tokens of a grant for an account (authorization code, refresh, device code): an access token of the
    /// family, an ID token with `at_hash` when `openid` was granted (OIDC Core §3.1.3.3), and the refresh token
    /// the grant made, if any.
    fn account_tokens(
        &self,
        client: &Client,
        app: &Application,
        grant: AccountGrant<'_>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let access = self.access.issue(
            AccessGrant {
                subject: grant.user_id,
                family: Some(grant.family_id),
                scope: &grant.scope,
                client_id: Some(&client.id),
                application: Some(&app.id),
                private_token: None,
                amr: Some(grant.amr),
                acr: Some(grant.acr),
                auth_time: Some(grant.auth_time),
                jkt: grant.jkt,
                lifetime: app.access_token_ttl_secs,
                grant: grant.metric,
                alg: client.access_token_alg(),
            },
            now,
        )?;
        let id_token = Scope::stored(&grant.scope)
            .contains(OPENID)
            .then(|| {
                self.id_tokens.issue(
                    &IdTokenFacts {
                        subject: grant.user_id,
                        client_id: &client.id,
                        auth_time: grant.auth_time,
                        nonce: grant.nonce,
                        acr: grant.acr,
                        amr: grant.amr,
                        browser_session_id: grant.browser_session_id,
                        access_token: Some(&access.token),
                        alg: client.id_token_alg(),
                    },
                    now,
                )
            })
            .transpose()?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: token_type(grant.jkt),
            expires_in: access.expires_in,
            refresh_token: grant.refresh_token,
            id_token,
            scope: grant.scope,
            issued_token_type: None,
            dpop_nonce: None,
        })
    }
}

/// What a grant for an account issues tokens from.
struct AccountGrant<'a> {
    user_id: &'a str,
    /// The token family (`sessions` row) the tokens belong to.
    family_id: &'a str,
    scope: String,
    /// The sign-in behind the grant.
    auth_time: UnixTime,
    amr: &'a str,
    acr: &'a str,
    nonce: Option<&'a str>,
    /// The browser session the grant was made in (the ID token's `sid`).
    browser_session_id: Option<&'a str>,
    refresh_token: Option<String>,
    /// The DPoP key the access token is bound to, if the request proved one.
    jkt: Option<&'a str>,
    /// How the access token is counted.
    metric: Grant,
}

/// A single-valued parameter; a repeated one is `invalid_request`.
fn param<'a>(params: &'a Params, name: &'static str) -> Result<Option<&'a str>, OAuthError> {
    params
        .get(name)
        .map_err(|Duplicated(name)| OAuthError::invalid_request(format!("{name} must not be repeated")))
}

/// A required parameter.
fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, OAuthError> {
    param(params, name)?.ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}
