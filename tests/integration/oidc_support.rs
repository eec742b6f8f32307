//! Helpers for OpenID Connect tests: clients like the checklist's `c1`, `c2`, `pub` and `svc`, a browser
//! with its own cookie jar that signs in through the HTML forms, and code exchange.

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use tessera::oidc::clients::ClientSpec;

use crate::support::{PASSWORD, TestApp, TestUser, http_client};

pub const RP1_CB: &str = "https://rp1.test/cb";
pub const RP1_LOGGED_OUT: &str = "https://rp1.test/logged-out";
pub const PUB_CB: &str = "http://127.0.0.1/cb";
/// A PKCE pair from RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A registered client and its secret.
#[derive(Clone, Debug)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

impl TestApp {
    pub async fn register(&self, spec: ClientSpec) -> TestClient {
        let redirect_uri = spec.redirect_uris.first().cloned().unwrap_or_default();
        let registered = self
            .state
            .oidc
            .clients
            .create(spec, self.clock.now())
            .await
            .expect("valid test client");
        TestClient {
            id: registered.client.id,
            secret: registered.secret,
            redirect_uri,
        }
    }

    /// `c1`: confidential, `https://rp1.test/cb`, consent required.
    pub async fn c1(&self) -> TestClient {
        self.register(ClientSpec {
            name: Some("RP One".into()),
            redirect_uris: vec![RP1_CB.into()],
            post_logout_redirect_uris: vec![RP1_LOGGED_OUT.into()],
            ..ClientSpec::default()
        })
        .await
    }

