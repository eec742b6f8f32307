//! Checklist 2.F: refresh tokens at the token endpoint.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::TestApp;

async fn refresh(app: &TestApp, client: &TestClient, token: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    app.token(client, &form).await
}

async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> Value {
    app.client_post("/oauth2/introspect", client, &[("token", token)])
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn p_rt_01_02_rotation_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let first = app.code_flow(&client, &user, "openid email").await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let response = refresh(&app, &client, rt1, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    assert_eq!(second["scope"], "openid email", "scope = original when omitted");

    assert_oauth_error(
        refresh(&app, &client, rt1, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        refresh(&app, &client, rt2, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let at2 = second["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(&app, &client, at2).await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn p_rt_03_parallel_refreshes_never_leave_two_successors() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    let rt1 = tokens["refresh_token"].as_str().unwrap();
    let responses = join_all((0..20).map(|_| refresh(&app, &client, rt1, &[]))).await;
    let mut successors = Vec::new();
    for response in responses {
        if response.status() == StatusCode::OK {
            let body: Value = response.json().await.unwrap();
            successors.push(body["refresh_token"].as_str().unwrap().to_owned());
        }
    }
    assert!(successors.len() <= 1);
    for rt in successors {
        assert_oauth_error(
            refresh(&app, &client, &rt, &[]).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    }
}

#[tokio::test]
async fn p_rt_04_there_is_no_grace_period() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    let rt1 = tokens["refresh_token"].as_str().unwrap();
    let _lost_response = refresh(&app, &client, rt1, &[]).await;
    assert_oauth_error(
        refresh(&app, &client, rt1, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn p_rt_05_refresh_tokens_are_bound_to_their_client() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let c2 = app.first_party().await;
    let tokens = app.code_flow(&c1, &user, "openid").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_oauth_error(
        refresh(&app, &c2, rt, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        refresh(&app, &c1, rt, &[]).await.status(),
        StatusCode::OK,
        "unspent by the foreign attempt"
    );

    // A REST-API refresh token is no good here, and an OIDC one is no good at the REST API.
    app.signup("bob").await;
    let rest = app.login("bob", crate::support::PASSWORD).await;
    assert_oauth_error(
        refresh(&app, &c1, &rest.refresh, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let oidc = app.code_flow(&c1, &user, "openid").await;
    let response = app.refresh_raw(oidc["refresh_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn p_rt_06_scope_can_narrow_never_widen() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid email").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let response = refresh(&app, &client, rt, &[("scope", "openid profile")]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    let response = refresh(&app, &client, rt, &[("scope", "openid")]).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the refused attempt did not spend it"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "openid");
}

#[tokio::test]
async fn p_rt_07_11_other_tokens_are_not_refresh_tokens_and_vice_versa() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    for wrong in [&tokens["access_token"], &tokens["id_token"]] {
        let response = refresh(&app, &client, wrong.as_str().unwrap(), &[]).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    let response = app
        .get_authorized("/oauth2/userinfo", tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn p_rt_08_refresh_tokens_have_an_absolute_end() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let mut rt = app.code_flow(&client, &user, "openid").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        app.advance_clock(Duration::from_secs(14 * 24 * 3600));
        let body: Value = refresh(&app, &client, &rt, &[]).await.json().await.unwrap();
        rt = body["refresh_token"].as_str().unwrap().to_owned();
    }
    app.advance_clock(Duration::from_secs(3 * 24 * 3600));
    assert_oauth_error(
        refresh(&app, &client, &rt, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn p_rt_09_disabled_users_logout_disabled_clients_and_rotated_secrets_end_refreshes() {
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
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_oauth_error(
        refresh(&app, &client, rt, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        introspect(&app, &client, tokens["access_token"].as_str().unwrap()).await["active"],
        false
    );
    app.state
        .auth
        .accounts
        .set_active("alice", true, app.clock.now())
        .await
        .unwrap();

    let tokens = app.code_flow(&client, &user, "openid").await;
    let rotated = app
        .state
        .oidc
        .clients
        .rotate_secret(&client.id, app.clock.now())
        .await
        .unwrap();
    let response = refresh(&app, &client, tokens["refresh_token"].as_str().unwrap(), &[]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let client = TestClient {
        secret: rotated.secret,
        ..client
    };

    let spec = tessera::oidc::clients::ClientSpec {
        name: Some("First Party".into()),
        redirect_uris: vec![RP1_CB.into()],
        first_party: true,
        is_active: Some(false),
        ..Default::default()
    };
    app.state
        .oidc
        .clients
        .update(&client.id, spec, app.clock.now())
        .await
        .unwrap();
    let response = refresh(&app, &client, tokens["refresh_token"].as_str().unwrap(), &[]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn p_rt_10_12_refreshed_id_tokens_keep_the_original_authentication() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let first = app.code_flow(&client, &user, "openid").await;
    let rt = first["refresh_token"].as_str().unwrap();
    assert!(rt.starts_with("tsr_") && rt.len() > 43, "P-RT-10: 256 random bits");
    app.advance_clock(Duration::from_secs(60));
    let second: Value = refresh(&app, &client, rt, &[]).await.json().await.unwrap();
    let (a, b) = (
        decode_segment(first["id_token"].as_str().unwrap(), 1),
        decode_segment(second["id_token"].as_str().unwrap(), 1),
    );
    for claim in ["iss", "sub", "aud", "azp", "auth_time", "acr", "amr", "sid"] {
        assert_eq!(a[claim], b[claim], "P-IDT-08: {claim}");
    }
    assert!(b["iat"].as_i64() > a["iat"].as_i64());
}
