//! Checklist 2.N, P-DEV: the device authorization grant (RFC 8628) over HTTP — the device's request and polls,
//! and the person entering the user code on `/device`, signing in, and approving or denying.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;

use crate::access::PolicyApp;
use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::{PASSWORD, TestApp, TestUser};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

impl TestApp {
    /// A client registered for the device grant (and refresh tokens), confidential or public.
    async fn device_client(&self, public: bool) -> TestClient {
        self.device_client_of(None, public).await
    }

    async fn device_client_of(&self, application: Option<String>, public: bool) -> TestClient {
        self.register(ClientSpec {
            application,
            name: Some("Living Room TV".into()),
            grant_types: Some(vec![DEVICE_GRANT.into(), "refresh_token".into()]),
            public,
            ..ClientSpec::default()
        })
        .await
    }

    /// `POST /oauth2/device_authorization` as `client` (Basic for a confidential one, its id for a public one).
    async fn device_authorization(&self, client: &TestClient, scope: &str) -> Response {
        self.as_client("/oauth2/device_authorization", client, &[("scope", scope)])
            .await
    }

    /// A device authorization that succeeded.
    async fn start_device(&self, client: &TestClient, scope: &str) -> Value {
        let response = self.device_authorization(client, scope).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
        response.json().await.unwrap()
    }

    /// One poll of the token endpoint with `device_code`.
    async fn poll(&self, client: &TestClient, device_code: &str) -> Response {
        self.as_client(
            "/oauth2/token",
            client,
            &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
        )
        .await
    }

    async fn as_client(&self, path: &str, client: &TestClient, form: &[(&str, &str)]) -> Response {
        let mut request = self.client.post(self.url(path));
        let mut form: Vec<(&str, &str)> = form.to_vec();
        match &client.secret {
            Some(secret) => request = request.basic_auth(&client.id, Some(secret)),
            None => form.push(("client_id", &client.id)),
        }
        request.form(&form).send().await.unwrap()
    }
}

impl Browser {
    /// Types `user_code` on the device page (found at `page`).
    async fn enter_user_code(&self, page: &str, user_code: &str) -> Response {
        let (csrf, _) = self.form_fields(page).await;
        self.client
            .post(self.url("/device"))
            .form(&[("csrf", csrf.as_str()), ("user_code", user_code)])
            .send()
            .await
            .unwrap()
    }

