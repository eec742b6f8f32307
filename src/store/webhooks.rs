//! The `webhooks` table: an application's subscriptions to its audit events, each with its URL, its sealed
//! signing secret, the kinds it wants, and the cursor of the last event already turned into deliveries.

use diesel::prelude::*;

use super::schema::webhooks;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One webhook as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub application_id: String,
    pub url: String,
    /// Sealed (`tokens::sealing`): it signs every delivery, so it must be readable, never in the clear.
    pub secret: String,
    /// Space-separated kinds, or `*` for every kind.
    pub event_kinds: String,
    pub enabled: bool,
    pub description: String,
    /// The last audit event, by (time, id), already turned into deliveries.
    pub cursor_at: UnixTime,
    pub cursor_id: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// What an administrator may change of a webhook.
#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: String,
    pub event_kinds: String,
    pub enabled: bool,
    pub description: String,
    pub updated_at: UnixTime,
}

pub async fn insert(db: &Database, row: WebhookRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(webhooks::table).values(&row).execute(conn)?;
        Ok(())
    })
    .await
}

/// An application's webhooks, oldest first.
pub async fn list_for_application(db: &Database, application_id: String) -> StoreResult<Vec<WebhookRow>> {
    db.run(move |conn| {
        Ok(webhooks::table
            .filter(webhooks::application_id.eq(application_id))
            .order((webhooks::created_at.asc(), webhooks::id.asc()))
            .select(WebhookRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Every enabled webhook, of every application.
pub async fn list_enabled(db: &Database) -> StoreResult<Vec<WebhookRow>> {
    db.run(move |conn| {
        Ok(webhooks::table
            .filter(webhooks::enabled.eq(true))
            .order(webhooks::id.asc())
            .select(WebhookRow::as_select())
            .load(conn)?)
    })
    .await
}

/// One of an application's webhooks.
pub async fn find(db: &Database, application_id: String, id: String) -> StoreResult<Option<WebhookRow>> {
    db.run(move |conn| {
        Ok(webhooks::table
            .find(id)
            .filter(webhooks::application_id.eq(application_id))
            .select(WebhookRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// A webhook by id alone (the sender's look-up).
pub async fn find_by_id(db: &Database, id: String) -> StoreResult<Option<WebhookRow>> {
    db.run(move |conn| {
        Ok(webhooks::table
            .find(id)
            .select(WebhookRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Changes one of an application's webhooks; the row as it is now, if it exists.
pub async fn update(
    db: &Database,
    application_id: String,
    id: String,
    changes: WebhookChanges,
) -> StoreResult<Option<WebhookRow>> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let updated = diesel::update(
                webhooks::table
                    .find(&id)
                    .filter(webhooks::application_id.eq(&application_id)),
            )
            .set(&changes)
            .execute(conn)?;
            if updated != 1 {
                return Ok(None);
            }
            Ok(webhooks::table
                .find(&id)
                .select(WebhookRow::as_select())
                .first(conn)
                .optional()?)
        })
    })
    .await
}

/// Replaces a webhook's sealed secret; whether it exists.
pub async fn set_secret(
    db: &Database,
    application_id: String,
    id: String,
    sealed: String,
    now: UnixTime,
) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            webhooks::table
                .find(id)
                .filter(webhooks::application_id.eq(application_id)),
        )
        .set((webhooks::secret.eq(sealed), webhooks::updated_at.eq(now)))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Deletes one of an application's webhooks (its deliveries cascade); whether it existed.
pub async fn delete(db: &Database, application_id: String, id: String) -> StoreResult<bool> {
    db.write(move |conn| {
        let deleted = diesel::delete(
            webhooks::table
                .find(id)
                .filter(webhooks::application_id.eq(application_id)),
        )
        .execute(conn)?;
        Ok(deleted == 1)
    })
    .await
}
