//! Cross-cutting request handling: security headers, a request id, log line and audit context per request, and refusing
//! credentials in URLs.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, ResponseError};
use tracing::Instrument;

use super::body::has_nul;
use super::error::ApiError;
use crate::tokens::opaque::random_id;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers every response carries unless the handler set its own (OWASP secure headers; RFC 9700 §4.16).
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cache-Control", "no-store"));
    if https {
        headers.add(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    } else {
        headers
    }
}

/// Gives each request an id (echoed in `X-Request-Id`), a tracing span, and one log line. The span also carries
/// the application (`app`) and the account (`user`) once the request's credentials name them: `audit::note_*`
/// records them into it where they are resolved, so every later line of the request, its last included, has them.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = random_id();
    // The path only: a query string may carry something that must not reach the logs.
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %req.method(),
        path = %logged_path(req.path()),
        app = tracing::field::Empty,
        user = tracing::field::Empty,
    );
    let started = Instant::now();
    let context = crate::audit::RequestContext {
        request_id: Some(request_id.clone()),
        ip: super::client_ip::request_ip(req.request()).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|agent| agent.to_str().ok())
            .map(str::to_owned),
        ..Default::default()
    };
    let mut res = crate::audit::within(context, next.call(req).instrument(span.clone())).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let status = res.status().as_u16();
    let micros = started.elapsed().as_micros();
    span.in_scope(|| {
        // A 503 (the database is away) is reported once per burst where it is decided, not per request.
        if res.status().is_server_error() && res.status() != StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(status, micros, "request failed");
        } else {
            tracing::debug!(status, micros, "request served");
        }
    });
    Ok(res)
}

/// Names of query parameters that carry secrets, and where each belongs instead.
const SECRET_PARAMETERS: &[(&str, &str)] = &[
    ("password", "the request body"),
    ("refresh_token", "the request body"),
    ("access_token", "the Authorization header"),
    ("client_secret", "the request body or the Authorization header"),
    ("api_key", "the x-api-key header"),
    ("apikey", "the x-api-key header"),
    ("x-api-key", "the x-api-key header"),
    ("x_api_key", "the x-api-key header"),
];

/// The first secret-carrying parameter in the request's URL, if any, with where it belongs.
fn secret_in_query(req: &ServiceRequest) -> Option<(String, &'static str)> {
    url::form_urlencoded::parse(req.query_string().as_bytes()).find_map(|(name, _)| {
        SECRET_PARAMETERS
            .iter()
            .find(|(secret, _)| name.eq_ignore_ascii_case(secret))
            .map(|(_, place)| (name.into_owned(), *place))
    })
}

/// Refuses REST requests that put a secret in the URL: URLs end up in logs, proxies and browser history.
pub async fn refuse_credentials_in_query(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    if let Some((name, place)) = secret_in_query(&req) {
        let error = ApiError::new(
            StatusCode::BAD_REQUEST,
            "credentials_in_query",
            format!(
                "`{name}` must not be sent in the URL, where it ends up in logs and browser history; send it in \
                 {place}."
            ),
        );
        return Ok(req.into_response(error.error_response()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The same for OAuth endpoints, in their error shape (RFC 6749 §2.3.1, RFC 6750 §2.3).
pub async fn refuse_oauth_credentials_in_query(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    if let Some((name, place)) = secret_in_query(&req) {
        let error =
            crate::oidc::OAuthError::invalid_request(format!("{name} must not be sent in the URL; send it in {place}"));
        return Ok(req.into_response(error.error_response()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// `Access-Control-Allow-Origin: *` for endpoints that browsers' public clients call cross-origin. Never
/// with credentials, and never on the authorization endpoint or the pages.
pub async fn allow_any_origin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    if req.method() == actix_web::http::Method::OPTIONS {
        let response = actix_web::HttpResponse::NoContent()
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .insert_header(("Access-Control-Allow-Methods", "GET, POST"))
            // RFC 9449: a browser's public client sends its proof in `DPoP`.
            .insert_header(("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP"))
            .insert_header(("Access-Control-Max-Age", "600"))
            .finish();
        return Ok(req.into_response(response));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    res.headers_mut().insert(
        actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // RFC 9449 §8: the nonce, and the challenge naming it, must be readable by the browser's client.
    res.headers_mut().insert(
        actix_web::http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("DPoP-Nonce, WWW-Authenticate"),
    );
    Ok(res)
}

/// Refuses a URL whose path or query holds a NUL character (`%00`): no id, parameter or value of Tessera can
/// hold one, and a database would refuse it. Answered in the shape of the endpoint asked for: the REST API's,
/// an OAuth error, or a page.
pub async fn refuse_nul_in_url(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    let uri = req.uri();
    let in_url = has_nul(uri.path().as_bytes()) || uri.query().is_some_and(|q| has_nul(q.as_bytes()));
    if !in_url {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    const WHY: &str = "The address contains a NUL character (%00), which no value here may hold.";
    let path = req.path();
    let response = if path.starts_with("/api/") {
        ApiError::malformed_request(WHY).error_response()
    } else if OAUTH_JSON_PATHS.contains(&path) {
        crate::oidc::OAuthError::invalid_request(WHY).error_response()
    } else {
        super::pages::PageError::bad_request(WHY).error_response()
    };
    Ok(req.into_response(response))
}

/// The OAuth endpoints that answer in JSON (the others are pages).
const OAUTH_JSON_PATHS: &[&str] = &[
    crate::oidc::discovery::TOKEN_PATH,
    crate::oidc::discovery::REVOCATION_PATH,
    crate::oidc::discovery::INTROSPECTION_PATH,
    crate::oidc::discovery::USERINFO_PATH,
];

/// A path as the logs show it: an invitation's path carries its secret, which stays out.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/invite/") {
        "/invite/…"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn invitation_secrets_stay_out_of_the_logs() {
        assert_eq!(logged_path("/invite/tsi_secret"), "/invite/…");
        assert_eq!(logged_path("/api/v1/auth/login"), "/api/v1/auth/login");
    }
}
