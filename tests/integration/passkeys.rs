//! Passkeys over HTTP, with a software authenticator (`passkey_token`): registered from
//! `/account/security/passkeys` (named, several, last use shown, removed with the password or a recent
//! sign-in), a usernameless sign-in with a passkey alone (`amr` `hwk user mfa`), a passkey as the second
//! factor after a password (`pwd hwk user mfa`), and the refusals: an unknown credential, a wrong, reused,
//! expired or another browser's challenge, no CSRF token, and an application that does not accept passkeys.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::config::LoginMethod;

use crate::jwks::decode_segment;
use crate::oidc_support::{Browser, hidden, location, query_param};
use crate::passkey_token::SoftPasskey;
use crate::support::{PASSWORD, TestApp, TestUser};

pub(crate) const RP_ID: &str = "localhost";

/// A server whose issuer is `http://localhost:<port>` (WebAuthn needs a domain), whose default application
/// accepts `methods`.
pub(crate) async fn passkey_app(methods: Vec<LoginMethod>) -> TestApp {
    let app = TestApp::spawn_with(|config| {
        config.server.issuer = config.server.issuer.replace("127.0.0.1", RP_ID);
    })
    .await;
    let default = app.state.apps.get(tessera::apps::DEFAULT_SLUG).await.unwrap();
    let admin = app.admin_login().await;
    let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/admin/apps/{}", default.id)))
        .bearer_auth(&admin.access)
        .json(&json!({"login_methods": names}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    app
}

async fn app_with_passkeys() -> TestApp {
    passkey_app(vec![LoginMethod::Password, LoginMethod::Passkey]).await
}

fn issuer(app: &TestApp) -> String {
    app.state.config.issuer().to_owned()
}

impl Browser {
    /// The CSRF token of the page at `path`.
    async fn csrf_of(&self, path: &str) -> String {
        let page = self.get(path).await.text().await.unwrap();
        hidden(&page, "csrf").expect("a csrf field")
    }

    /// Posts `form` to `path`.
    async fn post_fields(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.url(path)).form(form).send().await.unwrap()
    }

    /// Asks `path` for a ceremony's options with the CSRF token (and the sign-in's `request`).
    async fn passkey_options(&self, path: &str, csrf: &str, request: Option<&str>) -> (String, Value) {
        let mut form = vec![("csrf", csrf)];
        if let Some(request) = request {
            form.push(("request", request));
        }
        let response = self.post_fields(path, &form).await;
        assert_eq!(response.status(), StatusCode::OK, "options at {path}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        (body["ceremony"].as_str().unwrap().to_owned(), body["options"].clone())
    }

    /// Posts an authenticator's answer to `path`.
    async fn passkey_answer(&self, path: &str, csrf: &str, ceremony: &str, answer: &Value) -> reqwest::Response {
        let credential = answer.to_string();
        self.post_fields(
            path,
            &[("csrf", csrf), ("ceremony", ceremony), ("credential", &credential)],
        )
        .await
    }

    /// Adds a passkey named `name` to the signed-in account.
    pub(crate) async fn add_passkey(&self, app: &TestApp, name: &str) -> SoftPasskey {
        let csrf = self.csrf_of("/account/security/passkeys").await;
        let (ceremony, options) = self
            .passkey_options("/account/security/passkeys/options", &csrf, None)
            .await;
        let mut passkey = SoftPasskey::new(&issuer(app));
        let answer = passkey.create(&options);
        let credential = answer.to_string();
        let response = self
            .post_fields(
                "/account/security/passkeys",
                &[
                    ("csrf", &csrf),
                    ("ceremony", &ceremony),
                    ("credential", &credential),
                    ("name", name),
                ],
            )
            .await;
        assert_eq!(location(&response), "/account/security/passkeys?done=added");
        passkey
    }

    /// Signs in with `passkey` alone at `/login` (for the authorization request `request`, if any).
    async fn passkey_sign_in(&self, passkey: &mut SoftPasskey, request: Option<&str>) -> reqwest::Response {
        let page = match request {
            Some(id) => format!("/login?request={id}"),
            None => "/login".into(),
        };
        let csrf = self.csrf_of(&page).await;
        let (ceremony, options) = self.passkey_options("/login/passkey/options", &csrf, request).await;
        let answer = passkey.assert(&options, RP_ID).to_string();
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("ceremony", &ceremony),
            ("credential", &answer),
        ];
        if let Some(request) = request {
            form.push(("request", request));
        }
        self.post_fields("/login/passkey", &form).await
    }
}

/// A signed-up account signed in to a new browser.
async fn signed_in(app: &TestApp, name: &str) -> (TestUser, Browser) {
    let user = app.signup(name).await;
    let browser = app.browser();
    browser.sign_in(&user).await;
    (user, browser)
}

#[tokio::test]
async fn passkeys_are_registered_from_the_account_pages_named_and_listed() {
    let app = app_with_passkeys().await;
    let (_, browser) = signed_in(&app, "alice").await;
    let security = browser.get("/account/security").await.text().await.unwrap();
    assert!(security.contains("/account/security/passkeys"), "{security}");
    let response = browser.get("/account/security/passkeys").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("no passkeys yet") && page.contains("/static/passkeys.js"),
        "{page}"
    );
    let script = browser.get("/static/passkeys.js").await;
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );

    // The options ask for a discoverable credential with user verification, for this relying party.
    let csrf = browser.csrf_of("/account/security/passkeys").await;
    let (_, options) = browser
        .passkey_options("/account/security/passkeys/options", &csrf, None)
        .await;
    let key = &options["publicKey"];
    assert_eq!(key["rp"]["id"], RP_ID);
    assert_eq!(key["user"]["name"], "alice");
    assert_eq!(key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(key["authenticatorSelection"]["userVerification"], "required");

    browser.add_passkey(&app, "Laptop").await;
    let second = browser.add_passkey(&app, "  Phone  ").await;
    let page = browser
        .get("/account/security/passkeys?done=added")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The passkey was added"), "{page}");
    assert!(page.contains(">Laptop<") && page.contains(">Phone<"), "{page}");
    assert_eq!(
        page.matches("class=\"passkey\"").count(),
        2 + 1,
        "two rows and the add form"
    );
    assert!(page.contains(">never<"));

    // The same credential cannot be added twice (to this or any account).
    let csrf = browser.csrf_of("/account/security/passkeys").await;
    let (ceremony, options) = browser
        .passkey_options("/account/security/passkeys/options", &csrf, None)
        .await;
    let excluded = options["publicKey"]["excludeCredentials"].as_array().unwrap();
    assert!(excluded.iter().any(|c| c["id"] == second.id()), "{options}");
    let mut copy = SoftPasskey::new(&issuer(&app));
    copy.credential_id = second.credential_id.clone();
    let answer = copy.create(&options);
    let response = browser
        .passkey_answer("/account/security/passkeys", &csrf, &ceremony, &answer)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Renamed.
    let id = hidden(&page, "id").unwrap();
    let response = browser
        .post_fields(
            "/account/security/passkeys/rename",
            &[("csrf", &csrf), ("id", &id), ("name", "Work laptop")],
        )
        .await;
    assert_eq!(location(&response), "/account/security/passkeys?done=renamed");
    let page = browser.get("/account/security/passkeys").await.text().await.unwrap();
    assert!(page.contains(">Work laptop<"), "{page}");

    // Adding needs a recent sign-in.
    app.advance_clock(Duration::from_secs(3600));
    let response = browser
        .post_fields("/account/security/passkeys/options", &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_passkey_alone_signs_in_without_a_username_and_records_how() {
    let app = app_with_passkeys().await;
    let (_, browser) = signed_in(&app, "alice").await;
    let mut passkey = browser.add_passkey(&app, "Laptop").await;

    // A new browser: the sign-in page offers the passkey (to the script), the password form still works.
    let fresh = app.browser();
    let response = fresh.get("/login").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Sign in with a passkey") && page.contains("name=\"password\""),
        "{page}"
    );
    let csrf = fresh.csrf_of("/login").await;
    let (_, options) = fresh.passkey_options("/login/passkey/options", &csrf, None).await;
    assert!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{options}"
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert!(options.get("mediation").is_none(), "a button, not the autofill UI");

    let response = fresh.passkey_sign_in(&mut passkey, None).await;
    assert_eq!(location(&response), "/account");
    assert_eq!(fresh.get("/account").await.status(), StatusCode::OK);
    let page = browser.get("/account/security/passkeys").await.text().await.unwrap();
    assert!(!page.contains(">never<"), "the last use is shown: {page}");

    // Through an authorization request: the tokens say a hardware key with user verification.
    let client = app.first_party().await;
    let other = app.browser();
    let response = other.authorize(&client, &[("scope", "openid"), ("nonce", "n-1")]).await;
    let request = query_param(&location(&response), "request").unwrap();
    let response = other.passkey_sign_in(&mut passkey, Some(&request)).await;
    let callback = location(&response);
    assert!(callback.starts_with(&client.redirect_uri), "{callback}");
    let tokens = app
        .exchange(&client, &query_param(&callback, "code").unwrap(), false)
        .await;
    let id_token = decode_segment(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["amr"], json!(["hwk", "user", "mfa"]));
    assert_eq!(id_token["acr"], "2");

    // A synced passkey is a software key.
    let (_, carol) = signed_in(&app, "carol").await;
    let csrf = carol.csrf_of("/account/security/passkeys").await;
    let (ceremony, options) = carol
        .passkey_options("/account/security/passkeys/options", &csrf, None)
        .await;
    let mut synced = SoftPasskey::new(&issuer(&app));
    synced.backup_eligible = true;
    let answer = synced.create(&options);
    let credential = answer.to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("ceremony", &ceremony),
        ("credential", &credential),
        ("name", "Cloud"),
    ];
    assert_eq!(
        location(&carol.post_fields("/account/security/passkeys", &form).await),
        "/account/security/passkeys?done=added"
    );
    let third = app.browser();
    let response = third.authorize(&client, &[("scope", "openid"), ("nonce", "n-2")]).await;
    let request = query_param(&location(&response), "request").unwrap();
    let callback = location(&third.passkey_sign_in(&mut synced, Some(&request)).await);
    let tokens = app
        .exchange(&client, &query_param(&callback, "code").unwrap(), false)
        .await;
    let id_token = decode_segment(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["amr"], json!(["swk", "user", "mfa"]));
}

