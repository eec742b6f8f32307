//! The `users` table: accounts, their password hash, scopes and login-failure counters.

use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

mod administration;

pub use administration::{end_all_sign_ins, reset_factors, search};

use super::private_tokens::revoke_private_tokens_of;
use super::schema::{browser_sessions, sessions, users};
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One account as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    /// `None` for a guest, or an account that signed up by text message.
    pub email: Option<String>,
    pub email_verified: bool,
    /// `None` for an account that signs in by codes (or a guest).
    pub password_hash: Option<String>,
    /// Space-separated scope names.
    pub scopes: String,
    pub is_active: bool,
    pub failed_logins: i32,
    pub locked_until: Option<UnixTime>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// E.164; stored only once a code sent to it came back.
    pub phone: Option<String>,
    /// A guest of an open application: no e-mail, phone or password yet.
    pub guest: bool,
    /// A display name (from an upstream provider's claim), when the account has one.
    pub name: Option<String>,
    /// The PIN's argon2id hash, when the account has one.
    pub pin_hash: Option<String>,
    /// The plan the account is on (`free` unless an administrator set another).
    pub plan: String,
}

impl User {
    /// How the account is named to its owner (authenticator apps, notices): its e-mail address, else its
    /// username.
    pub fn label(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.username)
    }
}

/// A new account.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub scopes: String,
    pub is_active: bool,
    pub failed_logins: i32,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub phone: Option<String>,
    pub guest: bool,
    pub name: Option<String>,
}

impl NewUser {
    /// A new active account named `username`, made `now`, with nothing else yet (callers add what it has).
    pub fn named(username: String, now: UnixTime) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            username,
            email: None,
            email_verified: false,
            password_hash: None,
            scopes: String::new(),
            is_active: true,
            failed_logins: 0,
            created_at: now,
            updated_at: now,
            phone: None,
            guest: false,
            name: None,
        }
    }
}

/// Inserts an account; a taken username or e-mail gives [`super::StoreError::Duplicate`] naming the column.
pub async fn insert(db: &Database, user: NewUser) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::insert_into(users::table).values(&user).execute(conn)?;
        Ok(())
    })
    .await
}

/// The account with this id.
pub async fn find_by_id(db: &Database, id: String) -> StoreResult<Option<User>> {
    db.run(move |conn| Ok(users::table.find(id).select(User::as_select()).first(conn).optional()?))
        .await
}

