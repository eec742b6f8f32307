//! `PUT` and `DELETE /api/v1/user/pin`: the caller's PIN, set or changed (with the current PIN, or after a
//! recent interactive sign-in) and removed (likewise); `PUT /api/v1/admin/users/{id}/pin`: an administrator sets one.
//! Each translates the request into `Accounts`, which holds the rules.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::missing_fields;
use crate::http::applications::RequestApp;
use crate::http::error::ApiError;
use crate::http::extract::{Admin, ApiJson, Authenticated, OptionalApiJson};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    pin: Option<String>,
    /// The PIN set now, instead of a recent sign-in.
    current_pin: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminPinRequest {
    pin: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovePinRequest {
    current_pin: Option<String>,
}

/// Sets or changes the caller's PIN, in the format of the API key's application.
#[utoipa::path(
    put,
    path = "/api/v1/user/pin",
    tag = "account",
    summary = "Set or change the caller's PIN",
    request_body = PinRequest,
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn set_pin(
    state: web::Data<AppState>,
    caller: Authenticated,
    app: RequestApp,
    body: ApiJson<PinRequest>,
) -> Result<HttpResponse, ApiError> {
    let PinRequest { pin, current_pin } = body.into_inner();
    let Some(pin) = pin else {
        return Err(missing_fields(&[("pin", true)]));
    };
    state
        .auth
        .accounts
        .set_pin(
            &caller.0,
            &pin,
            current_pin.as_deref(),
            app.0.policy.pin_format,
            state.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes the caller's PIN: after a recent interactive sign-in, or with `{"current_pin"}` (the body may be left
/// out).
#[utoipa::path(
    delete,
    path = "/api/v1/user/pin",
    tag = "account",
    summary = "Remove the caller's PIN",
    request_body(content = RemovePinRequest, description = "May be left out"),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn remove_pin(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: OptionalApiJson<RemovePinRequest>,
) -> Result<HttpResponse, ApiError> {
    let current_pin = body.0.and_then(|request| request.current_pin);
    state
        .auth
        .accounts
        .remove_pin(&caller.0, current_pin.as_deref(), state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An administrator sets an account's PIN, in the format of the API key's application.
#[utoipa::path(
    put,
    path = "/api/v1/admin/users/{id}/pin",
    tag = "admin: users",
    summary = "Set an account's PIN",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = AdminPinRequest,
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn admin_set_pin(
    _: Admin,
    state: web::Data<AppState>,
    app: RequestApp,
    id: web::Path<String>,
    body: ApiJson<AdminPinRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(pin) = body.into_inner().pin else {
        return Err(missing_fields(&[("pin", true)]));
    };
    state
        .auth
        .accounts
        .admin_set_pin(&id, &pin, app.0.policy.pin_format, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
