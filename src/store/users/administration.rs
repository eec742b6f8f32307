//! What administrators do to accounts in the `users` table and beside it: finding them, resetting their second
//! factors, ending every sign-in.

use diesel::prelude::*;

use super::User;
use crate::clock::UnixTime;
use crate::store::private_tokens::revoke_private_tokens_of;
use crate::store::schema::{browser_sessions, passkeys, recovery_codes, sessions, totp_factors, users};
use crate::store::{Database, DbConnection, StoreError, StoreResult};

/// The query behind [`search`]: every account when `needle` is `None`, else those whose username, e-mail or
/// phone contains it (`needle` already lower-case, as usernames and addresses are stored).
fn matching(needle: Option<String>) -> users::BoxedQuery<'static, <DbConnection as diesel::Connection>::Backend> {
    let query = users::table.into_boxed();
    let Some(needle) = needle else { return query };
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    query.filter(
        users::username
            .like(pattern.clone())
            .escape('\\')
            .or(users::email.like(pattern.clone()).escape('\\').assume_not_null())
            .or(users::phone.like(pattern).escape('\\').assume_not_null()),
    )
}

/// One page of accounts, by username, with how many match in all.
pub async fn search(db: &Database, needle: Option<String>, offset: i64, limit: i64) -> StoreResult<(Vec<User>, i64)> {
    db.run(move |conn| {
        let total = matching(needle.clone()).count().get_result(conn)?;
        let users = matching(needle)
            .order(users::username.asc())
            .offset(offset)
            .limit(limit)
            .select(User::as_select())
            .load(conn)?;
        Ok((users, total))
    })
    .await
}

/// Ends every sign-in of the account: its token families, browser sessions and private tokens, for `reason`.
/// Returns how many token families and browser sessions ended.
pub async fn end_all_sign_ins(db: &Database, id: String, reason: &'static str, now: UnixTime) -> StoreResult<usize> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            let families = diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(&id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
            .execute(conn)?;
            let browsers = diesel::update(
                browser_sessions::table
                    .filter(browser_sessions::user_id.eq(&id))
                    .filter(browser_sessions::revoked_at.is_null()),
            )
            .set(browser_sessions::revoked_at.eq(now))
            .execute(conn)?;
            revoke_private_tokens_of(conn, &id, reason, now)?;
            Ok(families + browsers)
        })
    })
    .await
}

/// Takes away the account's second factors: the authenticator app, its recovery codes, its passkeys and the
/// PIN, and clears the lock-out, so the person can enroll again; with `phone`, the phone too (text messages are
/// a second factor to a verified number). Returns whether the account exists.
pub async fn reset_factors(db: &Database, id: String, phone: bool, now: UnixTime) -> StoreResult<bool> {
    db.write(move |conn| {
        conn.transaction::<_, StoreError, _>(|conn| {
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&id))).execute(conn)?;
            diesel::delete(totp_factors::table.find(&id)).execute(conn)?;
            diesel::delete(passkeys::table.filter(passkeys::user_id.eq(&id))).execute(conn)?;
            if phone {
                diesel::update(users::table.find(&id))
                    .set(users::phone.eq(None::<String>))
                    .execute(conn)?;
            }
            let updated = diesel::update(users::table.find(&id))
                .set((
                    users::pin_hash.eq(None::<String>),
                    users::failed_logins.eq(0),
                    users::locked_until.eq(None::<UnixTime>),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(updated == 1)
        })
    })
    .await
}
