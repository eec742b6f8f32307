//! Signing-key rotation without a gap. A new key is published in the JWKS at once but signs only `lead`
//! seconds later — at least as long as a relying party may cache the JWKS plus the time every instance takes
//! to re-read its keys — so no relying party meets a token whose `kid` its cached JWKS lacks. The key it
//! replaces stays published until every token it signed has expired. Rotation is by command
//! (`tessera keys rotate`) or, when `keys.rotate_after_days` is set, automatic; of several instances due at
//! once, one rotates. Each algorithm of `keys.algorithms` has its own key and its own timeline; a rotation
//! replaces the key of every one.

use super::TokenError;
use super::keyring::KeyRingError;
use super::keys::{KeyMaterial, SigningAlg};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::config::Secret;
use crate::store::Database;
use crate::store::changes::{self, Change};
use crate::store::signing_keys::{self, SigningKeyRow};

/// How long a relying party may cache the JWKS (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECS: i64 = 300;

/// A key just made: its `kid`, algorithm, and when it starts signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub activates_at: UnixTime,
}

/// What a rotation needs to make keys.
#[derive(Clone, Copy, Debug)]
pub struct KeyPolicy<'a> {
    pub secret: Option<&'a Secret>,
    /// The algorithms that each have a signing key (RS256 always among them).
    pub algorithms: &'a [SigningAlg],
    pub rsa_bits: u32,
    /// Seconds between publishing a new key and its first signature.
    pub lead: i64,
}

impl KeyPolicy<'_> {
    /// The lead for a JWKS re-read by every instance every `reload_interval_secs`.
    pub fn lead_for(reload_interval_secs: u64) -> i64 {
        JWKS_MAX_AGE_SECS + i64::try_from(reload_interval_secs).unwrap_or(i64::MAX / 2)
    }
}

/// Where a stored key stands at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Published, not signing yet.
    Next { signs_from: UnixTime },
    /// Signing (until the next key takes over, when one is scheduled).
    Active { until: Option<UnixTime> },
    /// Replaced, still published for the tokens it signed.
    Retired { published_until: UnixTime },
    /// Replaced, and every token it signed has expired: no longer published.
    Unpublished { retired: UnixTime },
}

impl KeyStatus {
    /// Where `row` stands at `now`, a retired key published `publish_window` seconds after it was replaced.
    pub fn of(row: &SigningKeyRow, publish_window: i64, now: UnixTime) -> Self {
        match row.retired_at {
            Some(retired) if retired <= now && retired + publish_window > now => Self::Retired {
                published_until: retired + publish_window,
            },
            Some(retired) if retired <= now => Self::Unpublished { retired },
            _ if row.activates_at > now => Self::Next {
                signs_from: row.activates_at,
            },
            until => Self::Active { until },
        }
    }

    /// In words, with its times.
    pub fn describe(&self) -> String {
        use crate::clock::rfc3339;
        match *self {
            Self::Next { signs_from } => format!("next: published, signs from {}", rfc3339(signs_from)),
            Self::Active { until: Some(until) } => format!("active until {}", rfc3339(until)),
            Self::Active { until: None } => "active".to_owned(),
            Self::Retired { published_until } => format!("retired, published until {}", rfc3339(published_until)),
            Self::Unpublished { retired } => format!("retired {}, no longer published", rfc3339(retired)),
        }
    }
}

/// Makes sure a key of every configured algorithm signs now, generating the missing ones at once (on first
/// start, or when an algorithm is added). Returns the keys made.
pub async fn ensure_active_key(
    db: &Database,
    policy: KeyPolicy<'_>,
    now: UnixTime,
) -> Result<Vec<NewKey>, KeyRingError> {
    let rows = signing_keys::list(db).await?;
    let mut made = Vec::new();
    for &alg in policy.algorithms {
        if rows
            .iter()
            .any(|row| row.algorithm == alg.as_str() && signs_at(row, now))
        {
            continue;
        }
        let material = generate(alg, policy.rsa_bits).await?;
        made.push(store(db, &material, policy.secret, now, now).await?);
    }
    Ok(made)
}

