//! Bearer requests: a private token, or an access token of a live family (or of a live private token) and an
//! active account, issued for the API key's application. A family's bearer request counts as its activity
//! (the idle check of step-ups). A DPoP-bound access token is accepted only with a proof by its key.

use std::net::IpAddr;

use super::{AuthError, Credential, Principal, SessionError, Sessions};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::store::sessions;
use crate::tokens::TokenError;
use crate::tokens::dpop::Presentation;
use crate::tokens::opaque::PRIVATE_TOKEN_PREFIX;

/// How often a bearer request records its family's activity, at most.
const ACTIVITY_EVERY_SECS: i64 = 60;

impl Sessions {
    /// A request with one of the family's access tokens (a REST call, userinfo, introspection) is its activity
    /// (the idle check of step-ups); recorded at most once a minute.
    pub async fn note_activity(&self, family: &sessions::Session, now: UnixTime) -> Result<(), AuthError> {
        if now - family.active_at() >= ACTIVITY_EVERY_SECS {
            sessions::touch(&self.db, family.id.clone(), now).await?;
        }
        Ok(())
    }

    /// Resolves a bearer token presented with `app`'s API key from `client_ip`: a private token, or an
    /// access token with a valid signature and lifetime, issued for that application, of a live session
    /// (or live private token) and an active account. The account is the request's actor in the audit log.
    /// A DPoP-bound token must come with the `DPoP` scheme and a proof by its key, any other with `Bearer`
    /// (RFC 9449 §7.1).
    pub async fn authenticate_bearer(
        &self,
        token: &str,
        presentation: Presentation<'_>,
        app: &Application,
        client_ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<Principal, AuthError> {
        let principal = self.resolve_bearer(token, presentation, app, client_ip, now).await?;
        crate::audit::note_actor(&principal.user.id);
        Ok(principal)
    }

    async fn resolve_bearer(
        &self,
        token: &str,
        presentation: Presentation<'_>,
        app: &Application,
        client_ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<Principal, AuthError> {
        if token.starts_with(PRIVATE_TOKEN_PREFIX) {
            // A private token is never bound to a key.
            self.dpop.check_presentation(token, None, presentation, now).await?;
            return self
                .private_tokens
                .authenticate_private_token(token, app, client_ip, now)
                .await;
        }
        let claims = self.tokens.verify(token, now)?;
        if claims.app.as_deref() != Some(app.id.as_str()) {
            return Err(SessionError::AppMismatch.into());
        }
        self.dpop
            .check_presentation(token, claims.jkt(), presentation, now)
            .await?;
        if let Some(private_token) = claims.pat {
            let live = self
                .private_tokens
                .live_private_token(&private_token, &app.id, now)
                .await?;
            if live.user.id != claims.sub {
                return Err(TokenError::Invalid("The token does not belong to its private token.").into());
            }
            // A client may have revoked the token it exchanged for (RFC 7009).
            if claims.client_id.is_some() && self.revoked.is_revoked(&claims.jti, now).await? {
                return Err(TokenError::Revoked("The access token was revoked.").into());
            }
            return Ok(Principal {
                user: live.user,
                scope: claims.scope,
                credential: Credential::PrivateToken(private_token),
            });
        }
        let family = claims
            .sid
            .ok_or(TokenError::Invalid("The token does not belong to a user."))?;
        let (session, user) = sessions::find_with_user(&self.db, family.clone())
            .await?
            .ok_or(TokenError::Revoked("The session of this token no longer exists."))?;
        if session.revoked_at.is_some() {
            return Err(TokenError::Revoked("The session of this token was revoked.").into());
        }
        if user.id != claims.sub {
            return Err(TokenError::Invalid("The token does not belong to its session.").into());
        }
        if !user.is_active {
            return Err(TokenError::Revoked("The account is disabled.").into());
        }
        self.note_activity(&session, now).await?;
        Ok(Principal {
            user,
            scope: claims.scope,
            credential: Credential::Session {
                family,
                auth_time: session.auth_time,
            },
        })
    }
}
