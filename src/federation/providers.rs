//! The upstream providers: those of the configuration file (read-only here) and those an administrator adds
//! through the API (stored, the client secret sealed), kept in memory for `apps.cache_ttl_secs` (a change made
//! through this instance applies at once).

use std::sync::Arc;
use std::time::Duration;

use super::FederationError;
use crate::apps::AppService;
use crate::audit::{self, Event, Kind, Subject};
use crate::cache::TtlCache;
use crate::clock::UnixTime;
use crate::config::{ProviderConfig, ProviderKind, Secret, amr_problem, id_problem, issuer_problem};
use crate::error::FieldError;
use crate::store::identity_providers::{self, ProviderRow};
use crate::store::{Database, StoreError};
use crate::tokens::sealing::{self, Purpose};

/// Where a provider is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `[[federation.providers]]`: changed only there.
    File,
    /// The admin API.
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Api => "api",
        }
    }
}

/// What an administrator sets of a provider; absent fields keep their current (or default) value.
#[derive(Clone, Debug, Default)]
pub struct ProviderSpec {
    pub id: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub scopes: Option<Vec<String>>,
    pub email_claim: Option<String>,
    pub username_claim: Option<String>,
    pub name_claim: Option<String>,
    pub trusted_amr: Option<Vec<String>>,
    pub allowed_domains: Option<Vec<String>>,
    pub trust_email: Option<bool>,
}

pub struct Providers {
    db: Database,
    apps: Arc<AppService>,
    configured: Vec<ProviderConfig>,
    stored: TtlCache<(), Arc<Vec<ProviderConfig>>>,
    secret_key: Option<Secret>,
}

impl Providers {
    pub(super) fn new(
        db: Database,
        apps: Arc<AppService>,
        configured: Vec<ProviderConfig>,
        ttl: Duration,
        secret_key: Option<Secret>,
    ) -> Self {
        Self {
            db,
            apps,
            configured,
            stored: TtlCache::new(ttl),
            secret_key,
        }
    }

    /// Every provider, the file's first.
    pub async fn all(&self) -> Result<Vec<(ProviderConfig, Source)>, FederationError> {
        let stored = self.stored().await?;
        Ok(self
            .configured
            .iter()
            .map(|p| (p.clone(), Source::File))
            .chain(stored.iter().map(|p| (p.clone(), Source::Api)))
            .collect())
    }

    pub async fn find(&self, id: &str) -> Result<(ProviderConfig, Source), FederationError> {
        if let Some(provider) = self.configured.iter().find(|p| p.id == id) {
            return Ok((provider.clone(), Source::File));
        }
        let stored = self.stored().await?;
        let provider = stored
            .iter()
            .find(|p| p.id == id)
            .ok_or(FederationError::UnknownProvider)?;
        Ok((provider.clone(), Source::Api))
    }

    async fn stored(&self) -> Result<Arc<Vec<ProviderConfig>>, FederationError> {
        if let Some(cached) = self.stored.get(&()) {
            return Ok(cached);
        }
        let rows = identity_providers::list(&self.db).await?;
        // A provider whose secret cannot be opened (TESSERA_SECRET_KEY changed) is left out, not every page.
        let providers: Vec<ProviderConfig> = rows
            .into_iter()
            .filter_map(|row| {
                let id = row.id.clone();
                self.opened(row)
                    .inspect_err(|error| tracing::error!(provider = %id, %error, "upstream provider left out"))
                    .ok()
            })
            .collect();
        let providers = Arc::new(providers);
        self.stored.insert((), providers.clone());
        Ok(providers)
    }

