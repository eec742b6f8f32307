//! OpenID Connect and OAuth endpoints: discovery, JWKS, authorize, token, userinfo, revocation,
//! introspection and RP-initiated logout.

mod authorize;
mod client_auth;
mod discovery;
pub mod jwks;
mod logout;
mod token;
mod token_admin;
mod userinfo;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, web};

use super::middleware::{allow_any_origin, refuse_oauth_credentials_in_query};
use crate::oidc::discovery as paths;

/// Registers the OAuth and OpenID Connect routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // HEAD answers like GET without the body (RFC 9110 §9.3.2), for caches and monitors that probe.
    cfg.service(
        web::resource("/.well-known/openid-configuration")
            .wrap(from_fn(allow_any_origin))
            .get(discovery::get_discovery)
            .route(web::head().to(discovery::get_discovery)),
    )
    .service(
        web::resource("/.well-known/oauth-authorization-server")
            .wrap(from_fn(allow_any_origin))
            .get(discovery::get_discovery)
            .route(web::head().to(discovery::get_discovery)),
    )
    .service(
        web::resource(paths::JWKS_PATH)
            .wrap(from_fn(allow_any_origin))
            .get(jwks::get_jwks)
            .route(web::head().to(jwks::get_jwks)),
    )
    .service(
        web::resource(paths::AUTHORIZATION_PATH)
            .get(authorize::get_authorize)
            .post(authorize::post_authorize),
    )
    .service(
        web::resource(paths::TOKEN_PATH)
            .wrap(from_fn(refuse_oauth_credentials_in_query))
            .wrap(from_fn(allow_any_origin))
            .post(token::post_token),
    )
    .service(
        web::resource(paths::USERINFO_PATH)
            .wrap(from_fn(refuse_oauth_credentials_in_query))
            .wrap(from_fn(allow_any_origin))
            .get(userinfo::get_userinfo)
            .post(userinfo::post_userinfo),
    )
    .service(
        web::resource(paths::REVOCATION_PATH)
            .wrap(from_fn(refuse_oauth_credentials_in_query))
            .wrap(from_fn(allow_any_origin))
            .post(token_admin::post_revoke),
    )
    .service(
        web::resource(paths::INTROSPECTION_PATH)
            .wrap(from_fn(refuse_oauth_credentials_in_query))
            .post(token_admin::post_introspect),
    )
    .service(
        web::resource(paths::END_SESSION_PATH)
            .get(logout::get_logout)
            .post(logout::post_logout),
    );
}

/// Whether the request body is `application/x-www-form-urlencoded`, the only body OAuth endpoints read.
fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}
