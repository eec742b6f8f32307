//! The one place errors become HTTP responses, one file per shape: the REST API's `{"code", "detail"}`
//! (`rest`, with authentication's refusals in `rest_auth`), the OAuth endpoints' `{"error", "error_description"}` (`oauth`), and the pages' HTML error page
//! (`page`). Every match over a domain error lists each variant, so a new one is a decision, never a silent
//! 500.

mod oauth;
mod page;
mod rest;
mod rest_auth;

pub use oauth::{DPOP_NONCE, FormRejection, bearer_token_missing, dpop_resource_error, with_dpop_nonce};
pub use page::{NOT_MEMBER_MESSAGE, PageError};
pub use rest::{ApiError, LOGIN_LIMIT_MESSAGE, signup_limit_message};

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, http::StatusCode};

/// Gives error responses that actix produced with an empty body (unknown path, wrong method, …) the
/// documented JSON shape.
pub fn render_empty_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let status = res.status();
    let has_body = !matches!(
        res.response().body().size(),
        actix_web::body::BodySize::Sized(0) | actix_web::body::BodySize::None
    );
    if has_body {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "This method is not allowed here."),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "This content type is not accepted here."),
        s if s.is_server_error() => ("internal_error", rest::INTERNAL_DETAIL),
        _ => ("bad_request", "The request could not be understood."),
    };
    let (req, original) = res.into_parts();
    let mut response: HttpResponse<BoxBody> = ApiError::new(status, code, detail).error_response();
    // Keep what the original response said (a challenge, `Allow`, …), but not its body's framing.
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}
