//! The signing keys in memory: the signers (the active key and any scheduled to follow), the published
//! verifiers and the JWKS document, rebuilt from the database at start and on a timer (so every instance
//! sees a rotation). Which key signs is decided by time, so instances switch at the same moment.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::ParsedPublicKey;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use bytes::Bytes;
use serde::Serialize;

use super::TokenError;
use super::keys::{ALGORITHM, KeyMaterial};
use super::rotation::{self, KeyPolicy, KeyStatus, NewKey};
use crate::clock::UnixTime;
use crate::config::Secret;
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::{Database, StoreError};

/// The key new tokens are signed with, parsed once.
pub struct Signer {
    pub kid: String,
    pair: KeyPair,
    rng: SystemRandom,
}

impl Signer {
    /// A signer for `material` (the ring builds its own; tests and tools may build others).
    pub fn from_material(material: &KeyMaterial) -> Result<Self, TokenError> {
        Ok(Self {
            kid: material.kid.clone(),
            pair: material.key_pair()?,
            rng: SystemRandom::new(),
        })
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| TokenError::Key("signing failed".into()))?;
        Ok(signature)
    }
}

/// A key that signs from `activates_at` (and until a later one does).
struct ScheduledSigner {
    activates_at: UnixTime,
    signer: Arc<Signer>,
}

/// One consistent view of the keys.
pub struct KeySet {
    /// The keys that sign now or will, by activation time; parsed once.
    signers: Vec<ScheduledSigner>,
    verifiers: HashMap<String, ParsedPublicKey>,
    jwks: Bytes,
}

impl KeySet {
    /// The key that signs at `now`: of the keys already active, the one that activated last. Every instance
    /// reading the same rows picks the same key at the same moment, without waiting for a reload.
    pub fn signer(&self, now: UnixTime) -> Result<&Arc<Signer>, TokenError> {
        self.signers
            .iter()
            .rev()
            .find(|scheduled| scheduled.activates_at <= now)
            .map(|scheduled| &scheduled.signer)
            .ok_or_else(|| TokenError::Key("no active signing key".into()))
    }

    /// When the key that signs at `now` started signing, if one does.
    pub fn signing_since(&self, now: UnixTime) -> Option<UnixTime> {
        self.signers
            .iter()
            .rev()
            .find(|scheduled| scheduled.activates_at <= now)
            .map(|scheduled| scheduled.activates_at)
    }

    /// The published key with this `kid`.
    pub fn verifier(&self, kid: &str) -> Option<&ParsedPublicKey> {
        self.verifiers.get(kid)
    }
}

#[derive(Serialize)]
struct Jwks<'a> {
    keys: Vec<Jwk<'a>>,
}

#[derive(Serialize)]
struct Jwk<'a> {
    kty: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: &'static str,
    kid: &'a str,
    n: &'a str,
    e: &'a str,
}

/// The keys, swappable as a whole while requests read them.
pub struct KeyRing {
    current: ArcSwap<KeySet>,
    secret: Option<Secret>,
    /// How long a retired key stays published: the longest lifetime of anything it signed.
    publish_window: i64,
}

impl KeyRing {
    /// Loads the keys from the database.
    pub async fn load(
        db: &Database,
        secret: Option<Secret>,
        publish_window: i64,
        now: UnixTime,
    ) -> Result<Self, KeyRingError> {
        let rows = signing_keys::list(db).await?;
        let set = build(&rows, secret.as_ref(), publish_window, now, &[])?;
        Ok(Self {
            current: ArcSwap::from_pointee(set),
            secret,
            publish_window,
        })
    }

    /// Re-reads the keys; signers already parsed are reused.
    pub async fn reload(&self, db: &Database, now: UnixTime) -> Result<(), KeyRingError> {
        let rows = signing_keys::list(db).await?;
        let previous = self.current.load();
        let set = build(&rows, self.secret.as_ref(), self.publish_window, now, &previous.signers)?;
        self.current.store(Arc::new(set));
        Ok(())
    }

    /// Every stored key, oldest first, with where it stands at `now`.
    pub async fn timeline(&self, db: &Database, now: UnixTime) -> Result<Vec<KeyState>, KeyRingError> {
        let rows = signing_keys::list(db).await?;
        Ok(rows
            .iter()
            .map(|row| KeyState {
                kid: row.kid.clone(),
                created_at: row.created_at,
                status: KeyStatus::of(row, self.publish_window, now),
            })
            .collect())
    }

    /// Rotates (see [`rotation::rotate`]) and publishes the new key from this instance at once; the others
    /// read it at their next reload.
    pub async fn rotate(
        &self,
        db: &Database,
        policy: KeyPolicy<'_>,
        now: UnixTime,
        now_please: bool,
    ) -> Result<NewKey, KeyRingError> {
        let key = rotation::rotate(db, policy, now, now_please).await?;
        self.reload(db, now).await?;
        Ok(key)
    }

    /// The current view.
    pub fn current(&self) -> Arc<KeySet> {
        self.current.load_full()
    }

    /// The JWKS document, serialised once per key change.
    pub fn jwks(&self) -> Bytes {
        self.current.load().jwks.clone()
    }
}

/// Published from creation — before it signs — until every token it signed has expired.
fn is_published(row: &SigningKeyRow, publish_window: i64, now: UnixTime) -> bool {
    row.retired_at.is_none_or(|retired| retired + publish_window > now)
}

fn build(
    rows: &[SigningKeyRow],
    secret: Option<&Secret>,
    publish_window: i64,
    now: UnixTime,
    previous: &[ScheduledSigner],
) -> Result<KeySet, KeyRingError> {
    // The keys not yet retired at `now`: the active one and any scheduled to follow it.
    let mut signers = Vec::new();
    for row in rows.iter().filter(|row| row.retired_at.is_none_or(|at| at > now)) {
        let signer = match previous.iter().find(|p| p.signer.kid == row.kid) {
            Some(parsed) => parsed.signer.clone(),
            None => Arc::new(Signer::from_material(&KeyMaterial::from_row(row, secret)?)?),
        };
        signers.push(ScheduledSigner {
            activates_at: row.activates_at,
            signer,
        });
    }
    signers.sort_by_key(|s| s.activates_at);
    let published: Vec<&SigningKeyRow> = rows
        .iter()
        .filter(|row| row.algorithm == ALGORITHM && is_published(row, publish_window, now))
        .collect();
    let mut verifiers = HashMap::with_capacity(published.len());
    for row in &published {
        let key = super::keys::verifier(&row.public_n, &row.public_e)
            .map_err(|e| TokenError::Key(format!("public key {}: {e}", row.kid)))?;
        verifiers.insert(row.kid.clone(), key);
    }
    let jwks = Jwks {
        keys: published
            .iter()
            .map(|row| Jwk {
                kty: "RSA",
                use_: "sig",
                alg: ALGORITHM,
                kid: &row.kid,
                n: &row.public_n,
                e: &row.public_e,
            })
            .collect(),
    };
    let jwks = serde_json::to_vec(&jwks).map_err(|e| TokenError::Key(e.to_string()))?;
    Ok(KeySet {
        signers,
        verifiers,
        jwks: Bytes::from(jwks),
    })
}

/// A stored key and where it stands.
#[derive(Clone, Debug)]
pub struct KeyState {
    pub kid: String,
    pub created_at: UnixTime,
    pub status: KeyStatus,
}

/// A key-ring operation failed in the database or on a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A rotation was asked for while the key of the previous one has not started signing yet.
    #[error("key {kid} is already scheduled to start signing at {activates_at}; rotate again after that")]
    AlreadyScheduled { kid: String, activates_at: UnixTime },
}
