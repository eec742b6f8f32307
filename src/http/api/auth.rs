//! `POST /api/v1/auth/login` (with its second-factor steps `/mfa` and `/mfa/challenge`), `/refresh` and
//! `/logout`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::{TokenPairBody, token_response};
use crate::auth::Freshness;
use crate::auth::flow::{Door, LoginStep, Next, NextStep};
use crate::auth::mfa::{Method, SentCode};
use crate::http::applications::RequestApp;
use crate::http::client_ip::{ClientAddress, request_ip};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::extract::Authenticated;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    login: Option<String>,
    password: Option<String>,
    /// A private token to exchange for a short-lived access token, instead of a login and password.
    application_token: Option<String>,
    /// The captcha widget's response, when a captcha is configured.
    captcha_token: Option<String>,
}

/// The answer to a step of a sign-in that needs another: no tokens yet. `next` names the step and
/// `flow_token` the sign-in; a second factor keeps the `mfa_required` / `mfa_token` names as well.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct NextStepBody {
    next: &'static str,
    flow_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    methods: Option<Vec<&'static str>>,
    /// The code already sent (a code sign-in; a text message as the second factor).
    #[serde(skip_serializing_if = "Option::is_none")]
    code_sent: Option<CodeSent>,
    /// The proofs of contact a verification accepts (either one does).
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<Vec<&'static str>>,
    /// The account's address, masked, where an e-mail verification code goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

impl From<Next> for NextStepBody {
    fn from(next: Next) -> Self {
        let mut body = Self {
            next: next.step.name(),
            flow_token: next.token,
            mfa_required: None,
            mfa_token: None,
            methods: None,
            code_sent: None,
            channels: None,
            email: None,
        };
        match next.step {
            NextStep::Code { sent } => body.code_sent = Some(sent.into()),
            NextStep::SecondFactor { methods, sent } => {
                body.mfa_required = Some(true);
                body.mfa_token = Some(body.flow_token.clone());
                body.methods = Some(methods.iter().map(|m| m.as_str()).collect());
                body.code_sent = sent.map(CodeSent::from);
            }
            NextStep::Verification { channels, email } => {
                body.channels = Some(channels.iter().map(|c| c.as_str()).collect());
                body.email = email;
            }
            // Only a signed-in browser is asked for its PIN this way; the REST API's is `/auth/step-up`.
            NextStep::Pin => {}
        }
        body
    }
}

/// A sign-in step's answer: the token pair, or the next step (`next` names it).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(super) enum LoginStepBody {
    SignedIn(TokenPairBody),
    Next(NextStepBody),
}

/// A REST sign-in step's answer: the token pair, or the next step.
pub(super) fn step_response(step: LoginStep) -> HttpResponse {
    let body = match step {
        LoginStep::SignedIn(pair) => LoginStepBody::SignedIn(TokenPairBody::from(*pair)),
        LoginStep::Next(next) => LoginStepBody::Next(NextStepBody::from(next)),
    };
    token_response(StatusCode::OK, body)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    mfa_token: Option<String>,
    method: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaChallengeRequest {
    mfa_token: Option<String>,
    method: Option<String>,
}

/// A code on its way.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeSent {
    sent: bool,
    channel: &'static str,
    destination: String,
    expires_in: i64,
}

impl From<SentCode> for CodeSent {
    fn from(sent: SentCode) -> Self {
        Self {
            sent: true,
            channel: sent.channel.as_str(),
            destination: sent.destination,
            expires_in: sent.expires_in,
        }
    }
}

/// The answer to an application-token exchange: an access token and nothing to refresh it with.
#[derive(Serialize, utoipa::ToSchema)]
struct ExchangedToken {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
    /// The app was offloaded or restarted: the application's idle check applies now.
    #[serde(default)]
    resume: bool,
}

