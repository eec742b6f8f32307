//! Browser sessions: who is signed in in this browser, since when and how. The cookie holds 256 random
//! bits; only their SHA-256 is stored. Sessions end after an idle period, at an absolute age, at sign-out,
//! or when the account is disabled.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{AuthError, Sessions};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::store::backchannel_logouts::Ended;
use crate::store::browser_sessions::{self, BrowserSessionRow};
use crate::store::sessions;
use crate::store::users::User;
use crate::tokens::opaque::{self, random_bytes};

/// How stale `last_seen_at` may get before a request refreshes it (saves a write per page view).
const TOUCH_AFTER: i64 = 60;

/// A live browser session.
#[derive(Clone, Debug)]
pub struct BrowserSession {
    /// Public id, the `sid` of ID tokens.
    pub id: String,
    pub user: User,
    pub auth_time: UnixTime,
    /// Space-separated authentication methods.
    pub amr: String,
    pub acr: String,
}

impl BrowserSession {
    /// Whether the account signed in here is an administrator.
    pub fn is_admin(&self) -> bool {
        self.user.scopes.split_whitespace().any(|s| s == super::ADMIN_SCOPE)
    }
}

/// A session just started: the cookie value to set (shown nowhere else) and the session.
#[derive(Debug)]
pub struct SignedIn {
    pub cookie: String,
    pub session: BrowserSession,
}

impl Sessions {
    /// Starts a browser session for `user`, authenticated now by `amr`.
    pub async fn start_browser_session(
        &self,
        user: User,
        amr: &str,
        acr: &str,
        now: UnixTime,
    ) -> Result<SignedIn, AuthError> {
        let cookie = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let row = BrowserSessionRow {
            id: opaque::random_id(),
            token_hash: opaque::hash(&cookie),
            user_id: user.id.clone(),
            auth_time: now,
            amr: amr.to_owned(),
            acr: acr.to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.policy.absolute_timeout_secs,
            revoked_at: None,
        };
        browser_sessions::insert(&self.db, row.clone()).await?;
        tracing::info!(user_id = %user.id, "browser session started");
        Ok(SignedIn {
            cookie,
            session: BrowserSession {
                id: row.id,
                user,
                auth_time: now,
                amr: row.amr,
                acr: row.acr,
            },
        })
    }

    /// Signs `user` in to this browser with a new session (a new cookie value: no fixation, ASVS 7.2.4).
    /// The browser's previous session ends; if it was the same user, the grants made in it carry over,
    /// otherwise they end with it.
    pub async fn sign_in_browser(
        &self,
        previous: Option<&BrowserSession>,
        user: User,
        amr: &str,
        acr: &str,
        now: UnixTime,
    ) -> Result<SignedIn, AuthError> {
        let signed_in = self.start_browser_session(user, amr, acr, now).await?;
        match previous {
            Some(old) if old.user.id == signed_in.session.user.id => {
                browser_sessions::revoke(&self.db, old.id.clone(), now).await?;
                sessions::move_to_browser_session(&self.db, old.id.clone(), signed_in.session.id.clone()).await?;
            }
            Some(old) => self.end_browser_session(&old.id, now).await?,
            None => {}
        }
        Ok(signed_in)
    }

    /// The live session a session cookie names, if any; its account is the request's actor in the audit log.
    pub async fn browser_session(&self, cookie: &str, now: UnixTime) -> Result<Option<BrowserSession>, AuthError> {
        let Some((row, user)) = browser_sessions::find_by_token_hash(&self.db, opaque::hash(cookie)).await? else {
            return Ok(None);
        };
        let idle_too_long = row.last_seen_at + self.policy.idle_timeout_secs <= now;
        if row.revoked_at.is_some() || row.expires_at <= now || idle_too_long || !user.is_active {
            return Ok(None);
        }
        if now - row.last_seen_at >= TOUCH_AFTER {
            browser_sessions::touch(&self.db, row.id.clone(), now).await?;
        }
        crate::audit::note_actor(&user.id);
        Ok(Some(BrowserSession {
            id: row.id,
            user,
            auth_time: row.auth_time,
            amr: row.amr,
            acr: row.acr,
        }))
    }

    /// Ends a browser session and revokes the grants made in it, except offline ones.
    pub async fn end_browser_session(&self, session_id: &str, now: UnixTime) -> Result<(), AuthError> {
        let was_live = browser_sessions::revoke(&self.db, session_id.to_owned(), now).await?;
        let families = sessions::revoke_for_browser_session(&self.db, session_id.to_owned(), "logout", now).await?;
        if was_live {
            super::backchannel::owe_logout_tokens(&self.db, Ended::BrowserSession(session_id.to_owned()), now).await?;
        }
        tracing::info!(%session_id, families, "browser session ended");
        audit::record(
            &self.db,
            Event::new(Kind::SessionRevoked)
                .about(Subject::Session(session_id.to_owned()))
                .with("reason", "logout")
                .with("families", families),
            now,
        )
        .await;
        Ok(())
    }
}
