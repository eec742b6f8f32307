//! The `tessera` binary: start-up, configuration errors, the bootstrap administrator, and the
//! administration commands, run as a user would run them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{ADMIN_PASSWORD, PASSWORD, TestApp, assert_error};

/// The binary with a clean environment: its own working directory, the test database, cheap hashing.
pub(crate) fn tessera(dir: &std::path::Path, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TESSERA_DATABASE__URL", database_url)
        .env("TESSERA_PASSWORD__ARGON2_MEMORY_KIB", "64")
        .env("TESSERA_PASSWORD__ARGON2_ITERATIONS", "1")
        .env("TESSERA_LOG__LEVEL", "warn");
    command
}

pub(crate) fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn keys_rotate_and_list() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let before: Value = app
        .client
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let old_kid = before["keys"][0]["kid"].as_str().unwrap().to_owned();

    let rotated = stdout(
        &tessera(dir.path(), &app.database.url)
            .args(["keys", "rotate"])
            .output()
            .unwrap(),
    );
    let new_kid = rotated.lines().next().unwrap().rsplit(' ').next().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);

    let listed = stdout(
        &tessera(dir.path(), &app.database.url)
            .args(["keys", "list"])
            .output()
            .unwrap(),
    );
    let line_of = |kid: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(kid))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line_of(&new_kid).contains("next: published, signs from"), "{listed}");
    assert!(line_of(&old_kid).contains("active until"), "{listed}");
    assert!(rotated.contains("they sign from"), "{rotated}");
    // The CLI runs with the default keys.algorithms: a rotation makes a key of each.
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(rotated.contains(&format!("new {alg} signing key")), "{rotated}");
    }
    let again = tessera(dir.path(), &app.database.url)
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a second rotation waits for the first");
    let new_kids: Vec<&str> = rotated
        .lines()
        .filter_map(|l| l.strip_prefix("new "))
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    assert_eq!(new_kids.len(), 3, "{rotated}");
    let refusal = String::from_utf8_lossy(&again.stderr);
    assert!(new_kids.iter().any(|kid| refusal.contains(kid)), "{refusal}");
    let urgent = stdout(
        &tessera(dir.path(), &app.database.url)
            .args(["keys", "rotate", "--now"])
            .output()
            .unwrap(),
    );
    let urgent_kid = urgent.lines().next().unwrap().rsplit(' ').next().unwrap().to_owned();
    assert!(urgent.contains("they sign now"), "{urgent}");
    let listed = stdout(
        &tessera(dir.path(), &app.database.url)
            .args(["keys", "list"])
            .output()
            .unwrap(),
    );
    let line_of = |kid: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(kid))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line_of(&urgent_kid).ends_with("active"), "{listed}");
    assert!(line_of(&old_kid).contains("retired, published until"), "{listed}");

    app.reload_keys().await;
    let after: Value = app
        .client
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&urgent_kid.as_str()),
        "{kids:?}"
    );
}

