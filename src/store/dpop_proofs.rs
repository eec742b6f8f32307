//! The `dpop_proofs` table: DPoP proofs already accepted (RFC 9449 §11.1), shared by every instance, each
//! kept until its proof would be too old to be accepted again.

use diesel::prelude::*;

use super::schema::dpop_proofs;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// Records the proof whose key and `jti` hash to `proof_hash`, in one statement: `false` when it was already
/// recorded (a replay, from this instance or another).
pub async fn insert_once(db: &Database, proof_hash: String, expires_at: UnixTime) -> StoreResult<bool> {
    let result = db
        .write(move |conn| {
            diesel::insert_into(dpop_proofs::table)
                .values((
                    dpop_proofs::proof_hash.eq(proof_hash),
                    dpop_proofs::expires_at.eq(expires_at),
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
