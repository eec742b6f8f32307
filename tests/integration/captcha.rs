//! Captcha on signup and login (REST here; the pages in `pages_mfa`), against a local `siteverify`
//! stand-in: every verdict is checked server-side, and an unreachable provider fails closed.

use reqwest::StatusCode;
use serde_json::json;
use tessera::config::{CaptchaProvider, Secret};

use crate::standins::SiteVerify;
use crate::support::{PASSWORD, TestApp, assert_error};

const SECRET: &str = "captcha server secret";

async fn app_with_captcha(verify_url: String) -> TestApp {
    app_with_captcha_and(verify_url, |_| {}).await
}

async fn app_with_captcha_and(verify_url: String, customize: impl FnOnce(&mut tessera::config::Config)) -> TestApp {
    TestApp::spawn_with(move |config| {
        config.captcha.provider = CaptchaProvider::Recaptcha;
        config.captcha.site_key = "site-key-123".into();
        config.captcha.secret = Some(Secret::new(SECRET));
        config.captcha.verify_url = verify_url;
        config.captcha.min_score = 0.5;
        customize(config);
    })
    .await
}

/// Admin-only account creation is checked before the captcha: an anonymous signup is refused for what it is
/// (no token), whatever the captcha, and the provider is never asked.
#[tokio::test]
async fn a_closed_signup_is_refused_before_the_captcha_is_checked() {
    let verify = SiteVerify::start();
    let app = app_with_captcha_and(verify.url.clone(), |config| {
        config.user_create_scope = tessera::config::UserCreateScope::Admin;
    })
    .await;
    for captcha in [None, Some("widget-answer")] {
        let response = app.post_json("/api/v1/users", &signup_body("alice", captcha)).await;
        assert_error(response, StatusCode::FORBIDDEN, "signup_closed").await;
    }
    assert!(verify.requests().is_empty(), "no provider call for a closed door");
    let browser = app.browser();
    assert_eq!(browser.get("/signup").await.status(), StatusCode::FORBIDDEN);
}

fn signup_body(username: &str, captcha: Option<&str>) -> serde_json::Value {
    let mut body = json!({"username": username, "email": format!("{username}@example.org"), "password": PASSWORD});
    if let Some(token) = captcha {
        body["captcha_token"] = json!(token);
    }
    body
}

#[tokio::test]
async fn signup_and_login_need_a_solved_captcha_checked_server_side() {
    let verify = SiteVerify::start();
    let app = app_with_captcha(verify.url.clone()).await;

    let response = app.post_json("/api/v1/users", &signup_body("alice", None)).await;
    assert_error(response, StatusCode::BAD_REQUEST, "captcha_failed").await;
    assert!(
        verify.requests().is_empty(),
        "nothing to ask the provider without a token"
    );

    let response = app
        .post_json("/api/v1/users", &signup_body("alice", Some("widget-answer")))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let request = verify.requests().pop().unwrap();
    let field = |name: &str| request.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(field("secret").as_deref(), Some(SECRET));
    assert_eq!(field("response").as_deref(), Some("widget-answer"));
    assert_eq!(field("remoteip").as_deref(), Some("127.0.0.1"));

    let login = |captcha: Option<&'static str>| {
        let mut body = json!({"login": "alice", "password": PASSWORD});
        if let Some(token) = captcha {
            body["captcha_token"] = json!(token);
        }
        let app = &app;
        async move { app.post_json("/api/v1/auth/login", &body).await }
    };
    assert_error(login(None).await, StatusCode::BAD_REQUEST, "captcha_failed").await;
    assert_eq!(login(Some("answer")).await.status(), StatusCode::OK);

    let refused = [
        json!({"success": false, "error-codes": ["invalid-input-response"]}),
        json!({"success": false, "error-codes": ["timeout-or-duplicate"]}),
        json!({"success": true, "hostname": "evil.test"}),
        json!({"success": true}),
        json!({"success": true, "hostname": "127.0.0.1", "action": "signup", "score": 0.9}),
        json!({"success": true, "hostname": "127.0.0.1", "action": "login", "score": 0.1}),
    ];
    for verdict in refused {
        verify.answer(verdict.clone());
        assert_error(login(Some("answer")).await, StatusCode::BAD_REQUEST, "captcha_failed").await;
    }
    verify.answer(json!({"success": true, "hostname": "127.0.0.1", "action": "login", "score": 0.7}));
    assert_eq!(login(Some("answer")).await.status(), StatusCode::OK);

    // An administrator creating an account is no bot.
    let admin = app.admin_login_with_captcha().await;
    let response = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&signup_body("carol", None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_unreachable_provider_refuses_rather_than_lets_through() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/siteverify", closed.local_addr().unwrap());
    drop(closed);
    let app = app_with_captcha(url).await;
    let response = app
        .post_json("/api/v1/users", &signup_body("alice", Some("answer")))
        .await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "captcha_unavailable").await;
    let body = json!({"login": "admin", "password": crate::support::ADMIN_PASSWORD, "captcha_token": "x"});
    let response = app.post_json("/api/v1/auth/login", &body).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "captcha_unavailable").await;
}

impl TestApp {
    /// The administrator's access token, signing in past a captcha the stand-in accepts.
    async fn admin_login_with_captcha(&self) -> String {
        let body = json!({"login": "admin", "password": crate::support::ADMIN_PASSWORD, "captcha_token": "x"});
        let response = self.post_json("/api/v1/auth/login", &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<serde_json::Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}
