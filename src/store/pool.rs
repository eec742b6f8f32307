//! The connection pool: deadpool over blocking diesel connections, one explicit variant per URL scheme.

use std::sync::Arc;
use std::time::Duration;

use deadpool::Runtime;
use deadpool::managed::{self, Metrics, Pool, RecycleError, RecycleResult};
use deadpool_sync::{InteractError, SyncWrapper};
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};

use super::{DatabaseUrl, DbConnection, IDLE_CHECK_AFTER, StoreError, StoreResult};

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    /// SQLite admits one writer at a time and makes the others sleep and retry; queueing this process's
    /// writers here instead keeps write latency even. `None` for PostgreSQL.
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Connections that may hold an advisory lock at once: half the pool, so that the holders always find a
    /// connection for their own queries (a holder that waited for one held by another waiter would deadlock).
    lock_holders: Arc<tokio::sync::Semaphore>,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("status", &self.pool.status()).finish()
    }
}

/// The pool's connections by state, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open and waiting to be used.
    pub idle: usize,
    /// Lent out to a query.
    pub in_use: usize,
}

impl Database {
    /// How many connections are idle and in use now.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            idle: status.available,
            in_use: status.size.saturating_sub(status.available),
        }
    }

    /// Opens a pool (lazily: connections are made on first use) to the database `url` names.
    pub fn connect(url: &str, max_connections: usize, acquire_timeout: Duration) -> StoreResult<Self> {
        let url = DatabaseUrl::parse(url)?;
        let writer = match &url {
            DatabaseUrl::Sqlite(path) => {
                prepare_sqlite_file(path)?;
                Some(Arc::new(tokio::sync::Mutex::new(())))
            }
            DatabaseUrl::Postgres(_) => None,
        };
        let busy_timeout = acquire_timeout;
        let pool = Pool::builder(ConnectionManager { url, busy_timeout })
            .max_size(max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(acquire_timeout))
            .create_timeout(Some(acquire_timeout))
            .build()
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        Ok(Self {
            pool,
            writer,
            lock_holders: Arc::new(tokio::sync::Semaphore::new(max_connections / 2)),
            acquire_timeout,
        })
    }

    /// Whether this is a PostgreSQL database (several instances may share it), not a SQLite file.
    pub fn is_postgres(&self) -> bool {
        self.writer.is_none()
    }

    /// Runs `f` on a pooled connection in a blocking task. A connection that turned out to be lost leaves the
    /// pool, so the next request opens a fresh one instead of failing on the same dead socket.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut DbConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(inner) => inner,
            other => StoreError::Unavailable(other.to_string()),
        })?;
        let result = match conn.interact(f).await {
            Ok(result) => result,
            Err(InteractError::Panic(_)) => Err(StoreError::Panicked),
            Err(InteractError::Cancelled) => Err(StoreError::Unavailable("the database task was cancelled".into())),
        };
        if matches!(result, Err(StoreError::Unavailable(_))) {
            drop(managed::Object::take(conn));
        }
        result
    }

    /// Runs `f`, which writes, on a pooled connection: like [`Database::run`], one writer at a time on SQLite.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut DbConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let _turn = match &self.writer {
            Some(writer) => Some(writer.lock().await),
            None => None,
        };
        self.run(f).await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.run(ping).await
    }

    /// On PostgreSQL, waits for the session-level advisory lock named by `name` (every instance names it alike)
    /// and holds it, and a connection, until the guard drops. On SQLite there is one process, and a pool of one
    /// connection cannot spare one to hold a lock: `None`. At most half the pool holds locks at once.
    pub async fn advisory_lock(&self, name: String) -> StoreResult<Option<AdvisoryLock>> {
        if !self.is_postgres() || self.pool.status().max_size < 2 {
            return Ok(None);
        }
        let permit = tokio::time::timeout(self.acquire_timeout, self.lock_holders.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable("no connection was free to hold a lock".into()))?
            .map_err(|_| StoreError::Unavailable("the lock holders are closed".into()))?;
        let conn = self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(inner) => inner,
            other => StoreError::Unavailable(other.to_string()),
        })?;
        let lock_name = name.clone();
        let locked = conn
            .interact(move |c| match c {
                DbConnection::Postgres(pg) => diesel::sql_query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
                    .bind::<diesel::sql_types::Text, _>(lock_name)
                    .execute(pg)
                    .map(|_| ())
                    .map_err(StoreError::from),
                DbConnection::Sqlite(_) => Ok(()),
            })
            .await;
        match locked {
            Ok(Ok(())) => Ok(Some(AdvisoryLock {
                conn: Some(conn),
                name,
                permit: Some(permit),
            })),
            Ok(Err(e)) => {
                drop(managed::Object::take(conn));
                Err(e)
            }
            Err(_) => {
                drop(managed::Object::take(conn));
                Err(StoreError::Unavailable("the database task was cancelled".into()))
            }
        }
    }
}

