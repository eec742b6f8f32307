//! Sign-in through an upstream OpenID provider: the first factor is an identity the upstream proved,
//! found by (issuer, subject) — never by an e-mail address alone. A new identity makes an account just in
//! time under the application's access mode: `registration` creates one (the identity counts as the proof of
//! contact); `invite_only` admits a member or an invitee by address. Addresses count only from a provider whose
//! verified addresses the administrator trusts (`trust_email`): then a new account gets the address, a live
//! invitation to it is accepted, and the account here that proved it is joined. Second factors and the rest of the policy apply as to any sign-in.

use super::{Door, Progress};
use crate::apps::Application;
use crate::apps::policy::AccessMode;
use crate::auth::identity::{normalize_email, normalize_username, username_problem};
use crate::auth::{AccessError, AuthError, Authentication, FlowError, Origin, SignIn};
use crate::clock::UnixTime;
use crate::store::StoreError;
use crate::store::external_identities::{self, ExternalIdentityRow};
use crate::store::users::{self, NewUser, User};
use crate::store::{invitations, members};
use crate::tokens::opaque;

/// RFC 8176-style `amr` of a sign-in through an upstream provider.
pub const FEDERATED_AMR: &str = "fed";

/// An identity an upstream provider proved (its ID token checked).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ExternalIdentity {
    /// The configured provider it came through.
    pub provider_id: String,
    pub issuer: String,
    pub subject: String,
    /// The address the upstream gave, and whether the upstream says it verified it.
    pub email: Option<String>,
    pub email_verified: bool,
    /// A username the upstream suggests (used for a new account when free).
    pub username: Option<String>,
    /// A display name the upstream gives (a new account's `name`).
    #[serde(default)]
    pub name: Option<String>,
    /// The methods the upstream reports (`amr`) that the provider is trusted for: passed on in tokens, never
    /// in place of Tessera's own second factors.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The provider's administrator trusts the addresses it verifies (see `ProviderConfig::trust_email`).
    pub trust_email: bool,
}

impl ExternalIdentity {
    /// The address, when the upstream vouches for it and its word is trusted here.
    fn verified_email(&self) -> Option<String> {
        self.email
            .as_deref()
            .filter(|_| self.email_verified && self.trust_email)
            .map(normalize_email)
    }
}

impl SignIn {
    /// Whether `app` offers sign-in through the upstream provider `provider_id` (before the browser is sent
    /// there, and again when it comes back).
    pub fn external_allowed(&self, app: &Application, provider_id: &str) -> Result<(), AuthError> {
        if app.policy.offers_provider(provider_id) {
            Ok(())
        } else {
            Err(AccessError::MethodNotAllowed("external").into())
        }
    }

    /// The first factor of a sign-in to `app` through an upstream provider: the account of `identity`
    /// (made just in time when the access mode allows), then the flow's next step or the finished sign-in.
    pub async fn sign_in_external(
        &self,
        app: &Application,
        door: Door<'_>,
        identity: ExternalIdentity,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let user = self.external_user(app, &identity, origin, now).await?;
        let how = Authentication::federated(&identity.provider_id, &identity.amr);
        self.after_first_factor(user, app, door, how, origin, now).await
    }

    /// The account of `identity` for `app` — found by (issuer, subject), or made just in time when the access
    /// mode allows — once the application offers the provider and the account is active.
    pub(super) async fn external_user(
        &self,
        app: &Application,
        identity: &ExternalIdentity,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        self.external_allowed(app, &identity.provider_id)?;
        let found = external_identities::find(&self.db, identity.issuer.clone(), identity.subject.clone()).await?;
        let user = match found {
            Some((row, user)) => {
                external_identities::touch(&self.db, row.id, now).await?;
                user
            }
            None => self.account_for(app, identity, origin, now).await?,
        };
        if !user.is_active {
            tracing::warn!(user_id = %user.id, "upstream sign-in refused: the account is disabled");
            return Err(AccessError::NotMember.into());
        }
        tracing::info!(user_id = %user.id, provider = %identity.provider_id, application_id = %app.id, "signed in through an upstream provider");
        Ok(user)
    }