#[tokio::test]
async fn a_passkey_is_a_second_factor_after_the_password() {
    let app = app_with_passkeys().await;
    let (alice, browser) = signed_in(&app, "alice").await;
    let mut passkey = browser.add_passkey(&app, "Laptop").await;

    let client = app.first_party().await;
    let fresh = app.browser();
    let response = fresh.authorize(&client, &[("scope", "openid"), ("nonce", "n-1")]).await;
    let response = fresh.submit_login(&location(&response), &alice, PASSWORD).await;
    let mfa_path = location(&response);
    assert!(mfa_path.starts_with("/login/mfa?request="), "{mfa_path}");
    let page = fresh.get(&mfa_path).await.text().await.unwrap();
    assert!(
        page.contains("/login/mfa/passkey") && page.contains("/static/passkeys.js"),
        "{page}"
    );
    let csrf = hidden(&page, "csrf").unwrap();
    let request = hidden(&page, "request").unwrap();

    // A wrong answer counts like a wrong code; the page offers the passkey again.
    let (ceremony, options) = fresh
        .passkey_options("/login/mfa/passkey/options", &csrf, Some(&request))
        .await;
    let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], passkey.id());
    let mut stranger = SoftPasskey::new(&issuer(&app));
    stranger.user_handle = passkey.user_handle.clone();
    let answer = stranger.assert(&options, RP_ID).to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("ceremony", &ceremony),
        ("credential", &answer),
        ("request", &request),
    ];
    let response = fresh.post_fields("/login/mfa/passkey", &form).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (ceremony, options) = fresh
        .passkey_options("/login/mfa/passkey/options", &csrf, Some(&request))
        .await;
    let answer = passkey.assert(&options, RP_ID).to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("ceremony", &ceremony),
        ("credential", &answer),
        ("request", &request),
    ];
    let response = fresh.post_fields("/login/mfa/passkey", &form).await;
    let callback = location(&response);
    assert!(callback.starts_with(&client.redirect_uri), "{callback}");
    let tokens = app
        .exchange(&client, &query_param(&callback, "code").unwrap(), false)
        .await;
    let id_token = decode_segment(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["amr"], json!(["pwd", "hwk", "user", "mfa"]));
    assert_eq!(id_token["acr"], "2");
}