/// Signs in with a username or e-mail and a password, for the API key's application; or exchanges an
/// application (private) token for a short-lived access token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "sign-in",
    summary = "Sign in with a login and password, or exchange an application token",
    request_body = LoginRequest,
    responses((
        status = 200,
        description = "The token pair, or the next step; an application token's exchange answers \
                       `{access_token, token_type, expires_in}` alone",
        body = LoginStepBody
    )),
    security(("api_key" = []))
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        login,
        password,
        application_token,
        captcha_token,
    } = body.into_inner();
    if let Some(token) = application_token {
        if login.is_some() || password.is_some() {
            return Err(ApiError::validation([(
                "application_token",
                "is sent alone, without login and password".to_owned(),
            )]));
        }
        let ip = request_ip(&req);
        let access = state
            .auth
            .private_tokens
            .exchange_private_token(&token, &app.0, ip, state.clock.now())
            .await?;
        return Ok(token_response(
            StatusCode::OK,
            ExchangedToken {
                access_token: access.token,
                token_type: "Bearer",
                expires_in: access.expires_in,
            },
        ));
    }
    let (Some(login), Some(password)) = (&login, &password) else {
        return Err(missing_fields(&[
            ("login", login.is_none()),
            ("password", password.is_none()),
        ]));
    };
    let step = state
        .auth
        .sign_in
        .login(
            &app.0,
            login,
            password,
            captcha_token.as_deref(),
            &client.0,
            state.clock.now(),
        )
        .await?;
    Ok(step_response(step))
}

/// Completes a sign-in that needs a second factor: the `mfa_token`, a method and its code.
#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa",
    tag = "sign-in",
    summary = "Complete a sign-in with a second factor",
    request_body = MfaRequest,
    responses((status = 200, description = "OK", body = LoginStepBody)),
    security(("api_key" = []))
)]
pub async fn complete_mfa(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<MfaRequest>,
) -> Result<HttpResponse, ApiError> {
    let MfaRequest {
        mfa_token,
        method,
        code,
    } = body.into_inner();
    let (Some(token), Some(method), Some(code)) = (&mfa_token, &method, &code) else {
        return Err(missing_fields(&[
            ("mfa_token", mfa_token.is_none()),
            ("method", method.is_none()),
            ("code", code.is_none()),
        ]));
    };
    let method = parse_method(method)?;
    let step = state
        .auth
        .sign_in
        .login_second_factor(&app.0, token, method, code, &client.0, state.clock.now())
        .await?;
    Ok(step_response(step))
}

/// Sends a code for a pending sign-in, by SMS or e-mail.
#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/challenge",
    tag = "sign-in",
    summary = "Send a second-factor code by SMS or e-mail",
    request_body = MfaChallengeRequest,
    responses((status = 202, description = "Accepted: the code is on its way", body = CodeSent)),
    security(("api_key" = []))
)]
pub async fn send_mfa_code(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<MfaChallengeRequest>,
) -> Result<HttpResponse, ApiError> {
    let MfaChallengeRequest { mfa_token, method } = body.into_inner();
    let (Some(token), Some(method)) = (&mfa_token, &method) else {
        return Err(missing_fields(&[
            ("mfa_token", mfa_token.is_none()),
            ("method", method.is_none()),
        ]));
    };
    let method = match parse_method(method)? {
        method @ (Method::Sms | Method::Email) => method,
        _ => {
            return Err(ApiError::validation([(
                "method",
                "must be sms or email: only those are sent".to_owned(),
            )]));
        }
    };
    let sent = state
        .auth
        .sign_in
        .send_second_factor_code(token, Door::Api(&app.0), method, &client.0.key, state.clock.now())
        .await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// Exchanges a refresh token for a new pair; the presented token is spent.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "sign-in",
    summary = "Exchange a refresh token for a new pair",
    request_body = RefreshRequest,
    responses((status = 200, description = "OK", body = TokenPairBody)),
    security(("api_key" = []))
)]
pub async fn refresh(
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: ApiJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let RefreshRequest { refresh_token, resume } = body.into_inner();
    let Some(refresh_token) = refresh_token else {
        return Err(missing_fields(&[("refresh_token", true)]));
    };
    let pair = state
        .auth
        .sessions
        .refresh(
            &refresh_token,
            &app.0,
            client.0.ip,
            Freshness::Refresh { resume },
            state.clock.now(),
        )
        .await?;
    Ok(token_response(StatusCode::OK, TokenPairBody::from(pair)))
}

/// Ends the caller's session and revokes every token of it.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "sign-in",
    summary = "End the caller's session",
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn logout(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    state.auth.sessions.logout(&caller.0, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A second-factor method by name; anything else is a 422 naming the field.
pub(super) fn parse_method(name: &str) -> Result<Method, ApiError> {
    Method::parse(name)
        .ok_or_else(|| ApiError::validation([("method", "must be one of totp, sms, email, recovery_code".to_owned())]))
}

/// 422 naming each required field that is absent (`(name, is_missing)`).
pub(super) fn missing_fields(fields: &[(&'static str, bool)]) -> ApiError {
    ApiError::validation(
        fields
            .iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| (*name, "is required".to_owned())),
    )
}
