//! Checklist 2.J: token introspection.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::oidc_support::*;
use crate::support::TestApp;

async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> Value {
    let response = app.client_post("/oauth2/introspect", client, &[("token", token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn p_int_01_introspection_needs_client_authentication() {
    let app = TestApp::spawn().await;
    let public = app.public_client().await;
    let response = app
        .client
        .post(app.url("/oauth2/introspect"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let response = app
        .client
        .post(app.url("/oauth2/introspect"))
        .form(&[("token", "x"), ("client_id", public.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn p_int_02_an_active_access_token_is_described_consistently() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid email").await;
    let body = introspect(&app, &client, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "openid email");
    assert_eq!(body["client_id"], client.id.as_str());
    assert_eq!(body["sub"], user.id.as_str());
    assert_eq!(body["iss"], app.address.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["exp"].as_i64() > body["iat"].as_i64());
}

#[tokio::test]
async fn p_int_03_04_inactive_is_exactly_active_false() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let c2 = app.first_party().await;
    let tokens = app.code_flow(&c1, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(&app, &c2, access).await,
        json!({"active": false}),
        "another client's token"
    );
    for garbage in ["garbage", "tsr_x", "eyJhbGciOiJub25lIn0.e30."] {
        assert_eq!(introspect(&app, &c1, garbage).await, json!({"active": false}));
    }
    // A REST API token belongs to no client.
    let rest = app.login("alice", crate::support::PASSWORD).await;
    assert_eq!(introspect(&app, &c1, &rest.access).await, json!({"active": false}));
    app.advance_clock(Duration::from_secs(3601));
    assert_eq!(introspect(&app, &c1, access).await, json!({"active": false}), "expired");
}

#[tokio::test]
async fn p_int_05_refresh_tokens_have_a_defined_answer() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let body = introspect(&app, &client, rt).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["sub"], user.id.as_str());
    app.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!(introspect(&app, &client, rt).await, json!({"active": false}), "spent");
}
