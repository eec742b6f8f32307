//! Persistence: the only module that speaks diesel. One connection type covers SQLite and PostgreSQL; every
//! query runs on a pooled connection inside a blocking task, one store function per query or transaction.

pub mod api_keys;
pub mod applications;
pub mod audit_events;
pub mod authorization_codes;
pub mod authorization_requests;
pub mod backchannel_logouts;
pub mod browser_sessions;
pub mod changes;
pub mod client_registrations;
pub mod clients;
pub mod consents;
pub mod device_authorizations;
pub mod external_identities;
pub mod federation_logins;
pub mod identity_providers;
pub mod invitations;
pub mod members;
mod migrate;
pub mod one_time_codes;
pub mod passkeys;
mod pool;
pub mod private_tokens;
pub mod prune;
pub mod pushed_requests;
pub mod rate_limits;
pub mod refresh_tokens;
pub mod registration_tokens;
pub mod replay_markers;
pub mod revoked_tokens;
pub mod schema;
pub mod seed;
pub mod sessions;
pub mod sign_in_flows;
pub mod signing_keys;
pub mod totp_factors;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub use pool::{AdvisoryLock, Database, PoolStatus};

/// A connection to either backend; the variant is chosen from the URL scheme, never guessed.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database the URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path (relative to the working directory, or absolute with `sqlite:///…`).
    Sqlite(String),
    /// A libpq connection URL.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `sqlite://path` or `postgres://…` / `postgresql://…`; any other scheme is refused.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains('?') {
                return Err(StoreError::Connect(
                    "a SQLite URL names a file: sqlite://data/tessera.db or sqlite:///var/lib/tessera.db".into(),
                ));
            }
            Ok(Self::Sqlite(path.to_owned()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err(StoreError::Connect(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had (pool exhausted, server down, connection lost).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint refused the write; the text names the constraint or column.
    #[error("duplicate value: {0}")]
    Duplicate(String),
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Connect(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Stored data could not be understood.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A query panicked: a fault in Tessera, not in the database.
    #[error("a database task panicked")]
    Panicked,
    /// Any other database error.
    #[error("database error: {0}")]
    Query(DieselError),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Self::Duplicate(format!(
                "{} {}",
                info.constraint_name().unwrap_or_default(),
                info.message()
            )),
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(one_line(info.message())),
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) if means_unavailable(info.message()) => {
                Self::Unavailable(one_line(info.message()))
            }
            other => Self::Query(other),
        }
    }
}

/// Messages of errors that say the database cannot serve right now (it is restarting, shutting down, or —
/// SQLite — another process holds the write lock past the busy timeout), not that the query was wrong.
fn means_unavailable(message: &str) -> bool {
    const SIGNS: &[&str] = &[
        "terminating connection",
        "server closed the connection",
        "the database system is",
        "no connection to the server",
        "could not receive data from server",
        "database is locked",
        "database table is locked",
    ];
    let message = message.to_ascii_lowercase();
    SIGNS.iter().any(|sign| message.contains(sign))
}

/// A driver message on one line: libpq's carry newlines and tabs that would split a log line.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// How long a pooled PostgreSQL connection may sit idle before it is checked with a query on checkout.
pub(crate) const IDLE_CHECK_AFTER: Duration = Duration::from_secs(30);
