//! The `totp_factors` table: one authenticator per account, pending until a first code confirms it, with
//! the last time step accepted so no code is used twice. Confirming also stores the recovery codes.

use diesel::prelude::*;

use super::schema::{recovery_codes, totp_factors};
use super::{Database, DbConnection, StoreError, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_factors)]
pub struct TotpFactorRow {
    pub user_id: String,
    /// The seed, sealed (see `tokens::sealing`).
    pub secret: String,
    pub created_at: UnixTime,
    pub confirmed_at: Option<UnixTime>,
    pub last_used_step: i64,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = recovery_codes)]
pub struct NewRecoveryCode {
    pub id: String,
    pub user_id: String,
    pub code_hash: String,
    pub created_at: UnixTime,
}

pub async fn find(db: &Database, user_id: String) -> StoreResult<Option<TotpFactorRow>> {
    db.run(move |conn| {
        Ok(totp_factors::table
            .find(user_id)
            .select(TotpFactorRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Stores a pending authenticator, replacing an earlier pending one. Returns `false`, storing nothing, when
/// the account already has a confirmed one.
pub async fn start(db: &Database, row: TotpFactorRow) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let confirmed: i64 = totp_factors::table
                .filter(totp_factors::user_id.eq(&row.user_id))
                .filter(totp_factors::confirmed_at.is_not_null())
                .count()
                .get_result(conn)?;
            if confirmed > 0 {
                return Ok(false);
            }
            diesel::delete(totp_factors::table.find(&row.user_id)).execute(conn)?;
            diesel::insert_into(totp_factors::table).values(&row).execute(conn)?;
            Ok(true)
        })
    })
    .await
}

/// Confirms the pending authenticator with the step of its first code, and stores the recovery codes, in one
/// transaction. Returns `false` when there was nothing pending (or it was confirmed meanwhile).
pub async fn confirm(
    db: &Database,
    user_id: String,
    step: i64,
    codes: Vec<NewRecoveryCode>,
    now: UnixTime,
) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let confirmed = diesel::update(
                totp_factors::table
                    .find(&user_id)
                    .filter(totp_factors::confirmed_at.is_null()),
            )
            .set((
                totp_factors::confirmed_at.eq(now),
                totp_factors::last_used_step.eq(step),
            ))
            .execute(conn)?;
            if confirmed == 0 {
                return Ok(false);
            }
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id))).execute(conn)?;
            insert_recovery_codes(conn, &codes)?;
            Ok(true)
        })
    })
    .await
}

/// Spends time step `step` of a confirmed authenticator: succeeds only if no code of this or a later step was
/// accepted before. One conditional update, so of concurrent submissions exactly one wins.
pub async fn use_step(db: &Database, user_id: String, step: i64) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            totp_factors::table
                .find(user_id)
                .filter(totp_factors::confirmed_at.is_not_null())
                .filter(totp_factors::last_used_step.lt(step)),
        )
        .set(totp_factors::last_used_step.eq(step))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Removes the authenticator and the recovery codes.
pub async fn remove(db: &Database, user_id: String) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id))).execute(conn)?;
            diesel::delete(totp_factors::table.find(&user_id)).execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// Replaces the recovery codes.
pub async fn replace_recovery_codes(db: &Database, user_id: String, codes: Vec<NewRecoveryCode>) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id))).execute(conn)?;
            insert_recovery_codes(conn, &codes)?;
            Ok(())
        })
    })
    .await
}

/// Spends a recovery code: succeeds once per code.
pub async fn use_recovery_code(db: &Database, user_id: String, code_hash: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            recovery_codes::table
                .filter(recovery_codes::user_id.eq(user_id))
                .filter(recovery_codes::code_hash.eq(code_hash))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// How many recovery codes are left.
pub async fn recovery_codes_left(db: &Database, user_id: String) -> StoreResult<i64> {
    db.run(move |conn| {
        Ok(recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(conn)?)
    })
    .await
}

/// One statement per code: batch inserts are not available through the two-backend connection.
fn insert_recovery_codes(conn: &mut DbConnection, codes: &[NewRecoveryCode]) -> StoreResult<()> {
    for code in codes {
        diesel::insert_into(recovery_codes::table).values(code).execute(conn)?;
    }
    Ok(())
}
