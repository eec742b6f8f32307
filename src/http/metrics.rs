//! `/metrics` for Prometheus, and the middleware that counts and times every request by its route's pattern.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::metrics::{CONTENT_TYPE, UNMATCHED_ROUTE};
use crate::state::AppState;

/// The path Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

/// Registers `GET /metrics` (on the main port, or alone on `metrics.bind`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(METRICS_PATH, web::get().to(get_metrics));
}

/// `GET /metrics`: every metric as OpenMetrics text, the gauges read now.
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    let text = state.metrics.render(&state.metrics_reading());
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(text)
}

/// Counts each request and its latency under the pattern of the route it matched (`/api/v1/users/{id}`, never
/// the path itself, so ids and garbage do not become series), its method and its status.
pub async fn record_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let route = req.match_pattern().unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let method = req.method().clone();
    let started = Instant::now();
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    state.metrics.http_request(
        &route,
        method.as_str(),
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    result
}
