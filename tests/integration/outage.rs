//! The database goes away: every front door answers 503 in its own shape (REST `storage_unavailable`, OAuth
//! `temporarily_unavailable`, an HTML page), with `Retry-After`, and Tessera serves again by itself once the
//! database is back. PostgreSQL is cut off through a TCP proxy the test controls; SQLite's write lock is held
//! by another connection.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::{Connection, RunQueryDsl, SqliteConnection};
use reqwest::{Response, StatusCode};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::oidc_support::{Browser, assert_oauth_error, query_param};
use crate::support::{PASSWORD, TestApp, assert_error};

/// A TCP proxy on loopback that forwards to `target` until it is cut.
struct TcpProxy {
    addr: SocketAddr,
    cut: Arc<Mutex<bool>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl TcpProxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(Mutex::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_cut, all_links) = (cut.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *is_cut.lock().unwrap() {
                    continue; // dropped at once: the database "refuses"
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                all_links.lock().unwrap().push(link);
            }
        });
        Self {
            addr,
            cut,
            links,
            _accept: accept,
        }
    }

    /// Closes every open connection and refuses new ones.
    fn cut(&self) {
        *self.cut.lock().unwrap() = true;
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        *self.cut.lock().unwrap() = false;
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_host(Some(&addr.ip().to_string())).unwrap();
    url.set_port(Some(addr.port())).unwrap();
    url.to_string()
}

fn assert_retry_after(response: &Response) {
    let seconds: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(seconds >= 1, "Retry-After: {seconds}");
}

async fn assert_rest_unavailable(response: Response) {
    assert_retry_after(&response);
    let body = assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable").await;
    let text = body.to_string().to_lowercase();
    for leak in ["diesel", "sqlite", "postgres", "connection refused", "locked"] {
        assert!(!text.contains(leak), "{text}");
    }
}

async fn assert_oauth_unavailable(response: Response) {
    assert_retry_after(&response);
    assert_oauth_error(response, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable").await;
}

async fn assert_page_unavailable(response: Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_retry_after(&response);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("Temporarily unavailable"), "{html}");
}

/// Retries `attempt` (a request that must succeed once the database is back) for a bounded while.
async fn eventually_ok<F, Fut>(mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    for _ in 0..50 {
        if attempt().await.status().is_success() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Tessera did not recover after the database came back");
}

#[tokio::test]
async fn an_unreachable_postgresql_is_a_503_everywhere_and_tessera_recovers() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        return; // the SQLite run has its own outage test below
    };
    let target = {
        let url = url::Url::parse(&admin_url).unwrap();
        let host = url.host_str().unwrap().to_owned();
        tokio::net::lookup_host((host, url.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    let proxy = TcpProxy::start(target).await;
    let proxy_addr = proxy.addr;
    let app = TestApp::spawn_with(move |config| {
        config.database.url = through(&config.database.url, proxy_addr);
        config.database.acquire_timeout_secs = 2;
        config.apps.cache_ttl_secs = 0;
    })
    .await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let client = app.c1().await;
    let browser: Browser = app.browser();
    browser.sign_in(&alice).await;

    proxy.cut();
    assert_rest_unavailable(app.get_authorized("/api/v1/user", &session.access).await).await;
    assert_rest_unavailable(app.login_raw("alice", PASSWORD).await).await;
    assert_oauth_unavailable(
        app.client_post("/oauth2/introspect", &client, &[("token", &session.refresh)])
            .await,
    )
    .await;
    assert_page_unavailable(browser.get("/account").await).await;
    let ready = app.client.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    // What needs no database goes on.
    let jwks = app.client.get(app.url("/oauth2/jwks")).send().await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);

    proxy.restore();
    eventually_ok(|| app.get_authorized("/api/v1/user", &session.access)).await;
    app.login("alice", PASSWORD).await;
    let account = browser.get("/account").await;
    assert_eq!(account.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_is_a_503_not_a_500() {
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        return;
    }
    let app = TestApp::spawn_with(|config| config.database.acquire_timeout_secs = 1).await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let client = app.first_party().await;
    let browser = app.browser();
    let callback = browser.authorize_through(&client, &[], &alice).await;
    let code = query_param(&callback, "code").unwrap();

    // Another process takes the write lock and keeps it.
    let path = app.database.url.strip_prefix("sqlite://").unwrap().to_owned();
    let mut holder = SqliteConnection::establish(&path).unwrap();
    diesel::sql_query("BEGIN EXCLUSIVE").execute(&mut holder).unwrap();

    assert_rest_unavailable(app.login_raw("alice", PASSWORD).await).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
    ];
    assert_oauth_unavailable(app.token(&client, &exchange).await).await;
    let browser = app.browser();
    let (csrf, _) = browser.form_fields("/login").await;
    let form = [
        ("csrf", csrf.as_str()),
        ("login", alice.username.as_str()),
        ("password", PASSWORD),
    ];
    let response = browser
        .client
        .post(browser.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_page_unavailable(response).await;
    // Reads go on beside the held lock.
    let me = app.get_authorized("/api/v1/user", &session.access).await;
    assert_eq!(me.status(), StatusCode::OK);

    diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
    drop(holder);
    app.login("alice", PASSWORD).await;
    let refreshed = app.refresh_raw(&session.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK, "nothing stored was lost");
}