    /// Answers the device's approval page at `page`.
    async fn answer_device(&self, page: &str, decision: &str) -> Response {
        let (csrf, request) = self.form_fields(page).await;
        let form = [
            ("csrf", csrf),
            ("request", request.expect("the approval names its request")),
            ("decision", decision.to_owned()),
        ];
        self.client
            .post(self.url("/device/answer"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Enters the code from `verification_uri_complete`, signs `user` in, and lands on the approval page.
    async fn reach_device_approval(&self, started: &Value, user: &TestUser) -> String {
        let complete = started["verification_uri_complete"].as_str().unwrap();
        let user_code = started["user_code"].as_str().unwrap();
        let response = self.enter_user_code(complete, user_code).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
        let login = location(&response);
        assert!(login.starts_with("/login?request="), "{login}");
        let response = self.submit_login(&login, user, PASSWORD).await;
        let approval = location(&response);
        assert!(
            approval.starts_with("/device?request="),
            "back to the device page: {approval}"
        );
        approval
    }
}

async fn assert_answered(response: Response, text: &str) {
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(text), "{html}");
}

#[tokio::test]
async fn p_dev_a_device_is_approved_in_a_browser_and_gets_tokens_once() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.device_client(false).await;

    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["device_authorization_endpoint"],
        format!("{}/oauth2/device_authorization", app.address)
    );
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(DEVICE_GRANT))
    );

    let started = app.start_device(&client, "openid profile offline_access").await;
    let user_code = started["user_code"].as_str().unwrap();
    let (left, right) = user_code.split_once('-').expect("XXXX-XXXX");
    assert!(left.len() == 4 && right.len() == 4, "{user_code}");
    assert!(
        left.chars().chain(right.chars()).all(|c| ALPHABET.contains(c)),
        "{user_code}"
    );
    assert_eq!(started["verification_uri"], format!("{}/device", app.address));
    assert_eq!(
        started["verification_uri_complete"],
        format!("{}/device?user_code={user_code}", app.address)
    );
    assert_eq!(started["expires_in"], 600);
    assert_eq!(started["interval"], 5);
    let device_code = started["device_code"].as_str().unwrap();

    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "authorization_pending").await;

    // The page prefills the code from verification_uri_complete; the person submits it, in any case and without
    // the dash, and signs in; the page comes back to the device's approval, naming the client and scopes.
    let browser = app.browser();
    let page = browser
        .get(started["verification_uri_complete"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("value=\"{user_code}\"")), "{page}");
    let typed = user_code.replace('-', "").to_lowercase();
    let response = browser.enter_user_code("/device", &typed).await;
    let login = location(&response);
    assert!(login.starts_with("/login?request="), "{login}");
    let approval = location(&browser.submit_login(&login, &user, PASSWORD).await);
    assert!(approval.starts_with("/device?request="), "{approval}");
    let html = browser.get(&approval).await.text().await.unwrap();
    assert!(
        html.contains("Living Room TV") && html.contains("see your username"),
        "{html}"
    );
    assert_answered(
        browser.answer_device(&approval, "allow").await,
        "Your device is connected",
    )
    .await;

    app.advance_clock(Duration::from_secs(5));
    let response = app.poll(&client, device_code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile offline_access");
    assert!(tokens["refresh_token"].as_str().unwrap().starts_with("tsr_"));
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(decode_segment(id_token, 0)["alg"], "RS256");
    let claims = decode_segment(id_token, 1);
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["nonce"].is_null() && claims["auth_time"].is_i64());
    let at_hash = tessera::tokens::id_token::at_hash(
        tokens["access_token"].as_str().unwrap(),
        tessera::tokens::keys::SigningAlg::Rs256,
    );
    assert_eq!(claims["at_hash"], at_hash.as_str());
    let access = decode_segment(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(access["sub"], user.id.as_str());
    assert_eq!(access["client_id"], client.id.as_str());
    let userinfo = app
        .get_authorized("/oauth2/userinfo", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(userinfo.status(), StatusCode::OK);

    // The device code is spent: it never yields tokens again.
    app.advance_clock(Duration::from_secs(5));
    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // The refresh token works like any other.
    let response = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let admin = app.admin_login().await;
    let events: Value = app
        .get_authorized("/api/v1/admin/audit-events?kind=device.approved", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let event = &events["events"][0];
    assert_eq!(event["actor_id"], user.id.as_str());
    assert_eq!(event["subject_id"], client.id.as_str());
}

#[tokio::test]
async fn p_dev_01_polling_too_fast_is_slow_down_and_the_interval_grows() {
    let app = TestApp::spawn().await;
    let client = app.device_client(false).await;
    let started = app.start_device(&client, "openid").await;
    let device_code = started["device_code"].as_str().unwrap();

    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "authorization_pending").await;
    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "slow_down").await;
    // The interval is 10 s now: 5 s later is still too soon, and makes it 15 s.
    app.advance_clock(Duration::from_secs(5));
    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "slow_down").await;
    app.advance_clock(Duration::from_secs(14));
    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "slow_down").await;
    app.advance_clock(Duration::from_secs(20));
    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "authorization_pending").await;
}

#[tokio::test]
async fn p_dev_02_expired_device_codes_and_user_codes() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.device_client(false).await;
    let started = app.start_device(&client, "openid").await;
    let device_code = started["device_code"].as_str().unwrap();

    app.advance_clock(Duration::from_secs(601));
    let response = app.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "expired_token").await;

    let browser = app.browser();
    browser.sign_in(&user).await;
    let response = browser
        .enter_user_code("/device", started["user_code"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("not right, or it has expired"), "{html}");
}

