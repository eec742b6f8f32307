//! Password hashing with argon2id on blocking threads, at most N at once so memory stays bounded under a
//! login flood; unknown accounts are checked against a dummy hash so timing does not tell who exists.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version};
use subtle::ConstantTimeEq;
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

/// How busy the hashing pool is, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashLoad {
    /// Hashes waiting for a turn.
    pub queued: usize,
    /// Hashes holding a turn (computing, or about to on a blocking thread).
    pub in_progress: usize,
}

/// Hashes and verifies passwords.
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// Hashes computed at once at most.
    capacity: usize,
    /// Hashes waiting for a permit now.
    waiting: AtomicUsize,
    memory: Arc<BlockPool>,
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
        let memory = Arc::new(BlockPool::default());
        let dummy_hash = hash_blocking(&params, &memory, &random_bytes::<24>())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(permits)),
            capacity: permits,
            waiting: AtomicUsize::new(0),
            memory,
            dummy_hash,
        })
    }

    /// Hashes `password` as a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let (params, memory) = (self.params.clone(), self.memory.clone());
        let password = password.as_bytes().to_vec();
        self.run(move || hash_blocking(&params, &memory, &password)).await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account, so that
    /// both cost the same.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<PasswordCheck, PasswordError> {
        let is_real = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        let (params, memory) = (self.params.clone(), self.memory.clone());
        let password = password.as_bytes().to_vec();
        self.run(move || {
            let Some(check) = verify_blocking(&params, &memory, &password, &stored) else {
                return PasswordCheck {
                    matches: false,
                    needs_rehash: false,
                };
            };
            PasswordCheck {
                matches: check.matches && is_real,
                needs_rehash: check.needs_rehash,
            }
        })
        .await
    }

    /// Gives back argon2 working memory unused for `idle` (call it now and then).
    pub fn release_idle_memory(&self, idle: Duration) {
        self.memory.release_idle(idle);
    }

    /// The hashes waiting and running now.
    pub fn load(&self) -> HashLoad {
        HashLoad {
            queued: self.waiting.load(Ordering::Relaxed),
            in_progress: self.capacity.saturating_sub(self.permits.available_permits()),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
        let queued = Queued::enter(&self.waiting);
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| PasswordError(e.to_string()))?;
        drop(queued);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| PasswordError(e.to_string()))
    }
}

/// A hash counted as waiting until this is dropped (its turn came, or its caller gave up).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// glibc serves allocations of at least 32 MiB (its largest dynamic mmap threshold) with a fresh mapping and
/// unmaps it on free. Reserving at least that much for argon2's working memory, and touching only what the
/// parameters need, means released memory leaves the process instead of staying in an allocator arena.
const RETURNED_ALLOCATION_BLOCKS: usize = 32 * 1024 + 1;

/// argon2 working memory, kept between hashes (faulting in 19 MiB per hash costs a third of the hash time)
/// and given back to the system after a quiet spell. Holds at most one buffer per hash in flight.
#[derive(Default)]
struct BlockPool {
    idle: Mutex<Vec<(Vec<Block>, Instant)>>,
}

impl BlockPool {
    fn take(&self, count: usize) -> Vec<Block> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match reused {
            Some((blocks, _)) if blocks.len() == count => blocks,
            _ => {
                let mut blocks = Vec::with_capacity(count.max(RETURNED_ALLOCATION_BLOCKS));
                blocks.resize(count, Block::default());
                blocks
            }
        }
    }

    fn give_back(&self, blocks: Vec<Block>) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((blocks, Instant::now()));
        }
    }

    fn release_idle(&self, idle_for: Duration) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|(_, since)| since.elapsed() < idle_for);
        }
    }
}

/// argon2id of `password` and `salt` into `out`.
fn argon2id_into(
    params: &Params,
    pool: &BlockPool,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), PasswordError> {
    let mut memory = pool.take(params.block_count());
    let result = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt, out, &mut memory[..])
        .map_err(|e| PasswordError(e.to_string()));
    pool.give_back(memory);
    result
}

fn hash_blocking(params: &Params, pool: &BlockPool, password: &[u8]) -> Result<String, PasswordError> {
    let salt = random_bytes::<16>();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2id_into(params, pool, password, &salt, &mut out)?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| PasswordError(e.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(|e| PasswordError(e.to_string()))?),
        hash: Some(Output::new(&out).map_err(|e| PasswordError(e.to_string()))?),
    };
    Ok(hash.to_string())
}

/// Checks `password` against a stored PHC string; `None` if the string is not an argon2id hash.
fn verify_blocking(configured: &Params, pool: &BlockPool, password: &[u8], stored: &str) -> Option<PasswordCheck> {
    let parsed = PasswordHash::new(stored).ok()?;
    if parsed.algorithm != ARGON2ID_IDENT || parsed.version != Some(Version::V0x13.into()) {
        return None;
    }
    let params = Params::try_from(&parsed).ok()?;
    let salt = parsed.salt.as_ref()?;
    let expected = parsed.hash.as_ref()?;
    let mut actual = vec![0u8; expected.len()];
    argon2id_into(&params, pool, password, salt.as_ref(), &mut actual).ok()?;
    let same_cost = (params.m_cost(), params.t_cost(), params.p_cost())
        == (configured.m_cost(), configured.t_cost(), configured.p_cost());
    Some(PasswordCheck {
        matches: bool::from(actual.ct_eq(expected.as_bytes())),
        needs_rehash: !same_cost,
    })
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
        let ok = passwords.verify("correct horse battery", Some(&hash)).await.unwrap();
        assert_eq!(
            ok,
            PasswordCheck {
                matches: true,
                needs_rehash: false
            }
        );
        let wrong = passwords.verify("correct horse batterY", Some(&hash)).await.unwrap();
        assert!(!wrong.matches);

        let stronger = Passwords::new(&PasswordConfig {
            argon2_memory_kib: 128,
            argon2_iterations: 1,
            ..PasswordConfig::default()
        })
        .unwrap();
        let check = stronger.verify("correct horse battery", Some(&hash)).await.unwrap();
        assert!(check.matches && check.needs_rehash);
    }

    #[tokio::test]
    async fn no_account_never_matches() {
        let passwords = cheap();
        let check = passwords.verify("anything at all", None).await.unwrap();
        assert!(!check.matches);
        let garbage = passwords.verify("anything at all", Some("not a hash")).await.unwrap();
        assert!(!garbage.matches);
    }

    #[test]
    fn hashes_interoperate_with_the_reference_implementation() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let params = Params::new(64, 1, 1, None).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let pool = BlockPool::default();
        let ours = hash_blocking(&params, &pool, b"a passphrase").unwrap();
        reference.verify_password(b"a passphrase", ours.as_str()).unwrap();
        let theirs = reference
            .hash_password_with_salt(b"a passphrase", &[7; 16])
            .unwrap()
            .to_string();
        assert!(
            verify_blocking(&params, &pool, b"a passphrase", &theirs)
                .unwrap()
                .matches
        );
        assert!(
            !verify_blocking(&params, &pool, b"another one", &theirs)
                .unwrap()
                .matches
        );
        let argon2i = "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA";
        assert!(verify_blocking(&params, &pool, b"a passphrase", argon2i).is_none());
        pool.release_idle(Duration::ZERO);
        assert!(pool.idle.lock().unwrap().is_empty());
    }

    #[test]
    fn common_passwords_are_recognised_in_any_case() {
        assert!(is_common("Password123"));
        assert!(is_common("12345678"));
        assert!(!is_common("a long and unusual passphrase"));
    }
}
