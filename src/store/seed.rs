//! Bulk rows for measurements: accounts, their token families and refresh tokens, and revoked token ids,
//! written many to a statement and many statements to a transaction — the way a large deployment's tables
//! grow, without going through the API (which would spend an argon2 hash on every account).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::refresh_tokens::NewRefreshToken;
use super::schema::{refresh_tokens, revoked_tokens, sessions, users};
use super::sessions::NewSession;
use super::users::NewUser;
use super::{Database, DbConnection, StoreError, StoreResult};
use crate::clock::UnixTime;

/// Rows a statement carries: below SQLite's and PostgreSQL's bound on parameters for the widest table here
/// (13 columns × 1,000 = 13,000; SQLite allows 32,766, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 1_000;

/// The batch's rows on `$conn`, a backend's own connection.
macro_rules! insert_rows {
    ($conn:expr, $batch:expr) => {{
        for chunk in $batch.users.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(users::table).values(chunk).execute($conn)?;
        }
        for chunk in $batch.sessions.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(sessions::table).values(chunk).execute($conn)?;
        }
        for chunk in $batch.refresh_tokens.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(refresh_tokens::table)
                .values(chunk)
                .execute($conn)?;
        }
        for chunk in $batch.revoked.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(jti, expires_at)| {
                    (
                        revoked_tokens::jti.eq(jti.as_str()),
                        revoked_tokens::expires_at.eq(*expires_at),
                    )
                })
                .collect();
            diesel::insert_into(revoked_tokens::table).values(rows).execute($conn)?;
        }
    }};
}

/// One batch of rows, written in one transaction.
#[derive(Debug, Default)]
pub struct SeedBatch {
    pub users: Vec<NewUser>,
    pub sessions: Vec<NewSession>,
    pub refresh_tokens: Vec<NewRefreshToken>,
    /// Revoked access-token ids with when their tokens expire.
    pub revoked: Vec<(String, UnixTime)>,
}

/// Writes `batch` in one transaction (accounts first, then what refers to them).
pub async fn insert(db: &Database, batch: SeedBatch) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            // Multi-row inserts of rows with optional columns need the backend's own connection: through the
            // two-backend connection diesel cannot tell whether to write DEFAULT (PostgreSQL) or one
            // statement a row (SQLite). The same statements are written for both.
            match conn {
                DbConnection::Postgres(conn) => insert_rows!(conn, batch),
                DbConnection::Sqlite(conn) => insert_rows!(conn, batch),
            }
            Ok(())
        })
    })
    .await
}

/// How many accounts there are: where a seed run resumes numbering.
pub async fn count_users(db: &Database) -> StoreResult<i64> {
    db.run(|conn| Ok(users::table.count().get_result(conn)?)).await
}

/// Brings the database to the state of one in service after a bulk load: the planner's statistics refreshed
/// and, on PostgreSQL, the new rows vacuumed — otherwise autovacuum would work through them (a gigabyte at a
/// million accounts) during the measurements that follow.
pub async fn settle(db: &Database) -> StoreResult<()> {
    db.write(|conn| {
        let statement = match conn {
            DbConnection::Postgres(_) => "VACUUM ANALYZE",
            DbConnection::Sqlite(_) => "ANALYZE",
        };
        Ok(conn.batch_execute(statement)?)
    })
    .await
}
