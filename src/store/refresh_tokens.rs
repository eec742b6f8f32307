//! The `refresh_tokens` table: SHA-256 hashes of refresh tokens, each spent once.

use diesel::prelude::*;

use super::schema::{refresh_tokens, sessions, users};
use super::sessions::Session;
use super::users::User;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One refresh token as stored (only its hash).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: String,
    pub session_id: String,
    pub token_hash: String,
    pub parent_id: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// A refresh token to store.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken {
    pub id: String,
    pub session_id: String,
    pub token_hash: String,
    pub parent_id: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A refresh token with the session it belongs to and that session's account.
#[derive(Clone, Debug)]
pub struct RefreshTokenFamily {
    pub token: RefreshToken,
    pub session: Session,
    pub user: User,
}

/// Looks a presented token up by its hash.
pub async fn find_by_hash(db: &Database, token_hash: String) -> StoreResult<Option<RefreshTokenFamily>> {
    db.run(move |conn| {
        let row = refresh_tokens::table
            .inner_join(sessions::table.inner_join(users::table))
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((RefreshToken::as_select(), Session::as_select(), User::as_select()))
            .first(conn)
            .optional()?;
        Ok(row.map(|(token, session, user)| RefreshTokenFamily { token, session, user }))
    })
    .await
}

/// Spends `spent_id` and stores its successor, atomically. Returns `false`, storing nothing, when the
/// token was already spent (a concurrent or replayed use).
pub async fn rotate(db: &Database, spent_id: String, successor: NewRefreshToken, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            // The conditional write comes first: it takes the write lock, and only one caller can win it.
            let spent = diesel::update(
                refresh_tokens::table
                    .find(spent_id)
                    .filter(refresh_tokens::used_at.is_null()),
            )
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
            if spent == 0 {
                return Ok(false);
            }
            diesel::insert_into(refresh_tokens::table)
                .values(&successor)
                .execute(conn)?;
            Ok(true)
        })
    })
    .await
}
