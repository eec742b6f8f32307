//! The `authorization_codes` table: codes (as SHA-256) with everything they are bound to. A code is spent
//! by one atomic update; the token family it produced is recorded on it, and so is a replay. Whichever comes
//! first, the family ends up revoked: a replay revokes the family already made, and a family made after a
//! replay is born revoked. On PostgreSQL the two updates of the code's row queue behind each other's row
//! lock; on SQLite writes are serial.

use diesel::prelude::*;

use super::refresh_tokens::NewRefreshToken;
use super::schema::{authorization_codes, refresh_tokens, sessions};
use super::sessions as session_families;
use super::sessions::NewSession;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One code as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub browser_session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: UnixTime,
    pub amr: String,
    pub acr: String,
    pub offline: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    pub session_id: Option<String>,
    /// When the code was last presented again after it was spent.
    pub replayed_at: Option<UnixTime>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to, if any.
    pub dpop_jkt: Option<String>,
}

/// Stores a new code.
pub async fn insert(db: &Database, code: AuthorizationCodeRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(authorization_codes::table)
            .values(&code)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// What spending a code found.
#[derive(Debug)]
pub enum Spend {
    /// This caller spent it.
    Spent(Box<AuthorizationCodeRow>),
    /// It was spent before: a replay, now recorded. Holds the family the code had produced, if it had yet
    /// (that family is revoked now; one made later is born revoked).
    Replayed(Option<String>),
    /// No such code.
    Unknown,
}

/// Why a family is revoked when its code is replayed.
const REPLAYED: &str = "authorization_code_reused";

/// Spends a code: exactly one caller gets [`Spend::Spent`]. Any other records the replay on the code and
/// revokes the family the code produced, in one transaction.
pub async fn spend(db: &Database, code_hash: String, now: UnixTime) -> StoreResult<Spend> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let spent = diesel::update(
                authorization_codes::table
                    .find(&code_hash)
                    .filter(authorization_codes::used_at.is_null()),
            )
            .set(authorization_codes::used_at.eq(now))
            .returning(authorization_codes::all_columns)
            .get_result::<AuthorizationCodeRow>(conn)
            .optional()?;
            if let Some(row) = spent {
                return Ok(Spend::Spent(Box::new(row)));
            }
            let family: Option<Option<String>> = diesel::update(authorization_codes::table.find(&code_hash))
                .set(authorization_codes::replayed_at.eq(now))
                .returning(authorization_codes::session_id)
                .get_result(conn)
                .optional()?;
            let Some(family) = family else {
                return Ok(Spend::Unknown);
            };
            if let Some(id) = &family {
                session_families::revoke_on(conn, id, REPLAYED, now)?;
            }
            Ok(Spend::Replayed(family))
        })
    })
    .await
}

/// What recording a code's grant found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The family is stored and live: its tokens may go out.
    Live,
    /// The code was replayed while it was being redeemed: the family is stored revoked.
    BornRevoked,
    /// The code already has a family (it cannot, for a code this caller spent): nothing was stored.
    AlreadyGranted,
}

/// Creates the token family a spent code grants, with its first refresh token if any, and records it on the
/// code (once). A family whose code was replayed meanwhile is stored revoked.
pub async fn create_family(
    db: &Database,
    code_hash: String,
    family: NewSession,
    refresh_token: Option<NewRefreshToken>,
) -> StoreResult<Grant> {
    let now = family.created_at;
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let claimed: Option<Option<UnixTime>> = diesel::update(
                authorization_codes::table
                    .find(&code_hash)
                    .filter(authorization_codes::session_id.is_null()),
            )
            .set(authorization_codes::session_id.eq(&family.id))
            .returning(authorization_codes::replayed_at)
            .get_result(conn)
            .optional()?;
            let Some(replayed_at) = claimed else {
                return Ok(Grant::AlreadyGranted);
            };
            diesel::insert_into(sessions::table).values(&family).execute(conn)?;
            if let Some(token) = &refresh_token {
                diesel::insert_into(refresh_tokens::table).values(token).execute(conn)?;
            }
            if replayed_at.is_none() {
                return Ok(Grant::Live);
            }
            session_families::revoke_on(conn, &family.id, REPLAYED, now)?;
            Ok(Grant::BornRevoked)
        })
    })
    .await
}