    /// Adds a provider.
    pub async fn create(&self, spec: ProviderSpec, now: UnixTime) -> Result<ProviderConfig, FederationError> {
        let id = spec.id.clone().unwrap_or_default();
        let mut problems = Vec::new();
        if let Some(why) = id_problem(&id) {
            problems.push(field("id", why.into()));
        }
        if spec
            .client_secret
            .as_ref()
            .is_none_or(|secret| secret.expose().is_empty())
        {
            problems.push(field("client_secret", "is required".into()));
        }
        let blank = ProviderConfig {
            id: id.clone(),
            name: String::new(),
            kind: ProviderKind::Oidc,
            issuer: String::new(),
            client_id: String::new(),
            client_secret: Secret::new(""),
            scopes: vec!["email".into(), "profile".into()],
            email_claim: "email".into(),
            username_claim: "preferred_username".into(),
            name_claim: "name".into(),
            trusted_amr: Vec::new(),
            allowed_domains: Vec::new(),
            trust_email: false,
        };
        let provider = resolve(spec, blank, &mut problems);
        if !problems.is_empty() {
            return Err(FederationError::Invalid(problems));
        }
        if self.configured.iter().any(|p| p.id == id) {
            return Err(FederationError::ProviderExists);
        }
        match identity_providers::insert(&self.db, self.sealed(&provider, now, now)?).await {
            Err(StoreError::Duplicate(_)) => return Err(FederationError::ProviderExists),
            other => other?,
        }
        self.stored.clear();
        tracing::info!(provider = %id, "upstream provider added");
        audit::record(
            &self.db,
            Event::new(Kind::ProviderCreated).about(Subject::Provider(id.clone())),
            now,
        )
        .await;
        Ok(provider)
    }

    /// Changes a provider added through the API.
    pub async fn update(&self, id: &str, spec: ProviderSpec, now: UnixTime) -> Result<ProviderConfig, FederationError> {
        let (current, source) = self.find(id).await?;
        if source == Source::File {
            return Err(FederationError::ConfiguredInFile);
        }
        let mut problems = Vec::new();
        if spec.id.as_deref().is_some_and(|new| new != id) {
            problems.push(field("id", "cannot change".into()));
        }
        if spec
            .client_secret
            .as_ref()
            .is_some_and(|secret| secret.expose().is_empty())
        {
            problems.push(field("client_secret", "must not be empty".into()));
        }
        let provider = resolve(spec, current, &mut problems);
        if !problems.is_empty() {
            return Err(FederationError::Invalid(problems));
        }
        let row = self.sealed(&provider, now, now)?;
        if !identity_providers::update(&self.db, row).await? {
            return Err(FederationError::UnknownProvider);
        }
        self.stored.clear();
        tracing::info!(provider = %id, "upstream provider changed");
        audit::record(
            &self.db,
            Event::new(Kind::ProviderUpdated).about(Subject::Provider(id.to_owned())),
            now,
        )
        .await;
        Ok(provider)
    }

    /// Removes a provider added through the API that no application offers any more. Identities linked
    /// through it stay (they sign in again if it comes back under the same issuer).
    pub async fn delete(&self, id: &str, now: UnixTime) -> Result<(), FederationError> {
        let (_, source) = self.find(id).await?;
        if source == Source::File {
            return Err(FederationError::ConfiguredInFile);
        }
        let offering: Vec<String> = self
            .apps
            .list()
            .await
            .map_err(|e| match e {
                crate::apps::AppError::Store(e) => FederationError::Store(e),
                other => FederationError::Internal(other.to_string()),
            })?
            .into_iter()
            .filter(|app| app.policy.external_providers.iter().any(|p| p == id))
            .map(|app| app.slug)
            .collect();
        if !offering.is_empty() {
            return Err(FederationError::ProviderInUse(offering));
        }
        if !identity_providers::delete(&self.db, id.to_owned()).await? {
            return Err(FederationError::UnknownProvider);
        }
        self.stored.clear();
        tracing::info!(provider = %id, "upstream provider removed");
        audit::record(
            &self.db,
            Event::new(Kind::ProviderDeleted).about(Subject::Provider(id.to_owned())),
            now,
        )
        .await;
        Ok(())
    }

    /// A stored provider, its secret opened.
    fn opened(&self, row: ProviderRow) -> Result<ProviderConfig, FederationError> {
        let secret = sealing::unseal(Purpose::ProviderSecret, &row.client_secret, self.secret_key.as_ref())
            .map_err(|e| FederationError::Internal(format!("the client secret of `{}`: {e}", row.id)))
            .and_then(|bytes| String::from_utf8(bytes).map_err(|e| FederationError::Internal(e.to_string())))?;
        Ok(ProviderConfig {
            kind: ProviderKind::parse(&row.kind).unwrap_or_default(),
            id: row.id,
            name: row.name,
            issuer: row.issuer,
            client_id: row.client_id,
            client_secret: Secret::new(secret),
            scopes: words(&row.scopes),
            email_claim: row.email_claim,
            username_claim: row.username_claim,
            name_claim: row.name_claim,
            trusted_amr: words(&row.trusted_amr),
            allowed_domains: words(&row.allowed_domains),
            trust_email: row.trust_email,
        })
    }

