//! The signing keys in memory: the active signer, the published verifiers and the JWKS document, rebuilt
//! from the database at start, after a rotation, and on a timer (so every instance sees a rotation).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use bytes::Bytes;
use jsonwebtoken::DecodingKey;
use serde::Serialize;

use super::TokenError;
use super::keys::{ALGORITHM, KeyMaterial};
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

/// One consistent view of the keys.
pub struct KeySet {
    signer: Option<Arc<Signer>>,
    verifiers: HashMap<String, DecodingKey>,
    jwks: Bytes,
}

impl KeySet {
    /// The key that signs new tokens.
    pub fn signer(&self) -> Result<&Arc<Signer>, TokenError> {
        self.signer
            .as_ref()
            .ok_or_else(|| TokenError::Key("no active signing key".into()))
    }

    /// The published key with this `kid`.
    pub fn verifier(&self, kid: &str) -> Option<&DecodingKey> {
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
        let set = build(&rows, secret.as_ref(), publish_window, now, None)?;
        Ok(Self {
            current: ArcSwap::from_pointee(set),
            secret,
            publish_window,
        })
    }

    /// Re-reads the keys; the active signer is reused when it has not changed.
    pub async fn reload(&self, db: &Database, now: UnixTime) -> Result<(), KeyRingError> {
        let rows = signing_keys::list(db).await?;
        let previous = self.current.load();
        let set = build(
            &rows,
            self.secret.as_ref(),
            self.publish_window,
            now,
            previous.signer.as_ref(),
        )?;
        self.current.store(Arc::new(set));
        Ok(())
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

fn is_published(row: &SigningKeyRow, publish_window: i64, now: UnixTime) -> bool {
    row.retired_at.is_none_or(|retired| retired + publish_window > now)
}

fn build(
    rows: &[SigningKeyRow],
    secret: Option<&Secret>,
    publish_window: i64,
    now: UnixTime,
    previous: Option<&Arc<Signer>>,
) -> Result<KeySet, KeyRingError> {
    // Rows come newest first, so the first unretired row is the active key.
    let signer = match rows.iter().find(|row| row.retired_at.is_none()) {
        Some(row) if previous.is_some_and(|p| p.kid == row.kid) => previous.cloned(),
        Some(row) => Some(Arc::new(Signer::from_material(&KeyMaterial::from_row(row, secret)?)?)),
        None => None,
    };
    let published: Vec<&SigningKeyRow> = rows
        .iter()
        .filter(|row| row.algorithm == ALGORITHM && is_published(row, publish_window, now))
        .collect();
    let mut verifiers = HashMap::with_capacity(published.len());
    for row in &published {
        let key = DecodingKey::from_rsa_components(&row.public_n, &row.public_e)
            .map_err(|e| TokenError::Key(format!("public key {} is unreadable: {e}", row.kid)))?;
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
        signer,
        verifiers,
        jwks: Bytes::from(jwks),
    })
}

/// Makes sure an active key exists, generating one on first start. Returns the kid when one was made.
pub async fn ensure_active_key(
    db: &Database,
    secret: Option<&Secret>,
    rsa_bits: u32,
    now: UnixTime,
) -> Result<Option<String>, KeyRingError> {
    let rows = signing_keys::list(db).await?;
    if rows.iter().any(|row| row.retired_at.is_none()) {
        return Ok(None);
    }
    rotate(db, secret, rsa_bits, now).await.map(Some)
}

/// Generates a new key, makes it active and retires the previous one. Returns the new kid.
pub async fn rotate(
    db: &Database,
    secret: Option<&Secret>,
    rsa_bits: u32,
    now: UnixTime,
) -> Result<String, KeyRingError> {
    let material = tokio::task::spawn_blocking(move || KeyMaterial::generate(rsa_bits))
        .await
        .map_err(|e| TokenError::Key(e.to_string()))??;
    import(db, &material, secret, now).await?;
    Ok(material.kid)
}

/// Stores existing key material as the active key.
pub async fn import(
    db: &Database,
    material: &KeyMaterial,
    secret: Option<&Secret>,
    now: UnixTime,
) -> Result<(), KeyRingError> {
    signing_keys::insert_active(db, material.to_row(secret, now)?, now).await?;
    Ok(())
}

/// A key-ring operation failed in the database or on a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
}
