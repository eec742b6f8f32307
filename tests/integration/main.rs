//! The one integration-test binary: every module drives a real Tessera over HTTP, on a fresh SQLite file,
//! or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test should fail loudly at the first surprise"
)]

mod oidc_support;
mod standins;
mod support;

mod access;
mod access_pages;
mod account_console;
mod account_profile;
mod admin_clients;
mod applications;
mod audit;
mod authorize;
mod backchannel_logout;
mod bad_input;
mod bearer;
mod bench_seed;
mod browser;
mod browser_passkeys;
mod browser_pin;
mod captcha;
mod cli;
mod client_assertions;
mod client_credentials;
mod cluster;
mod compat;
mod console;
mod console_providers;
mod device_grant;
mod discovery;
mod dpop;
mod dynamic_registration;
mod federation;
mod federation_links;
mod federation_tokens;
mod health;
mod introspection;
mod jwks;
mod login;
mod logout;
mod metrics;
mod mfa;
mod networks;
mod oauth_refresh;
mod openapi;
mod outage;
mod pages_mfa;
mod par;
mod passkey_token;
mod passkeys;
mod pin;
mod pkce;
mod private_tokens;
mod prompts;
mod rate_limit;
mod refresh;
mod reproof;
mod response_mode;
mod revocation;
mod rp_flow;
mod sessions;
mod signing_algorithms;
mod signup;
mod signup_limits;
mod slow_clients;
mod statement_cache;
mod step_up;
mod token_code;
mod userinfo;
mod webhooks;
