//! The `browser_sessions` table: signed-in browsers. The cookie value is stored only as its SHA-256; the
//! public `id` is what ID tokens carry as `sid`.

use diesel::prelude::*;

use super::schema::{browser_sessions, users};
use super::users::User;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One browser session as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = browser_sessions)]
pub struct BrowserSessionRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub amr: String,
    pub acr: String,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// Stores a new session.
pub async fn insert(db: &Database, session: BrowserSessionRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(browser_sessions::table)
            .values(&session)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// The session whose cookie hashes to `token_hash`, with its account.
pub async fn find_by_token_hash(db: &Database, token_hash: String) -> StoreResult<Option<(BrowserSessionRow, User)>> {
    db.run(move |conn| {
        Ok(browser_sessions::table
            .inner_join(users::table)
            .filter(browser_sessions::token_hash.eq(token_hash))
            .select((BrowserSessionRow::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// The session with this public id.
pub async fn find(db: &Database, id: String) -> StoreResult<Option<BrowserSessionRow>> {
    db.run(move |conn| {
        Ok(browser_sessions::table
            .find(id)
            .select(BrowserSessionRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Records activity (for the idle timeout).
pub async fn touch(db: &Database, id: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(browser_sessions::table.find(id))
            .set(browser_sessions::last_seen_at.eq(now))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Ends a session. Returns whether it was still live.
pub async fn revoke(db: &Database, id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            browser_sessions::table
                .find(id)
                .filter(browser_sessions::revoked_at.is_null()),
        )
        .set(browser_sessions::revoked_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Browser sessions of one account listed at most (the most recently seen).
const LISTED_MAX: i64 = 200;

/// The unrevoked, unexpired sessions of `user_id`, most recently seen first (the idle timeout is the caller's).
pub async fn list_live_for_user(db: &Database, user_id: String, now: UnixTime) -> StoreResult<Vec<BrowserSessionRow>> {
    db.run(move |conn| {
        Ok(browser_sessions::table
            .filter(browser_sessions::user_id.eq(user_id))
            .filter(browser_sessions::revoked_at.is_null())
            .filter(browser_sessions::expires_at.gt(now))
            .order((browser_sessions::last_seen_at.desc(), browser_sessions::id))
            .limit(LISTED_MAX)
            .select(BrowserSessionRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Ends the session `id` if it is `user_id`'s and still live. Returns whether it was.
pub async fn revoke_of_user(db: &Database, user_id: String, id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            browser_sessions::table
                .find(id)
                .filter(browser_sessions::user_id.eq(user_id))
                .filter(browser_sessions::revoked_at.is_null()),
        )
        .set(browser_sessions::revoked_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Ends every live session of `user_id` but `keep`. Returns how many.
pub async fn revoke_others_of_user(db: &Database, user_id: String, keep: String, now: UnixTime) -> StoreResult<usize> {
    db.write(move |conn| {
        Ok(diesel::update(
            browser_sessions::table
                .filter(browser_sessions::user_id.eq(user_id))
                .filter(browser_sessions::id.ne(keep))
                .filter(browser_sessions::revoked_at.is_null()),
        )
        .set(browser_sessions::revoked_at.eq(now))
        .execute(conn)?)
    })
    .await
}
