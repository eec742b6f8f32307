//! Step-up after idle time: an application with `idle_timeout_secs` refuses a refresh of a token family idle
//! longer than that — or one whose client says the app was offloaded (`resume`) — with `step_up_required`, naming
//! what proves the owner again: the account's PIN when it has one, its password when it has one. The step-up
//! (`SignIn::step_up`) checks that proof (a wrong one counts toward the lock-out), records the proof's method in
//! the family's `amr` and `auth_time` now, then refreshes without the idle check. Activity keeps a family fresh: a refresh, a
//! step-up, a bearer request, and the explicit heartbeat (`Sessions::record_activity`).

use super::{
    AuthError, Credential, Freshness, Origin, PASSWORD_AMR, Principal, SessionError, Sessions, SignIn, TokenPair,
};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::store::sessions::{self, Session};
use crate::store::users::User;

/// RFC 8176: a personal identification number.
pub const PIN_AMR: &str = "pin";

/// What proves the owner again.
#[derive(Debug)]
pub enum StepUpProof<'a> {
    Pin(&'a str),
    Password(&'a str),
}

/// What a step-up of `user` may use: its PIN, its password; neither: a new sign-in (`sign_in`).
pub(super) fn proofs(user: &User) -> Vec<&'static str> {
    let mut proofs = Vec::new();
    if user.pin_hash.is_some() {
        proofs.push("pin");
    }
    if user.password_hash.is_some() {
        proofs.push("password");
    }
    if proofs.is_empty() {
        proofs.push("sign_in");
    }
    proofs
}

impl SignIn {
    /// A refresh of `app` that proves the owner again with `proof`: new tokens whose `amr` adds the proof's
    /// method, `auth_time` now. The refresh token is spent only once the proof holds.
    pub async fn step_up(
        &self,
        presented: &str,
        app: &Application,
        proof: StepUpProof<'_>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<TokenPair, AuthError> {
        super::access::check_network(app, origin.ip)?;
        let (family, user) = self.sessions.refresh_token_owner(presented, app).await?;
        let method = match proof {
            StepUpProof::Pin(pin) => {
                self.credentials.check_pin(&user, pin, now).await?;
                PIN_AMR
            }
            StepUpProof::Password(password) => {
                self.credentials
                    .recheck_password(&user, password, &origin.key, now)
                    .await?;
                PASSWORD_AMR
            }
        };
        // The owner proved it is them: the family records how and when, and its tokens say so from now on.
        let amr = crate::tokens::amr::adding(&family.amr, method);
        sessions::stepped_up(&self.db, family.id.clone(), amr, now).await?;
        tracing::info!(user_id = %user.id, application_id = %app.id, method, "stepped up");
        self.sessions
            .refresh(presented, app, origin.ip, Freshness::SteppedUp, now)
            .await
    }
}

impl Sessions {
    /// The family and account of a refresh token of `app` (of a live family and an active account): who a
    /// step-up must prove. Nothing is spent; the refresh that follows checks the token itself.
    async fn refresh_token_owner(&self, presented: &str, app: &Application) -> Result<(Session, User), AuthError> {
        let found = crate::store::refresh_tokens::find_by_hash(&self.db, crate::tokens::opaque::hash(presented))
            .await?
            .ok_or(SessionError::RefreshInvalid)?;
        let family = &found.session;
        if family.client_id.is_some() || family.application_id.as_deref() != Some(app.id.as_str()) {
            return Err(SessionError::RefreshInvalid.into());
        }
        if family.revoked_at.is_some() || !found.user.is_active {
            return Err(SessionError::RefreshRevoked.into());
        }
        Ok((found.session, found.user))
    }

    /// The heartbeat: the caller's token family was active now (an application that mostly calls its own back
    /// end keeps it fresh this way).
    pub async fn record_activity(&self, caller: &Principal, now: UnixTime) -> Result<(), AuthError> {
        let Credential::Session { family, .. } = &caller.credential else {
            return Err(SessionError::InteractiveLoginRequired.into());
        };
        sessions::touch(&self.db, family.clone(), now).await?;
        Ok(())
    }
}
