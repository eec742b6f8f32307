//! The `identity_providers` table: upstream OpenID providers added through the admin API (the configuration
//! file's are not stored). The client secret is stored sealed.

use diesel::prelude::*;

use super::schema::identity_providers;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = identity_providers)]
pub struct ProviderRow {
    pub id: String,
    pub name: String,
    /// `google` or `oidc`.
    pub kind: String,
    pub issuer: String,
    pub client_id: String,
    /// Sealed.
    pub client_secret: String,
    /// Space-separated.
    pub scopes: String,
    pub email_claim: String,
    pub username_claim: String,
    pub name_claim: String,
    /// Space-separated.
    pub trusted_amr: String,
    /// Space-separated.
    pub allowed_domains: String,
    pub trust_email: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Every stored provider, by id.
pub async fn list(db: &Database) -> StoreResult<Vec<ProviderRow>> {
    db.run(|conn| {
        Ok(identity_providers::table
            .order(identity_providers::id.asc())
            .select(ProviderRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Adds a provider; a taken id gives [`super::StoreError::Duplicate`].
pub async fn insert(db: &Database, row: ProviderRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(identity_providers::table)
            .values(&row)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Replaces a provider's settings (not its id or creation time). Returns whether it exists.
pub async fn update(db: &Database, row: ProviderRow) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(identity_providers::table.find(&row.id))
            .set((
                identity_providers::name.eq(&row.name),
                identity_providers::kind.eq(&row.kind),
                identity_providers::issuer.eq(&row.issuer),
                identity_providers::client_id.eq(&row.client_id),
                identity_providers::client_secret.eq(&row.client_secret),
                identity_providers::scopes.eq(&row.scopes),
                identity_providers::email_claim.eq(&row.email_claim),
                identity_providers::username_claim.eq(&row.username_claim),
                identity_providers::name_claim.eq(&row.name_claim),
                identity_providers::trusted_amr.eq(&row.trusted_amr),
                identity_providers::allowed_domains.eq(&row.allowed_domains),
                identity_providers::trust_email.eq(row.trust_email),
                identity_providers::updated_at.eq(row.updated_at),
            ))
            .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Removes a provider. Returns whether it was there.
pub async fn delete(db: &Database, id: String) -> StoreResult<bool> {
    db.write(move |conn| Ok(diesel::delete(identity_providers::table.find(id)).execute(conn)? == 1))
        .await
}
