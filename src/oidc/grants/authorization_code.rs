//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5–4.6, OIDC Core §3.1.3). The code is
//! spent before anything else is checked, so a failed attempt (wrong client, redirect URI or verifier)
//! also burns it; a replay revokes everything the code produced (RFC 6749 §4.1.2).

use subtle::ConstantTimeEq;

use super::{AccountGrant, TokenResponse, param, required};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::oidc::clients::{Client, GrantType};
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError, OidcService, pkce};
use crate::store::authorization_codes::{self, AuthorizationCodeRow, Grant, Spend};
use crate::store::refresh_tokens::NewRefreshToken;
use crate::store::sessions::NewSession;
use crate::store::{browser_sessions, users};
use crate::tokens::opaque::{self, REFRESH_TOKEN_PREFIX};

impl OidcService {
    pub(super) async fn exchange_code(
        &self,
        client: &Client,
        app: &Application,
        params: &Params,
        jkt: Option<&str>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let code = required(params, "code")?;
        let redirect_uri = param(params, "redirect_uri")?;
        let verifier = param(params, "code_verifier")?;
        let code_hash = opaque::hash(code);
        let row = match authorization_codes::spend(&self.db, code_hash.clone(), now).await? {
            Spend::Unknown => return Err(OAuthError::invalid_grant("unknown authorization code")),
            Spend::Replayed(family) => {
                tracing::warn!(?family, client_id = %client.id, "authorization code replayed; its tokens revoked");
                return Err(OAuthError::invalid_grant("the authorization code was already used"));
            }
            Spend::Spent(row) => row,
        };
        check_binding(&row, client, redirect_uri, verifier, now)?;
        // RFC 9449 §10: a code bound to a DPoP key is exchanged only with a proof by that key.
        if let Some(bound) = &row.dpop_jkt
            && !jkt.is_some_and(|jkt| bool::from(jkt.as_bytes().ct_eq(bound.as_bytes())))
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "the authorization code is bound to a DPoP key: send a proof by that key",
            ));
        }
        let user = users::find_by_id(&self.db, row.user_id.clone())
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(|| OAuthError::invalid_grant("the account is no longer active"))?;
        // The code is bound to the sign-in that produced it: signing out in between voids it.
        let signed_in = browser_sessions::find(&self.db, row.browser_session_id.clone()).await?;
        if signed_in.is_none_or(|session| session.revoked_at.is_some()) {
            return Err(OAuthError::invalid_grant("the sign-in behind this code has ended"));
        }

        let family_id = opaque::random_id();
        let expires_at = now + app.refresh_token_ttl_secs;
        let refresh = client
            .allows(GrantType::RefreshToken)
            .then(|| opaque::mint(REFRESH_TOKEN_PREFIX));
        let family = NewSession {
            id: family_id.clone(),
            user_id: user.id.clone(),
            auth_time: row.auth_time,
            created_at: now,
            expires_at,
            application_id: Some(app.id.clone()),
            client_id: Some(client.id.clone()),
            scope: row.scope.clone(),
            amr: row.amr.clone(),
            acr: row.acr.clone(),
            browser_session_id: Some(row.browser_session_id.clone()),
            offline: row.offline,
            dpop_jkt: super::family_binding(client, jkt),
        };
        let refresh_row = refresh.as_ref().map(|token| NewRefreshToken {
            id: opaque::random_id(),
            session_id: family_id.clone(),
            token_hash: token.hash.clone(),
            parent_id: None,
            created_at: now,
            expires_at,
        });
        // A replay that overtook this redemption leaves the family born revoked, and no token goes out: an ID
        // token cannot be revoked, and third parties check access tokens offline.
        match authorization_codes::create_family(&self.db, code_hash, family, refresh_row).await? {
            Grant::Live => {}
            Grant::BornRevoked | Grant::AlreadyGranted => {
                tracing::warn!(client_id = %client.id, "authorization code replayed during its redemption; nothing issued");
                return Err(OAuthError::invalid_grant("the authorization code was already used"));
            }
        }

        let grant = AccountGrant {
            user_id: &user.id,
            family_id: &family_id,
            scope: row.scope.clone(),
            auth_time: row.auth_time,
            amr: &row.amr,
            acr: &row.acr,
            nonce: row.nonce.as_deref(),
            browser_session_id: Some(&row.browser_session_id),
            refresh_token: refresh.map(|r| r.value),
            jkt,
            metric: crate::metrics::Grant::AuthorizationCode,
        };
        let tokens = self.account_tokens(client, app, grant, now)?;
        tracing::info!(user_id = %user.id, client_id = %client.id, "authorization code exchanged");
        Ok(tokens)
    }
}

/// RFC 6749 §4.1.3 and RFC 7636 §4.6: the code belongs to this client, the redirect URI is identical, it has
/// not expired, and the verifier matches the challenge — and there is no verifier without a challenge
/// (RFC 9700 §4.8.2, PKCE downgrade).
fn check_binding(
    row: &AuthorizationCodeRow,
    client: &Client,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if row.client_id != client.id {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    if now >= row.expires_at {
        return Err(OAuthError::invalid_grant("the authorization code has expired"));
    }
    if redirect_uri != Some(row.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    match (&row.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant("the code_verifier does not match")),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "a code_verifier was sent but the authorization request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}
