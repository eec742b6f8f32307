//! The `one_time_codes` table: codes sent by SMS or e-mail, as hashes, each bound to a purpose and to what it
//! was sent for (a sign-in, an address, a number). A new code voids the earlier ones of the same purpose.

use diesel::prelude::*;

use super::schema::one_time_codes;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_codes)]
pub struct OneTimeCodeRow {
    pub id: String,
    /// The account the code is for; `None` for a code sign-in to an address or number without an account yet.
    pub user_id: Option<String>,
    /// `mfa`, `verify_email` or `verify_phone`.
    pub purpose: String,
    /// What the code is for: the sign-in challenge's id, or the address or number being verified.
    pub binding: String,
    /// `sms` or `email`.
    pub channel: String,
    pub destination: String,
    pub code_hash: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub attempts: i32,
    pub consumed_at: Option<UnixTime>,
}

/// Stores a new code, voiding every live code of the same account (or, without one, the same binding) and
/// purpose.
pub async fn insert_replacing(db: &Database, row: OneTimeCodeRow) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let live = one_time_codes::table
                .filter(one_time_codes::purpose.eq(&row.purpose))
                .filter(one_time_codes::consumed_at.is_null());
            let voided = one_time_codes::consumed_at.eq(row.created_at);
            match &row.user_id {
                Some(user_id) => diesel::update(live.filter(one_time_codes::user_id.eq(user_id)))
                    .set(voided)
                    .execute(conn)?,
                None => diesel::update(live.filter(one_time_codes::binding.eq(&row.binding)))
                    .set(voided)
                    .execute(conn)?,
            };
            diesel::insert_into(one_time_codes::table).values(&row).execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// The newest code of a purpose (live or not) for an account, or for a binding, or both.
pub async fn latest(
    db: &Database,
    user_id: Option<String>,
    purpose: &'static str,
    binding: Option<String>,
) -> StoreResult<Option<OneTimeCodeRow>> {
    db.run(move |conn| {
        let mut query = one_time_codes::table
            .filter(one_time_codes::purpose.eq(purpose))
            .into_boxed();
        if let Some(user_id) = user_id {
            query = query.filter(one_time_codes::user_id.eq(user_id));
        }
        if let Some(binding) = binding {
            query = query.filter(one_time_codes::binding.eq(binding));
        }
        Ok(query
            .order((one_time_codes::created_at.desc(), one_time_codes::id.desc()))
            .select(OneTimeCodeRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// The newest code of a purpose sent to `destination` (live or not).
pub async fn latest_to(
    db: &Database,
    purpose: &'static str,
    destination: String,
) -> StoreResult<Option<OneTimeCodeRow>> {
    db.run(move |conn| {
        Ok(one_time_codes::table
            .filter(one_time_codes::destination.eq(destination))
            .filter(one_time_codes::purpose.eq(purpose))
            .order((one_time_codes::created_at.desc(), one_time_codes::id.desc()))
            .select(OneTimeCodeRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Counts a wrong guess; once `max` are spent the code is void.
pub async fn record_attempt(db: &Database, id: String, max: i32, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(one_time_codes::table.find(&id))
            .set(one_time_codes::attempts.eq(one_time_codes::attempts + 1))
            .execute(conn)?;
        diesel::update(
            one_time_codes::table
                .find(&id)
                .filter(one_time_codes::attempts.ge(max))
                .filter(one_time_codes::consumed_at.is_null()),
        )
        .set(one_time_codes::consumed_at.eq(now))
        .execute(conn)?;
        Ok(())
    })
    .await
}

/// Spends a code: succeeds once.
pub async fn consume(db: &Database, id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            one_time_codes::table
                .find(id)
                .filter(one_time_codes::consumed_at.is_null()),
        )
        .set(one_time_codes::consumed_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}
