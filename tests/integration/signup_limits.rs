//! Signup limits per e-mail address and per client address, login limits per address, and which address
//! counts when proxies are involved.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::oidc_support::hidden;
use crate::support::{PASSWORD, TestApp, assert_error};

const EMAIL_MESSAGE: &str = "Too many signup attempts for this email address. Please try again later.";
const IP_MESSAGE: &str = "Too many signup attempts from your IP address. Please try again later.";

#[tokio::test]
async fn signups_per_email_address_are_limited_across_its_variants() {
    let app = TestApp::spawn_with(|config| {
        config.signup.rate_limit_email = 2;
        config.signup.rate_limit_email_window_ms = 60_000;
    })
    .await;
    app.signup_raw("alice", "alice@example.org", PASSWORD).await;
    app.signup_raw("alice2", "Alice+test@Example.org", "short").await;
    let response = app.signup_raw("alice3", "ALICE+other@example.org", PASSWORD).await;
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"code": "signup_rate_limited", "detail": EMAIL_MESSAGE}));
    assert_eq!(
        app.signup_raw("bob", "bob@example.org", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    app.advance_clock(Duration::from_secs(61));
    assert_eq!(
        app.signup_raw("alice3", "alice+3@example.org", PASSWORD).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn signups_per_address_are_limited_and_administrators_are_not() {
    let app = TestApp::spawn_with(|config| config.signup.rate_limit_ip = 2).await;
    for name in ["user1", "user2"] {
        app.signup_raw(name, &format!("{name}@example.org"), PASSWORD).await;
    }
    let response = app.signup_raw("user3", "user3@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"code": "signup_rate_limited", "detail": IP_MESSAGE}));

    let admin = app.admin_login().await;
    let response = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin.access)
        .json(&json!({"username": "user4", "email": "user4@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "an administrator creating accounts is not limited"
    );
}

#[tokio::test]
async fn the_signup_page_shows_the_same_refusal() {
    let app = TestApp::spawn_with(|config| config.signup.rate_limit_ip = 1).await;
    let browser = app.browser();
    let mut status = StatusCode::OK;
    let mut page = String::new();
    for name in ["page1", "page2"] {
        let form_page = browser.get("/signup").await.text().await.unwrap();
        let csrf = hidden(&form_page, "csrf").unwrap();
        let response = browser
            .client
            .post(browser.url("/signup"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", name),
                ("email", &format!("{name}@example.org")),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        status = response.status();
        page = response.text().await.unwrap();
    }
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains(IP_MESSAGE), "{page}");
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let app = TestApp::spawn_with(|config| config.signup.rate_limit_ip = 2).await;
    for i in 0..2 {
        let response = app
            .client
            .post(app.url("/api/v1/users"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"username": format!("spoof{i}"), "email": format!("spoof{i}@example.org"), "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let response = app
        .client
        .post(app.url("/api/v1/users"))
        .header("x-forwarded-for", "198.51.100.99")
        .header("forwarded", "for=198.51.100.98")
        .json(&json!({"username": "spoof9", "email": "spoof9@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "signup_rate_limited").await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_counts_alone() {
    let app = TestApp::spawn_with(|config| {
        config.signup.rate_limit_ip = 1;
        config.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let signup = |name: &'static str, forwarded: &'static str| {
        app.client
            .post(app.url("/api/v1/users"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"username": name, "email": format!("{name}@example.org"), "password": PASSWORD}))
            .send()
    };
    assert_eq!(
        signup("trust1", "203.0.113.1").await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        signup("trust2", "203.0.113.2").await.unwrap().status(),
        StatusCode::CREATED
    );
    // The right-most untrusted hop is the client: the spoofed left part is ignored.
    let response = signup("trust3", "10.9.9.9, 203.0.113.1").await.unwrap();
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "signup_rate_limited").await;
}

#[tokio::test]
async fn failed_logins_from_one_address_are_limited_without_telling_who_exists() {
    let app = TestApp::spawn_with(|config| config.login.max_failures_per_ip = 3).await;
    app.signup("alice").await;
    for login in ["alice", "nobody", "somebody"] {
        let response = app.login_raw(login, "wrong password here").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    for login in ["alice", "nobody"] {
        let response = app.login_raw(login, PASSWORD).await;
        let body = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "login_rate_limited").await;
        assert!(body["detail"].as_str().unwrap().contains("IP address"));
    }
    app.advance_clock(Duration::from_secs(901));
    app.login("alice", PASSWORD).await;
}
