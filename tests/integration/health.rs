//! Probes and the headers every response carries.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TestApp;

#[tokio::test]
async fn liveness_and_readiness_answer() {
    let app = TestApp::spawn().await;
    for path in ["/health/live", "/health/ready"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/health/live", "/oauth2/jwks", "/api/v1/user", "/no/such/page"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{path}"
        );
        assert!(headers.contains_key("x-request-id"), "{path}");
        // The test issuer is plain http, where HSTS means nothing.
        assert!(!headers.contains_key("strict-transport-security"), "{path}");
    }
}

#[tokio::test]
async fn an_https_issuer_adds_hsts() {
    let app = TestApp::spawn_with(|config| config.server.issuer = "https://id.example.test".into()).await;
    let response = app.client.get(app.url("/health/live")).send().await.unwrap();
    let hsts = response.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.contains("max-age=31536000") && hsts.contains("includeSubDomains"));
}
