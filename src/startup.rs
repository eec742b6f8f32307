//! Starting the server: build the services, create the first administrator, keep the keys fresh, and
//! serve HTTP. Tests call [`Application::build_with_listener`] the same way `main` calls
//! [`Application::build`].

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::Clock;
use crate::config::Config;
use crate::http;
use crate::state::{AppState, StartError};
use crate::store;
use crate::store::changes::Change;
use crate::tokens::opaque::random_bytes;

/// A built, bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    /// `/metrics` on its own listener (`metrics.bind`), and the port it took.
    metrics: Option<(Server, u16)>,
    state: web::Data<AppState>,
    first_api_key: Option<String>,
}

impl Application {
    /// Binds `server.bind` and builds everything.
    pub async fn build(config: Config, clock: Clock) -> Result<Self, StartError> {
        let listener = TcpListener::bind(&config.server.bind)
            .map_err(|e| StartError::Other(format!("cannot listen on {}: {e}", config.server.bind)))?;
        Self::build_with_listener(config, clock, listener).await
    }

    /// Builds everything and serves on an already bound listener.
    pub async fn build_with_listener(config: Config, clock: Clock, listener: TcpListener) -> Result<Self, StartError> {
        warn_about_insecure_settings(&config);
        let state = web::Data::new(AppState::build(config, clock).await?);
        let first_api_key = bootstrap(&state).await?;
        spawn_maintenance(state.clone().into_inner());
        listen_for_changes(&state.clone().into_inner())?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError::Other(e.to_string()))?
            .port();
        let server = serve(state.clone(), listener)?;
        tracing::info!(issuer = %state.config.issuer(), port, "Tessera is listening");
        let metrics = match (state.config.metrics.enabled, state.config.metrics.bind_address()) {
            (true, Some(address)) => Some(serve_metrics(state.clone(), address)?),
            _ => None,
        };
        Ok(Self {
            server,
            port,
            metrics,
            state,
            first_api_key,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` listens on alone, when `metrics.bind` names one (useful with port 0).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// The default application's first API key, when this start created it (shown once; tests use it).
    pub fn first_api_key(&self) -> Option<&str> {
        self.first_api_key.as_deref()
    }

    /// The shared state (tests use it to reach the database and keys).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is told to stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.metrics {
            Some((metrics, _)) => futures_util::future::try_join(self.server, metrics).await.map(|_| ()),
            None => self.server.await,
        }
    }
}

fn serve(state: web::Data<AppState>, listener: TcpListener) -> Result<Server, StartError> {
    let https = !state.config.is_plain_http();
    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let server = state.config.server.clone();
    let per_worker = server.max_connections.div_ceil(workers).max(1);
    let metrics = state.config.metrics.enabled;
    // With `metrics.bind`, /metrics is served on that listener only (see `serve_metrics`).
    let metrics_here = metrics && state.config.metrics.bind.is_none();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(http::body::bound_body_reads))
            .wrap(from_fn(http::middleware::refuse_nul_in_url))
            .wrap(http::error_bodies())
            .wrap(http::middleware::security_headers(https))
            .wrap(from_fn(http::middleware::request_context))
            .wrap(Condition::new(metrics, from_fn(http::metrics::record_requests)))
            .configure(|cfg| {
                if metrics_here {
                    http::metrics::routes(cfg);
                }
            })
            .configure(http::routes)
    })
    .workers(workers)
    .max_connections(per_worker)
    .client_request_timeout(Duration::from_secs(server.header_timeout_secs))
    .keep_alive(Duration::from_secs(server.keep_alive_secs))
    .shutdown_timeout(server.shutdown_timeout_secs)
    .listen(listener)
    .map_err(|e| StartError::Other(e.to_string()))?
    .run();
    Ok(server)
}

/// `/metrics` alone on `address`, one worker: kept off the public listener (an internal interface, say).
fn serve_metrics(state: web::Data<AppState>, address: SocketAddr) -> Result<(Server, u16), StartError> {
    let listener = TcpListener::bind(address)
        .map_err(|e| StartError::Other(format!("cannot listen on {address} (metrics.bind): {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| StartError::Other(e.to_string()))?
        .port();
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(http::metrics::routes))
        .workers(1)
        .listen(listener)
        .map_err(|e| StartError::Other(e.to_string()))?
        .run();
    tracing::info!(port, "metrics are served on their own listener");
    Ok((server, port))
}

fn warn_about_insecure_settings(config: &Config) {
    if config.secret_key.is_none() {
        tracing::warn!(
            "TESSERA_SECRET_KEY is not set: signing keys and authenticator seeds are stored unencrypted in the \
             database. Set it (32+ random characters) before running in production."
        );
    }
    if config.sms.provider == crate::config::SmsProvider::Log {
        tracing::warn!("sms.provider is \"log\": text messages, codes included, are written to the log, not sent");
    }
    if config.email.transport == crate::config::EmailTransport::Log {
        tracing::warn!("email.transport is \"log\": e-mails, codes included, are written to the log, not sent");
    }
    if config.is_plain_http() {
        tracing::warn!(
            issuer = %config.issuer(),
            "the issuer is plain http: fine on this machine, but production needs an https issuer"
        );
    }
}

/// On a fresh install: creates the first administrator and the default application with its first API
/// key, and prints them once. Returns the key when it was made.
async fn bootstrap(state: &AppState) -> Result<Option<String>, StartError> {
    let config = &state.config;
    let now = state.clock.now();
    let email = config
        .bootstrap_admin_email
        .clone()
        .unwrap_or_else(|| "admin@localhost".into());
    let (password, generated) = match &config.bootstrap_admin_password {
        Some(password) => (password.expose().to_owned(), false),
        None => (URL_SAFE_NO_PAD.encode(random_bytes::<18>()), true),
    };
    let admin = state.auth.accounts.bootstrap_admin(&email, &password, now).await?;
    let application = state.apps.first_default_key(now).await?;
    // Printed, not logged: this is the one time these secrets are shown, and they must not reach log storage.
    if let Some(admin) = &admin {
        let shown = if generated {
            password.as_str()
        } else {
            "(the value of TESSERA_BOOTSTRAP_ADMIN_PASSWORD)"
        };
        println!(
            "\n  Tessera created the first administrator.\n  login:    {} (or {})\n  password: {shown}",
            admin.username,
            admin.label()
        );
    }
    if let Some((app, key)) = &application {
        println!(
            "\n  Tessera created the application \"{}\" (slug {}).\n  API key (send it as x-api-key): {key}",
            app.name, app.slug
        );
    }
    if admin.is_some() || application.is_some() {
        println!("  These are shown only once.\n");
    }
    Ok(application.map(|(_, key)| key))
}

/// On PostgreSQL, hears the changes other instances announce (applications, API keys, clients, signing keys)
/// and drops the cached copies (or re-reads the keys) at once; stops when the server's state is gone.
fn listen_for_changes(state: &Arc<AppState>) -> Result<(), StartError> {
    if !state.db.is_postgres() {
        return Ok(());
    }
    let heard = Arc::downgrade(state);
    let alive = heard.clone();
    let runtime = tokio::runtime::Handle::current();
    crate::store::changes::listen(
        state.config.database.url.clone(),
        move |change| match heard.upgrade() {
            Some(state) => {
                state.apps.heard(&change);
                state.oidc.clients.heard(&change);
                if change == Change::SigningKeys {
                    runtime.spawn(async move { reload_keys(&state).await });
                }
                true
            }
            None => false,
        },
        move || alive.strong_count() > 0,
    )
    .map_err(|e| StartError::Other(format!("the change listener: {e}")))
}

/// Background upkeep: re-read the signing keys (so a rotation made elsewhere — the CLI, another instance —
/// is seen), delete rows past their retention, send webhooks' deliveries and back-channel logout tokens, and give
/// idle memory back to the system.
fn spawn_maintenance(state: Arc<AppState>) {
    let key_interval = Duration::from_secs(state.config.keys.reload_interval_secs.max(1));
    let keys = state.clone();
    spawn_every(key_interval, move || {
        let state = keys.clone();
        async move {
            rotate_if_due(&state).await;
            reload_keys(&state).await;
        }
    });
    let retention = state.clone();
    spawn_every(Duration::from_secs(state.config.retention.interval_secs), move || {
        let state = retention.clone();
        async move { prune(&state).await }
    });
    if state.config.webhooks.enabled {
        let webhooks = state.clone();
        spawn_every(Duration::from_secs(state.config.webhooks.interval_secs), move || {
            let state = webhooks.clone();
            async move { deliver_webhooks(&state).await }
        });
    }
    if state.config.backchannel_logout.enabled {
        let backchannel = state.clone();
        spawn_every(
            Duration::from_secs(state.config.backchannel_logout.interval_secs),
            move || {
                let state = backchannel.clone();
                async move { deliver_logout_tokens(&state).await }
            },
        );
    }
    spawn_every(Duration::from_secs(5), move || {
        state.auth.credentials.release_idle_memory(Duration::from_secs(10));
        state.apps.limiter().prune(state.clock.now_millis());
        std::future::ready(())
    });
}

/// Sends the webhooks' due deliveries (see `webhooks::Webhooks::deliver_due`).
async fn deliver_webhooks(state: &AppState) {
    match state.webhooks.deliver_due(state.clock.now()).await {
        Ok(run) if run != crate::webhooks::Run::default() => tracing::debug!(?run, "webhook deliveries"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "sending webhook deliveries failed; trying again later"),
    }
}

/// Sends the back-channel logout tokens that are due (see `oidc::backchannel::BackchannelSender::deliver_due`).
async fn deliver_logout_tokens(state: &AppState) {
    match state.backchannel.deliver_due(state.clock.now()).await {
        Ok(run) if run != crate::oidc::backchannel::Run::default() => tracing::debug!(?run, "back-channel logouts"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "sending back-channel logout tokens failed; trying again later"),
    }
}

/// Re-reads the signing keys; on failure the current ones stay.
async fn reload_keys(state: &AppState) {
    if let Err(e) = state.keys.reload(&state.db, state.clock.now()).await {
        tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
    }
}

/// With `keys.rotate_after_days` set, schedules the next signing key once the current one is that old.
pub async fn rotate_if_due(state: &AppState) {
    let days = state.config.keys.rotate_after_days;
    if days == 0 {
        return;
    }
    let policy = crate::state::key_policy(&state.config);
    let max_age = i64::from(days) * 24 * 3600;
    if let Err(e) = crate::tokens::rotation::rotate_if_due(&state.db, policy, max_age, state.clock.now()).await {
        tracing::warn!(error = %e, "scheduled key rotation failed; trying again later");
    }
}

/// Deletes expired and revoked rows older than the retention period, a bounded batch per table.
pub async fn prune(state: &AppState) {
    let retention = &state.config.retention;
    let now = state.clock.now();
    let unused_guests = now - state.config.apps.unused_guest_days * 24 * 3600;
    match store::prune::prune(
        &state.db,
        now,
        now - retention.days * 24 * 3600,
        unused_guests,
        now - retention.audit_days * 24 * 3600,
        retention.batch_size,
    )
    .await
    {
        Ok(0) => {}
        Ok(rows) => tracing::info!(rows, "deleted expired and revoked rows"),
        Err(e) => tracing::warn!(error = %e, "pruning expired rows failed; trying again later"),
    }
}

fn spawn_every<F, Fut>(every: Duration, mut task: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            task().await;
        }
    });
}
