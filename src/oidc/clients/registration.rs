//! The registration rules: what a client may ask for, checked field by field into a [`Client`].

use super::{AuthMethod, Client, ClientError, GrantType};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::oidc::redirect_uri;
use crate::oidc::scope::{self, Scope};
use crate::tokens::jwk::JwkSet;
use crate::tokens::keys::SigningAlg;
use crate::tokens::opaque;

/// The largest JWK Set a client may register, serialised.
const MAX_JWKS_BYTES: usize = 16 * 1024;

/// Scopes a client may be granted when its registration names none.
const DEFAULT_SCOPES: &[&str] = &[
    scope::OPENID,
    scope::PROFILE,
    scope::EMAIL,
    scope::PHONE,
    scope::ADDRESS,
    scope::OFFLINE_ACCESS,
];

/// What an administrator asks for when registering or updating a client.
#[derive(Clone, Debug, Default)]
pub struct ClientSpec {
    /// The application (id or slug) the client belongs to; the default application when absent.
    pub application: Option<String>,
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (SPA, native app) has no secret and must use PKCE.
    pub public: bool,
    /// Defaults to `authorization_code` and `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    /// Defaults to the OpenID Connect scopes.
    pub scopes: Option<Vec<String>>,
    /// `client_secret_basic` (default), `client_secret_post`, `client_secret_jwt` or `private_key_jwt`;
    /// public clients always use `none`.
    pub token_endpoint_auth_method: Option<String>,
    /// `private_key_jwt`: the client's public signing keys, a JWK Set (RFC 7517 §5).
    pub jwks: Option<serde_json::Value>,
    /// The algorithm of the client's ID tokens (RS256, ES256 or EdDSA; RS256 when absent).
    pub id_token_signed_response_alg: Option<String>,
    /// The algorithm of the client's access tokens (RS256 when absent).
    pub access_token_signed_response_alg: Option<String>,
    pub first_party: bool,
    /// An API gateway that introspects every token of its application (confidential clients only).
    pub resource_server: bool,
    /// Where a third party starts a sign-in at this client (OpenID Connect Core §4).
    pub initiate_login_uri: Option<String>,
    /// RFC 9126 §6: refuse authorization requests that were not pushed first.
    pub require_pushed_authorization_requests: bool,
    /// Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed (https, or http on a loopback address).
    pub backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout 1.0 §2.2: the client needs `sid` in its logout tokens.
    pub backchannel_logout_session_required: bool,
    pub is_active: Option<bool>,
}

