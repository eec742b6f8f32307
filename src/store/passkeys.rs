//! The `passkeys` table (an account's WebAuthn credentials, found by credential id at sign-in) and
//! `passkey_ceremonies` (a registration's or an assertion's challenge state between its two requests, bound to
//! the browser, spent once by one conditional update so a challenge can never be answered twice).

use diesel::prelude::*;

use super::schema::{passkey_ceremonies, passkeys};
use super::users::User;
use super::{Database, StoreError, StoreResult};
use crate::clock::UnixTime;

/// One stored passkey.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The verified credential (public key, counter, flags) as JSON.
    pub credential: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// One ceremony between its options and its answer.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkey_ceremonies)]
pub struct CeremonyRow {
    pub id: String,
    /// What the ceremony is for: `register`, `sign_in` or `second_factor`.
    pub purpose: String,
    pub browser_binding: String,
    /// The account registering, or proving a second factor.
    pub user_id: Option<String>,
    /// The sign-in flow a second factor continues.
    pub flow_id: Option<String>,
    /// The library's ceremony state, as JSON.
    pub state: String,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// Stores a new passkey; `false` when its credential id is already registered (to any account).
pub async fn insert(db: &Database, row: PasskeyRow) -> StoreResult<bool> {
    let inserted = db
        .write(move |conn| {
            diesel::insert_into(passkeys::table).values(&row).execute(conn)?;
            Ok(())
        })
        .await;
    match inserted {
        Ok(()) => Ok(true),
        Err(StoreError::Duplicate(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// The account's passkeys, oldest first.
pub async fn find_by_user(db: &Database, user_id: String) -> StoreResult<Vec<PasskeyRow>> {
    db.run(move |conn| {
        Ok(passkeys::table
            .filter(passkeys::user_id.eq(&user_id))
            .order((passkeys::created_at.asc(), passkeys::id.asc()))
            .select(PasskeyRow::as_select())
            .load(conn)?)
    })
    .await
}

/// The passkey with this credential id, with its account.
pub async fn find_by_credential_id(db: &Database, credential_id: String) -> StoreResult<Option<(PasskeyRow, User)>> {
    db.run(move |conn| {
        Ok(passkeys::table
            .inner_join(super::schema::users::table)
            .filter(passkeys::credential_id.eq(&credential_id))
            .select((PasskeyRow::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    })
    .await
}

/// Records a use: when, and the credential as it is now (counter, backup flags).
pub async fn update_use(db: &Database, id: String, credential: Option<String>, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        let row = passkeys::table.find(&id);
        match credential {
            Some(credential) => diesel::update(row)
                .set((passkeys::last_used_at.eq(now), passkeys::credential.eq(credential)))
                .execute(conn)?,
            None => diesel::update(row).set(passkeys::last_used_at.eq(now)).execute(conn)?,
        };
        Ok(())
    })
    .await
}

/// Renames one of the account's passkeys; `false` when it has none with this id.
pub async fn update_name(db: &Database, user_id: String, id: String, name: String) -> StoreResult<bool> {
    db.write(move |conn| {
        let renamed = diesel::update(passkeys::table.find(&id).filter(passkeys::user_id.eq(&user_id)))
            .set(passkeys::name.eq(name))
            .execute(conn)?;
        Ok(renamed == 1)
    })
    .await
}

/// Removes one of the account's passkeys and returns it; `None` when it has none with this id.
pub async fn delete(db: &Database, user_id: String, id: String) -> StoreResult<Option<PasskeyRow>> {
    db.write(move |conn| {
        Ok(
            diesel::delete(passkeys::table.find(&id).filter(passkeys::user_id.eq(&user_id)))
                .returning(passkeys::all_columns)
                .get_result::<PasskeyRow>(conn)
                .optional()?,
        )
    })
    .await
}

/// Stores a ceremony, dropping those that expired before `now`.
pub async fn insert_ceremony(db: &Database, row: CeremonyRow, now: UnixTime) -> StoreResult<()> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::expires_at.lt(now))).execute(conn)?;
            diesel::insert_into(passkey_ceremonies::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    })
    .await
}

/// Spends the unused, unexpired ceremony `id` of this purpose started by this browser and returns it; `None`
/// when there is none (unknown, another browser's, expired or spent): one update decides, so of two answers
/// to one challenge only one is checked.
pub async fn spend_ceremony(
    db: &Database,
    id: String,
    purpose: &'static str,
    binding: String,
    now: UnixTime,
) -> StoreResult<Option<CeremonyRow>> {
    db.write(move |conn| {
        Ok(diesel::update(
            passkey_ceremonies::table
                .find(&id)
                .filter(passkey_ceremonies::purpose.eq(purpose))
                .filter(passkey_ceremonies::browser_binding.eq(&binding))
                .filter(passkey_ceremonies::used_at.is_null())
                .filter(passkey_ceremonies::expires_at.gt(now)),
        )
        .set(passkey_ceremonies::used_at.eq(now))
        .returning(passkey_ceremonies::all_columns)
        .get_result::<CeremonyRow>(conn)
        .optional()?)
    })
    .await
}
