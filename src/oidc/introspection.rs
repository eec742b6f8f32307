//! Token introspection (RFC 7662). A client may introspect the tokens issued to it and the private tokens of
//! its application; anything else — unknown, expired, revoked, foreign, another client's — is exactly
//! `{"active": false}` (§2.2).

use serde::Serialize;

use super::clients::Client;
use super::standing::Standing;
use super::{OAuthError, OidcService};
use crate::auth::AuthError;
use crate::clock::UnixTime;
use crate::store::refresh_tokens;
use crate::tokens::opaque::{self, PRIVATE_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};

/// An introspection answer.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<TokenDetails>,
}

/// What an active token is.
#[derive(Debug, Serialize)]
pub struct TokenDetails {
    pub scope: String,
    /// The client the token was issued to; absent for a private token, which belongs to no client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The application the token is for.
    pub application_id: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl Introspection {
    fn inactive() -> Self {
        Self {
            active: false,
            details: None,
        }
    }

    fn active(details: TokenDetails) -> Self {
        Self {
            active: true,
            details: Some(details),
        }
    }
}

impl OidcService {
    /// `POST /oauth2/introspect` for an authenticated `client`.
    pub async fn introspect(&self, client: &Client, token: &str, now: UnixTime) -> Result<Introspection, OAuthError> {
        if token.starts_with(REFRESH_TOKEN_PREFIX) {
            return self.introspect_refresh_token(client, token, now).await;
        }
        if token.starts_with(PRIVATE_TOKEN_PREFIX) {
            return self.introspect_private_token(client, token, now).await;
        }
        let Ok(claims) = self.access.verify(token, now) else {
            return Ok(Introspection::inactive());
        };
        if claims.client_id.as_deref() != Some(client.id.as_str()) {
            return Ok(Introspection::inactive());
        }
        if matches!(self.standing(&claims, now).await?, Standing::Dead) {
            return Ok(Introspection::inactive());
        }
        Ok(Introspection::active(TokenDetails {
            scope: claims.scope,
            client_id: Some(client.id.clone()),
            application_id: client.application_id.clone(),
            sub: claims.sub,
            exp: claims.exp,
            iat: claims.iat,
            iss: claims.iss,
            aud: Some(claims.aud),
            token_type: "Bearer",
            jti: Some(claims.jti),
        }))
    }

    async fn introspect_refresh_token(
        &self,
        client: &Client,
        token: &str,
        now: UnixTime,
    ) -> Result<Introspection, OAuthError> {
        if !opaque::is_well_formed(token, REFRESH_TOKEN_PREFIX) {
            return Ok(Introspection::inactive());
        }
        let Some(found) = refresh_tokens::find_by_hash(&self.db, opaque::hash(token)).await? else {
            return Ok(Introspection::inactive());
        };
        let usable = found.session.client_id.as_deref() == Some(client.id.as_str())
            && found.session.revoked_at.is_none()
            && found.token.used_at.is_none()
            && found.token.expires_at > now
            && found.user.is_active;
        if !usable {
            return Ok(Introspection::inactive());
        }
        Ok(Introspection::active(TokenDetails {
            scope: found.session.scope,
            client_id: Some(client.id.clone()),
            application_id: client.application_id.clone(),
            sub: found.user.id,
            exp: found.token.expires_at,
            iat: found.token.created_at,
            iss: self.issuer.clone(),
            aud: None,
            token_type: "refresh_token",
            jti: None,
        }))
    }

    /// A private token is reported to the clients of its application.
    async fn introspect_private_token(
        &self,
        client: &Client,
        token: &str,
        now: UnixTime,
    ) -> Result<Introspection, OAuthError> {
        let live = match self
            .auth
            .resolve_private_token(token, &client.application_id, now)
            .await
        {
            Ok(live) => live,
            Err(AuthError::Store(e)) => return Err(e.into()),
            Err(_) => return Ok(Introspection::inactive()),
        };
        Ok(Introspection::active(TokenDetails {
            scope: live.token.scopes,
            client_id: None,
            application_id: live.token.application_id,
            sub: live.user.id,
            exp: live.token.expires_at,
            iat: live.token.created_at,
            iss: self.issuer.clone(),
            aud: None,
            token_type: "private_token",
            jti: None,
        }))
    }
}
