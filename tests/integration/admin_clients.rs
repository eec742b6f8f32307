//! Managing clients: the admin REST API and `tessera admin create-client`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_error};

async fn admin(app: &TestApp) -> String {
    app.admin_login().await.access
}

#[tokio::test]
async fn administrators_create_list_get_update_rotate_and_delete_clients() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let url = app.url("/api/v1/admin/clients");
    let created = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({
            "name": "Billing",
            "redirect_uris": ["https://billing.example.test/cb"],
            "post_logout_redirect_uris": ["https://billing.example.test/bye"],
            "scopes": ["openid", "email"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(
        created.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let created: Value = created.json().await.unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tss_") && secret.len() > 43);
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(created["grant_types"], json!(["authorization_code", "refresh_token"]));

    let listed: Value = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        listed[0].get("client_secret").is_none(),
        "A-KEY-07: secrets never come back"
    );
    let one: Value = app
        .client
        .get(format!("{url}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["name"], "Billing");
    assert!(one.get("client_secret").is_none());

    let updated = app
        .client
        .put(format!("{url}/{id}"))
        .bearer_auth(&token)
        .json(
            &json!({ "name": "Billing 2", "redirect_uris": ["https://billing.example.test/cb2"], "first_party": true }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["redirect_uris"], json!(["https://billing.example.test/cb2"]));
    assert!(updated.get("client_secret").is_none(), "updating keeps the secret");

    let rotated: Value = app
        .client
        .post(format!("{url}/{id}/secret"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", "https://billing.example.test/cb2"),
    ];
    let old = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(&id, Some(&secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED, "the old secret stopped working");
    let new = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(&id, Some(new_secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        new.status(),
        StatusCode::BAD_REQUEST,
        "the new one authenticates (the code is bogus)"
    );

    let deleted = app
        .client
        .delete(format!("{url}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .client
        .get(format!("{url}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_error(gone, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn registrations_are_validated_field_by_field() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let response = app
        .client
        .post(app.url("/api/v1/admin/clients"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "",
            "redirect_uris": ["http://rp.example.test/cb", "https://rp.example.test/cb#x"],
            "grant_types": ["password", "client_credentials"],
            "public": true
        }))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["name", "redirect_uris", "grant_types"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let listed: Value = app
        .client
        .get(app.url("/api/v1/admin/clients"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "nothing stored");
}

#[tokio::test]
async fn only_administrators_manage_clients() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/api/v1/admin/clients")).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "token_missing").await;
    app.signup("alice").await;
    let alice = app.login("alice", crate::support::PASSWORD).await;
    let response = app.get_authorized("/api/v1/admin/clients", &alice.access).await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
}

#[tokio::test]
async fn the_cli_registers_clients_and_prints_the_secret_once() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .env_clear()
        .env("TESSERA_DATABASE__URL", &app.database.url)
        .env("TESSERA_LOG__LEVEL", "warn")
        .args([
            "admin",
            "create-client",
            "--name",
            "CLI client",
            "--redirect-uri",
            "https://cli.example.test/cb",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--post-logout-redirect-uri",
            "https://cli.example.test/bye",
            "--scope",
            "openid",
            "--first-party",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("one JSON object on stdout");
    let id = printed["client_id"].as_str().unwrap();
    assert!(printed["client_secret"].as_str().unwrap().starts_with("tss_"));
    let client = app.state.oidc.clients.get(id).await.unwrap();
    assert_eq!(client.redirect_uris.len(), 2);
    assert!(client.first_party);

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .env_clear()
        .env("TESSERA_DATABASE__URL", &app.database.url)
        .args([
            "admin",
            "create-client",
            "--name",
            "bad",
            "--redirect-uri",
            "javascript:alert(1)",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("redirect_uris"));
}
