//! Passkeys in a real browser: headless Chromium with its virtual authenticator (WebDriver's
//! `POST /session/{id}/webauthn/authenticator`: CTAP2, internal transport, resident keys, user verification)
//! registers a passkey on `/account/security/passkeys` through `static/passkeys.js`, signs in with it alone
//! from the button on `/login`, and uses it as the second factor after the password. Ignored by default, like
//! the other browser tests (`cargo test --test integration -- --ignored browser`).

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::json;
use tessera::config::LoginMethod;

use crate::browser::{fill, path_of, screenshot, start_browser, submit};
use crate::passkeys::passkey_app;
use crate::support::PASSWORD;

/// WebDriver's "Add Virtual Authenticator" (WebAuthn Level 2 §11.3).
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (reqwest::Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true
        });
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

async fn sign_out(browser: &Client, base: &str) {
    browser.goto(&format!("{base}/account")).await.unwrap();
    submit(browser, "form[action='/oauth2/logout'] button").await;
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_registers_a_passkey_and_signs_in_with_it_alone_and_as_a_second_factor() {
    let app = passkey_app(vec![LoginMethod::Password, LoginMethod::Passkey]).await;
    // WebAuthn needs a domain: the browser speaks to the issuer, http://localhost:<port>.
    let base = app.state.config.issuer().to_owned();
    app.signup("dora").await;
    let (_driver, browser) = start_browser().await;
    browser.issue_cmd(AddVirtualAuthenticator).await.unwrap();

    browser.goto(&format!("{base}/login")).await.unwrap();
    fill(&browser, "#login", "dora").await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "form[action='/login'] button").await;
    assert_eq!(path_of(&browser).await, "/account");

    browser.goto(&format!("{base}/account/security")).await.unwrap();
    let manage = browser.find(Locator::Id("manage-passkeys")).await.unwrap();
    assert_eq!(
        manage.attr("href").await.unwrap().as_deref(),
        Some("/account/security/passkeys")
    );
    browser
        .goto(&format!("{base}/account/security/passkeys"))
        .await
        .unwrap();
    fill(&browser, "#passkey-name", "Virtual key").await;
    submit(&browser, "#passkey-add").await;
    assert_eq!(path_of(&browser).await, "/account/security/passkeys?done=added");
    let name = browser.find(Locator::Css("tr.passkey td.name")).await.unwrap();
    assert_eq!(name.text().await.unwrap(), "Virtual key");
    screenshot(&browser, "passkeys").await;

    // The passkey alone: no username, no password.
    sign_out(&browser, &base).await;
    browser.goto(&format!("{base}/login")).await.unwrap();
    submit(&browser, "#passkey-sign-in").await;
    assert_eq!(path_of(&browser).await, "/account");

    // After the password, the passkey is the second factor.
    sign_out(&browser, &base).await;
    browser.goto(&format!("{base}/login")).await.unwrap();
    fill(&browser, "#login", "dora").await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "form[action='/login'] button").await;
    assert!(
        path_of(&browser).await.starts_with("/login/mfa"),
        "{}",
        path_of(&browser).await
    );
    submit(&browser, "#passkey-second-factor").await;
    assert_eq!(path_of(&browser).await, "/account");

    browser
        .goto(&format!("{base}/account/security/passkeys"))
        .await
        .unwrap();
    let last_used = browser.find(Locator::Css("tr.passkey td.last-used")).await.unwrap();
    assert_ne!(last_used.text().await.unwrap(), "never");
    browser.close().await.unwrap();
}
