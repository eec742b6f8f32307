//! `/api/v1/admin/clients`: registering and managing OAuth clients (administrators only). A client secret
//! is shown when it is created or rotated, and never again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::Admin;
use crate::http::extract::ApiJson;
use crate::oidc::clients::{Client, ClientSpec, RegisteredClient};
use crate::state::AppState;

/// A client registration as the API takes it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    /// The application (id or slug); the default application when absent.
    application: Option<String>,
    name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    public: bool,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    /// `client_secret_basic` (default), `client_secret_post`, `client_secret_jwt`, `private_key_jwt`, or `none`
    /// (as `public`).
    token_endpoint_auth_method: Option<String>,
    /// `private_key_jwt`: the client's public signing keys, a JWK Set (RFC 7517 §5) of EC P-256, RSA or Ed25519
    /// keys.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// The algorithm of the client's ID tokens and logout tokens: `RS256` (default), `ES256` or `EdDSA` (any of
    /// `keys.algorithms`).
    id_token_signed_response_alg: Option<String>,
    /// The algorithm of the client's access tokens (default `RS256`).
    access_token_signed_response_alg: Option<String>,
    #[serde(default)]
    first_party: bool,
    #[serde(default)]
    resource_server: bool,
    initiate_login_uri: Option<String>,
    /// RFC 9126 §6: the authorization endpoint refuses this client's requests unless they were pushed first
    /// to `/oauth2/par`.
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    /// Back-Channel Logout 1.0: where logout tokens are POSTed when a session of this client ends (https, or
    /// http on a loopback address; no fragment).
    backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout 1.0: the client needs `sid` in its logout tokens.
    #[serde(default)]
    backchannel_logout_session_required: bool,
    is_active: Option<bool>,
}

impl From<ClientRequest> for ClientSpec {
    fn from(request: ClientRequest) -> Self {
        Self {
            application: request.application,
            name: request.name,
            redirect_uris: request.redirect_uris,
            post_logout_redirect_uris: request.post_logout_redirect_uris,
            public: request.public,
            grant_types: request.grant_types,
            scopes: request.scopes,
            token_endpoint_auth_method: request.token_endpoint_auth_method,
            jwks: request.jwks,
            id_token_signed_response_alg: request.id_token_signed_response_alg,
            access_token_signed_response_alg: request.access_token_signed_response_alg,
            first_party: request.first_party,
            resource_server: request.resource_server,
            initiate_login_uri: request.initiate_login_uri,
            require_pushed_authorization_requests: request.require_pushed_authorization_requests,
            backchannel_logout_uri: request.backchannel_logout_uri,
            backchannel_logout_session_required: request.backchannel_logout_session_required,
            is_active: request.is_active,
        }
    }
}

/// A client as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientBody {
    client_id: String,
    application_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    name: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<&'static str>,
    scopes: Vec<String>,
    token_endpoint_auth_method: &'static str,
    /// `private_key_jwt`: the registered public keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    id_token_signed_response_alg: &'static str,
    access_token_signed_response_alg: &'static str,
    public: bool,
    first_party: bool,
    resource_server: bool,
    initiate_login_uri: Option<String>,
    /// RFC 9126 §6: only pushed authorization requests are taken from this client.
    require_pushed_authorization_requests: bool,
    /// Back-Channel Logout 1.0: where logout tokens are POSTed.
    backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout 1.0: the client needs `sid` in its logout tokens.
    backchannel_logout_session_required: bool,
    is_active: bool,
    created_at: String,
    updated_at: String,
}

impl ClientBody {
    fn new(client: Client, secret: Option<String>) -> Self {
        Self {
            public: client.is_public(),
            grant_types: client.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: client.scopes.iter().map(str::to_owned).collect(),
            token_endpoint_auth_method: client.auth_method.as_str(),
            id_token_signed_response_alg: client.id_token_alg().as_str(),
            access_token_signed_response_alg: client.access_token_alg().as_str(),
            created_at: rfc3339(client.created_at),
            updated_at: rfc3339(client.updated_at),
            client_id: client.id,
            application_id: client.application_id,
            client_secret: secret,
            name: client.name,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            first_party: client.first_party,
            resource_server: client.resource_server,
            initiate_login_uri: client.initiate_login_uri,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            backchannel_logout_uri: client.backchannel_logout_uri,
            backchannel_logout_session_required: client.backchannel_logout_session_required,
            jwks: client.jwks,
            is_active: client.is_active,
        }
    }
}

impl From<RegisteredClient> for ClientBody {
    fn from(registered: RegisteredClient) -> Self {
        Self::new(registered.client, registered.secret)
    }
}

fn secret_response(status: StatusCode, body: ClientBody) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/clients",
    tag = "admin: clients",
    summary = "Register an OAuth client (its secret shown once)",
    request_body = ClientRequest,
    responses((status = 201, description = "Created", body = ClientBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn create_client(
    _: Admin,
    state: web::Data<AppState>,
    body: ApiJson<ClientRequest>,
) -> Result<HttpResponse, ApiError> {
    let registered = state
        .oidc
        .clients
        .create(body.into_inner().into(), state.clock.now())
        .await?;
    Ok(secret_response(StatusCode::CREATED, registered.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/clients",
    tag = "admin: clients",
    summary = "The OAuth clients",
    responses((status = 200, description = "OK", body = Vec<ClientBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_clients(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let clients = state.oidc.clients.list().await?;
    let bodies: Vec<ClientBody> = clients.into_iter().map(|c| ClientBody::new(c, None)).collect();
    Ok(HttpResponse::Ok().json(bodies))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/clients/{id}",
    tag = "admin: clients",
    summary = "An OAuth client",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = ClientBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn get_client(_: Admin, state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let client = state.oidc.clients.get(&id).await?;
    Ok(HttpResponse::Ok().json(ClientBody::new(client, None)))
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/clients/{id}",
    tag = "admin: clients",
    summary = "Replace an OAuth client's settings",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = ClientRequest,
    responses((status = 200, description = "OK", body = ClientBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn update_client(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<ClientRequest>,
) -> Result<HttpResponse, ApiError> {
    let registered = state
        .oidc
        .clients
        .update(&id, body.into_inner().into(), state.clock.now())
        .await?;
    Ok(secret_response(StatusCode::OK, registered.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/clients/{id}",
    tag = "admin: clients",
    summary = "Delete an OAuth client",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn delete_client(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.oidc.clients.delete(&id, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/clients/{id}/secret",
    tag = "admin: clients",
    summary = "Replace an OAuth client's secret (shown once)",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = ClientBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn rotate_client_secret(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let registered = state.oidc.clients.rotate_secret(&id, state.clock.now()).await?;
    Ok(secret_response(StatusCode::OK, registered.into()))
}
