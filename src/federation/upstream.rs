//! What Tessera keeps of each upstream provider — its discovery document and keys, fetched with a bounded
//! wait, without following redirects, kept for `federation.metadata_cache_secs` — and the checks of what it
//! sends back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreIdToken, CoreIdTokenClaims,
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, ClaimsVerificationError, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, ProviderMetadata, RedirectUrl, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};

use super::FederationError;
use crate::auth::ExternalIdentity;
use crate::clock::UnixTime;
use crate::config::{ProviderConfig, ProviderKind};

/// A relying-party client of one upstream provider, as its discovery document makes it.
pub(super) type UpstreamClient = openidconnect::core::CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The longest display name taken from an upstream, in characters.
const MAX_NAME_CHARS: usize = 200;

/// What Tessera reads of a discovery document beyond OpenID Connect Discovery's own fields.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(super) struct Extra {
    /// RFC 9207: the provider names itself (`iss`) in every authorization response.
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for Extra {}

/// An upstream's discovery document (with its keys, once fetched).
type Metadata = ProviderMetadata<
    Extra,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

pub(super) struct Upstreams {
    http: reqwest::Client,
    ttl: Duration,
    /// Discovery documents (with their keys) by issuer, and when each was fetched.
    metadata: Mutex<HashMap<String, (Instant, Metadata)>>,
}

impl Upstreams {
    pub(super) fn new(timeout: Duration, ttl: Duration) -> Result<Self, FederationError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| FederationError::Internal(format!("the upstream HTTP client: {e}")))?;
        Ok(Self {
            http,
            ttl,
            metadata: Mutex::new(HashMap::new()),
        })
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A client of `provider`, its callback at `redirect_uri`.
    pub(super) async fn client(
        &self,
        provider: &ProviderConfig,
        redirect_uri: &str,
    ) -> Result<UpstreamClient, FederationError> {
        let metadata = self.metadata(provider).await?;
        client_of(provider, metadata, redirect_uri)
    }

    /// The provider's discovery document (with its keys): kept, or fetched when missing or stale.
    async fn metadata(&self, provider: &ProviderConfig) -> Result<Metadata, FederationError> {
        let issuer = provider.issuer();
        if let Some((at, metadata)) = self.lock().get(issuer)
            && at.elapsed() < self.ttl
        {
            return Ok(metadata.clone());
        }
        self.fetch(provider).await
    }

    /// The provider's discovery document and keys fetched now, whatever is kept, and kept from now on.
    async fn fetch(&self, provider: &ProviderConfig) -> Result<Metadata, FederationError> {
        let issuer = provider.issuer();
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| FederationError::Upstream(e.to_string()))?;
        let metadata = Metadata::discover_async(url, &self.http)
            .await
            .map_err(|e| FederationError::Upstream(format!("discovery of {issuer}: {}", with_causes(&e))))?;
        self.lock()
            .insert(issuer.to_owned(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// What the provider publishes, fetched now (an administrator's test of its settings).
    pub(super) async fn discover(&self, provider: &ProviderConfig) -> Result<Discovered, FederationError> {
        let metadata = self.fetch(provider).await?;
        Ok(Discovered {
            issuer: metadata.issuer().as_str().to_owned(),
            authorization_endpoint: metadata.authorization_endpoint().as_str().to_owned(),
            token_endpoint: metadata.token_endpoint().map(|url| url.as_str().to_owned()),
            userinfo_endpoint: metadata.userinfo_endpoint().map(|url| url.as_str().to_owned()),
            jwks_uri: metadata.jwks_uri().as_str().to_owned(),
            keys: metadata.jwks().keys().len(),
        })
    }

    /// Whether the provider says it names itself in every authorization response (RFC 9207): then a response
    /// without `iss` is refused.
    pub(super) async fn sends_iss(&self, provider: &ProviderConfig) -> Result<bool, FederationError> {
        let metadata = self.metadata(provider).await?;
        Ok(metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported)
    }

    /// Fetches the provider's keys again (a key id it has not published before), keeping the rest.
    async fn refresh_keys(&self, provider: &ProviderConfig) -> Result<Metadata, FederationError> {
        let metadata = self.metadata(provider).await?;
        let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| FederationError::Upstream(format!("keys of {}: {e}", provider.issuer())))?;
        let metadata = metadata.set_jwks(keys);
        self.lock()
            .insert(provider.issuer().to_owned(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// The userinfo endpoint's claims (a JSON answer) for `access_token`.
    async fn user_info(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, FederationError> {
        let failed = |e: String| FederationError::Upstream(format!("userinfo: {e}"));
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        response.json().await.map_err(|e| failed(e.to_string()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Metadata)>> {
        // A panic while holding the map leaves it consistent (inserts are whole), so a poisoned lock is fine.
        self.metadata.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The ID token's claims, once its signature (by a published key), issuer, audience, expiry (on
    /// Tessera's clock) and nonce check out. An unknown key id refetches the keys once.
    pub(super) async fn verified_claims(
        &self,
        provider: &ProviderConfig,
        client: &UpstreamClient,
        id_token: &CoreIdToken,
        nonce: &Nonce,
        now: UnixTime,
    ) -> Result<CoreIdTokenClaims, FederationError> {
        match check(client, id_token, nonce, now) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                let metadata = self.refresh_keys(provider).await?;
                let redirect = client.redirect_uri().map(|r| r.as_str().to_owned()).unwrap_or_default();
                let client = client_of(provider, metadata, &redirect)?;
                check(&client, id_token, nonce, now).map_err(|e| FederationError::IdToken(e.to_string()))
            }
            other => other.map_err(|e| FederationError::IdToken(e.to_string())),
        }
    }
}

/// What an upstream's discovery document and key set say, as a test found them.
#[derive(Clone, Debug)]
pub struct Discovered {
    /// The issuer the document names (the provider's own, or discovery fails).
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
    /// How many keys the key set holds.
    pub keys: usize,
}

/// An error with the causes beneath it ("request failed: connection refused"), for a person to read.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut words = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !words.contains(&text) {
            words.push_str(": ");
            words.push_str(&text);
        }
        cause = inner.source();
    }
    words
}

fn client_of(
    provider: &ProviderConfig,
    metadata: Metadata,
    redirect_uri: &str,
) -> Result<UpstreamClient, FederationError> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| FederationError::Internal(e.to_string()))?;
    Ok(UpstreamClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect))
}

