//! Who may enter an application: its access mode applied to an account — `open` admits everyone,
//! `invite_only` its members, `registration` accounts that proved one of its verification channels or have an
//! identity at one of its upstream providers (a guest only by proving one) — both when a sign-in finishes and
//! whenever tokens of it are used again; and the networks it may be used from (`ip_ranges`), checked before a
//! sign-in looks at any credential, when it finishes, and at every refresh.

use std::net::IpAddr;

use super::{Access, AccessError, AuthError};
use crate::apps::Application;
use crate::apps::networks;
use crate::apps::policy::{AccessMode, ContactChannel};
use crate::store::users::User;
use crate::store::{external_identities, members};

/// Whether an account may enter an application.
pub(in crate::auth) enum Admission {
    Admitted,
    /// Only after proving one of these channels.
    Verify(Vec<ContactChannel>),
    Refused,
}

impl Access {
    /// Whether `user` may enter `app`, per its access mode.
    pub(in crate::auth) async fn admission(&self, user: &User, app: &Application) -> Result<Admission, AuthError> {
        let policy = &app.policy;
        Ok(match policy.access_mode {
            AccessMode::Open => Admission::Admitted,
            AccessMode::InviteOnly if !members::is_member(&self.db, app.id.clone(), user.id.clone()).await? => {
                Admission::Refused
            }
            // A guest has proven nothing: outside open applications it must register first.
            _ if user.guest && policy.verification_channels.is_empty() => Admission::Refused,
            AccessMode::Registration | AccessMode::InviteOnly => {
                let proven = |channel: &ContactChannel| match channel {
                    ContactChannel::Email => user.email.is_some() && user.email_verified,
                    ContactChannel::Sms => user.phone.is_some(),
                };
                let channels = &policy.verification_channels;
                // An identity at one of the application's upstream providers counts as the proof of contact.
                if channels.is_empty()
                    || channels.iter().any(proven)
                    || external_identities::exists_for_user_at(
                        &self.db,
                        user.id.clone(),
                        policy.external_providers.clone(),
                    )
                    .await?
                {
                    Admission::Admitted
                } else {
                    Admission::Verify(channels.clone())
                }
            }
        })
    }

    /// Whether a family of the application `application_id` may be refreshed now, from `ip`: from its networks,
    /// by an account it still admits, and — for an ordinary refresh — not after its idle time (or `resume`), which
    /// needs a step-up first.
    pub(in crate::auth) async fn refresh_allowed(
        &self,
        user: &User,
        family: &crate::store::sessions::Session,
        application_id: &str,
        ip: Option<IpAddr>,
        freshness: super::Freshness,
        now: crate::clock::UnixTime,
    ) -> Result<(), AuthError> {
        let Some(app) = self.apps.find(application_id).await? else {
            return Ok(());
        };
        check_network(&app, ip)?;
        self.admitted(user, &app).await?;
        if let (super::Freshness::Refresh { resume }, Some(idle)) = (freshness, app.policy.idle_timeout_secs)
            && (resume || now - family.active_at() > idle)
        {
            tracing::info!(user_id = %user.id, %application_id, resume, "refresh refused: a step-up is due");
            return Err(super::SessionError::StepUpRequired(super::step_up::proofs(user)).into());
        }
        Ok(())
    }

    /// Whether an account that holds tokens of an application may still use them (a refresh, a private
    /// token): the policy may have changed since it signed in.
    pub(in crate::auth) async fn still_admitted(&self, user: &User, application_id: &str) -> Result<(), AuthError> {
        match self.apps.find(application_id).await? {
            Some(app) => self.admitted(user, &app).await,
            None => Ok(()),
        }
    }

    /// [`Self::still_admitted`] for the application itself.
    async fn admitted(&self, user: &User, app: &Application) -> Result<(), AuthError> {
        match self.admission(user, app).await? {
            Admission::Admitted => Ok(()),
            Admission::Verify(_) => Err(AccessError::VerificationRequired.into()),
            Admission::Refused => Err(AccessError::NotMember.into()),
        }
    }
}

/// Whether `app` may be used from `ip`: anywhere when it lists no networks; else only from inside them (an
/// address that cannot be told is outside).
pub(in crate::auth) fn check_network(app: &Application, ip: Option<IpAddr>) -> Result<(), AuthError> {
    if networks::admits(&app.policy.ip_ranges, ip) {
        return Ok(());
    }
    tracing::warn!(application_id = %app.id, ip = ?ip, "refused: not from one of the application's networks");
    Err(AccessError::IpNotAllowed.into())
}
