//! The `webhook_deliveries` table: one audit event to send to one webhook, with its attempts and when the next
//! one is due. Deliveries are made from the audit log in the transaction that advances the webhook's cursor,
//! and a sender leases one (`claim`) with a conditional `UPDATE`, so two instances never send it at once.

use diesel::prelude::*;

use super::audit_events::AuditEventRow;
use super::schema::{audit_events, webhook_deliveries, webhooks};
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// Waiting for its (next) attempt.
pub const PENDING: &str = "pending";
/// A 2xx answer was received.
pub const DELIVERED: &str = "delivered";
/// Every attempt failed; no more are made.
pub const FAILED: &str = "failed";

/// One delivery as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_kind: String,
    /// The JSON body, fixed when the delivery is made: every attempt sends the same bytes.
    pub payload: String,
    /// [`PENDING`], [`DELIVERED`] or [`FAILED`].
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: UnixTime,
    /// The lease of the sender working on it.
    pub claimed_until: Option<UnixTime>,
    pub claim: Option<String>,
    /// The HTTP status of the last answer, if one came.
    pub last_status: Option<i32>,
    /// Why the last attempt failed, or the start of its answer's body.
    pub last_error: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Which audit events one webhook still has to turn into deliveries.
#[derive(Clone, Debug)]
pub struct Scan {
    pub webhook_id: String,
    pub application_id: String,
    /// `None`: every kind.
    pub kinds: Option<Vec<String>>,
    /// Only events after this one, by (time, id): the webhook's creation.
    pub after: (UnixTime, String),
    /// Only events at or after this time: the cursor less a look-back, which catches events committed late.
    pub since: UnixTime,
    pub limit: i64,
    pub now: UnixTime,
}

/// Makes the deliveries of the events `scan` selects that have none yet (their bodies by `payload`) and moves
/// the webhook's cursor forward, in one transaction. Returns how many were made.
pub async fn enqueue<F>(db: &Database, scan: Scan, payload: F) -> StoreResult<usize>
where
    F: Fn(&AuditEventRow) -> String + Send + 'static,
{
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let (after_at, after_id) = scan.after.clone();
            let mut query = audit_events::table
                .select(AuditEventRow::as_select())
                .filter(audit_events::application_id.eq(scan.application_id.clone()))
                .filter(audit_events::occurred_at.ge(scan.since))
                .filter(
                    audit_events::occurred_at.gt(after_at).or(audit_events::occurred_at
                        .eq(after_at)
                        .and(audit_events::id.gt(after_id))),
                )
                // Events that already have a delivery; theirs were made at or after the event, so after `since`.
                .filter(
                    audit_events::id.ne_all(
                        webhook_deliveries::table
                            .filter(webhook_deliveries::webhook_id.eq(scan.webhook_id.clone()))
                            .filter(webhook_deliveries::created_at.ge(scan.since))
                            .select(webhook_deliveries::event_id),
                    ),
                )
                .into_boxed();
            if let Some(kinds) = scan.kinds.clone() {
                query = query.filter(audit_events::kind.eq_any(kinds));
            }
            let events: Vec<AuditEventRow> = query
                .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
                .limit(scan.limit)
                .load(conn)?;
            let newest = events.iter().map(|event| (event.occurred_at, event.id.clone())).max();
            // A full batch leaves the rest for the next run: the cursor stops at the newest event taken. Otherwise
            // every matching event up to now is taken, and the cursor moves to now even if none matched, so the
            // next scan starts from there (less the look-back) rather than from an old match.
            let full = i64::try_from(events.len()).unwrap_or(i64::MAX) >= scan.limit;
            let (newest_at, newest_id) = match newest {
                Some(newest) if full => newest,
                newest => newest
                    .into_iter()
                    .chain([(scan.now, String::new())])
                    .max()
                    .unwrap_or_default(),
            };
            let rows: Vec<DeliveryRow> = events
                .iter()
                .map(|event| DeliveryRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    webhook_id: scan.webhook_id.clone(),
                    event_id: event.id.clone(),
                    event_kind: event.kind.clone(),
                    payload: payload(event),
                    status: PENDING.to_owned(),
                    attempts: 0,
                    next_attempt_at: scan.now,
                    claimed_until: None,
                    claim: None,
                    last_status: None,
                    last_error: None,
                    created_at: scan.now,
                    updated_at: scan.now,
                })
                .collect();
            // One row at a time: a multi-row insert is not portable across the connection's backends.
            let mut made = 0;
            for row in &rows {
                made += diesel::insert_into(webhook_deliveries::table)
                    .values(row)
                    .execute(conn)?;
            }
            // Only forward: a late event found behind the cursor does not move it back.
            diesel::update(
                webhooks::table.find(scan.webhook_id.clone()).filter(
                    webhooks::cursor_at.lt(newest_at).or(webhooks::cursor_at
                        .eq(newest_at)
                        .and(webhooks::cursor_id.lt(newest_id.clone()))),
                ),
            )
            .set((webhooks::cursor_at.eq(newest_at), webhooks::cursor_id.eq(newest_id)))
            .execute(conn)?;
            Ok(made)
        })
    })
    .await
}

