//! The `api_keys` table: SHA-256 hashes of application API keys, with a short prefix for display.

use diesel::prelude::*;

use super::applications::ApplicationRow;
use super::schema::{api_keys, applications};
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One API key as stored (never the key itself).
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub application_id: String,
    pub name: String,
    /// The key's first characters, to recognise it in a list.
    pub prefix: String,
    pub key_hash: String,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
}

pub async fn insert(db: &Database, key: ApiKeyRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(api_keys::table).values(&key).execute(conn)?;
        Ok(())
    })
    .await
}

/// The key with this hash and its application.
pub async fn find_by_hash(db: &Database, key_hash: String) -> StoreResult<Option<(ApiKeyRow, ApplicationRow)>> {
    db.run(move |conn| {
        Ok(api_keys::table
            .inner_join(applications::table)
            .filter(api_keys::key_hash.eq(key_hash))
            .select((ApiKeyRow::as_select(), ApplicationRow::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// An application's keys, newest first.
pub async fn list_for_application(db: &Database, application_id: String) -> StoreResult<Vec<ApiKeyRow>> {
    db.run(move |conn| {
        Ok(api_keys::table
            .filter(api_keys::application_id.eq(application_id))
            .order((api_keys::created_at.desc(), api_keys::id.asc()))
            .select(ApiKeyRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Revokes one of an application's keys. Returns the revoked key's hash, if it was live.
pub async fn revoke(db: &Database, application_id: String, id: String, now: UnixTime) -> StoreResult<Option<String>> {
    db.write(move |conn| {
        Ok(diesel::update(
            api_keys::table
                .find(id)
                .filter(api_keys::application_id.eq(application_id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .returning(api_keys::key_hash)
        .get_result(conn)
        .optional()?)
    })
    .await
}

/// Records when a key was last used (called at most once a minute per key).
pub async fn touch(db: &Database, id: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(api_keys::table.find(id))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)?;
        Ok(())
    })
    .await
}
