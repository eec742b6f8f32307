//! Token introspection (RFC 7662). Who may see what: a client the tokens issued to it and the private tokens
//! of its application; a client marked as a **resource server** (an API gateway) every token of its
//! application — access tokens of any client and of the REST API, refresh tokens, private tokens. Anything
//! else — unknown, expired, revoked, another application's, another client's — is exactly `{"active": false}`
//! (§2.2).

use serde::Serialize;

use super::clients::Client;
use super::standing::Standing;
use super::{OAuthError, OidcService};
use crate::auth::AuthError;
use crate::clock::UnixTime;
use crate::store::refresh_tokens;
use crate::tokens::access::Confirmation;
use crate::tokens::opaque::{self, PRIVATE_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};

/// An introspection answer.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<TokenDetails>,
}

/// What an active token is (RFC 7662 §2.2), as far as it is known.
#[derive(Debug, Serialize)]
pub struct TokenDetails {
    pub scope: String,
    /// The client the token was issued to; absent for the REST API's tokens and private tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The username of the account the token speaks for; absent for a client acting for itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The application the token is for.
    pub application_id: String,
    /// `Bearer` or `DPoP` (an access token, RFC 9449 §6.2), `refresh_token` or `private_token`.
    pub token_type: &'static str,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    /// Who the token is for: the issuer (Tessera's own API and endpoints), for every kind of token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// How the user signed in (RFC 8176) and at what level, for tokens of a sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The upstream provider the user signed in through, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// RFC 9449 §6.2: the DPoP key the token (or the refresh token's family) is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
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

/// Whether `client` may learn about a token of `application_id` issued to `issued_to` (no client: the REST API
/// or a private token).
fn may_see(client: &Client, application_id: &str, issued_to: Option<&str>) -> bool {
    if client.resource_server {
        application_id == client.application_id
    } else {
        issued_to == Some(client.id.as_str())
    }
}

impl OidcService {
    /// `POST /oauth2/introspect` for an authenticated `client`.
    pub async fn introspect(&self, client: &Client, token: &str, now: UnixTime) -> Result<Introspection, OAuthError> {
        let details = if token.starts_with(REFRESH_TOKEN_PREFIX) {
            self.introspect_refresh_token(client, token, now).await?
        } else if token.starts_with(PRIVATE_TOKEN_PREFIX) {
            self.introspect_private_token(client, token, now).await?
        } else {
            self.introspect_access_token(client, token, now).await?
        };
        Ok(details.map_or_else(Introspection::inactive, Introspection::active))
    }

    async fn introspect_access_token(
        &self,
        client: &Client,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<TokenDetails>, OAuthError> {
        let Ok(claims) = self.access.verify(token, now) else {
            return Ok(None);
        };
        let application_id = claims.app.clone().unwrap_or_default();
        if !may_see(client, &application_id, claims.client_id.as_deref()) {
            return Ok(None);
        }
        let username = match self.standing(&claims, now).await? {
            Standing::Dead => return Ok(None),
            Standing::User(user) => Some(user.username),
            Standing::Client => None,
        };
        Ok(Some(TokenDetails {
            scope: claims.scope,
            client_id: claims.client_id,
            username,
            application_id,
            token_type: if claims.cnf.is_some() { "DPoP" } else { "Bearer" },
            sub: claims.sub,
            exp: claims.exp,
            iat: claims.iat,
            iss: claims.iss,
            aud: Some(claims.aud),
            jti: Some(claims.jti),
            acr: claims.acr,
            amr: claims.amr,
            idp: claims.idp,
            cnf: claims.cnf,
        }))
    }

    async fn introspect_refresh_token(
        &self,
        client: &Client,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<TokenDetails>, OAuthError> {
        if !opaque::is_well_formed(token, REFRESH_TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(found) = refresh_tokens::find_by_hash(&self.db, opaque::hash(token)).await? else {
            return Ok(None);
        };
        let (family, row, user) = (found.session, found.token, found.user);
        let application_id = family.application_id.clone().unwrap_or_default();
        let live = family.revoked_at.is_none() && row.used_at.is_none() && row.expires_at > now && user.is_active;
        if !live || !may_see(client, &application_id, family.client_id.as_deref()) {
            return Ok(None);
        }
        Ok(Some(TokenDetails {
            scope: family.scope,
            client_id: family.client_id,
            username: Some(user.username),
            application_id,
            token_type: "refresh_token",
            sub: user.id,
            exp: row.expires_at,
            iat: row.created_at,
            iss: self.issuer.clone(),
            // A refresh token is presented to the issuer only.
            aud: Some(self.issuer.clone()),
            jti: None,
            acr: Some(family.acr),
            amr: Some(crate::tokens::amr::methods(&family.amr)),
            idp: crate::tokens::amr::idp(&family.amr),
            cnf: family.dpop_jkt.map(|jkt| Confirmation { jkt }),
        }))
    }

    /// A private token is reported to every client of its application: holding one proves nothing more than
    /// the token itself does.
    async fn introspect_private_token(
        &self,
        client: &Client,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<TokenDetails>, OAuthError> {
        let live = match self
            .private_tokens
            .resolve_private_token(token, &client.application_id, now)
            .await
        {
            Ok(live) => live,
            Err(AuthError::Store(e)) => return Err(e.into()),
            Err(_) => return Ok(None),
        };
        Ok(Some(TokenDetails {
            scope: live.token.scopes,
            client_id: None,
            username: Some(live.user.username),
            application_id: live.token.application_id,
            token_type: "private_token",
            sub: live.user.id,
            exp: live.token.expires_at,
            iat: live.token.created_at,
            iss: self.issuer.clone(),
            // A private token is presented to the issuer's API only.
            aud: Some(self.issuer.clone()),
            jti: None,
            acr: None,
            amr: None,
            idp: None,
            cnf: None,
        }))
    }
}
