//! The `authorization_codes` table: codes (as SHA-256) with everything they are bound to. A code is spent
//! by one atomic update; the token family it produced is recorded so a replay can revoke it.

use diesel::prelude::*;

use super::refresh_tokens::NewRefreshToken;
use super::schema::{authorization_codes, refresh_tokens, sessions};
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
    /// It was spent before: a replay. Holds the family it produced, if it has produced one yet.
    Replayed(Option<String>),
    /// No such code.
    Unknown,
}

/// Spends a code: exactly one caller gets [`Spend::Spent`]; the others learn which family it produced.
pub async fn spend(db: &Database, code_hash: String, now: UnixTime) -> StoreResult<Spend> {
    db.write(move |conn| {
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
        let family: Option<Option<String>> = authorization_codes::table
            .find(&code_hash)
            .select(authorization_codes::session_id)
            .first(conn)
            .optional()?;
        Ok(match family {
            None => Spend::Unknown,
            Some(family) => Spend::Replayed(family),
        })
    })
    .await
}

/// Creates the token family a spent code grants, with its first refresh token if any, and records it on the
/// code (once). Returns whether the family was created.
pub async fn create_family(
    db: &Database,
    code_hash: String,
    family: NewSession,
    refresh_token: Option<NewRefreshToken>,
) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let claimed = diesel::update(
                authorization_codes::table
                    .find(&code_hash)
                    .filter(authorization_codes::session_id.is_null()),
            )
            .set(authorization_codes::session_id.eq(&family.id))
            .execute(conn)?;
            if claimed == 0 {
                return Ok(false);
            }
            diesel::insert_into(sessions::table).values(&family).execute(conn)?;
            if let Some(token) = &refresh_token {
                diesel::insert_into(refresh_tokens::table).values(token).execute(conn)?;
            }
            Ok(true)
        })
    })
    .await
}
