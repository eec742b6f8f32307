//! Applications (tenants): their settings (request budget, token lifetimes), their API keys, and the
//! request budget itself. Every REST request names its application with an API key; OAuth clients belong
//! to one.

pub mod api_keys;
pub mod networks;
pub mod pin_format;
pub mod policy;
pub mod profiles;
pub mod rate_limit;
mod settings;
pub mod shared_limiter;

use std::sync::Arc;
use std::time::Duration;

use crate::audit::{self, Event, Kind, Subject};
use crate::cache::TtlCache;
use crate::clock::UnixTime;
use crate::config::{AccessMode, Config, EmailTransport, LoginMethod, SmsProvider, UserCreateScope};
use crate::error::FieldError;
use crate::store::applications::{self, ApplicationRow};
use crate::store::changes::{self, Change};
use crate::store::identity_providers;
use crate::store::{Database, StoreError};
use policy::{AccessPolicy, PolicySpec, Reach};
use rate_limit::{Decision, Policy, RateLimiter};
use settings::validate;

/// The slug of the application every fresh install starts with.
pub const DEFAULT_SLUG: &str = "default";

/// Bounds on an application's access-token lifetime (the signing-key publication window assumes the upper).
pub const ACCESS_TOKEN_TTL_RANGE: std::ops::RangeInclusive<i64> = 60..=24 * 3600;

