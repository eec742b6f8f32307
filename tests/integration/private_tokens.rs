//! Private tokens: made, listed, rotated and revoked over the REST API; used as bearer tokens; exchanged for
//! short-lived access tokens through `/api/v1/auth/login` and RFC 8693; revoked with their account; pruned.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::auth::NewAccount;
use tessera::clock::rfc3339;
use tessera::oidc::clients::ClientSpec;

use crate::jwks::decode_segment;
use crate::oidc_support::{TestClient, assert_oauth_error};
use crate::support::{PASSWORD, TestApp, assert_error};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const PRIVATE_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:private_token";
const DAY: i64 = 24 * 3600;

impl TestApp {
    /// An RFC 3339 time `secs` from the server's now.
    pub fn time_in(&self, secs: i64) -> String {
        rfc3339(self.clock.now() + secs)
    }

    async fn create_token_raw(&self, bearer: &str, body: Value) -> Response {
        self.client
            .post(self.url("/api/v1/tokens"))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Makes a private token with `scopes` expiring in 30 days; returns the 201 body.
    async fn create_token(&self, bearer: &str, scopes: &[&str]) -> Value {
        let body = json!({"description": "nightly backup", "expires_at": self.time_in(30 * DAY), "scopes": scopes});
        let response = self.create_token_raw(bearer, body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    async fn list_tokens(&self, bearer: &str, path: &str) -> Value {
        let response = self.get_authorized(path, bearer).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn send(&self, method: reqwest::Method, path: &str, bearer: &str) -> Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }

    /// Creates an account holding `scopes` and signs it in; returns its access token.
    async fn user_with_scopes(&self, username: &str, scopes: &[&str]) -> String {
        let account = NewAccount {
            username: Some(username.into()),
            email: Some(format!("{username}@example.org")),
            password: Some(PASSWORD.into()),
        };
        self.state
            .auth
            .accounts
            .create_user(account, scopes, self.clock.now())
            .await
            .unwrap();
        self.login(username, PASSWORD).await.access
    }

    async fn rotate_token(&self, bearer: &str, id: &str) -> Response {
        let path = format!("/api/v1/tokens/{id}/rotate");
        self.send(reqwest::Method::POST, &path, bearer).await
    }

    async fn revoke_token(&self, bearer: &str, id: &str) -> Response {
        let path = format!("/api/v1/tokens/{id}");
        self.send(reqwest::Method::DELETE, &path, bearer).await
    }

    /// `GET /api/v1/user` with `bearer` answers 200.
    async fn assert_accepted(&self, bearer: &str) {
        let response = self.get_authorized("/api/v1/user", bearer).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// `GET /api/v1/user` with `bearer` answers 401 with `code`.
    async fn assert_refused(&self, bearer: &str, code: &str) {
        let response = self.get_authorized("/api/v1/user", bearer).await;
        assert_error(response, StatusCode::UNAUTHORIZED, code).await;
    }

    async fn exchange_client(&self, application: Option<&str>, scopes: &[&str]) -> TestClient {
        self.register(ClientSpec {
            application: application.map(str::to_owned),
            name: Some("Batch jobs".into()),
            grant_types: Some(vec![TOKEN_EXCHANGE.into()]),
            scopes: Some(scopes.iter().map(|s| (*s).to_owned()).collect()),
            ..ClientSpec::default()
        })
        .await
    }
}

fn secret(body: &Value) -> &str {
    body["token"].as_str().expect("the token is shown on creation")
}

#[tokio::test]
async fn a_private_token_is_made_listed_used_rotated_and_revoked() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;

    let expires_at = app.time_in(90 * DAY);
    let response = app
        .create_token_raw(
            &session.access,
            json!({"description": "CI deploys", "expires_at": expires_at, "scopes": []}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let token = secret(&created).to_owned();
    assert!(token.starts_with("tsp_"), "{token}");
    assert_eq!(token.len(), 4 + 43 + 6, "prefix, 256 random bits, checksum");
    assert_eq!(created["description"], "CI deploys");
    assert_eq!(created["scopes"], json!([]));
    assert_eq!(created["expires_at"], expires_at);
    assert!(created["created_at"].is_string());

    let me = app.get_authorized("/api/v1/user", &token).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["id"], alice.id);

    // The use is recorded in the background.
    let mut listed = Value::Null;
    for _ in 0..250 {
        listed = app.list_tokens(&session.access, "/api/v1/tokens").await;
        if listed[0]["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let entry = &listed[0];
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(entry["id"], created["id"]);
    assert_eq!(entry["prefix"], &token[..12]);
    assert_eq!(entry["status"], "active");
    assert_eq!(entry["last_used_ip"], "127.0.0.1");
    assert!(entry["last_used_at"].is_string(), "{entry}");
    assert!(entry.get("token").is_none());
    assert!(!listed.to_string().contains(&token), "the list never shows the secret");

    let id = created["id"].as_str().unwrap();
    let response = app.rotate_token(&session.access, id).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let rotated: Value = response.json().await.unwrap();
    let replacement = secret(&rotated).to_owned();
    assert_ne!(rotated["id"], created["id"]);
    assert_ne!(replacement, token);
    for same in ["description", "scopes", "expires_at"] {
        assert_eq!(rotated[same], created[same], "{same}");
    }
    app.assert_refused(&token, "token_revoked").await;
    app.assert_accepted(&replacement).await;
    let response = app.rotate_token(&session.access, id).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    let new_id = rotated["id"].as_str().unwrap();
    let path = format!("/api/v1/tokens/{new_id}");
    assert_eq!(
        app.send(reqwest::Method::DELETE, &path, &session.access).await.status(),
        StatusCode::NO_CONTENT
    );
    let response = app.get_authorized("/api/v1/user", &replacement).await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    assert_error(response, StatusCode::UNAUTHORIZED, "token_revoked").await;
    let response = app.send(reqwest::Method::DELETE, &path, &session.access).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    let listed = app.list_tokens(&session.access, "/api/v1/tokens").await;
    let statuses: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["revoked", "revoked"]);
}

#[tokio::test]
async fn one_user_cannot_touch_another_users_tokens() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    app.signup("mallory").await;
    let alice = app.login("alice", PASSWORD).await;
    let mallory = app.login("mallory", PASSWORD).await;
    let created = app.create_token(&alice.access, &[]).await;
    let id = created["id"].as_str().unwrap();

    assert_eq!(app.list_tokens(&mallory.access, "/api/v1/tokens").await, json!([]));
    for (method, path) in [
        (reqwest::Method::DELETE, format!("/api/v1/tokens/{id}")),
        (reqwest::Method::POST, format!("/api/v1/tokens/{id}/rotate")),
    ] {
        let response = app.send(method, &path, &mallory.access).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    app.assert_accepted(secret(&created)).await;
}

#[tokio::test]
async fn creating_a_token_checks_every_field() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;

    let cases = [
        (json!({"description": "x", "scopes": []}), "expires_at"),
        (json!({"description": "x", "expires_at": app.time_in(-1)}), "expires_at"),
        (
            json!({"description": "x", "expires_at": app.time_in(366 * DAY)}),
            "expires_at",
        ),
        (json!({"description": "x", "expires_at": "next tuesday"}), "expires_at"),
        (
            json!({"description": "  ", "expires_at": app.time_in(DAY)}),
            "description",
        ),
        (json!({"expires_at": app.time_in(DAY)}), "description"),
    ];
    for (body, field) in cases {
        let response = app.create_token_raw(&session.access, body.clone()).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(error["fields"][field].is_string(), "{body} → {error}");
    }
    let response = app
        .create_token_raw(
            &session.access,
            json!({"description": "x", "expires_at": app.time_in(DAY), "owner": "bob"}),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // More scopes than one holds is refused as an authorization failure (checklist A-PAT-05).
    let body = json!({"description": "x", "expires_at": app.time_in(DAY), "scopes": ["admin"]});
    let response = app.create_token_raw(&session.access, body).await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;

    // The furthest expiry allowed is a year, and it is configurable.
    let body = json!({"description": "x", "expires_at": app.time_in(365 * DAY)});
    assert_eq!(
        app.create_token_raw(&session.access, body).await.status(),
        StatusCode::CREATED
    );
    let short = TestApp::spawn_with(|c| c.tokens.private_token_max_ttl_days = 7).await;
    short.signup("alice").await;
    let session = short.login("alice", PASSWORD).await;
    let body = json!({"description": "x", "expires_at": short.time_in(8 * DAY)});
    let response = short.create_token_raw(&session.access, body).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let response = app.create_token_raw("not-a-token", json!({})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_invalid").await;
}

#[tokio::test]
async fn a_private_token_cannot_mint_rotate_or_log_out() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let created = app.create_token(&session.access, &[]).await;
    let token = secret(&created);
    let id = created["id"].as_str().unwrap();
    let exchanged = exchange(&app, token).await["access_token"].as_str().unwrap().to_owned();

    for bearer in [token, exchanged.as_str()] {
        let response = app
            .create_token_raw(bearer, json!({"description": "x", "expires_at": app.time_in(DAY)}))
            .await;
        assert_error(response, StatusCode::FORBIDDEN, "interactive_login_required").await;
        let response = app.rotate_token(bearer, id).await;
        assert_error(response, StatusCode::FORBIDDEN, "interactive_login_required").await;
        let response = app.send(reqwest::Method::POST, "/api/v1/auth/logout", bearer).await;
        assert_error(response, StatusCode::FORBIDDEN, "interactive_login_required").await;
        let response = app
            .client
            .put(app.url("/api/v1/user/password"))
            .bearer_auth(bearer)
            .json(&json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::FORBIDDEN, "interactive_login_required").await;
    }
    // Listing works with a private token; revoking its own token too.
    assert_eq!(
        app.list_tokens(token, "/api/v1/tokens").await.as_array().unwrap().len(),
        1
    );
    let response = app.revoke_token(token, id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.assert_refused(token, "token_revoked").await;
}

async fn exchange_raw(app: &TestApp, token: &str) -> Response {
    app.post_json("/api/v1/auth/login", &json!({"application_token": token}))
        .await
}

async fn exchange(app: &TestApp, token: &str) -> Value {
    let response = exchange_raw(app, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_application_token_is_exchanged_for_a_short_lived_access_token_only() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let created = app.create_token(&session.access, &[]).await;

    let body = exchange(&app, secret(&created)).await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "token_type"],
        "no refresh token, no user"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600, "the application's access-token lifetime");
    let access = body["access_token"].as_str().unwrap();
    let claims = decode_segment(access, 1);
    assert_eq!(claims["sub"], alice.id);
    assert_eq!(claims["pat"], created["id"]);
    assert!(claims.get("sid").is_none());
    assert_eq!(decode_segment(access, 0)["typ"], "at+jwt");
    app.assert_accepted(access).await;

    // Revoking the private token revokes what it was exchanged for.
    let id = created["id"].as_str().unwrap();
    app.revoke_token(&session.access, id).await;
    app.assert_refused(access, "token_revoked").await;
    assert_error(
        exchange_raw(&app, secret(&created)).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;

    let garbled = format!("{}x", secret(&created));
    assert_error(
        exchange_raw(&app, &garbled).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"application_token": secret(&created), "login": "alice", "password": PASSWORD}),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn private_tokens_and_their_access_tokens_expire_on_time() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let body = json!({"description": "short", "expires_at": app.time_in(600)});
    let created: Value = app.create_token_raw(&session.access, body).await.json().await.unwrap();
    let token = secret(&created);

    let exchanged = exchange(&app, token).await;
    assert_eq!(exchanged["expires_in"], 600, "never outlives its private token");

    app.advance_clock(Duration::from_secs(599));
    app.assert_accepted(token).await;
    app.advance_clock(Duration::from_secs(1));
    for bearer in [token, exchanged["access_token"].as_str().unwrap()] {
        app.assert_refused(bearer, "token_expired").await;
    }
    assert_error(
        exchange_raw(&app, token).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;

    let session = app.login("alice", PASSWORD).await;
    let listed = app.list_tokens(&session.access, "/api/v1/tokens").await;
    assert_eq!(listed[0]["status"], "expired");
    let id = created["id"].as_str().unwrap();
    let response = app.rotate_token(&session.access, id).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn a_private_token_acts_with_its_own_scopes() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let plain = app.create_token(&admin.access, &[]).await;
    let scoped = app.create_token(&admin.access, &["admin"]).await;

    let response = app.get_authorized("/api/v1/admin/apps", secret(&plain)).await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    assert_eq!(
        app.get_authorized("/api/v1/admin/apps", secret(&scoped)).await.status(),
        StatusCode::OK
    );
    let exchanged = exchange(&app, secret(&plain)).await;
    let response = app
        .get_authorized("/api/v1/admin/apps", exchanged["access_token"].as_str().unwrap())
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    let exchanged = exchange(&app, secret(&scoped)).await;
    assert_eq!(
        decode_segment(exchanged["access_token"].as_str().unwrap(), 1)["scope"],
        "admin"
    );
}

#[tokio::test]
async fn a_private_token_works_only_with_its_applications_key() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let created = app.create_token(&session.access, &[]).await;
    assert!(created["application_id"].is_string());

    app.create_application(json!({"name": "Billing", "slug": "billing"}))
        .await;
    let key = app.create_api_key("billing", json!({"name": "billing"})).await;
    let other = reqwest::Client::new();
    let response = other
        .get(app.url("/api/v1/user"))
        .header("x-api-key", key["key"].as_str().unwrap())
        .bearer_auth(secret(&created))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "token_app_mismatch").await;
    let response = other
        .post(app.url("/api/v1/auth/login"))
        .header("x-api-key", key["key"].as_str().unwrap())
        .json(&json!({"application_token": secret(&created)}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "token_app_mismatch").await;
}

#[tokio::test]
async fn disabling_an_account_revokes_its_private_tokens_for_good() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let created = app.create_token(&session.access, &[]).await;
    let admin = app.admin_login().await;
    let path = format!("/api/v1/admin/users/{}", alice.id);

    let patch = |active: bool| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&admin.access)
            .json(&json!({"is_active": active}))
            .send()
    };
    let response = patch(false).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["is_active"], false);
    app.assert_refused(secret(&created), "token_revoked").await;
    assert_eq!(patch(true).await.unwrap().status(), StatusCode::OK);
    app.assert_refused(secret(&created), "token_revoked").await;
    let session = app.login("alice", PASSWORD).await;
    assert_eq!(
        app.list_tokens(&session.access, "/api/v1/tokens").await[0]["status"],
        "revoked"
    );

    // Configured off, a disabled account's tokens only pause.
    let lenient = TestApp::spawn_with(|c| c.tokens.revoke_private_tokens_on_disable = false).await;
    lenient.signup("alice").await;
    let session = lenient.login("alice", PASSWORD).await;
    let created = lenient.create_token(&session.access, &[]).await;
    lenient
        .state
        .auth
        .accounts
        .set_active("alice", false, lenient.clock.now())
        .await
        .unwrap();
    lenient.assert_refused(secret(&created), "token_revoked").await;
    lenient
        .state
        .auth
        .accounts
        .set_active("alice", true, lenient.clock.now())
        .await
        .unwrap();
    lenient.assert_accepted(secret(&created)).await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_sign_in_and_private_token() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let current = app.login("alice", PASSWORD).await;
    let other = app.login("alice", PASSWORD).await;
    let created = app.create_token(&current.access, &[]).await;
    let change = |current_password: &str| {
        app.client
            .put(app.url("/api/v1/user/password"))
            .bearer_auth(&current.access)
            .json(&json!({"current_password": current_password, "new_password": "a brand new passphrase"}))
            .send()
    };

    assert_error(
        change("wrong password").await.unwrap(),
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    app.assert_accepted(secret(&created)).await;
    let response = app
        .client
        .put(app.url("/api/v1/user/password"))
        .bearer_auth(&current.access)
        .json(&json!({"current_password": PASSWORD, "new_password": "short"}))
        .send()
        .await
        .unwrap();
    let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(error["fields"]["new_password"].is_string());

    assert_eq!(change(PASSWORD).await.unwrap().status(), StatusCode::NO_CONTENT);
    for ended in [secret(&created), other.access.as_str()] {
        app.assert_refused(ended, "token_revoked").await;
    }
    assert_error(
        app.refresh_raw(&other.refresh).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_revoked",
    )
    .await;
    app.assert_accepted(&current.access).await;
    assert_error(
        app.login_raw("alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    app.login("alice", "a brand new passphrase").await;

    let lenient = TestApp::spawn_with(|c| c.tokens.revoke_private_tokens_on_password_change = false).await;
    lenient.signup("alice").await;
    let session = lenient.login("alice", PASSWORD).await;
    let created = lenient.create_token(&session.access, &[]).await;
    let response = lenient
        .client
        .put(lenient.url("/api/v1/user/password"))
        .bearer_auth(&session.access)
        .json(&json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    lenient.assert_accepted(secret(&created)).await;
}

#[tokio::test]
async fn administrators_list_and_revoke_anyones_tokens() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let first = app.create_token(&session.access, &[]).await;
    let second = app.create_token(&session.access, &[]).await;
    let third = app.create_token(&session.access, &[]).await;
    let admin = app.admin_login().await;
    let base = format!("/api/v1/admin/users/{}/tokens", alice.id);

    let listed = app.list_tokens(&admin.access, &base).await;
    assert_eq!(listed.as_array().unwrap().len(), 3);
    for token in [&first, &second, &third] {
        assert!(!listed.to_string().contains(secret(token)));
    }

    let response = app.get_authorized(&base, &session.access).await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    let response = app
        .get_authorized("/api/v1/admin/users/nobody/tokens", &admin.access)
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    let one = format!("{base}/{}", first["id"].as_str().unwrap());
    assert_eq!(
        app.send(reqwest::Method::DELETE, &one, &admin.access).await.status(),
        StatusCode::NO_CONTENT
    );
    app.assert_refused(secret(&first), "token_revoked").await;
    app.assert_accepted(secret(&second)).await;
    assert_eq!(
        app.send(reqwest::Method::DELETE, &base, &admin.access).await.status(),
        StatusCode::NO_CONTENT
    );
    for token in [&second, &third] {
        app.assert_refused(secret(token), "token_revoked").await;
    }
    let user = app
        .get_authorized(&format!("/api/v1/admin/users/{}", alice.id), &admin.access)
        .await;
    assert_eq!(user.json::<Value>().await.unwrap()["username"], "alice");
}

#[tokio::test]
async fn the_database_holds_only_a_hash_of_the_token() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let created = app.create_token(&session.access, &[]).await;
    let token = secret(&created);

    let rows = tessera::store::private_tokens::list_for_user(&app.state.db, alice.id.clone())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_hash, tessera::tokens::opaque::hash(token));
    assert!(!format!("{rows:?}").contains(token));
    assert!(!format!("{rows:?}").contains(&token[12..]));
    // On SQLite, not a byte of it anywhere in the database files either.
    if let Some(path) = app.database.url.strip_prefix("sqlite://") {
        for file in [path.to_owned(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                let needle = &token.as_bytes()[12..];
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{file} holds the token"
                );
            }
        }
    }
}

#[tokio::test]
async fn rfc_8693_exchanges_a_private_token_for_the_clients_application() {
    let app = TestApp::spawn().await;
    let access = app.user_with_scopes("carol", &["api:read", "api:write"]).await;
    let created = app.create_token(&access, &["api:read", "api:write"]).await;
    let narrow = app.create_token(&access, &["api:read"]).await;
    let client = app.exchange_client(None, &["api:read", "api:write", "api:admin"]).await;
    let form = |token: &str, scope: &str| -> Vec<(String, String)> {
        let mut form = vec![
            ("grant_type".to_owned(), TOKEN_EXCHANGE.to_owned()),
            ("subject_token".to_owned(), token.to_owned()),
            ("subject_token_type".to_owned(), PRIVATE_TOKEN_TYPE.to_owned()),
        ];
        if !scope.is_empty() {
            form.push(("scope".to_owned(), scope.to_owned()));
        }
        form
    };
    let post = |client: &TestClient, form: Vec<(String, String)>| {
        let client = client.clone();
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.token(&client, &pairs).await
        }
    };

