//! Embedded schema migrations, one folder per backend with identical names.

use diesel::RunQueryDsl;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Database, DbConnection, StoreError, StoreResult};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises migration runs of several instances starting at once on one PostgreSQL.
const MIGRATION_LOCK_ID: i64 = 0x7e55_e7a0;

impl Database {
    /// Applies every pending migration and returns the names of those applied.
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        self.write(|conn| match conn {
            DbConnection::Sqlite(c) => apply(c, SQLITE_MIGRATIONS),
            DbConnection::Postgres(c) => {
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})")).execute(c)?;
                let applied = apply(c, POSTGRES_MIGRATIONS);
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})")).execute(c)?;
                applied
            }
        })
        .await
    }
}

fn apply<C>(conn: &mut C, migrations: EmbeddedMigrations) -> StoreResult<Vec<String>>
where
    C: MigrationHarness<C::Backend> + diesel::Connection,
{
    conn.run_pending_migrations(migrations)
        .map(|done| done.iter().map(ToString::to_string).collect())
        .map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn folder_names(backend: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn migration_folders_are_twins() {
        let sqlite = folder_names("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, folder_names("postgres"));
        for name in &sqlite {
            for file in ["up.sql", "down.sql"] {
                for backend in ["sqlite", "postgres"] {
                    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("migrations")
                        .join(backend)
                        .join(name)
                        .join(file);
                    assert!(path.is_file(), "missing {}", path.display());
                }
            }
        }
    }
}