/// Checks a registration; `current` is the client being updated, if any.
pub(super) fn validate(
    spec: ClientSpec,
    application_id: String,
    current: Option<&Client>,
    algorithms: &[SigningAlg],
    now: UnixTime,
) -> Result<Client, ClientError> {
    let mut problems = Vec::new();
    let mut problem = |field: &'static str, message: String| problems.push(FieldError { field, message });
    let name = spec.name.unwrap_or_default().trim().to_owned();
    if !(1..=100).contains(&name.chars().count()) {
        problem("name", "must be 1 to 100 characters".into());
    }
    for (field, uris) in [
        ("redirect_uris", &spec.redirect_uris),
        ("post_logout_redirect_uris", &spec.post_logout_redirect_uris),
    ] {
        for uri in uris {
            if let Some(why) = redirect_uri::registration_problem(uri) {
                problem(field, format!("{uri:?} {why}"));
            }
        }
    }
    if let Some(uri) = &spec.initiate_login_uri
        && let Some(why) = redirect_uri::registration_problem(uri)
    {
        problem("initiate_login_uri", format!("{uri:?} {why}"));
    }
    // Back-Channel Logout 1.0 §2.2: an absolute URI without a fragment; https, or http on a loopback address.
    if let Some(uri) = &spec.backchannel_logout_uri
        && let Some(why) = redirect_uri::registration_problem(uri)
    {
        problem("backchannel_logout_uri", format!("{uri:?} {why}"));
    }
    let default_grants = if spec.resource_server {
        Vec::new()
    } else {
        vec!["authorization_code".into(), "refresh_token".into()]
    };
    let grant_names = spec.grant_types.unwrap_or(default_grants);
    let mut grant_types = Vec::new();
    for name in &grant_names {
        match GrantType::parse(name) {
            Some(grant) if !grant_types.contains(&grant) => grant_types.push(grant),
            Some(_) => {}
            None => problem("grant_types", format!("{name:?} is not supported")),
        }
    }
    // A resource server may do nothing but introspect; every other client needs a grant.
    if grant_types.is_empty() && !spec.resource_server {
        problem("grant_types", "at least one grant type is required".into());
    }
    if spec.resource_server && spec.public {
        problem(
            "resource_server",
            "a resource server introspects tokens, which needs a confidential client".into(),
        );
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        problem(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI".into(),
        );
    }
    if spec.public && grant_types.contains(&GrantType::ClientCredentials) {
        problem("grant_types", "a public client cannot use client_credentials".into());
    }
    let requested_scopes = spec
        .scopes
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    let scopes = Scope::parse(&requested_scopes.join(" ")).unwrap_or_else(|| {
        problem(
            "scopes",
            "a scope may contain only printable ASCII other than space, '\"' and '\\'".into(),
        );
        Scope::default()
    });
    let auth_method = match (spec.public, spec.token_endpoint_auth_method.as_deref()) {
        (true, None | Some("none")) => AuthMethod::None,
        (true, Some(_)) => {
            problem(
                "token_endpoint_auth_method",
                "a public client authenticates with none".into(),
            );
            AuthMethod::None
        }
        (false, None) => AuthMethod::ClientSecretBasic,
        (false, Some(text)) => match AuthMethod::parse(text) {
            Some(AuthMethod::None) | None => {
                problem(
                    "token_endpoint_auth_method",
                    "must be client_secret_basic, client_secret_post, client_secret_jwt or private_key_jwt".into(),
                );
                AuthMethod::ClientSecretBasic
            }
            Some(method) => method,
        },
    };
    // RFC 7523 / OpenID Connect Core §9: a private_key_jwt client registers the keys it signs with, and
    // only such a client has keys.
    let keys = match (&spec.jwks, auth_method) {
        (None, AuthMethod::PrivateKeyJwt) => {
            problem("jwks", "private_key_jwt needs the client's public keys".into());
            None
        }
        (None, _) => None,
        (Some(_), method) if method != AuthMethod::PrivateKeyJwt => {
            problem("jwks", "only a private_key_jwt client registers keys".into());
            None
        }
        (Some(jwks), _) if jwks.to_string().len() > MAX_JWKS_BYTES => {
            problem("jwks", format!("must be at most {MAX_JWKS_BYTES} bytes"));
            None
        }
        (Some(jwks), _) => JwkSet::parse(jwks).map_err(|why| problem("jwks", why)).ok(),
    };
    // The algorithms a client may ask its tokens in are those the server keeps keys for.
    let mut signing_alg = |field: &'static str, name: &Option<String>| {
        let name = name.as_deref()?;
        let alg = SigningAlg::parse(name).filter(|alg| algorithms.contains(alg));
        if alg.is_none() {
            let offered: Vec<&str> = algorithms.iter().map(|alg| alg.as_str()).collect();
            problem(field, format!("{name:?} is not one of {}", offered.join(", ")));
        }
        alg
    };
    let id_token_alg = signing_alg("id_token_signed_response_alg", &spec.id_token_signed_response_alg);
    let access_token_alg = signing_alg(
        "access_token_signed_response_alg",
        &spec.access_token_signed_response_alg,
    );
    if !problems.is_empty() {
        return Err(ClientError::Validation(problems));
    }
    Ok(Client {
        id: current.map_or_else(opaque::random_id, |c| c.id.clone()),
        application_id,
        name,
        secret_hash: None,
        redirect_uris: spec.redirect_uris,
        post_logout_redirect_uris: spec.post_logout_redirect_uris,
        grant_types,
        scopes,
        auth_method,
        first_party: spec.first_party,
        resource_server: spec.resource_server,
        initiate_login_uri: spec.initiate_login_uri,
        require_pushed_authorization_requests: spec.require_pushed_authorization_requests,
        backchannel_logout_uri: spec.backchannel_logout_uri,
        backchannel_logout_session_required: spec.backchannel_logout_session_required,
        jwks: spec.jwks,
        keys,
        secret_sealed: None,
        id_token_signed_response_alg: id_token_alg,
        access_token_signed_response_alg: access_token_alg,
        is_active: spec.is_active.unwrap_or(true),
        created_at: current.map_or(now, |c| c.created_at),
        updated_at: now,
    })
}
