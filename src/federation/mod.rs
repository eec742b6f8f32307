//! Upstream OpenID providers: Google, or any OpenID Connect provider by its issuer. Tessera is their relying
//! party — authorization code with PKCE (S256), `state` and `nonce` — and the only module that imports
//! `openidconnect`. A browser's round trip is a `federation_logins` row (the `state` stored as a hash, the
//! PKCE verifier sealed), bound to the provider it started with and to the browser, and used once; the ID
//! token's signature, issuer, audience, expiry and nonce are checked against the provider's published keys.
//! What the upstream proves becomes an [`ExternalIdentity`] that the sign-in flow (`auth`) takes from there.

mod providers;
mod upstream;

use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::CoreResponseType;
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    Scope, TokenResponse,
};

use crate::apps::AppService;
use crate::auth::ExternalIdentity;
use crate::clock::UnixTime;
use crate::config::{Config, Secret};
use crate::error::FieldError;
use crate::store::federation_logins::{self, FederationLoginRow};
use crate::store::{Database, StoreError};
use crate::tokens::opaque;
use crate::tokens::sealing::{self, Purpose};
pub use providers::{ProviderSpec, Providers, Source};
pub use upstream::Discovered;
use upstream::Upstreams;

/// Why a round trip through an upstream provider failed.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("no such upstream provider")]
    UnknownProvider,
    /// The `state` is unknown, spent, expired, for another provider or from another browser.
    #[error("the sign-in through the upstream provider is unknown, expired or already used")]
    StateInvalid,
    /// The upstream answered with an error (the person declined, say).
    #[error("the upstream provider refused: {0}")]
    Refused(String),
    /// The callback names another issuer than the provider it came back to (RFC 9207).
    #[error("the response came from another issuer")]
    IssuerMismatch,
    /// The upstream could not be reached or answered something unusable.
    #[error("the upstream provider failed: {0}")]
    Upstream(String),
    /// The ID token did not pass its checks.
    #[error("the upstream ID token is not acceptable: {0}")]
    IdToken(String),
    /// The upstream address is outside the provider's allowed domains.
    #[error("the address is outside the domains this provider admits")]
    DomainNotAllowed,
    /// A provider's settings that cannot work, each naming its field.
    #[error("invalid provider settings")]
    Invalid(Vec<FieldError>),
    #[error("a provider with this id exists")]
    ProviderExists,
    /// Applications (by slug) still offer the provider.
    #[error("applications offer the provider: {0:?}")]
    ProviderInUse(Vec<String>),
    /// The provider is configured in the file, and changed only there.
    #[error("the provider is configured in the file")]
    ConfiguredInFile,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// What a test of a provider's discovery found.
#[derive(Clone, Debug)]
pub enum DiscoveryTest {
    Found(Discovered),
    /// Why the document or its keys could not be had (unreachable, not JSON, another issuer…).
    Failed(String),
}

/// A round trip begun: where to send the browser.
#[derive(Debug)]
pub struct Started {
    pub location: String,
}

/// A round trip to begin: through which provider, for which application, in which browser (or for which
/// REST sign-in flow), and what for.
#[derive(Clone, Copy, Debug)]
pub struct Trip<'a> {
    pub provider_id: &'a str,
    pub application_id: &'a str,
    /// Who may come back: a browser's binding (its CSRF cookie's hash), or a REST flow ([`api_binding`]).
    pub binding: &'a str,
    /// The authorization request a sign-in continues.
    pub request_id: Option<&'a str>,
    /// The signed-in account a link adds the identity to (instead of a sign-in).
    pub link_user_id: Option<&'a str>,
    /// Where the browser goes after a link a relying party started (one of its redirect URIs).
    pub return_to: Option<&'a str>,
}

