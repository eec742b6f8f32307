//! `/api/v1/admin/users/{id}`: an account as administrators see and change it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::body::UserBody;
use crate::http::error::ApiError;
use crate::http::extract::Admin;
use crate::http::extract::ApiJson;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    is_active: Option<bool>,
    plan: Option<String>,
}

pub async fn get_user(_: Admin, state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = state.auth.accounts.find_user(&id).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

/// Enables or disables an account. Disabling stops its tokens at once and revokes its private tokens.
pub async fn update_user(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut user = state.auth.accounts.find_user(&id).await?;
    let UpdateUserRequest { is_active, plan } = body.into_inner();
    if let Some(plan) = plan {
        user = state.auth.accounts.set_plan(user, &plan, state.clock.now()).await?;
    }
    if let Some(active) = is_active {
        user = state
            .auth
            .accounts
            .set_user_active(user, active, state.clock.now())
            .await?;
    }
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}
