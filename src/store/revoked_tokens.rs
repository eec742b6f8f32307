//! The `revoked_tokens` table: `jti`s of revoked access tokens that belong to no family (client
//! credentials), kept until the token would have expired anyway.

use diesel::prelude::*;

use super::schema::revoked_tokens;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// Records a revoked token; revoking it twice is fine.
pub async fn insert(db: &Database, jti: String, expires_at: UnixTime) -> StoreResult<()> {
    let result = db
        .write(move |conn| {
            diesel::insert_into(revoked_tokens::table)
                .values((revoked_tokens::jti.eq(jti), revoked_tokens::expires_at.eq(expires_at)))
                .execute(conn)?;
            Ok(())
        })
        .await;
    match result {
        Err(StoreError::Duplicate(_)) => Ok(()),
        other => other,
    }
}

/// Whether the token with this `jti` was revoked.
pub async fn is_revoked(db: &Database, jti: String) -> StoreResult<bool> {
    db.run(move |conn| {
        let found: i64 = revoked_tokens::table.find(jti).count().get_result(conn)?;
        Ok(found > 0)
    })
    .await
}

/// Up to `limit` revoked tokens whose token has not expired at `now`, in `jti` order after `after`: pages of
/// the whole record.
pub async fn live_page(
    db: &Database,
    now: UnixTime,
    after: String,
    limit: i64,
) -> StoreResult<Vec<(String, UnixTime)>> {
    db.run(move |conn| {
        Ok(revoked_tokens::table
            .select((revoked_tokens::jti, revoked_tokens::expires_at))
            .filter(revoked_tokens::expires_at.gt(now))
            .filter(revoked_tokens::jti.gt(after))
            .order(revoked_tokens::jti)
            .limit(limit)
            .load(conn)?)
    })
    .await
}
