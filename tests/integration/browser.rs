//! A real browser: headless Chromium (Debian's `chromium` and `chromium-driver`) driven over WebDriver signs
//! up, adds an authenticator app from the secret on the security page, signs out, and signs in through an
//! OpenID Connect authorization request with password and TOTP, landing on the client's redirect URI with a
//! code; and it takes `response_mode=form_post` answers to a relying party's redirect URI, with scripts on and
//! off, and chooses its account on the select-account page; it signs a new person up by e-mail code into an
//! application that asks for registration, and enters an open application as a guest through its access
//! link; and it signs in through an upstream provider (a second Tessera) and back; and, on the account
//! console, it makes a private token, sees it once, revokes it, and ends another sign-in. Ignored by default
//! (it needs the two packages); `.ci/run` installs them and runs it.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tessera::oidc::clients::ClientSpec;

use crate::jwks::decode_segment;
use crate::mfa::totp_code;
use crate::oidc_support::{CHALLENGE, query_param};
use crate::support::{PASSWORD, TestApp};

/// chromedriver in a process group of its own, stopped with the browsers it started however the test ends.
pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

pub(crate) async fn start_browser() -> (Driver, Client) {
    start_browser_with(true).await
}

/// A browser with JavaScript on or off.
async fn start_browser_with(javascript: bool) -> (Driver, Client) {
    // Two rustls crypto providers are compiled into the tests; choose one for the WebDriver connection.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium chromium-driver)");
    let driver = Driver(driver);
    let mut capabilities = serde_json::Map::new();
    let scripts = if javascript { 1 } else { 2 };
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-dev-shm-usage", "--window-size=1024,900"],
               "prefs": {"profile.managed_default_content_settings.javascript": scripts}}),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connected = ClientBuilder::rustls()
            .expect("a TLS configuration")
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(client) => return (driver, client),
            Err(e) if Instant::now() > deadline => panic!("chromedriver did not answer: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub(crate) async fn fill(browser: &Client, css: &str, value: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(value)
        .await
        .unwrap();
}

