//! Opaque secrets (refresh tokens, API keys, client secrets and private tokens): a readable prefix, 256 random bits
//! and a checksum, so scanners can recognise a leaked one. Only their SHA-256 is ever stored.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Prefix of refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "tsr_";
/// Prefix of private (application) tokens.
pub const PRIVATE_TOKEN_PREFIX: &str = "tsp_";

const RANDOM_BYTES: usize = 32;
/// base64url length of the random part.
const BODY_LEN: usize = 43;
/// base64url length of the 4-byte checksum.
const CHECKSUM_LEN: usize = 6;

/// A freshly minted opaque token: the value handed out once, and the hash to store.
#[derive(Clone)]
pub struct MintedToken {
    pub value: String,
    pub hash: String,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// Makes a new token with `prefix`.
pub fn mint(prefix: &str) -> MintedToken {
    let body = URL_SAFE_NO_PAD.encode(random_bytes::<RANDOM_BYTES>());
    let checksum = URL_SAFE_NO_PAD.encode(crc32(format!("{prefix}{body}").as_bytes()).to_be_bytes());
    let value = format!("{prefix}{body}{checksum}");
    let hash = hash(&value);
    MintedToken { value, hash }
}

/// Whether `token` has the shape of a token with `prefix` and a correct checksum; cheap, no lookup.
pub fn is_well_formed(token: &str, prefix: &str) -> bool {
    let Some(rest) = token.strip_prefix(prefix) else {
        return false;
    };
    if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.is_char_boundary(BODY_LEN) {
        return false;
    }
    let (body, checksum) = rest.split_at(BODY_LEN);
    let expected = URL_SAFE_NO_PAD.encode(crc32(format!("{prefix}{body}").as_bytes()).to_be_bytes());
    checksum == expected
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn hash(token: &str) -> String {
    hex(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// `N` bytes from the system's secure random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system generator only fails if the OS cannot supply entropy; there is nothing safe to fall back to.
    #[expect(clippy::expect_used, reason = "no secure fallback exists when the OS has no entropy")]
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the OS random source failed");
    bytes
}

/// 128 random bits, base64url: identifiers such as `jti` and session ids.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// CRC-32 (IEEE), bitwise: a checksum for typo and scanner detection, not a security measure.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn minted_tokens_are_well_formed_and_distinct() {
        let a = mint(REFRESH_TOKEN_PREFIX);
        let b = mint(REFRESH_TOKEN_PREFIX);
        assert_ne!(a.value, b.value);
        assert!(a.value.starts_with("tsr_"));
        assert!(is_well_formed(&a.value, REFRESH_TOKEN_PREFIX));
        assert_eq!(a.hash, hash(&a.value));
        assert_eq!(a.hash.len(), 64);
        assert!(!format!("{a:?}").contains(&a.value));
    }

    #[test]
    fn tampered_tokens_fail_the_checksum() {
        let token = mint(REFRESH_TOKEN_PREFIX).value;
        let mut chars: Vec<char> = token.chars().collect();
        chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(!is_well_formed(&tampered, REFRESH_TOKEN_PREFIX));
        assert!(!is_well_formed(&token, "tsp_"));
        assert!(!is_well_formed("tsr_short", REFRESH_TOKEN_PREFIX));
        assert!(!is_well_formed(
            "tsr_ééééééééééééééééééééééééééééé",
            REFRESH_TOKEN_PREFIX
        ));
    }
}
