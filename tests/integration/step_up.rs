//! Step-up after idle time: an application with `idle_timeout_secs` refuses a refresh of a family idle longer
//! than that (to the second), or whose client says the app was offloaded (`resume`), with `401 step_up_required`
//! naming the proofs; the PIN (or the password) steps up. Refreshes, the heartbeat, bearer requests and userinfo
//! count as activity; OAuth clients sign in again.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;

use crate::jwks::decode_segment;
use crate::support::{PASSWORD, TestApp, assert_error};

const IDLE: u64 = 300;

/// A server with an application that asks again after [`IDLE`] seconds, and its API key client.
async fn bank() -> (TestApp, Value, reqwest::Client) {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let response = app
        .client
        .post(app.url("/api/v1/admin/apps"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "Bank", "idle_timeout_secs": 10}))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"].get("idle_timeout_secs").is_some(), "{body}");
    let bank = app
        .create_application(json!({"name": "Bank", "idle_timeout_secs": IDLE}))
        .await;
    assert_eq!(bank["idle_timeout_secs"], json!(IDLE));
    let key = app
        .create_api_key(bank["id"].as_str().unwrap(), json!({"name": "web"}))
        .await;
    (
        app,
        bank,
        crate::applications::with_key(Some(key["key"].as_str().unwrap())),
    )
}

async fn post(api: &reqwest::Client, app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    api.post(app.url(path)).json(&body).send().await.unwrap()
}

async fn tokens(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn an_idle_family_steps_up_with_the_pin() {
    let (app, _, api) = bank().await;
    app.signup("ana").await;
    let (access, mut refresh) = tokens(
        post(
            &api,
            &app,
            "/api/v1/auth/login",
            json!({"login": "ana", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    let response = api
        .put(app.url("/api/v1/user/pin"))
        .bearer_auth(&access)
        .json(&json!({"pin": "4711"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // To the second: idle exactly the timeout is still fresh; one second more is not.
    app.advance_clock(Duration::from_secs(IDLE));
    (_, refresh) = tokens(post(&api, &app, "/api/v1/auth/refresh", json!({"refresh_token": refresh})).await).await;
    app.advance_clock(Duration::from_secs(IDLE + 1));
    let response = post(&api, &app, "/api/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    let body = assert_error(response, StatusCode::UNAUTHORIZED, "step_up_required").await;
    assert_eq!(body["required"], json!(["pin", "password"]));

    // The token was not spent: a wrong PIN is refused, the right one steps up.
    let wrong = json!({"refresh_token": refresh, "pin": "0000"});
    assert_error(
        post(&api, &app, "/api/v1/auth/step-up", wrong).await,
        StatusCode::FORBIDDEN,
        "wrong_pin",
    )
    .await;
    let response = post(
        &api,
        &app,
        "/api/v1/auth/step-up",
        json!({"refresh_token": refresh, "pin": "4711"}),
    )
    .await;
    let (access, next) = tokens(response).await;
    refresh = next;
    let claims = decode_segment(&access, 1);
    assert_eq!(claims["amr"], json!(["pwd", "pin"]), "{claims}");
    assert_eq!(
        claims["auth_time"],
        json!(app.clock.now()),
        "the step-up is the last proof"
    );
    (_, refresh) = tokens(post(&api, &app, "/api/v1/auth/refresh", json!({"refresh_token": refresh})).await).await;

    // The app was offloaded: the same check, however recent the activity.
    let response = post(
        &api,
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": refresh, "resume": true}),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "step_up_required").await;

    // The heartbeat and bearer requests keep the family fresh.
    app.advance_clock(Duration::from_secs(IDLE - 10));
    let response = api
        .post(app.url("/api/v1/auth/activity"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.advance_clock(Duration::from_secs(IDLE - 10));
    let response = api
        .get(app.url("/api/v1/user"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.advance_clock(Duration::from_secs(IDLE - 10));
    tokens(post(&api, &app, "/api/v1/auth/refresh", json!({"refresh_token": refresh})).await).await;
}

#[tokio::test]
async fn without_a_pin_the_password_steps_up_and_oauth_clients_sign_in_again() {
    let (app, bank, api) = bank().await;
    let bo = app.signup("bob").await;
    let (_, refresh) = tokens(
        post(
            &api,
            &app,
            "/api/v1/auth/login",
            json!({"login": "bob", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    app.advance_clock(Duration::from_secs(IDLE + 1));
    let response = post(&api, &app, "/api/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    let body = assert_error(response, StatusCode::UNAUTHORIZED, "step_up_required").await;
    assert_eq!(body["required"], json!(["password"]));
    let response = post(&api, &app, "/api/v1/auth/step-up", json!({"refresh_token": refresh})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let response = post(
        &api,
        &app,
        "/api/v1/auth/step-up",
        json!({"refresh_token": refresh, "pin": "1234"}),
    )
    .await;
    assert_error(response, StatusCode::FORBIDDEN, "wrong_pin").await;
    let response = post(
        &api,
        &app,
        "/api/v1/auth/step-up",
        json!({"refresh_token": refresh, "password": "nope nope"}),
    )
    .await;
    assert_error(response, StatusCode::FORBIDDEN, "wrong_password").await;
    let response = post(
        &api,
        &app,
        "/api/v1/auth/step-up",
        json!({"refresh_token": refresh, "password": PASSWORD}),
    )
    .await;
    tokens(response).await;

    let client = app
        .register(ClientSpec {
            application: Some(bank["id"].as_str().unwrap().to_owned()),
            name: Some("Bank Web".into()),
            redirect_uris: vec!["https://bank.example.com/cb".into()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let granted = app.code_flow(&client, &bo, "openid offline_access").await;
    let mut refresh_token = granted["refresh_token"].as_str().expect("a refresh token").to_owned();
    // Userinfo with the family's access token is activity too.
    app.advance_clock(Duration::from_secs(IDLE - 10));
    let response = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(granted["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.advance_clock(Duration::from_secs(IDLE - 10));
    let response = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    refresh_token = refreshed["refresh_token"].as_str().unwrap().to_owned();
    app.advance_clock(Duration::from_secs(IDLE + 1));
    let response = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
}
