//! The REST token API under `/api/v1`.

mod admin_apps;
mod admin_audit;
mod admin_clients;
mod admin_members;
mod admin_providers;
mod admin_registration_tokens;
mod admin_users;
mod admin_webhooks;
mod auth;
mod body;
pub mod compat;
mod external;
mod identities;
mod mfa;
pub mod openapi;
mod pin;
pub mod reference;
mod sign_in;
mod step_up;
mod tokens;
mod users;

use actix_web::web;

use crate::http::error::ApiError;

/// Query strings of the API that cannot be read (a mistyped or repeated parameter): a JSON 400.
fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        ApiError::malformed_request(format!("The query string cannot be read: {error}.")).into()
    })
}

/// Registers the `/api/v1` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(query_config())
        .service(web::resource("/users").post(users::create_user))
        .service(
            web::resource("/user")
                .get(users::get_current_user)
                .patch(users::update_current_user),
        )
        .service(web::resource("/auth/login").post(auth::login))
        .service(web::resource("/auth/mfa").post(auth::complete_mfa))
        .service(web::resource("/auth/mfa/challenge").post(auth::send_mfa_code))
        .service(web::resource("/auth/refresh").post(auth::refresh))
        .service(web::resource("/auth/guest").post(sign_in::guest))
        .service(web::resource("/auth/step-up").post(step_up::step_up))
        .service(web::resource("/auth/activity").post(step_up::activity))
        .service(web::resource("/auth/external").post(external::start_external))
        .service(web::resource("/auth/external/complete").post(external::complete_external))
        .service(web::resource("/auth/code").post(sign_in::start_code))
        .service(web::resource("/auth/code/resend").post(sign_in::resend_code))
        .service(web::resource("/auth/code/verify").post(sign_in::verify_code))
        .service(web::resource("/auth/verify/send").post(sign_in::send_verification))
        .service(web::resource("/auth/verify").post(sign_in::complete_verification))
        .service(web::resource("/user/password").put(users::change_password))
        .service(web::resource("/user/pin").put(pin::set_pin).delete(pin::remove_pin))
        .service(web::resource("/user/identities").get(identities::list_identities))
        .service(web::resource("/user/identities/link").post(identities::start_link))
        .service(web::resource("/user/identities/link/complete").post(identities::complete_link))
        .service(web::resource("/user/identities/{id}").delete(identities::unlink_identity))
        .service(web::resource("/user/mfa").get(mfa::get_mfa))
        .service(
            web::resource("/user/mfa/totp")
                .post(mfa::start_totp)
                .delete(mfa::disable_totp),
        )
        .service(web::resource("/user/mfa/totp/confirm").post(mfa::confirm_totp))
        .service(web::resource("/user/mfa/recovery-codes").post(mfa::regenerate_recovery_codes))
        .service(
            web::resource("/user/phone")
                .post(mfa::start_phone)
                .delete(mfa::remove_phone),
        )
        .service(web::resource("/user/phone/confirm").post(mfa::confirm_phone))
        .service(web::resource("/user/email/verify").post(mfa::start_email_verification))
        .service(web::resource("/user/email/confirm").post(mfa::confirm_email))
        .service(web::resource("/user/email/change").post(mfa::start_email_change))
        .service(web::resource("/user/email/change/confirm").post(mfa::confirm_email_change))
        .service(web::resource("/auth/logout").post(auth::logout))
        .service(
            web::resource("/tokens")
                .get(tokens::list_tokens)
                .post(tokens::create_token),
        )
        .service(web::resource("/tokens/{id}").delete(tokens::revoke_token))
        .service(web::resource("/tokens/{id}/rotate").post(tokens::rotate_token))
        .service(web::resource("/admin/users").get(admin_users::list_users))
        .service(
            web::resource("/admin/users/{id}")
                .get(admin_users::get_user)
                .patch(admin_users::update_user),
        )
        .service(web::resource("/admin/users/{id}/factors").delete(admin_users::reset_factors))
        .service(web::resource("/admin/users/{id}/sessions").delete(admin_users::end_all_sign_ins))
        .service(web::resource("/admin/audit-events").get(admin_audit::list_events))
        .service(web::resource("/admin/users/{id}/pin").put(pin::admin_set_pin))
        .service(
            web::resource("/admin/users/{id}/tokens")
                .get(tokens::admin_list_tokens)
                .delete(tokens::admin_revoke_all_tokens),
        )
        .service(web::resource("/admin/users/{id}/tokens/{token_id}").delete(tokens::admin_revoke_token))
        .service(
            web::resource("/admin/users/{id}/identities")
                .get(identities::admin_list_identities)
                .post(identities::admin_link_identity),
        )
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
        .service(web::resource("/admin/clients/{id}/secret").post(admin_clients::rotate_client_secret))
        .service(
            web::resource("/admin/registration-tokens")
                .get(admin_registration_tokens::list_registration_tokens)
                .post(admin_registration_tokens::create_registration_token),
        )
        .service(
            web::resource("/admin/registration-tokens/{id}")
                .delete(admin_registration_tokens::revoke_registration_token),
        )
        .service(
            web::resource("/admin/providers")
                .get(admin_providers::list_providers)
                .post(admin_providers::create_provider),
        )
        .service(
            web::resource("/admin/providers/{id}")
                .get(admin_providers::get_provider)
                .patch(admin_providers::update_provider)
                .delete(admin_providers::delete_provider),
        )
        .service(
            web::resource("/admin/apps")
                .get(admin_apps::list_apps)
                .post(admin_apps::create_app),
        )
        .service(
            web::resource("/admin/apps/{id}")
                .get(admin_apps::get_app)
                .patch(admin_apps::update_app)
                .put(admin_apps::update_app)
                .delete(admin_apps::delete_app),
        )
        .service(
            web::resource("/admin/apps/{id}/api-keys")
                .get(admin_apps::list_api_keys)
                .post(admin_apps::create_api_key),
        )
        .service(web::resource("/admin/apps/{id}/api-keys/{key_id}").delete(admin_apps::revoke_api_key))
        .service(
            web::resource("/admin/apps/{id}/webhooks")
                .get(admin_webhooks::list_webhooks)
                .post(admin_webhooks::create_webhook),
        )
        .service(
            web::resource("/admin/apps/{id}/webhooks/{webhook_id}")
                .get(admin_webhooks::get_webhook)
                .patch(admin_webhooks::update_webhook)
                .delete(admin_webhooks::delete_webhook),
        )
        .service(
            web::resource("/admin/apps/{id}/webhooks/{webhook_id}/rotate-secret")
                .post(admin_webhooks::rotate_webhook_secret),
        )
        .service(
            web::resource("/admin/apps/{id}/webhooks/{webhook_id}/deliveries").get(admin_webhooks::list_deliveries),
        )
        .service(
            web::resource("/admin/apps/{id}/members")
                .get(admin_members::list_members)
                .post(admin_members::add_member),
        )
        .service(web::resource("/admin/apps/{id}/access-link").get(admin_apps::get_access_link))
        .service(web::resource("/admin/apps/{id}/access-link.svg").get(admin_apps::get_access_link_svg))
        .service(web::resource("/admin/apps/{id}/access-link.png").get(admin_apps::get_access_link_png))
        .service(web::resource("/admin/apps/{id}/members/import").post(admin_members::import_members))
        .service(web::resource("/admin/apps/{id}/members/{user_id}").delete(admin_members::remove_member))
        .service(
            web::resource("/admin/apps/{id}/invitations")
                .get(admin_members::list_invitations)
                .post(admin_members::invite),
        )
        .service(
            web::resource("/admin/apps/{id}/invitations/{invitation_id}").delete(admin_members::withdraw_invitation),
        );
}
