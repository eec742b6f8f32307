//! The `oauth_clients` table: registered relying parties. Lists are stored as JSON arrays (redirect URIs)
//! or space-separated (grant types, scopes); the secret as its SHA-256, and sealed too for `client_secret_jwt`.

use diesel::prelude::*;

use super::schema::oauth_clients;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

/// One client as stored. An update writes every column but the id (`AsChangeset`, `None` as `NULL`), so a new
/// column cannot be left out of it.
#[derive(Clone, Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = oauth_clients, treat_none_as_null = true)]
pub struct ClientRow {
    pub id: String,
    pub application_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    /// JSON array of exact redirect URIs.
    pub redirect_uris: String,
    /// JSON array of exact post-logout redirect URIs.
    pub post_logout_redirect_uris: String,
    /// Space-separated grant types.
    pub grant_types: String,
    /// Space-separated scopes the client may be granted.
    pub scopes: String,
    pub token_endpoint_auth_method: String,
    pub first_party: bool,
    pub is_active: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// May introspect every token of its application (an API gateway).
    pub resource_server: bool,
    /// Where a third party (the application's access link) starts a sign-in at this client.
    pub initiate_login_uri: Option<String>,
    /// RFC 9126 §6: the authorization endpoint takes only pushed requests from this client.
    pub require_pushed_authorization_requests: bool,
    /// Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed.
    pub backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout 1.0 §2.2: the client needs `sid` in its logout tokens.
    pub backchannel_logout_session_required: bool,
    /// `private_key_jwt`: the client's public keys, a JWK Set as JSON.
    pub jwks: Option<String>,
    /// `client_secret_jwt`: the secret sealed (it is the HMAC key of the client's assertions).
    pub secret_sealed: Option<String>,
    /// The algorithm of the client's ID tokens (and logout tokens), when not RS256.
    pub id_token_signed_response_alg: Option<String>,
    /// The algorithm of the client's access tokens, when not RS256.
    pub access_token_signed_response_alg: Option<String>,
}

/// Stores a new client.
pub async fn insert(db: &Database, client: ClientRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(oauth_clients::table)
            .values(&client)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// The client with this id.
pub async fn find(db: &Database, id: String) -> StoreResult<Option<ClientRow>> {
    db.run(move |conn| {
        Ok(oauth_clients::table
            .find(id)
            .select(ClientRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Every client, oldest first.
pub async fn list(db: &Database) -> StoreResult<Vec<ClientRow>> {
    db.run(|conn| {
        Ok(oauth_clients::table
            .order((oauth_clients::created_at.asc(), oauth_clients::id.asc()))
            .select(ClientRow::as_select())
            .load(conn)?)
    })
    .await
}

/// Replaces a client's row (everything but its id; the caller keeps the creation time). Returns whether it
/// exists.
pub async fn update(db: &Database, client: ClientRow) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(oauth_clients::table.find(client.id.clone()))
            .set(&client)
            .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Deletes a client and, through the foreign keys, its codes, consents and token families.
pub async fn delete(db: &Database, id: String) -> StoreResult<bool> {
    db.write(move |conn| Ok(diesel::delete(oauth_clients::table.find(id)).execute(conn)? == 1))
        .await
}
