//! API keys (`x-api-key`): `tsk_` + 256 random bits + a checksum, shown once, stored as SHA-256. Several
//! keys can be live at once, so a key is rotated by adding the new one and revoking the old. Keys are looked
//! up in memory for a few seconds; revoking through this instance applies at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{AppError, AppService, Application};
use crate::audit::{self, Event, Kind, Subject};
use crate::cache::TtlCache;
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::store::StoreError;
use crate::store::api_keys::{self, ApiKeyRow};
use crate::store::changes::Change;
use crate::tokens::opaque;

/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "tsk_";
/// Characters of a key kept for display (the prefix and a few more).
const DISPLAY_PREFIX_LEN: usize = 12;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A key as listed (never the key itself).
#[derive(Clone, Debug)]
pub struct ApiKeyInfo {
    pub id: String,
    pub application_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
}

impl From<ApiKeyRow> for ApiKeyInfo {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            id: row.id,
            application_id: row.application_id,
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A key just made: its description and the key, shown this once.
#[derive(Debug)]
pub struct NewApiKey {
    pub info: ApiKeyInfo,
    pub key: String,
}

/// Why a presented key was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no API key was presented")]
    Missing,
    #[error("the API key is unknown, revoked or expired")]
    Invalid,
    /// A drop-in profile's path with a key of another application than the profile's.
    #[error("the API key belongs to another application")]
    OtherApplication,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the cache keeps about a key.
#[derive(Clone, Debug)]
struct KnownKey {
    id: String,
    application_id: String,
    expires_at: Option<UnixTime>,
    revoked: bool,
}

/// Keys by hash, and when each was last recorded as used.
pub(super) struct KeyCache {
    by_hash: TtlCache<String, Option<KnownKey>>,
    touched: Mutex<HashMap<String, Instant>>,
}

impl KeyCache {
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            by_hash: TtlCache::new(ttl),
            touched: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn clear(&self) {
        self.by_hash.clear();
    }

    /// Forgets the key with this hash (it was created or revoked).
    pub(super) fn forget(&self, hash: &str) {
        self.by_hash.invalidate(&hash.to_owned());
    }

    /// Whether `last_used_at` of `key_id` is due for a write (and marks it written).
    fn due(&self, key_id: &str) -> bool {
        let Ok(mut touched) = self.touched.lock() else {
            return false;
        };
        if touched.len() > 100_000 {
            touched.clear();
        }
        match touched.get(key_id) {
            Some(at) if at.elapsed() < TOUCH_EVERY => false,
            _ => {
                touched.insert(key_id.to_owned(), Instant::now());
                true
            }
        }
    }
}

impl AppService {
    /// Creates a key for an application; `expires_at` is optional.
    pub async fn create_api_key(
        &self,
        id_or_slug: &str,
        name: &str,
        expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<NewApiKey, AppError> {
        let app = self.get(id_or_slug).await?;
        let name = name.trim();
        let mut problems = Vec::new();
        if !(1..=100).contains(&name.chars().count()) {
            problems.push(FieldError {
                field: "name",
                message: "must be 1 to 100 characters".into(),
            });
        }
        if expires_at.is_some_and(|at| at <= now) {
            problems.push(FieldError {
                field: "expires_at",
                message: "must be in the future".into(),
            });
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let minted = opaque::mint(API_KEY_PREFIX);
        let row = ApiKeyRow {
            id: opaque::random_id(),
            application_id: app.id.clone(),
            name: name.to_owned(),
            prefix: minted.value.chars().take(DISPLAY_PREFIX_LEN).collect(),
            key_hash: minted.hash.clone(),
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        api_keys::insert(&self.db, row.clone()).await?;
        self.keys.by_hash.invalidate(&minted.hash);
        self.announce(Change::ApiKey(minted.hash.clone())).await;
        tracing::info!(application_id = %app.id, key = %row.prefix, "API key created");
        audit::record(
            &self.db,
            Event::new(Kind::ApiKeyCreated)
                .about(Subject::ApiKey(row.id.clone()))
                .in_application(&app.id)
                .with("prefix", row.prefix.as_str()),
            now,
        )
        .await;
        Ok(NewApiKey {
            info: row.into(),
            key: minted.value,
        })
    }

    pub async fn list_api_keys(&self, id_or_slug: &str) -> Result<Vec<ApiKeyInfo>, AppError> {
        let app = self.get(id_or_slug).await?;
        let rows = api_keys::list_for_application(&self.db, app.id).await?;
        Ok(rows.into_iter().map(ApiKeyInfo::from).collect())
    }

    /// Revokes a key: it stops working at once (on other instances on PostgreSQL within moments, else within the
    /// cache time).
    pub async fn revoke_api_key(&self, id_or_slug: &str, key_id: &str, now: UnixTime) -> Result<(), AppError> {
        let app = self.get(id_or_slug).await?;
        let revoked = api_keys::revoke(&self.db, app.id.clone(), key_id.to_owned(), now).await?;
        let hash = revoked.ok_or(AppError::NotFound)?;
        self.keys.by_hash.invalidate(&hash);
        self.announce(Change::ApiKey(hash)).await;
        tracing::info!(application_id = %app.id, key_id, "API key revoked");
        audit::record(
            &self.db,
            Event::new(Kind::ApiKeyRevoked)
                .about(Subject::ApiKey(key_id.to_owned()))
                .in_application(&app.id),
            now,
        )
        .await;
        Ok(())
    }

    /// The application a presented key belongs to, if the key is live.
    pub async fn authenticate_key(&self, presented: Option<&str>, now: UnixTime) -> Result<Application, KeyError> {
        let presented = presented.ok_or(KeyError::Missing)?;
        // Garbage never reaches the database.
        if !opaque::is_well_formed(presented, API_KEY_PREFIX) {
            return Err(KeyError::Invalid);
        }
        let hash = opaque::hash(presented);
        let known = match self.keys.by_hash.get(&hash) {
            Some(known) => known,
            None => {
                let found = api_keys::find_by_hash(&self.db, hash.clone()).await?;
                let known = found.map(|(key, _)| KnownKey {
                    id: key.id,
                    application_id: key.application_id,
                    expires_at: key.expires_at,
                    revoked: key.revoked_at.is_some(),
                });
                self.keys.by_hash.insert(hash, known.clone());
                known
            }
        };
        let key = known
            .filter(|k| !k.revoked && k.expires_at.is_none_or(|at| at > now))
            .ok_or(KeyError::Invalid)?;
        let app = self.find(&key.application_id).await?.ok_or(KeyError::Invalid)?;
        if self.keys.due(&key.id) {
            let db = self.db.clone();
            tokio::spawn(async move {
                if let Err(e) = api_keys::touch(&db, key.id, now).await {
                    tracing::warn!(error = %e, "recording API key use failed");
                }
            });
        }
        crate::audit::note_application(&app.id);
        Ok(app)
    }
}
