//! Bearer-token checks on protected endpoints: every way a token can be wrong gets a 401 with the
//! RFC 6750 challenge and a precise code.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::tokens::jwt;
use tessera::tokens::keyring::Signer;
use tessera::tokens::keys::KeyMaterial;

use crate::jwks::decode_segment;
use crate::support::{PASSWORD, TestApp, assert_error, test_key};

async fn assert_rejected(app: &TestApp, token: &str, code: &str) {
    let response = app.get_authorized("/api/v1/user", token).await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert_error(response, StatusCode::UNAUTHORIZED, code).await;
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains(r#"error="invalid_token""#), "{code}: {challenge}");
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Signs `claims` with Tessera's real key but the given header `typ`.
fn sign_with_real_key(typ: &str, claims: &Value) -> String {
    jwt::sign(&Signer::from_material(&test_key()).unwrap(), typ, claims).unwrap()
}

async fn valid_claims(app: &TestApp) -> (String, Value) {
    app.signup("alice").await;
    let tokens = app.login("alice", PASSWORD).await;
    let claims = decode_segment(&tokens.access, 1);
    (tokens.access, claims)
}

#[tokio::test]
async fn a_missing_token_gets_a_challenge_without_an_error() {
    let app = TestApp::spawn().await;
    for request in [
        app.client.get(app.url("/api/v1/user")),
        app.client
            .get(app.url("/api/v1/user"))
            .basic_auth("alice", Some(PASSWORD)),
    ] {
        let response = request.send().await.unwrap();
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert_error(response, StatusCode::UNAUTHORIZED, "token_missing").await;
        // RFC 6750 §3.1: no error code when no credentials were presented.
        assert!(
            challenge.starts_with("Bearer") && !challenge.contains("error="),
            "{challenge}"
        );
    }
}

#[tokio::test]
async fn malformed_tokens_are_invalid() {
    let app = TestApp::spawn().await;
    let (access, _) = valid_claims(&app).await;
    let truncated = &access[..access.len() - 10];
    for token in ["abc", "a.b.c", "a.b.c.d", "....", truncated, &"x".repeat(20_000)] {
        assert_rejected(&app, token, "token_invalid").await;
    }
    let response = app
        .client
        .get(app.url("/api/v1/user"))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "token_invalid").await;
}

#[tokio::test]
async fn tampered_and_foreign_signatures_are_invalid() {
    let app = TestApp::spawn().await;
    let (access, mut claims) = valid_claims(&app).await;

    // The payload changed under the original signature.
    claims["scope"] = "admin".into();
    let mut parts: Vec<&str> = access.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts[1] = &payload;
    assert_rejected(&app, &parts.join("."), "token_invalid").await;

    // Signed by another key that claims Tessera's kid.
    let foreign = KeyMaterial::generate(2048).unwrap();
    let mut impostor = Signer::from_material(&foreign).unwrap();
    impostor.kid = test_key().kid;
    let token = jwt::sign(&impostor, "at+jwt", &claims).unwrap();
    assert_rejected(&app, &token, "token_invalid").await;

    // Signed by another key under its own, unknown kid.
    let token = jwt::sign(&Signer::from_material(&foreign).unwrap(), "at+jwt", &claims).unwrap();
    assert_rejected(&app, &token, "token_invalid").await;
}

#[tokio::test]
async fn algorithm_confusion_is_refused() {
    let app = TestApp::spawn().await;
    let (_, claims) = valid_claims(&app).await;
    let kid = test_key().kid;

    for alg in ["none", "None", "NONE"] {
        let token = unsigned(&json!({ "alg": alg, "typ": "at+jwt", "kid": kid }), &claims);
        assert_rejected(&app, &token, "token_invalid").await;
    }

    // HS256 keyed with the public key in the forms an attacker can get it.
    let jwks: Value = app
        .client
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"][0].to_string();
    let modulus = URL_SAFE_NO_PAD.decode(jwks["keys"][0]["n"].as_str().unwrap()).unwrap();
    for secret in [jwk.as_bytes(), &modulus, b""] {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_rejected(&app, &token, "token_invalid").await;
    }
}

#[tokio::test]
async fn wrong_types_headers_and_claims_are_invalid() {
    let app = TestApp::spawn().await;
    let (_, claims) = valid_claims(&app).await;

    // An ID-token-shaped JWT is not an access token (RFC 9068 §4).
    assert_rejected(&app, &sign_with_real_key("JWT", &claims), "token_invalid").await;
    assert_eq!(
        app.get_authorized("/api/v1/user", &sign_with_real_key("application/at+jwt", &claims))
            .await
            .status(),
        StatusCode::OK,
        "the media-type spelling of at+jwt is the same type"
    );

    let mut wrong = Vec::new();
    for (claim, value) in [
        ("iss", json!("https://evil.test")),
        ("aud", json!("https://elsewhere.test")),
        ("aud", json!(["https://elsewhere.test"])),
        ("exp", json!(claims["exp"].to_string())),
        ("sub", json!("someone-else")),
    ] {
        let mut changed = claims.clone();
        changed[claim] = value;
        wrong.push(changed);
    }
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    wrong.push(no_exp);
    for changed in wrong {
        assert_rejected(&app, &sign_with_real_key("at+jwt", &changed), "token_invalid").await;
    }

    // Header members that point at other keys are refused outright.
    let kid = test_key().kid;
    for extra in [json!({ "jku": "https://evil.test/jwks" }), json!({ "crit": ["exp"] })] {
        let mut header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": kid });
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let signer = Signer::from_material(&test_key()).unwrap();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(signer.sign(signing_input.as_bytes()).unwrap());
        assert_rejected(&app, &format!("{signing_input}.{signature}"), "token_invalid").await;
    }
}

#[tokio::test]
async fn expired_tokens_are_reported_as_expired() {
    let app = TestApp::spawn().await;
    let (access, _) = valid_claims(&app).await;
    app.advance_clock(Duration::from_secs(3599));
    assert_eq!(
        app.get_authorized("/api/v1/user", &access).await.status(),
        StatusCode::OK
    );
    app.advance_clock(Duration::from_secs(1));
    assert_rejected(&app, &access, "token_expired").await;
}

#[tokio::test]
async fn refresh_tokens_are_not_bearer_tokens() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let tokens = app.login("alice", PASSWORD).await;
    assert_rejected(&app, &tokens.refresh, "token_invalid").await;
}

#[tokio::test]
async fn tokens_in_the_query_string_are_refused() {
    let app = TestApp::spawn().await;
    let (access, _) = valid_claims(&app).await;
    let response = app
        .client
        .get(app.url(&format!("/api/v1/user?access_token={access}")))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "credentials_in_query").await;
}

#[tokio::test]
async fn a_huge_authorization_header_is_refused_and_the_server_lives_on() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/v1/user"))
        .header("authorization", format!("Bearer {}", "x".repeat(64 * 1024)))
        .send()
        .await;
    if let Ok(response) = response {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let response = app.client.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
