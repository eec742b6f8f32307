//! The `invitations` table: single-use, expiring links that make someone a member of an application. The
//! token in the link is stored as a hash.

use diesel::prelude::*;

use super::schema::invitations;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct InvitationRow {
    pub id: String,
    pub token_hash: String,
    pub application_id: String,
    pub email: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub accepted_at: Option<UnixTime>,
    pub accepted_by: Option<String>,
}

pub async fn insert(db: &Database, row: InvitationRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(invitations::table).values(&row).execute(conn)?;
        Ok(())
    })
    .await
}

pub async fn find_by_hash(db: &Database, token_hash: String) -> StoreResult<Option<InvitationRow>> {
    db.run(move |conn| {
        Ok(invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .select(InvitationRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// A live invitation of `application_id` for `email`, if any (the newest).
pub async fn find_open(
    db: &Database,
    application_id: String,
    email: String,
    now: UnixTime,
) -> StoreResult<Option<InvitationRow>> {
    db.run(move |conn| {
        Ok(invitations::table
            .filter(invitations::application_id.eq(application_id))
            .filter(invitations::email.eq(email))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .order(invitations::created_at.desc())
            .select(InvitationRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// The invitations of an application, newest first.
pub async fn list(db: &Database, application_id: String) -> StoreResult<Vec<InvitationRow>> {
    db.run(move |conn| {
        Ok(invitations::table
            .filter(invitations::application_id.eq(application_id))
            .order((invitations::created_at.desc(), invitations::id.desc()))
            .select(InvitationRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Marks an invitation accepted by `user_id`: succeeds once, and only while it is live.
pub async fn accept(db: &Database, id: String, user_id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            invitations::table
                .find(id)
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::expires_at.gt(now)),
        )
        .set((invitations::accepted_at.eq(now), invitations::accepted_by.eq(user_id)))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Withdraws an invitation of `application_id`; `false` when there was none.
pub async fn delete(db: &Database, application_id: String, id: String) -> StoreResult<bool> {
    db.write(move |conn| {
        let deleted = diesel::delete(
            invitations::table
                .find(id)
                .filter(invitations::application_id.eq(application_id)),
        )
        .execute(conn)?;
        Ok(deleted == 1)
    })
    .await
}