/// A held PostgreSQL advisory lock. Dropping it releases the lock on its connection, which goes back to the
/// pool; when that cannot be done the connection is closed, which releases the lock too.
pub struct AdvisoryLock {
    conn: Option<managed::Object<ConnectionManager>>,
    name: String,
    /// Given back once the connection is.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            drop(managed::Object::take(conn));
            return;
        };
        let name = std::mem::take(&mut self.name);
        let permit = self.permit.take();
        runtime.spawn(async move {
            let released = conn
                .interact(move |c| match c {
                    DbConnection::Postgres(pg) => {
                        diesel::sql_query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                            .bind::<diesel::sql_types::Text, _>(name)
                            .execute(pg)
                            .is_ok()
                    }
                    DbConnection::Sqlite(_) => true,
                })
                .await;
            if !matches!(released, Ok(true)) {
                drop(managed::Object::take(conn));
            }
            drop(permit);
        });
    }
}

fn ping(conn: &mut DbConnection) -> StoreResult<()> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// Creates the SQLite file's directory, and the file itself readable by its owner only: it holds keys.
fn prepare_sqlite_file(path: &str) -> StoreResult<()> {
    let path = std::path::Path::new(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Connect(format!("cannot create {}: {e}", dir.display())))?;
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(StoreError::Connect(format!("cannot create {}: {e}", path.display())));
            }
        }
    }
    Ok(())
}

/// Makes connections for the pool and checks them on the way back out.
pub(super) struct ConnectionManager {
    url: DatabaseUrl,
    /// How long a SQLite writer waits for another process's lock: as long as a request waits for a connection.
    busy_timeout: Duration,
}

impl managed::Manager for ConnectionManager {
    type Type = SyncWrapper<DbConnection>;
    type Error = StoreError;

    async fn create(&self) -> Result<Self::Type, Self::Error> {
        let (url, busy_timeout) = (self.url.clone(), self.busy_timeout);
        SyncWrapper::new(Runtime::Tokio1, move || establish(&url, busy_timeout)).await
    }

    async fn recycle(&self, conn: &mut Self::Type, metrics: &Metrics) -> RecycleResult<Self::Error> {
        if conn.is_mutex_poisoned() {
            return Err(RecycleError::message("a query panicked on this connection"));
        }
        let broken = match conn.try_lock() {
            Ok(mut guard) => {
                let c: &mut DbConnection = &mut guard;
                <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(c)
            }
            Err(_) => true,
        };
        if broken {
            return Err(RecycleError::message("connection left inside a transaction"));
        }
        // A server-side connection may have died while idle; an embedded SQLite file cannot.
        if matches!(self.url, DatabaseUrl::Postgres(_)) && metrics.last_used() > IDLE_CHECK_AFTER {
            conn.interact(ping)
                .await
                .map_err(|e| RecycleError::message(e.to_string()))?
                .map_err(RecycleError::Backend)?;
        }
        Ok(())
    }
}

/// Opens one connection. Failing to reach the database is `Unavailable` (a 503 that heals by itself), not a
/// fault in the request.
fn establish(url: &DatabaseUrl, busy_timeout: Duration) -> StoreResult<DbConnection> {
    let unreachable = |e: diesel::ConnectionError| StoreError::Unavailable(super::one_line(&e.to_string()));
    match url {
        DatabaseUrl::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(path).map_err(unreachable)?;
            // WAL lets readers run beside the one writer; a writer waits for another process's lock as long as
            // a request waits for a connection.
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                busy_timeout.as_millis()
            ))?;
            Ok(DbConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(url) => PgConnection::establish(url)
            .map(DbConnection::Postgres)
            .map_err(unreachable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_decides_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/t.db").unwrap(),
            DatabaseUrl::Sqlite("data/t.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/t.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/t.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/d").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        for bad in ["data/t.db", "mysql://x", "sqlite://", "sqlite://x.db?mode=memory"] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
