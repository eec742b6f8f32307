//! The consents an account gave to third-party clients, as its owner sees them on the account pages, and
//! withdrawing one: the client must ask again, and every token family it holds for the account ends with it
//! (its refresh tokens stop at once, and the access tokens of those families with them).

use super::OidcService;
use super::scope::Scope;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::store::StoreError;
use crate::store::consents;

/// Why a consent could not be withdrawn.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The account gave this client no consent (or already withdrew it).
    #[error("no such consent")]
    UnknownConsent,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client the account consented to.
#[derive(Clone, Debug)]
pub struct Consent {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub granted_at: UnixTime,
    /// When the scopes last grew.
    pub updated_at: UnixTime,
}

impl OidcService {
    /// The clients `user_id` consented to, most recent first.
    pub async fn consents(&self, user_id: &str) -> Result<Vec<Consent>, ConsentError> {
        let rows = consents::list_for_user(&self.db, user_id.to_owned()).await?;
        Ok(rows
            .into_iter()
            .map(|row| Consent {
                scopes: Scope::stored(&row.scope).iter().map(str::to_owned).collect(),
                client_id: row.client_id,
                client_name: row.client_name,
                granted_at: row.created_at,
                updated_at: row.updated_at,
            })
            .collect())
    }

    /// Withdraws `user_id`'s consent to `client_id` and ends the account's token families of that client.
    /// Returns how many families ended.
    pub async fn revoke_consent(&self, user_id: &str, client_id: &str, now: UnixTime) -> Result<usize, ConsentError> {
        let families = consents::delete_with_families(
            &self.db,
            user_id.to_owned(),
            client_id.to_owned(),
            "consent_revoked",
            now,
        )
        .await?
        .ok_or(ConsentError::UnknownConsent)?;
        tracing::info!(%user_id, %client_id, families, "consent revoked");
        audit::record(
            &self.db,
            Event::new(Kind::ConsentRevoked)
                .about(Subject::Client(client_id.to_owned()))
                .with("user", user_id)
                .with("families", families),
            now,
        )
        .await;
        Ok(families)
    }
}
