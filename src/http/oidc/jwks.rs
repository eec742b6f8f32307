//! `GET /oauth2/jwks`: the public signing keys (RFC 7517), served from memory.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The JWKS document; public, cacheable for five minutes, readable cross-origin (no credentials).
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(state.keys.jwks())
}