/// What came back from the upstream: who it proved, and the sign-in (or link) it continues.
#[derive(Debug)]
pub struct Returned {
    pub identity: ExternalIdentity,
    pub application_id: String,
    pub request_id: Option<String>,
    pub link_user_id: Option<String>,
    pub return_to: Option<String>,
    /// The REST sign-in flow the round trip belongs to, when the REST API started it.
    pub api_flow: Option<String>,
}

const API_BINDING_PREFIX: &str = "api:";

/// The binding of a round trip the REST API started for the sign-in flow `flow_id`: any browser may bring it
/// back (the application sent one), and only the application holding the flow's token can finish it.
pub fn api_binding(flow_id: &str) -> String {
    format!("{API_BINDING_PREFIX}{flow_id}")
}

/// The query of a callback from an upstream provider.
#[derive(Debug, Default)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Upstream providers and the round trips to them.
pub struct Federation {
    db: Database,
    pub providers: Providers,
    upstreams: Upstreams,
    /// Tessera's own issuer: callbacks are under it.
    issuer: String,
    login_ttl_secs: i64,
    secret_key: Option<Secret>,
}

impl Federation {
    pub fn new(config: &Config, db: Database, apps: Arc<AppService>) -> Result<Self, FederationError> {
        let federation = &config.federation;
        Ok(Self {
            providers: Providers::new(
                db.clone(),
                apps,
                federation.providers.clone(),
                Duration::from_secs(config.apps.cache_ttl_secs),
                config.secret_key.clone(),
            ),
            db,
            upstreams: Upstreams::new(
                Duration::from_secs(federation.timeout_secs),
                Duration::from_secs(federation.metadata_cache_secs),
            )?,
            issuer: config.issuer().to_owned(),
            login_ttl_secs: federation.login_ttl_secs,
            secret_key: config.secret_key.clone(),
        })
    }

    /// The redirect URI to register at the upstream provider `id`.
    pub fn redirect_uri(&self, id: &str) -> String {
        format!("{}/federation/{id}/callback", self.issuer)
    }

    /// Fetches the discovery document and keys of the provider `id` now, as a sign-in would: what they say,
    /// or why they could not be had, in words. Only an unknown provider or the database is an error.
    pub async fn test_discovery(&self, id: &str) -> Result<DiscoveryTest, FederationError> {
        let (provider, _) = self.providers.find(id).await?;
        match self.upstreams.discover(&provider).await {
            Ok(found) => Ok(DiscoveryTest::Found(found)),
            Err(FederationError::Upstream(why)) => {
                tracing::info!(provider = id, %why, "discovery test failed");
                Ok(DiscoveryTest::Failed(why))
            }
            Err(other) => Err(other),
        }
    }

