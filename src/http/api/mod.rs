//! The REST token API under `/api/v1`.

mod auth;
mod body;
mod users;

use actix_web::web;

/// Registers the `/api/v1` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").post(users::create_user))
        .service(web::resource("/user").get(users::get_current_user))
        .service(web::resource("/auth/login").post(auth::login))
        .service(web::resource("/auth/refresh").post(auth::refresh))
        .service(web::resource("/auth/logout").post(auth::logout));
}
