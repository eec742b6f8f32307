//! Deleting rows that no longer matter: tokens, sessions, codes, requests (pushed ones too) and device authorizations that
//! expired or were revoked longer ago than the retention period. Each call deletes at most `limit` rows per
//! table, so a long backlog is worked off over several runs without one long lock. On PostgreSQL one instance
//! prunes at a time (an advisory lock held for the run's transaction).

use diesel::prelude::*;

use super::schema::{
    api_keys, audit_events, authorization_codes, authorization_requests, browser_sessions, device_authorizations,
    federation_logins, invitations, one_time_codes, private_tokens, pushed_requests, registration_tokens,
    replay_markers, revoked_tokens, sessions, sign_in_flows, users, webhook_deliveries,
};
use super::webhook_deliveries::PENDING;
use super::{Database, DbConnection, StoreError, StoreResult};

/// The advisory lock that lets one instance at a time prune.
const PRUNE_LOCK_ID: i64 = 0x7e55_e7a2;
use crate::clock::UnixTime;

/// Deletes rows dead since before `cutoff` (revoked-token markers as soon as their token expired, at `now`),
/// guests made before `guest_cutoff` that hold no live session, webhook deliveries and back-channel logout tokens
/// finished before `cutoff`, audit events older than `audit_cutoff`, and DPoP proofs' replay markers once their
/// proof is too old (at `now`).
/// Returns how many rows went.
pub async fn prune(
    db: &Database,
    now: UnixTime,
    cutoff: UnixTime,
    guest_cutoff: UnixTime,
    audit_cutoff: UnixTime,
    limit: i64,
) -> StoreResult<usize> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            // Of several instances on one PostgreSQL database, one prunes at a time; the others skip this round.
            if let DbConnection::Postgres(pg) = conn
                && !diesel::sql_query(format!("SELECT pg_try_advisory_xact_lock({PRUNE_LOCK_ID}) AS locked"))
                    .get_result::<Locked>(pg)?
                    .locked
            {
                return Ok(0);
            }
            let mut rows = 0;

            let ids: Vec<String> = private_tokens::table
                .select(private_tokens::id)
                .filter(
                    private_tokens::expires_at
                        .lt(cutoff)
                        .or(private_tokens::revoked_at.lt(cutoff)),
                )
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(private_tokens::table.filter(private_tokens::id.eq_any(ids))).execute(conn)?;

            // Refresh tokens go with their family (ON DELETE CASCADE).
            let ids: Vec<String> = sessions::table
                .select(sessions::id)
                .filter(sessions::expires_at.lt(cutoff).or(sessions::revoked_at.lt(cutoff)))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(sessions::table.filter(sessions::id.eq_any(ids))).execute(conn)?;

            let ids: Vec<String> = browser_sessions::table
                .select(browser_sessions::id)
                .filter(
                    browser_sessions::expires_at
                        .lt(cutoff)
                        .or(browser_sessions::revoked_at.lt(cutoff)),
                )
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(browser_sessions::table.filter(browser_sessions::id.eq_any(ids))).execute(conn)?;

            let hashes: Vec<String> = authorization_codes::table
                .select(authorization_codes::code_hash)
                .filter(authorization_codes::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(authorization_codes::table.filter(authorization_codes::code_hash.eq_any(hashes)))
                .execute(conn)?;

            let ids: Vec<String> = authorization_requests::table
                .select(authorization_requests::id)
                .filter(authorization_requests::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(authorization_requests::table.filter(authorization_requests::id.eq_any(ids)))
                .execute(conn)?;

            let ids: Vec<String> = device_authorizations::table
                .select(device_authorizations::id)
                .filter(device_authorizations::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(device_authorizations::table.filter(device_authorizations::id.eq_any(ids)))
                .execute(conn)?;

            let hashes: Vec<String> = pushed_requests::table
                .select(pushed_requests::request_uri_hash)
                .filter(pushed_requests::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(pushed_requests::table.filter(pushed_requests::request_uri_hash.eq_any(hashes)))
                .execute(conn)?;

            let ids: Vec<String> = api_keys::table
                .select(api_keys::id)
                .filter(api_keys::expires_at.lt(cutoff).or(api_keys::revoked_at.lt(cutoff)))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(api_keys::table.filter(api_keys::id.eq_any(ids))).execute(conn)?;

            let ids: Vec<String> = registration_tokens::table
                .select(registration_tokens::id)
                .filter(
                    registration_tokens::expires_at
                        .lt(cutoff)
                        .or(registration_tokens::revoked_at.lt(cutoff)),
                )
                .limit(limit)
                .load(conn)?;
            rows +=
                diesel::delete(registration_tokens::table.filter(registration_tokens::id.eq_any(ids))).execute(conn)?;

            let ids: Vec<String> = sign_in_flows::table
                .select(sign_in_flows::id)
                .filter(sign_in_flows::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(sign_in_flows::table.filter(sign_in_flows::id.eq_any(ids))).execute(conn)?;

            let ids: Vec<String> = federation_logins::table
                .select(federation_logins::id)
                .filter(federation_logins::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(federation_logins::table.filter(federation_logins::id.eq_any(ids))).execute(conn)?;

            let ids: Vec<String> = one_time_codes::table
                .select(one_time_codes::id)
                .filter(one_time_codes::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(one_time_codes::table.filter(one_time_codes::id.eq_any(ids))).execute(conn)?;

            let ids: Vec<String> = invitations::table
                .select(invitations::id)
                .filter(invitations::expires_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(invitations::table.filter(invitations::id.eq_any(ids))).execute(conn)?;

            // Guests nobody uses: no live token family, no live browser session.
            let live_families = sessions::table
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .select(sessions::user_id);
            let live_browsers = browser_sessions::table
                .filter(browser_sessions::revoked_at.is_null())
                .filter(browser_sessions::expires_at.gt(now))
                .select(browser_sessions::user_id);
            let ids: Vec<String> = users::table
                .select(users::id)
                .filter(users::guest.eq(true))
                .filter(users::created_at.lt(guest_cutoff))
                .filter(users::id.ne_all(live_families))
                .filter(users::id.ne_all(live_browsers))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(users::table.filter(users::id.eq_any(ids))).execute(conn)?;

            let jtis: Vec<String> = revoked_tokens::table
                .select(revoked_tokens::jti)
                .filter(revoked_tokens::expires_at.lt(now))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(revoked_tokens::table.filter(revoked_tokens::jti.eq_any(jtis))).execute(conn)?;

            // DPoP proofs and client assertions too old to be accepted again need no replay marker.
            let hashes: Vec<String> = replay_markers::table
                .select(replay_markers::marker_hash)
                .filter(replay_markers::expires_at.lt(now))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(replay_markers::table.filter(replay_markers::marker_hash.eq_any(hashes)))
                .execute(conn)?;

            // Webhook deliveries that were delivered or given up on.
            let ids: Vec<String> = webhook_deliveries::table
                .select(webhook_deliveries::id)
                .filter(webhook_deliveries::status.ne(PENDING))
                .filter(webhook_deliveries::updated_at.lt(cutoff))
                .limit(limit)
                .load(conn)?;
            rows +=
                diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(ids))).execute(conn)?;

            // Logout tokens that were delivered or given up on.
            rows += super::backchannel_logouts::prune_on(conn, cutoff, limit)?;

            let ids: Vec<String> = audit_events::table
                .select(audit_events::id)
                .filter(audit_events::occurred_at.lt(audit_cutoff))
                .limit(limit)
                .load(conn)?;
            rows += diesel::delete(audit_events::table.filter(audit_events::id.eq_any(ids))).execute(conn)?;

            Ok(rows)
        })
    })
    .await
}

/// The answer of `pg_try_advisory_xact_lock`.
#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}
