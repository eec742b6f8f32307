//! Applications and their API keys: the admin API, the CLI, and what a key decides.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::jwks::decode_segment;
use crate::support::{PASSWORD, TestApp, assert_error};

/// A client that sends `key` (or no key) as `x-api-key`.
pub fn with_key(key: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = key {
        headers.insert("x-api-key", key.parse().unwrap());
    }
    crate::support::http_client().default_headers(headers).build().unwrap()
}

impl TestApp {
    /// Creates an application through the admin API and returns its body.
    pub async fn create_application(&self, body: Value) -> Value {
        let admin = self.admin_login().await;
        let response = self
            .client
            .post(self.url("/api/v1/admin/apps"))
            .bearer_auth(&admin.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// Creates an API key for `app` (id or slug) and returns its body (with `key`).
    pub async fn create_api_key(&self, app: &str, body: Value) -> Value {
        let admin = self.admin_login().await;
        let response = self
            .client
            .post(self.url(&format!("/api/v1/admin/apps/{app}/api-keys")))
            .bearer_auth(&admin.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn every_api_request_needs_a_live_key_in_the_header() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let url = app.url("/api/v1/auth/login");
    let body = json!({"login": "alice", "password": PASSWORD});

    let response = with_key(None).post(&url).json(&body).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "api_key_missing").await;

    let unknown = tessera::tokens::opaque::mint("tsk_").value;
    let mut invalid_bodies = Vec::new();
    for key in ["garbage", unknown.as_str(), "tsr_notakey"] {
        let response = with_key(Some(key)).post(&url).json(&body).send().await.unwrap();
        invalid_bodies.push(assert_error(response, StatusCode::UNAUTHORIZED, "api_key_invalid").await);
    }
    // A-KEY-04: a key anywhere but the header does not count.
    let response = with_key(None)
        .post(&url)
        .header("cookie", format!("x-api-key={}", app.api_key))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "api_key_missing").await;
    let response = with_key(None)
        .post(format!("{url}?api_key={}", app.api_key))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "credentials in the URL are refused"
    );

    // The default key works; revoked and expired keys fail exactly like unknown ones.
    let spare = app.create_api_key("default", json!({"name": "spare"})).await;
    let short = app
        .create_api_key(
            "default",
            json!({"name": "short", "expires_at": tessera::clock::rfc3339(app.clock.now() + 60)}),
        )
        .await;
    for key in [
        &app.api_key,
        spare["key"].as_str().unwrap(),
        short["key"].as_str().unwrap(),
    ] {
        assert_eq!(
            with_key(Some(key))
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    let admin = app.admin_login().await;
    let revoked = app
        .client
        .delete(app.url(&format!(
            "/api/v1/admin/apps/default/api-keys/{}",
            spare["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let response = with_key(spare["key"].as_str())
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap();
    invalid_bodies.push(assert_error(response, StatusCode::UNAUTHORIZED, "api_key_invalid").await);
    app.advance_clock(Duration::from_secs(61));
    let response = with_key(short["key"].as_str())
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap();
    invalid_bodies.push(assert_error(response, StatusCode::UNAUTHORIZED, "api_key_invalid").await);
    assert!(
        invalid_bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "A-KEY-01: identical refusals"
    );
    // The original key still works: keys rotate without downtime.
    assert_eq!(
        with_key(Some(&app.api_key))
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn keys_are_listed_without_their_secret_and_record_their_use() {
    let app = TestApp::spawn().await;
    let created = app.create_api_key("default", json!({"name": "ci"})).await;
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("tsk_") && key.len() >= 47, "256 bits and a checksum");
    assert!(tessera::tokens::opaque::is_well_formed(key, "tsk_"));
    with_key(Some(key)).get(app.url("/api/v1/user")).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let admin = app.admin_login().await;
    let listed: Value = app
        .get_authorized("/api/v1/admin/apps/default/api-keys", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let text = listed.to_string();
    assert!(
        !text.contains(key) && !text.contains(&app.api_key),
        "A-KEY-07: never the key"
    );
    let ci = listed.as_array().unwrap().iter().find(|k| k["name"] == "ci").unwrap();
    assert!(key.starts_with(ci["prefix"].as_str().unwrap()));
    assert!(ci["last_used_at"].is_string(), "{ci}");
}

#[tokio::test]
async fn tokens_belong_to_the_application_of_the_key_that_got_them() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let billing = app
        .create_application(json!({"name": "Billing", "access_token_ttl_secs": 600, "refresh_token_ttl_secs": 3600}))
        .await;
    assert_eq!(billing["slug"], "billing");
    assert_eq!(billing["rate_limit_per_minute"], 1000);
    let key = app.create_api_key("billing", json!({"name": "backend"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let billing_client = with_key(Some(&key));

    let body: Value = billing_client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"login": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], 600, "the application's access-token lifetime");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(decode_segment(access, 1)["app"], billing["id"]);

    let ok = billing_client
        .get(app.url("/api/v1/user"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let response = app.get_authorized("/api/v1/user", access).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_app_mismatch").await;
    let response = app.refresh_raw(body["refresh_token"].as_str().unwrap()).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_app_mismatch").await;

    // The application's refresh lifetime too.
    app.advance_clock(Duration::from_secs(3601));
    let response = billing_client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": body["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
}

#[tokio::test]
async fn administrators_manage_applications() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let created = app
        .create_application(json!({"name": "Mobile App", "rate_limit_per_minute": 120}))
        .await;
    let id = created["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/admin/apps/{id}"));

    let listed: Value = app
        .get_authorized("/api/v1/admin/apps", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let mut slugs: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["default", "mobile-app"]);

    let updated: Value = app
        .client
        .patch(&url)
        .bearer_auth(&admin.access)
        .json(&json!({"rate_limit_per_minute": 30}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["rate_limit_per_minute"], 30);
    assert_eq!(updated["name"], "Mobile App", "other fields are kept");

    let invalid = app
        .client
        .post(app.url("/api/v1/admin/apps"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "", "slug": "Not A Slug", "rate_limit_per_minute": 0, "access_token_ttl_secs": 5}))
        .send()
        .await
        .unwrap();
    let body = assert_error(invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["name", "slug", "rate_limit_per_minute", "access_token_ttl_secs"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let taken = app
        .client
        .post(app.url("/api/v1/admin/apps"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "Other", "slug": "mobile-app"}))
        .send()
        .await
        .unwrap();
    assert_error(taken, StatusCode::CONFLICT, "slug_taken").await;

    let response = app
        .client
        .delete(app.url("/api/v1/admin/apps/default"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let response = app.client.delete(&url).bearer_auth(&admin.access).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .get_authorized(&format!("/api/v1/admin/apps/{id}"), &admin.access)
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    app.signup("alice").await;
    let alice = app.login("alice", PASSWORD).await;
    let response = app.get_authorized("/api/v1/admin/apps", &alice.access).await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
}

#[tokio::test]
async fn clients_belong_to_applications_and_their_tokens_say_so() {
    let app = TestApp::spawn().await;
    let billing = app
        .create_application(json!({"name": "Billing", "access_token_ttl_secs": 300}))
        .await;
    let admin = app.admin_login().await;
    let created: Value = app
        .client
        .post(app.url("/api/v1/admin/clients"))
        .bearer_auth(&admin.access)
        .json(&json!({"application": "billing", "name": "Billing worker", "grant_types": ["client_credentials"], "scopes": ["api:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["application_id"], billing["id"]);
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(
            created["client_id"].as_str().unwrap(),
            created["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["ratelimit-limit"], "1000");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 300);
    assert_eq!(
        decode_segment(body["access_token"].as_str().unwrap(), 1)["app"],
        billing["id"]
    );

    let response = app
        .client
        .post(app.url("/api/v1/admin/clients"))
        .bearer_auth(&admin.access)
        .json(&json!({"application": "nope", "name": "x", "redirect_uris": ["https://x.test/cb"]}))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["application"].is_string());
}

#[tokio::test]
async fn the_cli_creates_applications_and_keys() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(dir.path())
            .env_clear()
            .env("TESSERA_DATABASE__URL", &app.database.url)
            .env("TESSERA_LOG__LEVEL", "warn")
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let created = run(&[
        "admin",
        "create-app",
        "--name",
        "Reports",
        "--rate-limit",
        "42",
        "--pin-format",
        "digits",
        "--json",
    ]);
    assert_eq!(created["slug"], "reports");
    assert_eq!(created["pin_format"], "digits");
    let key = run(&[
        "admin",
        "create-api-key",
        "--app",
        "reports",
        "--name",
        "cron",
        "--expires-in-days",
        "30",
        "--json",
    ]);
    let key = key["key"].as_str().unwrap();
    let response = with_key(Some(key)).get(app.url("/api/v1/user")).send().await.unwrap();
    assert_eq!(
        response.headers()["ratelimit-limit"],
        "42",
        "the key names the new application"
    );
    assert_error(response, StatusCode::UNAUTHORIZED, "token_missing").await;
}
