//! Bad requests get a clear 4xx in the documented shape, and nothing stored is harmed.

use reqwest::StatusCode;
use serde_json::json;

use crate::oidc_support::{assert_error_page, assert_oauth_error};
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

/// NUL characters are bad input wherever they arrive — JSON, forms, Basic credentials, URL paths and
/// queries — and get a 4xx in the shape of the endpoint; PostgreSQL, which cannot store them, never sees one.
#[tokio::test]
async fn nul_characters_are_refused_everywhere_as_bad_input() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let admin = app.admin_login().await;
    let client = app.first_party().await;

    let body = assert_error(
        app.post_json(
            "/api/v1/auth/login",
            &json!({"login": "al\u{0}ice", "password": PASSWORD}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["fields"]["login"].is_string(), "{body}");
    let body = assert_error(
        app.post_json(
            "/api/v1/users",
            &json!({"username": "bob\u{0}", "email": "bob@example.org", "password": PASSWORD}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["fields"]["username"].is_string(), "{body}");
    let response = app
        .client
        .post(app.url("/api/v1/admin/clients"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "x", "redirect_uris": ["https://rp.test/\u{0}"]}))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["redirect_uris"].is_string(), "{body}");

    for path in [
        "/api/v1/admin/users/%00",
        "/api/v1/admin/clients/a%00b",
        "/api/v1/user?x=%00",
    ] {
        let response = app.get_authorized(path, &admin.access).await;
        assert_error(response, StatusCode::BAD_REQUEST, "malformed_request").await;
    }

    for form in [
        vec![("grant_type", "client_credentials"), ("client_id", "c\u{0}")],
        vec![("grant_type", "client_credentials\u{0}")],
    ] {
        let response = app
            .client
            .post(app.url("/oauth2/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    for endpoint in ["/oauth2/introspect", "/oauth2/revoke"] {
        let response = app.client_post(endpoint, &client, &[("token", "tsr_\u{0}")]).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth("c\u{0}", Some("s"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    let browser = app.browser();
    let (csrf, _) = browser.form_fields("/login").await;
    let response = browser
        .client
        .post(browser.url("/login"))
        .form(&[("csrf", csrf.as_str()), ("login", "al\u{0}ice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_error_page(response).await;
    assert_error_page(browser.get("/login?request=%00").await).await;
    // A page's malformed query is a page too, not plain text.
    assert_error_page(browser.get("/login?request=a&request=b").await).await;
    let response = browser
        .get(&format!(
            "/oauth2/authorize?response_type=code&client_id={}%00&scope=openid",
            client.id
        ))
        .await;
    assert_error_page(response).await;

    // Nothing stored was harmed.
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn malformed_json_is_malformed_whatever_fields_it_names() {
    let app = TestApp::spawn().await;
    let login = app.url("/api/v1/auth/login");
    for body in [
        r#"{"unknown": 1, "login": "#,
        r#"{"login": "alice", "password": "x""#,
        r#"{"a":1}{"#,
    ] {
        let response = app
            .client
            .post(&login)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    }
    for shape in [r#"{"unknown": 1}"#, r#"{"login": "a", "login": "b", "password": "x"}"#] {
        let response = app
            .client
            .post(&login)
            .header("content-type", "application/json; charset=utf-8")
            .body(shape)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}

/// Two credentials of one kind cannot both count: refused like a repeated form parameter.
#[tokio::test]
async fn repeated_credential_headers_are_refused() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let bare = reqwest::Client::new();
    let twice = |name: &'static str, first: &str, second: &str| {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append(name, first.parse().unwrap());
        headers.append(name, second.parse().unwrap());
        headers
    };
    let response = bare
        .get(app.url("/api/v1/user"))
        .headers(twice("x-api-key", &app.api_key, &app.api_key))
        .bearer_auth(&session.access)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "malformed_request").await;
    let bearer = format!("Bearer {}", session.access);
    let response = bare
        .get(app.url("/api/v1/user"))
        .header("x-api-key", &app.api_key)
        .headers(twice("authorization", &bearer, &bearer))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "malformed_request").await;
    let response = bare
        .get(app.url("/oauth2/userinfo"))
        .headers(twice("authorization", &bearer, &bearer))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let svc = app.service_client().await;
    let basic = {
        use base64::Engine;
        let raw = format!("{}:{}", svc.id, svc.secret.as_deref().unwrap());
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    };
    let response = bare
        .post(app.url("/oauth2/token"))
        .headers(twice("authorization", &basic, &basic))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

/// Body limits answer in each endpoint's own shape: JSON errors at the OAuth endpoints, not plain text.
#[tokio::test]
async fn an_oversized_oauth_body_is_a_413_in_the_oauth_shape() {
    let app = TestApp::spawn().await;
    let big = "a".repeat(100 * 1024);
    for endpoint in [
        "/oauth2/token",
        "/oauth2/introspect",
        "/oauth2/revoke",
        "/oauth2/userinfo",
    ] {
        let response = app
            .client
            .post(app.url(endpoint))
            .form(&[("grant_type", "client_credentials"), ("token", big.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{endpoint}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{endpoint}: {body}");
    }
    let browser = app.browser();
    let (csrf, _) = browser.form_fields("/login").await;
    let response = browser
        .client
        .post(browser.url("/login"))
        .form(&[("csrf", csrf.as_str()), ("login", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

/// Sends a request head announcing a body, then part of the body, then nothing; returns what the server
/// answered until it closed the connection.
async fn stall_body(app: &TestApp, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"login=").await.unwrap();
    let mut answer = Vec::new();
    // Bounded: the server must answer and close well before this.
    tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("the server closed the stalled connection")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client that sends its headers and then stalls its body is answered 408 once the body timeout passes,
/// and its connection closed; nobody else waits meanwhile.
#[tokio::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let app = TestApp::spawn_with(|config| config.server.body_timeout_secs = 1).await;
    app.signup("alice").await;
    let key = app.api_key.clone();
    let cases = [
        (
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nx-api-key: {key}\r\n\
                 content-type: application/json\r\ncontent-length: 100\r\n\r\n"
            ),
            "\"code\":\"request_timeout\"",
        ),
        (
            "POST /oauth2/token HTTP/1.1\r\nHost: t\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: 100\r\n\r\n"
                .to_owned(),
            "\"error\":\"invalid_request\"",
        ),
        (
            "POST /login HTTP/1.1\r\nHost: t\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: 100\r\n\r\n"
                .to_owned(),
            "<!doctype html>",
        ),
    ];
    let stalled = futures_util::future::join_all(cases.iter().map(|(head, _)| stall_body(&app, head)));
    let meanwhile = async {
        app.login("alice", PASSWORD).await;
    };
    let (answers, ()) = tokio::join!(stalled, meanwhile);
    for ((_, expected), answer) in cases.iter().zip(answers) {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains(expected), "{answer}");
    }
}
