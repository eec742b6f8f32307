//! PINs: set, changed and removed by the account's owner (with the current PIN, or after a recent interactive
//! sign-in), set by an administrator; never from a private token; wrong PINs count toward the lock-out.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_error};

async fn put_pin(app: &TestApp, bearer: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url("/api/v1/user/pin"))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn has_pin(app: &TestApp, bearer: &str) -> bool {
    let me: Value = app
        .client
        .get(app.url("/api/v1/user"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["has_pin"].as_bool().unwrap_or_else(|| panic!("{me}"))
}

#[tokio::test]
async fn the_owner_sets_changes_and_removes_a_pin() {
    let app = TestApp::spawn().await;
    app.signup("ana").await;
    let ana = app.login("ana", crate::support::PASSWORD).await;
    assert!(!has_pin(&app, &ana.access).await);

    for bad in ["123", "1234567890123", "short", ""] {
        let response = put_pin(&app, &ana.access, json!({"pin": bad})).await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(body["fields"].get("pin").is_some(), "{body}");
    }
    let response = put_pin(&app, &ana.access, json!({})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let response = put_pin(&app, &ana.access, json!({"pin": "4711"})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(has_pin(&app, &ana.access).await);
    let stored = tessera::store::users::find_by_username(&app.state.db, "ana".into())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.pin_hash.unwrap().starts_with("$argon2id$"), "stored as a hash");

    // Later than the re-authentication window, the current PIN stands in for a fresh sign-in.
    app.advance_clock(Duration::from_secs(1000));
    let response = put_pin(&app, &ana.access, json!({"pin": "correct horse"})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "reauthentication_required").await;
    let response = put_pin(
        &app,
        &ana.access,
        json!({"pin": "correct horse", "current_pin": "0000"}),
    )
    .await;
    assert_error(response, StatusCode::FORBIDDEN, "wrong_pin").await;
    let response = put_pin(
        &app,
        &ana.access,
        json!({"pin": "correct horse", "current_pin": "4711"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Removing needs a recent sign-in.
    let remove = |bearer: String| {
        app.client
            .delete(app.url("/api/v1/user/pin"))
            .bearer_auth(bearer)
            .send()
    };
    let response = remove(ana.access.clone()).await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "reauthentication_required").await;
    let fresh = app.login("ana", crate::support::PASSWORD).await;
    assert_eq!(
        remove(fresh.access.clone()).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert!(!has_pin(&app, &fresh.access).await);
}

#[tokio::test]
async fn wrong_pins_count_toward_the_lock_out_and_administrators_set_pins() {
    let app = TestApp::spawn().await;
    let bo = app.signup("bob").await;
    let admin = app.admin_login().await;
    let set = |pin: &'static str| {
        app.client
            .put(app.url(&format!("/api/v1/admin/users/{}/pin", bo.id)))
            .bearer_auth(&admin.access)
            .json(&json!({"pin": pin}))
            .send()
    };
    let response = set("12").await.unwrap();
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(set("24680").await.unwrap().status(), StatusCode::NO_CONTENT);
    let response = app
        .client
        .put(app.url("/api/v1/admin/users/nobody/pin"))
        .bearer_auth(&admin.access)
        .json(&json!({"pin": "24680"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let tokens = app.login("bob", crate::support::PASSWORD).await;
    app.advance_clock(Duration::from_secs(1000));
    let limit = app.state.config.login.max_failed_attempts;
    for _ in 0..limit {
        let response = put_pin(&app, &tokens.access, json!({"pin": "13579", "current_pin": "99999"})).await;
        assert_error(response, StatusCode::FORBIDDEN, "wrong_pin").await;
    }
    // Locked now: even the right PIN is refused, and so is the password.
    let response = put_pin(&app, &tokens.access, json!({"pin": "13579", "current_pin": "24680"})).await;
    assert_error(response, StatusCode::FORBIDDEN, "wrong_pin").await;
    assert_eq!(
        app.login_raw("bob", crate::support::PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// The security page sets, changes (with the current PIN once the sign-in is old) and removes the PIN.
#[tokio::test]
async fn the_security_page_sets_changes_and_removes_the_pin() {
    let app = TestApp::spawn().await;
    let cleo = app.signup("cleo").await;
    let browser = app.browser();
    browser.sign_in(&cleo).await;
    let post = |path: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let browser = &browser;
        async move {
            let page = browser.get("/account/security").await.text().await.unwrap();
            let mut form = vec![("csrf", crate::oidc_support::hidden(&page, "csrf").unwrap())];
            form.extend(fields.into_iter().map(|(n, v)| (n, v.to_owned())));
            browser.client.post(browser.url(path)).form(&form).send().await.unwrap()
        }
    };
    let page = browser.get("/account/security").await.text().await.unwrap();
    assert!(page.contains("Set a PIN"), "{page}");

    let response = post("/account/security/pin", vec![("pin", "12")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("4 to 12 digits"));
    let response = post("/account/security/pin", vec![("pin", "8642")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Your PIN is set.") && html.contains("Change the PIN"),
        "{html}"
    );

    app.advance_clock(Duration::from_secs(1000));
    let response = post("/account/security/pin", vec![("pin", "97531"), ("current_pin", "1111")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("current PIN is incorrect"));
    let response = post("/account/security/pin", vec![("pin", "97531"), ("current_pin", "8642")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Removing without a recent sign-in needs the current PIN.
    let response = post("/account/security/pin/remove", vec![]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = post("/account/security/pin/remove", vec![("current_pin", "97531")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Set a PIN"));
}

#[tokio::test]
async fn an_application_sets_the_pin_format_people_may_choose() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let response = app
        .client
        .post(app.url("/api/v1/admin/apps"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "Bank", "pin_format": "letters"}))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"].get("pin_format").is_some(), "{body}");
    let bank = app
        .create_application(json!({"name": "Bank", "pin_format": "digits"}))
        .await;
    assert_eq!(bank["pin_format"], "digits");
    let key = app
        .create_api_key(bank["id"].as_str().unwrap(), json!({"name": "web"}))
        .await;
    let api = crate::applications::with_key(Some(key["key"].as_str().unwrap()));

    app.signup("ana").await;
    let signed_in: Value = api
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"login": "ana", "password": crate::support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bank_access = signed_in["access_token"].as_str().unwrap().to_owned();
    let ana = app.login("ana", crate::support::PASSWORD).await;
    let put = |pin: &'static str| {
        api.put(app.url("/api/v1/user/pin"))
            .bearer_auth(&bank_access)
            .json(&json!({"pin": pin}))
            .send()
    };
    let body = assert_error(
        put("correct horse").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["fields"]["pin"], "a PIN is 4 to 12 digits here", "{body}");
    assert_eq!(put("4711").await.unwrap().status(), StatusCode::NO_CONTENT);
    // Through an application that takes any format (the default one), a passphrase is fine.
    let response = put_pin(&app, &ana.access, json!({"pin": "correct horse"})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = app
        .client
        .patch(app.url(&format!("/api/v1/admin/apps/{}", bank["id"].as_str().unwrap())))
        .bearer_auth(&admin.access)
        .json(&json!({"pin_format": "passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["pin_format"], "passphrase");
}
