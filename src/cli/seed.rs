//! `tessera bench seed`: fills the database with accounts and tokens the way a large deployment's tables
//! look, so that measurements can compare a thousand rows with a million. Rows go straight to the store in
//! large batches; every seeded account shares one password hash (hashing a million passwords would take
//! hours and measure nothing).

use std::time::Instant;

use anyhow::bail;
use clap::Args;

use crate::apps::DEFAULT_SLUG;
use crate::auth::{PASSWORD_AMR, SINGLE_FACTOR_ACR};
use crate::clock::{Clock, UnixTime};
use crate::config::Config;
use crate::state::AppState;
use crate::store::refresh_tokens::NewRefreshToken;
use crate::store::seed::{self, SeedBatch};
use crate::store::sessions::NewSession;
use crate::store::users::NewUser;
use crate::tokens::opaque;

/// Accounts written in one transaction.
const ACCOUNTS_PER_BATCH: u32 = 10_000;
/// How long the seeded token families, refresh tokens and revocations last.
const SEEDED_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// What `tessera bench seed` is given.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many accounts to add. Each gets a token family (session) of the application with one live
    /// refresh token, and one revoked access-token id is recorded beside it.
    #[arg(long)]
    accounts: u32,
    /// The accounts are named PREFIX1, PREFIX2, … with the e-mail addresses PREFIXn@seed.invalid.
    #[arg(long, default_value = "seed")]
    prefix: String,
    /// The application (id or slug) of the token families; default: the default application.
    #[arg(long = "app")]
    application: Option<String>,
    /// Read the accounts' password from the first line of standard input (default: a random one, printed).
    #[arg(long)]
    password_stdin: bool,
}

/// Writes the rows, then settles the database (statistics, vacuum), printing progress to standard error.
pub async fn run(config: Config, clock: Clock, args: SeedArgs) -> anyhow::Result<()> {
    if args.prefix.is_empty() || !args.prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        bail!("--prefix takes letters, digits and '-'");
    }
    let password = if args.password_stdin {
        super::read_password()?
    } else {
        let generated = opaque::random_id();
        println!("password of every seeded account: {generated}");
        generated
    };
    let hash = crate::auth::Passwords::new(&config.password)?.hash(&password).await?;
    let state = AppState::build(config, clock).await?;
    let app = state
        .apps
        .get(args.application.as_deref().unwrap_or(DEFAULT_SLUG))
        .await?;
    let before = seed::count_users(&state.db).await?;
    let started = Instant::now();
    let now = state.clock.now();
    let mut written = 0u32;
    while written < args.accounts {
        let size = ACCOUNTS_PER_BATCH.min(args.accounts - written);
        let batch = batch(&args.prefix, written + 1, size, &hash, &app.id, now);
        if let Err(e) = seed::insert(&state.db, batch).await {
            bail!(
                "writing accounts {}{} on: {e} (is the prefix taken?)",
                args.prefix,
                written + 1
            );
        }
        written += size;
        if written.is_multiple_of(100_000) || written == args.accounts {
            eprintln!("{written} accounts written ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    seed::settle(&state.db).await?;
    println!(
        "seeded {written} accounts, token families, refresh tokens and revoked token ids in {:.1} s \
         ({before} accounts were there before)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Accounts `first` to `first + size - 1` with their rows.
fn batch(prefix: &str, first: u32, size: u32, hash: &str, application_id: &str, now: UnixTime) -> SeedBatch {
    let mut rows = SeedBatch::default();
    let expires_at = now + SEEDED_LIFETIME_SECS;
    for n in first..first + size {
        let username = format!("{prefix}{n}");
        let mut user = NewUser::named(username.clone(), now);
        user.email = Some(format!("{username}@seed.invalid"));
        user.email_verified = true;
        user.password_hash = Some(hash.to_owned());
        let session_id = opaque::random_id();
        rows.sessions.push(NewSession {
            id: session_id.clone(),
            user_id: user.id.clone(),
            auth_time: now,
            created_at: now,
            expires_at,
            application_id: Some(application_id.to_owned()),
            client_id: None,
            scope: String::new(),
            amr: PASSWORD_AMR.into(),
            acr: SINGLE_FACTOR_ACR.into(),
            browser_session_id: None,
            offline: false,
            dpop_jkt: None,
        });
        rows.refresh_tokens.push(NewRefreshToken {
            id: opaque::random_id(),
            session_id,
            token_hash: opaque::hash(&opaque::random_id()),
            parent_id: None,
            created_at: now,
            expires_at,
        });
        rows.revoked.push((opaque::random_id(), expires_at));
        rows.users.push(user);
    }
    rows
}
