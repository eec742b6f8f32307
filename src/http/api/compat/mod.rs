//! Drop-in profiles: the documented request and response shapes of other products' APIs, each on only when
//! `[compat]` names the application its requests belong to (off, its paths answer 404). A request without
//! `x-api-key` belongs to the profile's application; a key must be one of that application's. Each handler
//! translates into the same services the native API uses — sign-in, sign-up, sessions, private tokens — so
//! every rule (lock-out, captcha, second factors, limits, access policy) is the native one.

mod appmixer;
mod cellmobs;
mod emnify;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, web};

use crate::apps::profiles::Profile;
use crate::http::applications::admit_to_profile;
use crate::http::middleware::refuse_credentials_in_query;

/// Registers every profile's paths (before the native `/api/v1` scope, whose prefix emnify's share).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/user/auth")
            .wrap(from_fn(appmixer_app))
            .wrap(from_fn(refuse_credentials_in_query))
            .wrap(from_fn(appmixer::error_bodies))
            .route(web::post().to(appmixer::authenticate)),
    )
    .service(
        web::resource("/user")
            .wrap(from_fn(appmixer_app))
            .wrap(from_fn(refuse_credentials_in_query))
            .wrap(from_fn(appmixer::error_bodies))
            .route(web::post().to(appmixer::create_user))
            .route(web::get().to(appmixer::current_user)),
    )
    .service(
        web::resource("/api/v1/authenticate")
            .wrap(from_fn(emnify_app))
            .wrap(from_fn(refuse_credentials_in_query))
            .route(web::post().to(emnify::authenticate)),
    )
    .service(
        web::resource("/api/v1/application_token")
            .wrap(from_fn(emnify_app))
            .wrap(from_fn(refuse_credentials_in_query))
            .route(web::post().to(emnify::create_application_token)),
    )
    // emnify's revocation is the native one (`DELETE /api/v1/tokens/{id}`) under that product's path.
    .service(
        web::resource("/api/v1/application_token/{id}")
            .wrap(from_fn(emnify_app))
            .wrap(from_fn(refuse_credentials_in_query))
            .route(web::delete().to(super::tokens::revoke_token)),
    )
    .service(
        web::resource("/v1/auth/login")
            .wrap(from_fn(cellmobs_app))
            .wrap(from_fn(cellmobs::query_credentials))
            .route(web::post().to(cellmobs::login)),
    );
}

async fn appmixer_app(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    admit_to_profile(Profile::Appmixer, req, next).await
}

async fn emnify_app(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    admit_to_profile(Profile::Emnify, req, next).await
}

async fn cellmobs_app(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    admit_to_profile(Profile::Cellmobs, req, next).await
}
