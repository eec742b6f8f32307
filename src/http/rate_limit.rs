//! `RateLimit-*` headers (IETF RateLimit header fields) and `429 Too Many Requests` answers.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::apps::rate_limit::Decision;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Adds the headers describing `decision`, and `Retry-After` when it refused.
pub fn apply(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(LIMIT, HeaderValue::from(decision.limit));
    headers.insert(REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(RESET, HeaderValue::from(decision.reset_secs));
    if !decision.allowed {
        headers.insert(RETRY_AFTER, HeaderValue::from(decision.retry_after_secs));
    }
}