fn check(
    client: &UpstreamClient,
    id_token: &CoreIdToken,
    nonce: &Nonce,
    now: UnixTime,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    let verifier = client.id_token_verifier().set_time_fn(move || at);
    id_token.claims(&verifier, nonce).cloned()
}

/// The identity the checked ID token proves, with the address and username its claims give (the provider's
/// claim names) — from the ID token, or from the userinfo endpoint when the ID token leaves out the address
/// (OpenID Connect Core §5.4: scope claims may come from userinfo only) — refused when the provider admits only
/// some domains and the address is not in one.
pub(super) async fn identity(
    upstreams: &Upstreams,
    provider: &ProviderConfig,
    client: &UpstreamClient,
    id_token: &CoreIdToken,
    claims: &CoreIdTokenClaims,
    access_token: &str,
) -> Result<ExternalIdentity, FederationError> {
    let mut all = all_claims(id_token)?;
    // Only a missing address sends Tessera to userinfo: a username is a nicety, not worth a request at every
    // sign-in through a provider whose ID tokens never carry one.
    if !all.contains_key(&provider.email_claim)
        && let Some(url) = client.user_info_url()
    {
        let info = upstreams.user_info(url.as_str(), access_token).await?;
        // OpenID Connect Core §5.3.2: the userinfo `sub` must be the ID token's.
        if info.get("sub").and_then(|v| v.as_str()) != Some(claims.subject().as_str()) {
            return Err(FederationError::IdToken("userinfo names another subject".into()));
        }
        for (name, value) in info {
            all.entry(name).or_insert(value);
        }
    }
    let text = |name: &str| all.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let email = text(&provider.email_claim).filter(|e| e.contains('@'));
    // `email_verified` speaks of the `email` claim only: an address read from another claim is never taken as
    // verified. Some providers send it as a string.
    let email_verified = provider.email_claim == "email"
        && match all.get("email_verified") {
            Some(serde_json::Value::Bool(verified)) => *verified,
            Some(serde_json::Value::String(verified)) => verified == "true",
            _ => false,
        };
    if !provider.allowed_domains.is_empty() {
        let domain = email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase());
        let listed = |d: &str| provider.allowed_domains.iter().any(|a| a.eq_ignore_ascii_case(d));
        // Google names the Workspace domain an account belongs to in `hd`; a personal account that merely
        // verified an address of the domain has none.
        let hosted = match provider.kind {
            ProviderKind::Google => text("hd").is_some_and(|hd| listed(&hd)),
            ProviderKind::Oidc => true,
        };
        let allowed = email_verified && hosted && domain.is_some_and(|d| listed(&d));
        if !allowed {
            return Err(FederationError::DomainNotAllowed);
        }
    }
    Ok(ExternalIdentity {
        provider_id: provider.id.clone(),
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email,
        email_verified,
        username: text(&provider.username_claim),
        // A display name, trimmed and kept to a sane length.
        name: text(&provider.name_claim)
            .map(|name| name.trim().chars().take(MAX_NAME_CHARS).collect::<String>())
            .filter(|name| !name.is_empty()),
        amr: claims
            .auth_method_refs()
            .into_iter()
            .flatten()
            .map(|method| method.as_str().to_owned())
            .filter(|method| provider.trusted_amr.contains(method))
            .collect(),
        trust_email: provider.trust_email,
    })
}

/// Every claim of the ID token (checked already), for the provider's own claim names: the typed claims keep
/// only the standard ones.
fn all_claims(id_token: &CoreIdToken) -> Result<serde_json::Map<String, serde_json::Value>, FederationError> {
    let compact = id_token.to_string();
    let payload = compact
        .split('.')
        .nth(1)
        .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    match payload {
        Some(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(FederationError::IdToken("the claims are not a JSON object".into())),
    }
}
