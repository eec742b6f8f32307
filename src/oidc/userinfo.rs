//! The UserInfo endpoint (OIDC Core §5.3): claims about the signed-in user, by granted scope.

use serde::Serialize;

use super::scope::{EMAIL, OPENID, PROFILE, Scope};
use super::standing::Standing;
use super::{ErrorCode, OAuthError, OidcService};
use crate::clock::UnixTime;
use crate::store::users::User;
use crate::tokens::dpop::Presentation;

/// The claims released for one access token.
#[derive(Debug, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl UserInfo {
    fn for_scope(user: User, scope: &Scope) -> Self {
        let profile = scope.contains(PROFILE);
        let email = scope.contains(EMAIL);
        Self {
            preferred_username: profile.then(|| user.username.clone()),
            // The display name an upstream gave, else the username.
            name: profile.then(|| user.name.clone().unwrap_or_else(|| user.username.clone())),
            updated_at: profile.then_some(user.updated_at),
            email_verified: (email && user.email.is_some()).then_some(user.email_verified),
            email: user.email.filter(|_| email),
            sub: user.id,
        }
    }
}

impl OidcService {
    /// Checks the access token (signature, lifetime, its DPoP binding against how it was presented, live grant
    /// or private token, active account, `openid` scope) and returns the claims its scope releases.
    pub async fn userinfo(
        &self,
        token: &str,
        presentation: Presentation<'_>,
        now: UnixTime,
    ) -> Result<UserInfo, OAuthError> {
        let claims = self.access.verify(token, now)?;
        self.dpop
            .check_presentation(token, claims.jkt(), presentation, now)
            .await?;
        let user = match self.standing(&claims, now).await? {
            Standing::User(user) => user,
            Standing::Client => {
                return Err(OAuthError::invalid_token(
                    "this token was issued to a client, not for a user",
                ));
            }
            Standing::Dead => return Err(OAuthError::invalid_token("the access token was revoked")),
        };
        let scope = Scope::stored(&claims.scope);
        if !scope.contains(OPENID) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token was not granted the openid scope",
            ));
        }
        Ok(UserInfo::for_scope(*user, &scope))
    }
}
