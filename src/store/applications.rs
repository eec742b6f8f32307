//! The `applications` table: tenants, with their request budget and token lifetimes.

use diesel::prelude::*;

use super::schema::applications;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One application as stored.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub rate_limit_per_minute: i32,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// `open`, `registration` or `invite_only`.
    pub access_mode: String,
    /// Space-separated login methods.
    pub login_methods: String,
    /// Space-separated proofs of contact a registration needs.
    pub verification_channels: String,
    pub code_ttl_secs: i64,
    pub home_client_id: Option<String>,
    /// Space-separated ids of the upstream providers offered.
    pub external_providers: String,
    /// Space-separated.
    pub ip_ranges: String,
    pub idle_timeout_secs: Option<i64>,
    pub pin_format: String,
}

pub async fn insert(db: &Database, app: ApplicationRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(applications::table).values(&app).execute(conn)?;
        Ok(())
    })
    .await
}

pub async fn find(db: &Database, id: String) -> StoreResult<Option<ApplicationRow>> {
    db.run(move |conn| {
        Ok(applications::table
            .find(id)
            .select(ApplicationRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

pub async fn find_by_slug(db: &Database, slug: String) -> StoreResult<Option<ApplicationRow>> {
    db.run(move |conn| {
        Ok(applications::table
            .filter(applications::slug.eq(slug))
            .select(ApplicationRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Every application, oldest first.
pub async fn list(db: &Database) -> StoreResult<Vec<ApplicationRow>> {
    db.run(|conn| {
        Ok(applications::table
            .order((applications::created_at.asc(), applications::id.asc()))
            .select(ApplicationRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Replaces an application's settings. Returns whether it exists.
pub async fn update(db: &Database, app: ApplicationRow) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(applications::table.find(&app.id))
            .set((
                applications::name.eq(&app.name),
                applications::slug.eq(&app.slug),
                applications::rate_limit_per_minute.eq(app.rate_limit_per_minute),
                applications::access_token_ttl_secs.eq(app.access_token_ttl_secs),
                applications::refresh_token_ttl_secs.eq(app.refresh_token_ttl_secs),
                applications::updated_at.eq(app.updated_at),
                applications::access_mode.eq(&app.access_mode),
                applications::login_methods.eq(&app.login_methods),
                applications::verification_channels.eq(&app.verification_channels),
                applications::code_ttl_secs.eq(app.code_ttl_secs),
                applications::home_client_id.eq(&app.home_client_id),
                applications::external_providers.eq(&app.external_providers),
                applications::ip_ranges.eq(&app.ip_ranges),
                applications::idle_timeout_secs.eq(app.idle_timeout_secs),
                applications::pin_format.eq(&app.pin_format),
            ))
            .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Deletes an application with its clients, keys and token families (foreign keys cascade).
pub async fn delete(db: &Database, id: String) -> StoreResult<bool> {
    db.write(move |conn| Ok(diesel::delete(applications::table.find(id)).execute(conn)? == 1))
        .await
}
