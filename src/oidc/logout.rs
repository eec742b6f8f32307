//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). With a valid `id_token_hint` the session
//! ends at once and the browser returns to an exactly registered `post_logout_redirect_uri`; without one,
//! the user confirms on a CSRF-protected page first, so no other site can sign anyone out. The session a
//! valid hint names (its `sid`) ends even when the request carries no session cookie — a cross-site POST
//! from the relying party drops `SameSite=Lax` cookies.

use super::params::Params;
use super::{OidcService, with_query};
use crate::auth::BrowserSession;
use crate::store::{StoreError, browser_sessions};
use crate::tokens::IdClaims;

/// What to do with a logout request.
#[derive(Debug)]
pub enum LogoutPlan {
    /// End the browser's session now, and the session the hint names (`hinted`, when it is another live
    /// session of the hint's user), then go to `redirect` (or the signed-out page).
    Now {
        redirect: Option<String>,
        hinted: Option<String>,
    },
    /// Ask the user first; `redirect` is where to go after they confirm.
    Confirm {
        redirect: Option<String>,
        client_name: Option<String>,
    },
    /// The request names a client or redirect it may not: show an error page, go nowhere.
    Refuse(String),
    /// The database could not be asked.
    Unavailable(crate::store::StoreError),
}

impl OidcService {
    /// Decides how to handle `GET`/`POST /oauth2/logout` for the browser's `session`.
    pub async fn plan_logout(&self, params: &Params, session: Option<&BrowserSession>) -> LogoutPlan {
        let get = |name: &'static str| params.get(name).ok().flatten();
        let (hint, client_id, uri, state) = (
            get("id_token_hint"),
            get("client_id"),
            get("post_logout_redirect_uri"),
            get("state"),
        );
        let hint_claims = hint.and_then(|hint| self.id_tokens.verify_hint(hint).ok());
        if hint.is_some() && hint_claims.is_none() {
            // RP-Initiated Logout §2: the OP must check it issued the hint; a forged one earns no redirect.
            return LogoutPlan::Confirm {
                redirect: None,
                client_name: None,
            };
        }
        let client_id = match (&hint_claims, client_id) {
            (Some(claims), Some(id)) if claims.aud != id => {
                return LogoutPlan::Refuse("The client_id does not match the id_token_hint.".into());
            }
            (Some(claims), _) => Some(claims.aud.clone()),
            (None, id) => id.map(str::to_owned),
        };
        let client = match &client_id {
            Some(id) => match self.clients.find_active(id).await {
                Ok(Some(client)) => Some(client),
                Ok(None) => return LogoutPlan::Refuse("The application is not registered here.".into()),
                Err(error) => return LogoutPlan::Unavailable(error),
            },
            None => None,
        };
        let redirect = match (uri, &client) {
            // Without a client to check it against, a redirect is simply not followed.
            (None, _) | (Some(_), None) => None,
            (Some(uri), Some(client)) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                Some(match state {
                    Some(state) => with_query(uri, &[("state", state)]),
                    None => uri.to_owned(),
                })
            }
            (Some(_), Some(_)) => {
                return LogoutPlan::Refuse(
                    "The post_logout_redirect_uri is not registered for this application.".into(),
                );
            }
        };
        let same_user = match (&hint_claims, session) {
            (Some(claims), Some(session)) => claims.sub == session.user.id,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if same_user {
            match self.hinted_session(hint_claims.as_ref(), session).await {
                Ok(hinted) => LogoutPlan::Now { redirect, hinted },
                Err(error) => LogoutPlan::Unavailable(error),
            }
        } else {
            LogoutPlan::Confirm {
                redirect,
                client_name: client.map(|c| c.name),
            }
        }
    }
}

impl OidcService {
    /// The live browser session a valid hint's `sid` names, when it belongs to the hint's user and is not the
    /// browser's own (that one ends anyway).
    async fn hinted_session(
        &self,
        claims: Option<&IdClaims>,
        session: Option<&BrowserSession>,
    ) -> Result<Option<String>, StoreError> {
        let Some((claims, sid)) = claims.and_then(|c| c.sid.as_ref().map(|sid| (c, sid))) else {
            return Ok(None);
        };
        if session.is_some_and(|s| s.id == *sid) {
            return Ok(None);
        }
        Ok(browser_sessions::find(&self.db, sid.clone())
            .await?
            .filter(|row| row.user_id == claims.sub && row.revoked_at.is_none())
            .map(|row| row.id))
    }
}
