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

    /// Whether the application with this id may be used from `ip` (a refresh of its tokens).
    pub(in crate::auth) async fn check_app_network(
        &self,
        application_id: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), AuthError> {
        match self.apps.find(application_id).await? {
            Some(app) => check_network(&app, ip),
            None => Ok(()),
        }
    }

    /// Whether the family's next refresh needs a step-up: its application has an idle timeout, and the family
    /// has been idle longer than that (or the client says the app was offloaded, `resume`).
    pub(in crate::auth) async fn step_up_due(
        &self,
        application_id: &str,
        family: &crate::store::sessions::Session,
        resume: bool,
        now: crate::clock::UnixTime,
    ) -> Result<bool, AuthError> {
        let idle = self
            .apps
            .find(application_id)
            .await?
            .and_then(|app| app.policy.idle_timeout_secs);
        Ok(idle.is_some_and(|idle| resume || now - family.active_at() > idle))
    }

    /// Whether an account that holds tokens of an application may still use them (a refresh, a private
    /// token): the policy may have changed since it signed in.
    pub(in crate::auth) async fn still_admitted(&self, user: &User, application_id: &str) -> Result<(), AuthError> {
        let Some(app) = self.apps.find(application_id).await? else {
            return Ok(());
        };
        match self.admission(user, &app).await? {
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
