//! The `application_members` table: who may enter an invite-only application.

use diesel::prelude::*;

use super::schema::{application_members, oauth_clients, private_tokens, sessions, users};
use super::users::User;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// Makes `user_id` a member of `application_id`; `false` when it already was.
pub async fn add(db: &Database, application_id: String, user_id: String, now: UnixTime) -> StoreResult<bool> {
    let added = db
        .write(move |conn| {
            diesel::insert_into(application_members::table)
                .values((
                    application_members::application_id.eq(application_id),
                    application_members::user_id.eq(user_id),
                    application_members::added_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await;
    match added {
        Ok(()) => Ok(true),
        Err(StoreError::Duplicate(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn is_member(db: &Database, application_id: String, user_id: String) -> StoreResult<bool> {
    db.run(move |conn| {
        let found: i64 = application_members::table
            .filter(application_members::application_id.eq(application_id))
            .filter(application_members::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        Ok(found > 0)
    })
    .await
}

/// The members of an application with when they were added, oldest first, a page at a time.
pub async fn list(
    db: &Database,
    application_id: String,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<(User, UnixTime)>> {
    db.run(move |conn| {
        Ok(application_members::table
            .inner_join(users::table)
            .filter(application_members::application_id.eq(application_id))
            .order((application_members::added_at.asc(), users::id.asc()))
            .offset(offset)
            .limit(limit)
            .select((User::as_select(), application_members::added_at))
            .load(conn)?)
    })
    .await
}

/// Removes a member and ends what it holds in the application: its token families (REST sessions and OAuth
/// grants of the application's clients) and its private tokens there. Returns whether it was a member.
pub async fn remove_and_revoke(
    db: &Database,
    application_id: String,
    user_id: String,
    now: UnixTime,
) -> StoreResult<bool> {
    const REASON: &str = "membership_removed";
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let removed = diesel::delete(
                application_members::table
                    .filter(application_members::application_id.eq(&application_id))
                    .filter(application_members::user_id.eq(&user_id)),
            )
            .execute(conn)?;
            let clients: Vec<String> = oauth_clients::table
                .filter(oauth_clients::application_id.eq(&application_id))
                .select(oauth_clients::id)
                .load(conn)?;
            diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(&user_id))
                    .filter(sessions::revoked_at.is_null())
                    .filter(
                        sessions::application_id
                            .eq(&application_id)
                            .or(sessions::client_id.eq_any(clients)),
                    ),
            )
            .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(REASON)))
            .execute(conn)?;
            diesel::update(
                private_tokens::table
                    .filter(private_tokens::user_id.eq(&user_id))
                    .filter(private_tokens::application_id.eq(&application_id))
                    .filter(private_tokens::revoked_at.is_null()),
            )
            .set((
                private_tokens::revoked_at.eq(now),
                private_tokens::revoked_reason.eq(REASON),
            ))
            .execute(conn)?;
            Ok(removed == 1)
        })
    })
    .await
}
