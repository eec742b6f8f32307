//! The `pushed_requests` table (RFC 9126): validated authorization requests a client pushed, found by the
//! SHA-256 of their `request_uri`'s random part. Each is spent once, by one conditional update, so two browsers
//! can never both use the same `request_uri`.

use diesel::prelude::*;

use super::schema::pushed_requests;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One pushed request as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = pushed_requests)]
pub struct PushedRequestRow {
    /// SHA-256 of the random part of the `request_uri`.
    pub request_uri_hash: String,
    pub client_id: String,
    /// The validated request, as JSON.
    pub parameters: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// Stores a pushed request.
pub async fn insert(db: &Database, row: PushedRequestRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(pushed_requests::table).values(&row).execute(conn)?;
        Ok(())
    })
    .await
}

/// Spends the unused, unexpired request whose `request_uri` hashes to `hash`, pushed by `client_id`, and returns
/// its parameters. `None` when there is no such request, it belongs to another client, it expired or it was
/// already used: one update decides, so of two concurrent callers only one gets the parameters.
pub async fn spend(db: &Database, hash: String, client_id: String, now: UnixTime) -> StoreResult<Option<String>> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let spent = diesel::update(
                pushed_requests::table
                    .find(&hash)
                    .filter(pushed_requests::client_id.eq(&client_id))
                    .filter(pushed_requests::used_at.is_null())
                    .filter(pushed_requests::expires_at.gt(now)),
            )
            .set(pushed_requests::used_at.eq(now))
            .execute(conn)?;
            if spent != 1 {
                return Ok(None);
            }
            Ok(Some(
                pushed_requests::table
                    .find(&hash)
                    .select(pushed_requests::parameters)
                    .first(conn)?,
            ))
        })
    })
    .await
}
