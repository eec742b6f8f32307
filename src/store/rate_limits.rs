//! Rate-limit state shared by every instance on one PostgreSQL database: a token bucket is refilled, spent and
//! read back in one atomic statement; a sliding window's events are counted and added under a transaction-scoped
//! advisory lock on its key, so two instances never both take the last place. (SQLite serves one process, which
//! counts in memory.)

use diesel::sql_types::{BigInt, Double, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::{Database, DbConnection, StoreError, StoreResult};

/// A bucket after a take: its tokens left (refilled, less those taken) and how many were taken.
#[derive(Debug, QueryableByName)]
pub struct BucketState {
    #[diesel(sql_type = Double)]
    pub tokens: f64,
    #[diesel(sql_type = BigInt)]
    pub taken: i64,
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Double)]
    tokens: f64,
    #[diesel(sql_type = BigInt)]
    updated_ms: i64,
}

#[derive(QueryableByName)]
struct Event {
    #[diesel(sql_type = BigInt)]
    at_ms: i64,
}

/// Refills the bucket `key` (`capacity` tokens, `per_ms` a millisecond) to `now_ms` and takes up to `want` whole
/// tokens from it, in one statement. A new bucket starts full.
pub async fn take_tokens(
    db: &Database,
    key: String,
    capacity: f64,
    per_ms: f64,
    now_ms: i64,
    want: i64,
) -> StoreResult<BucketState> {
    db.run(move |conn| {
        let DbConnection::Postgres(pg) = conn else {
            return Err(StoreError::Unavailable("shared rate limits need PostgreSQL".into()));
        };
        let refilled = "LEAST($2, b.tokens + GREATEST($4 - b.updated_ms, 0) * $3)";
        let sql = format!(
            "INSERT INTO rate_buckets AS b (key, tokens, updated_ms, taken) \
               VALUES ($1, $2 - LEAST($5, FLOOR($2)), $4, LEAST($5, FLOOR($2))) \
             ON CONFLICT (key) DO UPDATE SET \
               tokens = {refilled} - LEAST($5, FLOOR({refilled})), \
               updated_ms = GREATEST($4, b.updated_ms), \
               taken = LEAST($5, FLOOR({refilled})) \
             RETURNING tokens, taken"
        );
        Ok(diesel::sql_query(sql)
            .bind::<Text, _>(key)
            .bind::<Double, _>(capacity)
            .bind::<Double, _>(per_ms)
            .bind::<BigInt, _>(now_ms)
            .bind::<BigInt, _>(want)
            .get_result::<BucketState>(pg)?)
    })
    .await
}

/// The tokens of the bucket `key` refilled to `now_ms`, without spending any (`capacity` for a new one).
pub async fn peek_tokens(db: &Database, key: String, capacity: f64, per_ms: f64, now_ms: i64) -> StoreResult<f64> {
    db.run(move |conn| {
        let DbConnection::Postgres(pg) = conn else {
            return Err(StoreError::Unavailable("shared rate limits need PostgreSQL".into()));
        };
        let stored = diesel::sql_query("SELECT tokens, updated_ms FROM rate_buckets WHERE key = $1")
            .bind::<Text, _>(key)
            .get_results::<Stored>(pg)?;
        Ok(stored.first().map_or(capacity, |b| {
            (b.tokens + (now_ms - b.updated_ms).max(0) as f64 * per_ms).min(capacity)
        }))
    })
    .await
}

/// The events of the window `key` (`window_ms` long) up to `now_ms`, oldest first — after adding one now when
/// `count` and fewer than `max` are in it. Returns them and whether there was room.
pub async fn window_events(
    db: &Database,
    key: String,
    max: u32,
    window_ms: i64,
    now_ms: i64,
    count: bool,
) -> StoreResult<(Vec<i64>, bool)> {
    db.run(move |conn| {
        let DbConnection::Postgres(pg) = conn else {
            return Err(StoreError::Unavailable("shared rate limits need PostgreSQL".into()));
        };
        pg.transaction::<_, StoreError, _>(|pg| {
            if count {
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                    .bind::<Text, _>(&key)
                    .execute(pg)?;
            }
            let mut events: Vec<i64> =
                diesel::sql_query("SELECT at_ms FROM rate_events WHERE key = $1 AND at_ms > $2 ORDER BY at_ms")
                    .bind::<Text, _>(&key)
                    .bind::<BigInt, _>(now_ms - window_ms)
                    .get_results::<Event>(pg)?
                    .into_iter()
                    .map(|e| e.at_ms)
                    .collect();
            let room = events.len() < max as usize;
            if room && count {
                diesel::sql_query("INSERT INTO rate_events (key, at_ms, expires_ms) VALUES ($1, $2, $3)")
                    .bind::<Text, _>(&key)
                    .bind::<BigInt, _>(now_ms)
                    .bind::<BigInt, _>(now_ms + window_ms)
                    .execute(pg)?;
                events.push(now_ms);
            }
            Ok((events, room))
        })
    })
    .await
}

/// Forgets buckets untouched for a minute (refilled completely) and events out of their window.
pub async fn prune(db: &Database, now_ms: i64) -> StoreResult<()> {
    db.run(move |conn| {
        let DbConnection::Postgres(pg) = conn else {
            return Ok(());
        };
        diesel::sql_query("DELETE FROM rate_buckets WHERE updated_ms < $1")
            .bind::<BigInt, _>(now_ms - 60_000)
            .execute(pg)?;
        diesel::sql_query("DELETE FROM rate_events WHERE expires_ms <= $1")
            .bind::<BigInt, _>(now_ms)
            .execute(pg)?;
        Ok(())
    })
    .await
}
