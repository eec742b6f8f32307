//! Tokens: the signing keys and JWKS, JWT signing and verification, access tokens, opaque tokens, DPoP proofs,
//! and the public keys others sign with (`jwk`).

pub mod access;
pub mod amr;
pub mod dpop;
pub mod id_token;
pub mod jwk;
pub mod jwt;
pub mod keyring;
pub mod keys;
pub mod opaque;
pub mod revoked;
pub mod rotation;
pub mod sealing;

pub use access::{AccessClaims, AccessGrant, AccessTokens, IssuedAccessToken};
pub use id_token::{IdClaims, IdTokens};
pub use keyring::KeyRing;

/// What can be wrong with a token or a key.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No token was presented.
    #[error("no token was presented")]
    Missing,
    /// The token is malformed, badly signed, or not meant for this use; the text says which.
    #[error("{0}")]
    Invalid(&'static str),
    /// The token's lifetime has passed.
    #[error("the token has expired")]
    Expired,
    /// The token was revoked; the text says why.
    #[error("{0}")]
    Revoked(&'static str),
    /// A signing key could not be made, read or used.
    #[error("signing key problem: {0}")]
    Key(String),
}
