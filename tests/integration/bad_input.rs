//! Bad requests get a clear 4xx in the documented shape, and nothing stored is harmed.

use reqwest::StatusCode;

use crate::support::{PASSWORD, TestApp, assert_error};

#[tokio::test]
async fn malformed_bodies_get_documented_errors() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let login = app.url("/api/v1/auth/login");
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            app.client
                .post(&login)
                .header("content-type", "application/json")
                .body("{\"login\":"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            app.client
                .post(&login)
                .header("content-type", "application/json")
                .body(vec![0xff, 0xfe, b'{']),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            app.client
                .post(&login)
                .header("content-type", "text/plain")
                .body("login=alice"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            app.client
                .post(&login)
                .form(&[("login", "alice"), ("password", PASSWORD)]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            app.client
                .post(&login)
                .header("content-type", "application/json")
                .body(r#"{"login":5,"password":[]}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            app.client
                .post(&login)
                .header("content-type", "application/json")
                .body("[]"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            app.client
                .post(&login)
                .header("content-type", "application/json")
                .body(format!(r#"{{"login":"{}"}}"#, "a".repeat(200_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            app.client.post(app.url("/api/v1/nothing-here")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.client.delete(&login),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            app.client.get(app.url("/api/v1/users")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_error(response, status, code).await;
    }
    // Nothing stored was harmed.
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn error_bodies_never_leak_internals() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"login":"x' OR '1'='1","password":"' OR 1=1 --"}"#)
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let text = body.to_string().to_lowercase();
    for leak in ["sql", "diesel", "panic", "sqlite", "postgres", "stack"] {
        assert!(!text.contains(leak), "{text}");
    }
}

/// An unknown `/api/v1` path is 404 with a key, without one, and with a bad one; a known path with a
/// variable segment still needs its key.
#[tokio::test]
async fn an_unknown_api_path_is_404_whatever_the_key() {
    let app = TestApp::spawn().await;
    let bare = reqwest::Client::new();
    for key in [None, Some("tsk_not_a_real_key"), Some(app.api_key.as_str())] {
        let mut request = bare.get(app.url("/api/v1/nothing-here"));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        assert_error(request.send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    }
    let response = bare.delete(app.url("/api/v1/tokens/some-id")).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "api_key_missing").await;
}

/// An API key in the URL is refused like any credential there, saying where it belongs.
#[tokio::test]
async fn an_api_key_in_the_url_is_refused_with_directions() {
    let app = TestApp::spawn().await;
    let bare = reqwest::Client::new();
    for name in ["x-api-key", "api_key", "apikey", "X-Api-Key"] {
        let url = app.url(&format!("/api/v1/user?{name}={}", app.api_key));
        let body = assert_error(
            bare.get(&url).send().await.unwrap(),
            StatusCode::BAD_REQUEST,
            "credentials_in_query",
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("x-api-key header"),
            "{name}: {body}"
        );
    }
}
