//! Checklist 2.H: the UserInfo endpoint.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::TestApp;

#[tokio::test]
async fn p_ui_01_02_claims_by_scope_by_get_or_post() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid email").await;
    let access = tokens["access_token"].as_str().unwrap();
    let sub = decode_segment(tokens["id_token"].as_str().unwrap(), 1)["sub"].clone();

    let response = app.get_authorized("/oauth2/userinfo", access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let claims: Value = response.json().await.unwrap();
    assert_eq!(claims["sub"], sub);
    assert_eq!(claims["email"], "alice@example.org");
    assert_eq!(claims["email_verified"], false);
    assert!(
        claims["preferred_username"].is_null(),
        "no profile scope, no profile claims"
    );

    let by_header = app
        .client
        .post(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
    let by_body = app
        .client
        .post(app.url("/oauth2/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(by_body.status(), StatusCode::OK);

    let profile = app.code_flow(&client, &user, "openid profile").await;
    let claims: Value = app
        .get_authorized("/oauth2/userinfo", profile["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(claims["preferred_username"], "alice");
    assert!(claims["email"].is_null());
}

#[tokio::test]
async fn p_ui_03_04_05_07_08_token_presentation_errors() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();

    let response = app
        .client
        .get(app.url(&format!("/oauth2/userinfo?access_token={access}")))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    // No token: the OAuth error body, and a challenge without an error code (RFC 6750 §3.1).
    let response = app.client.get(app.url("/oauth2/userinfo")).send().await.unwrap();
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer") && !challenge.contains("error="),
        "{challenge}"
    );
    let body = assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert!(body.get("code").is_none(), "not the REST shape: {body}");

    for bad in [
        "garbage",
        tokens["id_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    ] {
        let response = app.get_authorized("/oauth2/userinfo", bad).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains(r#"error="invalid_token""#)
        );
    }

    let response = app
        .client
        .post(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    app.advance_clock(Duration::from_secs(3601));
    let response = app.get_authorized("/oauth2/userinfo", access).await;
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn p_ui_06_without_openid_the_scope_is_insufficient() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "email").await;
    let response = app
        .get_authorized("/oauth2/userinfo", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="insufficient_scope""#)
    );
}

#[tokio::test]
async fn p_ui_09_a_disabled_users_token_stops() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    app.state
        .auth
        .accounts
        .set_active("alice", false, app.clock.now())
        .await
        .unwrap();
    let response = app
        .get_authorized("/oauth2/userinfo", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