    /// Like `c1` but first-party: no consent page.
    pub async fn first_party(&self) -> TestClient {
        self.register(ClientSpec {
            name: Some("First Party".into()),
            redirect_uris: vec![RP1_CB.into()],
            post_logout_redirect_uris: vec![RP1_LOGGED_OUT.into()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await
    }

    /// `pub`: a public client on a loopback redirect.
    pub async fn public_client(&self) -> TestClient {
        self.register(ClientSpec {
            name: Some("Native App".into()),
            redirect_uris: vec![PUB_CB.into()],
            public: true,
            first_party: true,
            ..ClientSpec::default()
        })
        .await
    }

    /// `svc`: client credentials only, with `api:read`.
    pub async fn service_client(&self) -> TestClient {
        self.register(ClientSpec {
            name: Some("Service".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            scopes: Some(vec!["api:read".into()]),
            ..ClientSpec::default()
        })
        .await
    }

    /// An access token of `client` by client credentials.
    pub async fn client_credentials_token(&self, client: &TestClient) -> String {
        let response = self.token(client, &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), StatusCode::OK, "client_credentials");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A browser with its own cookie jar.
    pub fn browser(&self) -> Browser {
        Browser {
            client: http_client()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
            base: self.address.clone(),
        }
    }

    /// A browser whose requests arrive through a proxy that says they come from `forwarded_for`.
    pub fn browser_from(&self, forwarded_for: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
        Browser {
            client: http_client()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .default_headers(headers)
                .build()
                .unwrap(),
            base: self.address.clone(),
        }
    }

    /// `POST /oauth2/token` authenticated with HTTP Basic.
    pub async fn token(&self, client: &TestClient, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/oauth2/token"))
            .basic_auth(&client.id, client.secret.as_deref())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Exchanges `code` (with the RFC 7636 verifier when `pkce`) and returns the token response.
    pub async fn exchange(&self, client: &TestClient, code: &str, pkce: bool) -> Value {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uri.as_str()),
        ];
        if pkce {
            form.push(("code_verifier", VERIFIER));
        }
        let response = if client.secret.is_some() {
            self.token(client, &form).await
        } else {
            form.push(("client_id", &client.id));
            self.client
                .post(self.url("/oauth2/token"))
                .form(&form)
                .send()
                .await
                .unwrap()
        };
        assert_eq!(response.status(), StatusCode::OK, "code exchange");
        response.json().await.unwrap()
    }

    /// `POST` to an endpoint with client Basic auth and a form.
    pub async fn client_post(&self, path: &str, client: &TestClient, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .basic_auth(&client.id, client.secret.as_deref())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs `user` in with a fresh browser through `client` and returns the tokens.
    pub async fn code_flow(&self, client: &TestClient, user: &TestUser, scope: &str) -> Value {
        let browser = self.browser();
        let callback = browser
            .authorize_through(client, &[("scope", scope), ("nonce", "n-0S6_WzA2Mj")], user)
            .await;
        let code = query_param(&callback, "code").expect("a code");
        self.exchange(client, &code, false).await
    }
}

/// One browser.
pub struct Browser {
    pub client: Client,
    base: String,
}

impl Browser {
    /// The same browser (its cookie jar) at another server.
    pub fn at(&self, base: &str) -> Browser {
        Browser {
            client: self.client.clone(),
            base: base.to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET /oauth2/authorize` with `response_type=code`, the client's id and redirect URI, `state=S`, and
    /// `extra` (which may override any of them).
    pub async fn authorize(&self, client: &TestClient, extra: &[(&str, &str)]) -> Response {
        let mut query: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", &client.redirect_uri),
            ("scope", "openid"),
            ("state", "S"),
        ];
        for (name, value) in extra {
            query.retain(|(n, _)| n != name);
            query.push((name, value));
        }
        self.client
            .get(self.url("/oauth2/authorize"))
            .query(&query)
            .send()
            .await
            .unwrap()
    }

    /// The hidden `csrf` and `request` fields of the page at `path`.
    pub async fn form_fields(&self, path: &str) -> (String, Option<String>) {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "form page {path}");
        let html = response.text().await.unwrap();
        (hidden(&html, "csrf").expect("a csrf field"), hidden(&html, "request"))
    }

    /// Posts the login form found at `login_path`.
    pub async fn submit_login(&self, login_path: &str, user: &TestUser, password: &str) -> Response {
        let (csrf, request) = self.form_fields(login_path).await;
        let mut form = vec![
            ("csrf", csrf),
            ("login", user.username.clone()),
            ("password", password.to_owned()),
        ];
        if let Some(request) = request {
            form.push(("request", request));
        }
        self.client.post(self.url("/login")).form(&form).send().await.unwrap()
    }

    /// Answers the consent page at `consent_path`.
    pub async fn answer_consent(&self, consent_path: &str, decision: &str) -> Response {
        let (csrf, request) = self.form_fields(consent_path).await;
        let form = [
            ("csrf", csrf),
            ("request", request.unwrap_or_default()),
            ("decision", decision.into()),
        ];
        self.client.post(self.url("/consent")).form(&form).send().await.unwrap()
    }

    /// Follows an authorization through sign-in and consent (allowing), returning the final redirect to the
    /// client.
    pub async fn authorize_through(&self, client: &TestClient, extra: &[(&str, &str)], user: &TestUser) -> String {
        let mut response = self.authorize(client, extra).await;
        for _ in 0..4 {
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
            let next = location(&response);
            if next.starts_with("/login") {
                response = self.submit_login(&next, user, PASSWORD).await;
            } else if next.starts_with("/consent") {
                response = self.answer_consent(&next, "allow").await;
            } else {
                return next;
            }
        }
        panic!("the authorization never came back to the client");
    }

    /// Signs in directly at `/login` (no authorization request).
    pub async fn sign_in(&self, user: &TestUser) {
        let response = self.submit_login("/login", user, PASSWORD).await;
        assert_eq!(location(&response), "/account");
    }
}

/// The `Location` header.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// Asserts an OAuth error body and returns it.
pub async fn assert_oauth_error(response: Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status, "status for {error}");
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    // RFC 6749 §5.2: no quotes, backslashes or control characters.
    assert!(
        description
            .chars()
            .all(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~')),
        "{description:?}"
    );
    body
}

/// An error page: HTML, 4xx, and no redirect anywhere.
pub async fn assert_error_page(response: Response) -> String {
    assert!(response.status().is_client_error(), "status {}", response.status());
    assert!(
        response.headers().get("location").is_none(),
        "an error page must not redirect"
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    response.text().await.unwrap()
}