/// Publishes a new key of every configured algorithm, each signing after `policy.lead`; refused while a
/// previous rotation's key has not started signing. With `now_please`, the keys sign at once (after a key
/// compromise: relying parties that cached the JWKS refuse new tokens until they fetch it again).
pub async fn rotate(
    db: &Database,
    policy: KeyPolicy<'_>,
    now: UnixTime,
    now_please: bool,
) -> Result<Vec<NewKey>, KeyRingError> {
    if !now_please
        && let Some(pending) = signing_keys::list(db)
            .await?
            .into_iter()
            .find(|row| row.activates_at > now && row.retired_at.is_none())
    {
        return Err(KeyRingError::AlreadyScheduled {
            kid: pending.kid,
            activates_at: pending.activates_at,
        });
    }
    let activates_at = if now_please { now } else { now + policy.lead };
    let mut made = Vec::new();
    for &alg in policy.algorithms {
        let material = generate(alg, policy.rsa_bits).await?;
        made.push(store(db, &material, policy.secret, now, activates_at).await?);
    }
    Ok(made)
}

/// Rotates each algorithm whose newest key started signing `max_age` seconds ago or more and has none
/// scheduled yet. Returns the keys this call made (another instance may have been first).
pub async fn rotate_if_due(
    db: &Database,
    policy: KeyPolicy<'_>,
    max_age: i64,
    now: UnixTime,
) -> Result<Vec<NewKey>, KeyRingError> {
    let due_before = now - max_age;
    let rows = signing_keys::list(db).await?;
    let mut made = Vec::new();
    for &alg in policy.algorithms {
        let newest = rows
            .iter()
            .filter(|row| row.algorithm == alg.as_str())
            .map(|row| row.activates_at)
            .max();
        // A key scheduled after `now` is newer than `due_before` too.
        if newest.is_some_and(|at| at > due_before) {
            continue;
        }
        let material = generate(alg, policy.rsa_bits).await?;
        let activates_at = now + policy.lead;
        let row = material.to_row(policy.secret, now, activates_at)?;
        if !signing_keys::insert_if_due(db, row, due_before).await? {
            continue;
        }
        announce(db).await;
        tracing::info!(kid = %material.kid, alg = %alg, activates_at, "signing key rotated on schedule");
        audit_new_key(db, &material, activates_at, "schedule", now).await;
        made.push(NewKey {
            kid: material.kid,
            alg,
            activates_at,
        });
    }
    Ok(made)
}

/// Stores existing key material, signing at once (tests, and keys brought from elsewhere).
pub async fn import(
    db: &Database,
    material: &KeyMaterial,
    secret: Option<&Secret>,
    now: UnixTime,
) -> Result<NewKey, KeyRingError> {
    store(db, material, secret, now, now).await
}

/// Whether `row` is the kind of key that signs at `now` (activated, not retired).
fn signs_at(row: &SigningKeyRow, now: UnixTime) -> bool {
    row.activates_at <= now && row.retired_at.is_none_or(|at| at > now)
}

/// Records a new signing key in the audit log: made on `why` (`schedule` or `request`).
async fn audit_new_key(db: &Database, key: &KeyMaterial, activates_at: UnixTime, why: &str, now: UnixTime) {
    let event = Event::new(Kind::SigningKeyCreated)
        .about(Subject::SigningKey(key.kid.clone()))
        .with("algorithm", key.alg.as_str())
        .with("activates_at", activates_at)
        .with("reason", why);
    audit::record(db, event, now).await;
}

async fn generate(alg: SigningAlg, rsa_bits: u32) -> Result<KeyMaterial, KeyRingError> {
    Ok(
        tokio::task::spawn_blocking(move || KeyMaterial::generate_for(alg, rsa_bits))
            .await
            .map_err(|e| TokenError::Key(e.to_string()))??,
    )
}

async fn store(
    db: &Database,
    material: &KeyMaterial,
    secret: Option<&Secret>,
    now: UnixTime,
    activates_at: UnixTime,
) -> Result<NewKey, KeyRingError> {
    signing_keys::insert_scheduled(db, material.to_row(secret, now, activates_at)?).await?;
    announce(db).await;
    audit_new_key(db, material, activates_at, "request", now).await;
    Ok(NewKey {
        kid: material.kid.clone(),
        alg: material.alg,
        activates_at,
    })
}

/// Tells the other instances that a key was added, so they publish it (or sign with it) at once rather than at
/// their next reload; a failure leaves them to `keys.reload_interval_secs`.
async fn announce(db: &Database) {
    if let Err(e) = changes::announce(db, Change::SigningKeys).await {
        tracing::warn!(error = %e, "announcing a new signing key failed; other instances load it at their next reload");
    }
}
