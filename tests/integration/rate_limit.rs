//! Checklist 3.10: token-bucket budgets per application, with the injected clock.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_error};

fn header(response: &reqwest::Response, name: &str) -> u64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

/// An application with `per_minute` requests a minute, and a client sending its key.
async fn budgeted(app: &TestApp, slug: &str, per_minute: u32) -> reqwest::Client {
    app.create_application(json!({"name": slug, "slug": slug, "rate_limit_per_minute": per_minute}))
        .await;
    let key = app.create_api_key(slug, json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", key.parse().unwrap());
    crate::support::http_client().default_headers(headers).build().unwrap()
}

#[tokio::test]
async fn a_rl_01_the_bucket_spends_refills_and_caps() {
    let app = TestApp::spawn().await;
    let client = budgeted(&app, "sixty", 60).await;
    let url = app.url("/health/live").replace("/health/live", "/api/v1/user");
    for i in 0..60 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "request {i} passes the limiter"
        );
        assert_eq!(header(&response, "ratelimit-limit"), 60);
        assert_eq!(header(&response, "ratelimit-remaining"), 59 - i);
    }
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(header(&refused, "retry-after"), 1, "one token a second at 60 a minute");
    assert_eq!(header(&refused, "ratelimit-remaining"), 0);
    assert_eq!(header(&refused, "ratelimit-reset"), 60);
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    app.advance_clock(Duration::from_secs(1));
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "exactly one more"
    );
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Unused tokens carry over up to the allocation, not beyond.
    app.advance_clock(Duration::from_secs(3600));
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(header(&response, "ratelimit-remaining"), 59);
}

#[tokio::test]
async fn a_rl_02_applications_do_not_share_budgets() {
    let app = TestApp::spawn().await;
    let small = budgeted(&app, "small", 2).await;
    let url = app.url("/api/v1/user");
    for _ in 0..2 {
        small.get(&url).send().await.unwrap();
    }
    assert_eq!(
        small.get(&url).send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the default application is unaffected"
    );
    assert_eq!(header(&response, "ratelimit-limit"), 1000);
}

#[tokio::test]
async fn a_rl_03_bad_keys_spend_a_budget_of_their_own_per_address() {
    let app = TestApp::spawn_with(|config| config.apps.invalid_key_limit_per_minute = 5).await;
    let small = budgeted(&app, "small", 3).await;
    let plain = reqwest::Client::new();
    let url = app.url("/api/v1/user");
    for _ in 0..5 {
        let response = plain.get(&url).header("x-api-key", "tsk_forged").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = plain.get(&url).header("x-api-key", "tsk_forged").send().await.unwrap();
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // A-KEY-08: that address is refused outright for a while …
    assert_eq!(
        small.get(&url).send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // … but nothing came out of the named application's budget.
    app.advance_clock(Duration::from_secs(60));
    let response = small.get(&url).send().await.unwrap();
    assert_eq!(header(&response, "ratelimit-remaining"), 2);
}

#[tokio::test]
async fn a_rl_04_two_thousand_concurrent_requests_against_a_thousand_let_a_thousand_through() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/user");
    let statuses: Vec<StatusCode> = join_all((0..2000).map(|_| app.client.get(&url).send()))
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    let passed = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((passed, refused), (1000, 1000), "the clock stands still: no refill");
}

#[tokio::test]
async fn an_allocation_change_applies_to_the_next_request() {
    let app = TestApp::spawn().await;
    let client = budgeted(&app, "tunable", 1000).await;
    let url = app.url("/api/v1/user");
    assert_eq!(
        header(&client.get(&url).send().await.unwrap(), "ratelimit-remaining"),
        999
    );
    let admin = app.admin_login().await;
    let response = app
        .client
        .patch(app.url("/api/v1/admin/apps/tunable"))
        .bearer_auth(&admin.access)
        .json(&json!({"rate_limit_per_minute": 3}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["rate_limit_per_minute"], 3);
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(header(&response, "ratelimit-limit"), 3);
    assert_eq!(header(&response, "ratelimit-remaining"), 2);
}

#[tokio::test]
async fn token_requests_of_an_applications_clients_spend_its_budget() {
    let app = TestApp::spawn().await;
    app.create_application(json!({"name": "Jobs", "slug": "jobs", "rate_limit_per_minute": 2}))
        .await;
    let admin = app.admin_login().await;
    let created: Value = app
        .client
        .post(app.url("/api/v1/admin/clients"))
        .bearer_auth(&admin.access)
        .json(&json!({"application": "jobs", "name": "cron", "grant_types": ["client_credentials"], "scopes": ["x"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request = || {
        app.client
            .post(app.url("/oauth2/token"))
            .basic_auth(
                created["client_id"].as_str().unwrap(),
                created["client_secret"].as_str(),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    assert_eq!(request().await.unwrap().status(), StatusCode::OK);
    assert_eq!(request().await.unwrap().status(), StatusCode::OK);
    let refused = request().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "slow_down");
}
