//! `POST /api/v1/auth/login`: by username or e-mail, uniform failures, lock-out after repeated failures.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::store::users;

use crate::jwks::decode_segment;
use crate::support::{PASSWORD, TestApp, assert_error};

#[tokio::test]
async fn login_by_username_or_email_returns_a_token_pair() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    for login in ["alice", "ALICE", &user.email, "Alice@Example.ORG"] {
        let response = app.login_raw(login, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "{login}");
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("no-store")
        );
        assert_eq!(response.headers()["pragma"], "no-cache");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert!(body["refresh_token"].as_str().unwrap().starts_with("tsr_"));
        assert_eq!(body["user"]["id"], user.id.as_str());
    }
}

#[tokio::test]
async fn the_access_token_is_an_rfc9068_jwt() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let tokens = app.login("alice", PASSWORD).await;
    let header = decode_segment(&tokens.access, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    let claims = decode_segment(&tokens.access, 1);
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], app.address.as_str());
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["iat"], app.clock.now());
    assert_eq!(claims["exp"], app.clock.now() + 3600);
    assert_eq!(claims["scope"], "");
    for claim in ["jti", "sid"] {
        assert!(claims[claim].as_str().is_some_and(|v| v.len() >= 20), "{claim}");
    }
    let other = app.login("alice", PASSWORD).await;
    let other_claims = decode_segment(&other.access, 1);
    assert_ne!(other_claims["jti"], claims["jti"]);
    assert_ne!(other_claims["sid"], claims["sid"], "each login is its own session");
}

#[tokio::test]
async fn wrong_password_unknown_and_disabled_accounts_fail_alike() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    app.signup("dave").await;
    app.state
        .auth
        .accounts
        .set_active("dave", false, app.clock.now())
        .await
        .unwrap();

    let mut bodies = Vec::new();
    for (login, password) in [
        ("alice", "wrong password here"),
        ("nobody", PASSWORD),
        ("dave", PASSWORD),
    ] {
        let response = app.login_raw(login, password).await;
        bodies.push(assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await);
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]), "{bodies:?}");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_growing_while() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    for _ in 0..5 {
        let response = app.login_raw("alice", "wrong password here").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Locked: even the right password gets the very same answer.
    let response = app.login_raw("alice", PASSWORD).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // After the first period one attempt is allowed; failing it locks for twice as long.
    app.advance_clock(Duration::from_secs(61));
    let response = app.login_raw("alice", "wrong password here").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    app.advance_clock(Duration::from_secs(61));
    let response = app.login_raw("alice", PASSWORD).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    app.advance_clock(Duration::from_secs(60));
    app.login("alice", PASSWORD).await;

    // A success resets the count.
    let response = app.login_raw("alice", "wrong password here").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_lock_out() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let guesses: Vec<String> = (0..20).map(|i| format!("wrong guess number {i}")).collect();
    for response in join_all(guesses.iter().map(|guess| app.login_raw("alice", guess))).await {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let stored = users::find_by_username(&app.state.db, "alice".into())
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.failed_logins <= 5,
        "{} guesses were evaluated",
        stored.failed_logins
    );
    assert_eq!(stored.locked_until.is_some(), stored.failed_logins == 5);
}

#[tokio::test]
async fn credentials_in_the_url_are_refused() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let response = app
        .client
        .post(app.url(&format!("/api/v1/auth/login?login=alice&password={PASSWORD}")))
        .json(&json!({ "login": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::BAD_REQUEST, "credentials_in_query").await;
    assert!(body["detail"].as_str().unwrap().contains("log"));
}

#[tokio::test]
async fn missing_fields_are_named() {
    let app = TestApp::spawn().await;
    let response = app.post_json("/api/v1/auth/login", &json!({ "login": "alice" })).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["fields"]["password"], "is required");
    assert!(body["fields"].get("login").is_none());
}

#[tokio::test]
async fn oversized_passwords_are_refused_without_hashing() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let response = app.login_raw("alice", &"x".repeat(10_000)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let stored = users::find_by_username(&app.state.db, "alice".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.failed_logins, 0,
        "an oversized password never reaches the account"
    );
}
