//! `GET /oauth2/jwks`: the public signing keys (RFC 7517), served from memory.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The JWKS document; public, cacheable for five minutes (a new key is published longer than that before it
/// signs), readable cross-origin (no credentials).
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", crate::tokens::rotation::JWKS_MAX_AGE_SECS),
        ))
        .body(state.keys.jwks())
}