    /// Begins a round trip: the upstream's authorization URL, with a fresh `state`, `nonce` and PKCE
    /// challenge.
    pub async fn start(&self, trip: Trip<'_>, now: UnixTime) -> Result<Started, FederationError> {
        let provider_id = trip.provider_id;
        let (provider, _) = self.providers.find(provider_id).await?;
        let provider = &provider;
        let client = self.upstreams.client(provider, &self.redirect_uri(provider_id)).await?;
        let state = opaque::mint("tfs_");
        let nonce = opaque::random_id();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state_value = state.value.clone();
        let nonce_value = nonce.clone();
        let mut request = client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            move || CsrfToken::new(state_value),
            move || Nonce::new(nonce_value),
        );
        for scope in provider.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.set_pkce_challenge(challenge).url();
        let sealed = sealing::seal(
            Purpose::PkceVerifier,
            verifier.secret().as_bytes(),
            self.secret_key.as_ref(),
        )
        .map_err(|e| FederationError::Internal(e.to_string()))?;
        federation_logins::insert(
            &self.db,
            FederationLoginRow {
                id: opaque::random_id(),
                state_hash: state.hash,
                provider_id: provider_id.to_owned(),
                application_id: trip.application_id.to_owned(),
                browser_binding: trip.binding.to_owned(),
                request_id: trip.request_id.map(str::to_owned),
                link_user_id: trip.link_user_id.map(str::to_owned),
                return_to: trip.return_to.map(str::to_owned),
                nonce,
                pkce_verifier: sealed,
                created_at: now,
                expires_at: now + self.login_ttl_secs,
                consumed_at: None,
            },
        )
        .await?;
        tracing::info!(
            provider = provider_id,
            application_id = trip.application_id,
            link = trip.link_user_id.is_some(),
            "browser sent to an upstream provider"
        );
        Ok(Started {
            location: url.to_string(),
        })
    }

    /// Finishes a round trip at `provider_id`'s callback in the browser with `binding`: the `state` must be
    /// this browser's, for this provider, unspent; the code is redeemed with its PKCE verifier and the ID
    /// token checked. The round trip is spent whatever the outcome, wherever it is presented.
    pub async fn finish(
        &self,
        provider_id: &str,
        binding: &str,
        callback: Callback,
        now: UnixTime,
    ) -> Result<Returned, FederationError> {
        let (provider, _) = self.providers.find(provider_id).await?;
        let provider = &provider;
        let state = callback.state.as_deref().ok_or(FederationError::StateInvalid)?;
        let login = federation_logins::take(&self.db, opaque::hash(state), now)
            .await?
            .ok_or(FederationError::StateInvalid)?;
        let api_flow = login
            .browser_binding
            .strip_prefix(API_BINDING_PREFIX)
            .map(str::to_owned);
        // A state presented at another provider's callback, or by another browser, is spent and refused.
        if login.provider_id != provider_id || (api_flow.is_none() && login.browser_binding != binding) {
            tracing::warn!(provider = provider_id, started_at = %login.provider_id, "upstream response refused: another provider's or browser's round trip");
            return Err(FederationError::StateInvalid);
        }
        // RFC 9207: a response that names its issuer must name the one it was sent to, and a provider that
        // says it always names itself must have.
        let named = match &callback.iss {
            Some(iss) => iss == provider.issuer(),
            None => !self.upstreams.sends_iss(provider).await?,
        };
        if !named {
            tracing::warn!(
                provider = provider_id,
                "upstream response names another issuer, or none where its provider always does (mix-up)"
            );
            return Err(FederationError::IssuerMismatch);
        }
        if let Some(error) = callback.error {
            let why = match callback.error_description {
                Some(description) => format!("{error}: {description}"),
                None => error,
            };
            tracing::info!(provider = provider_id, why = %why, "upstream provider refused the sign-in");
            return Err(FederationError::Refused(why));
        }
        let code = callback
            .code
            .ok_or_else(|| FederationError::Upstream("the callback has neither a code nor an error".into()))?;
        let verifier = sealing::unseal(Purpose::PkceVerifier, &login.pkce_verifier, self.secret_key.as_ref())
            .map_err(|e| FederationError::Internal(e.to_string()))
            .and_then(|bytes| String::from_utf8(bytes).map_err(|e| FederationError::Internal(e.to_string())))?;
        let client = self.upstreams.client(provider, &self.redirect_uri(provider_id)).await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| FederationError::Upstream(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(self.upstreams.http())
            .await
            .map_err(|e| FederationError::Upstream(format!("token endpoint: {e}")))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| FederationError::IdToken("the token response has no ID token".into()))?;
        let claims = self
            .upstreams
            .verified_claims(provider, &client, id_token, &Nonce::new(login.nonce), now)
            .await?;
        let identity = upstream::identity(
            &self.upstreams,
            provider,
            &client,
            id_token,
            &claims,
            tokens.access_token().secret(),
        )
        .await?;
        tracing::info!(provider = provider_id, "upstream provider proved an identity");
        Ok(Returned {
            identity,
            application_id: login.application_id,
            request_id: login.request_id,
            link_user_id: login.link_user_id,
            return_to: login.return_to,
            api_flow,
        })
    }
}
