//! The `mfa_challenges` table: a sign-in that passed the password and waits for its second factor. The
//! `mfa_token` naming it is stored as a hash; it is single use, short-lived, and counts wrong codes.

use diesel::prelude::*;

use super::schema::{mfa_challenges, users};
use super::users::User;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_challenges)]
pub struct MfaChallengeRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    /// The application a REST sign-in is for.
    pub application_id: Option<String>,
    /// The browser a page sign-in happens in (its CSRF binding).
    pub browser_binding: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub attempts: i32,
    pub consumed_at: Option<UnixTime>,
}

pub async fn insert(db: &Database, row: MfaChallengeRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(mfa_challenges::table).values(&row).execute(conn)?;
        Ok(())
    })
    .await
}

/// The challenge with this token hash and its account.
pub async fn find_by_hash(db: &Database, token_hash: String) -> StoreResult<Option<(MfaChallengeRow, User)>> {
    db.run(move |conn| {
        Ok(mfa_challenges::table
            .inner_join(users::table)
            .filter(mfa_challenges::token_hash.eq(token_hash))
            .select((MfaChallengeRow::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// Counts a wrong code; once `max` are spent the challenge is void.
pub async fn record_attempt(db: &Database, id: String, max: i32, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(mfa_challenges::table.find(&id))
            .set(mfa_challenges::attempts.eq(mfa_challenges::attempts + 1))
            .execute(conn)?;
        diesel::update(
            mfa_challenges::table
                .find(&id)
                .filter(mfa_challenges::attempts.ge(max))
                .filter(mfa_challenges::consumed_at.is_null()),
        )
        .set(mfa_challenges::consumed_at.eq(now))
        .execute(conn)?;
        Ok(())
    })
    .await
}

/// Spends the challenge: succeeds once.
pub async fn consume(db: &Database, id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            mfa_challenges::table
                .find(id)
                .filter(mfa_challenges::consumed_at.is_null()),
        )
        .set(mfa_challenges::consumed_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}
