//! The REST token API under `/api/v1`.

mod admin_clients;
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
        .service(web::resource("/auth/logout").post(auth::logout))
        .service(
            web::resource("/admin/clients")
                .get(admin_clients::list_clients)
                .post(admin_clients::create_client),
        )
        .service(
            web::resource("/admin/clients/{id}")
                .get(admin_clients::get_client)
                .put(admin_clients::update_client)
                .delete(admin_clients::delete_client),
        )
        .service(web::resource("/admin/clients/{id}/secret").post(admin_clients::rotate_client_secret));
}
