//! `POST /api/v1/users` (signup, or account creation by an administrator) and `GET /api/v1/user`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::{TokenPairBody, UserBody, token_response};
use crate::auth::{NewAccount, SignupOutcome};
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::{Authenticated, MaybeAuthenticated};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[derive(Serialize)]
struct CreatedUser {
    user: UserBody,
}

/// Creates an account: self-service signup answers with a token pair, an administrator gets the account.
pub async fn create_user(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    caller: MaybeAuthenticated,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateUserRequest {
        username,
        email,
        password,
    } = body.into_inner();
    let account = NewAccount {
        username,
        email,
        password,
    };
    let outcome = state
        .auth
        .signup(caller.0.as_ref(), &app.0, account, &client.0, state.clock.now())
        .await?;
    Ok(match outcome {
        SignupOutcome::SignedUp(pair) => token_response(StatusCode::CREATED, TokenPairBody::from(pair)),
        SignupOutcome::CreatedByAdmin(user) => HttpResponse::Created().json(CreatedUser { user: user.into() }),
    })
}

/// The signed-in account.
pub async fn get_current_user(caller: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(UserBody::from(caller.0.user))
}
