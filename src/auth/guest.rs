//! Guests of `open` applications: someone who comes without registering gets an identity at once — a stable
//! `sub`, `acr` `0`, no `amr`, no e-mail — in the browser (the authorization request needs no sign-in page) or
//! through `POST /api/v1/auth/guest`. A guest becomes a registered account, keeping its `sub`, once it proves
//! an address or number or sets a password. Guests without a live session are deleted after
//! `apps.unused_guest_days`.

use super::flow::generated_username;
use super::{AccessError, AccountError, Accounts, AuthError, Authentication, Freshness, Origin, SignedIn, TokenPair};
use crate::apps::Application;
use crate::apps::policy::AccessMode;
use crate::apps::rate_limit::Policy;
use crate::clock::UnixTime;
use crate::store::users::{self, NewUser, User};

impl Accounts {
    /// `POST /api/v1/auth/guest`: a token pair for a new guest of `app` — or, with the refresh token a device
    /// kept, the next pair of its guest (a refresh, as at `/auth/refresh`).
    pub async fn guest_tokens(
        &self,
        app: &Application,
        refresh_token: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<TokenPair, AuthError> {
        if app.policy.access_mode != AccessMode::Open {
            return Err(AccessError::GuestsNotAllowed.into());
        }
        if let Some(token) = refresh_token {
            return self
                .sessions
                .refresh(token, app, origin.ip, Freshness::Refresh { resume: false }, now)
                .await;
        }
        super::access::check_network(app, origin.ip)?;
        let guest = self.new_guest(app, &origin.key, now).await?;
        self.sessions
            .start_session(guest, app, Authentication::guest(), now)
            .await
    }

    /// A browser that comes to an open application without a session: a new guest, signed in to it. `None`
    /// when the application is not open (the sign-in page then follows).
    pub async fn browser_guest(
        &self,
        application_id: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Option<SignedIn>, AuthError> {
        let Some(app) = self.apps.find(application_id).await? else {
            return Ok(None);
        };
        if app.policy.access_mode != AccessMode::Open {
            return Ok(None);
        }
        super::access::check_network(&app, origin.ip)?;
        let guest = self.new_guest(&app, &origin.key, now).await?;
        let how = Authentication::guest();
        Ok(Some(
            self.sessions
                .start_browser_session(guest, &how.amr, how.acr, now)
                .await?,
        ))
    }

    /// A new guest, made from `client` (an address key): at most `apps.max_guests_per_ip_per_hour` an hour
    /// from one address, like sign-ups.
    async fn new_guest(&self, app: &Application, client: &str, now: UnixTime) -> Result<User, AuthError> {
        let key = format!("guest-ip:{client}");
        let policy = Policy::Window {
            max: self.guest_limit,
            window_ms: 3_600_000,
        };
        let standing = self.limiter.take(&key, policy, now * 1000).await?;
        if !standing.allowed {
            tracing::warn!(%client, "guest refused: too many from this address");
            return Err(AccountError::SignupRateLimited(super::LimitedBy::Ip, standing.retry_after_secs).into());
        }
        let user = NewUser {
            guest: true,
            ..NewUser::named(generated_username().replacen("user-", "guest-", 1), now)
        };
        let id = user.id.clone();
        users::insert(&self.db, user).await?;
        tracing::info!(user_id = %id, application_id = %app.id, "guest created");
        super::audit_account_created(&self.db, &id, "guest", now).await;
        self.find_user(&id).await
    }
}
