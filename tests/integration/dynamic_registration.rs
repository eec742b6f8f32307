//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592) over HTTP: initial access
//! tokens from administrators, registration checked like an administrator's, and each client reading,
//! replacing and deleting its own registration with its registration access token.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::oidc_support::{RP1_CB, assert_oauth_error};
use crate::support::{TestApp, assert_error};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

async fn open_registration() -> TestApp {
    TestApp::spawn_with(|config| config.oauth.dynamic_registration = true).await
}

impl TestApp {
    /// An initial access token made through the admin API with `body`.
    async fn registration_token(&self, body: Value) -> Value {
        let admin = self.admin_login().await.access;
        let response = self
            .client
            .post(self.url("/api/v1/admin/registration-tokens"))
            .bearer_auth(admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.unwrap()
    }

    async fn register_dynamically(&self, token: Option<&str>, metadata: &Value) -> Response {
        let mut request = self.client.post(self.url("/oauth2/register")).json(metadata);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// A refresh with a made-up token: `invalid_grant` once the client authenticated, `invalid_client` if not.
    async fn client_authenticates(&self, id: &str, secret: &str) -> bool {
        let response = self
            .client
            .post(self.url("/oauth2/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "tsr_nothing")])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["error"] == "invalid_grant"
    }
}

fn metadata() -> Value {
    json!({
        "client_name": "Photo printer",
        "redirect_uris": [RP1_CB],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid email",
        "backchannel_logout_uri": "https://printer.example.test/logged-out",
        "logo_uri": "https://printer.example.test/logo.png"
    })
}

#[tokio::test]
async fn registration_is_off_unless_configured() {
    let app = TestApp::spawn().await;
    let response = app.register_dynamically(None, &metadata()).await;
    assert_oauth_error(response, StatusCode::NOT_FOUND, "invalid_request").await;
    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(discovery.get("registration_endpoint").is_none());
}

#[tokio::test]
async fn a_client_registers_reads_replaces_and_deletes_itself() {
    let app = open_registration().await;
    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["registration_endpoint"], app.url("/oauth2/register"));
    let initial = app
        .registration_token(json!({"description": "printers", "uses": 1}))
        .await;
    let initial = initial["token"].as_str().unwrap().to_owned();
    assert!(initial.starts_with("tsi_"));

    let response = app.register_dynamically(Some(&initial), &metadata()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let registered: Value = response.json().await.unwrap();
    let id = registered["client_id"].as_str().unwrap().to_owned();
    let secret = registered["client_secret"].as_str().unwrap().to_owned();
    let access = registered["registration_access_token"].as_str().unwrap().to_owned();
    let uri = registered["registration_client_uri"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tss_") && access.starts_with("tsm_"));
    assert_eq!(uri, app.url(&format!("/oauth2/register/{id}")));
    assert_eq!(registered["client_secret_expires_at"], 0);
    assert_eq!(registered["client_name"], "Photo printer");
    assert_eq!(registered["redirect_uris"], json!([RP1_CB]));
    assert_eq!(
        registered["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(registered["response_types"], json!(["code"]));
    assert_eq!(registered["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(registered["scope"], "openid email");
    assert_eq!(
        registered["backchannel_logout_uri"],
        "https://printer.example.test/logged-out"
    );
    assert_eq!(registered["backchannel_logout_session_required"], false);
    assert!(registered.get("logo_uri").is_none(), "members not kept are not echoed");
    assert!(app.client_authenticates(&id, &secret).await);
    let client = app.state.oidc.clients.get(&id).await.unwrap();
    assert!(!client.first_party, "people always see the consent page");

    // The token allowed one registration.
    let again = app.register_dynamically(Some(&initial), &metadata()).await;
    let challenge = again.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_oauth_error(again, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // RFC 7592 §2.1: read with the registration access token, and only with it.
    let read = app.client.get(&uri).bearer_auth(&access).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["client_id"], id.as_str());
    assert_eq!(read["registration_access_token"], access.as_str());
    assert!(read.get("client_secret").is_none(), "stored as a hash, shown once");
    for token in [None, Some("tsm_nothing"), Some(secret.as_str())] {
        let mut request = app.client.get(&uri);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }

    // §2.2: a replacement names the client, and carries its secret right if at all.
    let put = |body: Value| app.client.put(&uri).bearer_auth(&access).json(&body).send();
    let mut replacement = metadata();
    replacement["client_name"] = json!("Photo printer 2");
    let response = put(replacement.clone()).await.unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client_metadata").await;
    replacement["client_id"] = json!(id);
    replacement["client_secret"] = json!("tss_wrong");
    let response = put(replacement.clone()).await.unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client_metadata").await;
    replacement["client_secret"] = json!(secret);
    let response = put(replacement).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["client_name"], "Photo printer 2");
    assert!(app.client_authenticates(&id, &secret).await, "the secret stays");

    // §2.3: deleted, the client and its registration access token are gone.
    let deleted = app.client.delete(&uri).bearer_auth(&access).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let read = app.client.get(&uri).bearer_auth(&access).send().await.unwrap();
    assert_oauth_error(read, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert!(!app.client_authenticates(&id, &secret).await);
}

#[tokio::test]
async fn registrations_are_checked_like_an_administrators() {
    let app = open_registration().await;
    let initial = app.registration_token(json!({"uses": 1})).await;
    let initial = initial["token"].as_str().unwrap();
    let app_ref = &app;
    let refused = |metadata: Value| async move { app_ref.register_dynamically(Some(initial), &metadata).await };

    let mut bad_redirect = metadata();
    bad_redirect["redirect_uris"] = json!(["javascript:alert(1)"]);
    assert_oauth_error(
        refused(bad_redirect).await,
        StatusCode::BAD_REQUEST,
        "invalid_redirect_uri",
    )
    .await;
    for (member, value) in [
        ("response_types", json!(["token"])),
        ("grant_types", json!(["password"])),
        ("token_endpoint_auth_method", json!("tls_client_auth")),
        ("client_id", json!("mine")),
        ("client_name", json!("tab\tname")),
        ("redirect_uris", json!("https://one.example.test/cb")),
    ] {
        let mut body = metadata();
        body[member] = value;
        let response = refused(body).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client_metadata").await;
    }
    let response = app
        .client
        .post(app.url("/oauth2/register"))
        .bearer_auth(initial)
        .form(&[("client_name", "form")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client_metadata").await;

    // Refusals gave the one use back; a public client gets no secret.
    let public = json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"});
    let response = app.register_dynamically(Some(initial), &public).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await.unwrap();
    assert!(registered.get("client_secret").is_none() && registered.get("client_secret_expires_at").is_none());
    assert_eq!(registered["client_name"], "Unnamed client");
    assert_eq!(registered["grant_types"], json!(["authorization_code"]));
}

#[tokio::test]
async fn initial_tokens_expire_are_revoked_and_are_for_administrators() {
    let app = open_registration().await;
    let admin = app.admin_login().await.access;
    let url = app.url("/api/v1/admin/registration-tokens");
    for body in [
        json!({"uses": 0}),
        json!({"expires_in_days": 400}),
        json!({"application": "nowhere"}),
    ] {
        let response = app
            .client
            .post(&url)
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let alice = app.signup("alice").await;
    let alice = app.login(&alice.username, crate::support::PASSWORD).await;
    let response = app.client.get(&url).bearer_auth(&alice.access).send().await.unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;

    let short = app.registration_token(json!({"expires_in_days": 1})).await;
    let revoked = app.registration_token(json!({"description": "to revoke"})).await;
    let response = app
        .client
        .delete(format!("{url}/{}", revoked["id"].as_str().unwrap()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let listed: Value = app
        .client
        .get(&url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed.as_array().unwrap().iter().all(|t| t.get("token").is_none()));
    let listed_revoked = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == revoked["id"])
        .unwrap();
    assert!(listed_revoked["revoked_at"].is_string());
    let response = app.register_dynamically(revoked["token"].as_str(), &metadata()).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;

    app.advance_clock(DAY + Duration::from_secs(1));
    let response = app.register_dynamically(short["token"].as_str(), &metadata()).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // Past the retention period (30 days) both are pruned.
    app.advance_clock(31 * DAY);
    tessera::startup::prune(&app.state).await;
    let admin = app.admin_login().await.access;
    let listed: Value = app
        .client
        .get(&url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn the_cli_makes_an_initial_token_shown_once() {
    let app = open_registration().await;
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .env_clear()
        .env("TESSERA_DATABASE__URL", &app.database.url)
        .env("TESSERA_LOG__LEVEL", "warn")
        .args([
            "admin",
            "create-registration-token",
            "--uses",
            "2",
            "--days",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["uses_left"], 2);
    let response = app.register_dynamically(printed["token"].as_str(), &metadata()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_client_registers_its_keys_for_private_key_jwt() {
    use crate::client_assertions::{SigningKey, assertion, claims};
    let app = open_registration().await;
    let initial = app.registration_token(json!({"description": "keyed services"})).await;
    let initial = initial["token"].as_str().unwrap().to_owned();
    let ec = SigningKey::ec();
    let keyed = |extra: Value| {
        let mut body = json!({"client_name": "Keyed service", "grant_types": ["client_credentials"],
            "response_types": [], "token_endpoint_auth_method": "private_key_jwt"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for refused in [
        keyed(json!({})),
        keyed(json!({"jwks_uri": "https://keyed.example.test/jwks"})),
        keyed(json!({"jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}})),
    ] {
        let response = app.register_dynamically(Some(&initial), &refused).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client_metadata").await;
    }
    let response = app
        .register_dynamically(Some(&initial), &keyed(json!({"jwks": {"keys": [ec.jwk("k1")]}})))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await.unwrap();
    assert!(registered.get("client_secret").is_none() && registered.get("client_secret_expires_at").is_none());
    assert_eq!(registered["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(registered["jwks"]["keys"][0]["kid"], "k1");
    let id = registered["client_id"].as_str().unwrap();
    let issuer = app.state.config.issuer().to_owned();
    let response =
        crate::client_assertions::cc_with(&app, &assertion(&ec, Some("k1"), &claims(&app, id, &issuer))).await;
    assert_eq!(response.status(), StatusCode::OK);
}
