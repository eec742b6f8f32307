//! The networks an application may be used from (`ip_ranges`): CIDR blocks, start-end pairs and addresses, IPv4
//! and IPv6, with the client address the trusted-proxy rules give. From elsewhere a sign-in is refused before
//! any credential is looked at (`403 ip_not_allowed`, the same for a right and a wrong password), at every
//! front door, and so are a refresh (which leaves the token unspent) and a private token's use.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;

use crate::oidc_support::{TestClient, assert_error_page, location, query_param};
use crate::support::{PASSWORD, TestApp, assert_error};

const RANGES: [&str; 3] = ["203.0.113.0/24", "2001:db8::/32", "198.51.100.10-198.51.100.20"];

/// A server behind a trusted proxy on loopback, an application limited to [`RANGES`], and its API key client.
async fn limited() -> (TestApp, Value, reqwest::Client) {
    let app = TestApp::spawn_with(|config| {
        config.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let admin = app.admin_login().await;
    let response = app
        .client
        .post(app.url("/api/v1/admin/apps"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "Bank", "ip_ranges": ["10.0.0.0/33", "10.0.0.9-10.0.0.1", "nowhere"]}))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(
        body["fields"]["ip_ranges"].is_string() || body["fields"]["ip_ranges"].is_array(),
        "{body}"
    );
    let bank = app
        .create_application(json!({"name": "Bank", "ip_ranges": RANGES}))
        .await;
    assert_eq!(bank["ip_ranges"], json!(RANGES));
    let key = app
        .create_api_key(bank["id"].as_str().unwrap(), json!({"name": "web"}))
        .await;
    let api = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    (app, bank, api)
}

async fn post_from(api: &reqwest::Client, url: &str, from: &str, body: &Value) -> reqwest::Response {
    api.post(url)
        .header("x-forwarded-for", from)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_rest_api_signs_in_and_refreshes_only_from_the_applications_networks() {
    let (app, bank, api) = limited().await;
    app.signup("ana").await;
    let login = app.url("/api/v1/auth/login");
    let right = json!({"login": "ana", "password": PASSWORD});
    let wrong = json!({"login": "ana", "password": "not her password"});

    for inside in ["203.0.113.5", "2001:db8::5", "198.51.100.10", "198.51.100.20"] {
        let response = post_from(&api, &login, inside, &right).await;
        assert_eq!(response.status(), StatusCode::OK, "{inside}");
    }
    for outside in ["192.0.2.1", "2001:db9::1", "198.51.100.21", "203.0.114.1"] {
        let response = post_from(&api, &login, outside, &right).await;
        assert_error(response, StatusCode::FORBIDDEN, "ip_not_allowed").await;
    }
    // Outside, a wrong password gets the same answer: nothing is learnt about the password.
    let response = post_from(&api, &login, "192.0.2.1", &wrong).await;
    assert_error(response, StatusCode::FORBIDDEN, "ip_not_allowed").await;
    // Without the proxy's word, the request comes from loopback: outside.
    let response = api.post(&login).json(&right).send().await.unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "ip_not_allowed").await;

    // A refresh from outside is refused and leaves the token as it was.
    let tokens: Value = post_from(&api, &login, "203.0.113.5", &right)
        .await
        .json()
        .await
        .unwrap();
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    let url = app.url("/api/v1/auth/refresh");
    let response = post_from(&api, &url, "192.0.2.1", &refresh).await;
    assert_error(response, StatusCode::FORBIDDEN, "ip_not_allowed").await;
    let response = post_from(&api, &url, "203.0.113.77", &refresh).await;
    assert_eq!(response.status(), StatusCode::OK);

    // A private token made inside is refused outside, used directly or exchanged.
    let access = tokens["access_token"].as_str().unwrap();
    let made: Value = api
        .post(app.url("/api/v1/tokens"))
        .header("x-forwarded-for", "203.0.113.5")
        .bearer_auth(access)
        .json(&json!({"description": "statements", "expires_at": app.time_in(30 * 24 * 3600), "scopes": []}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let private = made["token"].as_str().unwrap_or_else(|| panic!("{made}"));
    let me = |from: &'static str| {
        api.get(app.url("/api/v1/user"))
            .header("x-forwarded-for", from)
            .bearer_auth(private)
            .send()
    };
    assert_eq!(me("203.0.113.5").await.unwrap().status(), StatusCode::OK);
    assert_error(me("192.0.2.1").await.unwrap(), StatusCode::FORBIDDEN, "ip_not_allowed").await;
    let exchange = json!({"application_token": private});
    let response = post_from(&api, &login, "192.0.2.1", &exchange).await;
    assert_error(response, StatusCode::FORBIDDEN, "ip_not_allowed").await;
    let response = post_from(&api, &login, "203.0.113.5", &exchange).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Without ranges, anywhere will do.
    let admin = app.admin_login().await;
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/admin/apps/{}", bank["id"].as_str().unwrap())))
        .bearer_auth(&admin.access)
        .json(&json!({"ip_ranges": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let response = post_from(&api, &login, "192.0.2.1", &right).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// The pages and the token endpoint keep the same networks: a sign-in page from outside ends on an error page;
/// from inside it goes back to the client, whose refresh works only from inside.
#[tokio::test]
async fn the_pages_and_the_token_endpoint_keep_the_applications_networks() {
    let (app, bank, _) = limited().await;
    let ana = app.signup("ana").await;
    let client: TestClient = app
        .register(ClientSpec {
            application: Some(bank["id"].as_str().unwrap().to_owned()),
            name: Some("Bank Web".into()),
            redirect_uris: vec!["https://bank.example.com/cb".into()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;

    let outside = app.browser_from("192.0.2.1");
    let response = outside.authorize(&client, &[]).await;
    let login = location(&response);
    let response = outside.submit_login(&login, &ana, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = assert_error_page(response).await;
    assert!(html.contains("cannot be used from your network"), "{html}");

    let inside = app.browser_from("2001:db8::7");
    let callback = inside
        .authorize_through(&client, &[("scope", "openid offline_access")], &ana)
        .await;
    let code = query_param(&callback, "code").unwrap_or_else(|| panic!("a code in {callback}"));
    let tokens = app.exchange(&client, &code, false).await;
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    let refresh = |from: &'static str| {
        app.client
            .post(app.url("/oauth2/token"))
            .header("x-forwarded-for", from)
            .basic_auth(&client.id, client.secret.as_deref())
            .form(&form)
            .send()
    };
    let response = refresh("192.0.2.1").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(refresh("2001:db8::8").await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_not_believed() {
    // No trusted proxies: the peer (loopback) is the client, whatever X-Forwarded-For claims.
    let app = TestApp::spawn().await;
    let bank = app
        .create_application(json!({"name": "Bank", "ip_ranges": RANGES}))
        .await;
    let key = app
        .create_api_key(bank["id"].as_str().unwrap(), json!({"name": "web"}))
        .await;
    let api = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    let ana = app.signup("ana").await;
    let right = json!({"login": "ana", "password": PASSWORD});
    let response = post_from(&api, &app.url("/api/v1/auth/login"), "203.0.113.5", &right).await;
    assert_error(response, StatusCode::FORBIDDEN, "ip_not_allowed").await;
    let client: TestClient = app
        .register(ClientSpec {
            application: Some(bank["id"].as_str().unwrap().to_owned()),
            name: Some("Bank Web".into()),
            redirect_uris: vec!["https://bank.example.com/cb".into()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let browser = app.browser_from("203.0.113.5");
    let response = browser.authorize(&client, &[]).await;
    let response = browser.submit_login(&location(&response), &ana, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
