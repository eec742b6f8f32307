//! The steps of a sign-in beyond the password: passwordless sign-in by code (`/auth/code`, `/code/resend`,
//! `/code/verify`) and the proof of contact an application may ask for (`/auth/verify/send`, `/auth/verify`).
//! Each translates a request into a step of the flow in `auth::flow`, and the step into JSON.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::{CodeSent, LoginStepBody, NextStepBody, missing_fields, step_response};
use super::body::{TokenPairBody, token_response};
use crate::apps::policy::ContactChannel;
use crate::auth::flow::{Door, LoginStep};
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, OptionalApiJson};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeStartRequest {
    email: Option<String>,
    phone: Option<String>,
    captcha_token: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowRequest {
    flow_token: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowCodeRequest {
    flow_token: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationSendRequest {
    flow_token: Option<String>,
    channel: Option<String>,
    /// The address to prove, for an account without one.
    email: Option<String>,
    /// The number to prove.
    phone: Option<String>,
}

/// `POST /api/v1/auth/code`: a sign-in code to an e-mail address or a phone number. The answer is the same
/// whether or not the address has an account.
#[utoipa::path(
    post,
    path = "/api/v1/auth/code",
    tag = "sign-in",
    summary = "Start a sign-in by a code sent to an address or number",
    request_body = CodeStartRequest,
    responses((status = 200, description = "OK", body = NextStepBody)),
    security(("api_key" = []))
)]
pub async fn start_code(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<CodeStartRequest>,
) -> Result<HttpResponse, ApiError> {
    let CodeStartRequest {
        email,
        phone,
        captcha_token,
    } = body.into_inner();
    let identifier = match (email, phone) {
        (Some(email), None) => email,
        (None, Some(phone)) => phone,
        (Some(_), Some(_)) => {
            return Err(ApiError::validation([(
                "email",
                "send either email or phone, not both".to_owned(),
            )]));
        }
        (None, None) => {
            return Err(ApiError::validation([("email", "is required (or phone)".to_owned())]));
        }
    };
    let next = state
        .auth
        .sign_in
        .start_code_sign_in(
            &app.0,
            Door::Api(&app.0),
            &identifier,
            captcha_token.as_deref(),
            &client.0,
            state.clock.now(),
        )
        .await?;
    Ok(token_response(
        actix_web::http::StatusCode::OK,
        NextStepBody::from(next),
    ))
}

/// `POST /api/v1/auth/code/resend`: the code again, after the cool-down.
#[utoipa::path(
    post,
    path = "/api/v1/auth/code/resend",
    tag = "sign-in",
    summary = "Send the sign-in code again",
    request_body = FlowRequest,
    responses((status = 202, description = "Accepted: the code is on its way", body = CodeSent)),
    security(("api_key" = []))
)]
pub async fn resend_code(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<FlowRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(token) = body.into_inner().flow_token else {
        return Err(missing_fields(&[("flow_token", true)]));
    };
    let sent = state
        .auth
        .sign_in
        .resend_sign_in_code(&token, Door::Api(&app.0), &client.0, state.clock.now())
        .await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// `POST /api/v1/auth/code/verify`: the code → the token pair, or the next step.
#[utoipa::path(
    post,
    path = "/api/v1/auth/code/verify",
    tag = "sign-in",
    summary = "Complete a code sign-in",
    request_body = FlowCodeRequest,
    responses((status = 200, description = "OK", body = LoginStepBody)),
    security(("api_key" = []))
)]
pub async fn verify_code(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<FlowCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, code) = flow_and_code(body.into_inner())?;
    let now = state.clock.now();
    let progress = state
        .auth
        .sign_in
        .complete_code_sign_in(&token, Door::Api(&app.0), &code, &client.0, now)
        .await?;
    Ok(step_response(
        state.auth.sign_in.tokens_or_next(progress, &app.0, now).await?,
    ))
}

/// `POST /api/v1/auth/verify/send`: a code proving an address or a number, for a sign-in that needs it.
#[utoipa::path(
    post,
    path = "/api/v1/auth/verify/send",
    tag = "sign-in",
    summary = "Send a verification code for a sign-in that needs one",
    request_body = VerificationSendRequest,
    responses((status = 202, description = "Accepted: the code is on its way", body = CodeSent)),
    security(("api_key" = []))
)]
pub async fn send_verification(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<VerificationSendRequest>,
) -> Result<HttpResponse, ApiError> {
    let VerificationSendRequest {
        flow_token,
        channel,
        email,
        phone,
    } = body.into_inner();
    let (Some(token), Some(channel)) = (&flow_token, &channel) else {
        return Err(missing_fields(&[
            ("flow_token", flow_token.is_none()),
            ("channel", channel.is_none()),
        ]));
    };
    let channel = ContactChannel::parse(channel)
        .ok_or_else(|| ApiError::validation([("channel", "must be email or sms".to_owned())]))?;
    let destination = match channel {
        ContactChannel::Email => email,
        ContactChannel::Sms => phone,
    };
    let sent = state
        .auth
        .sign_in
        .send_verification_code(
            token,
            Door::Api(&app.0),
            channel,
            destination.as_deref(),
            &client.0,
            state.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// `POST /api/v1/auth/verify`: the verification code → the token pair, or the next step.
#[utoipa::path(
    post,
    path = "/api/v1/auth/verify",
    tag = "sign-in",
    summary = "Complete a sign-in's verification",
    request_body = FlowCodeRequest,
    responses((status = 200, description = "OK", body = LoginStepBody)),
    security(("api_key" = []))
)]
pub async fn complete_verification(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<FlowCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, code) = flow_and_code(body.into_inner())?;
    let now = state.clock.now();
    let progress = state
        .auth
        .sign_in
        .complete_verification(&token, Door::Api(&app.0), &code, &client.0, now)
        .await?;
    Ok(step_response(
        state.auth.sign_in.tokens_or_next(progress, &app.0, now).await?,
    ))
}

pub(super) fn flow_and_code(request: FlowCodeRequest) -> Result<(String, String), ApiError> {
    match request {
        FlowCodeRequest {
            flow_token: Some(token),
            code: Some(code),
        } => Ok((token, code)),
        FlowCodeRequest { flow_token, code } => Err(missing_fields(&[
            ("flow_token", flow_token.is_none()),
            ("code", code.is_none()),
        ])),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestRequest {
    /// The refresh token of the device's guest, to go on as that guest.
    refresh_token: Option<String>,
}

/// `POST /api/v1/auth/guest`: a token pair for a new guest of an open application, or the next pair of the
/// device's guest.
#[utoipa::path(
    post,
    path = "/api/v1/auth/guest",
    tag = "sign-in",
    summary = "Sign in as a guest of an open application",
    request_body(content = GuestRequest, description = "May be left out"),
    responses((status = 200, description = "OK", body = TokenPairBody)),
    security(("api_key" = []))
)]
pub async fn guest(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: OptionalApiJson<GuestRequest>,
) -> Result<HttpResponse, ApiError> {
    let refresh_token = body.0.and_then(|b| b.refresh_token);
    let pair = state
        .auth
        .accounts
        .guest_tokens(&app.0, refresh_token.as_deref(), &client.0, state.clock.now())
        .await?;
    Ok(step_response(LoginStep::SignedIn(Box::new(pair))))
}
