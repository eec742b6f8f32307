//! An application's common access link, `/a/{slug}`: the entry point its users open (or scan) before they
//! install anything. When the application names a home client that can start a sign-in (its
//! `initiate_login_uri`), the link hands over to it — OpenID Connect Core §4, third-party-initiated login,
//! with `iss` and `target_link_uri` — and the client runs a normal code flow. Otherwise the application's
//! sign-in starts here per its access mode, and the signed-in person lands on the account page.

use super::OidcService;
use crate::apps::Application;
use crate::auth::flow::{Door, Next};
use crate::auth::{AccessError, AuthError, Authentication, BrowserSession, Origin, SignedIn};
use crate::clock::UnixTime;

/// Where the access link sends a browser.
#[derive(Debug)]
pub enum Landing {
    /// To the home client's `initiate_login_uri` (with `iss` and `target_link_uri`).
    Client(String),
    /// Signed in already and let in: the account page.
    Account,
    /// A new guest of an open application, signed in to this browser: then the account page.
    Guest(Box<SignedIn>),
    /// The proof of contact the application asks of the signed-in account.
    Verify(Next),
    /// The application's sign-in page.
    SignIn,
}

impl OidcService {
    /// The access link of `app`.
    pub fn access_link(&self, app: &Application) -> String {
        format!("{}/a/{}", self.issuer, app.slug)
    }

    /// Where the access link of `app` takes this browser.
    pub async fn land(
        &self,
        app: &Application,
        session: Option<&BrowserSession>,
        binding: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Landing, AuthError> {
        if let Some(uri) = self.home_login_uri(app).await? {
            return Ok(Landing::Client(uri));
        }
        let Some(session) = session else {
            return Ok(match self.accounts.browser_guest(&app.id, origin, now).await? {
                Some(guest) => Landing::Guest(Box::new(guest)),
                None => Landing::SignIn,
            });
        };
        let how = Authentication::of_session(&session.amr, &session.acr);
        match self
            .sign_in
            .admit(&session.user, app, Door::Browser(binding), &how, origin, now)
            .await
        {
            Ok(None) => Ok(Landing::Account),
            Ok(Some(next)) => Ok(Landing::Verify(next)),
            // Someone else may sign in here.
            Err(AuthError::Access(AccessError::NotMember)) => Ok(Landing::SignIn),
            Err(other) => Err(other),
        }
    }

    /// The home client's `initiate_login_uri` with `iss` and `target_link_uri` (one of the client's own
    /// redirect URIs, never anything from the request), if the application has a live home client that can
    /// start a sign-in.
    async fn home_login_uri(&self, app: &Application) -> Result<Option<String>, AuthError> {
        let Some(id) = &app.policy.home_client_id else {
            return Ok(None);
        };
        let Some(client) = self
            .clients
            .find_active(id)
            .await?
            .filter(|c| c.application_id == app.id)
        else {
            return Ok(None);
        };
        let Some(Ok(mut uri)) = client.initiate_login_uri.as_deref().map(url::Url::parse) else {
            return Ok(None);
        };
        {
            let mut query = uri.query_pairs_mut();
            query.append_pair("iss", &self.issuer);
            // Only where the client itself may be sent back: its first registered redirect URI.
            if let Some(target) = client.redirect_uris.first() {
                query.append_pair("target_link_uri", target);
            }
        }
        Ok(Some(uri.into()))
    }
}