/// Clicks a form's submit button and waits for the page it leads to (a click returns before navigation).
pub(crate) async fn submit(browser: &Client, css: &str) {
    let before = browser.current_url().await.unwrap();
    browser.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = browser.current_url().await.unwrap();
        let ready = browser.execute("return document.readyState", vec![]).await.unwrap();
        if now != before && ready == json!("complete") {
            return;
        }
        assert!(Instant::now() < deadline, "the form at {before} led nowhere");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With `TESSERA_SCREENSHOTS` set, saves the page as `docs/screenshots/<name>.png` (the README shows them;
/// refreshed by hand when the pages change, so a normal run writes nothing).
pub(crate) async fn screenshot(browser: &Client, name: &str) {
    if std::env::var_os("TESSERA_SCREENSHOTS").is_none() {
        return;
    }
    let png = browser.screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Signs the browser in at `/login` as the bootstrap administrator.
async fn sign_in_as_admin(browser: &Client, app: &TestApp) {
    browser.goto(&app.url("/login")).await.unwrap();
    fill(browser, "#login", "admin").await;
    fill(browser, "#password", crate::support::ADMIN_PASSWORD).await;
    submit(browser, "form[action='/login'] button").await;
    assert_eq!(path_of(browser).await, "/account");
}

pub(crate) async fn path_of(browser: &Client) -> String {
    let url = browser.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_signs_up_enrolls_totp_and_signs_in_with_it_through_an_authorization_request() {
    let app = TestApp::spawn().await;
    // The client comes back to a page of this same server, so the browser lands somewhere real.
    let redirect_uri = app.url("/health/live");
    let client = app
        .register(ClientSpec {
            name: Some("Browser RP".into()),
            redirect_uris: vec![redirect_uri.clone()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let (_driver, browser) = start_browser().await;

    browser.goto(&app.url("/signup")).await.unwrap();
    fill(&browser, "#username", "carol").await;
    fill(&browser, "#email", "carol@example.org").await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "button[type=submit]").await;
    assert_eq!(path_of(&browser).await, "/account");

    browser.goto(&app.url("/account/security")).await.unwrap();
    submit(&browser, "form[action='/account/security/totp'] button").await;
    let qr = browser.find(Locator::Css("img.qr")).await.unwrap();
    assert!(
        qr.attr("src")
            .await
            .unwrap()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    let secret = browser
        .find(Locator::Id("totp-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    fill(&browser, "#code", &totp_code(secret.trim(), app.clock.now())).await;
    submit(&browser, "form[action='/account/security/totp/confirm'] button").await;
    let codes = browser.find_all(Locator::Css("#recovery-codes li")).await.unwrap();
    assert_eq!(codes.len(), 10);

    browser.goto(&app.url("/account")).await.unwrap();
    submit(&browser, "form[action='/oauth2/logout'] button").await;
    browser.goto(&app.url("/account")).await.unwrap();
    assert_eq!(path_of(&browser).await, "/login");

    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st-1&nonce=n-1\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        client.id,
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>(),
    );
    browser.goto(&app.url(&authorize)).await.unwrap();
    assert!(path_of(&browser).await.starts_with("/login?request="));
    fill(&browser, "#login", "carol").await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "form[action='/login'] button").await;
    assert!(
        path_of(&browser).await.starts_with("/login/mfa"),
        "{}",
        path_of(&browser).await
    );

    // The enrollment spent this step's code.
    app.advance_clock(Duration::from_secs(30));
    fill(&browser, "#code", &totp_code(secret.trim(), app.clock.now())).await;
    submit(&browser, "form[action='/login/mfa'] button").await;
    let landed = browser.current_url().await.unwrap().to_string();
    assert!(landed.starts_with(&redirect_uri), "{landed}");
    assert_eq!(query_param(&landed, "state").as_deref(), Some("st-1"));
    let code = query_param(&landed, "code").expect("an authorization code");
    browser.close().await.unwrap();

    let tokens = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", crate::oidc_support::VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let id_token = decode_segment(tokens["id_token"].as_str().expect("an ID token"), 1);
    assert_eq!(id_token["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(id_token["acr"], "2");
}

/// Waits until the browser is at a page whose URL starts with `prefix`.
async fn wait_for_url(browser: &Client, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = browser.current_url().await.unwrap().to_string();
        if now.starts_with(prefix) {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {prefix}; at {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `response_mode=form_post` in a real browser: the response page's one script (allowed by its CSP hash)
/// POSTs the code to the relying party, or — scripts off — its button does; and `prompt=select_account`
/// works by clicking.
#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_posts_the_form_post_response_and_chooses_its_account() {
    let app = TestApp::spawn().await;
    let user = app.signup("carol").await;
    let rp = crate::standins::FormPostReceiver::start();
    let client = app
        .register(ClientSpec {
            name: Some("Form post RP".into()),
            redirect_uris: vec![rp.redirect_uri.clone()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let authorize = |extra: &str| {
        app.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st-2\
             &response_mode=form_post{extra}",
            client.id,
            url::form_urlencoded::byte_serialize(rp.redirect_uri.as_bytes()).collect::<String>(),
        ))
    };
    let field = |form: &crate::standins::Form, name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());

    let (_driver, browser) = start_browser_with(true).await;
    browser.goto(&authorize("")).await.unwrap();
    fill(&browser, "#login", &user.username).await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "form[action='/login'] button").await;
    wait_for_url(&browser, &rp.redirect_uri).await;
    let received = rp.received();
    assert_eq!(received.len(), 1, "one POST to the client");
    assert_eq!(field(&received[0], "state").as_deref(), Some("st-2"));
    assert_eq!(field(&received[0], "iss").as_deref(), Some(app.address.as_str()));
    let code = field(&received[0], "code").expect("a code");
    app.exchange(&client, &code, false).await;

    // The account choice, by clicking; the answer is posted again.
    browser.goto(&authorize("&prompt=select_account")).await.unwrap();
    assert!(path_of(&browser).await.starts_with("/select-account?request="));
    submit(&browser, "form[action='/select-account'] button").await;
    wait_for_url(&browser, &rp.redirect_uri).await;
    assert_eq!(rp.received().len(), 2);
    browser.close().await.unwrap();

    // Scripts off: the page waits for its button.
    let (_driver, quiet) = start_browser_with(false).await;
    quiet.goto(&authorize("")).await.unwrap();
    fill(&quiet, "#login", &user.username).await;
    fill(&quiet, "#password", PASSWORD).await;
    submit(&quiet, "form[action='/login'] button").await;
    assert!(quiet.current_url().await.unwrap().to_string().starts_with(&app.address));
    assert_eq!(rp.received().len(), 2, "nothing posted without a click");
    quiet
        .find(Locator::Css("noscript button, button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&quiet, &rp.redirect_uri).await;
    let received = rp.received();
    assert_eq!(received.len(), 3);
    let code = field(&received[2], "code").expect("a code");
    app.exchange(&client, &code, false).await;
    quiet.close().await.unwrap();
}

/// Access policy in a real browser: a relying party signs a new person in to a `registration` application by
/// a code sent by e-mail (to a local SMTP receiver), and the access link of an `open` application takes a
/// visitor in as a guest.
#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_signs_up_by_email_code_and_enters_an_open_application_as_a_guest() {
    let shop = crate::access::PolicyApp::start(json!({
        "access_mode": "registration",
        "login_methods": ["password", "email_code"],
        "verification_channels": ["email"],
    }))
    .await;
    let app = &shop.app;
    let redirect_uri = app.url("/health/live");
    let client = app
        .register(ClientSpec {
            application: Some(shop.id.clone()),
            name: Some("Shop RP".into()),
            redirect_uris: vec![redirect_uri.clone()],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let (_driver, browser) = start_browser().await;
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20email&state=st-3\
         &nonce=n-3&code_challenge={CHALLENGE}&code_challenge_method=S256",
        client.id,
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>(),
    );
    browser.goto(&app.url(&authorize)).await.unwrap();
    assert!(path_of(&browser).await.starts_with("/login?request="));
    fill(&browser, "#identifier", "nell@example.org").await;
    submit(&browser, "form[action='/login/code/start'] button").await;
    assert!(
        path_of(&browser).await.starts_with("/login/code?request="),
        "{}",
        path_of(&browser).await
    );
    let code = shop.code_to("nell@example.org").await;
    fill(&browser, "#code", &code).await;
    submit(&browser, "form[action='/login/code'] button").await;
    let landed = browser.current_url().await.unwrap().to_string();
    assert!(landed.starts_with(&redirect_uri), "{landed}");
    let code = query_param(&landed, "code").expect("an authorization code");
    let tokens = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", crate::oidc_support::VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let id_token = decode_segment(tokens["id_token"].as_str().expect("an ID token"), 1);
    assert_eq!(id_token["amr"], json!(["otp"]));
    let info: serde_json::Value = app
        .get_authorized("/oauth2/userinfo", tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "nell@example.org");
    assert_eq!(info["email_verified"], true, "the code proved the address");
    browser.close().await.unwrap();

    // An open application's access link: no page, a guest at once.
    let open = crate::access::PolicyApp::start(json!({"access_mode": "open"})).await;
    let (_driver, visitor) = start_browser().await;
    visitor.goto(&open.app.url(&format!("/a/{}", open.slug))).await.unwrap();
    assert_eq!(path_of(&visitor).await, "/account");
    let page = visitor.source().await.unwrap();
    assert!(page.contains("guest-"), "signed in as a guest: {page}");
    visitor.close().await.unwrap();
}

/// Federation in a real browser: a relying party sends the browser to Tessera, whose sign-in page sends it on
/// to the upstream provider (a second Tessera, on `localhost`); the person signs in there and comes back
/// through Tessera to the relying party, signed in to a new account.
#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_signs_in_through_an_upstream_provider_and_back() {
    let pair = crate::federation::Federated::start(crate::federation::registration(), |_| {}).await;
    let gina = pair.up.signup("gina").await;
    let authorize = pair.down.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st-fed",
        pair.client.id,
        url::form_urlencoded::byte_serialize(pair.client.redirect_uri.as_bytes()).collect::<String>(),
    ));

    let (_driver, browser) = start_browser().await;
    browser.goto(&authorize).await.unwrap();
    assert!(path_of(&browser).await.starts_with("/login?request="));
    let before = browser.current_url().await.unwrap();
    browser
        .find(Locator::Css("a[href^='/federation/up/start']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&browser, &format!("{}/login", pair.up_base())).await;
    assert_ne!(browser.current_url().await.unwrap(), before);
    fill(&browser, "#login", &gina.username).await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "form[action='/login'] button").await;
    wait_for_url(&browser, &pair.client.redirect_uri).await;
    let back = browser.current_url().await.unwrap().to_string();
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-fed"));
    let claims = pair.claims(&back).await;
    assert_eq!(claims["amr"], json!(["fed"]));
    browser.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn an_administrator_finds_and_disables_an_account_in_the_console() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let (_driver, browser) = start_browser().await;

    sign_in_as_admin(&browser, &app).await;

    browser.goto(&app.url("/admin")).await.unwrap();
    assert_eq!(path_of(&browser).await, "/admin/users");
    fill(&browser, "#query", "ali").await;
    submit(&browser, "form.filters button").await;
    assert_eq!(path_of(&browser).await, "/admin/users?query=ali");
    let listed = browser
        .find(Locator::Css("table.list tbody"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("alice") && !listed.contains("bob"), "{listed}");
    screenshot(&browser, "admin-users").await;

    let before = browser.current_url().await.unwrap();
    browser
        .find(Locator::LinkText("alice"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    while browser.current_url().await.unwrap() == before {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(path_of(&browser).await, format!("/admin/users/{}", alice.id));
    submit(&browser, "button[value=disable]").await;
    assert_eq!(
        path_of(&browser).await,
        format!("/admin/users/{}?done=disable", alice.id)
    );
    let status = browser.find(Locator::Id("status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "disabled");
    screenshot(&browser, "admin-user").await;
    assert_eq!(
        app.login_raw("alice", PASSWORD).await.status(),
        reqwest::StatusCode::UNAUTHORIZED
    );

    browser
        .goto(&app.url("/admin/audit?kind=account.disabled"))
        .await
        .unwrap();
    let log = browser
        .find(Locator::Css("table.list tbody"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("account.disabled") && log.contains(&alice.id), "{log}");
    browser.goto(&app.url("/admin/audit")).await.unwrap();
    screenshot(&browser, "admin-audit").await;
    browser.goto(&app.url("/admin/keys")).await.unwrap();
    screenshot(&browser, "admin-keys").await;
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn an_administrator_creates_an_application_and_an_api_key_in_the_console() {
    let app = TestApp::spawn().await;
    let (_driver, browser) = start_browser().await;
    sign_in_as_admin(&browser, &app).await;

    browser.goto(&app.url("/admin/apps")).await.unwrap();
    fill(&browser, "#name", "Billing").await;
    submit(&browser, "form[action='/admin/apps'] button").await;
    let path = path_of(&browser).await;
    assert!(
        path.starts_with("/admin/apps/") && path.ends_with("?done=created"),
        "{path}"
    );

    fill(&browser, "#key-name", "server").await;
    submit(&browser, "form[action$='/api-keys'] button").await;
    let key = browser
        .find(Locator::Id("new-key"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(key.starts_with("tsk_"), "{key}");
    screenshot(&browser, "admin-app").await;
    let response = crate::applications::with_key(Some(&key))
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"login": "admin", "password": crate::support::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "the key made in the browser works"
    );

    browser.goto(&app.url(&path)).await.unwrap();
    let keys = browser
        .find(Locator::Css("table.list tbody"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        keys.contains("server") && keys.contains("active") && !keys.contains(&key),
        "{keys}"
    );
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn an_administrator_registers_a_client_in_the_console() {
    let app = TestApp::spawn().await;
    let (_driver, browser) = start_browser().await;
    sign_in_as_admin(&browser, &app).await;

    browser.goto(&app.url("/admin/clients")).await.unwrap();
    fill(&browser, "#name", "Billing web").await;
    fill(&browser, "#redirect_uris", "https://billing.example.com/callback").await;
    // The answer stays at /admin/clients: wait for the registered client's page instead of a new address.
    let register = browser
        .find(Locator::Css("form[action='/admin/clients'] button"))
        .await
        .unwrap();
    register.click().await.unwrap();
    let client_id = browser
        .wait()
        .for_element(Locator::Id("client-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = browser
        .find(Locator::Id("client-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    screenshot(&browser, "admin-client").await;
    let response = reqwest::Client::new()
        .post(app.url("/oauth2/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "tsr_nothing")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["error"], "invalid_grant",
        "the secret shown authenticates the client"
    );

    browser.goto(&app.url("/admin/clients")).await.unwrap();
    let listed = browser
        .find(Locator::Css("table.list tbody"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("Billing web") && listed.contains(&client_id),
        "{listed}"
    );
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_makes_a_private_token_sees_it_once_revokes_it_and_ends_another_sign_in() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    // Another sign-in of the same account: a second browser.
    let elsewhere = app.browser();
    elsewhere.sign_in(&alice).await;
    let (_driver, browser) = start_browser().await;

    browser.goto(&app.url("/login")).await.unwrap();
    fill(&browser, "#login", "alice").await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "form[action='/login'] button").await;
    assert_eq!(path_of(&browser).await, "/account");

    // The answer to the form is at the same address: wait for the token to appear on it.
    browser.goto(&app.url("/account/tokens")).await.unwrap();
    fill(&browser, "#description", "deploys").await;
    browser
        .find(Locator::Css("form[action='/account/tokens'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let token = loop {
        if let Ok(shown) = browser.find(Locator::Id("token-secret")).await {
            break shown.text().await.unwrap().trim().to_owned();
        }
        assert!(Instant::now() < deadline, "the new token never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(token.starts_with("tsp_"), "{token}");
    screenshot(&browser, "account-tokens").await;
    assert_eq!(app.get_authorized("/api/v1/user", &token).await.status(), 200);
    browser.goto(&app.url("/account/tokens")).await.unwrap();
    assert!(
        browser.find(Locator::Id("token-secret")).await.is_err(),
        "shown only once"
    );
    let source = browser.source().await.unwrap();
    assert!(!source.contains(&token));

    submit(&browser, "form[action$='/revoke'] button").await;
    assert_eq!(path_of(&browser).await, "/account/tokens?done=revoked");
    let status = browser.find(Locator::Css("#tokens td.status")).await.unwrap();
    assert_eq!(status.text().await.unwrap(), "revoked");
    assert_eq!(app.get_authorized("/api/v1/user", &token).await.status(), 401);

    browser.goto(&app.url("/account/sessions")).await.unwrap();
    submit(&browser, "#browser-sessions form button").await;
    assert_eq!(path_of(&browser).await, "/account/sessions?done=ended");
    assert!(browser.find(Locator::Css("#browser-sessions form")).await.is_err());
    let signed_out = elsewhere.get("/account").await;
    assert_eq!(crate::oidc_support::location(&signed_out), "/login");
}

/// Waits until the element at `css` shows `text` (a form answered at the address it was posted to).
async fn wait_for_text(browser: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && element.text().await.unwrap_or_default().contains(text)
        {
            return;
        }
        assert!(Instant::now() < deadline, "“{text}” never appeared in {css}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_browser_names_its_account_and_changes_its_password() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let elsewhere = app.browser();
    elsewhere.sign_in(&alice).await;
    let (_driver, browser) = start_browser().await;
    browser.goto(&app.url("/login")).await.unwrap();
    fill(&browser, "#login", "alice").await;
    fill(&browser, "#password", PASSWORD).await;
    submit(&browser, "form[action='/login'] button").await;

    browser.goto(&app.url("/account/profile")).await.unwrap();
    fill(&browser, "#name", "Alice Liddell").await;
    submit(&browser, "form[action='/account/profile/name'] button").await;
    wait_for_text(&browser, "p.notice", "Your name is saved.").await;
    screenshot(&browser, "account-profile").await;
    let rest = app.login("alice", PASSWORD).await;
    let me: serde_json::Value = app
        .get_authorized("/api/v1/user", &rest.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Alice Liddell");

    browser.goto(&app.url("/account/password")).await.unwrap();
    fill(&browser, "#current-password", PASSWORD).await;
    fill(&browser, "#new-password", "a brand new passphrase").await;
    fill(&browser, "#repeat-password", "a brand new passphrase").await;
    browser
        .find(Locator::Css("form[action='/account/password'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "p.notice", "Your password is changed.").await;
    browser.goto(&app.url("/account")).await.unwrap();
    assert_eq!(path_of(&browser).await, "/account", "this browser stays signed in");
    assert_eq!(
        crate::oidc_support::location(&elsewhere.get("/account").await),
        "/login"
    );
    assert_eq!(app.login_raw("alice", "a brand new passphrase").await.status(), 200);
}
