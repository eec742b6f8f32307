//! Checklist 2.K: RP-initiated logout.

use reqwest::StatusCode;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::TestApp;

#[tokio::test]
async fn p_lo_01_08_09_a_valid_hint_logs_out_and_returns_to_the_client() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&client, &[], &user).await;
    let tokens = app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;
    let hint = tokens["id_token"].as_str().unwrap();

    let response = browser
        .client
        .get(browser.url("/oauth2/logout"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", RP1_LOGGED_OUT),
            ("state", "S"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{RP1_LOGGED_OUT}?state=S"));
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera-session="));
    assert!(
        cookie.is_some_and(|c| c.contains("Max-Age=0")),
        "session cookie expired"
    );

    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("login_required")
    );
    // P-LO-09: the session's (non-offline) refresh token ended with it.
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

    // P-LO-08: without state, no state.
    let other = app.browser();
    let to = other.authorize_through(&client, &[], &user).await;
    let tokens = app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;
    let response = other
        .client
        .get(other.url("/oauth2/logout"))
        .query(&[
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", RP1_LOGGED_OUT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), RP1_LOGGED_OUT);
}

#[tokio::test]
async fn p_lo_01_a_replayed_session_cookie_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let browser = app.browser();
    let response = browser.submit_login("/login", &user, crate::support::PASSWORD).await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera-session="))
        .unwrap();
    let value = cookie.split(';').next().unwrap().to_owned();
    let (csrf, _) = browser.form_fields("/account").await;
    let response = browser
        .client
        .post(browser.url("/oauth2/logout"))
        .form(&[("confirm", "yes"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let replay = app
        .client
        .get(app.url("/account"))
        .header("cookie", value)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&replay), "/login", "the old cookie no longer signs anyone in");
}

#[tokio::test]
async fn p_lo_02_07_unregistered_or_mismatched_redirects_go_nowhere() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let c2 = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&c1, &[], &user).await;
    let tokens = app.exchange(&c1, &query_param(&to, "code").unwrap(), false).await;
    let hint = tokens["id_token"].as_str().unwrap();
    for query in [
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.test/"),
        ],
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://rp1.test/logged-out?foo=bar"),
        ],
        vec![
            ("id_token_hint", hint),
            ("client_id", c2.id.as_str()),
            ("post_logout_redirect_uri", RP1_LOGGED_OUT),
        ],
    ] {
        let response = browser
            .client
            .get(browser.url("/oauth2/logout"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_error_page(response).await;
    }
}

#[tokio::test]
async fn p_lo_03_04_06_without_a_valid_hint_the_user_confirms_first() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&c1, &[], &user).await;
    let tokens = app.exchange(&c1, &query_param(&to, "code").unwrap(), false).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let mut forged: Vec<String> = hint.split('.').map(str::to_owned).collect();
    let mut claims = decode_segment(hint, 1);
    claims["sub"] = "someone-else".into();
    forged[1] = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims.to_string());
    let forged = forged.join(".");
    for query in [
        vec![],
        vec![("post_logout_redirect_uri", RP1_LOGGED_OUT)],
        vec![
            ("id_token_hint", forged.as_str()),
            ("post_logout_redirect_uri", RP1_LOGGED_OUT),
        ],
    ] {
        let response = browser
            .client
            .get(browser.url("/oauth2/logout"))
            .header("sec-fetch-site", "cross-site")
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "a confirmation page, no redirect");
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("Sign out?"));
    }
    // Still signed in: nothing happened without the confirmation.
    assert_eq!(browser.get("/account").await.status(), StatusCode::OK);

    // A cross-site POST of the confirmation is refused; the genuine one signs out.
    let (csrf, _) = browser.form_fields("/oauth2/logout").await;
    let response = browser
        .client
        .post(browser.url("/oauth2/logout"))
        .header("origin", "https://evil.test")
        .form(&[("confirm", "yes"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A browser under `Referrer-Policy: no-referrer` names no origin (`null`) for its own forms.
    let response = browser
        .client
        .post(browser.url("/oauth2/logout"))
        .header("origin", "null")
        .form(&[("confirm", "yes"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("signed out"));
    assert_eq!(location(&browser.get("/account").await), "/login");
}

#[tokio::test]
async fn p_lo_05_an_expired_but_genuine_hint_is_accepted() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&c1, &[], &user).await;
    let tokens = app.exchange(&c1, &query_param(&to, "code").unwrap(), false).await;
    app.advance_clock(std::time::Duration::from_secs(7200));
    let response = browser
        .client
        .get(browser.url("/oauth2/logout"))
        .query(&[
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", RP1_LOGGED_OUT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), RP1_LOGGED_OUT);
}

/// A relying party's cross-site POST carries no `SameSite=Lax` cookie: the hint's `sid` names the session,
/// which ends all the same, so `prompt=none` no longer returns a code.
#[tokio::test]
async fn p_lo_10_a_valid_hint_ends_its_session_without_the_cookie() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&client, &[], &user).await;
    let tokens = app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;
    let hint = tokens["id_token"].as_str().unwrap();
    assert!(decode_segment(hint, 1)["sid"].is_string());

    // Another jar: no session cookie, as after a cross-site POST.
    let cookieless = app.browser();
    let response = cookieless
        .client
        .post(cookieless.url("/oauth2/logout"))
        .form(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", RP1_LOGGED_OUT),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{RP1_LOGGED_OUT}?state=bye"));

    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("login_required"),
        "the session the hint named has ended"
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

/// A hint names its own user's session only: the session of whoever is signed in in another browser is
/// untouched by someone else's hint.
#[tokio::test]
async fn p_lo_11_a_hint_ends_no_other_users_session() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let client = app.first_party().await;
    let alices = app.browser();
    let to = alices.authorize_through(&client, &[], &alice).await;
    let alice_tokens = app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;
    let bobs = app.browser();
    let to = bobs.authorize_through(&client, &[], &bob).await;
    app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;

    // Bob's browser presents Alice's hint: Bob is asked to confirm; nothing ends yet.
    let response = bobs
        .client
        .get(bobs.url("/oauth2/logout"))
        .query(&[("id_token_hint", alice_tokens["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "a confirmation page");
    for browser in [&alices, &bobs] {
        let response = browser.authorize(&client, &[("prompt", "none")]).await;
        assert!(query_param(&location(&response), "code").is_some(), "still signed in");
    }
}

/// A bare POST (no form, no body) is an empty logout request: the user is asked to confirm.
#[tokio::test]
async fn p_lo_12_a_bare_post_asks_for_confirmation() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let browser = app.browser();
    browser.sign_in(&user).await;
    let response = browser.client.post(browser.url("/oauth2/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("name=\"confirm\""), "a confirmation form: {html}");
    assert_eq!(
        browser.get("/account").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}
