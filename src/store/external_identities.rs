//! The `external_identities` table: an account's identities at upstream OpenID providers, keyed on
//! (issuer, subject) — the only way an upstream sign-in finds its account.

use diesel::prelude::*;

use super::schema::{external_identities, users};
use super::users::{NewUser, User};
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = external_identities)]
pub struct ExternalIdentityRow {
    pub id: String,
    pub user_id: String,
    /// The configured provider it came through.
    pub provider_id: String,
    pub issuer: String,
    pub subject: String,
    /// The address the upstream gave, as it gave it (shown to the account's owner, never used to join).
    pub email: Option<String>,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
}

/// The identity `subject` at `issuer`, and its account.
pub async fn find(db: &Database, issuer: String, subject: String) -> StoreResult<Option<(ExternalIdentityRow, User)>> {
    db.run(move |conn| {
        Ok(external_identities::table
            .inner_join(users::table)
            .filter(external_identities::issuer.eq(issuer))
            .filter(external_identities::subject.eq(subject))
            .select((ExternalIdentityRow::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// Whether the account has an identity at any upstream provider.
pub async fn exists_for_user(db: &Database, user_id: String) -> StoreResult<bool> {
    db.run(move |conn| {
        Ok(diesel::select(diesel::dsl::exists(
            external_identities::table.filter(external_identities::user_id.eq(user_id)),
        ))
        .get_result(conn)?)
    })
    .await
}

/// Links an identity to an existing account; a taken (issuer, subject) gives [`StoreError::Duplicate`]. An
/// identity proves someone: a guest that links one is a guest no more.
pub async fn insert(db: &Database, row: ExternalIdentityRow) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::insert_into(external_identities::table)
                .values(&row)
                .execute(conn)?;
            diesel::update(users::table.find(&row.user_id).filter(users::guest.eq(true)))
                .set((users::guest.eq(false), users::updated_at.eq(row.created_at)))
                .execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// A new account and its first identity, together or not at all.
pub async fn insert_with_account(db: &Database, user: NewUser, row: ExternalIdentityRow) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::insert_into(users::table).values(&user).execute(conn)?;
            diesel::insert_into(external_identities::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// Records a sign-in through the identity.
pub async fn touch(db: &Database, id: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(external_identities::table.find(id))
            .set(external_identities::last_used_at.eq(now))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// An account's identities, oldest first.
pub async fn list_for_user(db: &Database, user_id: String) -> StoreResult<Vec<ExternalIdentityRow>> {
    db.run(move |conn| {
        Ok(external_identities::table
            .filter(external_identities::user_id.eq(user_id))
            .order((external_identities::created_at.asc(), external_identities::id.asc()))
            .select(ExternalIdentityRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Removes one of the account's identities. Returns whether it was there.
pub async fn delete(db: &Database, id: String, user_id: String) -> StoreResult<bool> {
    db.write(move |conn| {
        let deleted = diesel::delete(
            external_identities::table
                .find(id)
                .filter(external_identities::user_id.eq(user_id)),
        )
        .execute(conn)?;
        Ok(deleted == 1)
    })
    .await
}