/// Up to `limit` deliveries of enabled webhooks due at `now` and leased to no one, the longest waiting first.
pub async fn due(db: &Database, now: UnixTime, limit: i64) -> StoreResult<Vec<String>> {
    db.run(move |conn| {
        Ok(webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhooks::enabled.eq(true))
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(
                webhook_deliveries::claimed_until
                    .is_null()
                    .or(webhook_deliveries::claimed_until.lt(now)),
            )
            .order((webhook_deliveries::next_attempt_at.asc(), webhook_deliveries::id.asc()))
            .select(webhook_deliveries::id)
            .limit(limit)
            .load(conn)?)
    })
    .await
}

/// Leases a due delivery to `claim` until `until`: the row, or `None` when another sender took it first (or it
/// is no longer due).
pub async fn claim(
    db: &Database,
    id: String,
    claim: String,
    now: UnixTime,
    until: UnixTime,
) -> StoreResult<Option<DeliveryRow>> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let taken = diesel::update(
                webhook_deliveries::table
                    .find(&id)
                    .filter(webhook_deliveries::status.eq(PENDING))
                    .filter(webhook_deliveries::next_attempt_at.le(now))
                    .filter(
                        webhook_deliveries::claimed_until
                            .is_null()
                            .or(webhook_deliveries::claimed_until.lt(now)),
                    ),
            )
            .set((
                webhook_deliveries::claim.eq(&claim),
                webhook_deliveries::claimed_until.eq(until),
            ))
            .execute(conn)?;
            if taken != 1 {
                return Ok(None);
            }
            Ok(webhook_deliveries::table
                .find(&id)
                .filter(webhook_deliveries::claim.eq(&claim))
                .select(DeliveryRow::as_select())
                .first(conn)
                .optional()?)
        })
    })
    .await
}

/// What an attempt came to.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub status: &'static str,
    pub attempts: i32,
    pub next_attempt_at: UnixTime,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub now: UnixTime,
}

/// Records an attempt and ends the lease, if `claim` still holds it; whether it did.
pub async fn finish(db: &Database, id: String, claim: String, attempt: Attempt) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            webhook_deliveries::table
                .find(id)
                .filter(webhook_deliveries::claim.eq(claim)),
        )
        .set((
            webhook_deliveries::status.eq(attempt.status),
            webhook_deliveries::attempts.eq(attempt.attempts),
            webhook_deliveries::next_attempt_at.eq(attempt.next_attempt_at),
            webhook_deliveries::last_status.eq(attempt.last_status),
            webhook_deliveries::last_error.eq(attempt.last_error),
            webhook_deliveries::claim.eq(None::<String>),
            webhook_deliveries::claimed_until.eq(None::<UnixTime>),
            webhook_deliveries::updated_at.eq(attempt.now),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// A webhook's latest deliveries, newest first.
pub async fn list_for_webhook(db: &Database, webhook_id: String, limit: i64) -> StoreResult<Vec<DeliveryRow>> {
    db.run(move |conn| {
        Ok(webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .order((webhook_deliveries::created_at.desc(), webhook_deliveries::id.desc()))
            .select(DeliveryRow::as_select())
            .limit(limit)
            .load(conn)?)
    })
    .await
}
