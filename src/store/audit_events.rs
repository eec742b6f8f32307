//! The `audit_events` table: security events, appended and never changed, read back newest first.

use diesel::prelude::*;

use super::schema::audit_events;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One event as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub id: String,
    pub occurred_at: UnixTime,
    pub kind: String,
    /// The account that acted, when one was signed in (or is the one signing in).
    pub actor_id: Option<String>,
    /// What the event is about: `user`, `application`, `client`, …
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub application_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// A JSON object of what else the event says (never a secret).
    pub details: String,
}

/// What a reading of the log is limited to; `None` fields do not limit it.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub kind: Option<String>,
    pub actor_id: Option<String>,
    pub subject_id: Option<String>,
    pub application_id: Option<String>,
    pub since: Option<UnixTime>,
    pub until: Option<UnixTime>,
    /// Only events older than this one, by (time, id): the page after a previous one.
    pub before: Option<(UnixTime, String)>,
}

pub async fn insert(db: &Database, row: AuditEventRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(audit_events::table).values(row).execute(conn)?;
        Ok(())
    })
    .await
}

/// Up to `limit` events matching `filter`, newest first.
pub async fn list(db: &Database, filter: AuditFilter, limit: i64) -> StoreResult<Vec<AuditEventRow>> {
    db.run(move |conn| {
        let mut query = audit_events::table.select(AuditEventRow::as_select()).into_boxed();
        if let Some(kind) = filter.kind {
            query = query.filter(audit_events::kind.eq(kind));
        }
        if let Some(actor) = filter.actor_id {
            query = query.filter(audit_events::actor_id.eq(actor));
        }
        if let Some(subject) = filter.subject_id {
            query = query.filter(audit_events::subject_id.eq(subject));
        }
        if let Some(application) = filter.application_id {
            query = query.filter(audit_events::application_id.eq(application));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_events::occurred_at.ge(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_events::occurred_at.lt(until));
        }
        if let Some((at, id)) = filter.before {
            query = query.filter(
                audit_events::occurred_at
                    .lt(at)
                    .or(audit_events::occurred_at.eq(at).and(audit_events::id.lt(id))),
            );
        }
        Ok(query
            .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
            .limit(limit)
            .load(conn)?)
    })
    .await
}
