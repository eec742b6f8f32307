//! The second factor on the sign-in pages: `/login/mfa` between the password and the authorization flow
//! (it cannot be skipped), resending SMS codes under a cool-down, recovery codes, `/account/security`, and
//! captcha widgets on the forms.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tessera::config::{CaptchaProvider, Secret};

use crate::jwks::decode_segment;
use crate::mfa::{app_with_channels, totp_code};
use crate::oidc_support::{Browser, hidden, location, query_param};
use crate::standins::SiteVerify;
use crate::support::{PASSWORD, TestApp, TestUser};

impl Browser {
    /// Posts the second-factor form at `mfa_path` with `method` and `code`.
    pub async fn submit_code(&self, mfa_path: &str, method: &str, code: &str) -> reqwest::Response {
        let (csrf, request) = self.form_fields(mfa_path).await;
        let mut form = vec![("csrf", csrf), ("method", method.to_owned()), ("code", code.to_owned())];
        if let Some(request) = request {
            form.push(("request", request));
        }
        self.client
            .post(self.url("/login/mfa"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// A user with an authenticator app; returns the account and the app's secret.
async fn user_with_totp(app: &TestApp, name: &str) -> (TestUser, String) {
    let user = app.signup(name).await;
    let session = app.login(name, PASSWORD).await;
    let (secret, _) = app.enroll_totp(&session.access).await;
    (user, secret)
}

#[tokio::test]
async fn the_authorization_flow_waits_for_the_second_factor_and_records_it() {
    let app = TestApp::spawn().await;
    let (alice, secret) = user_with_totp(&app, "alice").await;
    let client = app.first_party().await;
    let browser = app.browser();

    let response = browser
        .authorize(&client, &[("scope", "openid"), ("nonce", "n-1")])
        .await;
    let login_path = location(&response);
    let response = browser.submit_login(&login_path, &alice, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mfa_path = location(&response);
    assert!(mfa_path.starts_with("/login/mfa?request="), "{mfa_path}");

    // Going round the second step leads back to it: the authorization endpoint, the login page, the account.
    let again = browser
        .authorize(&client, &[("scope", "openid"), ("nonce", "n-1")])
        .await;
    let login_again = location(&again);
    let response = browser.get(&login_again).await;
    assert!(location(&response).starts_with("/login/mfa"), "{}", location(&response));
    let response = browser.get("/account").await;
    assert_eq!(location(&response), "/login");
    assert!(location(&browser.get("/login").await).starts_with("/login/mfa"));

    let page = browser.get(&mfa_path).await.text().await.unwrap();
    assert!(page.contains("authenticator app"), "{page}");
    assert!(page.contains("Use a recovery code"));
    let response = browser.submit_code(&mfa_path, "totp", "000000").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("incorrect"));

    let code = totp_code(&secret, app.clock.now());
    let response = browser.submit_code(&mfa_path, "totp", &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = location(&response);
    assert!(callback.starts_with(&client.redirect_uri), "{callback}");
    let tokens = app
        .exchange(&client, &query_param(&callback, "code").unwrap(), false)
        .await;
    let id_token = decode_segment(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(id_token["acr"], "2");
    let access = decode_segment(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(access["amr"], json!(["pwd", "otp", "mfa"]));

    // Signed in now: the second step is behind it.
    assert_eq!(browser.get("/account").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn sms_codes_are_sent_from_the_page_with_a_cool_down() {
    let (app, channels) = app_with_channels(|_| {}).await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let response = app
        .post_bearer("/api/v1/user/phone", &session.access, &json!({"phone": "+14155552671"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let code = channels.twilio.last_code_to("+14155552671");
    app.post_bearer("/api/v1/user/phone/confirm", &session.access, &json!({"code": code}))
        .await;
    app.advance_clock(Duration::from_secs(30));

    // The password sends the code at once, and the page says where it went.
    let browser = app.browser();
    let sent_before = channels.twilio.sent().len();
    let response = browser.submit_login("/login", &alice, PASSWORD).await;
    let mfa_path = location(&response);
    assert_eq!(channels.twilio.sent().len(), sent_before + 1);
    let page = browser.get(&mfa_path).await.text().await.unwrap();
    assert!(page.contains("We sent a code to +•••••••2671"), "{page}");
    let first = channels.twilio.last_code_to("+14155552671");
    assert!(!page.contains(&first), "the code is never on the page");
    let csrf = hidden(&page, "csrf").unwrap();
    let send = || {
        browser
            .client
            .post(browser.url("/login/mfa/send"))
            .form(&[("csrf", csrf.as_str()), ("method", "sms")])
            .send()
    };
    // A resend waits for the cool-down, then sends a new code.
    let response = send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.text().await.unwrap().contains("Please wait"));
    app.advance_clock(Duration::from_secs(30));
    let response = send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("We sent a code to +•••••••2671"), "{page}");
    let code = channels.twilio.last_code_to("+14155552671");

    let response = browser.submit_code(&mfa_path, "sms", &code).await;
    assert_eq!(location(&response), "/account");
    assert_eq!(browser.get("/account").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_recovery_code_finishes_a_browser_sign_in_and_cancel_starts_over() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let (_, codes) = app.enroll_totp(&session.access).await;

    let browser = app.browser();
    let response = browser.submit_login("/login", &alice, PASSWORD).await;
    let mfa_path = location(&response);
    let page = browser
        .get("/login/mfa?method=recovery_code")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("recovery codes"), "{page}");

    // Cancelling forgets the challenge; the login page is the login page again.
    let csrf = hidden(&page, "csrf").unwrap();
    let response = browser
        .client
        .post(browser.url("/login/mfa/cancel"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/login");
    assert_eq!(browser.get("/login").await.status(), StatusCode::OK);
    assert_eq!(location(&browser.get(&mfa_path).await), "/login");

    let response = browser.submit_login("/login", &alice, PASSWORD).await;
    let mfa_path = location(&response);
    let response = browser.submit_code(&mfa_path, "recovery_code", &codes[0]).await;
    assert_eq!(location(&response), "/account");
}

#[tokio::test]
async fn the_security_page_enrolls_and_removes_an_authenticator_app() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let browser = app.browser();
    browser.sign_in(&alice).await;

    let page = browser.get("/account/security").await.text().await.unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let mut form = form;
        form.push(("csrf", csrf.clone()));
        browser.client.post(browser.url(path)).form(&form).send()
    };
    let response = post("/account/security/totp", vec![]).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("data:image/png;base64,"), "a QR code");
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 32);

    let response = post("/account/security/totp/confirm", vec![("code", "000000".into())])
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let page = response.text().await.unwrap();
    let fresh = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert_ne!(fresh, secret, "a wrong code starts over with a new secret");
    let code = totp_code(&fresh, app.clock.now());
    let response = post("/account/security/totp/confirm", vec![("code", code)])
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert_eq!(page.matches("<li>").count(), 10, "ten recovery codes: {page}");
    assert!(!page.contains(&fresh), "the secret is not shown again");

    app.advance_clock(Duration::from_secs(30));
    let code = totp_code(&fresh, app.clock.now());
    let response = post(
        "/account/security/totp/disable",
        vec![("password", "wrong password".into()), ("code", code.clone())],
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = post(
        "/account/security/totp/disable",
        vec![("password", PASSWORD.into()), ("code", code)],
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("is off"));
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn captcha_widgets_appear_only_when_configured_and_are_checked() {
    let verify = SiteVerify::start();
    let url = verify.url.clone();
    let app = TestApp::spawn_with(move |config| {
        config.captcha.provider = CaptchaProvider::Turnstile;
        config.captcha.site_key = "site-key-123".into();
        config.captcha.secret = Some(Secret::new("captcha secret"));
        config.captcha.verify_url = url;
    })
    .await;
    let browser = app.browser();
    let response = browser.get("/login").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src https://challenges.cloudflare.com"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"class="cf-turnstile captcha" data-sitekey="site-key-123""#),
        "{page}"
    );
    assert!(page.contains("https://challenges.cloudflare.com/turnstile/v0/api.js"));
    assert!(!page.contains("captcha secret"));
    // The provider's script is loaded once, in the body — never inside <title>.
    for path in ["/login", "/signup"] {
        let page = browser.get(path).await.text().await.unwrap();
        let title = page.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
        assert!(!title.contains('<'), "{path}: {title}");
        assert_eq!(page.matches("<script").count(), 1, "{path}");
        let body = page.split("<body>").nth(1).unwrap();
        assert!(
            body.contains("<script src=\"https://challenges.cloudflare.com"),
            "{path}"
        );
    }

    let (csrf, _) = browser.form_fields("/signup").await;
    let signup = |answer: Option<&'static str>| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("username", "alice".to_owned()),
            ("email", "alice@example.org".to_owned()),
            ("password", PASSWORD.to_owned()),
        ];
        if let Some(answer) = answer {
            form.push(("cf-turnstile-response", answer.to_owned()));
        }
        browser.client.post(browser.url("/signup")).form(&form).send()
    };
    let response = signup(None).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("solve the captcha"));
    let response = signup(Some("widget-answer")).await.unwrap();
    assert_eq!(location(&response), "/account");
    let field = |name: &str| {
        verify
            .requests()
            .last()
            .and_then(|form| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    };
    assert_eq!(field("response").as_deref(), Some("widget-answer"));

    // Without a captcha configured, the pages carry no script at all.
    let plain = TestApp::spawn().await;
    let response = plain.browser().get("/login").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(!response.text().await.unwrap().contains("<script"));
}

#[tokio::test]
async fn an_email_code_finishes_a_browser_sign_in() {
    let (app, channels) = app_with_channels(|_| {}).await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    app.post_bearer("/api/v1/user/email/verify", &session.access, &json!({}))
        .await;
    let code = channels.smtp.last_code_to(&alice.email).await;
    app.post_bearer("/api/v1/user/email/confirm", &session.access, &json!({"code": code}))
        .await;
    app.enroll_totp(&session.access).await;

    let browser = app.browser();
    let response = browser.submit_login("/login", &alice, PASSWORD).await;
    assert!(location(&response).starts_with("/login/mfa"));
    let page = browser.get("/login/mfa?method=email").await.text().await.unwrap();
    assert!(page.contains("Send a code"), "{page}");
    let csrf = hidden(&page, "csrf").unwrap();
    let response = browser
        .client
        .post(browser.url("/login/mfa/send"))
        .form(&[("csrf", csrf.as_str()), ("method", "email")])
        .send()
        .await
        .unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("We sent a code to a•••e@example.org")
    );
    let code = channels.smtp.last_code_to(&alice.email).await;
    let response = browser.submit_code("/login/mfa?method=email", "email", &code).await;
    assert_eq!(location(&response), "/account");
}
