//! Checklist 3.5: browser sessions, cookies, CSRF, headers and escaping.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;

use crate::oidc_support::*;
use crate::support::{PASSWORD, TestApp};

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_sess_01_session_cookies_are_host_prefixed_and_locked_down_on_https() {
    let app = TestApp::spawn_with(|config| config.server.issuer = "https://id.example.test".into()).await;
    let user = app.signup("alice").await;
    let browser = app.browser();
    let page = browser.get("/login").await;
    let csrf_cookie = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("__Host-tessera-csrf="))
        .expect("csrf cookie");
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    let response = browser
        .client
        .post(browser.url("/login"))
        .header("cookie", csrf_cookie.split(';').next().unwrap())
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", user.username.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("__Host-tessera-session="))
        .expect("session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} missing: {session}");
    }
    assert!(!session.to_ascii_lowercase().contains("domain="), "{session}");
}

#[tokio::test]
async fn a_sess_02_03_session_ids_are_random_and_change_at_every_login() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let mut values = HashSet::new();
    for _ in 0..20 {
        let fresh = app.browser();
        let response = fresh.submit_login("/login", &user, PASSWORD).await;
        let cookie = set_cookies(&response)
            .into_iter()
            .find(|c| c.starts_with("tessera-session="))
            .unwrap();
        let value = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("tessera-session=")
            .to_owned();
        assert!(value.len() >= 43, "256 random bits");
        values.insert(value);
    }
    assert_eq!(values.len(), 20);
}

#[tokio::test]
async fn a_sess_04_another_user_in_the_same_browser_never_gets_the_previous_session() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&client, &[], &alice).await;
    let alice_tokens = app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;
    let next = location(&browser.authorize(&client, &[("prompt", "login")]).await);
    let response = browser.submit_login(&next, &bob, PASSWORD).await;
    let bob_tokens = app
        .exchange(&client, &query_param(&location(&response), "code").unwrap(), false)
        .await;
    let sub = |t: &serde_json::Value| crate::jwks::decode_segment(t["id_token"].as_str().unwrap(), 1)["sub"].clone();
    assert_eq!(sub(&bob_tokens), bob.id.as_str());
    // Alice's grant in that browser ended with her session.
    let response = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", alice_tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_sess_05_sessions_end_when_idle_and_at_their_absolute_age() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let browser = app.browser();
    browser.sign_in(&user).await;
    app.advance_clock(Duration::from_secs(11 * 3600));
    assert_eq!(
        browser.get("/account").await.status(),
        StatusCode::OK,
        "active within the idle window"
    );
    app.advance_clock(Duration::from_secs(12 * 3600 + 1));
    assert_eq!(location(&browser.get("/account").await), "/login", "idle too long");

    let browser = app.browser();
    browser.sign_in(&user).await;
    for _ in 0..15 {
        app.advance_clock(Duration::from_secs(24 * 3600));
        let response = browser.get("/account").await;
        if response.status() != StatusCode::OK {
            assert_eq!(location(&response), "/login");
            return;
        }
    }
    panic!("a busy session outlived its absolute lifetime");
}

