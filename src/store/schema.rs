//! Table definitions shared by SQLite and PostgreSQL (portable column types only).

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        password_hash -> Nullable<Text>,
        scopes -> Text,
        is_active -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        phone -> Nullable<Text>,
        guest -> Bool,
        name -> Nullable<Text>,
        pin_hash -> Nullable<Text>,
        plan -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_n -> Text,
        public_e -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        activates_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
        application_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        scope -> Text,
        amr -> Text,
        acr -> Text,
        browser_session_id -> Nullable<Text>,
        offline -> Bool,
        last_active_at -> Nullable<BigInt>,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        session_id -> Text,
        token_hash -> Text,
        parent_id -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        name -> Text,
        slug -> Text,
        rate_limit_per_minute -> Integer,
        access_token_ttl_secs -> BigInt,
        refresh_token_ttl_secs -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        access_mode -> Text,
        login_methods -> Text,
        verification_channels -> Text,
        code_ttl_secs -> BigInt,
        home_client_id -> Nullable<Text>,
        external_providers -> Text,
        ip_ranges -> Text,
        idle_timeout_secs -> Nullable<BigInt>,
        pin_format -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        application_id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Text,
        application_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        token_endpoint_auth_method -> Text,
        first_party -> Bool,
        is_active -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        resource_server -> Bool,
        initiate_login_uri -> Nullable<Text>,
        require_pushed_authorization_requests -> Bool,
        backchannel_logout_uri -> Nullable<Text>,
        backchannel_logout_session_required -> Bool,
        jwks -> Nullable<Text>,
        secret_sealed -> Nullable<Text>,
        id_token_signed_response_alg -> Nullable<Text>,
        access_token_signed_response_alg -> Nullable<Text>,
    }
}

diesel::table! {
    browser_sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        amr -> Text,
        acr -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_requests (id) {
        id -> Text,
        client_id -> Text,
        browser_binding -> Text,
        parameters -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        browser_session_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time -> BigInt,
        amr -> Text,
        acr -> Text,
        offline -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        session_id -> Nullable<Text>,
        replayed_at -> Nullable<BigInt>,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    device_authorizations (id) {
        id -> Text,
        device_code_hash -> Text,
        user_code_hash -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        interval_secs -> BigInt,
        next_poll_at -> BigInt,
        status -> Text,
        user_id -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        amr -> Nullable<Text>,
        acr -> Nullable<Text>,
        decided_at -> Nullable<BigInt>,
        used_at -> Nullable<BigInt>,
        session_id -> Nullable<Text>,
    }
}

diesel::table! {
    pushed_requests (request_uri_hash) {
        request_uri_hash -> Text,
        client_id -> Text,
        parameters -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    replay_markers (marker_hash) {
        marker_hash -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    private_tokens (id) {
        id -> Text,
        user_id -> Text,
        application_id -> Text,
        description -> Text,
        prefix -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
        last_used_at -> Nullable<BigInt>,
        last_used_ip -> Nullable<Text>,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Text,
        secret -> Text,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
        last_used_step -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    one_time_codes (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        purpose -> Text,
        binding -> Text,
        channel -> Text,
        destination -> Text,
        code_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        attempts -> Integer,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sign_in_flows (id) {
        id -> Text,
        token_hash -> Text,
        application_id -> Text,
        browser_binding -> Nullable<Text>,
        user_id -> Nullable<Text>,
        stage -> Text,
        amr -> Text,
        channel -> Nullable<Text>,
        destination -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        attempts -> Integer,
        consumed_at -> Nullable<BigInt>,
        result_hash -> Nullable<Text>,
        proven_identity -> Nullable<Text>,
    }
}

diesel::table! {
    application_members (application_id, user_id) {
        application_id -> Text,
        user_id -> Text,
        added_at -> BigInt,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        token_hash -> Text,
        application_id -> Text,
        email -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        accepted_at -> Nullable<BigInt>,
        accepted_by -> Nullable<Text>,
    }
}

diesel::table! {
    external_identities (id) {
        id -> Text,
        user_id -> Text,
        provider_id -> Text,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::table! {
    federation_logins (id) {
        id -> Text,
        state_hash -> Text,
        provider_id -> Text,
        application_id -> Text,
        browser_binding -> Text,
        request_id -> Nullable<Text>,
        link_user_id -> Nullable<Text>,
        return_to -> Nullable<Text>,
        nonce -> Text,
        pkce_verifier -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    identity_providers (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        issuer -> Text,
        client_id -> Text,
        client_secret -> Text,
        scopes -> Text,
        email_claim -> Text,
        username_claim -> Text,
        allowed_domains -> Text,
        trust_email -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        name_claim -> Text,
        trusted_amr -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> BigInt,
        kind -> Text,
        actor_id -> Nullable<Text>,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        application_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        application_id -> Text,
        url -> Text,
        secret -> Text,
        event_kinds -> Text,
        enabled -> Bool,
        description -> Text,
        cursor_at -> BigInt,
        cursor_id -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        claim -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    registration_tokens (id) {
        id -> Text,
        token_hash -> Text,
        application_id -> Text,
        description -> Text,
        uses_left -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    client_registrations (client_id) {
        client_id -> Text,
        access_token_hash -> Text,
        registration_token_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    backchannel_logouts (id) {
        id -> Text,
        client_id -> Text,
        sub -> Text,
        sid -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        leased_until -> Nullable<BigInt>,
        lease -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        delivered_at -> Nullable<BigInt>,
        failed_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::joinable!(external_identities -> users (user_id));
diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        credential_id -> Text,
        credential -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passkey_ceremonies (id) {
        id -> Text,
        purpose -> Text,
        browser_binding -> Text,
        user_id -> Nullable<Text>,
        flow_id -> Nullable<Text>,
        state -> Text,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(application_members -> users (user_id));
diesel::joinable!(application_members -> applications (application_id));
diesel::joinable!(invitations -> applications (application_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(private_tokens -> users (user_id));
diesel::joinable!(sign_in_flows -> users (user_id));
diesel::joinable!(browser_sessions -> users (user_id));
diesel::joinable!(api_keys -> applications (application_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(webhooks -> applications (application_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(backchannel_logouts -> oauth_clients (client_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    signing_keys,
    sessions,
    refresh_tokens,
    oauth_clients,
    browser_sessions,
    authorization_requests,
    authorization_codes,
    device_authorizations,
    pushed_requests,
    consents,
    revoked_tokens,
    replay_markers,
    applications,
    api_keys,
    private_tokens,
    totp_factors,
    recovery_codes,
    one_time_codes,
    sign_in_flows,
    application_members,
    invitations,
    external_identities,
    federation_logins,
    identity_providers,
    audit_events,
    webhooks,
    webhook_deliveries,
    registration_tokens,
    client_registrations,
    backchannel_logouts,
    passkeys,
    passkey_ceremonies,
);
