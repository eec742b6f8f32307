//! `/api/v1/admin/users`: accounts as administrators find, see and change them.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::UserBody;
use crate::http::error::ApiError;
use crate::http::extract::Admin;
use crate::http::extract::ApiJson;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    is_active: Option<bool>,
    plan: Option<String>,
    admin: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A part of the username, e-mail address or phone number (case-insensitive).
    query: Option<String>,
    /// The page, from 1.
    page: Option<i64>,
    /// Accounts per page, 1 to 100.
    per_page: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct UserListBody {
    users: Vec<UserBody>,
    page: i64,
    per_page: i64,
    /// How many accounts match in all.
    total: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct EndedBody {
    /// How many token families and browser sessions ended.
    ended: usize,
}

/// Accounts whose username, e-mail or phone contains `query`, by username, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin: users",
    summary = "Search the accounts",
    params(SearchQuery),
    responses((status = 200, description = "OK", body = UserListBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_users(
    _: Admin,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let SearchQuery { query, page, per_page } = query.into_inner();
    let (page, per_page) = (page.unwrap_or(1), per_page.unwrap_or(50));
    let found = state.auth.accounts.search(query.as_deref(), page, per_page).await?;
    Ok(HttpResponse::Ok().json(UserListBody {
        users: found.users.into_iter().map(UserBody::from).collect(),
        page,
        per_page,
        total: found.total,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}",
    tag = "admin: users",
    summary = "An account",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_user(_: Admin, state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = state.auth.accounts.find_user(&id).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

/// Enables or disables an account, sets its plan, grants or takes away the administrator role. Disabling
/// stops its tokens at once and revokes its private tokens.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/users/{id}",
    tag = "admin: users",
    summary = "Change an account's state, plan or administrator scope",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = UpdateUserRequest,
    responses((status = 200, description = "OK", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn update_user(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let accounts = &state.auth.accounts;
    let now = state.clock.now();
    let mut user = accounts.find_user(&id).await?;
    let UpdateUserRequest { is_active, plan, admin } = body.into_inner();
    if let Some(plan) = plan {
        user = accounts.set_plan(user, &plan, now).await?;
    }
    if let Some(admin) = admin {
        user = accounts.set_admin(user, admin, now).await?;
    }
    if let Some(active) = is_active {
        user = accounts.set_user_active(user, active, now).await?;
    }
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

/// Takes away the account's second factors (authenticator app, recovery codes, PIN, a phone beside an
/// e-mail address) for a person who lost them.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/factors",
    tag = "admin: users",
    summary = "Remove an account's second factors",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn reset_factors(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = state.auth.accounts.find_user(&id).await?;
    state.auth.accounts.reset_factors(&user, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends every sign-in of the account: token families, browser sessions and private tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/sessions",
    tag = "admin: users",
    summary = "End every sign-in of an account",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = EndedBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn end_all_sign_ins(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = state.auth.accounts.find_user(&id).await?;
    let ended = state.auth.accounts.end_all_sign_ins(&user, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(EndedBody { ended }))
}
