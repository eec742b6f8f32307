//! `/api/v1/user/identities`: the caller's sign-ins through upstream providers — listed, and unlinked (after a
//! recent interactive sign-in, keeping another way to sign in). Linking happens in the browser (the account's
//! security page), because the upstream round trip must come back to the session that started it.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::LinkedIdentity;
use crate::clock::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::state::AppState;

#[derive(Serialize)]
struct IdentityBody {
    id: String,
    provider: String,
    email: Option<String>,
    created_at: String,
    last_used_at: String,
}

impl From<LinkedIdentity> for IdentityBody {
    fn from(identity: LinkedIdentity) -> Self {
        Self {
            id: identity.id,
            provider: identity.provider_id,
            email: identity.email,
            created_at: rfc3339(identity.created_at),
            last_used_at: rfc3339(identity.last_used_at),
        }
    }
}

/// The caller's linked identities, oldest first.
pub async fn list_identities(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    let identities = state.auth.accounts.identities(&caller.0).await?;
    let body: Vec<IdentityBody> = identities.into_iter().map(IdentityBody::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Unlinks one of the caller's identities.
pub async fn unlink_identity(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .accounts
        .unlink_identity(&caller.0, &id, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
