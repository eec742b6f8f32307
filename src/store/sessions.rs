//! The `sessions` table: token families. One row per REST login or per redeemed authorization code; every
//! refresh and access token of the family carries its id, and revoking the row stops them all.

use diesel::prelude::*;

use super::refresh_tokens::NewRefreshToken;
use super::schema::{applications, oauth_clients, refresh_tokens, sessions, users};
use super::users::User;
use super::{Database, DbConnection, StoreError, StoreResult};
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
    /// The application the family's tokens are for.
    pub application_id: Option<String>,
    /// The OAuth client the family was issued to; `None` for the REST API.
    pub client_id: Option<String>,
    /// Space-separated scopes granted to the family.
    pub scope: String,
    /// Space-separated authentication methods of the login (`pwd`, …).
    pub amr: String,
    pub acr: String,
    /// The browser session the grant was made in, if any.
    pub browser_session_id: Option<String>,
    /// Granted `offline_access`: survives the end of the browser session.
    pub offline: bool,
    /// The last activity seen of the family's tokens (`None`: none since it was made).
    pub last_active_at: Option<UnixTime>,
    /// The DPoP key (its RFC 7638 thumbprint) the family's refresh tokens are bound to (RFC 9449 §5), if any.
    pub dpop_jkt: Option<String>,
}

impl Session {
    /// When the family was last active: its last activity, or its making.
    pub fn active_at(&self) -> UnixTime {
        self.last_active_at.unwrap_or(self.created_at)
    }
}

/// A new token family.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession {
    pub id: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub application_id: Option<String>,
    pub client_id: Option<String>,
    pub scope: String,
    pub amr: String,
    pub acr: String,
    pub browser_session_id: Option<String>,
    pub offline: bool,
    pub dpop_jkt: Option<String>,
}

/// Records activity of the family `id` at `now`.
pub async fn touch(db: &Database, id: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(sessions::table.find(id))
            .set(sessions::last_active_at.eq(now))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// A step-up proved the family's owner again: its methods and authentication time change, and it is active now.
pub async fn stepped_up(db: &Database, id: String, amr: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(sessions::table.find(id))
            .set((
                sessions::amr.eq(amr),
                sessions::auth_time.eq(now),
                sessions::last_active_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Stores a session together with its first refresh token.
pub async fn insert_with_refresh_token(db: &Database, session: NewSession, token: NewRefreshToken) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::insert_into(sessions::table).values(&session).execute(conn)?;
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

/// The family with this id.
pub async fn find(db: &Database, id: String) -> StoreResult<Option<Session>> {
    db.run(move |conn| {
        Ok(sessions::table
            .find(id)
            .select(Session::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Moves the families granted in browser session `from` to `to` (the same user signed in again).
pub async fn move_to_browser_session(db: &Database, from: String, to: String) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(sessions::table.filter(sessions::browser_session_id.eq(from)))
            .set(sessions::browser_session_id.eq(to))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Revokes the families granted in a browser session that ended, except offline ones. Returns how many.
pub async fn revoke_for_browser_session(
    db: &Database,
    browser_session_id: String,
    reason: &'static str,
    now: UnixTime,
) -> StoreResult<usize> {
    db.write(move |conn| {
        Ok(diesel::update(
            sessions::table
                .filter(sessions::browser_session_id.eq(browser_session_id))
                .filter(sessions::offline.eq(false))
                .filter(sessions::revoked_at.is_null()),
        )
        .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
        .execute(conn)?)
    })
    .await
}

/// Revokes a session, and with it every token of its family. Returns whether it was still live.
pub async fn revoke(db: &Database, id: String, reason: &'static str, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| Ok(revoke_on(conn, &id, reason, now)?)).await
}

/// [`revoke`] on a connection already held (inside another store function's transaction).
pub(super) fn revoke_on(conn: &mut DbConnection, id: &str, reason: &str, now: UnixTime) -> QueryResult<bool> {
    let updated = diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
        .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// A live token family as its owner sees it: the family, and the names of its OAuth client and application.
#[derive(Clone, Debug)]
pub struct FamilyListing {
    pub family: Session,
    pub client_name: Option<String>,
    pub application_name: Option<String>,
}

/// Families of one account listed at most (the newest).
const LISTED_MAX: i64 = 200;

/// The live (unrevoked, unexpired) families of `user_id`, newest first, with their client's and application's
/// names.
pub async fn list_live_for_user(db: &Database, user_id: String, now: UnixTime) -> StoreResult<Vec<FamilyListing>> {
    db.run(move |conn| {
        let rows = sessions::table
            .left_join(oauth_clients::table.on(sessions::client_id.eq(oauth_clients::id.nullable())))
            .left_join(applications::table.on(sessions::application_id.eq(applications::id.nullable())))
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .order((sessions::created_at.desc(), sessions::id))
            .limit(LISTED_MAX)
            .select((
                Session::as_select(),
                oauth_clients::name.nullable(),
                applications::name.nullable(),
            ))
            .load::<(Session, Option<String>, Option<String>)>(conn)?;
        Ok(rows
            .into_iter()
            .map(|(family, client_name, application_name)| FamilyListing {
                family,
                client_name,
                application_name,
            })
            .collect())
    })
    .await
}

/// Revokes the family `id` if it is `user_id`'s and still live. Returns whether it was.
pub async fn revoke_of_user(
    db: &Database,
    user_id: String,
    id: String,
    reason: &'static str,
    now: UnixTime,
) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            sessions::table
                .find(id)
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Revokes every live family of `user_id` except those granted in the browser session `keep`. Returns how many.
pub async fn revoke_others_of_user(
    db: &Database,
    user_id: String,
    keep: String,
    reason: &'static str,
    now: UnixTime,
) -> StoreResult<usize> {
    db.write(move |conn| {
        Ok(diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null())
                .filter(
                    sessions::browser_session_id
                        .is_null()
                        .or(sessions::browser_session_id.ne(keep)),
                ),
        )
        .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
        .execute(conn)?)
    })
    .await
}
