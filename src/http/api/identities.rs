//! `/api/v1/user/identities`: the caller's sign-ins through upstream providers — listed, and unlinked (after a
//! recent interactive sign-in, keeping another way to sign in). Linking happens in the browser (the account's
//! security page), because the upstream round trip must come back to the session that started it.
//! `/api/v1/admin/users/{id}/identities`: administrators list an account's identities and link one by its
//! provider and subject (a member who will sign in through that provider).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::LinkedIdentity;
use crate::clock::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{Admin, ApiJson, Authenticated};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminLinkRequest {
    provider: Option<String>,
    /// The `sub` the provider gives the person.
    subject: Option<String>,
}

/// An account's linked identities.
pub async fn admin_list_identities(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.auth.accounts.find_user(&id).await?;
    let identities = state.auth.accounts.identities_of(&id).await?;
    let body: Vec<IdentityBody> = identities.into_iter().map(IdentityBody::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Links the identity `subject` at `provider` to an account.
pub async fn admin_link_identity(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<AdminLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let (provider, subject) = match body.into_inner() {
        AdminLinkRequest {
            provider: Some(provider),
            subject: Some(subject),
        } if !subject.trim().is_empty() => (provider, subject),
        AdminLinkRequest { provider, subject } => {
            return Err(ApiError::validation(
                [
                    ("provider", provider.is_none()),
                    ("subject", subject.as_deref().is_none_or(|s| s.trim().is_empty())),
                ]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(name, _)| (name, "is required".to_owned())),
            ));
        }
    };
    let (config, _) = state.federation.providers.find(&provider).await?;
    let linked = state
        .auth
        .accounts
        .admin_link_identity(&id, &provider, config.issuer(), subject.trim(), state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(IdentityBody::from(linked)))
}
