//! `max_age=0` and `prompt=select_account` (OIDC Core §3.1.2.1): a fresh sign-in even within the second of
//! the last one, and an account choice that works without JavaScript.

use reqwest::StatusCode;

use crate::jwks::decode_segment;
use crate::oidc_support::*;

use crate::support::{PASSWORD, TestApp};

/// Posts "Continue as …" from the account page at `page_path`, as the page shows it.
async fn continue_as_shown(browser: &Browser, page_path: &str) -> reqwest::Response {
    let html = browser.get(page_path).await.text().await.unwrap();
    let field = |name: &str| hidden(&html, name).unwrap_or_default();
    let form = [
        ("csrf", field("csrf")),
        ("request", field("request")),
        ("session", field("session")),
        ("decision", "continue".to_owned()),
    ];
    browser
        .client
        .post(browser.url("/select-account"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn auth_time(tokens: &serde_json::Value) -> i64 {
    decode_segment(tokens["id_token"].as_str().unwrap(), 1)["auth_time"]
        .as_i64()
        .unwrap()
}

/// The clock stands still: everything below happens within one second of the first sign-in.
#[tokio::test]
async fn max_age_0_and_prompt_login_want_a_new_sign_in_even_in_the_same_second() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.c1().await;
    let browser = app.browser();
    browser.authorize_through(&client, &[], &user).await;

    for extra in [("max_age", "0"), ("prompt", "login")] {
        let response = browser.authorize(&client, &[extra]).await;
        let next = location(&response);
        assert!(next.starts_with("/login?request="), "{extra:?}: {next}");
        // Going round the sign-in to the consent page does not count as signing in.
        let request = next.split("request=").nth(1).unwrap();
        let consent = browser
            .answer_consent(&format!("/consent?request={request}"), "allow")
            .await;
        let after = location(&consent);
        assert!(
            after.starts_with("/login?request="),
            "{extra:?}: skipped the sign-in: {after}"
        );
        // Signing in gives the code.
        let response = browser.submit_login(&after, &user, PASSWORD).await;
        let to = location(&response);
        assert!(query_param(&to, "code").is_some(), "{extra:?}: {to}");
    }
    let response = browser
        .authorize(&client, &[("max_age", "0"), ("prompt", "none")])
        .await;
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn select_account_offers_the_signed_in_account_or_another_one() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let first = app
        .exchange(
            &client,
            &query_param(&browser.authorize_through(&client, &[], &alice).await, "code").unwrap(),
            false,
        )
        .await;

    // Continue as Alice: no sign-in, the same authentication.
    let response = browser.authorize(&client, &[("prompt", "select_account")]).await;
    let page_path = location(&response);
    assert!(page_path.starts_with("/select-account?request="), "{page_path}");
    let page = browser.get(&page_path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Continue as alice") && html.contains("alice@example.org"),
        "{html}"
    );
    assert!(html.contains("Use another account") && html.contains("href=\"/login?request="));
    assert!(!html.contains("<script"), "no JavaScript");
    let response = continue_as_shown(&browser, &page_path).await;
    let code = query_param(&location(&response), "code").expect("a code for Alice");
    let again = app.exchange(&client, &code, false).await;
    assert_eq!(auth_time(&again), auth_time(&first), "no new sign-in");
    assert_eq!(
        decode_segment(again["id_token"].as_str().unwrap(), 1)["sub"],
        alice.id.as_str()
    );

    // Use another account: the sign-in page, then Bob's code.
    let response = browser.authorize(&client, &[("prompt", "select_account")]).await;
    let page_path = location(&response);
    let request = page_path.split("request=").nth(1).unwrap().to_owned();
    let response = browser
        .submit_login(&format!("/login?request={request}"), &bob, PASSWORD)
        .await;
    let code = query_param(&location(&response), "code").expect("a code for Bob");
    let tokens = app.exchange(&client, &code, false).await;
    assert_eq!(
        decode_segment(tokens["id_token"].as_str().unwrap(), 1)["sub"],
        bob.id.as_str()
    );
}

#[tokio::test]
async fn the_choice_carries_through_consent_and_needs_the_form() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let client = app.c1().await;
    let browser = app.browser();
    browser.sign_in(&alice).await;
    let page_path = location(&browser.authorize(&client, &[("prompt", "select_account")]).await);
    let (_, request) = browser.form_fields(&page_path).await;
    let request = request.unwrap();

    // No CSRF token, or another browser: refused.
    let response = browser
        .client
        .post(browser.url("/select-account"))
        .form(&[("request", request.as_str()), ("decision", "continue")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let stranger = app.browser();
    let (their_csrf, _) = stranger.form_fields("/login").await;
    let response = stranger
        .client
        .post(stranger.url("/select-account"))
        .form(&[
            ("csrf", their_csrf.as_str()),
            ("request", request.as_str()),
            ("decision", "continue"),
        ])
        .send()
        .await
        .unwrap();
    assert_error_page(response).await;

    let response = continue_as_shown(&browser, &page_path).await;
    let consent = location(&response);
    assert!(consent.starts_with("/consent?request="), "{consent}");
    let response = browser.answer_consent(&consent, "allow").await;
    assert!(
        query_param(&location(&response), "code").is_some(),
        "not asked to choose again"
    );
}

#[tokio::test]
async fn a_login_hint_for_someone_else_needs_a_choice_and_prompt_none_says_so() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let client = app.first_party().await;
    let browser = app.browser();
    browser.sign_in(&alice).await;

    for hint in ["bob", "bob@example.org"] {
        let response = browser
            .authorize(&client, &[("prompt", "none"), ("login_hint", hint)])
            .await;
        let to = location(&response);
        assert_eq!(
            query_param(&to, "error").as_deref(),
            Some("account_selection_required"),
            "{hint}"
        );
        assert_eq!(query_param(&to, "state").as_deref(), Some("S"));
        assert!(query_param(&to, "code").is_none());
        let response = browser.authorize(&client, &[("login_hint", hint)]).await;
        assert!(location(&response).starts_with("/select-account?request="), "{hint}");
    }
    for hint in ["alice", "ALICE@example.org", alice.id.as_str()] {
        let response = browser
            .authorize(&client, &[("prompt", "none"), ("login_hint", hint)])
            .await;
        assert!(
            query_param(&location(&response), "code").is_some(),
            "{hint} is who is signed in"
        );
    }
    // Nobody signed in: straight to the sign-in page.
    let response = app.browser().authorize(&client, &[("prompt", "select_account")]).await;
    assert!(location(&response).starts_with("/login?request="));
}

/// "Continue as alice" continues as Alice only: if the browser has signed in as someone else since the page was
/// shown, the page is shown again, naming who is signed in now.
#[tokio::test]
async fn continue_goes_on_with_the_account_the_page_showed() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let client = app.first_party().await;
    let browser = app.browser();
    browser.sign_in(&alice).await;
    let page_path = location(&browser.authorize(&client, &[("prompt", "select_account")]).await);
    let html = browser.get(&page_path).await.text().await.unwrap();
    let (csrf, shown) = (hidden(&html, "csrf").unwrap(), hidden(&html, "session").unwrap());
    let request = hidden(&html, "request").unwrap();

    // Meanwhile, in another tab, Bob signs in (through another request that asks for a sign-in).
    let other = location(&browser.authorize(&client, &[("prompt", "login")]).await);
    let response = browser.submit_login(&other, &bob, PASSWORD).await;
    assert!(query_param(&location(&response), "code").is_some());

    let form = [
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
        ("session", shown.as_str()),
        ("decision", "continue"),
    ];
    let response = browser
        .client
        .post(browser.url("/select-account"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let again = location(&response);
    assert!(again.starts_with("/select-account?request="), "{again}");
    let html = browser.get(&again).await.text().await.unwrap();
    assert!(html.contains("Continue as bob"), "{html}");
}
