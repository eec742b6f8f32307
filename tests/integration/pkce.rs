//! Checklist 2.C: PKCE.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

use crate::oidc_support::*;
use crate::support::{TestApp, TestUser};

/// Runs the public client's flow with `challenge` and returns the code.
async fn public_code(app: &TestApp, client: &TestClient, user: &TestUser, challenge: &str) -> String {
    let to = app
        .browser()
        .authorize_through(
            client,
            &[("code_challenge", challenge), ("code_challenge_method", "S256")],
            user,
        )
        .await;
    query_param(&to, "code").unwrap()
}

async fn redeem_public(app: &TestApp, client: &TestClient, code: &str, verifier: Option<&str>) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", PUB_CB),
        ("client_id", client.id.as_str()),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    app.client
        .post(app.url("/oauth2/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn p_pkce_01_02_public_clients_must_use_s256() {
    let app = TestApp::spawn().await;
    let public = app.public_client().await;
    let browser = app.browser();
    for (extra, what) in [
        (vec![], "challenge required"),
        (
            vec![("code_challenge", CHALLENGE), ("code_challenge_method", "plain")],
            "plain refused",
        ),
        (vec![("code_challenge", CHALLENGE)], "02b: no method means plain"),
    ] {
        let response = browser.authorize(&public, &extra).await;
        let to = location(&response);
        assert!(to.starts_with(PUB_CB), "{what}: {to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_request"), "{what}");
    }
}

#[tokio::test]
async fn p_pkce_03_06_07_the_verifier_must_match_and_a_failure_burns_the_code() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let public = app.public_client().await;
    let code = public_code(&app, &public, &user, CHALLENGE).await;
    let wrong = "A".repeat(43);
    let response = redeem_public(&app, &public, &code, Some(&wrong)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = redeem_public(&app, &public, &code, Some(VERIFIER)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let code = public_code(&app, &public, &user, CHALLENGE).await;
    let response = redeem_public(&app, &public, &code, None).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let code = public_code(&app, &public, &user, CHALLENGE).await;
    assert_eq!(
        redeem_public(&app, &public, &code, Some(VERIFIER)).await.status(),
        StatusCode::OK
    );

    // P-PKCE-07: a confidential client may use PKCE too.
    let c1 = app.first_party().await;
    let to = app
        .browser()
        .authorize_through(
            &c1,
            &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")],
            &user,
        )
        .await;
    app.exchange(&c1, &query_param(&to, "code").unwrap(), true).await;
}

#[tokio::test]
async fn p_pkce_04_malformed_verifiers_fail_even_when_their_hash_matches() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let public = app.public_client().await;
    for verifier in ["a".to_owned(), "a".repeat(129), format!("{}+", "a".repeat(42))] {
        let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
        let code = public_code(&app, &public, &user, &challenge).await;
        let response = redeem_public(&app, &public, &code, Some(&verifier)).await;
        let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        assert!(body["access_token"].is_null());
    }
}

#[tokio::test]
async fn p_pkce_05_no_downgrade_from_a_flow_without_challenge() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let to = app.browser().authorize_through(&c1, &[], &user).await;
    let code = query_param(&to, "code").unwrap();
    let response = app
        .token(
            &c1,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", RP1_CB),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}
