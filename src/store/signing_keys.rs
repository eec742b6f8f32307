//! The `signing_keys` table: RSA keys (private part sealed when a secret key is configured) and their
//! public components.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One signing key as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    /// PKCS#8 DER, sealed (`v1:`…) or plain (`plain:`…), base64url.
    pub private_key: String,
    /// RSA modulus, base64url.
    pub public_n: String,
    /// RSA public exponent, base64url.
    pub public_e: String,
    pub created_at: UnixTime,
    pub retired_at: Option<UnixTime>,
}

/// Every key, newest first.
pub async fn list(db: &Database) -> StoreResult<Vec<SigningKeyRow>> {
    db.run(|conn| {
        Ok(signing_keys::table
            .order((signing_keys::created_at.desc(), signing_keys::kid.asc()))
            .select(SigningKeyRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Stores `key` as the active key and retires every other active key at `now`.
pub async fn insert_active(db: &Database, key: SigningKeyRow, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::insert_into(signing_keys::table).values(&key).execute(conn)?;
            diesel::update(
                signing_keys::table
                    .filter(signing_keys::retired_at.is_null())
                    .filter(signing_keys::kid.ne(&key.kid)),
            )
            .set(signing_keys::retired_at.eq(now))
            .execute(conn)?;
            Ok(())
        })
    })
    .await
}