    /// The stored form of a provider, its secret sealed.
    fn sealed(
        &self,
        provider: &ProviderConfig,
        created_at: UnixTime,
        now: UnixTime,
    ) -> Result<ProviderRow, FederationError> {
        let sealed = sealing::seal(
            Purpose::ProviderSecret,
            provider.client_secret.expose().as_bytes(),
            self.secret_key.as_ref(),
        )
        .map_err(|e| FederationError::Internal(e.to_string()))?;
        Ok(ProviderRow {
            id: provider.id.clone(),
            name: provider.name.clone(),
            kind: provider.kind.as_str().into(),
            issuer: provider.issuer.clone(),
            client_id: provider.client_id.clone(),
            client_secret: sealed,
            scopes: provider.scopes.join(" "),
            email_claim: provider.email_claim.clone(),
            username_claim: provider.username_claim.clone(),
            name_claim: provider.name_claim.clone(),
            trusted_amr: provider.trusted_amr.join(" "),
            allowed_domains: provider.allowed_domains.join(" "),
            trust_email: provider.trust_email,
            created_at,
            updated_at: now,
        })
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn field(field: &'static str, message: String) -> FieldError {
    FieldError { field, message }
}

/// Applies `spec` over `current`, checking each field once.
fn resolve(spec: ProviderSpec, current: ProviderConfig, problems: &mut Vec<FieldError>) -> ProviderConfig {
    let mut provider = current;
    if let Some(kind) = spec.kind {
        match ProviderKind::parse(&kind) {
            Some(kind) => provider.kind = kind,
            None => problems.push(field("kind", "must be google or oidc".into())),
        }
    }
    if let Some(name) = spec.name {
        provider.name = name.trim().to_owned();
    }
    if let Some(issuer) = spec.issuer {
        provider.issuer = issuer.trim().to_owned();
    }
    if let Some(why) = issuer_problem(provider.issuer()) {
        problems.push(field("issuer", why));
    }
    if let Some(client_id) = spec.client_id {
        provider.client_id = client_id.trim().to_owned();
    }
    if provider.client_id.is_empty() {
        problems.push(field("client_id", "is required".into()));
    }
    if let Some(secret) = spec.client_secret {
        provider.client_secret = secret;
    }
    if let Some(scopes) = spec.scopes {
        provider.scopes = scopes;
    }
    if provider
        .scopes
        .iter()
        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        problems.push(field("scopes", "each scope is one word".into()));
    }
    for (name, value, claim) in [
        ("email_claim", spec.email_claim, &mut provider.email_claim),
        ("username_claim", spec.username_claim, &mut provider.username_claim),
        ("name_claim", spec.name_claim, &mut provider.name_claim),
    ] {
        if let Some(value) = value {
            *claim = value.trim().to_owned();
        }
        if claim.is_empty() {
            problems.push(field(name, "must name a claim".into()));
        }
    }
    if let Some(domains) = spec.allowed_domains {
        provider.allowed_domains = domains.iter().map(|d| d.trim().to_ascii_lowercase()).collect();
    }
    if provider
        .allowed_domains
        .iter()
        .any(|d| d.is_empty() || d.contains(char::is_whitespace) || d.contains('@'))
    {
        problems.push(field("allowed_domains", "each is a domain such as example.com".into()));
    }
    if let Some(trusted) = spec.trusted_amr {
        provider.trusted_amr = trusted.iter().map(|v| v.trim().to_owned()).collect();
    }
    if let Some(why) = provider.trusted_amr.iter().find_map(|v| amr_problem(v)) {
        problems.push(field("trusted_amr", why));
    }
    if let Some(link) = spec.trust_email {
        provider.trust_email = link;
    }
    provider
}
