//! The services a running Tessera shares between requests, built once at start.

use std::sync::Arc;

use bytes::Bytes;

use crate::apps::AppService;
use crate::apps::rate_limit::{Counted, InProcessLimiter, RateLimiter};
use crate::apps::shared_limiter::SharedLimiter;
use crate::auth::{Auth, Passwords};
use crate::clock::Clock;
use crate::config::Config;
use crate::federation::Federation;
use crate::metrics::{Metrics, Reading};
use crate::notify::{Captcha, Mailer, Notifier, SmsSender};
use crate::oidc::backchannel::BackchannelSender;
use crate::oidc::{OidcService, discovery};
use crate::store::Database;
use crate::tokens::keyring::{KeyRing, KeyRingError};
use crate::tokens::rotation::{self, KeyPolicy};
use crate::tokens::{AccessTokens, IdTokens};
use crate::webhooks::Webhooks;

/// Shared state behind every request.
pub struct AppState {
    pub config: Arc<Config>,
    pub clock: Clock,
    pub db: Database,
    pub keys: Arc<KeyRing>,
    /// Authentication's services, one per concern.
    pub auth: Auth,
    pub apps: Arc<AppService>,
    pub oidc: OidcService,
    /// Upstream OpenID providers people may sign in with.
    pub federation: Federation,
    /// The discovery document, serialised once.
    pub discovery: Bytes,
    /// The drop-in profiles that are on.
    pub profiles: Arc<crate::apps::profiles::Profiles>,
    /// What is counted for `/metrics` (counted whether or not it is served).
    pub metrics: Arc<Metrics>,
    /// Applications' webhooks of audit events, and their sender.
    pub webhooks: Arc<Webhooks>,
    /// The sender of back-channel logout tokens.
    pub backchannel: Arc<BackchannelSender>,
}

/// Why the services could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Keys(#[from] KeyRingError),
    #[error(transparent)]
    Password(#[from] crate::auth::PasswordError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Apps(#[from] crate::apps::AppError),
    #[error("{0}")]
    Other(String),
}

impl AppState {
    /// Opens the database, applies migrations, makes sure a signing key exists, and loads the keys.
    pub async fn build(config: Config, clock: Clock) -> Result<Self, StartError> {
        let db = Database::connect(
            &config.database.url,
            config.database.max_connections,
            std::time::Duration::from_secs(config.database.acquire_timeout_secs),
        )?;
        for name in db.migrate().await? {
            tracing::info!(migration = %name, "applied migration");
        }
        for key in rotation::ensure_active_key(&db, key_policy(&config), clock.now()).await? {
            tracing::info!(kid = %key.kid, alg = %key.alg, "generated a signing key");
        }
        let keys = Arc::new(KeyRing::load(&db, config.secret_key.clone(), publish_window(&config), clock.now()).await?);
        let metrics = Arc::new(Metrics::new());
        let tokens = AccessTokens::new(keys.clone(), config.issuer().to_owned(), metrics.clone());
        let id_tokens = IdTokens::new(
            keys.clone(),
            config.issuer().to_owned(),
            config.tokens.id_token_ttl_secs,
        );
        let password_config = config.password.clone();
        let passwords = tokio::task::spawn_blocking(move || Passwords::new(&password_config))
            .await
            .map_err(|e| StartError::Other(e.to_string()))??;
        // Several instances may share a PostgreSQL database: their limits count there. A SQLite file has one.
        let limiter: Arc<dyn RateLimiter> = if db.is_postgres() {
            Arc::new(SharedLimiter::new(db.clone()))
        } else {
            Arc::new(InProcessLimiter::default())
        };
        let limiter: Arc<dyn RateLimiter> = Arc::new(Counted::new(limiter, metrics.clone()));
        let apps = Arc::new(AppService::new(&config, db.clone(), limiter.clone()));
        let captcha = Captcha::new(&config.captcha).map_err(|e| StartError::Other(format!("captcha client: {e}")))?;
        let auth = Auth::new(
            &config,
            db.clone(),
            apps.clone(),
            tokens.clone(),
            Arc::new(passwords),
            limiter,
            Arc::new(notifier(&config)?),
            captcha,
            metrics.clone(),
        );
        auth.revoked.load(clock.now()).await?;
        apps.ensure_default(clock.now()).await?;
        let profiles = apps
            .profiles(&config.compat, clock.now())
            .await
            .map_err(|(profile, error)| {
                StartError::Other(format!(
                    "compat.{}.application: {error} (name an application by its id or slug)",
                    profile.as_str()
                ))
            })?;
        let backchannel = Arc::new(
            BackchannelSender::new(&config, db.clone(), id_tokens.clone())
                .map_err(|e| StartError::Other(format!("back-channel logout client: {e}")))?,
        );
        let oidc = OidcService::new(&config, db.clone(), &auth, tokens, id_tokens, apps.limiter().clone());
        let federation =
            Federation::new(&config, db.clone(), apps.clone()).map_err(|e| StartError::Other(e.to_string()))?;
        let webhooks = Arc::new(
            Webhooks::new(&config, db.clone(), apps.clone())
                .map_err(|e| StartError::Other(format!("webhook client: {e}")))?,
        );
        Ok(Self {
            webhooks,
            backchannel,
            discovery: Bytes::from(discovery::document(
                config.issuer(),
                config.oauth.dynamic_registration,
                &config.keys.algorithms,
            )),
            config: Arc::new(config),
            clock,
            db,
            keys,
            auth,
            apps,
            oidc,
            federation,
            profiles: Arc::new(profiles),
            metrics,
        })
    }

    /// The gauges' values now: the pool, the password hashes, the age of the signing key.
    pub fn metrics_reading(&self) -> Reading {
        let pool = self.db.pool_status();
        let hashes = self.auth.credentials.hash_load();
        let now = self.clock.now();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Reading {
            db_idle: count(pool.idle),
            db_in_use: count(pool.in_use),
            hash_queue: count(hashes.queued),
            hash_in_progress: count(hashes.in_progress),
            signing_key_age_secs: self.keys.current().signing_since(now).map(|since| now - since),
        }
    }
}

/// The SMS and e-mail channels the configuration names.
fn notifier(config: &Config) -> Result<Notifier, StartError> {
    Ok(Notifier {
        sms: SmsSender::new(&config.sms).map_err(|e| StartError::Other(format!("SMS client: {e}")))?,
        email: Mailer::new(&config.email).map_err(|e| StartError::Other(format!("SMTP transport: {e}")))?,
    })
}

/// How signing keys are made and rotated under `config`.
pub fn key_policy(config: &Config) -> KeyPolicy<'_> {
    KeyPolicy {
        secret: config.secret_key.as_ref(),
        algorithms: &config.keys.algorithms,
        rsa_bits: config.keys.rsa_bits,
        lead: KeyPolicy::lead_for(config.keys.reload_interval_secs),
    }
}

/// How long a retired signing key stays in the JWKS: the longest-lived token it can have signed (any
/// application's access tokens may live up to a day), plus a margin for clock skew.
pub fn publish_window(config: &Config) -> i64 {
    let longest_access_token = *crate::apps::ACCESS_TOKEN_TTL_RANGE.end();
    longest_access_token.max(config.tokens.id_token_ttl_secs) + 300
}
