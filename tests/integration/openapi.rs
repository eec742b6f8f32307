//! The OpenAPI document of `/api/v1`: served to anyone, 3.1, and in step with the routes. The compatibility
//! profiles (`api/compat/`) are other products' documented APIs, registered elsewhere, and not part of it.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TestApp;

/// The methods a route may be registered with, as `web::resource(..)` calls name them.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(METHOD, /api/v1/path)` of every route `src/http/api/mod.rs` registers, path parameters written `{}`.
fn registered_routes() -> BTreeSet<(String, String)> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/api/mod.rs")).unwrap();
    let mut routes = BTreeSet::new();
    for resource in source.split("web::resource(\"").skip(1) {
        let (path, calls) = resource.split_once('"').unwrap();
        for method in METHODS {
            if calls.contains(&format!(".{method}(")) {
                routes.insert((method.to_uppercase(), normalise(&format!("/api/v1{path}"))));
            }
        }
    }
    routes
}

/// `(METHOD, path)` of every operation of the document, path parameters written `{}`.
fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), normalise(path)));
            }
        }
    }
    routes
}

/// `/admin/apps/{id}/members/{user_id}` → `/admin/apps/{}/members/{}`: the parameters' names do not matter.
fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                out.push_str("{}");
            }
            '}' => in_parameter = false,
            _ if in_parameter => {}
            _ => out.push(c),
        }
    }
    out
}

async fn fetch_document(app: &TestApp) -> Value {
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = TestApp::spawn().await;
    let document = fetch_document(&app).await;
    let registered = registered_routes();
    let documented = documented_routes(&document);
    assert!(
        registered.len() > 50,
        "the parser found only {} routes",
        registered.len()
    );
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes without a document: {undocumented:?}");
    let missing: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "documented routes that are not registered: {missing:?}"
    );

    // And the running server answers each documented operation (without a bearer token: a 401 or a 422 at
    // most), never with "no such route" or "no such method".
    for (method, path) in &documented {
        let url = app.url(&path.replace("{}", "no-such-id"));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.client.request(method.clone(), url).send().await.unwrap();
        let status = response.status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} answered {status}"
        );
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_served_without_an_api_key_and_cacheable() {
    let app = TestApp::spawn().await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let document: Value = response.json().await.unwrap();
    let version = document["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "openapi {version}");

    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["type"], "apiKey");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["api_key"]["name"], "x-api-key");
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(document["security"][0]["api_key"], Value::Array(vec![]));

    let error = &document["components"]["schemas"]["ErrorBody"];
    for field in ["code", "detail", "fields"] {
        assert!(error["properties"].get(field).is_some(), "ErrorBody.{field}");
    }
    // Every operation names its tag, has its own id and answers the shared error body for 4xx.
    let mut ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(operation["tags"][0].is_string(), "{method} {path} has no tag");
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "{method} {path}: operationId {id} twice");
            assert_eq!(
                operation["responses"]["4XX"]["$ref"], "#/components/responses/Error",
                "{method} {path}"
            );
        }
    }
    // The routes behind the document still ask for the key.
    let refused = reqwest::Client::new()
        .get(app.url("/api/v1/user"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_reference_page_lists_every_operation() {
    let app = TestApp::spawn().await;
    let document = fetch_document(&app).await;
    let count = documented_routes(&document).len();

    let response = reqwest::Client::new()
        .get(app.url("/api/v1/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp.contains("script-src"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("{count} operations")),
        "the page does not say {count} operations"
    );
    assert!(page.contains("/api/v1/admin/apps/{id}/members/{user_id}"));
    assert!(page.contains("ErrorBody"));
    assert!(!page.contains("<script"));
}
