//! OpenID Connect and OAuth endpoints: discovery, JWKS, authorize, token, device authorization, pushed
//! authorization requests, dynamic client registration, userinfo, revocation, introspection and RP-initiated
//! logout.

mod authorize;
mod client_auth;
mod device;
mod discovery;
pub mod jwks;
mod logout;
mod par;
mod register;
mod token;
mod token_admin;
mod userinfo;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, HttpRequest, web};

use super::body::read_form;
use super::error::FormRejection;
use super::middleware::{allow_any_origin, refuse_oauth_credentials_in_query};
use crate::oidc::discovery as paths;
use crate::oidc::dynamic_clients::REGISTRATION_PATH;
use crate::oidc::params::Params;

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
        web::resource(paths::DEVICE_AUTHORIZATION_PATH)
            .wrap(from_fn(refuse_oauth_credentials_in_query))
            .wrap(from_fn(allow_any_origin))
            .post(device::post_device_authorization),
    )
    .service(
        web::resource(paths::PUSHED_AUTHORIZATION_REQUEST_PATH)
            .wrap(from_fn(refuse_oauth_credentials_in_query))
            .wrap(from_fn(allow_any_origin))
            .post(par::post_pushed_authorization_request),
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
        web::resource(REGISTRATION_PATH)
            .wrap(from_fn(allow_any_origin))
            .post(register::post_register),
    )
    .service(
        web::resource(format!("{REGISTRATION_PATH}/{{client_id}}"))
            .wrap(from_fn(allow_any_origin))
            .get(register::get_registration)
            .put(register::put_registration)
            .delete(register::delete_registration),
    )
    .service(
        web::resource(paths::END_SESSION_PATH)
            .get(logout::get_logout)
            .post(logout::post_logout),
    );
}

/// Largest form body an OAuth endpoint reads.
const MAX_FORM_BODY: usize = 64 * 1024;

/// The form body of an OAuth endpoint that answers in JSON (token, revocation, introspection, userinfo):
/// refused in the OAuth error shape — `invalid_request` with 400, or 413 / 408 for a body too large or too
/// slow.
pub struct OAuthForm(pub Params);

impl FromRequest for OAuthForm {
    type Error = FormRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, FormRejection>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_form(&req, &mut payload, MAX_FORM_BODY)
                .await
                .map_err(FormRejection::from)?;
            Ok(OAuthForm(Params::parse(&body)))
        })
    }
}
