//! The OpenAPI 3.1 document of the `/api/v1` REST API, generated from the handlers' `#[utoipa::path]`
//! attributes, and `GET /api/v1/openapi.json`, which serves it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{
    admin_apps, admin_audit, admin_clients, admin_members, admin_providers, admin_registration_tokens, admin_users,
    admin_webhooks, auth, external, identities, mfa, pin, sign_in, step_up, tokens, users,
};

/// The body of every error answer of the API (`http::error::rest` writes it).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the body `http::error::rest` writes; only its schema is used"
)]
pub struct ErrorBody {
    /// A stable code for programs, such as `validation_failed` or `unauthorized`.
    code: String,
    /// What went wrong, for people.
    detail: String,
    /// A validation error's invalid fields, each with what is wrong with it.
    fields: Option<BTreeMap<String, String>>,
    /// A `step_up_required` error's accepted proofs (`pin`, `password`, `sign_in`).
    required: Option<Vec<String>>,
}

/// The REST API's document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera REST API",
        description = "The REST API of Tessera under `/api/v1`. Every request names its application with an API key \
                       in the `x-api-key` header; calls on behalf of an account add its access token as a bearer token."
    ),
    paths(
        users::create_user,
        users::get_current_user,
        users::update_current_user,
        users::change_password,
        auth::login,
        auth::complete_mfa,
        auth::send_mfa_code,
        auth::refresh,
        sign_in::guest,
        step_up::step_up,
        step_up::activity,
        external::start_external,
        external::complete_external,
        sign_in::start_code,
        sign_in::resend_code,
        sign_in::verify_code,
        sign_in::send_verification,
        sign_in::complete_verification,
        pin::set_pin,
        pin::remove_pin,
        identities::list_identities,
        identities::start_link,
        identities::complete_link,
        identities::unlink_identity,
        mfa::get_mfa,
        mfa::start_totp,
        mfa::disable_totp,
        mfa::confirm_totp,
        mfa::regenerate_recovery_codes,
        mfa::start_phone,
        mfa::remove_phone,
        mfa::confirm_phone,
        mfa::start_email_verification,
        mfa::confirm_email,
        mfa::start_email_change,
        mfa::confirm_email_change,
        auth::logout,
        tokens::list_tokens,
        tokens::create_token,
        tokens::revoke_token,
        tokens::rotate_token,
        admin_users::list_users,
        admin_users::get_user,
        admin_users::update_user,
        admin_users::reset_factors,
        admin_users::end_all_sign_ins,
        admin_audit::list_events,
        pin::admin_set_pin,
        tokens::admin_list_tokens,
        tokens::admin_revoke_all_tokens,
        tokens::admin_revoke_token,
        identities::admin_list_identities,
        identities::admin_link_identity,
        admin_clients::list_clients,
        admin_clients::create_client,
        admin_clients::get_client,
        admin_clients::update_client,
        admin_clients::delete_client,
        admin_clients::rotate_client_secret,
        admin_registration_tokens::create_registration_token,
        admin_registration_tokens::list_registration_tokens,
        admin_registration_tokens::revoke_registration_token,
        admin_providers::list_providers,
        admin_providers::create_provider,
        admin_providers::get_provider,
        admin_providers::update_provider,
        admin_providers::delete_provider,
        admin_apps::list_apps,
        admin_apps::create_app,
        admin_apps::get_app,
        admin_apps::update_app,
        admin_apps::delete_app,
        admin_apps::list_api_keys,
        admin_apps::create_api_key,
        admin_apps::revoke_api_key,
        admin_webhooks::list_webhooks,
        admin_webhooks::create_webhook,
        admin_webhooks::get_webhook,
        admin_webhooks::update_webhook,
        admin_webhooks::delete_webhook,
        admin_webhooks::rotate_webhook_secret,
        admin_webhooks::list_deliveries,
        admin_members::list_members,
        admin_members::add_member,
        admin_apps::get_access_link,
        admin_apps::get_access_link_svg,
        admin_apps::get_access_link_png,
        admin_members::import_members,
        admin_members::remove_member,
        admin_members::list_invitations,
        admin_members::invite,
        admin_members::withdraw_invitation
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes, &ErrorResponses, &UniqueOperationIds),
    security(("api_key" = [])),
    tags(
        (name = "sign-in", description = "Signing in: passwords, codes, second factors, upstream providers, refresh"),
        (name = "account", description = "The signed-in account: its profile, password, PIN, factors and identities"),
        (name = "private tokens", description = "The signed-in account's private (application) tokens"),
        (name = "admin: users", description = "Accounts, for administrators"),
        (name = "admin: audit", description = "The audit log, for administrators"),
        (name = "admin: clients", description = "OAuth clients, for administrators"),
        (name = "admin: providers", description = "Upstream identity providers, for administrators"),
        (name = "admin: applications", description = "Applications, their API keys and access links"),
        (name = "admin: members", description = "Applications' members and invitations, for administrators"),
        (name = "admin: webhooks", description = "Applications' webhooks of audit events, for administrators"),
    )
)]
pub struct ApiDoc;

/// The `api_key` and `bearer` security schemes the operations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "The application's API key; required on every /api/v1 route",
            ))),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// One shared `Error` response, `{"code", "detail", "fields"?}`, answered for 4xx by every operation.
struct ErrorResponses;

/// The name of the shared error response in the document's components.
const ERROR_RESPONSE: &str = "Error";

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let error = ResponseBuilder::new()
            .description("A refused request: `code` for programs, `detail` for people, `fields` naming invalid input")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        components.responses.insert(ERROR_RESPONSE.to_owned(), RefOr::T(error));
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .insert("4XX".to_owned(), RefOr::Ref(Ref::from_response_name(ERROR_RESPONSE)));
            }
        }
    }
}

/// One handler registered for two methods (`PATCH` and `PUT` of an application) is one operation id twice;
/// OpenAPI wants each unique, so the later ones take their method as a suffix (`update_app_put`).
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut seen = std::collections::BTreeSet::new();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let Some(id) = &operation.operation_id else { continue };
                if !seen.insert(id.clone()) {
                    let unique = format!("{id}_{method}");
                    seen.insert(unique.clone());
                    operation.operation_id = Some(unique);
                }
            }
        }
    }
}

/// The document, built once.
pub static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// `GET /api/v1/openapi.json`: the document, for anyone (no API key), cacheable for five minutes.
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(&*DOCUMENT)
}
