//! `response_mode`: the authorization response (a code or an error) in the query, the fragment, or an
//! auto-submitting form POSTed to the redirect URI (OAuth 2.0 Form Post Response Mode). An unknown mode is
//! refused before any page is shown.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::oidc_support::*;
use crate::support::{PASSWORD, TestApp, TestUser};

/// The hidden fields of a form-post page, in order.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.match_indices("<input type=\"hidden\" name=\"")
        .map(|(at, marker)| {
            let rest = &html[at + marker.len()..];
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest.split_once("value=\"").unwrap().1.split_once('"').unwrap().0;
            (name.to_owned(), unescape(value))
        })
        .collect()
}

/// Checks the page answers a form POST to `redirect_uri` and returns its fields.
async fn assert_form_post(response: Response, redirect_uri: &str) -> Vec<(String, String)> {
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none(), "no redirect");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let action = html
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(unescape(action), redirect_uri, "{html}");
    assert!(
        html.contains("<noscript>") && html.contains("<button type=\"submit\">"),
        "{html}"
    );
    // The CSP allows exactly the page's one script, and a form to exactly this redirect URI.
    let script = html
        .split("<script>")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let hash = STANDARD.encode(digest::digest(&digest::SHA256, script.as_bytes()));
    assert!(csp.contains(&format!("script-src 'sha256-{hash}'")), "{csp}");
    let target = redirect_uri.split('?').next().unwrap();
    assert!(csp.contains(&format!("form-action {target};")), "{csp}");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    hidden_fields(&html)
}

/// Undoes the HTML escaping of an attribute value.
fn unescape(text: &str) -> String {
    [
        ("&#38;", "&"),
        ("&#34;", "\""),
        ("&#39;", "'"),
        ("&#60;", "<"),
        ("&#62;", ">"),
    ]
    .iter()
    .chain(&[("&amp;", "&"), ("&quot;", "\""), ("&lt;", "<"), ("&gt;", ">")])
    .fold(text.to_owned(), |text, (entity, raw)| text.replace(entity, raw))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Authorizes through the login page and returns the final response to the client's request.
async fn sign_in_for(browser: &Browser, client: &TestClient, extra: &[(&str, &str)], user: &TestUser) -> Response {
    let response = browser.authorize(client, extra).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    assert!(login.starts_with("/login?request="), "{login}");
    browser.submit_login(&login, user, PASSWORD).await
}

#[tokio::test]
async fn form_post_delivers_the_code_in_a_form_the_browser_posts() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let response = sign_in_for(
        &browser,
        &client,
        &[("response_mode", "form_post"), ("state", "s&t=1")],
        &user,
    )
    .await;
    let fields = assert_form_post(response, &client.redirect_uri).await;
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["code", "state", "iss"]);
    assert_eq!(field(&fields, "state"), Some("s&t=1"));
    assert_eq!(field(&fields, "iss"), Some(app.address.as_str()));
    let tokens = app.exchange(&client, field(&fields, "code").unwrap(), false).await;
    assert!(tokens["id_token"].is_string());

    // An existing session answers at once, still as a form.
    let again = browser.authorize(&client, &[("response_mode", "form_post")]).await;
    let fields = assert_form_post(again, &client.redirect_uri).await;
    assert!(field(&fields, "code").is_some());
}

#[tokio::test]
async fn fragment_puts_the_response_after_the_hash() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let response = sign_in_for(&browser, &client, &[("response_mode", "fragment")], &user).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    let (base, fragment) = back.split_once('#').unwrap();
    assert_eq!(base, client.redirect_uri);
    let params: Vec<(String, String)> = url::form_urlencoded::parse(fragment.as_bytes()).into_owned().collect();
    let code = params.iter().find(|(n, _)| n == "code").unwrap().1.clone();
    assert_eq!(params.iter().find(|(n, _)| n == "state").unwrap().1, "S");
    assert_eq!(params.iter().find(|(n, _)| n == "iss").unwrap().1, app.address);
    app.exchange(&client, &code, false).await;

    let explicit = browser.authorize(&client, &[("response_mode", "query")]).await;
    assert!(location(&explicit).starts_with(&format!("{}?code=", client.redirect_uri)));
}

#[tokio::test]
async fn errors_go_back_in_the_requested_mode() {
    let app = TestApp::spawn().await;
    let client = app.first_party().await;
    let browser = app.browser();

    let response = browser
        .authorize(&client, &[("response_mode", "form_post"), ("prompt", "none")])
        .await;
    let fields = assert_form_post(response, &client.redirect_uri).await;
    assert_eq!(field(&fields, "error"), Some("login_required"));
    assert_eq!(field(&fields, "state"), Some("S"));
    assert!(field(&fields, "code").is_none());

    let response = browser
        .authorize(&client, &[("response_mode", "fragment"), ("response_type", "token")])
        .await;
    let back = location(&response);
    assert!(
        back.starts_with(&format!("{}#error=unsupported_response_type", client.redirect_uri)),
        "{back}"
    );
    assert!(!back.contains('?'), "{back}");
}

#[tokio::test]
async fn an_unknown_or_repeated_response_mode_is_refused_before_any_page() {
    let app = TestApp::spawn().await;
    let client = app.first_party().await;
    let browser = app.browser();
    for mode in ["jwt", "query.jwt", "form-post", "FRAGMENT"] {
        let response = browser.authorize(&client, &[("response_mode", mode)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{mode}");
        let back = location(&response);
        assert!(back.starts_with(&format!("{}?", client.redirect_uri)), "{mode}: {back}");
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("invalid_request"),
            "{mode}"
        );
        assert_eq!(query_param(&back, "state").as_deref(), Some("S"));
        assert!(query_param(&back, "code").is_none());
    }
    let response = browser
        .client
        .get(browser.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=S\
             &response_mode=fragment&response_mode=query",
            client.id,
            url::form_urlencoded::byte_serialize(client.redirect_uri.as_bytes()).collect::<String>()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn discovery_advertises_the_three_modes() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
}
