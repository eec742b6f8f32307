//! A real browser and the PIN: headless Chromium sets a PIN on the security page, then — its session older
//! than an application's idle time — meets the PIN page in an authorization request for that application's
//! client, types the PIN and lands on the client's redirect URI with a code whose ID token says `pin`.
//! Ignored by default like `browser`; `.ci/run` runs it.

use std::time::Duration;

use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;

use crate::browser::{fill, path_of, start_browser, submit};
use crate::jwks::decode_segment;
use crate::oidc_support::query_param;
use crate::support::{PASSWORD, TestApp};

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_sets_a_pin_and_enters_it_after_the_idle_time() {
    let app = TestApp::spawn().await;
    let bank = app
        .create_application(json!({"name": "Bank", "idle_timeout_secs": 300}))
        .await;
    let redirect_uri = app.url("/health/live");
    let client = app
        .register(ClientSpec {
            application: Some(bank["id"].as_str().unwrap().to_owned()),
            name: Some("Bank Web".into()),
            redirect_uris: vec![redirect_uri.clone()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let (_driver, browser) = start_browser().await;

    browser.goto(&app.url("/signup")).await.unwrap();
    fill(&browser, "#username", "dora").await;
    fill(&browser, "#email", "dora@example.org").await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "button[type=submit]").await;
    assert_eq!(path_of(&browser).await, "/account");
    browser.goto(&app.url("/account/security")).await.unwrap();
    fill(&browser, "#pin", "4711").await;
    submit(&browser, "form[action='/account/security/pin'] button").await;
    let page = browser.source().await.unwrap();
    assert!(page.contains("Your PIN is set."), "{page}");

    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st-9",
        client.id,
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>(),
    );
    app.advance_clock(Duration::from_secs(301));
    browser.goto(&app.url(&authorize)).await.unwrap();
    assert!(
        path_of(&browser).await.starts_with("/login/pin?request="),
        "{}",
        path_of(&browser).await
    );
    fill(&browser, "#pin", "0000").await;
    submit(&browser, "form[action='/login/pin'] button[type=submit]").await;
    let page = browser.source().await.unwrap();
    assert!(page.contains("That PIN is not right."), "{page}");
    fill(&browser, "#pin", "4711").await;
    submit(&browser, "form[action='/login/pin'] button[type=submit]").await;
    let landed = browser.current_url().await.unwrap().to_string();
    assert!(landed.starts_with(&redirect_uri), "{landed}");
    assert_eq!(query_param(&landed, "state").as_deref(), Some("st-9"));
    let code = query_param(&landed, "code").expect("an authorization code");
    browser.close().await.unwrap();

    let tokens: Value = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = decode_segment(tokens["id_token"].as_str().expect("an ID token"), 1);
    assert_eq!(id_token["amr"], json!(["pwd", "pin"]));
}
