//! The `consents` table: the scopes a user has agreed to share with a client.

use diesel::prelude::*;

use super::schema::{consents, oauth_clients, sessions};
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// The scopes (space-separated) `user_id` granted `client_id`, if any.
pub async fn find(db: &Database, user_id: String, client_id: String) -> StoreResult<Option<String>> {
    db.run(move |conn| {
        Ok(consents::table
            .find((user_id, client_id))
            .select(consents::scope)
            .first(conn)
            .optional()?)
    })
    .await
}

/// Records that `user_id` granted `client_id` these scopes (replacing what was granted before).
pub async fn save(db: &Database, user_id: String, client_id: String, scope: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let updated = diesel::update(consents::table.find((&user_id, &client_id)))
                .set((consents::scope.eq(&scope), consents::updated_at.eq(now)))
                .execute(conn)?;
            if updated == 0 {
                diesel::insert_into(consents::table)
                    .values((
                        consents::user_id.eq(&user_id),
                        consents::client_id.eq(&client_id),
                        consents::scope.eq(&scope),
                        consents::created_at.eq(now),
                        consents::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
    })
    .await
}

/// A consent as its account sees it: the client, its name, the scopes, and when.
#[derive(Clone, Debug, Queryable)]
pub struct ConsentListing {
    pub client_id: String,
    pub client_name: String,
    /// Space-separated scopes granted.
    pub scope: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// The consents of `user_id`, most recently given first, with their clients' names.
pub async fn list_for_user(db: &Database, user_id: String) -> StoreResult<Vec<ConsentListing>> {
    db.run(move |conn| {
        Ok(consents::table
            .inner_join(oauth_clients::table.on(consents::client_id.eq(oauth_clients::id)))
            .filter(consents::user_id.eq(user_id))
            .order((consents::updated_at.desc(), consents::client_id))
            .select((
                consents::client_id,
                oauth_clients::name,
                consents::scope,
                consents::created_at,
                consents::updated_at,
            ))
            .load::<ConsentListing>(conn)?)
    })
    .await
}

/// Withdraws `user_id`'s consent to `client_id` and, in the same transaction, revokes the account's live token
/// families of that client. `None` when there was no such consent; else how many families ended.
pub async fn delete_with_families(
    db: &Database,
    user_id: String,
    client_id: String,
    reason: &'static str,
    now: UnixTime,
) -> StoreResult<Option<usize>> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let deleted = diesel::delete(consents::table.find((&user_id, &client_id))).execute(conn)?;
            if deleted == 0 {
                return Ok(None);
            }
            let families = diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(&user_id))
                    .filter(sessions::client_id.eq(&client_id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
            .execute(conn)?;
            Ok(Some(families))
        })
    })
    .await
}