    /// The account a new upstream identity joins or makes.
    async fn account_for(
        &self,
        app: &Application,
        identity: &ExternalIdentity,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        let row = |user_id: &str| ExternalIdentityRow {
            id: opaque::random_id(),
            user_id: user_id.to_owned(),
            provider_id: identity.provider_id.clone(),
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            created_at: now,
            last_used_at: now,
        };
        // Joining by address only when the upstream vouches for it, its word is trusted, and the account here
        // proved the address too.
        if let Some(email) = identity.verified_email()
            && let Some(user) = users::find_by_email(&self.db, email).await?
            && user.email_verified
            && !user.guest
        {
            if app.policy.access_mode == AccessMode::InviteOnly
                && !members::is_member(&self.db, app.id.clone(), user.id.clone()).await?
            {
                return Err(self.refusal(&user, app));
            }
            if let Err(lost) = external_identities::insert(&self.db, row(&user.id)).await {
                return self.race_winner(identity, lost).await;
            }
            tracing::info!(user_id = %user.id, provider = %identity.provider_id, "upstream identity joined the account with its verified address");
            self.accounts.identity_linked(&user, &identity.provider_id, now).await;
            return Ok(user);
        }
        match app.policy.access_mode {
            AccessMode::Registration if self.accounts.signup_allowed(app) => {}
            AccessMode::InviteOnly => return self.invited_account(app, identity, &row, now).await,
            AccessMode::Registration | AccessMode::Open => {
                tracing::warn!(provider = %identity.provider_id, application_id = %app.id, "upstream sign-in refused: no account, and none may be made here");
                return Err(AccessError::NotMember.into());
            }
        }
        self.accounts
            .count_signup_attempt(identity.email.as_deref(), &origin.key, now)
            .await?;
        // The upstream's address, when it vouches for it and nobody here has it; otherwise none (the person may
        // add one later).
        let email = match identity.verified_email() {
            Some(email) if users::find_by_email(&self.db, email.clone()).await?.is_none() => Some(email),
            Some(_) | None => None,
        };
        let user = self.new_account(identity, email, now).await?;
        let id = user.id.clone();
        if let Err(lost) = external_identities::insert_with_account(&self.db, user, row(&id)).await {
            return self.race_winner(identity, lost).await;
        }
        tracing::info!(user_id = %id, provider = %identity.provider_id, "account created through an upstream provider");
        crate::auth::audit_account_created(&self.db, &id, "federation", now).await;
        crate::auth::find_user(&self.db, &id).await
    }

    /// Under `invite_only`, a new identity comes in only with a live invitation to the address the upstream
    /// vouches for, that no account here has yet: the invitation is accepted by a new account with that
    /// address, the identity and membership, together.
    async fn invited_account(
        &self,
        app: &Application,
        identity: &ExternalIdentity,
        row: &dyn Fn(&str) -> ExternalIdentityRow,
        now: UnixTime,
    ) -> Result<User, AuthError> {
        let refused = || {
            tracing::warn!(provider = %identity.provider_id, application_id = %app.id, "upstream sign-in refused: not invited");
            AuthError::from(AccessError::NotMember)
        };
        let Some(email) = identity.verified_email() else {
            return Err(refused());
        };
        if users::find_by_email(&self.db, email.clone()).await?.is_some() {
            // The address has an account here: its owner accepts the invitation by its link, then links.
            return Err(refused());
        }
        let Some(invitation) = invitations::find_open(&self.db, app.id.clone(), email.clone(), now).await? else {
            return Err(refused());
        };
        let user = self.new_account(identity, Some(email), now).await?;
        let id = user.id.clone();
        let accepted =
            external_identities::insert_with_invited_account(&self.db, user, row(&id), invitation.id, app.id.clone())
                .await;
        match accepted {
            Ok(true) => {}
            Ok(false) => return Err(refused()),
            Err(lost) => return self.race_winner(identity, lost).await,
        }
        tracing::info!(user_id = %id, provider = %identity.provider_id, application_id = %app.id, "invitation accepted through an upstream provider");
        crate::auth::audit_account_created(&self.db, &id, "federation", now).await;
        crate::auth::find_user(&self.db, &id).await
    }

    /// After an insert failed: a sign-in in parallel that made or linked the same identity a moment ago won, and
    /// its account is this one's too. Another lost race (the username or address taken meanwhile) is refused
    /// like any sign-in that cannot finish; the person starts again.
    async fn race_winner(&self, identity: &ExternalIdentity, lost: StoreError) -> Result<User, AuthError> {
        let StoreError::Duplicate(_) = lost else {
            return Err(lost.into());
        };
        match external_identities::find(&self.db, identity.issuer.clone(), identity.subject.clone()).await? {
            Some((_, user)) => Ok(user),
            None => Err(FlowError::MfaTokenInvalid.into()),
        }
    }

    /// A new account for an upstream identity: the upstream's username when free, else a generated one; the
    /// address given (proven), if any; no password.
    async fn new_account(
        &self,
        identity: &ExternalIdentity,
        email: Option<String>,
        now: UnixTime,
    ) -> Result<NewUser, AuthError> {
        let username = match identity.username.as_deref().map(normalize_username) {
            Some(name)
                if username_problem(&name).is_none()
                    && users::find_by_username(&self.db, name.clone()).await?.is_none() =>
            {
                name
            }
            Some(_) | None => super::generated_username(),
        };
        Ok(NewUser {
            email_verified: email.is_some(),
            email,
            name: identity.name.clone(),
            ..NewUser::named(username, now)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::{Authentication, MULTI_FACTOR_ACR, SINGLE_FACTOR_ACR};

    #[test]
    fn an_upstreams_mfa_is_reported_but_is_not_a_second_factor_here() {
        let how = Authentication::federated("corp", &["mfa".into()]);
        assert!(!how.has_second_factor());
        assert_eq!(how.acr, SINGLE_FACTOR_ACR);
        let then = how.then("otp");
        assert!(then.has_second_factor());
        assert_eq!(then.acr, MULTI_FACTOR_ACR);
    }
}
