//! The `backchannel_logouts` table: the outbox of logout tokens (OpenID Connect Back-Channel Logout 1.0) owed to
//! clients when a session ends. Rows are made where the session ends, from the token families it held; a sender
//! leases a due row (`claim`) with a conditional `UPDATE`, so two instances never send it at once, and records
//! each attempt (`finish`).

use std::collections::BTreeSet;

use diesel::prelude::*;

use super::schema::{backchannel_logouts, browser_sessions, oauth_clients, sessions};
use super::users::KeptSignIn;
use super::{Database, DbConnection, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One logout token owed to one client.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = backchannel_logouts)]
pub struct BackchannelLogoutRow {
    pub id: String,
    pub client_id: String,
    pub sub: String,
    /// The ended browser session (the ID tokens' `sid`); `None`: every session of `sub` at the client.
    pub sid: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: UnixTime,
    pub leased_until: Option<UnixTime>,
    pub lease: Option<String>,
    /// The HTTP status of the last answer, if one came.
    pub last_status: Option<i32>,
    pub delivered_at: Option<UnixTime>,
    pub failed_at: Option<UnixTime>,
    pub created_at: UnixTime,
}

/// Whose sessions ended.
#[derive(Clone, Debug)]
pub enum Ended {
    /// One browser session (`sid`): every client holding a token family granted in it, revoked or not — each
    /// was given ID tokens carrying that `sid`.
    BrowserSession(String),
    /// The sign-ins of an account (all but `keep`: a browser session and the grants made in it, or one token
    /// family): every client with a live token family of it, or one granted in a browser session of it still
    /// live, one row per (client, browser session).
    User { user_id: String, keep: Option<KeptSignIn> },
}

/// Makes the outbox rows `ended` owes to clients that registered a `backchannel_logout_uri` (a client that
/// requires `sid` gets none for a family without a browser session). Call it before the sessions are revoked.
/// Returns how many rows were made.
pub async fn enqueue(db: &Database, ended: Ended, now: UnixTime) -> StoreResult<usize> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let owed = targets(conn, &ended, now)?;
            let mut made = 0;
            // One row at a time: a multi-row insert is not portable across the connection's backends.
            for (client_id, sub, sid) in owed {
                let row = BackchannelLogoutRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    client_id,
                    sub,
                    sid,
                    attempts: 0,
                    next_attempt_at: now,
                    leased_until: None,
                    lease: None,
                    last_status: None,
                    delivered_at: None,
                    failed_at: None,
                    created_at: now,
                };
                made += diesel::insert_into(backchannel_logouts::table)
                    .values(&row)
                    .execute(conn)?;
            }
            Ok(made)
        })
    })
    .await
}

/// (client, subject, sid) owed a logout token, each once.
type Target = (String, String, Option<String>);

fn targets(conn: &mut DbConnection, ended: &Ended, now: UnixTime) -> QueryResult<BTreeSet<Target>> {
    let families = sessions::table
        .inner_join(oauth_clients::table.on(sessions::client_id.eq(oauth_clients::id.nullable())))
        .filter(oauth_clients::backchannel_logout_uri.is_not_null())
        .filter(oauth_clients::is_active.eq(true))
        .filter(
            oauth_clients::backchannel_logout_session_required
                .eq(false)
                .or(sessions::browser_session_id.is_not_null()),
        );
    let rows: Vec<(String, String, Option<String>)> = match ended {
        Ended::BrowserSession(sid) => families
            .filter(sessions::browser_session_id.eq(sid))
            .select((oauth_clients::id, sessions::user_id, sessions::browser_session_id))
            .distinct()
            .load(conn)?,
        Ended::User { user_id, keep } => {
            let (keep, keep_family) = match keep {
                Some(KeptSignIn::Browser(id)) => (id.clone(), String::new()),
                Some(KeptSignIn::Family(id)) => (String::new(), id.clone()),
                None => (String::new(), String::new()),
            };
            let live_browsers: Vec<String> = browser_sessions::table
                .filter(browser_sessions::user_id.eq(user_id))
                .filter(browser_sessions::id.ne(&keep))
                .filter(browser_sessions::revoked_at.is_null())
                .filter(browser_sessions::expires_at.gt(now))
                .select(browser_sessions::id)
                .load(conn)?;
            families
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::id.ne(keep_family))
                .filter(
                    sessions::revoked_at
                        .is_null()
                        .and(sessions::expires_at.gt(now))
                        .or(sessions::browser_session_id.eq_any(live_browsers)),
                )
                .filter(
                    sessions::browser_session_id
                        .is_null()
                        .or(sessions::browser_session_id.ne(&keep)),
                )
                .select((oauth_clients::id, sessions::user_id, sessions::browser_session_id))
                .distinct()
                .load(conn)?
        }
    };
    Ok(rows.into_iter().collect())
}

