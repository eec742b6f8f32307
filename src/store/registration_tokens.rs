//! The `registration_tokens` table (RFC 7591 §3): initial access tokens an administrator hands out for
//! registering clients in one application. Only their SHA-256 is stored. A registration spends one use with a
//! single conditional update, so a token with one use left registers one client however many try at once.

use diesel::prelude::*;

use super::schema::registration_tokens;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One initial access token as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = registration_tokens)]
pub struct RegistrationTokenRow {
    pub id: String,
    pub token_hash: String,
    pub application_id: String,
    pub description: String,
    /// Registrations it may still make; `None`: any number until it expires.
    pub uses_left: Option<i64>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// Stores a new token.
pub async fn insert(db: &Database, row: RegistrationTokenRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(registration_tokens::table)
            .values(&row)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Every token, newest first.
pub async fn list(db: &Database) -> StoreResult<Vec<RegistrationTokenRow>> {
    db.run(|conn| {
        Ok(registration_tokens::table
            .order((registration_tokens::created_at.desc(), registration_tokens::id.desc()))
            .select(RegistrationTokenRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Revokes a token not yet revoked; whether there was one.
pub async fn revoke(db: &Database, id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let revoked = diesel::update(
            registration_tokens::table
                .find(id)
                .filter(registration_tokens::revoked_at.is_null()),
        )
        .set(registration_tokens::revoked_at.eq(now))
        .execute(conn)?;
        Ok(revoked == 1)
    })
    .await
}

/// Spends one use of the live token whose hash is `token_hash` (not revoked, not expired, a use left) and
/// returns it; `None` when there is no such token. One update decides.
pub async fn spend(db: &Database, token_hash: String, now: UnixTime) -> StoreResult<Option<RegistrationTokenRow>> {
    db.write(move |conn| {
        let live = registration_tokens::table
            .filter(registration_tokens::token_hash.eq(&token_hash))
            .filter(registration_tokens::revoked_at.is_null())
            .filter(registration_tokens::expires_at.gt(now))
            .filter(
                registration_tokens::uses_left
                    .is_null()
                    .or(registration_tokens::uses_left.gt(0)),
            );
        Ok(diesel::update(live)
            .set(registration_tokens::uses_left.eq(registration_tokens::uses_left - 1))
            .returning(registration_tokens::all_columns)
            .get_result::<RegistrationTokenRow>(conn)
            .optional()?)
    })
    .await
}

/// Gives back the use `spend` took, for a registration that was then refused.
pub async fn give_back(db: &Database, id: String) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(registration_tokens::table.find(id))
            .set(registration_tokens::uses_left.eq(registration_tokens::uses_left + 1))
            .execute(conn)?;
        Ok(())
    })
    .await
}
