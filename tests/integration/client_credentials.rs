//! Checklist 2.G: the client-credentials grant.

use reqwest::StatusCode;
use serde_json::Value;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::TestApp;

#[tokio::test]
async fn p_cc_01_a_service_gets_an_access_token_only() {
    let app = TestApp::spawn().await;
    let svc = app.service_client().await;
    let response = app
        .token(&svc, &[("grant_type", "client_credentials"), ("scope", "api:read")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["refresh_token"].is_null() && body["id_token"].is_null());
    assert_eq!(body["scope"], "api:read");
    let claims = decode_segment(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], svc.id.as_str());
    assert_eq!(claims["client_id"], svc.id.as_str());
}

#[tokio::test]
async fn p_cc_02_03_04_only_allowed_clients_and_scopes() {
    let app = TestApp::spawn().await;
    let public = app.public_client().await;
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", public.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    let c1 = app.c1().await;
    let response = app.token(&c1, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    let svc = app.service_client().await;
    for scope in ["api:admin", "openid", "api:read offline_access"] {
        let response = app
            .token(&svc, &[("grant_type", "client_credentials"), ("scope", scope)])
            .await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    }
}

#[tokio::test]
async fn p_cc_05_06_no_end_user_at_userinfo_and_disabled_services_stop() {
    let app = TestApp::spawn().await;
    let svc = app.service_client().await;
    let body: Value = app
        .token(&svc, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .get_authorized("/oauth2/userinfo", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let rotated = app
        .state
        .oidc
        .clients
        .rotate_secret(&svc.id, app.clock.now())
        .await
        .unwrap();
    let response = app.token(&svc, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let svc = TestClient {
        secret: rotated.secret,
        ..svc
    };
    assert_eq!(
        app.token(&svc, &[("grant_type", "client_credentials")]).await.status(),
        StatusCode::OK
    );
}
