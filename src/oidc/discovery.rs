//! The provider metadata (OpenID Connect Discovery 1.0 §3; RFC 8414 §2; RFC 8628 §4; RFC 9126 §5; RFC 9449 §5.1), built once
//! at start.

use serde::Serialize;

use super::clients::GrantType;
use super::pkce::S256;
use super::response_mode::ResponseMode;
use super::scope::OIDC_SCOPES;
use crate::tokens::keys::SigningAlg;

/// Paths of the endpoints, relative to the issuer.
pub const AUTHORIZATION_PATH: &str = "/oauth2/authorize";
pub const TOKEN_PATH: &str = "/oauth2/token";
pub const USERINFO_PATH: &str = "/oauth2/userinfo";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
pub const END_SESSION_PATH: &str = "/oauth2/logout";
/// RFC 8628 §3.1: where a device asks for a device code and a user code.
pub const DEVICE_AUTHORIZATION_PATH: &str = "/oauth2/device_authorization";
/// RFC 8628 §3.3: the page where the person enters the user code (`verification_uri`).
pub const DEVICE_VERIFICATION_PATH: &str = "/device";
/// RFC 9126 §2: where a client pushes its authorization request.
pub const PUSHED_AUTHORIZATION_REQUEST_PATH: &str = "/oauth2/par";

const CLIENT_AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];
/// RFC 7662 §2.1: introspection needs a client that can authenticate, so not `none`.
const INTROSPECTION_AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
];
/// The algorithms of client assertions (RFC 7523): asymmetric for `private_key_jwt`, HMAC for
/// `client_secret_jwt`.
const CLIENT_ASSERTION_ALGS: &[&str] = &["ES256", "PS256", "RS256", "EdDSA", "HS256", "HS384", "HS512"];

#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    device_authorization_endpoint: String,
    pushed_authorization_request_endpoint: String,
    /// RFC 7591 §3: present only when dynamic registration is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    /// RFC 9126 §5: whether every client must push (server-wide: no; a client may be required to).
    require_pushed_authorization_requests: bool,
    scopes_supported: &'static [&'static str],
    response_types_supported: [&'static str; 1],
    response_modes_supported: [&'static str; 3],
    grant_types_supported: [&'static str; GrantType::ALL.len()],
    subject_types_supported: [&'static str; 1],
    /// The algorithms with a signing key (`keys.algorithms`), RS256 first.
    id_token_signing_alg_values_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: &'static [&'static str],
    revocation_endpoint_auth_methods_supported: &'static [&'static str],
    introspection_endpoint_auth_methods_supported: &'static [&'static str],
    token_endpoint_auth_signing_alg_values_supported: &'static [&'static str],
    revocation_endpoint_auth_signing_alg_values_supported: &'static [&'static str],
    introspection_endpoint_auth_signing_alg_values_supported: &'static [&'static str],
    code_challenge_methods_supported: [&'static str; 1],
    claims_supported: &'static [&'static str],
    claim_types_supported: [&'static str; 1],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    require_request_uri_registration: bool,
    authorization_response_iss_parameter_supported: bool,
    prompt_values_supported: [&'static str; 4],
    display_values_supported: [&'static str; 2],
    ui_locales_supported: [&'static str; 1],
    acr_values_supported: [&'static str; 2],
    frontchannel_logout_supported: bool,
    /// Back-Channel Logout 1.0 §2.1: logout tokens are sent, with `sid`.
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
    /// RFC 9449 §5.1: the algorithms DPoP proofs may be signed with.
    dpop_signing_alg_values_supported: [&'static str; crate::tokens::dpop::SIGNING_ALGS.len()],
}

/// The claims Tessera can state, in ID tokens or at the userinfo endpoint.
pub const CLAIMS_SUPPORTED: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

/// The discovery document for `issuer`, serialised; `registration` when dynamic registration is on;
/// `algorithms` the ones tokens may be signed with.
pub fn document(issuer: &str, registration: bool, algorithms: &[SigningAlg]) -> Vec<u8> {
    let endpoint = |path: &str| format!("{issuer}{path}");
    let metadata = Metadata {
        issuer,
        authorization_endpoint: endpoint(AUTHORIZATION_PATH),
        token_endpoint: endpoint(TOKEN_PATH),
        userinfo_endpoint: endpoint(USERINFO_PATH),
        jwks_uri: endpoint(JWKS_PATH),
        end_session_endpoint: endpoint(END_SESSION_PATH),
        revocation_endpoint: endpoint(REVOCATION_PATH),
        introspection_endpoint: endpoint(INTROSPECTION_PATH),
        device_authorization_endpoint: endpoint(DEVICE_AUTHORIZATION_PATH),
        pushed_authorization_request_endpoint: endpoint(PUSHED_AUTHORIZATION_REQUEST_PATH),
        registration_endpoint: registration.then(|| endpoint(super::dynamic_clients::REGISTRATION_PATH)),
        require_pushed_authorization_requests: false,
        scopes_supported: OIDC_SCOPES,
        response_types_supported: ["code"],
        response_modes_supported: ResponseMode::ALL.map(ResponseMode::as_str),
        grant_types_supported: GrantType::ALL.map(GrantType::as_str),
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: SigningAlg::ALL
            .into_iter()
            .filter(|alg| algorithms.contains(alg))
            .map(SigningAlg::as_str)
            .collect(),
        token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        introspection_endpoint_auth_methods_supported: INTROSPECTION_AUTH_METHODS,
        token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
        revocation_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
        introspection_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
        code_challenge_methods_supported: [S256],
        claims_supported: CLAIMS_SUPPORTED,
        claim_types_supported: ["normal"],
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        require_request_uri_registration: false,
        authorization_response_iss_parameter_supported: true,
        prompt_values_supported: ["none", "login", "consent", "select_account"],
        display_values_supported: ["page", "popup"],
        ui_locales_supported: ["en"],
        acr_values_supported: [crate::auth::SINGLE_FACTOR_ACR, crate::auth::MULTI_FACTOR_ACR],
        frontchannel_logout_supported: false,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        dpop_signing_alg_values_supported: crate::tokens::dpop::SIGNING_ALGS,
    };
    serde_json::to_vec(&metadata).unwrap_or_default()
}
