//! The `device_authorizations` table (RFC 8628): a device's request, found by the hash of its device code (the
//! device's polls) or of its user code (the person's browser). Every change of state is one conditional update,
//! so two instances, or two polls, never both win: pacing the polls, the person's decision, and spending an
//! approved device code together with the token family it produces.

use diesel::prelude::*;

use super::refresh_tokens::NewRefreshToken;
use super::schema::{device_authorizations, refresh_tokens, sessions};
use super::sessions::NewSession;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// Where a device authorization stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the person.
    Pending,
    /// The person approved it (their account and sign-in are recorded).
    Approved,
    /// The person refused it, or the application did not admit them.
    Denied,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// One device authorization as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = device_authorizations)]
pub struct DeviceAuthorizationRow {
    pub id: String,
    pub device_code_hash: String,
    pub user_code_hash: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub interval_secs: i64,
    pub next_poll_at: UnixTime,
    pub status: String,
    pub user_id: Option<String>,
    pub auth_time: Option<UnixTime>,
    pub amr: Option<String>,
    pub acr: Option<String>,
    pub decided_at: Option<UnixTime>,
    pub used_at: Option<UnixTime>,
    pub session_id: Option<String>,
}

impl DeviceAuthorizationRow {
    /// The row's status; a value no version of Tessera writes is corrupt.
    pub fn status(&self) -> StoreResult<Status> {
        Status::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("device authorization {}: status", self.id)))
    }
}

/// The person's approval: who, and how they signed in.
#[derive(Clone, Debug)]
pub struct Approval {
    pub user_id: String,
    pub auth_time: UnixTime,
    pub amr: String,
    pub acr: String,
}

/// What pacing a poll found (RFC 8628 §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// The poll came after the interval; the next one is welcome an interval from now.
    Welcome,
    /// Too soon: the interval is now 5 seconds longer, counted from now.
    TooSoon,
}

/// The longer interval a poll that came too soon earns (RFC 8628 §3.5: "increased by 5 seconds").
const SLOW_DOWN_SECS: i64 = 5;

/// Stores a new device authorization; a user code that collides with a stored one is `Duplicate`.
pub async fn insert(db: &Database, row: DeviceAuthorizationRow) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(device_authorizations::table)
            .values(&row)
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// The device authorization whose device code hashes to `hash`.
pub async fn find_by_device_code(db: &Database, hash: String) -> StoreResult<Option<DeviceAuthorizationRow>> {
    db.run(move |conn| {
        Ok(device_authorizations::table
            .filter(device_authorizations::device_code_hash.eq(hash))
            .select(DeviceAuthorizationRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// The device authorization still waiting for its person whose user code hashes to `hash`, unexpired at `now`.
pub async fn find_pending_by_user_code(
    db: &Database,
    hash: String,
    now: UnixTime,
) -> StoreResult<Option<DeviceAuthorizationRow>> {
    db.run(move |conn| {
        Ok(device_authorizations::table
            .filter(device_authorizations::user_code_hash.eq(hash))
            .filter(device_authorizations::status.eq(Status::Pending.as_str()))
            .filter(device_authorizations::expires_at.gt(now))
            .select(DeviceAuthorizationRow::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// Paces a poll of `id`: welcome once its interval has passed since the last welcome one (the first at once);
/// otherwise the interval grows by five seconds and counts again from now. One update decides, so of two
/// polls at the same moment only one is welcome.
pub async fn pace(db: &Database, id: String, now: UnixTime) -> StoreResult<Pace> {
    db.write(move |conn| {
        let welcome = diesel::update(
            device_authorizations::table
                .find(&id)
                .filter(device_authorizations::next_poll_at.le(now)),
        )
        .set(device_authorizations::next_poll_at.eq(device_authorizations::interval_secs + now))
        .execute(conn)?;
        if welcome == 1 {
            return Ok(Pace::Welcome);
        }
        // Both right-hand sides read the row as it was: the new interval, counted from now.
        diesel::update(device_authorizations::table.find(&id))
            .set((
                device_authorizations::interval_secs.eq(device_authorizations::interval_secs + SLOW_DOWN_SECS),
                device_authorizations::next_poll_at.eq(device_authorizations::interval_secs + (now + SLOW_DOWN_SECS)),
            ))
            .execute(conn)?;
        Ok(Pace::TooSoon)
    })
    .await
}

/// Records the person's decision on `id` — an approval, or a refusal (`None`) — if it is still pending and
/// unexpired at `now`. Returns whether this caller decided it.
pub async fn decide(db: &Database, id: String, approval: Option<Approval>, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let pending = device_authorizations::table
            .find(&id)
            .filter(device_authorizations::status.eq(Status::Pending.as_str()))
            .filter(device_authorizations::expires_at.gt(now));
        let updated = match approval {
            Some(approval) => diesel::update(pending)
                .set((
                    device_authorizations::status.eq(Status::Approved.as_str()),
                    device_authorizations::user_id.eq(approval.user_id),
                    device_authorizations::auth_time.eq(approval.auth_time),
                    device_authorizations::amr.eq(approval.amr),
                    device_authorizations::acr.eq(approval.acr),
                    device_authorizations::decided_at.eq(now),
                ))
                .execute(conn)?,
            None => diesel::update(pending)
                .set((
                    device_authorizations::status.eq(Status::Denied.as_str()),
                    device_authorizations::decided_at.eq(now),
                ))
                .execute(conn)?,
        };
        Ok(updated == 1)
    })
    .await
}

/// Spends the approved device code of `id` and stores the token family it grants, with its first refresh
/// token if any, in one transaction. Returns whether this caller spent it: a code already spent — by an
/// earlier poll, or by a concurrent one on any instance — stores nothing.
pub async fn redeem(
    db: &Database,
    id: String,
    family: NewSession,
    refresh_token: Option<NewRefreshToken>,
) -> StoreResult<bool> {
    let now = family.created_at;
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let spent = diesel::update(
                device_authorizations::table
                    .find(&id)
                    .filter(device_authorizations::status.eq(Status::Approved.as_str()))
                    .filter(device_authorizations::used_at.is_null()),
            )
            .set((
                device_authorizations::used_at.eq(now),
                device_authorizations::session_id.eq(&family.id),
            ))
            .execute(conn)?;
            if spent != 1 {
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
