//! A signed-in browser that meets more than it has: an application with extra security after idle time asks
//! for the account's PIN on `/login/pin` (after its idle time since the session's last proof, or when the
//! client asks for a fresh proof: `prompt=login`, `max_age`); a client that asks for `acr_values=2` gets a
//! second factor, or the setting up of one on `/login/enroll`; `prompt=none` answers `login_required` or
//! `unmet_authentication_requirements` instead of a page.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;

use crate::jwks::decode_segment;
use crate::mfa::totp_code;
use crate::oidc_support::{Browser, TestClient, hidden, location, query_param};
use crate::support::{PASSWORD, TestApp};

const IDLE: u64 = 300;

impl Browser {
    /// Posts the PIN form at `pin_path`.
    async fn submit_pin(&self, pin_path: &str, pin: &str) -> reqwest::Response {
        let (csrf, request) = self.form_fields(pin_path).await;
        let form = [
            ("csrf", csrf),
            ("pin", pin.to_owned()),
            ("request", request.unwrap_or_default()),
        ];
        self.client
            .post(self.url("/login/pin"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Posts `form` with the `csrf` and `request` fields of `html`.
    async fn post_with(&self, html: &str, path: &str, extra: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![
            ("csrf", hidden(html, "csrf").expect("a csrf field")),
            ("request", hidden(html, "request").expect("a request field")),
        ];
        form.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
        self.client.post(self.url(path)).form(&form).send().await.unwrap()
    }
}

/// The claims of the ID token the code at `callback` is exchanged for.
async fn id_claims(app: &TestApp, client: &TestClient, callback: &str) -> Value {
    let code = query_param(callback, "code").unwrap_or_else(|| panic!("a code in {callback}"));
    let tokens = app.exchange(client, &code, false).await;
    decode_segment(tokens["id_token"].as_str().unwrap(), 1)
}

/// A server with an application that asks again after [`IDLE`] seconds, and a first-party client of it.
async fn bank() -> (TestApp, TestClient) {
    let app = TestApp::spawn().await;
    let bank = app
        .create_application(json!({"name": "Bank", "idle_timeout_secs": IDLE}))
        .await;
    let client = app
        .register(ClientSpec {
            application: Some(bank["id"].as_str().unwrap().to_owned()),
            name: Some("Bank Web".into()),
            redirect_uris: vec!["https://bank.example.com/cb".into()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    (app, client)
}

#[tokio::test]
async fn an_idle_application_asks_the_browser_for_the_pin() {
    let (app, client) = bank().await;
    let ana = app.signup("ana").await;
    let session = app.login("ana", PASSWORD).await;
    let response = app
        .client
        .put(app.url("/api/v1/user/pin"))
        .bearer_auth(&session.access)
        .json(&json!({"pin": "4711"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let browser = app.browser();
    let callback = browser.authorize_through(&client, &[], &ana).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    // Within the idle time the session answers by itself.
    app.advance_clock(Duration::from_secs(IDLE));
    let response = browser.authorize(&client, &[]).await;
    assert!(query_param(&location(&response), "code").is_some());

    // Past it, the PIN; silently, login_required.
    app.advance_clock(Duration::from_secs(1));
    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("login_required")
    );
    let response = browser.authorize(&client, &[("nonce", "n1")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let pin_page = location(&response);
    assert!(pin_page.starts_with("/login/pin?request="), "{pin_page}");
    // The sign-in page sends a browser with a PIN waiting back to it.
    let request = query_param(&pin_page, "request").unwrap();
    let response = browser.get(&format!("/login?request={request}")).await;
    assert_eq!(location(&response), pin_page);

    let response = browser.submit_pin(&pin_page, "0000").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("That PIN is not right."));
    let response = browser.submit_pin(&pin_page, "4711").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert_eq!(claims["amr"], json!(["pwd", "pin"]), "{claims}");
    assert_eq!(claims["acr"], "1");
    assert_eq!(claims["auth_time"], json!(app.clock.now()));
    assert_eq!(claims["nonce"], "n1");

    // The app was offloaded: prompt=login (or max_age) asks for the PIN again, even inside the idle time.
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let response = browser.authorize(&client, &[extra]).await;
        let pin_page = location(&response);
        assert!(pin_page.starts_with("/login/pin?request="), "{extra:?}: {pin_page}");
        let response = browser.submit_pin(&pin_page, "4711").await;
        assert!(query_param(&location(&response), "code").is_some(), "{extra:?}");
    }

    // Five wrong PINs void the step (and count toward the account's lock-out): back to the first step.
    app.advance_clock(Duration::from_secs(IDLE + 1));
    let response = browser.authorize(&client, &[]).await;
    let pin_page = location(&response);
    for _ in 0..5 {
        let response = browser.submit_pin(&pin_page, "0000").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let request = query_param(&pin_page, "request").unwrap();
    let (csrf, request) = browser.form_fields(&format!("/login?request={request}")).await;
    assert!(request.is_some());
    let form = [
        ("csrf", csrf),
        ("pin", "4711".to_owned()),
        ("request", request.unwrap()),
    ];
    let response = browser
        .client
        .post(browser.url("/login/pin"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        location(&response).starts_with("/login?request="),
        "{}",
        location(&response)
    );
}

#[tokio::test]
async fn without_a_pin_or_outside_the_bank_the_browser_signs_in_again() {
    let (app, client) = bank().await;
    let bob = app.signup("bob").await;
    let browser = app.browser();
    browser.authorize_through(&client, &[], &bob).await;
    app.advance_clock(Duration::from_secs(IDLE + 1));
    let response = browser.authorize(&client, &[]).await;
    assert!(
        location(&response).starts_with("/login?request="),
        "{}",
        location(&response)
    );
    let callback = browser.authorize_through(&client, &[], &bob).await;
    assert!(query_param(&callback, "code").is_some());

    // An application without extra security: prompt=login is a new sign-in, PIN or not.
    let first_party = app.first_party().await;
    let response = browser.authorize(&first_party, &[("prompt", "login")]).await;
    assert!(
        location(&response).starts_with("/login?request="),
        "{}",
        location(&response)
    );
}

#[tokio::test]
async fn acr_values_2_asks_for_a_second_factor_and_offers_to_set_one_up() {
    let app = TestApp::spawn().await;
    let client = app.first_party().await;
    let cyd = app.signup("cyd").await;
    let browser = app.browser();
    browser.authorize_through(&client, &[], &cyd).await;

    // One factor is enough for a client that settles for it.
    let response = browser.authorize(&client, &[("acr_values", "2 1")]).await;
    assert!(query_param(&location(&response), "code").is_some());
    let response = browser
        .authorize(&client, &[("acr_values", "2"), ("prompt", "none")])
        .await;
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("unmet_authentication_requirements")
    );

    let response = browser.authorize(&client, &[("acr_values", "2")]).await;
    let enroll = location(&response);
    assert!(enroll.starts_with("/login/enroll?request="), "{enroll}");
    let page = browser.get(&enroll).await.text().await.unwrap();
    assert!(page.contains("asks for a second step"), "{page}");
    let response = browser.post_with(&page, "/login/enroll/start", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let code = totp_code(&secret, app.clock.now());
    let response = browser
        .post_with(&page, "/login/enroll/confirm", &[("code", &code)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert_eq!(page.matches("<li>").count(), 10, "ten recovery codes: {page}");
    let response = browser.post_with(&page, "/login/enroll/continue", &[]).await;
    let mfa_page = location(&response);
    assert!(mfa_page.starts_with("/login/mfa?request="), "{mfa_page}");

    // The new app's next code is the second factor.
    app.advance_clock(Duration::from_secs(30));
    let code = totp_code(&secret, app.clock.now());
    let response = browser.submit_code(&mfa_page, "totp", &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert_eq!(claims["acr"], "2", "{claims}");
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]), "{claims}");

    // The session has two factors now: acr_values=2 is answered silently.
    let response = browser
        .authorize(&client, &[("acr_values", "2"), ("prompt", "none")])
        .await;
    assert!(query_param(&location(&response), "code").is_some());
}

#[tokio::test]
async fn acr_values_2_asks_an_account_with_a_factor_for_it() {
    let app = TestApp::spawn().await;
    let client = app.first_party().await;
    let dina = app.signup("dina").await;
    let browser = app.browser();
    // Signed in with one factor (before the authenticator was added).
    browser.authorize_through(&client, &[], &dina).await;
    let session = app.login("dina", PASSWORD).await;
    let (secret, _) = app.enroll_totp(&session.access).await;

    let response = browser.authorize(&client, &[("acr_values", "2")]).await;
    let mfa_page = location(&response);
    assert!(mfa_page.starts_with("/login/mfa?request="), "{mfa_page}");
    app.advance_clock(Duration::from_secs(30));
    let code = totp_code(&secret, app.clock.now());
    let response = browser.submit_code(&mfa_page, "totp", &code).await;
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert_eq!(claims["acr"], "2", "{claims}");
}