    let response = post(&client, form(secret(&created), "")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "api:read api:write");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let claims = decode_segment(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["client_id"], client.id);
    assert_eq!(claims["pat"], created["id"]);

    // Narrowed to what the private token holds, whatever is asked.
    let body: Value = post(&client, form(secret(&narrow), "api:read api:write api:admin"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "api:read");
    let exchanged = body["access_token"].as_str().unwrap().to_owned();

    // Introspection reports the exchanged token and the private token itself, until it is revoked.
    let introspect = |token: String| {
        let client = client.clone();
        let app = &app;
        async move {
            let response = app
                .client_post("/oauth2/introspect", &client, &[("token", &token)])
                .await;
            response.json::<Value>().await.unwrap()
        }
    };
    let report = introspect(exchanged.clone()).await;
    assert_eq!(report["active"], true);
    assert_eq!(report["scope"], "api:read");
    let report = introspect(secret(&narrow).to_owned()).await;
    assert_eq!(report["active"], true, "{report}");
    assert_eq!(report["token_type"], "private_token");
    assert_eq!(report["scope"], "api:read");
    assert_eq!(report["application_id"], narrow["application_id"]);
    assert!(report["sub"].is_string() && report["exp"].is_i64());
    assert!(report.get("client_id").is_none());

    let id = narrow["id"].as_str().unwrap();
    app.revoke_token(&access, id).await;
    assert_eq!(introspect(exchanged).await, json!({"active": false}));
    assert_eq!(introspect(secret(&narrow).to_owned()).await, json!({"active": false}));
    let response = post(&client, form(secret(&narrow), "")).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // The wrong token type, a client without the grant, a client of another application.
    let mut wrong = form(secret(&created), "");
    wrong[2].1 = "urn:ietf:params:oauth:token-type:access_token".into();
    assert_oauth_error(post(&client, wrong).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    let code_client = app.c1().await;
    let response = post(&code_client, form(secret(&created), "")).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    app.create_application(json!({"name": "Billing", "slug": "billing"}))
        .await;
    let foreign = app.exchange_client(Some("billing"), &["api:read"]).await;
    let response = post(&foreign, form(secret(&created), "")).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let report = app
        .client_post("/oauth2/introspect", &foreign, &[("token", secret(&created))])
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        report,
        json!({"active": false}),
        "another application's clients learn nothing"
    );

    // Whoever holds a private token can revoke it through RFC 7009.
    let response = app
        .client_post("/oauth2/revoke", &client, &[("token", secret(&created))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.assert_refused(secret(&created), "token_revoked").await;

    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(TOKEN_EXCHANGE))
    );
}

#[tokio::test]
async fn pruning_deletes_long_dead_rows_a_bounded_batch_at_a_time() {
    let app = TestApp::spawn_with(|c| {
        c.retention.days = 1;
        c.retention.batch_size = 1;
    })
    .await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let live = app.create_token(&session.access, &[]).await;
    for _ in 0..2 {
        let dead = app.create_token(&session.access, &[]).await;
        let id = dead["id"].as_str().unwrap();
        app.revoke_token(&session.access, id).await;
    }
    let count = || async {
        tessera::store::private_tokens::list_for_user(&app.state.db, alice.id.clone())
            .await
            .unwrap()
            .len()
    };

    tessera::startup::prune(&app.state).await;
    assert_eq!(count().await, 3, "revoked today: kept for the retention period");
    app.advance_clock(Duration::from_secs(DAY as u64 + 1));
    tessera::startup::prune(&app.state).await;
    assert_eq!(count().await, 2, "one row per table and run");
    tessera::startup::prune(&app.state).await;
    assert_eq!(count().await, 1);
    tessera::startup::prune(&app.state).await;
    assert_eq!(count().await, 1, "the live token stays");
    app.assert_accepted(secret(&live)).await;
}
