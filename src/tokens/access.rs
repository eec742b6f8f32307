//! Access tokens: RS256 JWTs of RFC 9068 shape (`typ: at+jwt`), issued for a session and checked on every
//! bearer request.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::keyring::KeyRing;
use super::keys::SigningAlg;
use super::opaque::random_id;
use super::{TokenError, jwt};
use crate::clock::UnixTime;
use crate::metrics::{Grant, Metrics};

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Accepted clock skew for `iat` in the future.
const MAX_CLOCK_SKEW: i64 = 60;

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub jti: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The token family (login session or grant) the token belongs to; absent for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The OAuth client the token was issued to; absent for the REST API's own logins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The application the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The private token this access token was exchanged for; revoking that token revokes this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat: Option<String>,
    /// How the user signed in (RFC 8176), for tokens of a sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The upstream provider the user signed in through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// When the user last proved who they are (a sign-in, a step-up), for tokens of a sign-in (RFC 9068 §2.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    /// The DPoP key the token is bound to (RFC 9449 §6.1), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 / RFC 9449 §6.1: the key a token is bound to, by its JWK SHA-256 thumbprint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl AccessClaims {
    /// The thumbprint of the DPoP key the token is bound to, if any.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|cnf| cnf.jkt.as_str())
    }
}

/// Who and what an access token is for.
#[derive(Clone, Copy, Debug)]
pub struct AccessGrant<'a> {
    /// The user id, or the client id for client credentials.
    pub subject: &'a str,
    /// The token family, if the token belongs to one.
    pub family: Option<&'a str>,
    pub scope: &'a str,
    pub client_id: Option<&'a str>,
    /// The application the token is for.
    pub application: Option<&'a str>,
    /// The private token the access token is exchanged for, if any.
    pub private_token: Option<&'a str>,
    /// How the user signed in, as recorded (see `tokens::amr`), and at what level, for tokens of a sign-in.
    pub amr: Option<&'a str>,
    pub acr: Option<&'a str>,
    /// When the user last proved who they are, for tokens of a sign-in.
    pub auth_time: Option<UnixTime>,
    /// The DPoP key (its thumbprint) the token is bound to, if the request proved one (RFC 9449 §6.1).
    pub jkt: Option<&'a str>,
    /// Lifetime in seconds (the application's setting).
    pub lifetime: i64,
    /// How the token was obtained (counted in the metrics).
    pub grant: Grant,
    /// The algorithm it is signed with (RS256 unless the client asked for another).
    pub alg: SigningAlg,
}

/// A signed access token and its lifetime in seconds.
#[derive(Clone, Debug)]
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
}

/// Issues and checks access tokens for one issuer.
#[derive(Clone)]
pub struct AccessTokens {
    keys: Arc<KeyRing>,
    issuer: String,
    metrics: Arc<Metrics>,
}

impl AccessTokens {
    pub fn new(keys: Arc<KeyRing>, issuer: String, metrics: Arc<Metrics>) -> Self {
        Self { keys, issuer, metrics }
    }

    /// The key ring behind these tokens.
    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    /// The issuer these tokens name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Signs an access token for `grant`.
    pub fn issue(&self, grant: AccessGrant<'_>, now: UnixTime) -> Result<IssuedAccessToken, TokenError> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: grant.subject.to_owned(),
            aud: self.issuer.clone(),
            exp: now + grant.lifetime,
            iat: now,
            jti: random_id(),
            scope: grant.scope.to_owned(),
            sid: grant.family.map(str::to_owned),
            client_id: grant.client_id.map(str::to_owned),
            app: grant.application.map(str::to_owned),
            pat: grant.private_token.map(str::to_owned),
            amr: grant.amr.map(super::amr::methods).filter(|methods| !methods.is_empty()),
            acr: grant.acr.map(str::to_owned),
            idp: grant.amr.and_then(super::amr::idp),
            auth_time: grant.auth_time,
            cnf: grant.jkt.map(|jkt| Confirmation { jkt: jkt.to_owned() }),
        };
        let keys = self.keys.current();
        let token = jwt::sign(keys.signer_for(grant.alg, now)?, ACCESS_TOKEN_TYPE, &claims)?;
        self.metrics.token_issued(grant.grant);
        Ok(IssuedAccessToken {
            token,
            expires_in: grant.lifetime,
        })
    }

    /// Checks signature, type, issuer, audience and lifetime. Revocation is the caller's check.
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<AccessClaims, TokenError> {
        let claims: AccessClaims = jwt::verify(&self.keys.current(), token, &[ACCESS_TOKEN_TYPE])?;
        if claims.iss != self.issuer {
            return Err(TokenError::Invalid("The token was issued by someone else."));
        }
        if claims.aud != self.issuer {
            return Err(TokenError::Invalid("The token is meant for another audience."));
        }
        if claims.iat > now + MAX_CLOCK_SKEW {
            return Err(TokenError::Invalid("The token is issued in the future."));
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}
