//! The `consents` table: the scopes a user has agreed to share with a client.

use diesel::prelude::*;

use super::schema::consents;
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
