//! OpenID Connect and OAuth 2.0 protocol logic, free of HTTP types: discovery, client registration and
//! authentication, the authorization request and its interaction (login, consent), the consents an account
//! gave (listed and withdrawn on its pages), device authorizations (RFC 8628: the device's request and the
//! person's answer), pushed authorization requests (RFC 9126), the grants of the token endpoint (DPoP-bound, RFC 9449, when the
//! request proves a key), userinfo, revocation, introspection and RP-initiated logout.

pub mod access_link;
pub mod authorize;
pub mod backchannel;
pub mod clients;
mod consents;
pub mod device;
pub mod discovery;
pub mod dynamic_clients;
mod error;
pub mod grants;
pub mod interaction;
pub mod introspection;
pub mod logout;
pub mod par;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod response_mode;
pub mod revocation;
pub mod scope;
mod standing;
pub mod userinfo;

use std::sync::Arc;
use std::time::Duration;

pub use consents::{Consent, ConsentError};
pub use error::{ErrorCode, OAuthError};

use crate::apps::rate_limit::RateLimiter;
use crate::auth::{Accounts, Auth, PrivateTokens, Sessions, SignIn};
use crate::config::Config;
use crate::store::Database;
use crate::tokens::dpop::Dpop;
use crate::tokens::revoked::RevokedTokens;
use crate::tokens::{AccessTokens, IdTokens};
use clients::ClientService;

/// The OpenID provider with its dependencies.
pub struct OidcService {
    db: Database,
    pub clients: Arc<ClientService>,
    /// RFC 7591/7592: clients registering themselves with an administrator's initial access token.
    pub dynamic_clients: dynamic_clients::DynamicClients,
    sessions: Arc<Sessions>,
    private_tokens: Arc<PrivateTokens>,
    accounts: Arc<Accounts>,
    sign_in: Arc<SignIn>,
    revoked: Arc<RevokedTokens>,
    access: AccessTokens,
    /// DPoP proofs and nonces (RFC 9449).
    dpop: Arc<Dpop>,
    id_tokens: IdTokens,
    issuer: String,
    code_ttl: i64,
    /// Counts wrong user codes per address (RFC 8628 §5.1).
    limiter: Arc<dyn RateLimiter>,
}

impl OidcService {
    pub fn new(
        config: &Config,
        db: Database,
        auth: &Auth,
        access: AccessTokens,
        id_tokens: IdTokens,
        limiter: Arc<dyn RateLimiter>,
    ) -> Self {
        let clients = Arc::new(ClientService::new(
            db.clone(),
            Duration::from_secs(config.oauth.client_cache_ttl_secs),
            config.secret_key.clone(),
            config.issuer().to_owned(),
            config.keys.algorithms.clone(),
        ));
        Self {
            dynamic_clients: dynamic_clients::DynamicClients::new(
                db.clone(),
                clients.clone(),
                config.oauth.dynamic_registration,
                config.issuer(),
            ),
            clients,
            db,
            sessions: auth.sessions.clone(),
            private_tokens: auth.private_tokens.clone(),
            accounts: auth.accounts.clone(),
            sign_in: auth.sign_in.clone(),
            revoked: auth.revoked.clone(),
            access,
            dpop: auth.dpop.clone(),
            id_tokens,
            issuer: config.issuer().to_owned(),
            code_ttl: config.tokens.authorization_code_ttl_secs,
            limiter,
        }
    }

    /// The issuer identifier, exactly as published.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The ID-token issuer (to check `id_token_hint`s).
    pub fn id_tokens(&self) -> &IdTokens {
        &self.id_tokens
    }
}

/// Appends `params` to `uri`'s query, keeping what is already there (RFC 6749 §3.1.2: the redirect URI's
/// query MUST be retained).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", serializer.finish())
}