#[tokio::test]
async fn admin_commands_create_disable_and_enable_accounts() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = tessera(dir.path(), &app.database.url)
        .args([
            "admin",
            "create-user",
            "--username",
            "carol",
            "--email",
            "carol@example.org",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let created = stdout(&child.wait_with_output().unwrap());
    assert!(created.contains("created carol"), "{created}");
    let tokens = app.login("carol", PASSWORD).await;

    let generated = stdout(
        &tessera(dir.path(), &app.database.url)
            .args([
                "admin",
                "create-user",
                "--username",
                "root2",
                "--email",
                "root2@example.org",
                "--admin",
            ])
            .output()
            .unwrap(),
    );
    let password = generated
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap();
    let root = app.login("root2", password).await;
    let me: Value = app
        .get_authorized("/api/v1/user", &root.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["scopes"], serde_json::json!(["admin"]));

    stdout(
        &tessera(dir.path(), &app.database.url)
            .args(["admin", "disable-user", "carol"])
            .output()
            .unwrap(),
    );
    let response = app.get_authorized("/api/v1/user", &tokens.access).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_revoked").await;
    assert_error(
        app.login_raw("carol", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;

    stdout(
        &tessera(dir.path(), &app.database.url)
            .args(["admin", "enable-user", "carol@example.org"])
            .output()
            .unwrap(),
    );
    app.login("carol", PASSWORD).await;
}

#[tokio::test]
async fn create_client_takes_an_auth_method_and_a_resource_server_flag() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let create = |args: &[&str]| {
        let mut command = tessera(dir.path(), &app.database.url);
        command.args(["admin", "create-client", "--json"]).args(args);
        command.output().unwrap()
    };
    let posting: Value = serde_json::from_str(&stdout(&create(&[
        "--name",
        "Posting",
        "--grant-type",
        "client_credentials",
        "--auth-method",
        "client_secret_post",
    ])))
    .unwrap();
    let native: Value = serde_json::from_str(&stdout(&create(&[
        "--name",
        "Native",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--auth-method",
        "none",
    ])))
    .unwrap();
    assert!(
        native["client_secret"].is_null(),
        "a public client has no secret: {native}"
    );
    let gateway: Value = serde_json::from_str(&stdout(&create(&["--name", "Gateway", "--resource-server"]))).unwrap();
    let refused = create(&[
        "--name",
        "Odd",
        "--grant-type",
        "client_credentials",
        "--auth-method",
        "magic",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("token_endpoint_auth_method"));

    let admin = app.admin_login().await;
    for (created, method) in [(&posting, "client_secret_post"), (&native, "none")] {
        let id = created["client_id"].as_str().unwrap();
        let shown: Value = app
            .get_authorized(&format!("/api/v1/admin/clients/{id}"), &admin.access)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shown["token_endpoint_auth_method"], method, "{shown}");
        assert_eq!(shown["resource_server"], false);
    }
    let id = gateway["client_id"].as_str().unwrap();
    let shown: Value = app
        .get_authorized(&format!("/api/v1/admin/clients/{id}"), &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["resource_server"], true, "{shown}");
    assert_eq!(
        shown["grant_types"],
        serde_json::json!([]),
        "a gateway only introspects"
    );
    // Registered for the body, the secret still works in the Authorization header.
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(
            posting["client_id"].as_str().unwrap(),
            posting["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn malformed_configuration_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    for (key, value, named) in [
        ("TESSERA_SERVER__BIND", "nonsense", "server.bind"),
        ("TESSERA_DATABASE__URL", "mysql://localhost/x", "database.url"),
        ("TESSERA_SERVER__ISSUER", "https://id.example.test/", "server.issuer"),
        (
            "TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS",
            "an hour",
            "tokens.access_token_ttl_secs",
        ),
        ("TESSERA_SECRET_KEY", "too-short", "TESSERA_SECRET_KEY"),
    ] {
        let output = tessera(dir.path(), &url)
            .env(key, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{key}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        assert!(stderr.contains(&named.to_lowercase()), "{key}: {stderr}");
    }
}

#[test]
fn migrate_prepares_a_fresh_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/fresh.db", dir.path().display());
    let first = stdout(&tessera(dir.path(), &url).arg("migrate").output().unwrap());
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert!(
        first.starts_with(&format!("{migrations} migration(s) applied")),
        "{first}"
    );
    let again = stdout(&tessera(dir.path(), &url).arg("migrate").output().unwrap());
    assert!(again.starts_with("0 migration(s) applied"), "{again}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/fresh.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the database file holds keys and must be private");
    }
}

/// Starts `tessera` on an ephemeral port, waits for its "listening" log line, stops it, and returns what
/// it printed (standard output) and logged (standard error).
fn start_and_capture(command: &mut Command) -> String {
    let mut child = command
        .env("TESSERA_SERVER__BIND", "127.0.0.1:0")
        .env("TESSERA_LOG__LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("Tessera is listening") || Instant::now() > deadline {
            break;
        }
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    seen.push_str(&String::from_utf8_lossy(&output.stdout));
    seen
}

#[test]
fn first_start_creates_and_prints_the_administrator_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let first = start_and_capture(&mut tessera(dir.path(), &url));
    assert!(first.contains("Tessera created the first administrator"), "{first}");
    let password = first
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap()
        .to_owned();
    assert!(password.len() >= 20, "a random password: {password}");
    assert!(
        first.contains("TESSERA_SECRET_KEY is not set"),
        "warns about unencrypted keys"
    );

    let second = start_and_capture(&mut tessera(dir.path(), &url));
    assert!(!second.contains("first administrator"), "{second}");
    assert!(!second.contains(&password));
}

#[test]
fn the_bootstrap_administrator_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let output = start_and_capture(
        tessera(dir.path(), &url)
            .env("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "ops@example.org")
            .env("TESSERA_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TESSERA_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
    );
    assert!(output.contains("ops@example.org"), "{output}");
    assert!(!output.contains(ADMIN_PASSWORD), "a configured password is not echoed");
    assert!(!output.contains("TESSERA_SECRET_KEY is not set"));
}

/// The binary serving on an ephemeral port, with everything it prints collected.
struct Served {
    base: String,
    api_key: String,
    printed: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    server: Option<KillOnDrop>,
}

impl Served {
    /// Starts `command` (on a fresh database, so the default application's key is printed, and logging at
    /// `info` or finer, so "listening" is) and waits until it listens.
    async fn start(command: &mut Command) -> Self {
        let mut child = command
            .env("TESSERA_SERVER__BIND", "127.0.0.1:0")
            .env("TESSERA_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let printed = Arc::new(Mutex::new(String::new()));
        let readers: Vec<_> = [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ]
        .into_iter()
        .map(|stream| {
            let printed = printed.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut all = printed.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            })
        })
        .collect();
        // Stopped however the test ends, so a failure leaves no server behind.
        let server = KillOnDrop(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let (port, api_key) = loop {
            let seen = printed.lock().unwrap().clone();
            let port = seen
                .lines()
                .find(|l| l.contains("Tessera is listening"))
                .and_then(|l| l.split("port=").nth(1))
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next().map(str::to_owned));
            let key = seen
                .lines()
                .find_map(|l| l.split("x-api-key): ").nth(1).map(str::to_owned));
            if let (Some(port), Some(key)) = (port, key) {
                break (port, key);
            }
            assert!(Instant::now() < deadline, "the server did not start: {seen}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Self {
            base: format!("http://127.0.0.1:{port}"),
            api_key,
            printed,
            readers,
            server: Some(server),
        }
    }

    /// A request to `path` with the API key.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", &self.api_key)
    }

    /// The server's `host:port`.
    fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Sends the server `SIGTERM` and waits (bounded) for it to exit; returns its exit status and what it
    /// printed.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let mut server = self.server.take().unwrap();
        let pid = server.0.id().to_string();
        let signalled = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(signalled.success());
        let (exited, exit) = std::sync::mpsc::channel();
        std::thread::spawn(move || exited.send(server.0.wait()));
        let Ok(status) = exit.recv_timeout(Duration::from_secs(30)) else {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("the server did not stop after SIGTERM");
        };
        let status = status.unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        (status, self.printed.lock().unwrap().clone())
    }

    /// Stops the server and returns everything it printed.
    fn stop(mut self) -> String {
        drop(self.server.take());
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        self.printed.lock().unwrap().clone()
    }
}

