//! The signing keys in memory: the signers (the active key and any scheduled to follow), the published
//! verifiers and the JWKS document, rebuilt from the database at start and on a timer (so every instance
//! sees a rotation). Which key signs is decided by time, so instances switch at the same moment.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::ParsedPublicKey;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use bytes::Bytes;
use serde::Serialize;

use super::TokenError;
use super::keys::{self, KeyMaterial, KeyPairOf, SigningAlg};
use super::rotation::{self, KeyPolicy, KeyStatus, NewKey};
use crate::clock::UnixTime;
use crate::config::Secret;
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::{Database, StoreError};

/// A key new tokens are signed with, parsed once.
pub struct Signer {
    pub kid: String,
    pub alg: SigningAlg,
    pair: KeyPairOf,
    rng: SystemRandom,
}

impl Signer {
    /// A signer for `material` (the ring builds its own; tests and tools may build others).
    pub fn from_material(material: &KeyMaterial) -> Result<Self, TokenError> {
        Ok(Self {
            kid: material.kid.clone(),
            alg: material.alg,
            pair: material.key_pair()?,
            rng: SystemRandom::new(),
        })
    }

    /// The JWS signature of `message` (RFC 7518 §3.3 RSASSA-PKCS1-v1_5 with SHA-256, §3.4 ECDSA P-256 with
    /// SHA-256 as `r || s`, RFC 8037 §3.1 Ed25519).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let failed = |_| TokenError::Key("signing failed".into());
        match &self.pair {
            KeyPairOf::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            KeyPairOf::Ec(pair) => Ok(pair.sign(&self.rng, message).map_err(failed)?.as_ref().to_vec()),
            KeyPairOf::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
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
    /// Each published key with its algorithm, by `kid`.
    verifiers: HashMap<String, (SigningAlg, ParsedPublicKey)>,
    jwks: Bytes,
}

impl KeySet {
    /// The RS256 key that signs at `now` (tokens are RS256 unless a client asks for another algorithm).
    pub fn signer(&self, now: UnixTime) -> Result<&Arc<Signer>, TokenError> {
        self.signer_for(SigningAlg::Rs256, now)
    }

    /// The key of `alg` that signs at `now`: of its keys already active, the one that activated last. Every
    /// instance reading the same rows picks the same key at the same moment, without waiting for a reload.
    pub fn signer_for(&self, alg: SigningAlg, now: UnixTime) -> Result<&Arc<Signer>, TokenError> {
        self.active(alg, now)
            .map(|scheduled| &scheduled.signer)
            .ok_or_else(|| TokenError::Key(format!("no active {alg} signing key")))
    }

    fn active(&self, alg: SigningAlg, now: UnixTime) -> Option<&ScheduledSigner> {
        self.signers
            .iter()
            .rev()
            .find(|scheduled| scheduled.signer.alg == alg && scheduled.activates_at <= now)
    }

    /// When the RS256 key that signs at `now` started signing, if one does.
    pub fn signing_since(&self, now: UnixTime) -> Option<UnixTime> {
        self.active(SigningAlg::Rs256, now)
            .map(|scheduled| scheduled.activates_at)
    }

    /// The published key with this `kid`, and its algorithm.
    pub fn verifier(&self, kid: &str) -> Option<&(SigningAlg, ParsedPublicKey)> {
        self.verifiers.get(kid)
    }
}

#[derive(Serialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
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
                algorithm: row.algorithm.clone(),
                created_at: row.created_at,
                status: KeyStatus::of(row, self.publish_window, now),
            })
            .collect())
    }

    /// Rotates (see [`rotation::rotate`]) and publishes the new keys from this instance at once; the others
    /// read it at their next reload.
    pub async fn rotate(
        &self,
        db: &Database,
        policy: KeyPolicy<'_>,
        now: UnixTime,
        now_please: bool,
    ) -> Result<Vec<NewKey>, KeyRingError> {
        let keys = rotation::rotate(db, policy, now, now_please).await?;
        self.reload(db, now).await?;
        Ok(keys)
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
    let published = rows.iter().filter(|row| is_published(row, publish_window, now));
    let mut verifiers = HashMap::new();
    let mut jwks = Jwks { keys: Vec::new() };
    for row in published {
        let invalid = |e: TokenError| TokenError::Key(format!("public key {}: {e}", row.kid));
        let (alg, public) = keys::stored_public(row).map_err(invalid)?;
        verifiers.insert(
            row.kid.clone(),
            (alg, keys::verifier_of(alg, &public).map_err(invalid)?),
        );
        jwks.keys.push(keys::public_jwk(&row.kid, alg, &public));
    }
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
    pub algorithm: String,
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