#[tokio::test]
async fn a_sess_06_disabling_an_account_stops_session_and_tokens() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&client, &[], &user).await;
    let tokens = app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;
    app.state
        .auth
        .accounts
        .set_active("alice", false, app.clock.now())
        .await
        .unwrap();
    assert_eq!(location(&browser.get("/account").await), "/login");
    assert_eq!(
        app.get_authorized("/oauth2/userinfo", tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let response = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_sess_09_cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let browser = app.browser();
    let (csrf, _) = browser.form_fields("/login").await;
    for (header, value) in [("origin", "https://evil.test"), ("sec-fetch-site", "cross-site")] {
        let response = browser
            .client
            .post(browser.url("/login"))
            .header(header, value)
            .form(&[
                ("csrf", csrf.as_str()),
                ("login", user.username.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{header}");
    }
    let response = browser
        .client
        .post(browser.url("/login"))
        .header("origin", app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", user.username.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "same-origin works");
}

#[tokio::test]
async fn a_sess_10_11_every_page_and_json_response_carries_the_headers() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    for path in [
        "/login",
        "/signup",
        "/select-account",
        "/device",
        "/oauth2/logout",
        "/oauth2/authorize",
    ] {
        let response = browser.get(path).await;
        let headers = response.headers();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in ["frame-ancestors 'none'", "base-uri 'none'", "default-src 'none'"] {
            assert!(csp.contains(directive), "{path}: {directive}");
        }
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
        assert!(headers["cache-control"].to_str().unwrap().contains("no-store"));
    }
    let response = app.client.get(app.url("/oauth2/userinfo")).send().await.unwrap();
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn a_sess_13_no_credentialed_cors_anywhere() {
    let app = TestApp::spawn().await;
    for path in ["/oauth2/token", "/oauth2/userinfo", "/api/v1/user", "/login"] {
        let response = app
            .client
            .get(app.url(path))
            .header("origin", "https://evil.test")
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get("access-control-allow-credentials").is_none(),
            "{path}"
        );
        let origin = response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(origin.is_none() || origin.as_deref() == Some("*"), "{path}: {origin:?}");
    }
}

#[tokio::test]
async fn a_sess_14_reflected_values_are_escaped() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    let evil = "\"><svg onload=alert(1)><script>alert(1)</script>";
    let next = location(&browser.authorize(&client, &[("login_hint", evil)]).await);
    let page = browser.get(&next).await.text().await.unwrap();
    assert!(
        !page.contains("<script>alert") && !page.contains("<svg onload"),
        "login_hint escaped"
    );
    let page = browser
        .authorize(&client, &[("redirect_uri", evil)])
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script>alert"));
    let spec = tessera::oidc::clients::ClientSpec {
        name: Some(evil[2..40].to_owned()),
        redirect_uris: vec![RP1_CB.into()],
        ..Default::default()
    };
    let named = app.register(spec).await;
    let next = location(&browser.authorize(&named, &[]).await);
    let page = browser.get(&next).await.text().await.unwrap();
    assert!(!page.contains("<svg onload"), "client name escaped");
}

#[tokio::test]
async fn consent_is_remembered_and_prompt_consent_asks_again() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.c1().await;
    let browser = app.browser();
    let to = browser
        .authorize_through(&client, &[("scope", "openid email")], &user)
        .await;
    assert!(query_param(&to, "code").is_some());
    let response = browser.authorize(&client, &[("scope", "openid")]).await;
    assert!(
        query_param(&location(&response), "code").is_some(),
        "a narrower request needs no new consent"
    );
    let response = browser
        .authorize(&client, &[("scope", "openid email"), ("prompt", "consent")])
        .await;
    assert!(location(&response).starts_with("/consent"), "prompt=consent asks again");
    let response = browser.authorize(&client, &[("scope", "openid profile")]).await;
    let consent = location(&response);
    assert!(consent.starts_with("/consent"), "a new scope needs consent");
    let response = browser.answer_consent(&consent, "deny").await;
    let to = location(&response);
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&to, "state").as_deref(), Some("S"));
    assert_eq!(query_param(&to, "iss").as_deref(), Some(app.address.as_str()));
}

#[tokio::test]
async fn a_code_dies_with_the_sign_in_that_produced_it() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&client, &[], &user).await;
    let (csrf, _) = browser.form_fields("/account").await;
    browser
        .client
        .post(browser.url("/oauth2/logout"))
        .form(&[("confirm", "yes"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let code = query_param(&to, "code").unwrap();
    let response = app
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", RP1_CB),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn the_signup_page_creates_an_account_and_continues_the_authorization() {
    let app = TestApp::spawn().await;
    let client = app.first_party().await;
    let browser = app.browser();
    let login = location(&browser.authorize(&client, &[]).await);
    let request = query_param(&login, "request").unwrap();
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(
        page.contains(&format!("/signup?request={request}")),
        "the sign-in page links to sign-up"
    );
    let (csrf, _) = browser.form_fields(&format!("/signup?request={request}")).await;
    let weak = browser
        .client
        .post(browser.url("/signup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("request", &request),
            ("username", "carol"),
            ("email", "carol@example.org"),
            ("password", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.text().await.unwrap().contains("password"),
        "the page names the problem"
    );
    let response = browser
        .client
        .post(browser.url("/signup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("request", &request),
            ("username", "carol"),
            ("email", "carol@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let to = location(&response);
    assert!(to.starts_with(RP1_CB) && query_param(&to, "code").is_some(), "{to}");
    app.login("carol", PASSWORD).await;
}

#[tokio::test]
async fn the_signup_page_is_closed_when_only_administrators_create_accounts() {
    let app = TestApp::spawn_with(|config| config.user_create_scope = tessera::config::UserCreateScope::Admin).await;
    let browser = app.browser();
    assert_eq!(browser.get("/signup").await.status(), StatusCode::FORBIDDEN);
    let (csrf, _) = browser.form_fields("/login").await;
    let response = browser
        .client
        .post(browser.url("/signup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "eve"),
            ("email", "eve@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "A-SIGNUP-05: not just hidden");
    let page = browser.get("/login").await.text().await.unwrap();
    assert!(!page.contains("/signup"), "no sign-up link");
}
