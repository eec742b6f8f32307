//! The cellmobs profile: `POST /v1/auth/login` with `x-api-key` and a `username` (an e-mail address or a
//! username) and `password`, in a JSON or form body → the native token pair. The documented request puts the
//! credentials in the query string: refused (`credentials_in_query`) unless `compat.cellmobs.allow_query_credentials`
//! is on, for migration — then accepted, with a warning at most once a minute. The request line is never logged
//! with its query.

use std::sync::atomic::{AtomicI64, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::http::api::auth::{missing_fields, step_response};
use crate::http::applications::RequestApp;
use crate::http::client_ip::ClientAddress;
use crate::http::error::ApiError;
use crate::http::middleware::refuse_credentials_in_query;
use crate::state::AppState;

/// The last time (Unix seconds) a use of query credentials was warned about.
static LAST_WARNING: AtomicI64 = AtomicI64::new(0);

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: Option<String>,
    password: Option<String>,
}

/// Credentials in the query: refused as everywhere, unless the profile allows them.
pub async fn query_credentials(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let allowed = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.profiles.cellmobs_query_credentials);
    if allowed {
        Ok(next.call(req).await?.map_into_boxed_body())
    } else {
        refuse_credentials_in_query(req, next).await
    }
}

/// `POST /v1/auth/login`.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    app: RequestApp,
    client: ClientAddress,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut request = parse_body(&req, &body)?;
    if request.username.is_none() && request.password.is_none() && !req.query_string().is_empty() {
        // Only reached when the profile allows it (the middleware refuses otherwise).
        request = serde_urlencoded::from_str(req.query_string())
            .map_err(|e| ApiError::malformed_request(format!("The query string cannot be read: {e}")))?;
        warn_about_query_credentials(state.clock.now());
    }
    let (Some(username), Some(password)) = (&request.username, &request.password) else {
        return Err(missing_fields(&[
            ("username", request.username.is_none()),
            ("password", request.password.is_none()),
        ]));
    };
    let step = state
        .auth
        .sign_in
        .login(&app.0, username, password, None, &client.0, state.clock.now())
        .await?;
    Ok(step_response(step))
}

/// The JSON or form body; an empty body is no credentials.
fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<LoginRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(LoginRequest::default());
    }
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::malformed_request(format!("The form body cannot be read: {e}")))
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::malformed_request(format!("The JSON body cannot be read: {e}")))
    }
}

fn warn_about_query_credentials(now: i64) {
    let last = LAST_WARNING.load(Ordering::Relaxed);
    if now - last >= 60
        && LAST_WARNING
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!("a password arrived in the URL of /v1/auth/login (compat.cellmobs.allow_query_credentials)");
    }
}
