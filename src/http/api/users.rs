//! `POST /api/v1/users` (signup, or account creation by an administrator), `GET` and `PATCH /api/v1/user`
//! and `PUT /api/v1/user/password`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::NextStepBody;
use super::body::{TokenPairBody, UserBody, token_response};
use crate::auth::{NewAccount, SignupOutcome};
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::extract::{Authenticated, MaybeAuthenticated};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    /// The captcha widget's response, when a captcha is configured (self-service signup only).
    captcha_token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CreatedUser {
    user: UserBody,
}

/// A self-service signup that needs another step before any token: the account and the step.
#[derive(Serialize, utoipa::ToSchema)]
struct CreatedWithNextStep {
    user: UserBody,
    #[serde(flatten)]
    next: NextStepBody,
}

/// Creates an account: self-service signup answers with a token pair (or, when a second factor is needed
/// first, an `mfa_token`), an administrator gets the account.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "account",
    summary = "Create an account (self-service signup, or by an administrator)",
    request_body = CreateUserRequest,
    responses((
        status = 201,
        description = "The token pair of a self-service signup; `{user, next, flow_token, …}` when a step is due \
                       first (a second factor, a verification); `{user}` alone for an administrator's account",
        body = TokenPairBody
    )),
    security(("api_key" = []), ("api_key" = [], "bearer" = []))
)]
pub async fn create_user(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    caller: MaybeAuthenticated,
    body: ApiJson<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateUserRequest {
        username,
        email,
        password,
        captcha_token,
    } = body.into_inner();
    let account = NewAccount {
        username,
        email,
        password,
    };
    let outcome = state
        .auth
        .sign_in
        .signup(
            caller.0.as_ref(),
            &app.0,
            account,
            captcha_token.as_deref(),
            &client.0,
            state.clock.now(),
        )
        .await?;
    Ok(match outcome {
        SignupOutcome::SignedUp(pair) => token_response(StatusCode::CREATED, TokenPairBody::from(pair)),
        SignupOutcome::Next { user, next } => token_response(
            StatusCode::CREATED,
            CreatedWithNextStep {
                user: user.into(),
                next: next.into(),
            },
        ),
        SignupOutcome::CreatedByAdmin(user) => HttpResponse::Created().json(CreatedUser { user: user.into() }),
    })
}

/// The signed-in account.
#[utoipa::path(
    get,
    path = "/api/v1/user",
    tag = "account",
    summary = "The signed-in account",
    responses((status = 200, description = "OK", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_current_user(caller: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(UserBody::from(caller.0.user))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The display name (at most 128 characters); `null` or empty removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
}

/// A field that was sent, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes the signed-in account's profile: its display name.
#[utoipa::path(
    patch,
    path = "/api/v1/user",
    tag = "account",
    summary = "Change the signed-in account's display name",
    request_body = UpdateUserRequest,
    responses((status = 200, description = "The account as it is now", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn update_current_user(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: ApiJson<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(name) = body.into_inner().name else {
        return Err(super::auth::missing_fields(&[("name", true)]));
    };
    let user = state
        .auth
        .accounts
        .set_name(&caller.0, name.as_deref(), state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Changes the caller's password (or sets the first one of an account without); every other sign-in of the
/// account ends.
#[utoipa::path(
    put,
    path = "/api/v1/user/password",
    tag = "account",
    summary = "Change the caller's password",
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn change_password(
    state: web::Data<AppState>,
    client: ClientAddress,
    caller: Authenticated,
    body: ApiJson<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    let Some(new) = &new_password else {
        return Err(super::auth::missing_fields(&[("new_password", true)]));
    };
    state
        .auth
        .accounts
        .change_password(
            &caller.0,
            current_password.as_deref(),
            new,
            &client.0.key,
            state.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
