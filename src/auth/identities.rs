//! An account's identities at upstream providers, as its owner manages them: listed, linked after a recent
//! interactive sign-in (the browser goes upstream and comes back to the same session, or — started over the
//! REST API — the application finishes the link, see `flow::link_api`), and unlinked while another way to sign
//! in remains. Each change is logged and the owner is told by e-mail.

use super::{AccountError, Accounts, AuthError, ExternalIdentity, Principal};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::store::StoreError;
use crate::store::external_identities::{self, ExternalIdentityRow, Unlinked};
use crate::store::users::User;
use crate::tokens::opaque;

/// One of an account's identities, as its owner sees it.
#[derive(Clone, Debug)]
pub struct LinkedIdentity {
    pub id: String,
    pub provider_id: String,
    /// The address the upstream gave, if any.
    pub email: Option<String>,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
}

impl From<ExternalIdentityRow> for LinkedIdentity {
    fn from(row: ExternalIdentityRow) -> Self {
        Self {
            id: row.id,
            provider_id: row.provider_id,
            email: row.email,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

impl Accounts {
    /// The caller's identities, oldest first.
    pub async fn identities(&self, caller: &Principal) -> Result<Vec<LinkedIdentity>, AuthError> {
        self.identities_of(&caller.user.id).await
    }

    /// The identities of the account `user_id`, oldest first.
    pub async fn identities_of(&self, user_id: &str) -> Result<Vec<LinkedIdentity>, AuthError> {
        let rows = external_identities::list_for_user(&self.db, user_id.to_owned()).await?;
        Ok(rows.into_iter().map(LinkedIdentity::from).collect())
    }

    /// Whether the caller may start linking an identity: like adding a factor, it needs a recent interactive
    /// sign-in.
    pub fn may_link(&self, caller: &Principal, now: UnixTime) -> Result<(), AuthError> {
        caller.require_recent_sign_in(self.reauth_max_age_secs, now)
    }

    /// Links what an upstream proved to the caller's account. An identity already the caller's is fine; one of
    /// another account is refused.
    pub async fn link_identity(
        &self,
        caller: &Principal,
        identity: ExternalIdentity,
        now: UnixTime,
    ) -> Result<LinkedIdentity, AuthError> {
        self.link_to(&caller.user, identity, now).await
    }

    /// An administrator links the identity `subject` at `provider_id` (whose issuer is `issuer`) to the account
    /// `user_id` — for example a member of an invite-only application who will sign in through that provider.
    pub async fn admin_link_identity(
        &self,
        user_id: &str,
        provider_id: &str,
        issuer: &str,
        subject: &str,
        now: UnixTime,
    ) -> Result<LinkedIdentity, AuthError> {
        let user = super::find_user(&self.db, user_id).await?;
        let identity = ExternalIdentity {
            provider_id: provider_id.to_owned(),
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            email: None,
            email_verified: false,
            username: None,
            name: None,
            amr: Vec::new(),
            trust_email: false,
        };
        self.link_to(&user, identity, now).await
    }

    /// The identity's row when it is `user`'s already; refused when it is another account's.
    pub(in crate::auth) async fn linkable(
        &self,
        user: &User,
        identity: &ExternalIdentity,
    ) -> Result<Option<ExternalIdentityRow>, AuthError> {
        match external_identities::find(&self.db, identity.issuer.clone(), identity.subject.clone()).await? {
            Some((row, owner)) if owner.id == user.id => Ok(Some(row)),
            Some(_) => {
                tracing::warn!(user_id = %user.id, provider = %identity.provider_id, "link refused: the identity belongs to another account");
                Err(AccountError::IdentityTaken.into())
            }
            None => Ok(None),
        }
    }

    async fn link_to(
        &self,
        user: &User,
        identity: ExternalIdentity,
        now: UnixTime,
    ) -> Result<LinkedIdentity, AuthError> {
        if let Some(mut row) = self.linkable(user, &identity).await? {
            external_identities::touch(&self.db, row.id.clone(), now).await?;
            row.last_used_at = now;
            return Ok(row.into());
        }
        let row = ExternalIdentityRow {
            id: opaque::random_id(),
            user_id: user.id.clone(),
            provider_id: identity.provider_id.clone(),
            issuer: identity.issuer,
            subject: identity.subject,
            email: identity.email,
            created_at: now,
            last_used_at: now,
        };
        match external_identities::insert(&self.db, row.clone()).await {
            Err(StoreError::Duplicate(_)) => return Err(AccountError::IdentityTaken.into()),
            other => other?,
        }
        tracing::info!(user_id = %user.id, provider = %identity.provider_id, "upstream identity linked");
        self.identity_linked(user, &identity.provider_id, now).await;
        Ok(row.into())
    }

    /// Records that a sign-in through `provider_id` now reaches the account, and tells its owner.
    pub(in crate::auth) async fn identity_linked(&self, user: &User, provider_id: &str, now: UnixTime) {
        let event = Event::new(Kind::IdentityLinked)
            .about(Subject::User(user.id.clone()))
            .with("provider", provider_id);
        audit::record(&self.db, event, now).await;
        super::notify_security_event(
            &self.notify,
            &self.issuer_name,
            user,
            format!("A sign-in through {provider_id} was linked to your account."),
        );
    }

    /// Unlinks one of the caller's identities, after a recent sign-in, keeping at least one way to sign in: a
    /// password, a proven address or number, or another identity.
    pub async fn unlink_identity(&self, caller: &Principal, id: &str, now: UnixTime) -> Result<(), AuthError> {
        caller.require_recent_sign_in(self.reauth_max_age_secs, now)?;
        let user = &caller.user;
        let identities = external_identities::list_for_user(&self.db, user.id.clone()).await?;
        let identity = identities
            .iter()
            .find(|i| i.id == id)
            .ok_or(AccountError::UnknownIdentity)?;
        let other_way =
            user.password_hash.is_some() || (user.email.is_some() && user.email_verified) || user.phone.is_some();
        match external_identities::delete_unless_last(&self.db, id.to_owned(), user.id.clone(), other_way).await? {
            Unlinked::Removed => {}
            Unlinked::Missing => return Err(AccountError::UnknownIdentity.into()),
            Unlinked::Last => return Err(AccountError::LastSignInMethod.into()),
        }
        tracing::info!(user_id = %user.id, provider = %identity.provider_id, "upstream identity unlinked");
        let event = Event::new(Kind::IdentityUnlinked)
            .about(Subject::User(user.id.clone()))
            .with("provider", identity.provider_id.as_str());
        audit::record(&self.db, event, now).await;
        super::notify_security_event(
            &self.notify,
            &self.issuer_name,
            user,
            format!(
                "The sign-in through {} was removed from your account.",
                identity.provider_id
            ),
        );
        Ok(())
    }
}
