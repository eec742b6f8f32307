//! The signed-in user's second factors and contact details: `/api/v1/user/mfa/…` (authenticator app,
//! recovery codes), `/api/v1/user/phone…` and `/api/v1/user/email/…` (verification by code, and changing the
//! address).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::{CodeSent, missing_fields};
use super::body::{UserBody, token_response};
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::http::extract::{ApiJson, OptionalApiJson};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordAndCode {
    password: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    phone: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Enrollment {
    secret: String,
    otpauth_uri: String,
    qr_png_base64: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MfaStatus {
    /// The methods a sign-in of this account can be completed with; empty: a password suffices.
    methods: Vec<&'static str>,
    recovery_codes_left: i64,
}

/// The account's second factors.
#[utoipa::path(
    get,
    path = "/api/v1/user/mfa",
    tag = "account",
    summary = "The caller's second factors",
    responses((status = 200, description = "OK", body = MfaStatus)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_mfa(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    let user = &caller.0.user;
    let methods = state.auth.factors.second_factors(user).await?;
    let recovery_codes_left = state.auth.factors.recovery_codes_left(user).await?;
    Ok(HttpResponse::Ok().json(MfaStatus {
        methods: methods.iter().map(|m| m.as_str()).collect(),
        recovery_codes_left,
    }))
}

/// Starts adding an authenticator app: the secret, its `otpauth://` URI and a QR code of it.
#[utoipa::path(
    post,
    path = "/api/v1/user/mfa/totp",
    tag = "account",
    summary = "Start enrolling an authenticator app",
    responses((status = 200, description = "OK", body = Enrollment)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn start_totp(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    let enrollment = state.auth.factors.start_totp(&caller.0, state.clock.now()).await?;
    Ok(token_response(
        StatusCode::OK,
        Enrollment {
            secret: enrollment.secret,
            otpauth_uri: enrollment.otpauth_uri,
            qr_png_base64: enrollment.qr_png_base64,
        },
    ))
}

/// Turns the authenticator on with its first code; answers the recovery codes, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/user/mfa/totp/confirm",
    tag = "account",
    summary = "Confirm the authenticator app with a code",
    request_body = CodeRequest,
    responses((status = 200, description = "OK", body = RecoveryCodes)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: ApiJson<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = required_code(body.into_inner().code)?;
    let recovery_codes = state
        .auth
        .factors
        .confirm_totp(&caller.0, &code, state.clock.now())
        .await?;
    Ok(token_response(StatusCode::OK, RecoveryCodes { recovery_codes }))
}

/// Turns the authenticator off: the password and a current code.
#[utoipa::path(
    delete,
    path = "/api/v1/user/mfa/totp",
    tag = "account",
    summary = "Remove the authenticator app",
    request_body = PasswordAndCode,
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn disable_totp(
    state: web::Data<AppState>,
    client: ClientAddress,
    caller: Authenticated,
    body: ApiJson<PasswordAndCode>,
) -> Result<HttpResponse, ApiError> {
    let (password, code) = password_and_code(body.into_inner())?;
    state
        .auth
        .factors
        .disable_totp(&caller.0, &password, &code, &client.0.key, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// New recovery codes for the old: the password and a current code.
#[utoipa::path(
    post,
    path = "/api/v1/user/mfa/recovery-codes",
    tag = "account",
    summary = "Replace the recovery codes",
    request_body = PasswordAndCode,
    responses((status = 200, description = "OK", body = RecoveryCodes)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    client: ClientAddress,
    caller: Authenticated,
    body: ApiJson<PasswordAndCode>,
) -> Result<HttpResponse, ApiError> {
    let (password, code) = password_and_code(body.into_inner())?;
    let recovery_codes = state
        .auth
        .factors
        .regenerate_recovery_codes(&caller.0, &password, &code, &client.0.key, state.clock.now())
        .await?;
    Ok(token_response(StatusCode::OK, RecoveryCodes { recovery_codes }))
}

/// Sends a code to a new phone number.
#[utoipa::path(
    post,
    path = "/api/v1/user/phone",
    tag = "account",
    summary = "Send a code to a phone number to add it",
    request_body = PhoneRequest,
    responses((status = 202, description = "Accepted: the code is on its way", body = CodeSent)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn start_phone(
    state: web::Data<AppState>,
    client: ClientAddress,
    caller: Authenticated,
    body: ApiJson<PhoneRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(phone) = body.into_inner().phone else {
        return Err(missing_fields(&[("phone", true)]));
    };
    let sent = state
        .auth
        .factors
        .start_phone_verification(&caller.0, &phone, &client.0.key, state.clock.now())
        .await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// The code sent to the new number stores it.
#[utoipa::path(
    post,
    path = "/api/v1/user/phone/confirm",
    tag = "account",
    summary = "Confirm the phone number with its code",
    request_body = CodeRequest,
    responses((status = 200, description = "OK", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn confirm_phone(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: ApiJson<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = required_code(body.into_inner().code)?;
    let user = state
        .auth
        .factors
        .confirm_phone(&caller.0, &code, state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

/// Removes the phone number, after the password.
#[utoipa::path(
    delete,
    path = "/api/v1/user/phone",
    tag = "account",
    summary = "Remove the caller's phone number",
    request_body = PasswordRequest,
    responses((status = 200, description = "OK", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn remove_phone(
    state: web::Data<AppState>,
    client: ClientAddress,
    caller: Authenticated,
    body: ApiJson<PasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(password) = body.into_inner().password else {
        return Err(missing_fields(&[("password", true)]));
    };
    let user = state
        .auth
        .factors
        .remove_phone(&caller.0, &password, &client.0.key, state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerificationRequest {
    /// The address to add, for an account without one (a guest, a sign-up by text message).
    email: Option<String>,
}

/// Sends a code to the account's e-mail address (or, for an account without one, to the address sent).
#[utoipa::path(
    post,
    path = "/api/v1/user/email/verify",
    tag = "account",
    summary = "Send a code proving an e-mail address",
    request_body(content = EmailVerificationRequest, description = "May be left out"),
    responses((status = 202, description = "Accepted: the code is on its way", body = CodeSent)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn start_email_verification(
    state: web::Data<AppState>,
    client: ClientAddress,
    caller: Authenticated,
    body: OptionalApiJson<EmailVerificationRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = body.0.and_then(|b| b.email);
    let sent = state
        .auth
        .factors
        .start_email_verification(&caller.0, address.as_deref(), &client.0.key, state.clock.now())
        .await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// The code marks the address verified.
#[utoipa::path(
    post,
    path = "/api/v1/user/email/confirm",
    tag = "account",
    summary = "Confirm the e-mail address with its code",
    request_body = CodeRequest,
    responses((status = 200, description = "OK", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn confirm_email(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: ApiJson<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = required_code(body.into_inner().code)?;
    let user = state
        .auth
        .factors
        .confirm_email(&caller.0, &code, state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    /// The new address.
    email: Option<String>,
}

/// Sends a code to a new e-mail address for the account; the old one stays until the code comes back.
#[utoipa::path(
    post,
    path = "/api/v1/user/email/change",
    tag = "account",
    summary = "Start changing the e-mail address: a code goes to the new one",
    request_body = EmailChangeRequest,
    responses((status = 202, description = "Accepted: the code is on its way", body = CodeSent)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn start_email_change(
    state: web::Data<AppState>,
    client: ClientAddress,
    caller: Authenticated,
    body: ApiJson<EmailChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(address) = body.into_inner().email else {
        return Err(missing_fields(&[("email", true)]));
    };
    let sent = state
        .auth
        .factors
        .start_email_change(&caller.0, &address, &client.0.key, state.clock.now())
        .await?;
    Ok(HttpResponse::Accepted().json(CodeSent::from(sent)))
}

/// The code makes the new address the account's, verified.
#[utoipa::path(
    post,
    path = "/api/v1/user/email/change/confirm",
    tag = "account",
    summary = "Confirm the new e-mail address with its code",
    request_body = CodeRequest,
    responses((status = 200, description = "The account with its new address", body = UserBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn confirm_email_change(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: ApiJson<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = required_code(body.into_inner().code)?;
    let user = state
        .auth
        .factors
        .confirm_email_change(&caller.0, &code, state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

fn required_code(code: Option<String>) -> Result<String, ApiError> {
    code.ok_or_else(|| missing_fields(&[("code", true)]))
}

fn password_and_code(body: PasswordAndCode) -> Result<(String, String), ApiError> {
    match (body.password, body.code) {
        (Some(password), Some(code)) => Ok((password, code)),
        (password, code) => Err(missing_fields(&[
            ("password", password.is_none()),
            ("code", code.is_none()),
        ])),
    }
}
