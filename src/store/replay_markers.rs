//! The `replay_markers` table: what must be accepted once only — DPoP proofs (RFC 9449 §11.1) and client
//! assertions (RFC 7523 §3, by `jti`) — shared by every instance, each marker kept until what it marks would
//! be too old to be accepted anyway.

use diesel::prelude::*;

use super::schema::replay_markers;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// Records the marker `marker_hash` in one statement: `false` when it was already recorded (a replay, from
/// this instance or another).
pub async fn insert_once(db: &Database, marker_hash: String, expires_at: UnixTime) -> StoreResult<bool> {
    let result = db
        .write(move |conn| {
            diesel::insert_into(replay_markers::table)
                .values((
                    replay_markers::marker_hash.eq(marker_hash),
                    replay_markers::expires_at.eq(expires_at),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::Duplicate(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
