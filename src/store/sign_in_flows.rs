//! The `sign_in_flows` table: sign-ins in progress, whatever the front door. The token naming one is stored
//! as a hash; a flow is single use, short-lived, bound to its application and (for the pages) its browser,
//! and counts wrong answers at its step.

use diesel::prelude::*;

use super::schema::{sign_in_flows, users};
use super::users::User;
use super::{Database, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_in_flows)]
pub struct SignInFlowRow {
    pub id: String,
    pub token_hash: String,
    /// The application the sign-in is for: its policy decides the steps.
    pub application_id: String,
    /// The browser a page sign-in happens in (its CSRF binding); `None` for the REST API.
    pub browser_binding: Option<String>,
    /// Who is signing in, once known.
    pub user_id: Option<String>,
    /// The step the flow waits at.
    pub stage: String,
    /// What was proven so far (RFC 8176 methods, space-separated).
    pub amr: String,
    /// Where the flow's code went (`email` or `sms`), for a code sign-in or a verification.
    pub channel: Option<String>,
    /// The address or number that code went to.
    pub destination: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Wrong answers given at this step.
    pub attempts: i32,
    pub consumed_at: Option<UnixTime>,
    /// At stage `external` (the REST API): the hash of the one-time code the provider's callback handed the
    /// application, once the upstream proved who is signing in.
    pub result_hash: Option<String>,
    /// At stage `link` (the REST API): the identity the upstream proved (JSON), kept until the application
    /// finishes the link.
    pub proven_identity: Option<String>,
}

pub async fn insert(db: &Database, row: SignInFlowRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(sign_in_flows::table).values(&row).execute(conn)?;
        Ok(())
    })
    .await
}

/// The flow with this token hash, and its account when it has one.
pub async fn find_by_hash(db: &Database, token_hash: String) -> StoreResult<Option<(SignInFlowRow, Option<User>)>> {
    db.run(move |conn| {
        Ok(sign_in_flows::table
            .left_join(users::table)
            .filter(sign_in_flows::token_hash.eq(token_hash))
            .select((SignInFlowRow::as_select(), Option::<User>::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// The flow with this id, and its account when it has one.
pub async fn find_by_id(db: &Database, id: String) -> StoreResult<Option<(SignInFlowRow, Option<User>)>> {
    db.run(move |conn| {
        Ok(sign_in_flows::table
            .left_join(users::table)
            .filter(sign_in_flows::id.eq(id))
            .select((SignInFlowRow::as_select(), Option::<User>::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// Counts a wrong answer; once `max` are spent the flow is void.
pub async fn record_attempt(db: &Database, id: String, max: i32, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(sign_in_flows::table.find(&id))
            .set(sign_in_flows::attempts.eq(sign_in_flows::attempts + 1))
            .execute(conn)?;
        diesel::update(
            sign_in_flows::table
                .find(&id)
                .filter(sign_in_flows::attempts.ge(max))
                .filter(sign_in_flows::consumed_at.is_null()),
        )
        .set(sign_in_flows::consumed_at.eq(now))
        .execute(conn)?;
        Ok(())
    })
    .await
}

/// Moves a flow on from stage `from` to its next stage (for the same token), with what was proven so far and a
/// fresh expiry. Succeeds once: a concurrent step that moved it first wins.
pub async fn advance(db: &Database, row: SignInFlowRow, from: &'static str) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            sign_in_flows::table
                .find(&row.id)
                .filter(sign_in_flows::stage.eq(from))
                .filter(sign_in_flows::consumed_at.is_null()),
        )
        .set((
            sign_in_flows::user_id.eq(&row.user_id),
            sign_in_flows::stage.eq(&row.stage),
            sign_in_flows::amr.eq(&row.amr),
            sign_in_flows::channel.eq(&row.channel),
            sign_in_flows::destination.eq(&row.destination),
            sign_in_flows::expires_at.eq(row.expires_at),
            sign_in_flows::attempts.eq(0),
            sign_in_flows::result_hash.eq(&row.result_hash),
            sign_in_flows::proven_identity.eq(&row.proven_identity),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Records over which channel the flow's latest code went (its step and attempts stay).
pub async fn set_channel(db: &Database, id: String, channel: &'static str) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(sign_in_flows::table.find(id))
            .set(sign_in_flows::channel.eq(channel))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Spends the flow: succeeds once.
pub async fn consume(db: &Database, id: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(
            sign_in_flows::table
                .find(id)
                .filter(sign_in_flows::consumed_at.is_null()),
        )
        .set(sign_in_flows::consumed_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}
