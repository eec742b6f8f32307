//! `POST /api/v1/auth/refresh` and `/logout`: rotation, reuse detection, expiry, revocation.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, assert_error, tokens_of};

const DAY: u64 = 24 * 3600;

#[tokio::test]
async fn refresh_rotates_the_pair() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let first = app.login("alice", PASSWORD).await;
    app.advance_clock(Duration::from_secs(10));
    let response = app.refresh_raw(&first.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["expires_in"], 3600);
    let second = tokens_of(&body);
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    for token in [&first.access, &second.access] {
        assert_eq!(app.get_authorized("/api/v1/user", token).await.status(), StatusCode::OK);
    }
    let third = tokens_of(&app.refresh_raw(&second.refresh).await.json().await.unwrap());
    assert_ne!(third.refresh, second.refresh);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let first = app.login("alice", PASSWORD).await;
    let second = tokens_of(&app.refresh_raw(&first.refresh).await.json().await.unwrap());

    let response = app.refresh_raw(&first.refresh).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;

    let response = app.refresh_raw(&second.refresh).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
    for token in [&first.access, &second.access] {
        let response = app.get_authorized("/api/v1/user", token).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "token_revoked").await;
    }

    // Another session of the same account is untouched.
    let other = app.login("alice", PASSWORD).await;
    assert_eq!(app.refresh_raw(&other.refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn parallel_refreshes_never_leave_two_live_successors() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let first = app.login("alice", PASSWORD).await;
    let responses = join_all((0..10).map(|_| app.refresh_raw(&first.refresh))).await;
    let mut successors = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => successors.push(tokens_of(&response.json().await.unwrap())),
            status => assert_eq!(status, StatusCode::UNAUTHORIZED),
        }
    }
    assert!(successors.len() <= 1, "{} successors", successors.len());
    // The losers saw a replay and revoked the family, the winner's successor included.
    for successor in successors {
        let response = app.refresh_raw(&successor.refresh).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
    }
}

#[tokio::test]
async fn refresh_tokens_expire_thirty_days_after_the_login() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let mut tokens = app.login("alice", PASSWORD).await;
    // Refreshing keeps the session alive only until its absolute end.
    for _ in 0..2 {
        app.advance_clock(Duration::from_secs(14 * DAY));
        let response = app.refresh_raw(&tokens.refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        tokens = tokens_of(&response.json().await.unwrap());
    }
    app.advance_clock(Duration::from_secs(2 * DAY));
    let response = app.refresh_raw(&tokens.refresh).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
}

#[tokio::test]
async fn the_refresh_lifetime_is_configurable() {
    let app = TestApp::spawn_with(|config| config.tokens.refresh_token_ttl_secs = 600).await;
    app.signup("alice").await;
    let tokens = app.login("alice", PASSWORD).await;
    app.advance_clock(Duration::from_secs(601));
    let response = app.refresh_raw(&tokens.refresh).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
}

#[tokio::test]
async fn anything_but_a_refresh_token_is_refused() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let tokens = app.login("alice", PASSWORD).await;
    let mut forged = tokens.refresh.clone();
    forged.replace_range(8..9, if &forged[8..9] == "A" { "B" } else { "A" });
    let unknown = tessera::tokens::opaque::mint("tsr_").value;
    for candidate in ["", "garbage", &tokens.access, &forged, &unknown] {
        let response = app.refresh_raw(candidate).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_invalid").await;
    }
    let response = app.post_json("/api/v1/auth/refresh", &json!({})).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["fields"]["refresh_token"], "is required");
}

#[tokio::test]
async fn logout_revokes_the_session_at_once() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let tokens = app.login("alice", PASSWORD).await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.get_authorized("/api/v1/user", &tokens.access).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_revoked").await;
    let response = app.refresh_raw(&tokens.refresh).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;

    let response = app.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "token_missing").await;
}

#[tokio::test]
async fn disabling_an_account_stops_its_tokens() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let tokens = app.login("alice", PASSWORD).await;
    app.state
        .auth
        .accounts
        .set_active("alice", false, app.clock.now())
        .await
        .unwrap();
    let response = app.get_authorized("/api/v1/user", &tokens.access).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_revoked").await;
    let response = app.refresh_raw(&tokens.refresh).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;

    app.state
        .auth
        .accounts
        .set_active("alice", true, app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        app.get_authorized("/api/v1/user", &tokens.access).await.status(),
        StatusCode::OK
    );
}
