//! The drop-in profiles, with the exact requests of the products' documents: appmixer (`/user/auth`, `/user`),
//! emnify (`/api/v1/authenticate`, `/api/v1/application_token`) and cellmobs (`/v1/auth/login`). Off, their paths
//! are 404; on, a request without a key belongs to the profile's application and a key of another one is refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::applications::with_key;
use crate::jwks::decode_segment;
use crate::support::{TestApp, assert_error};

/// A server with every profile on for the default application, and passwords of six characters allowed (the
/// documents' examples use `abc321`).
async fn with_profiles(query_credentials: bool) -> TestApp {
    TestApp::spawn_with(|config| {
        config.password.min_length = 6;
        config.compat.appmixer.application = Some("default".into());
        config.compat.emnify.application = Some("default".into());
        config.compat.cellmobs.application = Some("default".into());
        config.compat.cellmobs.allow_query_credentials = query_credentials;
    })
    .await
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> reqwest::Response {
    client.post(url).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn profiles_that_are_off_have_no_paths() {
    let app = TestApp::spawn().await;
    for (path, body) in [
        (
            "/user/auth",
            json!({"username": "abc@example.com", "password": "abc321"}),
        ),
        (
            "/user",
            json!({"username": "abc", "email": "abc@example.com", "password": "abc321"}),
        ),
        ("/api/v1/authenticate", json!({"username": "abc", "password": "abc321"})),
        ("/api/v1/application_token", json!({"description": "x"})),
        ("/v1/auth/login", json!({"username": "abc", "password": "abc321"})),
    ] {
        let response = post(&app.client, app.url(path), body).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn appmixer_signs_up_signs_in_and_shows_the_account() {
    let app = with_profiles(false).await;
    let bare = with_key(None);
    // The product's accounts may be named by their e-mail address: allowed when it is the account's.
    let body = json!({"username": "abc@example.com", "email": "abc@example.com", "password": "abc321"});
    let response = post(&bare, app.url("/user"), body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let created: Value = response.json().await.unwrap();
    assert!(
        created["token"].as_str().is_some_and(|t| t.split('.').count() == 3),
        "{created}"
    );
    let body = json!({"username": "xyz@example.com", "email": "abc2@example.com", "password": "abc321"});
    let response = post(&bare, app.url("/user"), body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"].is_string() && error.get("code").is_none(), "{error}");

    for body in [
        json!({"username": "abc@example.com", "password": "abc321"}),
        json!({"email": "abc@example.com", "password": "abc321"}),
    ] {
        let response = post(&bare, app.url("/user/auth"), body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let signed_in: Value = response.json().await.unwrap();
        let user = &signed_in["user"];
        assert_eq!(user["username"], "abc@example.com");
        assert_eq!(user["email"], "abc@example.com");
        assert_eq!(user["isActive"], true);
        assert_eq!(user["plan"], "free");
        assert!(user["id"].is_string());
        let token = signed_in["token"].as_str().unwrap();
        let me: Value = bare
            .get(app.url("/user"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["scope"], json!(["user"]), "{me}");
        assert_eq!(me["username"], "abc@example.com");
    }
    let response = post(
        &bare,
        app.url("/user/auth"),
        json!({"username": "abc@example.com", "password": "wrong1"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"].is_string(), "{error}");

    // An administrator's scope lists admin; the plan is the administrators' to set.
    let admin = app.admin_login().await;
    let me: Value = bare
        .get(app.url("/user"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["scope"], json!(["user", "admin"]), "{me}");
    let id = created_id(&app, "abc@example.com").await;
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{id}")))
        .bearer_auth(&admin.access)
        .json(&json!({"plan": "enterprise"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = post(
        &bare,
        app.url("/user/auth"),
        json!({"email": "abc@example.com", "password": "abc321"}),
    )
    .await;
    let signed_in: Value = response.json().await.unwrap();
    assert_eq!(signed_in["user"]["plan"], "enterprise");
}

/// The id of the account `login` signs in as.
async fn created_id(app: &TestApp, login: &str) -> String {
    let tokens = app.login(login, "abc321").await;
    decode_segment(&tokens.access, 1)["sub"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn appmixer_signup_limits_use_the_products_words() {
    let app = TestApp::spawn_with(|config| {
        config.password.min_length = 6;
        config.compat.appmixer.application = Some("default".into());
        config.signup.rate_limit_email = 1;
    })
    .await;
    let bare = with_key(None);
    let body = json!({"username": "abc", "email": "abc@example.com", "password": "abc321"});
    assert_eq!(post(&bare, app.url("/user"), body).await.status(), StatusCode::OK);
    let body = json!({"username": "abd", "email": "abc@example.com", "password": "abc321"});
    let response = post(&bare, app.url("/user"), body).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error,
        json!({"error": "Too many signup attempts for this email address. Please try again later."})
    );
}

#[tokio::test]
async fn emnify_authenticates_refreshes_and_exchanges_application_tokens() {
    let app = with_profiles(false).await;
    app.signup_raw("abc", "abc@example.com", "abc321").await;
    let bare = with_key(None);
    let response = post(
        &bare,
        app.url("/api/v1/authenticate"),
        json!({"username": "abc@example.com", "password": "abc321"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    let auth_token = pair["auth_token"].as_str().unwrap();
    let claims = decode_segment(auth_token, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        240 * 60,
        "the profile's application's tokens live 240 minutes"
    );
    let response = post(
        &bare,
        app.url("/api/v1/authenticate"),
        json!({"refresh_token": pair["refresh_token"]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    assert_ne!(rotated["refresh_token"], pair["refresh_token"]);
    // The old one again: reuse, and the family ends.
    let response = post(
        &bare,
        app.url("/api/v1/authenticate"),
        json!({"refresh_token": pair["refresh_token"]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let session: Value = post(
        &bare,
        app.url("/api/v1/authenticate"),
        json!({"username": "abc", "password": "abc321"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let bearer = session["auth_token"].as_str().unwrap();
    let create = |body: Value| {
        bare.post(app.url("/api/v1/application_token"))
            .bearer_auth(bearer)
            .json(&body)
            .send()
    };
    let response = create(json!({"description": "CI", "expiry_date": "2021-10-29"}))
        .await
        .unwrap();
    let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(error["fields"].get("expires_at").is_some(), "a past day: {error}");
    let response = create(json!({"description": "CI", "expiry_date": "2027-10-29"}))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let made: Value = response.json().await.unwrap();
    assert_eq!(made["expiry_date"], "2027-10-29T23:59:59Z");
    let response = create(json!({"description": "no date"})).await.unwrap();
    let longest: Value = response.json().await.unwrap();
    assert!(
        longest["expiry_date"].is_string(),
        "the longest lifetime is said: {longest}"
    );

    let token = made["application_token"].as_str().unwrap();
    let response = post(
        &bare,
        app.url("/api/v1/authenticate"),
        json!({"application_token": token}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let exchanged: Value = response.json().await.unwrap();
    assert!(exchanged["auth_token"].is_string());
    assert!(exchanged.get("refresh_token").is_none(), "{exchanged}");

    // Listed by the native API; revoked by the profile's path.
    let listed: Value = app
        .client
        .get(app.url("/api/v1/tokens"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let response = bare
        .delete(app.url(&format!("/api/v1/application_token/{}", made["id"].as_str().unwrap())))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = post(
        &bare,
        app.url("/api/v1/authenticate"),
        json!({"application_token": token}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = post(
        &bare,
        app.url("/api/v1/authenticate"),
        json!({"username": "abc", "refresh_token": "x"}),
    )
    .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn a_key_of_another_application_is_refused_on_a_profiles_paths() {
    let app = with_profiles(false).await;
    let other = app.create_application(json!({"name": "Other"})).await;
    let key = app
        .create_api_key(other["id"].as_str().unwrap(), json!({"name": "web"}))
        .await;
    let foreign = with_key(Some(key["key"].as_str().unwrap()));
    let body = json!({"username": "abc", "password": "abc321"});
    let response = post(&foreign, app.url("/v1/auth/login"), body).await;
    assert_error(response, StatusCode::FORBIDDEN, "api_key_wrong_application").await;
    let response = post(
        &with_key(Some("tsk_nonsense")),
        app.url("/api/v1/authenticate"),
        json!({}),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "api_key_invalid").await;
}

#[tokio::test]
async fn cellmobs_signs_in_from_a_json_or_form_body_and_refuses_the_query() {
    let app = with_profiles(false).await;
    app.signup_raw("abc", "abc@example.com", "abc321").await;
    let response = post(
        &app.client,
        app.url("/v1/auth/login"),
        json!({"username": "abc@example.com", "password": "abc321"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    assert!(
        pair["access_token"].is_string() && pair["refresh_token"].is_string(),
        "{pair}"
    );
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .form(&[("username", "abc"), ("password", "abc321")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .client
        .post(app.url("/v1/auth/login?username=abc@example.com&password=abc321"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "credentials_in_query").await;
}

#[tokio::test]
async fn cellmobs_may_accept_the_query_for_migration() {
    let app = with_profiles(true).await;
    app.signup_raw("abc", "abc@example.com", "abc321").await;
    let response = app
        .client
        .post(app.url("/v1/auth/login?username=abc@example.com&password=abc321"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    assert!(pair["access_token"].is_string(), "{pair}");
}

#[tokio::test]
async fn a_profile_naming_no_application_stops_start_up() {
    let database = crate::support::TestDatabase::create();
    let mut config = crate::support::test_config(&database.url);
    config.compat.emnify.application = Some("nowhere".into());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let started =
        tessera::startup::Application::build_with_listener(config, tessera::clock::Clock::manual(), listener).await;
    let error = started.err().expect("start-up stops").to_string();
    assert!(error.contains("compat.emnify.application"), "{error}");
}

#[tokio::test]
async fn appmixer_account_creation_may_be_for_administrators_only() {
    let app = TestApp::spawn_with(|config| {
        config.password.min_length = 6;
        config.compat.appmixer.application = Some("default".into());
        config.user_create_scope = tessera::config::UserCreateScope::Admin;
    })
    .await;
    let bare = with_key(None);
    let body = json!({"username": "abc", "email": "abc@example.com", "password": "abc321"});
    let response = post(&bare, app.url("/user"), body.clone()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"].is_string(), "{error}");
    let admin = app.admin_login().await;
    let response = bare
        .post(app.url("/user"))
        .bearer_auth(&admin.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["username"], "abc");
    assert_eq!(created["scope"], json!(["user"]));
    assert!(
        created.get("token").is_none(),
        "an administrator's new account comes without a token"
    );
}

#[tokio::test]
async fn the_native_api_takes_an_e_mail_username_only_when_it_is_the_accounts() {
    let app = TestApp::spawn().await;
    let response = app
        .signup_raw("ana@example.org", "someone-else@example.org", crate::support::PASSWORD)
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"].get("username").is_some(), "{body}");
    let response = app
        .signup_raw("Ana@Example.org", "ana@example.org", crate::support::PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.login("ana@example.org", crate::support::PASSWORD).await;
}
