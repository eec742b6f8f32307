//! DPoP (RFC 9449): sender-constrained tokens. A proof (`proof`) is checked for the request it came with, its
//! nonce when the server asks for one (`nonce`), and recorded once in `replay_markers` so no instance accepts it
//! again; its key's thumbprint (`jkt`) is what access tokens (`cnf.jkt`) and public clients' token families
//! are bound to. At a resource, a bound token needs the `DPoP` scheme and a proof by its key, and an unbound
//! one the `Bearer` scheme (§7.1).

mod nonce;
mod proof;

use subtle::ConstantTimeEq;

use crate::clock::UnixTime;
use crate::config::{DpopConfig, Secret};
use crate::store::{Database, StoreError, replay_markers};
use crate::tokens::opaque;

pub use nonce::NONCE_WINDOW_SECS;

/// The algorithms a proof may be signed with (discovery's `dpop_signing_alg_values_supported`).
pub const SIGNING_ALGS: [&str; 4] = ["ES256", "PS256", "RS256", "EdDSA"];

/// How far a proof's `iat` may lie from the server's clock, either way (RFC 9449 §11.1).
pub const PROOF_WINDOW_SECS: i64 = 60;

/// The HTTP request a proof must have been made for (`htm`, `htu`).
#[derive(Clone, Copy, Debug)]
pub struct ProofTarget<'a> {
    pub method: &'a str,
    /// The request's URL as the server is known from outside (the issuer and the path).
    pub url: &'a str,
}

/// How an access token was presented at a resource.
#[derive(Clone, Copy, Debug)]
pub enum Presentation<'a> {
    /// `Authorization: Bearer` (RFC 6750), or a form body.
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 §7.1), with the request's one `DPoP` header, if any.
    Dpop {
        proof: Option<&'a str>,
        target: ProofTarget<'a>,
    },
}

/// What is wrong with a DPoP proof or with how a bound token was presented.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// `invalid_dpop_proof` (RFC 9449 §5, §7.1): missing, malformed, badly signed, for another request,
    /// stale, replayed, or by another key than the token's.
    #[error("{0}")]
    InvalidProof(&'static str),
    /// `use_dpop_nonce` (§8, §9): the proof lacks a current nonce; the one to use is here.
    #[error("the DPoP proof must carry the server's current nonce")]
    UseNonce(String),
    /// `invalid_token` (§7.1): a bound token presented as `Bearer`, or an unbound one with the `DPoP` scheme.
    #[error("{0}")]
    Binding(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks proofs, hands out nonces, and records the proofs it accepted.
pub struct Dpop {
    db: Database,
    nonces: nonce::Nonces,
    require_nonce: bool,
}

impl Dpop {
    pub fn new(config: &DpopConfig, secret: Option<&Secret>, db: Database) -> Self {
        Self {
            db,
            nonces: nonce::Nonces::new(secret),
            require_nonce: config.require_nonce,
        }
    }

    /// The nonce to announce (`DPoP-Nonce`) when proofs must carry one.
    pub fn fresh_nonce(&self, now: UnixTime) -> Option<String> {
        self.require_nonce.then(|| self.nonces.issue(now))
    }

    /// Checks `proof` for a request to `target` (with `ath` of `access_token` when one is presented with it),
    /// its nonce when nonces are required, and records it so it is accepted once across every instance.
    /// Returns the thumbprint of the key that signed it.
    pub async fn check_proof(
        &self,
        proof: &str,
        target: ProofTarget<'_>,
        access_token: Option<&str>,
        now: UnixTime,
    ) -> Result<String, DpopError> {
        let checked = proof::check(proof, target, access_token, now)?;
        // RFC 9449 §4.3 check 10.
        if self.require_nonce && !checked.nonce.as_deref().is_some_and(|n| self.nonces.is_valid(n, now)) {
            return Err(DpopError::UseNonce(self.nonces.issue(now)));
        }
        // §11.1: a proof is never accepted twice; its marker outlives the window in which it could be.
        let marker = opaque::hash(&format!("{}.{}", checked.jkt, checked.jti));
        let expires_at = checked.iat.max(now) + PROOF_WINDOW_SECS;
        if !replay_markers::insert_once(&self.db, marker, expires_at).await? {
            return Err(DpopError::InvalidProof("This DPoP proof was already used."));
        }
        Ok(checked.jkt)
    }

    /// RFC 9449 §7.1: whether `token`, bound to the key with thumbprint `bound` (its `cnf.jkt`) if any, was
    /// presented as it must be.
    pub async fn check_presentation(
        &self,
        token: &str,
        bound: Option<&str>,
        presentation: Presentation<'_>,
        now: UnixTime,
    ) -> Result<(), DpopError> {
        let (proof, target, bound) = match (presentation, bound) {
            (Presentation::Bearer, None) => return Ok(()),
            (Presentation::Bearer, Some(_)) => {
                return Err(DpopError::Binding(
                    "The access token is bound to a DPoP key: present it with the DPoP scheme and a proof.",
                ));
            }
            (Presentation::Dpop { .. }, None) => {
                return Err(DpopError::Binding(
                    "The access token is not bound to a DPoP key: present it with the Bearer scheme.",
                ));
            }
            (Presentation::Dpop { proof: None, .. }, Some(_)) => {
                return Err(DpopError::InvalidProof(
                    "A DPoP proof is required with the DPoP scheme.",
                ));
            }
            (
                Presentation::Dpop {
                    proof: Some(proof),
                    target,
                },
                Some(bound),
            ) => (proof, target, bound),
        };
        let jkt = self.check_proof(proof, target, Some(token), now).await?;
        if bool::from(jkt.as_bytes().ct_eq(bound.as_bytes())) {
            Ok(())
        } else {
            Err(DpopError::InvalidProof(
                "The DPoP proof is signed by another key than the access token is bound to.",
            ))
        }
    }
}