#[tokio::test]
async fn wrong_unknown_reused_or_foreign_answers_are_refused() {
    let app = app_with_passkeys().await;
    let (_, browser) = signed_in(&app, "alice").await;
    let mut passkey = browser.add_passkey(&app, "Laptop").await;
    let fresh = app.browser();
    let csrf = fresh.csrf_of("/login").await;

    // An unknown credential.
    let (ceremony, options) = fresh.passkey_options("/login/passkey/options", &csrf, None).await;
    let mut unknown = SoftPasskey::new(&issuer(&app));
    unknown.user_handle = passkey.user_handle.clone();
    let response = fresh
        .passkey_answer("/login/passkey", &csrf, &ceremony, &unknown.assert(&options, RP_ID))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("The passkey was not accepted"));

    // The right key over another challenge, or for another origin.
    let (ceremony, _) = fresh.passkey_options("/login/passkey/options", &csrf, None).await;
    let answer = passkey.assert_challenge("d3JvbmcgY2hhbGxlbmdl", RP_ID);
    let response = fresh.passkey_answer("/login/passkey", &csrf, &ceremony, &answer).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (ceremony, options) = fresh.passkey_options("/login/passkey/options", &csrf, None).await;
    passkey.origin = "http://evil.test".into();
    let answer = passkey.assert(&options, RP_ID);
    let response = fresh.passkey_answer("/login/passkey", &csrf, &ceremony, &answer).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    passkey.origin = issuer(&app);

    // Another browser's ceremony.
    let (ceremony, options) = fresh.passkey_options("/login/passkey/options", &csrf, None).await;
    let thief = app.browser();
    let thief_csrf = thief.csrf_of("/login").await;
    let answer = passkey.assert(&options, RP_ID);
    let response = thief
        .passkey_answer("/login/passkey", &thief_csrf, &ceremony, &answer)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Without the CSRF token: neither options nor an answer.
    let response = fresh.post_fields("/login/passkey/options", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (ceremony, options) = fresh.passkey_options("/login/passkey/options", &csrf, None).await;
    let answer = passkey.assert(&options, RP_ID);
    let response = fresh.passkey_answer("/login/passkey", "", &ceremony, &answer).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A right answer works once; its replay is refused.
    let (ceremony, options) = fresh.passkey_options("/login/passkey/options", &csrf, None).await;
    let answer = passkey.assert(&options, RP_ID);
    let response = fresh.passkey_answer("/login/passkey", &csrf, &ceremony, &answer).await;
    assert_eq!(location(&response), "/account");
    let again = app.browser();
    let again_csrf = again.csrf_of("/login").await;
    let response = fresh.passkey_answer("/login/passkey", &csrf, &ceremony, &answer).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = again
        .passkey_answer("/login/passkey", &again_csrf, &ceremony, &answer)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // An expired challenge.
    let (ceremony, options) = again.passkey_options("/login/passkey/options", &again_csrf, None).await;
    app.advance_clock(Duration::from_secs(301));
    let answer = passkey.assert(&options, RP_ID);
    let response = again
        .passkey_answer("/login/passkey", &again_csrf, &ceremony, &answer)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Without user verification, no passwordless sign-in.
    let (ceremony, options) = again.passkey_options("/login/passkey/options", &again_csrf, None).await;
    passkey.verifies_user = false;
    let answer = passkey.assert(&options, RP_ID);
    let response = again
        .passkey_answer("/login/passkey", &again_csrf, &ceremony, &answer)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_application_that_does_not_accept_passkeys_refuses_them() {
    let app = passkey_app(vec![LoginMethod::Password]).await;
    let (_, browser) = signed_in(&app, "alice").await;
    // Passkeys can still be a second factor here.
    browser.add_passkey(&app, "Laptop").await;
    let fresh = app.browser();
    let response = fresh.get("/login").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        !csp.contains("script-src"),
        "no script where no passkey is offered: {csp}"
    );
    let page = response.text().await.unwrap();
    assert!(!page.contains("Sign in with a passkey"), "{page}");
    let csrf = hidden(&page, "csrf").unwrap();
    let response = fresh.post_fields("/login/passkey/options", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = fresh
        .post_fields(
            "/login/passkey",
            &[("csrf", &csrf), ("ceremony", "x"), ("credential", "{}")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // An issuer that is an IP address has no passkeys at all.
    let plain = TestApp::spawn().await;
    let (_, browser) = signed_in(&plain, "bob").await;
    let page = browser.get("/account/security/passkeys").await.text().await.unwrap();
    assert!(page.contains("cannot use passkeys"), "{page}");
    let csrf = browser.csrf_of("/account/security").await;
    let response = browser
        .post_fields("/account/security/passkeys/options", &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn removing_a_passkey_needs_the_password_or_a_recent_sign_in_and_is_audited() {
    let app = app_with_passkeys().await;
    let (_, browser) = signed_in(&app, "alice").await;
    let mut passkey = browser.add_passkey(&app, "Laptop").await;
    let page = browser.get("/account/security/passkeys").await.text().await.unwrap();
    let id = hidden(&page, "id").unwrap();
    let csrf = hidden(&page, "csrf").unwrap();

    app.advance_clock(Duration::from_secs(3600));
    let remove = |password: &'static str| {
        let form = [
            ("csrf", csrf.clone()),
            ("id", id.clone()),
            ("password", password.to_owned()),
        ];
        let request = browser
            .client
            .post(browser.url("/account/security/passkeys/remove"))
            .form(&form);
        async move { request.send().await.unwrap() }
    };
    assert_eq!(remove("").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(remove("not the password").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        location(&remove(PASSWORD).await),
        "/account/security/passkeys?done=removed"
    );
    assert_eq!(remove(PASSWORD).await.status(), StatusCode::NOT_FOUND);
    let page = browser.get("/account/security/passkeys").await.text().await.unwrap();
    assert!(page.contains("no passkeys yet"), "{page}");

    // Gone: it signs in no more.
    let fresh = app.browser();
    let response = fresh.passkey_sign_in(&mut passkey, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let admin = app.admin_login().await;
    for kind in ["passkey.added", "passkey.removed"] {
        let path = format!("/api/v1/admin/audit-events?kind={kind}");
        let body: Value = app.get_authorized(&path, &admin.access).await.json().await.unwrap();
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{body}");
        assert_eq!(events[0]["details"]["name"], "Laptop", "{body}");
    }
}