/// Runs the server with debug logging, makes and uses a private token, and searches everything the process
/// printed for the token.
#[tokio::test]
async fn a_private_token_never_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let served = Served::start(tessera(dir.path(), &url).env("TESSERA_LOG__LEVEL", "debug")).await;
    let session: Value = served
        .request(reqwest::Method::POST, "/api/v1/auth/login")
        .json(&serde_json::json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let in_thirty_days = tessera::clock::rfc3339(tessera::clock::Clock::system().now() + 30 * 24 * 3600);
    let created: Value = served
        .request(reqwest::Method::POST, "/api/v1/tokens")
        .bearer_auth(session["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"description": "log check", "expires_at": in_thirty_days}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().expect("a token").to_owned();
    for path in ["/api/v1/user", "/api/v1/admin/apps"] {
        let response = served
            .request(reqwest::Method::GET, path)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(response.status() == StatusCode::OK || response.status() == StatusCode::FORBIDDEN);
    }
    let exchanged = served
        .request(reqwest::Method::POST, "/api/v1/auth/login")
        .json(&serde_json::json!({"application_token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(exchanged.status(), StatusCode::OK);
    let garbled = format!("{token}x");
    served
        .request(reqwest::Method::GET, "/api/v1/user")
        .bearer_auth(&garbled)
        .send()
        .await
        .unwrap();

    let printed = served.stop();
    assert!(
        printed.contains("private token created"),
        "debug logging was on: {printed}"
    );
    assert!(!printed.contains(&token[12..]), "the token was logged:\n{printed}");
}

/// Settings read from the environment keep their text: a Twilio sender number with its `+`, given as
/// operators give it, reaches Twilio unchanged; `API_USER_CREATE_SCOPE` closes signup as it does elsewhere.
#[tokio::test]
async fn environment_settings_reach_the_running_server_as_written() {
    let twilio = crate::standins::Twilio::start();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let served = Served::start(
        tessera(dir.path(), &url)
            .env("TESSERA_SMS__PROVIDER", "twilio")
            .env("TESSERA_SMS__ACCOUNT_SID", "AC0123")
            .env("TESSERA_SMS__AUTH_TOKEN", "0123456789")
            .env("TESSERA_SMS__FROM_NUMBER", "+15005550006")
            .env("TESSERA_SMS__BASE_URL", &twilio.base_url)
            .env("API_USER_CREATE_SCOPE", "admin")
            .env("TESSERA_LOG__LEVEL", "info"),
    )
    .await;
    let signup = served
        .request(reqwest::Method::POST, "/api/v1/users")
        .json(&serde_json::json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_error(signup, StatusCode::FORBIDDEN, "signup_closed").await;

    let session: Value = served
        .request(reqwest::Method::POST, "/api/v1/auth/login")
        .json(&serde_json::json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let phone = served
        .request(reqwest::Method::POST, "/api/v1/user/phone")
        .bearer_auth(session["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"phone": "+14155552671"}))
        .send()
        .await
        .unwrap();
    assert_eq!(phone.status(), StatusCode::ACCEPTED);
    let sent = twilio.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].from.as_deref(), Some("+15005550006"));
    assert_eq!(sent[0].account, "AC0123");
    served.stop();
}

/// A child process killed (and reaped) when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads one HTTP/1.1 response (head and `Content-Length` body) from `stream`.
async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).await.unwrap(),
            1,
            "the connection closed mid-head"
        );
        seen.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&seen).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head + &String::from_utf8_lossy(&body)
}

/// What a client sends that is not HTTP is answered 400 and logged at debug level only (no one can fill the
/// log with errors from outside); on SIGTERM a request already on a kept-alive connection is answered before
/// the server exits.
#[tokio::test]
async fn garbage_is_no_error_and_sigterm_finishes_what_arrived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let served = Served::start(
        tessera(dir.path(), &url)
            .env("TESSERA_LOG__LEVEL", "debug")
            // A sign-in that takes a while, to be in flight when the signal comes.
            .env("TESSERA_PASSWORD__ARGON2_MEMORY_KIB", "65536")
            .env("TESSERA_PASSWORD__ARGON2_ITERATIONS", "4"),
    )
    .await;

    for garbage in [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(served.authority()).await.unwrap();
        stream.write_all(garbage.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }

    let mut stream = tokio::net::TcpStream::connect(served.authority()).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let body = serde_json::json!({"login": "admin", "password": "not the password"}).to_string();
    let request = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nx-api-key: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        served.api_key,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let terminated = tokio::task::spawn_blocking(move || served.terminate());
    let answer = read_response(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the request in flight was answered: {answer}"
    );
    assert!(answer.contains("invalid_credentials"), "{answer}");
    let (status, printed) = terminated.await.unwrap();
    assert!(status.success(), "a clean exit: {status}\n{printed}");
    assert!(
        !printed.contains("ERROR"),
        "nothing from outside is an error:\n{printed}"
    );
    assert!(
        printed.contains("a client connection was dropped"),
        "at debug level:\n{printed}"
    );
}
