//! Pushed authorization requests (RFC 9126) over HTTP: the push, its refusals, and the authorization endpoint
//! taking a pushed request once, for its own client, within its minute.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;
use tessera::oidc::clients::ClientSpec;

use crate::oidc_support::*;
use crate::support::TestApp;

const URN: &str = "urn:ietf:params:oauth:request_uri:";

impl TestApp {
    /// `POST /oauth2/par` as `client` (Basic for a confidential one, its id for a public one).
    async fn push(&self, client: &TestClient, form: &[(&str, &str)]) -> Response {
        let mut request = self.client.post(self.url("/oauth2/par"));
        let mut form: Vec<(&str, &str)> = form.to_vec();
        match &client.secret {
            Some(secret) => request = request.basic_auth(&client.id, Some(secret)),
            None => form.push(("client_id", &client.id)),
        }
        request.form(&form).send().await.unwrap()
    }

    /// A push of a valid request for `client` that succeeded: its `request_uri`.
    async fn pushed(&self, client: &TestClient) -> String {
        let response = self
            .push(
                client,
                &[
                    ("response_type", "code"),
                    ("redirect_uri", &client.redirect_uri),
                    ("scope", "openid"),
                    ("state", "pushed-state"),
                    ("nonce", "n-pushed"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("no-store")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expires_in"], 60);
        let uri = body["request_uri"].as_str().unwrap().to_owned();
        assert!(uri.len() > URN.len() + 40, "{uri}");
        assert!(uri.starts_with(URN), "{uri}");
        uri
    }

    async fn par_client(&self, require_par: bool) -> TestClient {
        self.register(ClientSpec {
            name: Some("Pushing RP".into()),
            redirect_uris: vec![RP1_CB.into()],
            first_party: true,
            require_pushed_authorization_requests: require_par,
            ..ClientSpec::default()
        })
        .await
    }
}

impl Browser {
    /// `GET /oauth2/authorize?client_id=…&request_uri=…`.
    async fn authorize_pushed(&self, client_id: &str, request_uri: &str) -> Response {
        self.client
            .get(self.url("/oauth2/authorize"))
            .query(&[("client_id", client_id), ("request_uri", request_uri)])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_pushed_request_becomes_a_code_and_tokens() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.par_client(true).await;
    let request_uri = app.pushed(&client).await;
    // RFC 9126 §4: the browser's other parameters are ignored; the pushed ones count.
    let callback = app
        .browser()
        .authorize_through(
            &client,
            &[
                ("request_uri", &request_uri),
                ("state", "ignored"),
                ("scope", "openid email"),
            ],
            &user,
        )
        .await;
    assert!(callback.starts_with(RP1_CB), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("pushed-state"));
    let code = query_param(&callback, "code").expect("a code");
    let tokens = app.exchange(&client, &code, false).await;
    assert!(tokens["id_token"].is_string() && tokens["access_token"].is_string());
    assert_eq!(tokens["scope"], "openid");
}

#[tokio::test]
async fn a_confidential_client_must_authenticate_to_push() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let form = [
        ("client_id", client.id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", RP1_CB),
        ("scope", "openid"),
    ];
    let response = app
        .client
        .post(app.url("/oauth2/par"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let wrong = TestClient {
        secret: Some("tss_wrong".into()),
        ..client.clone()
    };
    let response = app.push(&wrong, &form[1..]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_pushed_request_is_checked_like_an_authorization_request() {
    let app = TestApp::spawn().await;
    let client = app.c1().await;
    let base = [("response_type", "code"), ("redirect_uri", RP1_CB), ("scope", "openid")];
    let with = |name: &'static str, value: &'static str| {
        let mut form: Vec<(&str, &str)> = base.iter().copied().filter(|(n, _)| *n != name).collect();
        form.push((name, value));
        form
    };
    let cases = [
        (with("scope", "openid payroll"), "invalid_scope"),
        (with("redirect_uri", "https://evil.test/cb"), "invalid_request"),
        (with("response_type", "token"), "unsupported_response_type"),
        (
            with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "invalid_request",
        ),
        (with("prompt", "none login"), "invalid_request"),
    ];
    for (form, error) in cases {
        let response = app.push(&client, &form).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, error).await;
    }
    // Public clients are held to PKCE at push time too.
    let public = app.public_client().await;
    let response = app
        .push(
            &public,
            &[("response_type", "code"), ("redirect_uri", PUB_CB), ("scope", "openid")],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_request_uri_is_used_once() {
    let app = TestApp::spawn().await;
    let client = app.par_client(false).await;
    let request_uri = app.pushed(&client).await;
    let first = app.browser().authorize_pushed(&client.id, &request_uri).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(location(&first).starts_with("/login"), "{}", location(&first));
    let again = app.browser().authorize_pushed(&client.id, &request_uri).await;
    let page = assert_error_page(again).await;
    assert!(page.contains("invalid_request_uri"), "{page}");
}

#[tokio::test]
async fn an_expired_request_uri_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.par_client(false).await;
    let request_uri = app.pushed(&client).await;
    app.advance_clock(Duration::from_secs(61));
    let response = app.browser().authorize_pushed(&client.id, &request_uri).await;
    assert_error_page(response).await;
}

#[tokio::test]
async fn another_clients_request_uri_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.par_client(false).await;
    let other = app.par_client(false).await;
    let request_uri = app.pushed(&owner).await;
    let response = app.browser().authorize_pushed(&other.id, &request_uri).await;
    assert_error_page(response).await;
    for garbage in ["urn:ietf:params:oauth:request_uri:nothing", "https://evil.test/req", ""] {
        let response = app.browser().authorize_pushed(&owner.id, garbage).await;
        assert_error_page(response).await;
    }
    // The refused attempts spent nothing: the owner's request still works.
    let response = app.browser().authorize_pushed(&owner.id, &request_uri).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_client_that_must_push_is_refused_without_request_uri() {
    let app = TestApp::spawn().await;
    let client = app.par_client(true).await;
    let response = app.browser().authorize(&client, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let target = location(&response);
    assert!(target.starts_with(RP1_CB), "{target}");
    assert_eq!(query_param(&target, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(&target, "state").as_deref(), Some("S"));
    assert!(query_param(&target, "code").is_none());
    // An unverified redirect URI is never redirected to, even for this refusal.
    let response = app
        .browser()
        .authorize(&client, &[("redirect_uri", "https://evil.test/cb")])
        .await;
    assert_error_page(response).await;
}

#[tokio::test]
async fn discovery_names_the_par_endpoint() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        format!("{}/oauth2/par", app.address)
    );
    assert_eq!(doc["require_pushed_authorization_requests"], false);
}

/// The per-client flag is set, shown and cleared through every front door that registers clients: the admin
/// REST API, the console's client form and `tessera admin create-client`.
#[tokio::test]
async fn pushed_requests_only_is_set_through_the_admin_api_the_console_and_the_cli() {
    let app = TestApp::spawn().await;
    let token = app.admin_login().await.access;
    let url = app.url("/api/v1/admin/clients");
    let body = |flag: bool| {
        serde_json::json!({
            "name": "Pushed only",
            "redirect_uris": [RP1_CB],
            "require_pushed_authorization_requests": flag
        })
    };
    let created: Value = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&body(true))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["require_pushed_authorization_requests"], true);
    let id = created["client_id"].as_str().unwrap().to_owned();
    let updated: Value = app
        .client
        .put(format!("{url}/{id}"))
        .bearer_auth(&token)
        .json(&body(false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["require_pushed_authorization_requests"], false);
    assert!(
        !app.state
            .oidc
            .clients
            .get(&id)
            .await
            .unwrap()
            .require_pushed_authorization_requests
    );

    let apps: Value = app
        .get_authorized("/api/v1/admin/apps", &token)
        .await
        .json()
        .await
        .unwrap();
    let default_app = apps[0]["id"].as_str().unwrap().to_owned();
    let admin = app.admin_browser().await;
    let response = admin
        .post_form(
            "/admin/clients",
            &[
                ("application", &default_app),
                ("name", "Console pushed only"),
                ("redirect_uris", RP1_CB),
                ("grant_authorization_code", "on"),
                ("require_par", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = response.text().await.unwrap();
    let console_id = page
        .split("id=\"client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let console_client = app.state.oidc.clients.get(console_id).await.unwrap();
    assert!(console_client.require_pushed_authorization_requests);
    let edit = admin
        .get(&format!("/admin/clients/{console_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains("name=\"require_par\" value=\"on\" checked"), "{edit}");

    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .env_clear()
        .env("TESSERA_DATABASE__URL", &app.database.url)
        .env("TESSERA_LOG__LEVEL", "warn")
        .args([
            "admin",
            "create-client",
            "--name",
            "CLI pushed only",
            "--redirect-uri",
            RP1_CB,
        ])
        .args(["--require-pushed-authorization-requests", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let cli_client = app
        .state
        .oidc
        .clients
        .get(printed["client_id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(cli_client.require_pushed_authorization_requests);
}
