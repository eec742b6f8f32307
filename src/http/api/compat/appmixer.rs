//! The appmixer profile: `POST /user/auth` (a username or an e-mail address and a password → the account and an
//! access token), `POST /user` (sign-up → a token; `API_USER_CREATE_SCOPE=admin` makes it an administrator's
//! call) and `GET /user` (the bearer's account, its scopes and plan). Errors are `{"error": "…"}` with the native
//! status and words (the signup limits' words are that product's).

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::apps::profiles::Profile;
use crate::auth::flow::LoginStep;
use crate::auth::{ADMIN_SCOPE, NewAccount, SignupOutcome};
use crate::http::api::auth::{NextStepBody, missing_fields};
use crate::http::api::body::token_response;
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Authenticated, MaybeAuthenticated};
use crate::state::AppState;
use crate::store::users::User;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// An account as that product shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppmixerUser {
    id: String,
    username: String,
    is_active: bool,
    email: Option<String>,
    plan: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<Vec<&'static str>>,
}

impl AppmixerUser {
    fn of(user: User) -> Self {
        Self {
            id: user.id,
            username: user.username,
            is_active: user.is_active,
            email: user.email,
            plan: user.plan,
            scope: None,
        }
    }

    /// With `scope`: `user`, and `admin` for administrators.
    fn with_scope(user: User) -> Self {
        let admin = user.scopes.split_whitespace().any(|s| s == ADMIN_SCOPE);
        let scope = if admin { vec!["user", ADMIN_SCOPE] } else { vec!["user"] };
        Self {
            scope: Some(scope),
            ..Self::of(user)
        }
    }
}

#[derive(Serialize)]
struct SignedIn {
    user: AppmixerUser,
    token: String,
}

#[derive(Serialize)]
struct Created {
    token: String,
}

/// An answer that is not a token yet: the account, and the step the native API continues with.
#[derive(Serialize)]
struct NotYet {
    user: AppmixerUser,
    #[serde(flatten)]
    next: NextStepBody,
}

/// `POST /user/auth`.
pub async fn authenticate(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<AuthRequest>,
) -> Result<HttpResponse, ApiError> {
    let AuthRequest {
        username,
        email,
        password,
    } = body.into_inner();
    let login = username.or(email);
    let (Some(login), Some(password)) = (&login, &password) else {
        return Err(missing_fields(&[
            ("username", login.is_none()),
            ("password", password.is_none()),
        ]));
    };
    let step = state
        .auth
        .sign_in
        .login(&app.0, login, password, None, &client.0, state.clock.now())
        .await?;
    Ok(match step {
        LoginStep::SignedIn(pair) => token_response(
            StatusCode::OK,
            SignedIn {
                token: pair.access.token,
                user: AppmixerUser::of(pair.user),
            },
        ),
        LoginStep::Next(next) => token_response(StatusCode::OK, NextStepBody::from(next)),
    })
}

/// `POST /user`: a sign-up (or, with `API_USER_CREATE_SCOPE=admin`, an administrator's new account).
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
    } = body.into_inner();
    let account = NewAccount {
        username,
        email,
        password,
    };
    let outcome = state
        .auth
        .sign_in
        .signup(caller.0.as_ref(), &app.0, account, None, &client.0, state.clock.now())
        .await?;
    Ok(match outcome {
        SignupOutcome::SignedUp(pair) => token_response(
            StatusCode::OK,
            Created {
                token: pair.access.token,
            },
        ),
        SignupOutcome::Next { user, next } => token_response(
            StatusCode::OK,
            NotYet {
                user: AppmixerUser::of(user),
                next: next.into(),
            },
        ),
        SignupOutcome::CreatedByAdmin(user) => HttpResponse::Ok().json(AppmixerUser::with_scope(user)),
    })
}

/// `GET /user`.
pub async fn current_user(caller: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(AppmixerUser::with_scope(caller.0.user))
}

/// Turns the native error body (`{"code", "detail", …}`) into that product's `{"error": "…"}`, keeping the
/// status and every header. A profile that is off answers natively (its paths do not exist).
pub async fn error_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let on = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.profiles.application(Profile::Appmixer).is_some());
    let res = next.call(req).await?;
    if !on || !(res.status().is_client_error() || res.status().is_server_error()) {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("an unreadable error body"))?;
    let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|value| value.get("detail").and_then(|d| d.as_str()).map(str::to_owned));
    let Some(detail) = detail else {
        return Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(bytes))));
    };
    let translated = serde_json::json!({ "error": detail }).to_string();
    head.headers_mut().remove(CONTENT_LENGTH);
    head.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(translated))))
}
