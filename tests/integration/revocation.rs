//! Checklist 2.I: token revocation.

use reqwest::StatusCode;
use serde_json::Value;

use crate::oidc_support::*;
use crate::support::TestApp;

async fn active(app: &TestApp, client: &TestClient, token: &str) -> bool {
    let body: Value = app
        .client_post("/oauth2/introspect", client, &[("token", token)])
        .await
        .json()
        .await
        .unwrap();
    body["active"] == true
}

#[tokio::test]
async fn p_rev_01_04_revoking_a_refresh_token_ends_its_grant_whatever_the_hint() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    for hint in ["refresh_token", "access_token"] {
        let tokens = app.code_flow(&client, &user, "openid").await;
        let rt = tokens["refresh_token"].as_str().unwrap();
        let response = app
            .client_post("/oauth2/revoke", &client, &[("token", rt), ("token_type_hint", hint)])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = app
            .token(&client, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
            .await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        assert!(!active(&app, &client, tokens["access_token"].as_str().unwrap()).await);
    }
}

#[tokio::test]
async fn p_rev_02_revoking_an_access_token_takes_effect_at_once() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert!(active(&app, &client, access).await);
    assert_eq!(
        app.client_post("/oauth2/revoke", &client, &[("token", access)])
            .await
            .status(),
        StatusCode::OK
    );
    assert!(!active(&app, &client, access).await);
    assert_eq!(
        app.get_authorized("/oauth2/userinfo", access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_authorized("/api/v1/user", access).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A stand-alone client-credentials token is remembered as revoked.
    let svc = app.service_client().await;
    let cc = &app.client_credentials_token(&svc).await;
    assert!(active(&app, &svc, cc).await);
    assert_eq!(
        app.client_post("/oauth2/revoke", &svc, &[("token", cc)]).await.status(),
        StatusCode::OK
    );
    assert!(!active(&app, &svc, cc).await);
}

#[tokio::test]
async fn p_rev_03_05_unknown_tokens_succeed_unsupported_types_do_not() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    for token in ["garbage", "tsr_unknown", "a.b.c"] {
        let response = app.client_post("/oauth2/revoke", &client, &[("token", token)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{token}");
    }
    let tokens = app.code_flow(&client, &user, "openid").await;
    let response = app
        .client_post(
            "/oauth2/revoke",
            &client,
            &[("token", tokens["id_token"].as_str().unwrap())],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unsupported_token_type").await;
}

/// RFC 7009 §2.1: a hint that is unknown, or names another type than the token's, does not stop the search.
#[tokio::test]
async fn p_rev_04_any_hint_is_only_a_hint() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    for hint in ["id_token", "private_token", "no_such_type", "access_token"] {
        let tokens = app.code_flow(&client, &user, "openid").await;
        let rt = tokens["refresh_token"].as_str().unwrap();
        let response = app
            .client_post("/oauth2/revoke", &client, &[("token", rt), ("token_type_hint", hint)])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "hint {hint}");
        assert!(
            !active(&app, &client, rt).await,
            "hint {hint}: the refresh token was revoked"
        );
        let access = tokens["access_token"].as_str().unwrap();
        assert!(!active(&app, &client, access).await, "hint {hint}: with its grant");
    }
    let tokens = app.code_flow(&client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = app
        .client_post(
            "/oauth2/revoke",
            &client,
            &[("token", access), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!active(&app, &client, access).await);
    let response = app
        .client_post(
            "/oauth2/revoke",
            &client,
            &[("token", "x"), ("token_type_hint", "id_token")],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "an unknown token with any hint is a no-op"
    );
}

#[tokio::test]
async fn p_rev_06_07_08_authentication_ownership_and_method() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let c2 = app.first_party().await;
    let tokens = app.code_flow(&c1, &user, "openid").await;
    let rt = tokens["refresh_token"].as_str().unwrap();

    let response = app
        .client
        .post(app.url("/oauth2/revoke"))
        .form(&[("token", rt)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let wrong = TestClient {
        secret: Some("tss_wrong".into()),
        ..c1.clone()
    };
    let response = app.client_post("/oauth2/revoke", &wrong, &[("token", rt)]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // Another client's token: answered as success, left untouched.
    assert_eq!(
        app.client_post("/oauth2/revoke", &c2, &[("token", rt)]).await.status(),
        StatusCode::OK
    );
    assert!(active(&app, &c1, rt).await);

    let response = app
        .client
        .get(app.url(&format!("/oauth2/revoke?token={rt}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(active(&app, &c1, rt).await);
}

/// A client-credentials token revoked before an instance starts is inactive there (SQLite: the instance reads
/// the record into its index at start); on PostgreSQL, where instances share the database, a token revoked at
/// one running instance is inactive at another at once. Tokens never revoked stay active at both.
#[tokio::test]
async fn a_revocation_holds_at_a_restarted_or_other_instance() {
    let app = TestApp::spawn().await;
    let svc = app.service_client().await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(app.client_credentials_token(&svc).await);
    }
    let early = app.spawn_sibling(|_| {}).await;
    for token in &tokens[..2] {
        assert_eq!(
            app.client_post("/oauth2/revoke", &svc, &[("token", token)])
                .await
                .status(),
            StatusCode::OK
        );
    }
    let late = app.spawn_sibling(|_| {}).await;
    for instance in [&app, &late] {
        assert!(!active(instance, &svc, &tokens[0]).await);
        assert!(!active(instance, &svc, &tokens[1]).await);
        assert!(active(instance, &svc, &tokens[2]).await);
    }
    if app.state.db.is_postgres() {
        assert!(!active(&early, &svc, &tokens[0]).await);
        assert!(active(&early, &svc, &tokens[2]).await);
    }
}
