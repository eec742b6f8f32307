//! Server-provided DPoP nonces (RFC 9449 §8–9), stateless so that any instance accepts another's: a nonce is
//! a time window's number and an HMAC-SHA256 of it, valid during its window and the next. The HMAC key is
//! derived (HKDF) from `TESSERA_SECRET_KEY`; without that secret each process makes a random key of its own,
//! so instances behind one load balancer need the secret for nonces to pass between them.

use aws_lc_rs::hkdf;
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::UnixTime;
use crate::config::Secret;
use crate::tokens::opaque::random_bytes;

/// The length of a nonce's window: a nonce lives between one and two of them.
pub const NONCE_WINDOW_SECS: i64 = 300;
const HKDF_SALT: &[u8] = b"tessera dpop nonce v1";

/// Makes and checks nonces.
pub(super) struct Nonces {
    key: hmac::Key,
}

impl Nonces {
    pub(super) fn new(secret: Option<&Secret>) -> Self {
        let derived = secret.and_then(|secret| {
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(secret.expose().as_bytes());
            let info: [&[u8]; 1] = [b"dpop-nonce"];
            prk.expand(&info, hmac::HMAC_SHA256).ok().map(hmac::Key::from)
        });
        let key = derived.unwrap_or_else(|| hmac::Key::new(hmac::HMAC_SHA256, &random_bytes::<32>()));
        Self { key }
    }

    /// The nonce of the window `now` falls in.
    pub(super) fn issue(&self, now: UnixTime) -> String {
        let window = now.div_euclid(NONCE_WINDOW_SECS);
        let tag = hmac::sign(&self.key, &window.to_be_bytes());
        format!("{window}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Whether `nonce` is this server's, of the current window or the one before.
    pub(super) fn is_valid(&self, nonce: &str, now: UnixTime) -> bool {
        let Some((window, tag)) = nonce.split_once('.') else {
            return false;
        };
        let (Ok(window), Ok(tag)) = (window.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else {
            return false;
        };
        let current = now.div_euclid(NONCE_WINDOW_SECS);
        (window == current || window == current - 1) && hmac::verify(&self.key, &window.to_be_bytes(), &tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_its_window_and_the_next_on_every_instance_sharing_the_secret() {
        let secret = Secret::new("0123456789abcdef0123456789abcdef");
        let (one, other) = (Nonces::new(Some(&secret)), Nonces::new(Some(&secret)));
        let nonce = one.issue(1_000_000);
        assert!(other.is_valid(&nonce, 1_000_000));
        assert!(other.is_valid(&nonce, 1_000_000 + NONCE_WINDOW_SECS));
        assert!(!other.is_valid(&nonce, 1_000_000 + 2 * NONCE_WINDOW_SECS));
        assert!(!Nonces::new(None).is_valid(&nonce, 1_000_000));
        assert!(!one.is_valid("garbage", 1_000_000));
    }
}
