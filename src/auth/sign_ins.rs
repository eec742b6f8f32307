//! The account's own sign-ins, as its owner sees and ends them on the account pages: its live browser
//! sessions and token families (REST sign-ins and OAuth grants), one ended at a time or every one but the
//! browser in use. Each end is an audit event.

use super::backchannel::owe_logout_tokens;
use super::{AuthError, BrowserSession, SessionError, Sessions};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::store::backchannel_logouts::Ended;
use crate::store::browser_sessions;
use crate::store::sessions;
use crate::store::users::KeptSignIn;

/// Why the owner ended sign-ins, as the token families record it.
const REASON: &str = "revoked_by_user";

/// A live browser session of the account.
#[derive(Clone, Debug)]
pub struct BrowserSignIn {
    pub id: String,
    pub started_at: UnixTime,
    pub last_seen_at: UnixTime,
    /// Space-separated authentication methods.
    pub amr: String,
    /// The browser asking.
    pub current: bool,
}

/// A live token family of the account: a REST sign-in, or an OAuth grant to a client.
#[derive(Clone, Debug)]
pub struct FamilySignIn {
    pub id: String,
    pub started_at: UnixTime,
    pub last_active_at: Option<UnixTime>,
    /// The OAuth client it was granted to (`None`: a REST sign-in).
    pub client_name: Option<String>,
    pub application_name: Option<String>,
    /// Granted in the browser asking: it ends when that browser signs out.
    pub in_this_browser: bool,
    /// Granted `offline_access`.
    pub offline: bool,
}

/// Every live sign-in of an account.
#[derive(Clone, Debug, Default)]
pub struct SignIns {
    pub browsers: Vec<BrowserSignIn>,
    pub families: Vec<FamilySignIn>,
}

/// Which kind of sign-in to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInKind {
    Browser,
    Family,
}

impl SignInKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Family => "family",
        }
    }
}

/// What ending the other sign-ins ended.
#[derive(Clone, Copy, Debug, Default)]
pub struct OthersEnded {
    pub browsers: usize,
    pub families: usize,
}

impl Sessions {
    /// The live sign-ins of `current`'s account, `current` marked.
    pub async fn sign_ins(&self, current: &BrowserSession, now: UnixTime) -> Result<SignIns, AuthError> {
        self.sign_ins_of(&current.user.id, Some(&current.id), now).await
    }

    /// The live sign-ins of the account `user_id` (as an administrator sees them), the browser session
    /// `current` marked when there is one.
    pub async fn sign_ins_of(&self, user_id: &str, current: Option<&str>, now: UnixTime) -> Result<SignIns, AuthError> {
        let user_id = &user_id.to_owned();
        let rows = browser_sessions::list_live_for_user(&self.db, user_id.clone(), now).await?;
        let browsers = rows
            .into_iter()
            // A browser idle too long is signed out already, whatever its row says.
            .filter(|row| row.last_seen_at + self.policy.idle_timeout_secs > now)
            .map(|row| BrowserSignIn {
                current: current == Some(row.id.as_str()),
                id: row.id,
                started_at: row.created_at,
                last_seen_at: row.last_seen_at,
                amr: row.amr,
            })
            .collect();
        let listed = sessions::list_live_for_user(&self.db, user_id.clone(), now).await?;
        let families = listed
            .into_iter()
            .map(|listing| FamilySignIn {
                in_this_browser: current.is_some() && listing.family.browser_session_id.as_deref() == current,
                id: listing.family.id,
                started_at: listing.family.created_at,
                last_active_at: listing.family.last_active_at,
                client_name: listing.client_name,
                application_name: listing.application_name,
                offline: listing.family.offline,
            })
            .collect();
        Ok(SignIns { browsers, families })
    }

    /// Ends one sign-in of `current`'s account: another browser session (with the grants made in it, except
    /// offline ones), or a token family. The browser asking signs out instead; an unknown, ended or someone
    /// else's sign-in is `UnknownSignIn`.
    pub async fn end_sign_in(
        &self,
        current: &BrowserSession,
        kind: SignInKind,
        id: &str,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        let user_id = current.user.id.clone();
        let families = match kind {
            SignInKind::Browser if id == current.id => return Err(SessionError::UnknownSignIn.into()),
            SignInKind::Browser => {
                if !browser_sessions::revoke_of_user(&self.db, user_id, id.to_owned(), now).await? {
                    return Err(SessionError::UnknownSignIn.into());
                }
                owe_logout_tokens(&self.db, Ended::BrowserSession(id.to_owned()), now).await?;
                sessions::revoke_for_browser_session(&self.db, id.to_owned(), REASON, now).await?
            }
            SignInKind::Family => {
                if !sessions::revoke_of_user(&self.db, user_id, id.to_owned(), REASON, now).await? {
                    return Err(SessionError::UnknownSignIn.into());
                }
                1
            }
        };
        tracing::info!(user_id = %current.user.id, session_id = %id, kind = kind.as_str(), "sign-in ended by its owner");
        audit::record(
            &self.db,
            Event::new(Kind::SessionRevoked)
                .about(Subject::Session(id.to_owned()))
                .with("reason", REASON)
                .with("kind", kind.as_str())
                .with("families", families),
            now,
        )
        .await;
        Ok(())
    }

    /// Ends every sign-in of `current`'s account but `current` itself and the grants made in it.
    pub async fn end_other_sign_ins(&self, current: &BrowserSession, now: UnixTime) -> Result<OthersEnded, AuthError> {
        let user_id = current.user.id.clone();
        let ended = Ended::User {
            user_id: user_id.clone(),
            keep: Some(KeptSignIn::Browser(current.id.clone())),
        };
        owe_logout_tokens(&self.db, ended, now).await?;
        let browsers =
            browser_sessions::revoke_others_of_user(&self.db, user_id.clone(), current.id.clone(), now).await?;
        let families =
            sessions::revoke_others_of_user(&self.db, user_id.clone(), current.id.clone(), REASON, now).await?;
        tracing::info!(%user_id, browsers, families, "other sign-ins ended by their owner");
        audit::record(
            &self.db,
            Event::new(Kind::SessionRevoked)
                .about(Subject::User(user_id))
                .with("reason", REASON)
                .with("kind", "others")
                .with("kept", current.id.as_str())
                .with("browsers", browsers)
                .with("families", families),
            now,
        )
        .await;
        Ok(OthersEnded { browsers, families })
    }
}
