//! The `authorization_requests` table: validated authorization requests waiting for the user to sign in or
//! consent, bound to the browser that started them.

use diesel::prelude::*;

use super::schema::authorization_requests;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One pending request as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_requests)]
pub struct AuthorizationRequestRow {
    pub id: String,
    pub client_id: String,
    /// SHA-256 of the starting browser's CSRF cookie.
    pub browser_binding: String,
    /// The validated request, as JSON.
    pub parameters: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

/// Stores a pending request.
pub async fn insert(db: &Database, request: AuthorizationRequestRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(authorization_requests::table)
            .values(&request)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// The pending request with this id.
pub async fn find(db: &Database, id: String) -> StoreResult<Option<AuthorizationRequestRow>> {
    db.run(move |conn| {
        Ok(authorization_requests::table
            .find(id)
            .select(AuthorizationRequestRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Marks the request answered; only one caller can. Returns whether this one did.
pub async fn consume(db: &Database, id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            authorization_requests::table
                .find(id)
                .filter(authorization_requests::consumed_at.is_null()),
        )
        .set(authorization_requests::consumed_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Replaces a pending request's parameters (what the user decided on the way). Returns whether it was still
/// pending.
pub async fn update_parameters(db: &Database, id: String, parameters: String) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            authorization_requests::table
                .find(id)
                .filter(authorization_requests::consumed_at.is_null()),
        )
        .set(authorization_requests::parameters.eq(parameters))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}
