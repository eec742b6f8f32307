//! Checklist 2.B: the authorization endpoint.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use tessera::oidc::clients::ClientSpec;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::{PASSWORD, TestApp};

const P_AZ_01_VARIANTS: &[&str] = &[
    "https://rp1.test/cb/",
    "https://rp1.test/cb/x",
    "https://rp1.test/cb/../evil",
    "https://rp1.test/cb/..;/evil",
    "https://rp1.test/cb%2f..%2fevil",
    "https://rp1.test/cb%252f..%252fevil",
    "https://rp1.test/cb%09",
    "https://rp1.test/cb%0d%0a",
    "HTTPS://RP1.TEST/cb",
    "https://rp1.test/CB",
    "https://rp1.test@evil.test/cb",
    "https://a@b@rp1.test/cb",
    "https://evil.test@rp1.test@evil.test/cb",
    "https://rp1.test%40evil.test/cb",
    "https://rp1.test.evil.test/cb",
    "https://rр1.test/cb",
    "https://rp1.test:443/cb",
    "https://rp1.test:8443/cb",
    "https://rp1.test/cb?a=b",
    "https://rp1.test/cb#frag",
    "http://rp1.test/cb",
    "https:\\\\rp1.test\\cb",
    " https://rp1.test/cb",
    "https://rp1.test/cb ",
];

/// Asserts a redirect error: 303 to the registered URI with `error`, the echoed `state`, `iss`, no code.
async fn assert_redirect_error(app: &TestApp, response: reqwest::Response, redirect_uri: &str, error: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(to.starts_with(&format!("{redirect_uri}?")), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some(error), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("S"));
    assert_eq!(query_param(&to, "iss").as_deref(), Some(app.address.as_str()));
    assert!(query_param(&to, "code").is_none());
}

#[tokio::test]
async fn p_az_01_every_redirect_uri_variant_gets_an_error_page() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    for variant in P_AZ_01_VARIANTS {
        let response = browser.authorize(&client, &[("redirect_uri", variant)]).await;
        let page = assert_error_page(response).await;
        assert!(
            !page.contains("evil.test/") || page.contains("not registered"),
            "{variant}"
        );
    }
}