/// An application and its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// Requests a minute: the bucket's capacity and refill rate.
    pub rate_limit_per_minute: u32,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Who may enter, and how.
    pub policy: AccessPolicy,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Application {
    fn from_row(row: ApplicationRow) -> Self {
        let mut policy = AccessPolicy::from_stored(
            &row.access_mode,
            &row.login_methods,
            &row.verification_channels,
            row.code_ttl_secs,
            row.home_client_id,
            &row.external_providers,
            &row.ip_ranges,
        );
        policy.idle_timeout_secs = row.idle_timeout_secs;
        policy.pin_format = pin_format::PinFormat::parse(&row.pin_format).unwrap_or_default();
        Self {
            id: row.id,
            name: row.name,
            slug: row.slug,
            rate_limit_per_minute: u32::try_from(row.rate_limit_per_minute).unwrap_or(0),
            access_token_ttl_secs: row.access_token_ttl_secs,
            refresh_token_ttl_secs: row.refresh_token_ttl_secs,
            policy,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    fn to_row(&self) -> ApplicationRow {
        ApplicationRow {
            id: self.id.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            rate_limit_per_minute: i32::try_from(self.rate_limit_per_minute).unwrap_or(i32::MAX),
            access_token_ttl_secs: self.access_token_ttl_secs,
            refresh_token_ttl_secs: self.refresh_token_ttl_secs,
            created_at: self.created_at,
            updated_at: self.updated_at,
            access_mode: self.policy.access_mode.as_str().into(),
            login_methods: self.policy.stored_methods(),
            verification_channels: self.policy.stored_channels(),
            code_ttl_secs: self.policy.code_ttl_secs,
            home_client_id: self.policy.home_client_id.clone(),
            external_providers: self.policy.stored_providers(),
            ip_ranges: networks::stored(&self.policy.ip_ranges),
            idle_timeout_secs: self.policy.idle_timeout_secs,
            pin_format: self.policy.pin_format.as_str().into(),
        }
    }

    /// The bucket this application's requests draw from.
    pub fn budget(&self) -> Policy {
        Policy::TokenBucket {
            capacity: self.rate_limit_per_minute,
        }
    }
}

/// What an administrator sets; absent fields keep their current (or default) value.
#[derive(Clone, Debug, Default)]
pub struct AppSpec {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub rate_limit_per_minute: Option<u32>,
    pub access_token_ttl_secs: Option<i64>,
    pub refresh_token_ttl_secs: Option<i64>,
    pub policy: PolicySpec,
}

/// Why an application operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid application settings")]
    Validation(Vec<FieldError>),
    #[error("no such application")]
    NotFound,
    #[error("the slug is taken")]
    SlugTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Settings for applications created without explicit values.
#[derive(Clone, Debug)]
struct Defaults {
    rate_limit_per_minute: u32,
    access_token_ttl_secs: i64,
    refresh_token_ttl_secs: i64,
    policy: AccessPolicy,
    /// The policy of the default application and of those made before access policies: today's behaviour.
    legacy_policy: AccessPolicy,
}

/// Applications, their keys and their budgets.
pub struct AppService {
    db: Database,
    defaults: Defaults,
    /// Which channels codes can travel over here, and the configuration file's upstream providers (a policy
    /// may use only those, and the providers added through the admin API).
    reach: Reach,
    /// Applications by id (`None`: no such application).
    apps: TtlCache<String, Option<Application>>,
    keys: api_keys::KeyCache,
    limiter: Arc<dyn RateLimiter>,
}

impl AppService {
    pub fn new(config: &Config, db: Database, limiter: Arc<dyn RateLimiter>) -> Self {
        let ttl = Duration::from_secs(config.apps.cache_ttl_secs);
        Self {
            db,
            defaults: Defaults {
                rate_limit_per_minute: config.apps.default_rate_limit_per_minute,
                access_token_ttl_secs: config.tokens.access_token_ttl_secs,
                refresh_token_ttl_secs: config.tokens.refresh_token_ttl_secs,
                policy: default_policy(config),
                legacy_policy: AccessPolicy {
                    access_mode: AccessMode::Registration,
                    login_methods: vec![LoginMethod::Password],
                    verification_channels: Vec::new(),
                    code_ttl_secs: config.apps.default_code_ttl_secs,
                    home_client_id: None,
                    external_providers: Vec::new(),
                    ip_ranges: Vec::new(),
                    idle_timeout_secs: None,
                    pin_format: pin_format::PinFormat::Any,
                },
            },
            reach: Reach {
                email: config.email.transport != EmailTransport::None,
                sms: config.sms.provider != SmsProvider::None,
                providers: config.federation.providers.iter().map(|p| p.id.clone()).collect(),
            },
            apps: TtlCache::new(ttl),
            keys: api_keys::KeyCache::new(ttl),
            limiter,
        }
    }

    /// What policies may use here: the channels codes travel over, and the upstream providers — the
    /// configuration file's and those added through the admin API.
    async fn reach(&self) -> Result<Reach, StoreError> {
        let mut reach = self.reach.clone();
        reach
            .providers
            .extend(identity_providers::list(&self.db).await?.into_iter().map(|row| row.id));
        Ok(reach)
    }

    /// The limiter (shared with the signup and login limits).
    pub fn limiter(&self) -> &Arc<dyn RateLimiter> {
        &self.limiter
    }

    /// Drops what this instance cached of `change`, which another instance announced.
    pub fn heard(&self, change: &Change) {
        match change {
            Change::Application(id) => self.apps.invalidate(id),
            Change::ApiKey(hash) => self.keys.forget(hash),
            Change::ApiKeys => self.keys.clear(),
            Change::Client(_) | Change::SigningKeys => {}
        }
    }

    /// Tells the other instances of `change` (their caches drop it); a failure leaves them to the cache TTL.
    pub(crate) async fn announce(&self, change: Change) {
        if let Err(e) = changes::announce(&self.db, change).await {
            tracing::warn!(error = %e, "announcing a change failed; other instances see it within the cache time");
        }
    }

    pub async fn create(&self, spec: AppSpec, now: UnixTime) -> Result<Application, AppError> {
        let app = validate(spec, None, &self.defaults, &self.reach().await?, now)?;
        self.check_home_client(&app).await?;
        match applications::insert(&self.db, app.to_row()).await {
            Err(StoreError::Duplicate(_)) => return Err(AppError::SlugTaken),
            other => other?,
        }
        self.apps.invalidate(&app.id);
        tracing::info!(application_id = %app.id, slug = %app.slug, "application created");
        audit::record(
            &self.db,
            Event::new(Kind::ApplicationCreated)
                .about(Subject::Application(app.id.clone()))
                .in_application(&app.id)
                .with("slug", app.slug.as_str()),
            now,
        )
        .await;
        Ok(app)
    }

    pub async fn list(&self) -> Result<Vec<Application>, AppError> {
        Ok(applications::list(&self.db)
            .await?
            .into_iter()
            .map(Application::from_row)
            .collect())
    }

    /// The application with this id, or with this slug.
    pub async fn get(&self, id_or_slug: &str) -> Result<Application, AppError> {
        if let Some(app) = self.find(id_or_slug).await? {
            return Ok(app);
        }
        let by_slug = applications::find_by_slug(&self.db, id_or_slug.to_owned()).await?;
        by_slug.map(Application::from_row).ok_or(AppError::NotFound)
    }

    /// The application with this id (cached: read on every request).
    pub async fn find(&self, id: &str) -> Result<Option<Application>, StoreError> {
        let key = id.to_owned();
        if let Some(cached) = self.apps.get(&key) {
            return Ok(cached);
        }
        let app = applications::find(&self.db, key.clone())
            .await?
            .map(Application::from_row);
        self.apps.insert(key, app.clone());
        Ok(app)
    }

    /// Changes an application's settings; a new allocation applies to the next request.
    pub async fn update(&self, id_or_slug: &str, spec: AppSpec, now: UnixTime) -> Result<Application, AppError> {
        let current = self.get(id_or_slug).await?;
        let app = validate(spec, Some(&current), &self.defaults, &self.reach().await?, now)?;
        self.check_home_client(&app).await?;
        match applications::update(&self.db, app.to_row()).await {
            Err(StoreError::Duplicate(_)) => return Err(AppError::SlugTaken),
            Ok(false) => return Err(AppError::NotFound),
            other => other?,
        };
        self.apps.invalidate(&app.id);
        self.announce(Change::Application(app.id.clone())).await;
        tracing::info!(application_id = %app.id, "application updated");
        audit::record(
            &self.db,
            Event::new(Kind::ApplicationUpdated)
                .about(Subject::Application(app.id.clone()))
                .in_application(&app.id),
            now,
        )
        .await;
        Ok(app)
    }

    /// Deletes an application with its clients, keys and grants.
    pub async fn delete(&self, id_or_slug: &str, now: UnixTime) -> Result<(), AppError> {
        let app = self.get(id_or_slug).await?;
        if app.slug == DEFAULT_SLUG {
            return Err(AppError::Validation(vec![FieldError {
                field: "slug",
                message: "the default application cannot be deleted".into(),
            }]));
        }
        applications::delete(&self.db, app.id.clone()).await?;
        self.apps.invalidate(&app.id);
        self.keys.clear();
        self.announce(Change::Application(app.id.clone())).await;
        self.announce(Change::ApiKeys).await;
        tracing::info!(application_id = %app.id, "application deleted");
        audit::record(
            &self.db,
            Event::new(Kind::ApplicationDeleted)
                .about(Subject::Application(app.id.clone()))
                .with("slug", app.slug.as_str()),
            now,
        )
        .await;
        Ok(())
    }

    /// The default application, created on a fresh install (every client and key needs an application).
    pub async fn ensure_default(&self, now: UnixTime) -> Result<Application, AppError> {
        if let Some(row) = applications::find_by_slug(&self.db, DEFAULT_SLUG.into()).await? {
            return Ok(Application::from_row(row));
        }
        let spec = AppSpec {
            name: Some("Default".into()),
            slug: Some(DEFAULT_SLUG.into()),
            ..AppSpec::default()
        };
        // The default application keeps today's behaviour whatever new applications get.
        let mut app = validate(spec, None, &self.defaults, &self.reach().await?, now)?;
        app.policy = self.defaults.legacy_policy.clone();
        let created = match applications::insert(&self.db, app.to_row()).await {
            Err(StoreError::Duplicate(_)) => Err(AppError::SlugTaken),
            other => other.map(|()| app).map_err(AppError::from),
        };
        match created {
            // Another instance starting at the same moment made it first.
            Err(AppError::SlugTaken) => self.get(DEFAULT_SLUG).await,
            other => other,
        }
    }

    /// The default application's first API key, made when it has never had one (returned to be shown once).
    pub async fn first_default_key(&self, now: UnixTime) -> Result<Option<(Application, String)>, AppError> {
        let app = self.ensure_default(now).await?;
        if !self.list_api_keys(&app.id).await?.is_empty() {
            return Ok(None);
        }
        let key = self.create_api_key(&app.id, "first key", None, now).await?;
        Ok(Some((app, key.key)))
    }

    /// A home client must be a client of the application that can start a sign-in (`initiate_login_uri`).
    async fn check_home_client(&self, app: &Application) -> Result<(), AppError> {
        let Some(id) = &app.policy.home_client_id else {
            return Ok(());
        };
        let client = crate::store::clients::find(&self.db, id.clone()).await?;
        let problem = match client {
            None => "is not a client",
            Some(client) if client.application_id != app.id => "is a client of another application",
            Some(client) if client.initiate_login_uri.is_none() => {
                "has no initiate_login_uri: register one for the access link to land there"
            }
            Some(_) => return Ok(()),
        };
        Err(AppError::Validation(vec![FieldError {
            field: "home_client_id",
            message: problem.into(),
        }]))
    }

    /// Spends one request of `app`'s budget.
    pub async fn take(&self, app: &Application, now_ms: i64) -> Result<Decision, StoreError> {
        self.limiter
            .take(&format!("app:{}", app.id), app.budget(), now_ms)
            .await
    }
}

/// The policy of a new application: from the configuration, who may enter following `user_create_scope` when
/// the configuration does not say.
fn default_policy(config: &Config) -> AccessPolicy {
    let apps = &config.apps;
    let access_mode = apps.default_access_mode.unwrap_or(match config.user_create_scope {
        UserCreateScope::Public => AccessMode::Registration,
        UserCreateScope::Admin => AccessMode::InviteOnly,
    });
    let open = access_mode == AccessMode::Open;
    AccessPolicy {
        access_mode,
        login_methods: if open {
            Vec::new()
        } else {
            apps.default_login_methods.clone()
        },
        verification_channels: if open {
            Vec::new()
        } else {
            apps.default_verification_channels.clone()
        },
        code_ttl_secs: apps.default_code_ttl_secs,
        home_client_id: None,
        external_providers: Vec::new(),
        ip_ranges: Vec::new(),
        idle_timeout_secs: None,
        pin_format: pin_format::PinFormat::Any,
    }
}
