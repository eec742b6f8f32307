//! The `client_registrations` table (RFC 7592): the SHA-256 of each dynamically registered client's
//! registration access token. The row goes with its client.

use diesel::prelude::*;

use super::schema::client_registrations;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One client's registration access token as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_registrations)]
pub struct ClientRegistrationRow {
    pub client_id: String,
    pub access_token_hash: String,
    /// The initial access token it was registered with.
    pub registration_token_id: Option<String>,
    pub created_at: UnixTime,
}

/// Stores a client's registration access token.
pub async fn insert(db: &Database, row: ClientRegistrationRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(client_registrations::table)
            .values(&row)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// The registration whose access token hashes to `access_token_hash`.
pub async fn find_by_hash(db: &Database, access_token_hash: String) -> StoreResult<Option<ClientRegistrationRow>> {
    db.run(move |conn| {
        Ok(client_registrations::table
            .filter(client_registrations::access_token_hash.eq(access_token_hash))
            .select(ClientRegistrationRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}
