//! Request bodies and URLs as untrusted input: a body is read within a size limit and — for every request,
//! by [`bound_body_reads`] — within a time limit, so a client that sends its headers and then stalls holds
//! nothing for long; and NUL characters, which no Tessera value can hold (PostgreSQL text cannot store one),
//! are refused as bad input wherever they can arrive: in a URL's path or query, a form, or a JSON string.

use std::io;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::state::AppState;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the endpoint reads.
    TooLarge,
    /// Not all of it arrived within `server.body_timeout_secs`.
    TimedOut,
    /// The connection failed, or the body's framing was broken.
    Broken,
}

impl From<PayloadError> for BodyError {
    fn from(error: PayloadError) -> Self {
        match error {
            PayloadError::Overflow => Self::TooLarge,
            PayloadError::Io(e) if e.kind() == io::ErrorKind::TimedOut => Self::TimedOut,
            _ => Self::Broken,
        }
    }
}

/// Reads the whole body, refusing more than `limit` bytes (at once when `Content-Length` says so).
pub async fn read_limited(req: &HttpRequest, payload: &mut Payload, limit: usize) -> Result<Bytes, BodyError> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Whether `bytes` (a URL's path or query, or a form body, all percent-encoded) carries a NUL character.
pub fn has_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0) || bytes.windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Why a form body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// Not `application/x-www-form-urlencoded`.
    NotForm,
    /// A value or name holds a NUL character.
    Nul,
    Body(BodyError),
}

impl From<BodyError> for FormError {
    fn from(error: BodyError) -> Self {
        Self::Body(error)
    }
}

/// A form body, raw: `application/x-www-form-urlencoded`, at most `limit` bytes, without NUL characters.
pub async fn read_form(req: &HttpRequest, payload: &mut Payload, limit: usize) -> Result<Bytes, FormError> {
    if !has_content_type(req, "application/x-www-form-urlencoded") {
        return Err(FormError::NotForm);
    }
    let body = read_limited(req, payload, limit).await?;
    if has_nul(&body) {
        return Err(FormError::Nul);
    }
    Ok(body)
}

/// Whether the request's `Content-Type` is `name` (parameters such as `charset` aside).
pub fn has_content_type(req: &HttpRequest, name: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(name))
}

/// Bounds the time a request's body may take to arrive: past `server.body_timeout_secs` after the headers,
/// reading it fails with [`BodyError::TimedOut`] (answered 408) and the connection closes.
pub async fn bound_body_reads(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(10, |state| state.config.server.body_timeout_secs);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(limit);
    let payload = req.take_payload();
    let timed = futures_util::stream::unfold(Some(payload), move |payload| async move {
        let mut payload = payload?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => {
                let late = io::Error::new(io::ErrorKind::TimedOut, "the request body did not arrive in time");
                Some((Err(PayloadError::Io(late)), None))
            }
        }
    });
    req.set_payload(Payload::from(
        Box::pin(timed) as std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_raw_or_percent_encoded() {
        for nul in [&b"a%00b"[..], b"%00", b"login=al%00ice", b"a\0b", b"a%000"] {
            assert!(has_nul(nul), "{nul:?}");
        }
        for clean in [&b"100%25"[..], b"%0A", b"%20", b"x=00", b"%0", b""] {
            assert!(!has_nul(clean), "{clean:?}");
        }
    }
}
