//! The `signing_keys` table: RSA, P-256 and Ed25519 keys (private part sealed when a secret key is
//! configured), their public components, and their schedule — when each starts signing and when it was
//! retired. Each algorithm has its own timeline.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{Database, DbConnection, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One signing key as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    /// PKCS#8 DER, sealed (`v1:`…) or plain (`plain:`…), base64url.
    pub private_key: String,
    /// The first public component, base64url: RSA's modulus `n`, or P-256's / Ed25519's `x`.
    pub public_n: String,
    /// The second, base64url: RSA's exponent `e`, P-256's `y`, or empty for Ed25519.
    pub public_e: String,
    pub created_at: UnixTime,
    /// When the next key took (or takes) over; published for a while after.
    pub retired_at: Option<UnixTime>,
    /// When the key starts signing; published from its creation.
    pub activates_at: UnixTime,
}

/// Serialises automatic rotations of several instances on one PostgreSQL.
const ROTATION_LOCK_ID: i64 = 0x7e55_e7a1;

/// Every key, newest first.
pub async fn list(db: &Database) -> StoreResult<Vec<SigningKeyRow>> {
    db.run(|conn| Ok(load_all(conn)?)).await
}

fn load_all(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order((signing_keys::created_at.desc(), signing_keys::kid.asc()))
        .select(SigningKeyRow::as_select())
        .load(conn)
}

/// Stores `key`, which signs from its `activates_at`; every key of its algorithm that would still sign then
/// retires at that moment (the active one, and a scheduled one it replaces).
pub async fn insert_scheduled(db: &Database, key: SigningKeyRow) -> StoreResult<()> {
    db.write(move |conn| conn.transaction::<_, StoreError, _>(|conn| schedule(conn, &key)))
        .await
}

fn schedule(conn: &mut DbConnection, key: &SigningKeyRow) -> Result<(), StoreError> {
    diesel::insert_into(signing_keys::table).values(key).execute(conn)?;
    diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.ne(&key.kid))
            .filter(signing_keys::algorithm.eq(&key.algorithm))
            .filter(
                signing_keys::retired_at
                    .is_null()
                    .or(signing_keys::retired_at.gt(key.activates_at)),
            ),
    )
    .set(signing_keys::retired_at.eq(key.activates_at))
    .execute(conn)?;
    Ok(())
}

/// Stores `key` as [`insert_scheduled`] does, but only if the newest key of its algorithm (a scheduled one
/// included) started signing at `due_before` or earlier — checked under a lock, so of several instances due at once exactly one
/// rotates. Returns whether `key` was stored.
pub async fn insert_if_due(db: &Database, key: SigningKeyRow, due_before: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            match conn {
                DbConnection::Postgres(pg) => {
                    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({ROTATION_LOCK_ID})")).execute(pg)?;
                }
                // A write takes SQLite's lock now, not at the insert, so no other process reads in between.
                DbConnection::Sqlite(sqlite) => {
                    diesel::update(signing_keys::table.filter(signing_keys::kid.eq("")))
                        .set(signing_keys::kid.eq(""))
                        .execute(sqlite)?;
                }
            }
            let newest = load_all(conn)?
                .iter()
                .filter(|row| row.algorithm == key.algorithm)
                .map(|row| row.activates_at)
                .max();
            if newest.is_some_and(|at| at > due_before) {
                return Ok(false);
            }
            schedule(conn, &key)?;
            Ok(true)
        })
    })
    .await
}
