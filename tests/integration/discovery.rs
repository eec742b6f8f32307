//! Checklist 2.A: discovery metadata, JWKS and CORS.

use reqwest::StatusCode;
use serde_json::Value;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::TestApp;

async fn metadata(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn p_disc_01_02_03_metadata_is_complete_and_truthful() {
    let app = TestApp::spawn().await;
    let doc = metadata(&app, "/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], app.address.as_str(), "byte-identical issuer");
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/oauth2/jwks"),
        ("end_session_endpoint", "/oauth2/logout"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("device_authorization_endpoint", "/oauth2/device_authorization"),
    ] {
        assert_eq!(doc[field], format!("{}{path}", app.address), "{field}");
    }
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(doc["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["request_parameter_supported"], false);
    assert_eq!(doc["request_uri_parameter_supported"], false);
    let grants: Vec<&str> = doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    for grant in [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        assert!(grants.contains(&grant), "{grant}");
    }
    assert!(!grants.contains(&"password") && !grants.contains(&"implicit"));
    let scopes = doc["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&"openid".into()));
    assert!(doc["claims_supported"].as_array().unwrap().contains(&"sub".into()));
    // Tokens are signed asymmetrically only; HMAC is for clients' client_secret_jwt assertions alone.
    let signing = doc["id_token_signing_alg_values_supported"].to_string();
    assert!(!signing.contains("none") && !signing.contains("HS"), "{signing}");
    let assertions = doc["token_endpoint_auth_signing_alg_values_supported"].to_string();
    assert!(!assertions.contains("none"), "{assertions}");
    // Exactly the client authentication each endpoint accepts (tested in token_code, introspection and
    // client_assertions).
    let methods = serde_json::json!([
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none"
    ]);
    assert_eq!(doc["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["revocation_endpoint_auth_methods_supported"], methods);
    assert_eq!(
        doc["introspection_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt"
        ])
    );
}

#[tokio::test]
async fn p_disc_04_an_https_issuer_publishes_https_endpoints_on_its_origin() {
    let app = TestApp::spawn_with(|config| config.server.issuer = "https://id.example.test".into()).await;
    let doc = metadata(&app, "/.well-known/openid-configuration").await;
    for (name, value) in doc.as_object().unwrap() {
        if name.ends_with("_endpoint") || name == "jwks_uri" {
            assert!(
                value.as_str().unwrap().starts_with("https://id.example.test/"),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn p_disc_05_oauth_metadata_matches() {
    let app = TestApp::spawn().await;
    let oidc = metadata(&app, "/.well-known/openid-configuration").await;
    let oauth = metadata(&app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(oidc, oauth);
}

#[tokio::test]
async fn p_disc_07_id_tokens_name_a_published_kid() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let tokens = app.code_flow(&client, &user, "openid").await;
    let header = decode_segment(tokens["id_token"].as_str().unwrap(), 0);
    assert_eq!(header["alg"], "RS256");
    let jwks: Value = app
        .client
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"])
    );
}

#[tokio::test]
async fn p_disc_09_metadata_allows_any_origin_but_the_authorization_endpoint_sends_no_cors() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    for path in ["/.well-known/openid-configuration", "/oauth2/jwks"] {
        let response = app
            .client
            .get(app.url(path))
            .header("origin", "https://evil.test")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(response.headers().get("access-control-allow-credentials").is_none());
    }
    let browser = app.browser();
    let response = browser
        .client
        .get(browser.url("/oauth2/authorize"))
        .header("origin", "https://evil.test")
        .query(&[
            ("client_id", client.id.as_str()),
            ("redirect_uri", RP1_CB),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .keys()
            .all(|h| !h.as_str().starts_with("access-control-"))
    );
}

#[tokio::test]
async fn head_on_discovery_and_jwks_answers_like_get_without_a_body() {
    let app = TestApp::spawn().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/oauth2/jwks",
    ] {
        let get = app.client.get(app.url(path)).send().await.unwrap();
        let length = get.text().await.unwrap().len();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "{path}");
        assert_eq!(head.headers()["content-type"], "application/json", "{path}");
        assert!(head.headers()["cache-control"].to_str().unwrap().contains("max-age"));
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            length.to_string(),
            "{path}: the length GET would send"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: no body");
    }
}