/// The account with this (normalised) username.
pub async fn find_by_username(db: &Database, username: String) -> StoreResult<Option<User>> {
    db.run(move |conn| {
        Ok(users::table
            .filter(users::username.eq(username))
            .select(User::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// The account with this (normalised) e-mail address.
pub async fn find_by_email(db: &Database, email: String) -> StoreResult<Option<User>> {
    db.run(move |conn| {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)
            .optional()?)
    })
    .await
}

/// The accounts with this (verified, E.164) phone number: none, one, or two when more than one holds it (a
/// number that names nobody in particular).
pub async fn find_by_phone(db: &Database, phone: String) -> StoreResult<Vec<User>> {
    db.run(move |conn| {
        Ok(users::table
            .filter(users::phone.eq(phone))
            .select(User::as_select())
            .limit(2)
            .load(conn)?)
    })
    .await
}

/// Whether any active account holds the `admin` scope.
pub async fn has_active_admin(db: &Database) -> StoreResult<bool> {
    other_active_admin(db, String::new()).await
}

/// Whether an active account other than `except` holds the `admin` scope.
pub async fn other_active_admin(db: &Database, except: String) -> StoreResult<bool> {
    db.run(move |conn| {
        let admins: i64 = users::table
            .filter(users::is_active.eq(true))
            .filter(users::id.ne(except))
            .filter(
                users::scopes
                    .eq("admin")
                    .or(users::scopes.like("admin %"))
                    .or(users::scopes.like("% admin"))
                    .or(users::scopes.like("% admin %")),
            )
            .count()
            .get_result(conn)?;
        Ok(admins > 0)
    })
    .await
}

/// Records a failed login: adds one to the failure counter and, when that reaches `threshold`, locks the
/// account until `lock_until`. One atomic statement, so concurrent failures each count.
pub async fn record_login_failure(db: &Database, id: String, threshold: i32, lock_until: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        // SET expressions read the row as it was before the update, on both backends.
        let lock = case_when(
            users::failed_logins.ge(threshold - 1),
            lock_until.into_sql::<Nullable<BigInt>>(),
        )
        .otherwise(users::locked_until);
        diesel::update(users::table.find(id))
            .set((
                users::failed_logins.eq(users::failed_logins + 1),
                users::locked_until.eq(lock),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Clears the failure counter and any lock after a successful login.
pub async fn clear_login_failures(db: &Database, id: String) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(users::table.find(id))
            .set((users::failed_logins.eq(0), users::locked_until.eq(None::<UnixTime>)))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Replaces the stored password hash (after a parameter upgrade).
pub async fn update_password_hash(db: &Database, id: String, hash: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Sets (or with `None` removes) the account's PIN hash.
pub async fn set_pin_hash(db: &Database, id: String, hash: Option<String>, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(users::table.find(id))
            .set((users::pin_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Sets the plan an account is on.
pub async fn set_plan(db: &Database, id: String, plan: String, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(users::table.find(id))
            .set((users::plan.eq(plan), users::updated_at.eq(now)))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Replaces the account's scopes, if they are still `from`. Returns whether they were.
pub async fn set_scopes(db: &Database, id: String, from: String, to: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(users::table.find(id).filter(users::scopes.eq(from)))
            .set((users::scopes.eq(to), users::updated_at.eq(now)))
            .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Enables or disables an account, revoking its private tokens in the same transaction when
/// `revoke_private_tokens`. Returns whether the account exists.
pub async fn set_active(
    db: &Database,
    id: String,
    active: bool,
    revoke_private_tokens: bool,
    now: UnixTime,
) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let updated = diesel::update(users::table.find(&id))
                .set((users::is_active.eq(active), users::updated_at.eq(now)))
                .execute(conn)?;
            if revoke_private_tokens {
                revoke_private_tokens_of(conn, &id, "account_disabled", now)?;
            }
            Ok(updated == 1)
        })
    })
    .await
}

/// The sign-in a password change leaves alone: the one that made the change.
#[derive(Clone, Debug)]
pub enum KeptSignIn {
    /// A token family (the REST API).
    Family(String),
    /// A browser session (the account pages).
    Browser(String),
}

/// A new password: stores its hash and, in the same transaction, ends every other sign-in of the account
/// (its token families and browser sessions, except `keep`) and, when `revoke_private_tokens`, its private
/// tokens.
pub async fn change_password(
    db: &Database,
    id: String,
    hash: String,
    keep: KeptSignIn,
    revoke_private_tokens: bool,
    now: UnixTime,
) -> StoreResult<()> {
    let (keep_family, keep_browser) = match keep {
        KeptSignIn::Family(family) => (family, String::new()),
        KeptSignIn::Browser(session) => (String::new(), session),
    };
    const REASON: &str = "password_changed";
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::update(users::table.find(&id))
                .set((
                    users::password_hash.eq(hash),
                    users::guest.eq(false),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(&id))
                    .filter(sessions::id.ne(keep_family))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(REASON)))
            .execute(conn)?;
            diesel::update(
                browser_sessions::table
                    .filter(browser_sessions::user_id.eq(&id))
                    .filter(browser_sessions::id.ne(keep_browser))
                    .filter(browser_sessions::revoked_at.is_null()),
            )
            .set(browser_sessions::revoked_at.eq(now))
            .execute(conn)?;
            if revoke_private_tokens {
                revoke_private_tokens_of(conn, &id, REASON, now)?;
            }
            Ok(())
        })
    })
    .await
}

/// The owner of `email` proved it (a code, an invitation) on an account that had not: whoever set the
/// account's password before that proof may not be its owner (pre-hijacking), so the password is replaced by
/// `password_hash` (or removed) and every sign-in of the account ends. Returns whether the account was still
/// unproven at `email`.
pub async fn claim_email(
    db: &Database,
    id: String,
    email: String,
    password_hash: Option<String>,
    now: UnixTime,
) -> StoreResult<bool> {
    const REASON: &str = "email_claimed";
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let updated = diesel::update(
                users::table
                    .find(&id)
                    .filter(users::email.eq(&email))
                    .filter(users::email_verified.eq(false)),
            )
            .set((
                users::email_verified.eq(true),
                users::password_hash.eq(password_hash),
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<UnixTime>),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
            if updated == 0 {
                return Ok(false);
            }
            diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(&id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(REASON)))
            .execute(conn)?;
            diesel::update(
                browser_sessions::table
                    .filter(browser_sessions::user_id.eq(&id))
                    .filter(browser_sessions::revoked_at.is_null()),
            )
            .set(browser_sessions::revoked_at.eq(now))
            .execute(conn)?;
            revoke_private_tokens_of(conn, &id, REASON, now)?;
            Ok(true)
        })
    })
    .await
}

/// Marks the account's e-mail address as verified, if it is still `email`.
pub async fn set_email_verified(db: &Database, id: String, email: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(users::table.find(id).filter(users::email.eq(email)))
            .set((users::email_verified.eq(true), users::updated_at.eq(now)))
            .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Gives an account without an address this one, verified; a taken address is [`StoreError::Duplicate`].
pub async fn set_verified_email(db: &Database, id: String, email: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(users::table.find(id).filter(users::email.is_null()))
            .set((
                users::email.eq(email),
                users::email_verified.eq(true),
                users::guest.eq(false),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Replaces the account's address `old` (still its address: a change started before another one finished
/// cannot land) by `new`, proven; a taken address is [`StoreError::Duplicate`]. Returns whether it changed.
pub async fn replace_email(db: &Database, id: String, old: String, new: String, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        let updated = diesel::update(users::table.find(id).filter(users::email.eq(old)))
            .set((
                users::email.eq(new),
                users::email_verified.eq(true),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(updated == 1)
    })
    .await
}

/// Sets or clears the account's display name.
pub async fn set_name(db: &Database, id: String, name: Option<String>, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        diesel::update(users::table.find(id))
            .set((users::name.eq(name), users::updated_at.eq(now)))
            .execute(conn)?;
        Ok(())
    })
    .await
}

/// Sets (a verified number) or removes the account's phone number.
pub async fn set_phone(db: &Database, id: String, phone: Option<String>, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        match phone {
            // A guest that proves a number is a guest no more.
            Some(phone) => diesel::update(users::table.find(id))
                .set((
                    users::phone.eq(phone),
                    users::guest.eq(false),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?,
            None => diesel::update(users::table.find(id))
                .set((users::phone.eq(None::<String>), users::updated_at.eq(now)))
                .execute(conn)?,
        };
        Ok(())
    })
    .await
}
