//! Whether an access token still speaks for someone: the check userinfo and introspection share after the
//! signature and lifetime.

use super::{OAuthError, OidcService};
use crate::auth::AuthError;
use crate::clock::UnixTime;
use crate::store::sessions;
use crate::store::users::User;
use crate::tokens::AccessClaims;

/// What a verified access token stands for now.
pub enum Standing {
    /// A user, through a live token family or a live private token.
    User(Box<User>),
    /// A client acting for itself (client credentials), not revoked.
    Client,
    /// Revoked, or its account disabled.
    Dead,
}

impl OidcService {
    /// The token family behind `claims` (and its account), or the private token it was exchanged for, or —
    /// for a token of its own — that it was not revoked.
    pub(super) async fn standing(&self, claims: &AccessClaims, now: UnixTime) -> Result<Standing, OAuthError> {
        if let Some(family) = &claims.sid {
            return Ok(match sessions::find_with_user(&self.db, family.clone()).await? {
                Some((grant, user)) if grant.revoked_at.is_none() && user.is_active && user.id == claims.sub => {
                    self.sessions.note_activity(&grant, now).await?;
                    Standing::User(Box::new(user))
                }
                _ => Standing::Dead,
            });
        }
        if self.revoked.is_revoked(&claims.jti, now).await? {
            return Ok(Standing::Dead);
        }
        let Some(private_token) = &claims.pat else {
            return Ok(Standing::Client);
        };
        let app = claims.app.as_deref().unwrap_or_default();
        match self.private_tokens.live_private_token(private_token, app, now).await {
            Ok(live) if live.user.id == claims.sub => Ok(Standing::User(Box::new(live.user))),
            Ok(_) => Ok(Standing::Dead),
            Err(AuthError::Store(e)) => Err(e.into()),
            Err(_) => Ok(Standing::Dead),
        }
    }
}
