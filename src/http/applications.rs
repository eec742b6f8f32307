//! Every `/api/v1` request names its application with an `x-api-key` header (never a query parameter,
//! cookie or body field) and spends one request of that application's budget. Requests with a missing or
//! invalid key draw from a separate budget per IP address, so nobody can spend another application's.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use futures_util::future::{Ready, ready};

use super::client_ip::{client_ip, rate_key};
use super::error::ApiError;
use super::extract::{RepeatedHeader, single_header};
use super::rate_limit;
use crate::apps::Application;
use crate::apps::api_keys::KeyError;
use crate::apps::profiles::Profile;
use crate::apps::rate_limit::{Decision, Policy};
use crate::state::AppState;

/// The application the request's API key belongs to.
#[derive(Clone, Debug)]
pub struct RequestApp(pub Application);

/// The middleware: authenticate the key, spend one request, and say what is left.
pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    admit(req, next, None).await
}

/// The same for a drop-in profile's paths: a request without a key belongs to the profile's application; a key
/// must be one of that application's. A profile that is off has no paths (404).
pub async fn admit_to_profile(
    profile: Profile,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let application = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.profiles.application(profile).map(str::to_owned));
    match application {
        Some(id) => admit(req, next, Some(id)).await,
        None => {
            let error = ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is nothing at this address.");
            Ok(req.into_response(error.error_response()))
        }
    }
}

async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    profile_application: Option<String>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req
            .into_response(ApiError::from(crate::store::StoreError::Unavailable("no state".into())).error_response()));
    };
    // A path that leads nowhere is 404 whether or not a key came with it: no key is looked up and no budget
    // is spent for it.
    if !req.resource_map().has_resource(req.path()) {
        let error = ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is nothing at this address.");
        return Ok(req.into_response(error.error_response()));
    }
    let now_ms = state.clock.now_millis();
    let ip_budget_key = format!(
        "keyless:{}",
        rate_key(client_ip(req.request(), &state.config.server.trusted_proxies))
    );
    let ip_budget = Policy::TokenBucket {
        capacity: state.config.apps.invalid_key_limit_per_minute,
    };
    let limiter = state.apps.limiter();
    // An address that keeps presenting bad keys is refused before any lookup.
    let standing = limiter
        .check(&ip_budget_key, ip_budget, now_ms)
        .await
        .map_err(ApiError::from)?;
    if !standing.allowed {
        return Ok(too_many(req, &standing));
    }
    // Two keys, or two Authorization headers: which would count cannot be told.
    for name in ["x-api-key", "authorization"] {
        if let Err(RepeatedHeader(name)) = single_header(req.request(), name) {
            let error = ApiError::malformed_request(format!("The {name} header must not be repeated."));
            return Ok(req.into_response(error.error_response()));
        }
    }
    let presented = req.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    let authenticated = match (&profile_application, presented) {
        (Some(id), None) => state
            .apps
            .find(id)
            .await
            .map_err(KeyError::Store)
            .and_then(|app| app.ok_or(KeyError::Invalid)),
        (Some(id), Some(_)) => state
            .apps
            .authenticate_key(presented, state.clock.now())
            .await
            .and_then(|app| {
                if app.id == *id {
                    Ok(app)
                } else {
                    Err(KeyError::OtherApplication)
                }
            }),
        (None, _) => state.apps.authenticate_key(presented, state.clock.now()).await,
    };
    let app = match authenticated {
        Ok(app) => app,
        Err(KeyError::Store(e)) => return Ok(req.into_response(ApiError::from(e).error_response())),
        Err(refusal) => {
            let decision = limiter
                .take(&ip_budget_key, ip_budget, now_ms)
                .await
                .map_err(ApiError::from)?;
            if !decision.allowed {
                return Ok(too_many(req, &decision));
            }
            return Ok(req.into_response(ApiError::from(refusal).error_response()));
        }
    };
    let decision = state.apps.take(&app, now_ms).await.map_err(ApiError::from)?;
    if !decision.allowed {
        return Ok(too_many(req, &decision));
    }
    req.extensions_mut().insert(RequestApp(app));
    let mut res = next.call(req).await?.map_into_boxed_body();
    rate_limit::apply(res.headers_mut(), &decision);
    Ok(res)
}

fn too_many(req: ServiceRequest, decision: &Decision) -> ServiceResponse<BoxBody> {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many requests; try again in {} s.", decision.retry_after_secs),
    )
    .error_response();
    rate_limit::apply(response.headers_mut(), decision);
    req.into_response(response)
}

impl FromRequest for RequestApp {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<RequestApp>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "api_key_missing",
                "This API needs the application's key in the x-api-key header.",
            )
        }))
    }
}