#[tokio::test]
async fn p_az_02_03_loopback_redirects_may_change_port_only() {
    let app = TestApp::spawn().await;
    let public = app.public_client().await;
    let browser = app.browser();
    let response = browser
        .authorize(
            &public,
            &[
                ("redirect_uri", "http://127.0.0.1:54321/cb"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"), "accepted: on to sign-in");
    for bad in [
        "http://127.0.0.1:54321/cb?x=1",
        "http://127.0.0.1/other",
        "http://localhost/cb",
        "https://127.0.0.1/cb",
        "http://127.0.0.1.evil.test/cb",
    ] {
        let response = browser
            .authorize(
                &public,
                &[
                    ("redirect_uri", bad),
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        assert_error_page(response).await;
    }
    let c1 = app.c1().await;
    assert_error_page(browser.authorize(&c1, &[("redirect_uri", "http://127.0.0.1/cb")]).await).await;
}

/// RFC 8252 §7.3 lets a native (public) client's loopback redirect change port; RFC 9700 §4.1.3 wants every
/// other redirect matched exactly, so a confidential client's loopback redirect keeps its port.
#[tokio::test]
async fn p_az_02b_a_confidential_clients_loopback_redirect_matches_exactly() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app
        .register(ClientSpec {
            name: Some("Local web app".into()),
            redirect_uris: vec!["http://127.0.0.1:8000/cb".into()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let browser = app.browser();
    for other in [
        "http://127.0.0.1:9000/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:80/cb",
    ] {
        assert_error_page(browser.authorize(&client, &[("redirect_uri", other)]).await).await;
    }
    let callback = browser.authorize_through(&client, &[], &user).await;
    assert!(callback.starts_with("http://127.0.0.1:8000/cb?code="), "{callback}");
}

#[tokio::test]
async fn p_az_04_05_missing_redirect_uri_or_client_gets_an_error_page() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    for query in [
        vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("scope", "openid"),
        ],
        vec![("response_type", "code"), ("redirect_uri", RP1_CB)],
        vec![
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", RP1_CB),
        ],
    ] {
        let response = browser
            .client
            .get(browser.url("/oauth2/authorize"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_error_page(response).await;
    }
}

#[tokio::test]
async fn p_az_06_unsafe_redirect_uris_cannot_be_registered() {
    let app = TestApp::spawn().await;
    for uri in [
        "https://rp.test/cb#frag",
        "http://rp.test/cb",
        "https://*.rp.test/cb",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,hi",
    ] {
        let result = app
            .state
            .oidc
            .clients
            .create(
                ClientSpec {
                    name: Some("bad".into()),
                    redirect_uris: vec![uri.into()],
                    ..ClientSpec::default()
                },
                app.clock.now(),
            )
            .await;
        assert!(result.is_err(), "{uri} was accepted");
    }
    assert!(
        app.state.oidc.clients.list().await.unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn p_az_07_response_types_other_than_code_are_refused_to_the_client() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    let missing = browser
        .client
        .get(browser.url("/oauth2/authorize"))
        .query(&[
            ("client_id", client.id.as_str()),
            ("redirect_uri", RP1_CB),
            ("state", "S"),
        ])
        .send()
        .await
        .unwrap();
    assert_redirect_error(&app, missing, RP1_CB, "invalid_request").await;
    for response_type in ["foo", "token", "id_token token", "code id_token"] {
        let response = browser.authorize(&client, &[("response_type", response_type)]).await;
        assert_redirect_error(&app, response, RP1_CB, "unsupported_response_type").await;
    }
}

#[tokio::test]
async fn p_az_08_10_unknown_parameters_and_any_order_are_fine() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    let response = browser
        .authorize(&client, &[("extra", "foobar"), ("scope", "email openid")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login?request="));
}

#[tokio::test]
async fn p_az_09_repeated_parameters_are_refused() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    let base = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}",
        client.id, RP1_CB
    );
    let response = browser.get(&format!("{base}&redirect_uri={RP1_CB}")).await;
    assert_error_page(response).await;
    let response = browser.get(&format!("{base}&client_id={}", client.id)).await;
    assert_error_page(response).await;
    let response = browser.get(&format!("{base}&state=a&state=b")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_request"));
    assert!(query_param(&to, "state").is_none(), "an ambiguous state is not echoed");
}

#[tokio::test]
async fn p_az_11_12_post_works_and_the_redirect_carries_code_state_and_iss() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    browser.sign_in(&user).await;
    let state = "a b&c=d/é?<>";
    let response = browser
        .client
        .post(browser.url("/oauth2/authorize"))
        .form(&[
            ("scope", "openid"),
            ("client_id", client.id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", RP1_CB),
            ("state", state),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "303, never 307");
    let to = location(&response);
    assert!(to.starts_with(&format!("{RP1_CB}?code=")), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some(state), "state byte-exact");
    assert_eq!(query_param(&to, "iss").as_deref(), Some(app.address.as_str()));
    assert!(query_param(&to, "access_token").is_none() && query_param(&to, "id_token").is_none());
}

#[tokio::test]
async fn p_az_13_codes_are_long_random_and_distinct() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    browser.sign_in(&user).await;
    let mut codes = HashSet::new();
    for _ in 0..100 {
        let to = location(&browser.authorize(&client, &[]).await);
        let code = query_param(&to, "code").unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(&code).expect("URL-safe base64");
        assert!(bytes.len() * 8 >= 128);
        codes.insert(code);
    }
    assert_eq!(codes.len(), 100);
}

#[tokio::test]
async fn p_az_14_codes_expire() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let to = app.browser().authorize_through(&client, &[], &user).await;
    app.advance_clock(Duration::from_secs(601));
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
async fn p_az_15_16_17_prompt_none() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    assert_redirect_error(&app, response, RP1_CB, "login_required").await;

    let first = app
        .exchange(
            &client,
            &query_param(&browser.authorize_through(&client, &[], &user).await, "code").unwrap(),
            false,
        )
        .await;
    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    let code = query_param(&location(&response), "code").expect("a silent code");
    let second = app.exchange(&client, &code, false).await;
    let sub = |t: &serde_json::Value| decode_segment(t["id_token"].as_str().unwrap(), 1)["sub"].clone();
    assert_eq!(sub(&first), sub(&second));

    let response = browser.authorize(&client, &[("prompt", "none login")]).await;
    assert_redirect_error(&app, response, RP1_CB, "invalid_request").await;
}

#[tokio::test]
async fn p_az_15_consent_is_needed_but_prompt_is_none() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.c1().await;
    let browser = app.browser();
    browser.sign_in(&user).await;
    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    assert_redirect_error(&app, response, RP1_CB, "consent_required").await;
}

#[tokio::test]
async fn p_az_18_prompt_login_asks_again_and_renews_auth_time() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let first = app
        .exchange(
            &client,
            &query_param(&browser.authorize_through(&client, &[], &user).await, "code").unwrap(),
            false,
        )
        .await;
    app.advance_clock(Duration::from_secs(5));
    let response = browser.authorize(&client, &[("prompt", "login")]).await;
    let next = location(&response);
    assert!(
        next.starts_with("/login?request="),
        "credentials required again: {next}"
    );
    let response = browser.submit_login(&next, &user, PASSWORD).await;
    let code = query_param(&location(&response), "code").unwrap();
    let second = app.exchange(&client, &code, false).await;
    let auth_time = |t: &serde_json::Value| {
        decode_segment(t["id_token"].as_str().unwrap(), 1)["auth_time"]
            .as_i64()
            .unwrap()
    };
    assert!(auth_time(&second) > auth_time(&first));
}

#[tokio::test]
async fn p_az_19_max_age() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let first = browser.authorize_through(&client, &[], &user).await;
    let first = app
        .exchange(&client, &query_param(&first, "code").unwrap(), false)
        .await;
    let auth_time = decode_segment(first["id_token"].as_str().unwrap(), 1)["auth_time"]
        .as_i64()
        .unwrap();
    app.advance_clock(Duration::from_secs(2));

    let response = browser.authorize(&client, &[("max_age", "1")]).await;
    assert!(
        location(&response).starts_with("/login"),
        "19: a stale session signs in again"
    );

    let response = browser.authorize(&client, &[("max_age", "10000")]).await;
    let code = query_param(&location(&response), "code").expect("19b: silent");
    let tokens = app.exchange(&client, &code, false).await;
    let claims = decode_segment(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["auth_time"].as_i64(),
        Some(auth_time),
        "19b: auth_time unchanged"
    );

    let response = browser
        .authorize(&client, &[("prompt", "none"), ("max_age", "1")])
        .await;
    assert_redirect_error(&app, response, RP1_CB, "login_required").await;

    let response = browser.authorize(&client, &[("max_age", "soon")]).await;
    assert_redirect_error(&app, response, RP1_CB, "invalid_request").await;
}

#[tokio::test]
async fn p_az_20_21_22_id_token_hint() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let own = app
        .exchange(
            &client,
            &query_param(&browser.authorize_through(&client, &[], &alice).await, "code").unwrap(),
            false,
        )
        .await;
    let own_hint = own["id_token"].as_str().unwrap().to_owned();
    app.advance_clock(Duration::from_secs(7200));

    let response = browser
        .authorize(&client, &[("prompt", "none"), ("id_token_hint", &own_hint)])
        .await;
    assert!(
        query_param(&location(&response), "code").is_some(),
        "20: an expired but genuine hint works"
    );

    let others = app.code_flow(&client, &bob, "openid").await;
    let response = browser
        .authorize(
            &client,
            &[
                ("prompt", "none"),
                ("id_token_hint", others["id_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_redirect_error(&app, response, RP1_CB, "login_required").await;

    let mut parts: Vec<String> = own_hint.split('.').map(str::to_owned).collect();
    let mut claims = decode_segment(&own_hint, 1);
    claims["sub"] = bob.id.clone().into();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let modified = parts.join(".");
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    for hint in [modified.as_str(), none.as_str(), "garbage"] {
        let response = browser
            .authorize(&client, &[("prompt", "none"), ("id_token_hint", hint)])
            .await;
        let to = location(&response);
        let error = query_param(&to, "error");
        assert!(
            matches!(error.as_deref(), Some("invalid_request" | "login_required")),
            "{to}"
        );
        assert!(query_param(&to, "code").is_none());
    }
}

#[tokio::test]
async fn p_az_23_hints_locales_display_and_acr_values_are_accepted() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    let response = browser
        .authorize(
            &client,
            &[
                ("login_hint", "alice@example.org"),
                ("ui_locales", "fr-CA fr en"),
                ("claims_locales", "de"),
                ("display", "popup"),
                ("acr_values", "1"),
            ],
        )
        .await;
    let next = location(&response);
    assert!(next.starts_with("/login?request="));
    let page = browser.get(&next).await.text().await.unwrap();
    assert!(
        page.contains("value=\"alice@example.org\""),
        "login_hint pre-fills the form"
    );
}

#[tokio::test]
async fn p_az_24_request_objects_are_not_supported_and_never_fetched() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    let response = browser
        .authorize(&client, &[("request", "eyJhbGciOiJub25lIn0.e30.")])
        .await;
    assert_redirect_error(&app, response, RP1_CB, "request_not_supported").await;
    let response = browser
        .authorize(&client, &[("request_uri", "https://127.0.0.1:9/never")])
        .await;
    // Only pushed requests' URNs (RFC 9126) are taken; any other request_uri is refused, never fetched.
    assert_error_page(response).await;
}

#[tokio::test]
async fn p_az_25_offline_access_needs_consent() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.c1().await;
    let browser = app.browser();
    let response = browser.authorize(&client, &[("scope", "openid offline_access")]).await;
    let next = location(&response);
    let response = browser.submit_login(&next, &user, PASSWORD).await;
    assert!(
        location(&response).starts_with("/consent"),
        "a consent screen, not a silent refresh token"
    );
    let page = browser.get(&location(&response)).await.text().await.unwrap();
    assert!(page.contains("stay connected"), "offline access is spelled out");
}

#[tokio::test]
async fn p_az_26_forms_without_the_browsers_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.c1().await;
    let browser = app.browser();
    let next = location(&browser.authorize(&client, &[]).await);
    let (csrf, request) = browser.form_fields(&next).await;
    let other = app.browser();
    let (others_csrf, _) = other.form_fields("/login").await;
    for token in ["", "wrong-token-of-enough-length-0000000000", others_csrf.as_str()] {
        let response = browser
            .client
            .post(browser.url("/login"))
            .form(&[
                ("csrf", token),
                ("request", request.as_deref().unwrap()),
                ("login", &user.username),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no session cookie issued"
        );
    }
    let response = browser
        .client
        .post(browser.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("request", request.as_deref().unwrap()),
            ("login", &user.username),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the genuine form works");
}

#[tokio::test]
async fn p_az_27_28_pages_cannot_be_framed_and_leak_no_referrer() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let browser = app.browser();
    let login = location(&browser.authorize(&client, &[]).await);
    let error_page = browser
        .authorize(&client, &[("redirect_uri", "https://evil.test/cb")])
        .await;
    for response in [
        browser.get(&login).await,
        error_page,
        browser.get("/oauth2/logout").await,
    ] {
        let headers = response.headers();
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let html = response.text().await.unwrap();
        assert!(!html.contains("<script"), "no scripts at all");
    }
}

#[tokio::test]
async fn p_az_29_a_request_cannot_be_finished_in_another_browser() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let mallory = app.signup("mallory").await;
    let client = app.first_party().await;
    let a = app.browser();
    let next = location(&a.authorize(&client, &[]).await);
    let b = app.browser();
    b.sign_in(&mallory).await;
    let response = b.get(&next).await;
    assert_error_page(response).await;
    // Alice can still finish her own.
    let response = a.submit_login(&next, &alice, PASSWORD).await;
    assert!(query_param(&location(&response), "code").is_some());
}

#[tokio::test]
async fn p_az_30_login_pages_never_redirect_off_site() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    for target in [
        "https://evil.test",
        "//evil.test",
        "/\\evil.test",
        "\\/evil.test",
        "/%09/evil.test",
    ] {
        let browser = app.browser();
        let response = browser
            .submit_login(&format!("/login?next={target}&return_to={target}"), &user, PASSWORD)
            .await;
        assert_eq!(location(&response), "/account", "{target}");
    }
}
