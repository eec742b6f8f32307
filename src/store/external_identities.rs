//! The `external_identities` table: an account's identities at upstream OpenID providers, keyed on
//! (issuer, subject) — the only way an upstream sign-in finds its account.

use diesel::prelude::*;

use super::schema::{application_members, external_identities, invitations, users};
use super::users::{NewUser, User};
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = external_identities)]
pub struct ExternalIdentityRow {
    pub id: String,
    pub user_id: String,
    /// The configured provider it came through.
    pub provider_id: String,
    pub issuer: String,
    pub subject: String,
    /// The address the upstream gave, as it gave it (shown to the account's owner, never used to join).
    pub email: Option<String>,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
}

/// The identity `subject` at `issuer`, and its account.
pub async fn find(db: &Database, issuer: String, subject: String) -> StoreResult<Option<(ExternalIdentityRow, User)>> {
    db.run(move |conn| {
        Ok(external_identities::table
            .inner_join(users::table)
            .filter(external_identities::issuer.eq(issuer))
            .filter(external_identities::subject.eq(subject))
            .select((ExternalIdentityRow::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// Whether the account has an identity at one of `providers`.
pub async fn exists_for_user_at(db: &Database, user_id: String, providers: Vec<String>) -> StoreResult<bool> {
    if providers.is_empty() {
        return Ok(false);
    }
    db.run(move |conn| {
        Ok(diesel::select(diesel::dsl::exists(
            external_identities::table
                .filter(external_identities::user_id.eq(user_id))
                .filter(external_identities::provider_id.eq_any(providers)),
        ))
        .get_result(conn)?)
    })
    .await
}

/// Links an identity to an existing account; a taken (issuer, subject) gives [`StoreError::Duplicate`]. An
/// identity proves someone: a guest that links one is a guest no more.
pub async fn insert(db: &Database, row: ExternalIdentityRow) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::insert_into(external_identities::table)
                .values(&row)
                .execute(conn)?;
            diesel::update(users::table.find(&row.user_id).filter(users::guest.eq(true)))
                .set((users::guest.eq(false), users::updated_at.eq(row.created_at)))
                .execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// A new account and its first identity, together or not at all.
pub async fn insert_with_account(db: &Database, user: NewUser, row: ExternalIdentityRow) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::insert_into(users::table).values(&user).execute(conn)?;
            diesel::insert_into(external_identities::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// Accepts the live invitation `invitation_id` (to `application_id`) with a new account and its first identity,
/// which becomes a member: all of it, or nothing when the invitation was spent a moment ago (`false`).
pub async fn insert_with_invited_account(
    db: &Database,
    user: NewUser,
    row: ExternalIdentityRow,
    invitation_id: String,
    application_id: String,
) -> StoreResult<bool> {
    /// Why the transaction rolled back.
    enum Abandoned {
        Spent,
        Failed(StoreError),
    }
    impl From<diesel::result::Error> for Abandoned {
        fn from(error: diesel::result::Error) -> Self {
            Self::Failed(error.into())
        }
    }
    db.write(move |conn| {
        let done = conn.transaction::<_, Abandoned, _>(|conn| {
            let now = row.created_at;
            // The account first: the invitation names who accepted it.
            diesel::insert_into(users::table).values(&user).execute(conn)?;
            let accepted = diesel::update(
                invitations::table
                    .find(&invitation_id)
                    .filter(invitations::accepted_at.is_null())
                    .filter(invitations::expires_at.gt(now)),
            )
            .set((invitations::accepted_at.eq(now), invitations::accepted_by.eq(&user.id)))
            .execute(conn)?;
            if accepted != 1 {
                return Err(Abandoned::Spent);
            }
            diesel::insert_into(external_identities::table)
                .values(&row)
                .execute(conn)?;
            diesel::insert_into(application_members::table)
                .values((
                    application_members::application_id.eq(&application_id),
                    application_members::user_id.eq(&user.id),
                    application_members::added_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        });
        match done {
            Ok(()) => Ok(true),
            Err(Abandoned::Spent) => Ok(false),
            Err(Abandoned::Failed(error)) => Err(error),
        }
    })
    .await
}

/// Records a sign-in through the identity.
pub async fn touch(db: &Database, id: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(external_identities::table.find(id))
            .set(external_identities::last_used_at.eq(now))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// An account's identities, oldest first.
pub async fn list_for_user(db: &Database, user_id: String) -> StoreResult<Vec<ExternalIdentityRow>> {
    db.run(move |conn| {
        Ok(external_identities::table
            .filter(external_identities::user_id.eq(user_id))
            .order((external_identities::created_at.asc(), external_identities::id.asc()))
            .select(ExternalIdentityRow::as_select())
            .load(conn)?)
    })
    .await
}

/// What an unlink did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlinked {
    Removed,
    /// The account has no such identity.
    Missing,
    /// It is the account's last identity, and the account has no other way to sign in.
    Last,
}

/// Removes one of the account's identities unless it is the last one and `other_way` is false — checked and
/// done under the account's row lock, so two unlinks at once cannot both pass the check.
pub async fn delete_unless_last(db: &Database, id: String, user_id: String, other_way: bool) -> StoreResult<Unlinked> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            // Locks the account's row (PostgreSQL) for the rest of the transaction; SQLite writes one at a time.
            diesel::update(users::table.find(&user_id))
                .set(users::updated_at.eq(users::updated_at))
                .execute(conn)?;
            let held: Vec<String> = external_identities::table
                .filter(external_identities::user_id.eq(&user_id))
                .select(external_identities::id)
                .load(conn)?;
            if !held.contains(&id) {
                return Ok(Unlinked::Missing);
            }
            if held.len() == 1 && !other_way {
                return Ok(Unlinked::Last);
            }
            diesel::delete(external_identities::table.find(&id)).execute(conn)?;
            Ok(Unlinked::Removed)
        })
    })
    .await
}
