//! Client assertions (RFC 7523 §2.2, §3; OpenID Connect Core §9): a JWT the client signs — with its private key
//! (`private_key_jwt`) or an HMAC under its secret (`client_secret_jwt`) — naming itself as `iss` and `sub`, this
//! server as `aud`, with an `exp` and a `jti` that is accepted once.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::clock::UnixTime;
use crate::tokens::jwk::{Alg, JwkSet};

/// RFC 7523 §2.2: the one `client_assertion_type` of a JWT assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest assertion read.
const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;
/// How far ahead an assertion may expire: a replay marker is kept until then, so a longer life is refused.
pub const MAX_LIFETIME_SECS: i64 = 600;
/// Clock skew allowed on `iat`, `nbf` and `exp`.
const LEEWAY_SECS: i64 = 60;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    /// RFC 7515 §4.1.11: no extension this server would have to understand.
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

/// An assertion read but not yet checked.
pub struct Unverified<'a> {
    header: Header,
    claims: Claims,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// What a valid assertion leaves for the caller to record: its `jti` and when a replay stops mattering.
#[derive(Debug)]
pub struct Accepted {
    pub jti: String,
    pub expires_at: UnixTime,
}

/// The key an assertion must be signed with.
pub enum Verifier<'a> {
    /// `private_key_jwt`: one of the client's registered public keys.
    Keys(&'a JwkSet),
    /// `client_secret_jwt`: an HMAC under the client's secret.
    Secret(&'a [u8]),
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reads a compact JWS without trusting it: enough to find the client it claims to come from.
pub fn read(assertion: &str) -> Result<Unverified<'_>, &'static str> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err("the client assertion is too long");
    }
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the client assertion is not a signed JWT");
    };
    Ok(Unverified {
        header: decode_json(header).ok_or("the client assertion's header is unreadable")?,
        claims: decode_json(claims).ok_or("the client assertion's claims are unreadable")?,
        signing_input: &assertion[..header.len() + 1 + claims.len()],
        signature: URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "the client assertion's signature is unreadable")?,
    })
}

impl Unverified<'_> {
    /// The client the assertion is from: its `sub` (RFC 7523 §3 item 2), which `iss` must repeat.
    pub fn subject(&self) -> Option<&str> {
        self.claims.sub.as_deref()
    }

    /// RFC 7523 §3: the signature by `verifier`, then the claims for client `client_id` at `now`; an
    /// assertion is accepted when `aud` names one of `audiences` (the issuer, the token endpoint, or the
    /// endpoint it was sent to). The replay check of the returned `jti` is the caller's.
    pub fn check(
        self,
        verifier: Verifier<'_>,
        client_id: &str,
        audiences: &[&str],
        now: UnixTime,
    ) -> Result<Accepted, &'static str> {
        if self.header.crit.is_some() {
            return Err("the client assertion names critical extensions");
        }
        if !signed_by(&self.header, self.signing_input.as_bytes(), &self.signature, verifier) {
            return Err("the client assertion is not signed by the client's registered key or secret");
        }
        let claims = self.claims;
        // Item 1 and 2: the client is both issuer and subject.
        if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
            return Err("the client assertion's iss and sub must both be the client_id");
        }
        // Item 3: this server is an audience.
        let names = |aud: &str| audiences.contains(&aud);
        let addressed = match &claims.aud {
            Some(Value::String(aud)) => names(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(names),
            _ => false,
        };
        if !addressed {
            return Err("the client assertion's aud does not name this server");
        }
        // Items 4 and 5: a short life, begun and not yet over.
        let exp = claims.exp.ok_or("the client assertion needs an exp")?;
        if exp + LEEWAY_SECS <= now {
            return Err("the client assertion has expired");
        }
        if exp > now + MAX_LIFETIME_SECS {
            return Err("the client assertion lives too long: its exp may be at most 10 minutes ahead");
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS)
            || claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS)
        {
            return Err("the client assertion is not valid yet");
        }
        // Item 7: a jti, accepted once (the caller records it until the assertion expires).
        let jti = claims
            .jti
            .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LEN)
            .ok_or("the client assertion needs a jti")?;
        Ok(Accepted {
            jti,
            expires_at: exp + LEEWAY_SECS,
        })
    }
}

fn signed_by(header: &Header, message: &[u8], signature: &[u8], verifier: Verifier<'_>) -> bool {
    match verifier {
        Verifier::Keys(set) => {
            let Some(alg) = Alg::parse(&header.alg) else {
                return false;
            };
            set.candidates(alg, header.kid.as_deref())
                .any(|key| key.verifies(alg, message, signature))
        }
        Verifier::Secret(secret) => {
            let algorithm = match header.alg.as_str() {
                "HS256" => hmac::HMAC_SHA256,
                "HS384" => hmac::HMAC_SHA384,
                "HS512" => hmac::HMAC_SHA512,
                _ => return false,
            };
            // `hmac::verify` compares in constant time.
            hmac::verify(&hmac::Key::new(algorithm, secret), message, signature).is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs256(claims: Value, secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    const AUD: [&str; 2] = ["https://id.example", "https://id.example/oauth2/token"];

    fn claims(exp: i64) -> Value {
        serde_json::json!({"iss": "c1", "sub": "c1", "aud": "https://id.example/oauth2/token", "exp": exp, "jti": "j"})
    }

    /// Whether `assertion` is accepted under `secret` for client `c1` with `audiences` at `now`.
    fn accepted(assertion: &str, secret: &[u8], audiences: &[&str], now: UnixTime) -> bool {
        read(assertion)
            .unwrap()
            .check(Verifier::Secret(secret), "c1", audiences, now)
            .is_ok()
    }

    #[test]
    fn an_hmac_assertion_checks_each_claim() {
        let ok = hs256(claims(1_100), b"secret");
        let accepted_now = read(&ok)
            .unwrap()
            .check(Verifier::Secret(b"secret"), "c1", &AUD, 1_000)
            .unwrap();
        assert_eq!((accepted_now.jti.as_str(), accepted_now.expires_at), ("j", 1_160));
        assert!(!accepted(&ok, b"other", &AUD, 1_000), "another secret");
        assert!(
            read(&ok)
                .unwrap()
                .check(Verifier::Secret(b"secret"), "c2", &AUD, 1_000)
                .is_err(),
            "another client"
        );
        assert!(!accepted(&ok, b"secret", &AUD[..1], 1_000), "another audience");
        assert!(!accepted(&ok, b"secret", &AUD, 1_200), "expired");
        assert!(
            !accepted(&hs256(claims(2_000), b"secret"), b"secret", &AUD, 1_000),
            "lives too long"
        );
        let mut no_jti = claims(1_100);
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(!accepted(&hs256(no_jti, b"secret"), b"secret", &AUD, 1_000), "no jti");
        let mut listed = claims(1_100);
        listed["aud"] = serde_json::json!(["https://elsewhere", "https://id.example"]);
        assert!(
            accepted(&hs256(listed, b"secret"), b"secret", &AUD, 1_000),
            "one of several audiences"
        );
    }

    #[test]
    fn malformed_assertions_are_refused_before_any_check() {
        assert!(read("a.b").is_err());
        assert!(read("a.b.c.d").is_err());
        assert!(read(&"a".repeat(MAX_ASSERTION_LEN + 1)).is_err());
    }
}
