//! ID tokens (OpenID Connect Core §2): RS256 JWTs for the client, and checking them again when a client
//! sends one back as `id_token_hint`; and logout tokens (Back-Channel Logout 1.0 §2.4), signed the same way.

use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::keyring::KeyRing;
use super::keys::SigningAlg;
use super::{TokenError, jwt};
use crate::clock::UnixTime;

/// The `typ` header of ID tokens.
pub const ID_TOKEN_TYPE: &str = "JWT";

/// The `typ` header of logout tokens (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";
/// The one event a logout token carries (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid: it is signed afresh at each attempt to send it.
pub const LOGOUT_TOKEN_TTL: i64 = 120;

/// The claims of a logout token (Back-Channel Logout 1.0 §2.4): never a `nonce`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    pub aud: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub events: serde_json::Value,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The claims of an ID token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: String,
    /// Empty (and left out) for a guest, who proved nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The upstream provider the user signed in through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    pub azp: String,
    /// The browser session the user signed in with (for logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
}

/// What an ID token states about an authentication.
#[derive(Clone, Debug)]
pub struct IdTokenFacts<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    pub auth_time: UnixTime,
    pub nonce: Option<&'a str>,
    pub acr: &'a str,
    /// How the user signed in, as recorded (see `tokens::amr`).
    pub amr: &'a str,
    pub browser_session_id: Option<&'a str>,
    /// The access token issued beside it, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The algorithm the client asked its ID tokens in.
    pub alg: SigningAlg,
}

/// Issues and re-reads ID tokens for one issuer.
#[derive(Clone)]
pub struct IdTokens {
    keys: Arc<KeyRing>,
    issuer: String,
    ttl: i64,
}

impl IdTokens {
    pub fn new(keys: Arc<KeyRing>, issuer: String, ttl: i64) -> Self {
        Self { keys, issuer, ttl }
    }

    /// Signs an ID token.
    pub fn issue(&self, facts: &IdTokenFacts<'_>, now: UnixTime) -> Result<String, TokenError> {
        let claims = IdClaims {
            iss: self.issuer.clone(),
            sub: facts.subject.to_owned(),
            aud: facts.client_id.to_owned(),
            exp: now + self.ttl,
            iat: now,
            auth_time: facts.auth_time,
            nonce: facts.nonce.map(str::to_owned),
            acr: facts.acr.to_owned(),
            amr: super::amr::methods(facts.amr),
            idp: super::amr::idp(facts.amr),
            azp: facts.client_id.to_owned(),
            sid: facts.browser_session_id.map(str::to_owned),
            at_hash: facts.access_token.map(|token| at_hash(token, facts.alg)),
        };
        jwt::sign(self.keys.current().signer_for(facts.alg, now)?, ID_TOKEN_TYPE, &claims)
    }

    /// Signs a logout token telling `client_id` that `subject`'s session `sid` (every session of `subject`,
    /// without one) ended (Back-Channel Logout 1.0 §2.4), in the algorithm of the client's ID tokens.
    pub fn logout_token(
        &self,
        client_id: &str,
        subject: &str,
        sid: Option<&str>,
        alg: SigningAlg,
        now: UnixTime,
    ) -> Result<String, TokenError> {
        let claims = LogoutClaims {
            iss: self.issuer.clone(),
            aud: client_id.to_owned(),
            iat: now,
            exp: now + LOGOUT_TOKEN_TTL,
            jti: super::opaque::random_id(),
            events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
            sub: subject.to_owned(),
            sid: sid.map(str::to_owned),
        };
        jwt::sign(self.keys.current().signer_for(alg, now)?, LOGOUT_TOKEN_TYPE, &claims)
    }

    /// Checks an ID token this issuer signed, whether or not it has expired (OIDC Core §3.1.2.1
    /// `id_token_hint`; RP-Initiated Logout §2). Returns its claims.
    pub fn verify_hint(&self, token: &str) -> Result<IdClaims, TokenError> {
        let claims: IdClaims = jwt::verify(&self.keys.current(), token, &[ID_TOKEN_TYPE])?;
        if claims.iss != self.issuer {
            return Err(TokenError::Invalid("The ID token was issued by someone else."));
        }
        Ok(claims)
    }
}

/// OIDC Core §3.1.3.6: base64url of the left half of the access token's hash under the ID token's algorithm —
/// SHA-256 for RS256 and ES256; for EdDSA over Ed25519, SHA-512 (the hash Ed25519 uses, as OpenID Connect
/// implementations agree for `EdDSA`).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    let hash = match alg {
        SigningAlg::Rs256 | SigningAlg::Es256 => digest::digest(&digest::SHA256, access_token.as_bytes()),
        SigningAlg::EdDsa => digest::digest(&digest::SHA512, access_token.as_bytes()),
    };
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223…
        let expected = URL_SAFE_NO_PAD.encode([
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        ]);
        assert_eq!(at_hash("abc", SigningAlg::Rs256), expected);
        assert_eq!(at_hash("abc", SigningAlg::Es256), expected);
        // SHA-512("abc") = ddaf35a193617aba cc417349ae204131 12e6fa4e89a97ea2 0a9eeee64b55d39a…
        let expected = URL_SAFE_NO_PAD.encode([
            0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba, 0xcc, 0x41, 0x73, 0x49, 0xae, 0x20, 0x41, 0x31, 0x12, 0xe6,
            0xfa, 0x4e, 0x89, 0xa9, 0x7e, 0xa2, 0x0a, 0x9e, 0xee, 0xe6, 0x4b, 0x55, 0xd3, 0x9a,
        ]);
        assert_eq!(at_hash("abc", SigningAlg::EdDsa), expected);
    }
}
