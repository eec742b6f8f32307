//! Token revocation (RFC 7009). Revoking a refresh token or an access token ends the whole grant it
//! belongs to; a stand-alone access token (client credentials, token exchange) is remembered as revoked
//! until it expires; a private token of the client's application is revoked.
//! Unknown tokens answer success, tokens of other clients are left alone, and a storage failure is
//! reported rather than pretending success.

use super::clients::Client;
use super::params::Params;
use super::{ErrorCode, OAuthError, OidcService};
use crate::auth::{AuthError, PrivateTokenError};
use crate::clock::UnixTime;
use crate::store::{refresh_tokens, sessions};
use crate::tokens::opaque::{self, PRIVATE_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};

impl OidcService {
    /// `POST /oauth2/revoke` for an authenticated `client`. RFC 7009 §2.1: `token_type_hint` only speeds the
    /// look-up up; whatever it says (an unknown value included), every kind of token is searched — Tessera
    /// tells its tokens apart by their form and needs no hint.
    pub async fn revoke(&self, client: &Client, params: &Params, now: UnixTime) -> Result<(), OAuthError> {
        if let Some(name) = params.first_duplicate() {
            return Err(OAuthError::invalid_request(format!("{name} must not be repeated")));
        }
        let token = params
            .get("token")
            .ok()
            .flatten()
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        if token.starts_with(REFRESH_TOKEN_PREFIX) {
            return self.revoke_refresh_token(client, token, now).await;
        }
        if token.starts_with(PRIVATE_TOKEN_PREFIX) {
            return self.revoke_private_token(client, token, now).await;
        }
        if self.id_tokens.verify_hint(token).is_ok() {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedTokenType,
                "ID tokens cannot be revoked; revoke the access or refresh token",
            ));
        }
        let Ok(claims) = self.access.verify(token, now) else {
            // Unknown, malformed or already expired: nothing to do (§2.2).
            return Ok(());
        };
        if claims.client_id.as_deref() != Some(client.id.as_str()) {
            tracing::warn!(client_id = %client.id, "client tried to revoke another client's access token");
            return Ok(());
        }
        match claims.sid {
            Some(family) => {
                sessions::revoke(&self.db, family, "revoked", now).await?;
            }
            None => self.revoked.revoke(claims.jti, claims.exp, now).await?,
        }
        tracing::info!(client_id = %client.id, "access token revoked");
        Ok(())
    }

    async fn revoke_refresh_token(&self, client: &Client, token: &str, now: UnixTime) -> Result<(), OAuthError> {
        if !opaque::is_well_formed(token, REFRESH_TOKEN_PREFIX) {
            return Ok(());
        }
        let Some(found) = refresh_tokens::find_by_hash(&self.db, opaque::hash(token)).await? else {
            return Ok(());
        };
        if found.session.client_id.as_deref() != Some(client.id.as_str()) {
            tracing::warn!(client_id = %client.id, "client tried to revoke another client's refresh token");
            return Ok(());
        }
        sessions::revoke(&self.db, found.session.id, "revoked", now).await?;
        tracing::info!(client_id = %client.id, "refresh token revoked with its grant");
        Ok(())
    }

    /// Whoever holds a private token may revoke it (a leaked token should be easy to kill), through a client
    /// of the token's application.
    async fn revoke_private_token(&self, client: &Client, token: &str, now: UnixTime) -> Result<(), OAuthError> {
        let live = match self
            .private_tokens
            .resolve_private_token(token, &client.application_id, now)
            .await
        {
            Ok(live) => live,
            Err(AuthError::Store(e)) => return Err(e.into()),
            Err(_) => return Ok(()),
        };
        match self
            .private_tokens
            .revoke_private_token(&live.user.id, &live.token.id, "revoked_by_holder", now)
            .await
        {
            Ok(()) | Err(AuthError::PrivateToken(PrivateTokenError::UnknownToken)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
