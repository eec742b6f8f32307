//! `POST /api/v1/users`: open signup, validation, conflicts, and signup restricted to administrators.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::config::UserCreateScope;

use crate::support::{PASSWORD, TestApp, assert_error};

#[tokio::test]
async fn signup_creates_an_account_and_signs_it_in() {
    let app = TestApp::spawn().await;
    let response = app.signup_raw("Alice", "Alice@Example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let body: Value = response.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["username"], "alice");
    assert_eq!(user["email"], "alice@example.org");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["is_active"], true);
    assert_eq!(user["scopes"], json!([]));
    assert!(user["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(user["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("tsr_"));

    let me = app
        .get_authorized("/api/v1/user", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(&me, user);
}

#[tokio::test]
async fn invalid_fields_are_each_named() {
    let app = TestApp::spawn().await;
    let response = app.signup_raw("a", "not-an-address", "short").await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["username", "email", "password"] {
        assert!(body["fields"][field].is_string(), "{field} not named: {body}");
    }

    let response = app.post_json("/api/v1/users", &json!({})).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["username", "email", "password"] {
        assert_eq!(body["fields"][field], "is required", "{body}");
    }
}

#[tokio::test]
async fn weak_passwords_are_refused() {
    let app = TestApp::spawn().await;
    for password in ["password123", "12345678", "seven77", "carol@example.org"] {
        let response = app.signup_raw("carol", "carol@example.org", password).await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(body["fields"]["password"].is_string(), "{password}: {body}");
    }
    // Long passphrases with spaces and any characters are welcome (ASVS 6.2.9).
    let long = "a long passphrase with spaces, ünïcödé and more ".repeat(2);
    let response = app.signup_raw("carol", "carol@example.org", &long).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.login("carol", &long).await;
    let response = app.login_raw("carol", &format!("{long}x")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_fields_are_refused_so_nobody_grants_themselves_scopes() {
    let app = TestApp::spawn().await;
    let body = json!({
        "username": "mallory", "email": "mallory@example.org", "password": PASSWORD, "scopes": ["admin"]
    });
    let response = app.post_json("/api/v1/users", &body).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["detail"].as_str().unwrap().contains("scopes"));
}

#[tokio::test]
async fn taken_usernames_and_addresses_conflict_including_look_alikes() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    for username in ["alice", "ALICE", "ａｌｉｃｅ"] {
        let response = app.signup_raw(username, "other@example.org", PASSWORD).await;
        assert_error(response, StatusCode::CONFLICT, "username_taken").await;
    }
    let response = app.signup_raw("alice2", "ALICE@example.org", PASSWORD).await;
    assert_error(response, StatusCode::CONFLICT, "email_taken").await;
    // A Cyrillic look-alike is not a valid username at all.
    let response = app.signup_raw("аlice", "cyrillic@example.org", PASSWORD).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn parallel_signups_of_one_name_create_one_account() {
    let app = TestApp::spawn().await;
    let emails: Vec<String> = (0..8).map(|i| format!("racer{i}@example.org")).collect();
    let attempts = emails.iter().map(|email| app.signup_raw("racer", email, PASSWORD));
    let statuses: Vec<StatusCode> = join_all(attempts).await.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT)
    );
}

#[tokio::test]
async fn restricted_signup_needs_an_administrator() {
    let app = TestApp::spawn_with(|config| config.user_create_scope = UserCreateScope::Admin).await;
    let response = app.signup_raw("bob", "bob@example.org", PASSWORD).await;
    assert_error(response, StatusCode::FORBIDDEN, "signup_closed").await;

    let admin = app.admin_login().await;
    let created = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin.access)
        .json(&json!({ "username": "bob", "email": "bob@example.org", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["user"]["username"], "bob");
    assert!(
        body.get("access_token").is_none(),
        "an administrator gets no tokens for someone else"
    );

    let bob = app.login("bob", PASSWORD).await;
    let response = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&bob.access)
        .json(&json!({ "username": "eve", "email": "eve@example.org", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let forbidden = assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    assert!(forbidden["detail"].as_str().unwrap().contains("admin"));
}

#[tokio::test]
async fn the_bootstrap_administrator_holds_the_admin_scope() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let me: Value = app
        .get_authorized("/api/v1/user", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["scopes"], json!(["admin"]));
}