/// Up to `limit` rows due at `now`, neither delivered nor given up and leased to no one, the longest waiting
/// first.
pub async fn due(db: &Database, now: UnixTime, limit: i64) -> StoreResult<Vec<String>> {
    db.run(move |conn| {
        Ok(backchannel_logouts::table
            .filter(backchannel_logouts::delivered_at.is_null())
            .filter(backchannel_logouts::failed_at.is_null())
            .filter(backchannel_logouts::next_attempt_at.le(now))
            .filter(
                backchannel_logouts::leased_until
                    .is_null()
                    .or(backchannel_logouts::leased_until.lt(now)),
            )
            .order((
                backchannel_logouts::next_attempt_at.asc(),
                backchannel_logouts::id.asc(),
            ))
            .select(backchannel_logouts::id)
            .limit(limit)
            .load(conn)?)
    })
    .await
}

/// A leased row and what its client registered for it.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub row: BackchannelLogoutRow,
    /// The client's logout URI (`None` when the client no longer has one).
    pub uri: Option<String>,
    /// The algorithm of the client's ID tokens, when not the default.
    pub alg: Option<String>,
}

/// Leases a due row to `lease` until `until`, with what its client registered, or `None` when another sender
/// took it first or it is no longer due.
pub async fn claim(
    db: &Database,
    id: String,
    lease: String,
    now: UnixTime,
    until: UnixTime,
) -> StoreResult<Option<Claimed>> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let taken = diesel::update(
                backchannel_logouts::table
                    .find(&id)
                    .filter(backchannel_logouts::delivered_at.is_null())
                    .filter(backchannel_logouts::failed_at.is_null())
                    .filter(backchannel_logouts::next_attempt_at.le(now))
                    .filter(
                        backchannel_logouts::leased_until
                            .is_null()
                            .or(backchannel_logouts::leased_until.lt(now)),
                    ),
            )
            .set((
                backchannel_logouts::lease.eq(&lease),
                backchannel_logouts::leased_until.eq(until),
            ))
            .execute(conn)?;
            if taken != 1 {
                return Ok(None);
            }
            Ok(backchannel_logouts::table
                .inner_join(oauth_clients::table)
                .filter(backchannel_logouts::id.eq(&id))
                .filter(backchannel_logouts::lease.eq(&lease))
                .select((
                    BackchannelLogoutRow::as_select(),
                    oauth_clients::backchannel_logout_uri,
                    oauth_clients::id_token_signed_response_alg,
                ))
                .first::<(BackchannelLogoutRow, Option<String>, Option<String>)>(conn)
                .optional()?
                .map(|(row, uri, alg)| Claimed { row, uri, alg }))
        })
    })
    .await
}

/// What an attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Tried again at this time.
    Retry(UnixTime),
    /// Given up.
    Failed,
}

/// Records an attempt (`attempts` made so far, the answer's status) and ends the lease, if `lease` still holds
/// it; whether it did.
pub async fn finish(
    db: &Database,
    id: String,
    lease: String,
    attempts: i32,
    last_status: Option<i32>,
    outcome: Outcome,
    now: UnixTime,
) -> StoreResult<bool> {
    let (next_attempt_at, delivered_at, failed_at) = match outcome {
        Outcome::Delivered => (now, Some(now), None),
        Outcome::Retry(at) => (at, None, None),
        Outcome::Failed => (now, None, Some(now)),
    };
    db.write(move |conn| {
        let updated = diesel::update(
            backchannel_logouts::table
                .find(id)
                .filter(backchannel_logouts::lease.eq(lease)),
        )
        .set((
            backchannel_logouts::attempts.eq(attempts),
            backchannel_logouts::next_attempt_at.eq(next_attempt_at),
            backchannel_logouts::last_status.eq(last_status),
            backchannel_logouts::delivered_at.eq(delivered_at),
            backchannel_logouts::failed_at.eq(failed_at),
            backchannel_logouts::lease.eq(None::<String>),
            backchannel_logouts::leased_until.eq(None::<UnixTime>),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// The rows owed to `client_id`, oldest first (for tests and diagnostics).
pub async fn list_for_client(db: &Database, client_id: String) -> StoreResult<Vec<BackchannelLogoutRow>> {
    db.run(move |conn| {
        Ok(backchannel_logouts::table
            .filter(backchannel_logouts::client_id.eq(client_id))
            .order((backchannel_logouts::created_at.asc(), backchannel_logouts::id.asc()))
            .select(BackchannelLogoutRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Deletes up to `limit` rows delivered or given up before `cutoff`, on a connection already held (by `prune`).
pub(super) fn prune_on(conn: &mut DbConnection, cutoff: UnixTime, limit: i64) -> QueryResult<usize> {
    let ids: Vec<String> = backchannel_logouts::table
        .select(backchannel_logouts::id)
        .filter(
            backchannel_logouts::delivered_at
                .lt(cutoff)
                .or(backchannel_logouts::failed_at.lt(cutoff)),
        )
        .limit(limit)
        .load(conn)?;
    diesel::delete(backchannel_logouts::table.filter(backchannel_logouts::id.eq_any(ids))).execute(conn)
}
