//! Checklist 2.J: token introspection.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use tessera::oidc::clients::ClientSpec;

use crate::oidc_support::*;
use crate::support::{PASSWORD, TestApp};

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
    let rest = app.login("alice", PASSWORD).await;
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

/// A gateway (a confidential client marked as a resource server) sees every token of its own application —
/// access and refresh tokens of any client, the REST API's tokens, private tokens — with who and how, and
/// nothing of another application.
#[tokio::test]
async fn a_resource_server_introspects_every_token_of_its_application() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let web = app.first_party().await;
    let gateway = app
        .register(ClientSpec {
            name: Some("API gateway".into()),
            resource_server: true,
            ..ClientSpec::default()
        })
        .await;
    let default_app = app.state.apps.get("default").await.unwrap();

    let oauth = app.code_flow(&web, &user, "openid email").await;
    let body = introspect(&app, &gateway, oauth["access_token"].as_str().unwrap()).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], web.id.as_str());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["sub"], user.id.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["aud"], app.address.as_str());
    assert_eq!(body["acr"], "1");
    assert_eq!(body["amr"], json!(["pwd"]));
    assert_eq!(body["application_id"], default_app.id.as_str());
    assert_eq!(body["scope"], "openid email");
    let body = introspect(&app, &gateway, oauth["refresh_token"].as_str().unwrap()).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["client_id"], web.id.as_str());
    assert_eq!(body["username"], "alice");

    let rest = app.login("alice", PASSWORD).await;
    for token in [&rest.access, &rest.refresh] {
        let body = introspect(&app, &gateway, token).await;
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["username"], "alice");
        assert!(body.get("client_id").is_none(), "the REST API is no client: {body}");
    }
    let private = app
        .client
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&rest.access)
        .json(&json!({"description": "ci", "expires_at": tessera::clock::rfc3339(app.clock.now() + 86_400)}))
        .send()
        .await
        .unwrap();
    let private: Value = private.json().await.unwrap();
    let body = introspect(&app, &gateway, private["token"].as_str().unwrap()).await;
    assert_eq!(body["token_type"], "private_token");
    assert_eq!(body["username"], "alice");

    // Client credentials: a client acting for itself has no username.
    let svc = app.service_client().await;
    let issued: Value = app
        .token(&svc, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let body = introspect(&app, &gateway, issued["access_token"].as_str().unwrap()).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], svc.id.as_str());
    assert!(body.get("username").is_none());

    // Revoked is inactive for the gateway too.
    let response = app
        .client_post(
            "/oauth2/revoke",
            &web,
            &[("token", oauth["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, &gateway, oauth["access_token"].as_str().unwrap()).await,
        json!({"active": false})
    );

    // Another application's tokens stay invisible.
    let other = app.create_application(json!({"name": "Other"})).await;
    let foreign = app
        .register(ClientSpec {
            application: Some("other".into()),
            name: Some("Other web".into()),
            redirect_uris: vec![RP1_CB.into()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    assert_eq!(other["slug"], "other");
    let theirs = app.code_flow(&foreign, &user, "openid").await;
    for token in [&theirs["access_token"], &theirs["refresh_token"]] {
        assert_eq!(
            introspect(&app, &gateway, token.as_str().unwrap()).await,
            json!({"active": false})
        );
    }
    // A gateway gets no tokens of its own.
    let response = app.token(&gateway, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

#[tokio::test]
async fn only_a_confidential_client_can_be_a_resource_server_and_the_admin_api_says_which_is() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let response = app
        .client
        .post(app.url("/api/v1/admin/clients"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "Gateway", "resource_server": true, "public": true}))
        .send()
        .await
        .unwrap();
    let body = crate::support::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["resource_server"].is_string(), "{body}");
    let response = app
        .client
        .post(app.url("/api/v1/admin/clients"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "Gateway", "resource_server": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["resource_server"], true);
    assert_eq!(created["grant_types"], json!([]));
    assert!(created["client_secret"].is_string());
}
