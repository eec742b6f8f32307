//! Linking an upstream identity over the REST API, against a second real Tessera on loopback as the upstream:
//! the application starts the link for the signed-in caller, the person's browser goes upstream and comes
//! back to the application's redirect URI with a one-time code, and the same caller finishes it with the flow
//! token and that code. Nobody else can finish it, and an identity of another account is refused on the way
//! back.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::federation::Federated;
use crate::oidc_support::{location, query_param};
use crate::support::{PASSWORD, TestUser, assert_error};

/// An API-key client of the downstream application, and the caller's access token there.
async fn shop_and_token(pair: &Federated, login: &str) -> (reqwest::Client, String) {
    let key = pair.down.create_api_key(&pair.app_id, json!({"name": "shop"})).await;
    let shop = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    let tokens: Value = shop
        .post(pair.down.url("/api/v1/auth/login"))
        .json(&json!({"login": login, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"))
        .to_owned();
    (shop, access)
}

/// An invite-only application (no proof of contact asked), with a password or through the upstream.
fn members_only() -> Value {
    json!({
        "access_mode": "invite_only",
        "login_methods": ["password", "external"],
        "external_providers": ["up"],
    })
}

/// A new account of the downstream, made a member of its application.
async fn member(pair: &Federated, username: &str) -> TestUser {
    let user = pair.down.signup(username).await;
    let admin = pair.down.admin_login().await;
    let response = pair
        .down
        .client
        .post(pair.down.url(&format!("/api/v1/admin/apps/{}/members", pair.app_id)))
        .bearer_auth(&admin.access)
        .json(&json!({"username": username}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{:?}", response.text().await);
    user
}

/// A POST of the application's, as `token`'s bearer.
async fn call(shop: &reqwest::Client, url: &str, token: &str, body: &Value) -> reqwest::Response {
    shop.post(url).bearer_auth(token).json(body).send().await.unwrap()
}

fn link_request(pair: &Federated) -> Value {
    json!({"provider": "up", "client_id": pair.client.id, "redirect_uri": pair.client.redirect_uri})
}

#[tokio::test]
async fn an_application_links_an_upstream_identity_for_its_signed_in_caller() {
    let pair = Federated::start(members_only(), |_| {}).await;
    let tom = member(&pair, "tom").await;
    let tom_up = pair.up.signup("tommy").await;
    member(&pair, "ada").await;
    let (shop, access) = shop_and_token(&pair, "tom").await;
    let (_, ada_access) = shop_and_token(&pair, "ada").await;
    let start = pair.down.url("/api/v1/user/identities/link");
    let complete = pair.down.url("/api/v1/user/identities/link/complete");

    let response = shop.post(&start).json(&link_request(&pair)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = call(&shop, &start, &access, &json!({"provider": "up"})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let nowhere = json!({"provider": "nowhere", "client_id": pair.client.id, "redirect_uri": pair.client.redirect_uri});
    let response = call(&shop, &start, &access, &nowhere).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    let response = call(&shop, &start, &access, &link_request(&pair)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let started: Value = response.json().await.unwrap();
    assert_eq!(started["step"], "link");
    let flow_token = started["flow_token"].as_str().unwrap();
    let upstream = started["authorization_url"].as_str().unwrap();
    assert!(upstream.starts_with(pair.up_base()), "{upstream}");

    // Before the person came back, nothing finishes it.
    let early = json!({"flow_token": flow_token, "code": "tsl_nothing"});
    let response = call(&shop, &complete, &access, &early).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;

    let browser = pair.down.browser();
    let callback = pair.sign_in_upstream(&browser, upstream, &tom_up).await;
    let back = location(&browser.get(&callback).await);
    assert!(back.starts_with(&pair.client.redirect_uri), "{back}");
    let code = query_param(&back, "code").expect("a code");
    // Coming back links nothing yet.
    let listed = |token: String| {
        let shop = shop.clone();
        let url = pair.down.url("/api/v1/user/identities");
        async move {
            let body: Value = shop
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body
        }
    };
    assert_eq!(listed(access.clone()).await, json!([]));

    // Another account cannot finish it, even with the flow token and the code.
    let right = json!({"flow_token": flow_token, "code": code});
    let response = call(&shop, &complete, &ada_access, &right).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;
    let wrong = json!({"flow_token": flow_token, "code": "tsl_wrong"});
    let response = call(&shop, &complete, &access, &wrong).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;

    let response = call(&shop, &complete, &access, &right).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let linked: Value = response.json().await.unwrap();
    assert_eq!(linked["provider"], "up");
    assert_eq!(listed(access.clone()).await[0]["id"], linked["id"]);
    let response = call(&shop, &complete, &access, &right).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;

    // Signing in through the upstream now reaches tom's account.
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &tom_up).await;
    let back = location(&browser.get(&callback).await);
    assert_eq!(pair.claims(&back).await["sub"], json!(tom.id));
}

#[tokio::test]
async fn a_rest_link_needs_a_recent_sign_in_and_refuses_an_identity_of_another_account() {
    let pair = Federated::start(members_only(), |_| {}).await;
    member(&pair, "lea").await;
    let (shop, access) = shop_and_token(&pair, "lea").await;
    let start = pair.down.url("/api/v1/user/identities/link");

    // Sam's identity at the upstream is linked to his account here already.
    let sam_up = pair.up.signup("sam").await;
    let sam = pair.down.signup("sam").await;
    let admin = pair.down.admin_login().await;
    let response = pair
        .down
        .client
        .post(pair.down.url(&format!("/api/v1/admin/users/{}/identities", sam.id)))
        .bearer_auth(&admin.access)
        .json(&json!({"provider": "up", "subject": sam_up.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let started: Value = call(&shop, &start, &access, &link_request(&pair))
        .await
        .json()
        .await
        .unwrap();
    let browser = pair.down.browser();
    let callback = pair
        .sign_in_upstream(&browser, started["authorization_url"].as_str().unwrap(), &sam_up)
        .await;
    let back = location(&browser.get(&callback).await);
    assert_eq!(query_param(&back, "error").as_deref(), Some("identity_taken"), "{back}");
    assert!(query_param(&back, "code").is_none());

    // Past the re-authentication window, a link needs a fresh sign-in.
    pair.down.advance_clock(Duration::from_secs(1000));
    let response = call(&shop, &start, &access, &link_request(&pair)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "reauthentication_required").await;
}
