//! `TestApp`: a real server on an ephemeral port with its own database, a hand-moved clock, and helpers
//! that read like the API's own steps.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::web;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tessera::clock::Clock;
use tessera::config::{Config, Secret};
use tessera::startup::Application;
use tessera::state::AppState;
use tessera::store::Database;
use tessera::tokens::keys::KeyMaterial;
use tessera::tokens::rotation;

/// Password of the administrator every test app starts with.
pub const ADMIN_PASSWORD: &str = "bootstrap admin passphrase";
/// Password `signup` gives accounts unless told otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running Tessera for one test.
pub struct TestApp {
    pub address: String,
    /// Sends the default application's API key with every request.
    pub client: Client,
    /// The default application's first API key.
    pub api_key: String,
    pub clock: Clock,
    pub state: web::Data<AppState>,
    pub database: TestDatabase,
    /// `http://127.0.0.1:<port>` of `/metrics`' own listener, when `metrics.bind` is set.
    pub metrics_address: Option<String>,
}

/// A registered account and its password.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password: String,
}

/// The tokens of a login.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose test configuration `customize` may change first.
    pub async fn spawn_with(customize: impl FnOnce(&mut Config)) -> Self {
        let database = TestDatabase::create();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = listener.local_addr().unwrap().port();
        let mut config = test_config(&database.url);
        config.server.issuer = format!("http://127.0.0.1:{port}");
        customize(&mut config);
        config.validate().expect("valid test configuration");

        let clock = Clock::manual();
        seed_signing_key(&config, &clock).await;
        let app = Application::build_with_listener(config, clock.clone(), listener)
            .await
            .expect("the server starts");
        let state = app.state();
        let api_key = app
            .first_api_key()
            .expect("a fresh install makes the default application's key")
            .to_owned();
        let metrics_address = app.metrics_port().map(|port| format!("http://127.0.0.1:{port}"));
        tokio::spawn(app.run_until_stopped());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-api-key", api_key.parse().unwrap());
        let client = http_client()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .unwrap();
        Self {
            address: format!("http://127.0.0.1:{port}"),
            client,
            api_key,
            clock,
            state,
            database,
            metrics_address,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Moves the server's clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    pub async fn get_authorized(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// `POST /api/v1/users` without a token.
    pub async fn signup_raw(&self, username: &str, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/users",
            &json!({ "username": username, "email": email, "password": password }),
        )
        .await
    }

    /// Signs up `username` (e-mail `username@example.org`) and returns the account.
    pub async fn signup(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.org");
        let response = self.signup_raw(username, &email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED, "signup of {username}");
        let body: Value = response.json().await.unwrap();
        TestUser {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            username: username.to_owned(),
            email,
            password: PASSWORD.to_owned(),
        }
    }

    pub async fn login_raw(&self, login: &str, password: &str) -> Response {
        self.post_json("/api/v1/auth/login", &json!({ "login": login, "password": password }))
            .await
    }

    /// Logs in and returns the token pair, asserting success.
    pub async fn login(&self, login: &str, password: &str) -> Tokens {
        let response = self.login_raw(login, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login as {login}");
        tokens_of(&response.json().await.unwrap())
    }

    /// Logs in as the bootstrap administrator.
    pub async fn admin_login(&self) -> Tokens {
        self.login("admin", ADMIN_PASSWORD).await
    }

    pub async fn refresh_raw(&self, refresh_token: &str) -> Response {
        self.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    /// Starts a second server on this one's database and clock, as another instance behind a load balancer
    /// would run; `customize` may change its configuration.
    pub async fn spawn_sibling(&self, customize: impl FnOnce(&mut Config)) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = listener.local_addr().unwrap().port();
        let mut config = test_config(&self.database.url);
        config.server.issuer = self.state.config.issuer().to_owned();
        customize(&mut config);
        config.validate().expect("valid test configuration");
        let app = Application::build_with_listener(config, self.clock.clone(), listener)
            .await
            .expect("the second server starts");
        let state = app.state();
        let metrics_address = app.metrics_port().map(|port| format!("http://127.0.0.1:{port}"));
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: self.client.clone(),
            api_key: self.api_key.clone(),
            clock: self.clock.clone(),
            state,
            database: TestDatabase::borrowed(&self.database.url),
            metrics_address,
        }
    }

    /// Makes the server re-read its signing keys now instead of at the next interval.
    pub async fn reload_keys(&self) {
        self.state.keys.reload(&self.state.db, self.clock.now()).await.unwrap();
    }
}

