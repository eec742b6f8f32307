//! `/metrics`: off unless enabled; once on, requests by route pattern, sign-ins, tokens, rate-limit refusals and
//! the gauges read at scrape time; its own listener with `metrics.bind`; and the request's application and
//! account in the JSON log lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp};

async fn metrics_app() -> TestApp {
    TestApp::spawn_with(|config| config.metrics.enabled = true).await
}

/// The text at `{base}/metrics`, checked to be OpenMetrics.
async fn scrape(base: &str) -> String {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    text
}

/// The value of the sample `series` (name and labels exactly as printed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

fn assert_counted(text: &str, series: &str) {
    let value = sample(text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert!(value >= 1.0, "{series} is {value}");
}

#[tokio::test]
async fn metrics_are_not_found_unless_enabled() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn requests_are_counted_by_route_pattern_with_sign_ins_and_tokens() {
    let app = metrics_app().await;
    let user = app.signup("alice").await;
    app.login("alice", PASSWORD).await;
    assert_eq!(
        app.login_raw("alice", "not the password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let admin = app.admin_login().await;
    let path = format!("/api/v1/admin/users/{}", user.id);
    assert_eq!(app.get_authorized(&path, &admin.access).await.status(), StatusCode::OK);
    let service = app.service_client().await;
    app.client_credentials_token(&service).await;
    let unknown = app.client.get(app.url("/no/such/page/12345")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let text = scrape(&app.address).await;
    for series in [
        r#"tessera_http_requests_total{route="/api/v1/auth/login",method="POST",status="200"}"#,
        r#"tessera_http_requests_total{route="/api/v1/auth/login",method="POST",status="401"}"#,
        r#"tessera_http_requests_total{route="/api/v1/admin/users/{id}",method="GET",status="200"}"#,
        r#"tessera_http_requests_total{route="/oauth2/token",method="POST",status="200"}"#,
        r#"tessera_http_requests_total{route="unmatched",method="GET",status="404"}"#,
        r#"tessera_http_request_duration_seconds_count{route="/api/v1/admin/users/{id}",method="GET"}"#,
        r#"tessera_sign_ins_total{method="password",result="succeeded"}"#,
        r#"tessera_sign_ins_total{method="password",result="failed"}"#,
        r#"tessera_tokens_issued_total{grant="sign_in"}"#,
        r#"tessera_tokens_issued_total{grant="client_credentials"}"#,
    ] {
        assert_counted(&text, series);
    }
    assert!(!text.contains(&user.id), "no path, and so no id, becomes a label");
    assert!(!text.contains("12345"), "no unmatched path becomes a label");
    // Read at scrape time.
    assert!(sample(&text, "tessera_signing_key_age_seconds").is_some(), "{text}");
    assert!(sample(&text, "tessera_password_hash_queue_depth").is_some(), "{text}");
    assert!(sample(&text, "tessera_password_hash_in_progress").is_some(), "{text}");
    let idle = sample(&text, r#"tessera_db_pool_connections{state="idle"}"#).unwrap();
    let in_use = sample(&text, r#"tessera_db_pool_connections{state="in_use"}"#).unwrap();
    assert!(idle + in_use >= 1.0, "the pool has opened a connection: {text}");
}

#[tokio::test]
async fn the_signing_key_age_follows_the_clock() {
    let app = metrics_app().await;
    let before = sample(&scrape(&app.address).await, "tessera_signing_key_age_seconds").unwrap();
    app.advance_clock(std::time::Duration::from_secs(3600));
    let after = sample(&scrape(&app.address).await, "tessera_signing_key_age_seconds").unwrap();
    assert_eq!(after - before, 3600.0);
}

#[tokio::test]
async fn a_spent_budget_is_counted_as_a_rejection() {
    let app = metrics_app().await;
    app.create_application(json!({"name": "small", "slug": "small", "rate_limit_per_minute": 2}))
        .await;
    let key = app.create_api_key("small", json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = client
            .get(app.url("/api/v1/user"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");

    let text = scrape(&app.address).await;
    assert_eq!(
        sample(&text, r#"tessera_rate_limit_rejections_total{limit="application"}"#),
        Some(1.0),
        "{text}"
    );
    assert_counted(
        &text,
        r#"tessera_http_requests_total{route="/api/v1/user",method="GET",status="429"}"#,
    );
}

#[tokio::test]
async fn a_separate_bind_serves_metrics_there_only() {
    let app = TestApp::spawn_with(|config| {
        config.metrics.enabled = true;
        config.metrics.bind = Some("127.0.0.1:0".into());
    })
    .await;
    let metrics_address = app.metrics_address.clone().expect("a metrics listener");
    assert_ne!(metrics_address, app.address);
    app.admin_login().await;

    let text = scrape(&metrics_address).await;
    assert_counted(&text, r#"tessera_sign_ins_total{method="password",result="succeeded"}"#);
    let main_port = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(main_port.status(), StatusCode::NOT_FOUND);
}

/// A log destination the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn json_log_lines_name_the_application_and_the_account() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter("tessera=debug")
        .with_writer(move || writer.clone())
        .finish();
    // Each test runs in a process of its own under nextest; under `cargo test` another test may have set it first.
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        return;
    }
    let app = TestApp::spawn().await;
    let tokens = app.admin_login().await;
    let response = app.get_authorized("/api/v1/user", &tokens.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    let user_id = me["id"].as_str().or(me["user"]["id"].as_str()).unwrap().to_owned();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let served = logs
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|line| line["span"]["path"] == "/api/v1/user" && line["span"]["user"].is_string())
        .unwrap_or_else(|| panic!("no line of GET /api/v1/user names its account in\n{logs}"));
    assert_eq!(served["span"]["user"], user_id.as_str());
    assert!(
        served["span"]["app"].as_str().is_some_and(|app| !app.is_empty()),
        "{served}"
    );
    assert!(
        served["span"]["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{served}"
    );
}
