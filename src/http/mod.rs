//! HTTP: the only module that speaks actix-web. Routes, extractors, middleware and the error mapping.

pub mod api;
pub mod applications;
pub mod body;
pub mod client_ip;
pub mod error;
pub mod extract;
mod health;
pub mod metrics;
pub mod middleware;
pub mod oidc;
pub mod outage;
pub mod pages;
pub mod rate_limit;

use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::web;

/// Registers every route; `App::configure` calls this.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(pages::query_config())
        .service(
            web::scope("/health")
                .route("/live", web::get().to(health::live))
                .route("/ready", web::get().to(health::ready)),
        )
        .configure(oidc::routes)
        .configure(pages::routes)
        .configure(api::compat::routes)
        // The API's own description, open to anyone: outside the scope that asks for an API key.
        .service(web::resource("/api/v1/openapi.json").get(api::openapi::get_openapi))
        .service(web::resource("/api/v1/docs").get(api::reference::get_reference))
        .service(
            web::scope("/api/v1")
                .wrap(from_fn(applications::require_api_key))
                .wrap(from_fn(middleware::refuse_credentials_in_query))
                .configure(api::routes),
        );
}

/// Turns empty error responses from the router into the documented JSON shape.
pub fn error_bodies<B: actix_web::body::MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(error::render_empty_error)
}