/// The token pair in a login or refresh body.
pub fn tokens_of(body: &Value) -> Tokens {
    Tokens {
        access: body["access_token"].as_str().expect("access_token").to_owned(),
        refresh: body["refresh_token"].as_str().expect("refresh_token").to_owned(),
    }
}

/// Asserts the REST error shape and returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status for {code}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    body
}

/// Test configuration: cheap argon2, one worker, a known administrator password.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".into();
    config.server.workers = 1;
    config.database.url = database_url.into();
    config.database.max_connections = 4;
    config.password.argon2_memory_kib = 64;
    config.password.argon2_iterations = 1;
    config.bootstrap_admin_password = Some(Secret::new(ADMIN_PASSWORD));
    // One key (the shared RSA test key) unless a test asks for the other algorithms: the JWKS and rotation
    // tests count keys.
    config.keys.algorithms = vec![tessera::tokens::keys::SigningAlg::Rs256];
    config
}

/// One RSA key per build directory, generated once: key generation is too slow to repeat per test.
pub fn test_key() -> KeyMaterial {
    static DER: OnceLock<Vec<u8>> = OnceLock::new();
    let der = DER.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tessera-test-signing-key.der");
        if let Ok(der) = std::fs::read(&path) {
            return der;
        }
        let der = KeyMaterial::generate(2048).unwrap().pkcs8().to_vec();
        let scratch = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&scratch, &der).unwrap();
        std::fs::rename(&scratch, &path).unwrap();
        der
    });
    KeyMaterial::from_pkcs8(der.clone()).unwrap()
}

async fn seed_signing_key(config: &Config, clock: &Clock) {
    let db = Database::connect(&config.database.url, 1, Duration::from_secs(5)).unwrap();
    db.migrate().await.unwrap();
    rotation::import(&db, &test_key(), config.secret_key.as_ref(), clock.now())
        .await
        .unwrap();
}

/// A database of its own: a SQLite file in a temporary directory, or a new PostgreSQL database when
/// `TEST_DATABASE_URL` names a server (dropped again at the end).
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let admin_url = without_tls(&admin_url);
                let name = format!("test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                let url = with_database(&admin_url, &name);
                Self {
                    url,
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
        }
    }
}

impl TestDatabase {
    /// The database of another test app: used, never dropped, by this one.
    fn borrowed(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            _dir: None,
            postgres: None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
        }
    }
}

/// `url`, asking for a connection without TLS unless it says otherwise. The test database is on loopback, and a
/// test process exits while its server's threads still hold connections: OpenSSL's exit-time cleanup under a
/// live TLS connection of libpq has aborted a finished test run ("double free or corruption").
fn without_tls(url: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    if !parsed.query_pairs().any(|(name, _)| name == "sslmode") {
        parsed.query_pairs_mut().append_pair("sslmode", "disable");
    }
    parsed.to_string()
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A reqwest builder for talking to a test server. The server closes a connection after `keep_alive_secs` (5 s)
/// of silence; a client keeping it longer may send its next request down a socket being closed and get
/// `IncompleteMessage`, so idle connections are dropped well before the server would drop them.
pub fn http_client() -> reqwest::ClientBuilder {
    Client::builder().pool_idle_timeout(std::time::Duration::from_secs(2))
}
