//! `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`, from memory.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn get_discovery(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(state.discovery.clone())
}
