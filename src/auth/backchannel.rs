//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.7): which ends of a session owe logout tokens,
//! and to whom. Every service function that ends a browser session or an account's sign-ins calls
//! [`owe_logout_tokens`] once, so RP-initiated logout, `/logout`, the account's own sessions page and an
//! administrator ending every sign-in all notify the same clients. The tokens wait in the outbox
//! (`store::backchannel_logouts`); `oidc::backchannel` signs and sends them.

use crate::clock::UnixTime;
use crate::store::backchannel_logouts::{self, Ended};
use crate::store::{Database, StoreError};

/// Writes the logout tokens `ended` owes to the clients that registered a `backchannel_logout_uri`:
/// - a browser session that was live until now: one token with its `sid` to every client that holds a token
///   family granted in it (an ID token with that `sid` was issued to it);
/// - an account's sign-ins: one token per client and browser session of each live token family (with `sid`
///   when the family was granted in a browser, `sub` alone otherwise).
///
/// A client that requires `sid` gets no token for a family made without a browser session. Call it when the
/// browser session has just ended, or before the account's families are revoked (only live ones count).
pub(super) async fn owe_logout_tokens(db: &Database, ended: Ended, now: UnixTime) -> Result<usize, StoreError> {
    let made = backchannel_logouts::enqueue(db, ended.clone(), now).await?;
    if made > 0 {
        tracing::info!(?ended, made, "back-channel logout tokens owed");
    }
    Ok(made)
}
