//! The `federation_logins` table: browsers on their way through an upstream provider. The `state` sent
//! upstream is stored as a hash; a row is bound to its provider and browser, short-lived and used once.

use diesel::prelude::*;

use super::schema::federation_logins;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = federation_logins)]
pub struct FederationLoginRow {
    pub id: String,
    pub state_hash: String,
    pub provider_id: String,
    /// The application the sign-in is for.
    pub application_id: String,
    /// The browser that started it (its CSRF binding).
    pub browser_binding: String,
    /// The authorization request it continues, if any.
    pub request_id: Option<String>,
    /// The signed-in account the identity is to be linked to, for a link rather than a sign-in.
    pub link_user_id: Option<String>,
    /// Where a relying party that sent the browser to link wants it back (one of its redirect URIs).
    pub return_to: Option<String>,
    pub nonce: String,
    /// Sealed.
    pub pkce_verifier: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

pub async fn insert(db: &Database, row: FederationLoginRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(federation_logins::table)
            .values(&row)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Takes the live round trip with this state hash, once: whoever presents it spends it, and a second call finds
/// nothing. The caller checks that it came back to its own provider and browser.
pub async fn take(db: &Database, state_hash: String, now: UnixTime) -> StoreResult<Option<FederationLoginRow>> {
    db.write(move |conn| {
        let taken = diesel::update(
            federation_logins::table
                .filter(federation_logins::state_hash.eq(&state_hash))
                .filter(federation_logins::consumed_at.is_null())
                .filter(federation_logins::expires_at.gt(now)),
        )
        .set(federation_logins::consumed_at.eq(now))
        .execute(conn)?;
        if taken != 1 {
            return Ok(None);
        }
        Ok(federation_logins::table
            .filter(federation_logins::state_hash.eq(state_hash))
            .select(FederationLoginRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}
