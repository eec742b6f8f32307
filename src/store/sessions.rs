//! The `sessions` table: one row per login, the family every refresh and access token of it belongs to.

use diesel::prelude::*;

use super::refresh_tokens::NewRefreshToken;
use super::schema::{refresh_tokens, sessions, users};
use super::users::User;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One login session as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub revoked_reason: Option<String>,
}

/// A new login session.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession {
    pub id: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Stores a session together with its first refresh token.
pub async fn insert_with_refresh_token(
    db: &Database,
    session: NewSession,
    token: NewRefreshToken,
) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::insert_into(sessions::table)
                .values(&session)
                .execute(conn)?;
            diesel::insert_into(refresh_tokens::table)
                .values(&token)
                .execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// The session with its account, as one lookup: what every bearer request checks.
pub async fn find_with_user(db: &Database, id: String) -> StoreResult<Option<(Session, User)>> {
    db.run(move |conn| {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(id))
            .select((Session::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// Revokes a session, and with it every token of its family. Returns whether it was still live.
pub async fn revoke(
    db: &Database,
    id: String,
    reason: &'static str,
    now: UnixTime,
) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            sessions::table
                .find(id)
                .filter(sessions::revoked_at.is_null()),
        )
        .set((
            sessions::revoked_at.eq(now),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}
