//! Reading the log back: a query as an administrator writes it, checked, and one page of what matches.

use super::Kind;
use crate::clock::{UnixTime, parse_rfc3339};
use crate::error::FieldError;
use crate::store::audit_events::{self, AuditEventRow, AuditFilter};
use crate::store::{Database, StoreError};

/// The most events one page holds (and how many when the query does not say).
pub const MAX_LIMIT: i64 = 200;

/// What to read, as asked (the admin API's query string): every field optional, none checked yet.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// An event name such as `sign_in.failed`.
    pub kind: Option<String>,
    /// The id of the account that acted.
    pub actor: Option<String>,
    /// The id of what the event is about (an account, an application, a client, …).
    pub subject: Option<String>,
    /// The id of the application the event happened in.
    pub application: Option<String>,
    /// RFC 3339: only events at or after this time.
    pub since: Option<String>,
    /// RFC 3339: only events before this time.
    pub until: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// A page of the log, newest first.
pub struct Page {
    pub events: Vec<AuditEventRow>,
    /// Where the next page starts, when there may be one.
    pub next: Option<String>,
}

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the query is not valid")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The events `query` asks for, newest first, one page at a time.
pub async fn read(db: &Database, query: Query) -> Result<Page, ReadError> {
    let (filter, limit) = check(query)?;
    let events = audit_events::list(db, filter, limit).await?;
    let next = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| format!("{}.{}", e.occurred_at, e.id)))
        .flatten();
    Ok(Page { events, next })
}

/// The filter and page size `query` means, or every field that is wrong with it.
fn check(query: Query) -> Result<(AuditFilter, i64), ReadError> {
    let mut problems = Vec::new();
    let mut problem = |field: &'static str, message: &str| {
        problems.push(FieldError {
            field,
            message: message.to_owned(),
        })
    };
    if let Some(kind) = &query.kind
        && Kind::parse(kind).is_none()
    {
        problem("kind", "is not an event name (see the README's list)");
    }
    let mut time = |field: &'static str, text: Option<&str>| -> Option<UnixTime> {
        let parsed = text.map(parse_rfc3339);
        if parsed == Some(None) {
            problem(field, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z");
        }
        parsed.flatten()
    };
    let since = time("since", query.since.as_deref());
    let until = time("until", query.until.as_deref());
    let before = query.cursor.as_deref().map(parse_cursor);
    if before == Some(None) {
        problem("cursor", "is not one this log gave");
    }
    let limit = query.limit.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        problem("limit", &format!("must be 1 to {MAX_LIMIT}"));
    }
    if !problems.is_empty() {
        return Err(ReadError::Invalid(problems));
    }
    let filter = AuditFilter {
        kind: query.kind,
        actor_id: query.actor,
        subject_id: query.subject,
        application_id: query.application,
        since,
        until,
        before: before.flatten(),
    };
    Ok((filter, limit))
}

fn parse_cursor(cursor: &str) -> Option<(UnixTime, String)> {
    let (at, id) = cursor.split_once('.')?;
    let at = at.parse().ok()?;
    (!id.is_empty() && id.len() <= 64).then(|| (at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_a_time_and_an_id() {
        assert_eq!(parse_cursor("17.abc"), Some((17, "abc".to_owned())));
        assert_eq!(parse_cursor("x.abc"), None);
        assert_eq!(parse_cursor("17."), None);
        assert_eq!(parse_cursor("17"), None);
    }

    #[test]
    fn every_wrong_field_is_named_at_once() {
        let query = Query {
            kind: Some("sign_in".into()),
            since: Some("yesterday".into()),
            cursor: Some("nope".into()),
            limit: Some(0),
            ..Query::default()
        };
        let Err(ReadError::Invalid(problems)) = check(query) else {
            panic!("the query was accepted");
        };
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["kind", "since", "cursor", "limit"]);
    }

    #[test]
    fn an_empty_query_reads_a_full_page_of_everything() {
        let (filter, limit) = check(Query::default()).unwrap();
        assert_eq!(limit, MAX_LIMIT);
        assert!(filter.kind.is_none() && filter.before.is_none() && filter.since.is_none());
    }
}
