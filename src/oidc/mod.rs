//! OpenID Connect and OAuth 2.0 protocol logic, free of HTTP types: discovery, client registration and
//! authentication, the authorization request and its interaction (login, consent), the consents an account
//! gave (listed and withdrawn on its pages), device authorizations (RFC 8628: the device's request and the
//! person's answer), pushed authorization requests (RFC 9126), the grants of the token endpoint, userinfo, revocation, introspection and RP-initiated
//! logout.

pub mod access_link;
pub mod authorize;
pub mod backchannel;
pub mod clients;
mod consents;
pub mod device;
pub mod discovery;
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
use crate::tokens::revoked::RevokedTokens;
use crate::tokens::{AccessTokens, IdTokens};
use clients::ClientService;

/// The OpenID provider with its dependencies.
pub struct OidcService {
    db: Database,
    pub clients: ClientService,
    sessions: Arc<Sessions>,
    private_tokens: Arc<PrivateTokens>,
    accounts: Arc<Accounts>,
    sign_in: Arc<SignIn>,
    revoked: Arc<RevokedTokens>,
    access: AccessTokens,
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
        Self {
            clients: ClientService::new(db.clone(), Duration::from_secs(config.oauth.client_cache_ttl_secs)),
            db,
            sessions: auth.sessions.clone(),
            private_tokens: auth.private_tokens.clone(),
            accounts: auth.accounts.clone(),
            sign_in: auth.sign_in.clone(),
            revoked: auth.revoked.clone(),
            access,
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