#[tokio::test]
async fn p_dev_the_person_denies_and_the_device_hears_access_denied() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.device_client(false).await;
    let started = app.start_device(&client, "openid").await;
    let browser = app.browser();
    let approval = browser.reach_device_approval(&started, &user).await;
    assert_answered(browser.answer_device(&approval, "deny").await, "You denied the request").await;

    let response = app.poll(&client, started["device_code"].as_str().unwrap()).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "access_denied").await;
    // The answer stands: the code cannot be entered again.
    let response = browser
        .enter_user_code("/device", started["user_code"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn p_dev_02_wrong_user_codes_are_refused_and_limited_per_address() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.device_client(false).await;
    let started = app.start_device(&client, "openid").await;
    let right = started["user_code"].as_str().unwrap();
    let wrong = if right == "BBBB-BBBB" { "CCCC-CCCC" } else { "BBBB-BBBB" };
    let browser = app.browser();
    browser.sign_in(&user).await;
    for typed in [wrong, "AEIO-U123", "<script>", ""] {
        let response = browser.enter_user_code("/device", typed).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{typed}");
        let html = response.text().await.unwrap();
        assert!(html.contains("not right") && !html.contains("<script>"), "{html}");
    }
    for _ in 0..6 {
        let response = browser.enter_user_code("/device", wrong).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    // Ten wrong codes from this address: even the right one waits now.
    let response = browser.enter_user_code("/device", right).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    app.advance_clock(Duration::from_secs(15 * 60));
    let response = app.device_authorization(&client, "openid").await;
    assert_eq!(response.status(), StatusCode::OK);
    let fresh: Value = response.json().await.unwrap();
    let response = browser
        .enter_user_code("/device", fresh["user_code"].as_str().unwrap())
        .await;
    assert_eq!(
        location(&response).split('?').next(),
        Some("/device"),
        "signed in: straight to approval"
    );
}

#[tokio::test]
async fn p_dev_only_clients_registered_for_the_grant_and_their_scopes() {
    let app = TestApp::spawn().await;
    let web = app.c1().await;
    let response = app.device_authorization(&web, "openid").await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    let response = app.poll(&web, "tsd_anything").await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;

    let device = app.device_client(false).await;
    for scope in ["openid api:admin", "bad\"scope"] {
        let response = app.device_authorization(&device, scope).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    }
    let wrong_secret = TestClient {
        secret: Some("tss_wrong".into()),
        ..device.clone()
    };
    let response = app.device_authorization(&wrong_secret, "openid").await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let response = app.poll(&device, "tsd_not-a-device-code").await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = app
        .as_client("/oauth2/token", &device, &[("grant_type", DEVICE_GRANT)])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn p_dev_a_public_client_by_its_id_and_codes_stay_with_their_client() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let public = app.device_client(true).await;
    assert!(public.secret.is_none());
    let started = app.start_device(&public, "openid").await;
    let device_code = started["device_code"].as_str().unwrap();

    // Another client cannot poll with it.
    let other = app.device_client(false).await;
    let response = app.poll(&other, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let browser = app.browser();
    let approval = browser.reach_device_approval(&started, &user).await;
    assert_answered(browser.answer_device(&approval, "allow").await, "connected").await;
    let response = app.poll(&public, device_code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(
        decode_segment(tokens["id_token"].as_str().unwrap(), 1)["aud"],
        public.id.as_str()
    );
}

#[tokio::test]
async fn p_dev_the_device_pages_refuse_forms_without_the_csrf_token() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.device_client(false).await;
    let started = app.start_device(&client, "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let browser = app.browser();
    let _ = browser.get("/device").await;
    let response = browser
        .client
        .post(browser.url("/device"))
        .form(&[("csrf", "forged-forged-forged-forged-forged"), ("user_code", user_code)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let approval = browser.reach_device_approval(&started, &user).await;
    let (_, request) = browser.form_fields(&approval).await;
    let response = browser
        .client
        .post(browser.url("/device/answer"))
        .form(&[("request", request.unwrap().as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Nothing was approved.
    let response = app.poll(&client, started["device_code"].as_str().unwrap()).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "authorization_pending").await;
}

#[tokio::test]
async fn p_dev_the_applications_access_policy_applies_to_the_approving_account() {
    let shop = PolicyApp::start(json!({"access_mode": "invite_only", "login_methods": ["password"]})).await;
    let client = shop.app.device_client_of(Some(shop.id.clone()), false).await;
    let outsider = shop.app.signup("olga").await;
    let started = shop.app.start_device(&client, "openid").await;

    // Signed in elsewhere (the default application), an outsider is not let into the shop.
    let browser = shop.app.browser();
    browser.sign_in(&outsider).await;
    let response = browser
        .enter_user_code("/device", started["user_code"].as_str().unwrap())
        .await;
    assert_answered(response, "may not use this application").await;
    let response = shop.app.poll(&client, started["device_code"].as_str().unwrap()).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "access_denied").await;
}

#[tokio::test]
async fn a_ha_04_a_device_started_at_one_instance_is_approved_at_another_and_paid_out_once() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sibling(|_| {}).await;
    let user = first.signup("alice").await;
    let client = first.device_client(false).await;
    let started = first.start_device(&client, "openid").await;
    let device_code = started["device_code"].as_str().unwrap();

    let browser = second.browser();
    let approval = browser.reach_device_approval(&started, &user).await;
    assert_answered(browser.answer_device(&approval, "allow").await, "connected").await;

    // Two polls at the same moment, one at each instance: one gets the tokens, never both.
    let (a, b) = tokio::join!(first.poll(&client, device_code), second.poll(&client, device_code));
    let statuses = [a.status(), b.status()];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    first.advance_clock(Duration::from_secs(10));
    let response = second.poll(&client, device_code).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// RFC 8628 §3.3.1: a device that can show a picture but not draw one gets `verification_uri_complete` as a
/// QR code from `/device/qr.svg`; anything but a well-formed user code is refused.
#[tokio::test]
async fn p_dev_the_qr_code_of_verification_uri_complete() {
    let app = TestApp::spawn().await;
    let client = app.device_client(false).await;
    let started = app.start_device(&client, "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let response = app
        .client
        .get(app.url("/device/qr.svg"))
        .query(&[("user_code", user_code.to_lowercase())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let complete = started["verification_uri_complete"].as_str().unwrap();
    assert_eq!(response.text().await.unwrap(), tessera::qr::svg(complete).unwrap());

    for bad in ["", "ABCD-EFG", "ABCD-EFGHI", "AEIO-UAEI", "<script>"] {
        let response = app
            .client
            .get(app.url("/device/qr.svg"))
            .query(&[("user_code", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
