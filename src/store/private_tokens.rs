//! The `private_tokens` table: SHA-256 hashes of users' long-lived tokens, with what they may do and when
//! they were last used.

use diesel::prelude::*;

use super::schema::{private_tokens, users};
use super::users::User;
use super::{Database, DbConnection, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One private token as stored (never the token itself).
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = private_tokens)]
pub struct PrivateTokenRow {
    pub id: String,
    pub user_id: String,
    pub application_id: String,
    pub description: String,
    pub prefix: String,
    pub token_hash: String,
    /// Space-separated scopes.
    pub scopes: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub revoked_reason: Option<String>,
    pub last_used_at: Option<UnixTime>,
    pub last_used_ip: Option<String>,
}

pub async fn insert(db: &Database, token: PrivateTokenRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(private_tokens::table)
            .values(&token)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// The token with this hash and its owner: one indexed look-up.
pub async fn find_by_hash(db: &Database, token_hash: String) -> StoreResult<Option<(PrivateTokenRow, User)>> {
    db.run(move |conn| {
        Ok(private_tokens::table
            .inner_join(users::table)
            .filter(private_tokens::token_hash.eq(token_hash))
            .select((PrivateTokenRow::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// The token with this id and its owner.
pub async fn find_with_user(db: &Database, id: String) -> StoreResult<Option<(PrivateTokenRow, User)>> {
    db.run(move |conn| {
        Ok(private_tokens::table
            .inner_join(users::table)
            .filter(private_tokens::id.eq(id))
            .select((PrivateTokenRow::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// A user's tokens, newest first.
pub async fn list_for_user(db: &Database, user_id: String) -> StoreResult<Vec<PrivateTokenRow>> {
    db.run(move |conn| {
        Ok(private_tokens::table
            .filter(private_tokens::user_id.eq(user_id))
            .order((private_tokens::created_at.desc(), private_tokens::id.asc()))
            .select(PrivateTokenRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Revokes one of a user's live tokens. Returns whether it was live.
pub async fn revoke(
    db: &Database,
    user_id: String,
    id: String,
    reason: &'static str,
    now: UnixTime,
) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            private_tokens::table
                .find(id)
                .filter(private_tokens::user_id.eq(user_id))
                .filter(private_tokens::revoked_at.is_null()),
        )
        .set((
            private_tokens::revoked_at.eq(now),
            private_tokens::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Revokes `old` and stores its replacement, atomically. Returns `false`, storing nothing, if `old` was no
/// longer live.
pub async fn rotate(
    db: &Database,
    user_id: String,
    old: String,
    replacement: PrivateTokenRow,
    now: UnixTime,
) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let revoked = diesel::update(
                private_tokens::table
                    .find(old)
                    .filter(private_tokens::user_id.eq(user_id))
                    .filter(private_tokens::revoked_at.is_null()),
            )
            .set((
                private_tokens::revoked_at.eq(now),
                private_tokens::revoked_reason.eq("rotated"),
            ))
            .execute(conn)?;
            if revoked == 0 {
                return Ok(false);
            }
            diesel::insert_into(private_tokens::table)
                .values(&replacement)
                .execute(conn)?;
            Ok(true)
        })
    })
    .await
}

/// Revokes every live token of a user. Returns how many.
pub async fn revoke_all_for_user(
    db: &Database,
    user_id: String,
    reason: &'static str,
    now: UnixTime,
) -> StoreResult<usize> {
    db.write(move |conn| revoke_private_tokens_of(conn, &user_id, reason, now))
        .await
}

/// Revokes every live token of a user on `conn` (inside another write). Returns how many.
pub(super) fn revoke_private_tokens_of(
    conn: &mut DbConnection,
    user_id: &str,
    reason: &str,
    now: UnixTime,
) -> StoreResult<usize> {
    Ok(diesel::update(
        private_tokens::table
            .filter(private_tokens::user_id.eq(user_id))
            .filter(private_tokens::revoked_at.is_null()),
    )
    .set((
        private_tokens::revoked_at.eq(now),
        private_tokens::revoked_reason.eq(reason),
    ))
    .execute(conn)?)
}

/// Records a use (called at most once a minute per token).
pub async fn touch(db: &Database, id: String, ip: Option<String>, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(private_tokens::table.find(id))
            .set((
                private_tokens::last_used_at.eq(now),
                private_tokens::last_used_ip.eq(ip),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await
}
