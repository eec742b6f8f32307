//! Command-line administration: migrations, signing keys, accounts.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::apps::AppSpec;
use crate::auth::{ADMIN_SCOPE, NewAccount};
use crate::clock::{Clock, rfc3339};
use crate::config::Config;
use crate::startup::Application;
use crate::state::{AppState, key_policy, publish_window};
use crate::store::Database;
use crate::store::signing_keys;
use crate::tokens::rotation;

mod apps;
mod clients;
mod registration;
mod seed;

pub use apps::PolicyArgs;
use apps::{print_app, refused_fields};

/// Tessera, an OpenID Connect identity provider.
#[derive(Debug, Parser)]
#[command(name = "tessera", version)]
pub struct Cli {
    /// Configuration file (default: $TESSERA_CONFIG, else ./tessera.toml if present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Administer accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Time one password hash with the configured argon2 parameters (to size them for this machine).
    PasswordCost,
    /// Tools for measuring Tessera (bench/).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Add many accounts with token families, refresh tokens and revoked token ids straight to the database
    /// (not through the API), to measure costs with a large deployment's tables.
    Seed(seed::SeedArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new signing key of every algorithm in keys.algorithms: published at once, signing once every
    /// relying party's cached JWKS has it; the old ones stay published until their tokens expire.
    Rotate {
        /// Sign with the new key at once (after a key compromise). Relying parties that cached the JWKS
        /// refuse new tokens until they fetch it again.
        #[arg(long)]
        now: bool,
    },
    /// List signing keys and whether they are active, published or expired.
    List,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account. The password is read from standard input, or generated and printed.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Grant the `admin` scope.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Register an OAuth client. Prints its client_id and, for a confidential client, its secret (once).
    CreateClient(Box<clients::CreateClient>),
    /// Make an initial access token for dynamic client registration (RFC 7591). Prints it once.
    CreateRegistrationToken {
        /// The application (id or slug) its clients join; default: the default application.
        #[arg(long = "app")]
        application: Option<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Days it lives (1 to 365; default 7).
        #[arg(long)]
        days: Option<i64>,
        /// How many clients it may register (default: any number until it expires).
        #[arg(long)]
        uses: Option<i64>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Create an application (tenant) with its own request budget and token lifetimes.
    CreateApp {
        #[arg(long)]
        name: String,
        /// URL-friendly name (default: from the name).
        #[arg(long)]
        slug: Option<String>,
        /// Requests a minute (default: apps.default_rate_limit_per_minute).
        #[arg(long)]
        rate_limit: Option<u32>,
        // Boxed: the policy flags would make every command as large as these.
        #[command(flatten)]
        policy: Box<PolicyArgs>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Change an application's name, budget or access policy (what is not given stays).
    UpdateApp {
        /// The application's id or slug.
        #[arg(long = "app")]
        application: String,
        #[arg(long)]
        name: Option<String>,
        /// Requests a minute.
        #[arg(long)]
        rate_limit: Option<u32>,
        #[command(flatten)]
        policy: Box<PolicyArgs>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Create an API key for an application; the key is printed once.
    CreateApiKey {
        /// The application's id or slug.
        #[arg(long = "app")]
        application: String,
        #[arg(long)]
        name: String,
        /// Days until the key expires (default: never).
        #[arg(long)]
        expires_in_days: Option<i64>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (by username or e-mail): it cannot sign in and its tokens stop working.
    DisableUser { login: String },
    /// Enable a disabled account again.
    EnableUser { login: String },
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    crate::telemetry::init(&config.log);
    let clock = Clock::system();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config, clock).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = open(&config)?;
            let applied = db.migrate().await?;
            println!("{} migration(s) applied", applied.len());
        }
        Command::Keys(KeysCommand::Rotate { now }) => {
            let db = open(&config)?;
            db.migrate().await?;
            let started = clock.now();
            let keys = rotation::rotate(&db, key_policy(&config), started, now).await?;
            for key in &keys {
                println!("new {} signing key: {}", key.alg, key.kid);
            }
            let activates_at = keys.first().map_or(started, |key| key.activates_at);
            if now {
                println!(
                    "they sign now (running servers publish them within {} s); the previous keys stay published \
                     for {} s",
                    config.keys.reload_interval_secs,
                    publish_window(&config)
                );
            } else {
                println!(
                    "published within {} s; they sign from {} ({} s from now, once every cached JWKS has them); \
                     the previous keys stay published for {} s after that",
                    config.keys.reload_interval_secs,
                    rfc3339(activates_at),
                    activates_at - started,
                    publish_window(&config)
                );
            }
        }
        Command::Keys(KeysCommand::List) => {
            let db = open(&config)?;
            db.migrate().await?;
            list_keys(&db, &config, clock.now()).await?;
        }
        Command::Admin(AdminCommand::CreateUser {
            username,
            email,
            admin,
            password_stdin,
        }) => {
            let (password, generated) = if password_stdin {
                (read_password()?, false)
            } else {
                (crate::tokens::opaque::random_id(), true)
            };
            let state = AppState::build(config, clock).await?;
            let account = NewAccount {
                username: Some(username),
                email: Some(email),
                password: Some(password.clone()),
            };
            let scopes: &[&str] = if admin { &[ADMIN_SCOPE] } else { &[] };
            let user = state
                .auth
                .accounts
                .create_user(account, scopes, state.clock.now())
                .await?;
            println!("created {} <{}> id {}", user.username, user.label(), user.id);
            if generated {
                println!("password (shown once): {password}");
            }
        }
        Command::PasswordCost => password_cost(&config).await?,
        Command::Bench(BenchCommand::Seed(args)) => seed::run(config, clock, args).await?,
        Command::Admin(AdminCommand::CreateClient(args)) => clients::create(config, clock, *args).await?,
        Command::Admin(AdminCommand::CreateRegistrationToken {
            application,
            description,
            days,
            uses,
            json,
        }) => {
            let new = crate::oidc::dynamic_clients::NewRegistrationToken {
                application,
                description,
                expires_in_days: days,
                uses,
            };
            registration::create_token(config, clock, new, json).await?;
        }
        Command::Admin(AdminCommand::CreateApp {
            name,
            slug,
            rate_limit,
            policy,
            json,
        }) => {
            let state = AppState::build(config, clock).await?;
            let spec = AppSpec {
                name: Some(name),
                slug,
                rate_limit_per_minute: rate_limit,
                policy: (*policy).into(),
                ..AppSpec::default()
            };
            let app = refused_fields(state.apps.create(spec, state.clock.now()).await)?;
            print_app("created", &app, json);
        }
        Command::Admin(AdminCommand::UpdateApp {
            application,
            name,
            rate_limit,
            policy,
            json,
        }) => {
            let state = AppState::build(config, clock).await?;
            let spec = AppSpec {
                name,
                rate_limit_per_minute: rate_limit,
                policy: (*policy).into(),
                ..AppSpec::default()
            };
            let app = refused_fields(state.apps.update(&application, spec, state.clock.now()).await)?;
            print_app("updated", &app, json);
        }
        Command::Admin(AdminCommand::CreateApiKey {
            application,
            name,
            expires_in_days,
            json,
        }) => {
            let state = AppState::build(config, clock).await?;
            let now = state.clock.now();
            let expires_at = expires_in_days.map(|days| now + days * 24 * 3600);
            let created = refused_fields(state.apps.create_api_key(&application, &name, expires_at, now).await)?;
            if json {
                println!("{}", serde_json::json!({ "id": created.info.id, "key": created.key }));
            } else {
                println!(
                    "API key {} for {}: {}\n(the key is shown only this once)",
                    created.info.id, application, created.key
                );
            }
        }
        Command::Admin(AdminCommand::DisableUser { login }) => set_active(config, clock, &login, false).await?,
        Command::Admin(AdminCommand::EnableUser { login }) => set_active(config, clock, &login, true).await?,
    }
    Ok(())
}

async fn set_active(config: Config, clock: Clock, login: &str, active: bool) -> anyhow::Result<()> {
    let state = AppState::build(config, clock).await?;
    let user = state.auth.accounts.set_active(login, active, state.clock.now()).await?;
    let status = if active { "enabled" } else { "disabled" };
    println!("{status} {} <{}>", user.username, user.label());
    Ok(())
}

async fn password_cost(config: &Config) -> anyhow::Result<()> {
    let passwords = crate::auth::Passwords::new(&config.password)?;
    let runs = 10u32;
    let started = std::time::Instant::now();
    for _ in 0..runs {
        passwords.hash("a password of ordinary length").await?;
    }
    let each = started.elapsed() / runs;
    let p = &config.password;
    println!(
        "argon2id m={} KiB, t={}, p={}: {:.1} ms a hash",
        p.argon2_memory_kib,
        p.argon2_iterations,
        p.argon2_parallelism,
        each.as_secs_f64() * 1000.0
    );
    Ok(())
}

fn open(config: &Config) -> anyhow::Result<Database> {
    Ok(Database::connect(
        &config.database.url,
        1,
        std::time::Duration::from_secs(config.database.acquire_timeout_secs),
    )?)
}

async fn list_keys(db: &Database, config: &Config, now: i64) -> anyhow::Result<()> {
    let window = publish_window(config);
    println!("{:<45} {:<6} {:<22} STATUS", "KID", "ALG", "CREATED");
    for row in signing_keys::list(db).await? {
        let status = rotation::KeyStatus::of(&row, window, now).describe();
        println!(
            "{:<45} {:<6} {:<22} {status}",
            row.kid,
            row.algorithm,
            rfc3339(row.created_at)
        );
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}
