//! Password hashing with argon2id on blocking threads, at most N at once so memory stays bounded under a
//! login flood; unknown accounts are checked against a dummy hash so timing does not tell who exists.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use tokio::sync::Semaphore;

use crate::config::PasswordConfig;
use crate::tokens::opaque::random_bytes;

/// Hashing failed for a reason that is not the caller's (bad parameters, a lost task).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordCheck {
    pub matches: bool,
    /// The stored hash uses other parameters than the configured ones and should be replaced.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords.
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    dummy_hash: String,
}

impl Passwords {
    /// Prepares the hasher; computes the dummy hash once (one hash's worth of time).
    pub fn new(config: &PasswordConfig) -> Result<Self, PasswordError> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .map_err(|e| PasswordError(e.to_string()))?;
        let permits = match config.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let dummy_hash = hash_blocking(&params, &random_bytes::<24>())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(permits)),
            dummy_hash,
        })
    }

    /// Hashes `password` as a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let params = self.params.clone();
        let password = password.as_bytes().to_vec();
        self.run(move || hash_blocking(&params, &password)).await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account, so that
    /// both cost the same.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<PasswordCheck, PasswordError> {
        let is_real = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        let params = self.params.clone();
        let password = password.as_bytes().to_vec();
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return PasswordCheck {
                    matches: false,
                    needs_rehash: false,
                };
            };
            let matches = argon2id(&params)
                .verify_password(&password, &parsed)
                .is_ok();
            let needs_rehash = parsed.algorithm.as_str() != "argon2id"
                || Params::try_from(&parsed).is_ok_and(|p| {
                    (p.m_cost(), p.t_cost(), p.p_cost())
                        != (params.m_cost(), params.t_cost(), params.p_cost())
                });
            PasswordCheck {
                matches: matches && is_real,
                needs_rehash,
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| PasswordError(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| PasswordError(e.to_string()))
    }
}

fn argon2id(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &[u8]) -> Result<String, PasswordError> {
    let salt = random_bytes::<16>();
    argon2id(params)
        .hash_password_with_salt(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError(e.to_string()))
}

/// Passwords so common that an attacker tries them first (ASVS 6.2.4); compared case-insensitively.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "12341234",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "99999999",
    "12121212",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "1q2w3e4r",
    "1qaz2wsx",
    "asdfghjk",
    "asdfghjkl",
    "zxcvbnm1",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "letmein1",
    "letmein123",
    "admin123",
    "administrator",
    "trustno1",
    "superman",
    "starwars",
    "whatever",
    "computer",
    "changeme",
    "changeme1",
    "abc12345",
    "abcd1234",
    "monkey123",
    "dragon123",
    "master123",
    "shadow123",
    "michael1",
    "jennifer",
    "internet",
    "secret123",
    "default1",
    "tessera1",
    "tessera123",
];

/// Whether `password` is on the list of the most common passwords.
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON_PASSWORDS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(&PasswordConfig {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            ..PasswordConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_report_parameter_changes() {
        let passwords = cheap();
        let hash = passwords.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let ok = passwords
            .verify("correct horse battery", Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            ok,
            PasswordCheck {
                matches: true,
                needs_rehash: false
            }
        );
        let wrong = passwords
            .verify("correct horse batterY", Some(&hash))
            .await
            .unwrap();
        assert!(!wrong.matches);

        let stronger = Passwords::new(&PasswordConfig {
            argon2_memory_kib: 128,
            argon2_iterations: 1,
            ..PasswordConfig::default()
        })
        .unwrap();
        let check = stronger
            .verify("correct horse battery", Some(&hash))
            .await
            .unwrap();
        assert!(check.matches && check.needs_rehash);
    }

    #[tokio::test]
    async fn no_account_never_matches() {
        let passwords = cheap();
        let check = passwords.verify("anything at all", None).await.unwrap();
        assert!(!check.matches);
        let garbage = passwords
            .verify("anything at all", Some("not a hash"))
            .await
            .unwrap();
        assert!(!garbage.matches);
    }

    #[test]
    fn common_passwords_are_recognised_in_any_case() {
        assert!(is_common("Password123"));
        assert!(is_common("12345678"));
        assert!(!is_common("a long and unusual passphrase"));
    }
}
