//! Sign-in through an upstream OpenID provider, against a second real Tessera on loopback as the upstream
//! (on `localhost`, so the two servers' cookies stay apart): accounts made just in time under the access
//! mode and found again by (issuer, subject), refusals for invite-only applications, and the round trip's
//! defences — a `state` used twice, in another browser or at another provider's callback, an `iss` naming
//! another issuer, an expired ID token, an upstream that is down.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::config::{EmailTransport, ProviderConfig, ProviderKind, Secret};
use tessera::oidc::clients::ClientSpec;
use tessera::store::{external_identities, users};

use crate::jwks::decode_segment;
use crate::oidc_support::{Browser, TestClient, assert_error_page, location, query_param};
use crate::support::{PASSWORD, TestApp, TestUser};

/// An upstream Tessera, a downstream Tessera that offers it as the provider `up`, and an application of the
/// downstream with a first-party client.
pub struct Federated {
    pub up: TestApp,
    pub down: TestApp,
    /// The downstream application's id.
    pub app_id: String,
    /// A first-party client of the application; it comes back to a page of the downstream, so a real browser
    /// lands somewhere.
    pub client: TestClient,
    /// The downstream's client at the upstream.
    pub upstream_client: TestClient,
}

fn provider(id: &str, issuer: &str, client: &TestClient) -> ProviderConfig {
    ProviderConfig {
        id: id.into(),
        name: "Upstream".into(),
        kind: ProviderKind::Oidc,
        issuer: issuer.into(),
        client_id: client.id.clone(),
        client_secret: Secret::new(client.secret.clone().unwrap()),
        scopes: vec!["email".into(), "profile".into()],
        email_claim: "email".into(),
        username_claim: "preferred_username".into(),
        name_claim: "name".into(),
        trusted_amr: Vec::new(),
        allowed_domains: Vec::new(),
        trust_email: false,
    }
}

impl Federated {
    /// `policy` is the application's (admin API fields); `customize` may change the downstream's configuration
    /// (its providers included).
    pub async fn start(policy: Value, customize: impl FnOnce(&mut tessera::config::Config)) -> Self {
        let up = TestApp::spawn_with(|config| {
            config.server.issuer = config.server.issuer.replace("127.0.0.1", "localhost");
            config.tokens.id_token_ttl_secs = 120;
        })
        .await;
        let up_issuer = up.state.config.issuer().to_owned();
        let upstream_client = up
            .register(ClientSpec {
                name: Some("Downstream".into()),
                redirect_uris: vec!["https://placeholder.test/cb".into()],
                first_party: true,
                ..ClientSpec::default()
            })
            .await;
        let configured = provider("up", &up_issuer, &upstream_client);
        let upstream_client_kept = TestClient {
            id: upstream_client.id.clone(),
            secret: upstream_client.secret.clone(),
            redirect_uri: String::new(),
        };
        let down = TestApp::spawn_with(move |config| {
            config.email.transport = EmailTransport::Log;
            config.federation.providers = vec![configured];
            customize(config);
        })
        .await;
        up.state
            .oidc
            .clients
            .update(
                &upstream_client.id,
                ClientSpec {
                    name: Some("Downstream".into()),
                    redirect_uris: vec![down.state.federation.redirect_uri("up")],
                    first_party: true,
                    ..ClientSpec::default()
                },
                up.clock.now(),
            )
            .await
            .unwrap();
        let mut body = json!({"name": "Shop"});
        body.as_object_mut()
            .unwrap()
            .extend(policy.as_object().unwrap().clone());
        let created = down.create_application(body).await;
        let app_id = created["id"].as_str().unwrap().to_owned();
        let client = down
            .register(ClientSpec {
                application: Some(app_id.clone()),
                name: Some("Shop Web".into()),
                redirect_uris: vec![down.url("/health/live")],
                first_party: true,
                ..ClientSpec::default()
            })
            .await;
        Self {
            up,
            down,
            app_id,
            client,
            upstream_client: upstream_client_kept,
        }
    }

    /// The upstream's own address (its issuer, on `localhost`).
    pub fn up_base(&self) -> &str {
        self.up.state.config.issuer()
    }

    /// From the client's authorization request to the downstream callback with what the upstream answered
    /// for `user`: the callback's URL, not yet visited.
    pub async fn through_upstream(&self, browser: &Browser, user: &TestUser) -> String {
        let response = browser.authorize(&self.client, &[]).await;
        let login = location(&response);
        let html = browser.get(&login).await.text().await.unwrap();
        let start = provider_link(&html, "up");
        let response = browser.get(&start).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
        let upstream = location(&response);
        assert!(upstream.starts_with(self.up_base()), "{upstream}");
        for param in ["state", "nonce", "code_challenge"] {
            assert!(
                query_param(&upstream, param).is_some(),
                "the upstream request has {param}"
            );
        }
        assert_eq!(query_param(&upstream, "code_challenge_method").as_deref(), Some("S256"));
        self.sign_in_upstream(browser, &upstream, user).await
    }

    /// At the upstream's authorization URL, `user` signs in there: the callback's URL, not yet visited.
    pub async fn sign_in_upstream(&self, browser: &Browser, upstream: &str, user: &TestUser) -> String {
        let at_upstream = browser.at(self.up_base());
        let response = at_upstream.get(upstream).await;
        let upstream_login = location(&response);
        let response = at_upstream.submit_login(&upstream_login, user, PASSWORD).await;
        let callback = location(&response);
        assert!(callback.starts_with(&self.down.url("/federation/")), "{callback}");
        callback
    }

    /// The ID token's claims for a callback to the client (the access token's `amr` and `idp` checked to be
    /// the same).
    pub async fn claims(&self, callback: &str) -> Value {
        assert!(callback.starts_with(&self.client.redirect_uri), "{callback}");
        let code = query_param(callback, "code").unwrap_or_else(|| panic!("a code in {callback}"));
        let tokens = self.down.exchange(&self.client, &code, false).await;
        let id = decode_segment(tokens["id_token"].as_str().unwrap(), 1);
        let access = decode_segment(tokens["access_token"].as_str().unwrap(), 1);
        assert_eq!((&access["amr"], &access["idp"]), (&id["amr"], &id["idp"]), "{access}");
        id
    }
}

/// The `href` of the sign-in page's link to `provider`.
fn provider_link(html: &str, provider: &str) -> String {
    let marker = format!("href=\"/federation/{provider}/start");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("a link to {provider} in {html}"))
        + 6;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

pub fn registration() -> Value {
    json!({
        "access_mode": "registration",
        "login_methods": ["password", "external"],
        "external_providers": ["up"],
        "verification_channels": ["email"],
    })
}

#[tokio::test]
async fn registration_makes_the_account_just_in_time_and_finds_it_again_by_issuer_and_subject() {
    let pair = Federated::start(registration(), |_| {}).await;
    let alice = pair.up.signup("alice").await;
    // Someone here already has alice's address: an upstream identity never joins an account by address alone.
    let local_alice = pair.down.signup("alice").await;

    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &alice).await;
    let response = browser.get(&callback).await;
    let back = location(&response);
    let claims = pair.claims(&back).await;
    assert_eq!(claims["amr"], json!(["fed"]), "{claims}");
    assert_eq!(claims["idp"], json!("up"), "the ID token names the provider");
    let sub = claims["sub"].as_str().unwrap().to_owned();
    assert_ne!(sub, alice.id, "the downstream account is its own");
    assert_ne!(sub, local_alice.id, "not joined to the account with the same address");
    let account = users::find_by_id(&pair.down.state.db, sub.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        account.email, None,
        "the address is someone else's here, and the upstream did not verify it"
    );
    assert!(account.password_hash.is_none());

    // Again, in another browser: the same account, found by (issuer, subject).
    let again = pair.down.browser();
    let callback = pair.through_upstream(&again, &alice).await;
    let back = location(&again.get(&callback).await);
    assert_eq!(pair.claims(&back).await["sub"], json!(sub));

    // Someone else upstream gets an account of their own.
    let bob = pair.up.signup("bob").await;
    users::set_email_verified(
        &pair.up.state.db,
        bob.id.clone(),
        "bob@example.org".into(),
        pair.up.clock.now(),
    )
    .await
    .unwrap();
    let other = pair.down.browser();
    let callback = pair.through_upstream(&other, &bob).await;
    let back = location(&other.get(&callback).await);
    let bob_claims = pair.claims(&back).await;
    assert_ne!(bob_claims["sub"], json!(sub));
    // The upstream's username (from its userinfo: its ID tokens carry no profile claims) when free here.
    let bob_here = users::find_by_id(&pair.down.state.db, bob_claims["sub"].as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob_here.username, "bob");
    assert_eq!(
        bob_here.email, None,
        "the upstream verified it, but its addresses are not trusted here"
    );
}

#[tokio::test]
async fn invite_only_refuses_an_unknown_upstream_identity_and_makes_no_account() {
    let pair = Federated::start(
        json!({
            "access_mode": "invite_only",
            "login_methods": ["password", "external"],
            "external_providers": ["up"],
        }),
        |_| {},
    )
    .await;
    let carol = pair.up.signup("carol").await;
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &carol).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("no access to this application"), "{html}");
    let db = &pair.down.state.db;
    let identity = external_identities::find(db, pair.up_base().to_owned(), carol.id.clone()).await;
    assert!(identity.unwrap().is_none(), "no identity was kept");
    let account = users::find_by_username(db, "carol".into()).await.unwrap();
    assert!(account.is_none(), "no account was made");
}

#[tokio::test]
async fn a_callback_counts_once_in_its_own_browser_at_its_own_provider() {
    let pair = Federated::start(registration(), |_| {}).await;
    let dave = pair.up.signup("dave").await;

    // Replayed: the second use of the same callback is refused.
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &dave).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);
    let html = assert_error_page(browser.get(&callback).await).await;
    assert!(html.contains("could not be completed"), "{html}");

    // Another browser cannot finish this browser's round trip.
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &dave).await;
    let stranger = pair.down.browser();
    assert_error_page(stranger.get(&callback).await).await;

    // Mix-up: the response names another issuer, or none.
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &dave).await;
    let forged = callback.replace(&urlencode(pair.up_base()), &urlencode("https://accounts.google.com"));
    assert_ne!(forged, callback);
    assert_error_page(browser.get(&forged).await).await;

    // The upstream says it always names itself (RFC 9207): a response without `iss` is refused.
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &dave).await;
    let mut unnamed = url::Url::parse(&callback).unwrap();
    let kept: Vec<(String, String)> = unnamed
        .query_pairs()
        .filter(|(name, _)| name != "iss")
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    assert!(kept.len() < unnamed.query_pairs().count(), "the upstream named itself");
    unnamed.query_pairs_mut().clear().extend_pairs(kept);
    assert_error_page(browser.get(unnamed.as_str()).await).await;
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_response_for_one_provider_is_refused_at_another_providers_callback() {
    let pair = Federated::start(
        json!({
            "access_mode": "registration",
            "login_methods": ["password", "external"],
            "external_providers": ["up", "twin"],
            "verification_channels": ["email"],
        }),
        |config| {
            // A second provider: the same upstream under another name.
            let mut twin = config.federation.providers[0].clone();
            twin.id = "twin".into();
            config.federation.providers.push(twin);
        },
    )
    .await;
    let erin = pair.up.signup("erin").await;
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &erin).await;
    let elsewhere = callback.replace("/federation/up/callback", "/federation/twin/callback");
    assert_error_page(browser.get(&elsewhere).await).await;
    // The round trip is spent: its own callback now refuses it too.
    assert_error_page(browser.get(&callback).await).await;
}

#[tokio::test]
async fn an_expired_upstream_id_token_is_refused() {
    let pair = Federated::start(registration(), |config| config.federation.login_ttl_secs = 3600).await;
    let fay = pair.up.signup("fay").await;
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &fay).await;
    // The upstream's ID tokens live 120 s; Tessera checks them on its own clock.
    pair.down.advance_clock(Duration::from_secs(300));
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let html = response.text().await.unwrap();
    assert!(html.contains("did not answer as expected"), "{html}");
}

#[tokio::test]
async fn an_upstream_that_is_down_ends_in_an_error_page() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let pair = Federated::start(registration(), move |config| {
        config.federation.providers[0].issuer = issuer;
        config.federation.timeout_secs = 2;
    })
    .await;
    let browser = pair.down.browser();
    let response = browser.authorize(&pair.client, &[]).await;
    let login = location(&response);
    let html = browser.get(&login).await.text().await.unwrap();
    let start = provider_link(&html, "up");
    let response = browser.get(&start).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn external_needs_a_configured_provider() {
    let pair = Federated::start(registration(), |_| {}).await;
    let admin = pair.down.admin_login().await;
    let response = pair
        .down
        .client
        .post(pair.down.url("/api/v1/admin/apps"))
        .bearer_auth(&admin.access)
        .json(&json!({
            "name": "Other",
            "access_mode": "registration",
            "login_methods": ["external"],
            "external_providers": ["nowhere"],
            "verification_channels": ["email"],
        }))
        .send()
        .await
        .unwrap();
    let body = crate::support::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body.to_string().contains("external_providers"), "{body}");
    // A provider the application does not offer cannot be started for it.
    let browser = pair.down.browser();
    let response = browser.get("/federation/up/start").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// The security page's form that links `provider`, posted.
async fn link_from_security_page(browser: &Browser, provider: &str) -> reqwest::Response {
    let response = browser.get("/account/security").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("name=\"provider\" value=\"{provider}\"")),
        "{html}"
    );
    let csrf = crate::oidc_support::hidden(&html, "csrf").unwrap();
    browser
        .client
        .post(browser.url("/account/security/identities/link"))
        .form(&[("csrf", csrf.as_str()), ("provider", provider)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_in_person_links_an_upstream_identity_and_signs_in_with_it_then_unlinks_it() {
    let pair = Federated::start(registration(), |_| {}).await;
    let hana_up = pair.up.signup("hana").await;
    let hana = pair.down.signup("hana").await;

    // Linking from the security page: upstream and back to the same session.
    let browser = pair.down.browser();
    browser.sign_in(&hana).await;
    let response = link_from_security_page(&browser, "up").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let upstream = location(&response);
    let callback = pair.sign_in_upstream(&browser, &upstream, &hana_up).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("The sign-in is linked"), "{html}");
    assert!(html.contains("Unlink Upstream"), "{html}");

    // Signing in through the upstream now lands in hana's account.
    let other = pair.down.browser();
    let callback = pair.through_upstream(&other, &hana_up).await;
    let back = location(&other.get(&callback).await);
    assert_eq!(pair.claims(&back).await["sub"], json!(hana.id));

    // The same upstream identity cannot be linked to a second account.
    let ivan = pair.down.signup("ivan").await;
    let browser = pair.down.browser();
    browser.sign_in(&ivan).await;
    let upstream = location(&link_from_security_page(&browser, "up").await);
    let callback = pair.sign_in_upstream(&browser, &upstream, &hana_up).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("already linked to another account")
    );

    // Through the REST API: listed, then unlinked (hana keeps her password).
    let tokens = pair.down.login("hana", PASSWORD).await;
    let response = pair
        .down
        .get_authorized("/api/v1/user/identities", &tokens.access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let listed: Value = response.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["provider"], "up");
    let id = listed[0]["id"].as_str().unwrap();
    let response = pair
        .down
        .client
        .delete(pair.down.url(&format!("/api/v1/user/identities/{id}")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = pair
        .down
        .get_authorized("/api/v1/user/identities", &tokens.access)
        .await;
    assert_eq!(response.json::<Value>().await.unwrap(), json!([]));
}

#[tokio::test]
async fn linking_needs_a_recent_sign_in_and_the_last_way_to_sign_in_stays() {
    let pair = Federated::start(registration(), |_| {}).await;
    // An account made through the upstream has no other way in: its identity cannot be unlinked.
    let kim = pair.up.signup("kim").await;
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &kim).await;
    let back = location(&browser.get(&callback).await);
    let code = query_param(&back, "code").unwrap();
    let tokens = pair.down.exchange(&pair.client, &code, false).await;
    let access = tokens["access_token"].as_str().unwrap();
    let key = pair.down.create_api_key(&pair.app_id, json!({"name": "shop"})).await;
    let shop = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    let listed: Value = shop
        .get(pair.down.url("/api/v1/user/identities"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = listed[0]["id"].as_str().unwrap();
    let response = shop
        .delete(pair.down.url(&format!("/api/v1/user/identities/{id}")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    crate::support::assert_error(response, StatusCode::CONFLICT, "last_sign_in_method").await;

    // Linking needs a recent sign-in (on Tessera's clock).
    let jan = pair.down.signup("jan").await;
    let browser = pair.down.browser();
    browser.sign_in(&jan).await;
    pair.down.advance_clock(Duration::from_secs(3600));
    let response = link_from_security_page(&browser, "up").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("sign in again"));
}

/// P-FED-07: the upstream's word does not replace Tessera's own second factor.
#[tokio::test]
async fn an_account_with_an_authenticator_still_needs_it_after_the_upstream() {
    let pair = Federated::start(registration(), |_| {}).await;
    let lea_up = pair.up.signup("lea").await;
    let lea = pair.down.signup("lea").await;
    let browser = pair.down.browser();
    browser.sign_in(&lea).await;
    let upstream = location(&link_from_security_page(&browser, "up").await);
    let callback = pair.sign_in_upstream(&browser, &upstream, &lea_up).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::OK);
    let tokens = pair.down.login("lea", PASSWORD).await;
    let (secret, _) = pair.down.enroll_totp(&tokens.access).await;

    let other = pair.down.browser();
    let callback = pair.through_upstream(&other, &lea_up).await;
    let mfa = location(&other.get(&callback).await);
    assert!(mfa.starts_with("/login/mfa"), "{mfa}");
    let code = crate::mfa::totp_code(&secret, pair.down.clock.now());
    let back = location(&other.submit_code(&mfa, "totp", &code).await);
    let claims = pair.claims(&back).await;
    assert_eq!(claims["sub"], json!(lea.id));
    assert_eq!(claims["amr"], json!(["fed", "otp", "mfa"]), "{claims}");
    assert_eq!(claims["idp"], json!("up"));
    assert_eq!(claims["acr"], json!("2"));
}

/// A guest of an open application keeps its `sub` and becomes a registered account by linking an upstream
/// identity.
#[tokio::test]
async fn a_guest_registers_by_linking_an_upstream_identity() {
    let pair = Federated::start(json!({"access_mode": "open"}), |_| {}).await;
    let max_up = pair.up.signup("max").await;
    let browser = pair.down.browser();
    let response = browser.authorize(&pair.client, &[]).await;
    let claims = pair.claims(&location(&response)).await;
    assert_eq!(claims["acr"], "0", "a guest");
    let sub = claims["sub"].as_str().unwrap().to_owned();

    let upstream = location(&link_from_security_page(&browser, "up").await);
    let callback = pair.sign_in_upstream(&browser, &upstream, &max_up).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::OK);
    let account = users::find_by_id(&pair.down.state.db, sub.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(!account.guest, "registered by the identity");

    // The identity is the guest's own account's, found by (issuer, subject).
    let identity = external_identities::find(&pair.down.state.db, pair.up_base().to_owned(), max_up.id.clone())
        .await
        .unwrap()
        .expect("linked");
    assert_eq!(identity.1.id, sub);
}

/// Under `invite_only`, an upstream identity whose verified address was invited comes in (from a provider whose
/// addresses are trusted): the invitation is accepted by a new account with that address, which becomes a
/// member. An unverified address is not enough.
#[tokio::test]
async fn invite_only_admits_an_upstream_identity_whose_verified_address_was_invited() {
    let pair = Federated::start(
        json!({
            "access_mode": "invite_only",
            "login_methods": ["password", "external"],
            "external_providers": ["up"],
        }),
        // The administrator trusts this provider's verified addresses.
        |config| config.federation.providers[0].trust_email = true,
    )
    .await;
    let admin = pair.down.admin_login().await;
    let response = pair
        .down
        .client
        .post(
            pair.down
                .url(&format!("/api/v1/admin/apps/{}/invitations", pair.app_id)),
        )
        .bearer_auth(&admin.access)
        .json(&json!({"email": "nora@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let nora = pair.up.signup("nora").await;

    // The upstream has not verified nora's address yet: refused.
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &nora).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::FORBIDDEN);

    // Verified upstream: the invitation lets her in.
    users::set_email_verified(
        &pair.up.state.db,
        nora.id.clone(),
        "nora@example.org".into(),
        pair.up.clock.now(),
    )
    .await
    .unwrap();
    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &nora).await;
    let back = location(&browser.get(&callback).await);
    let claims = pair.claims(&back).await;
    let account = users::find_by_id(&pair.down.state.db, claims["sub"].as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.email.as_deref(), Some("nora@example.org"));
    assert!(account.email_verified);

    // The invitation is spent: someone else proving the same address upstream later gets nothing.
    let response = pair
        .down
        .get_authorized(
            &format!("/api/v1/admin/apps/{}/invitations", pair.app_id),
            &admin.access,
        )
        .await;
    let invitations: Value = response.json().await.unwrap();
    assert!(invitations.to_string().contains("accepted"), "{invitations}");
}

/// Providers added through the admin API: validated like the file's, their secret never shown, usable by
/// applications at once; the file's listed but changed only there; one in use cannot go.
#[tokio::test]
async fn administrators_add_providers_through_the_api_and_applications_offer_them() {
    let pair = Federated::start(
        json!({"access_mode": "registration", "verification_channels": ["email"]}),
        |_| {},
    )
    .await;
    let admin = pair.down.admin_login().await;
    let api = |method: reqwest::Method, path: &str| {
        pair.down
            .client
            .request(method, pair.down.url(path))
            .bearer_auth(&admin.access)
    };

    // Bad settings name their fields.
    let response = api(reqwest::Method::POST, "/api/v1/admin/providers")
        .json(
            &json!({"id": "Corp!", "issuer": "http://login.example.test", "client_id": "x",
                      "trusted_amr": ["two words"], "name_claim": " "}),
        )
        .send()
        .await
        .unwrap();
    let body = crate::support::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["id", "issuer", "client_secret", "trusted_amr", "name_claim"] {
        assert!(body["fields"].get(field).is_some(), "{field}: {body}");
    }
    // An id of the file's is taken.
    let response = api(reqwest::Method::POST, "/api/v1/admin/providers")
        .json(&json!({"id": "up", "issuer": pair.up_base(), "client_id": "x", "client_secret": "y"}))
        .send()
        .await
        .unwrap();
    crate::support::assert_error(response, StatusCode::CONFLICT, "provider_exists").await;

    // The same upstream as "corp", through the API.
    let response = api(reqwest::Method::POST, "/api/v1/admin/providers")
        .json(&json!({
            "id": "corp",
            "name": "Corp",
            "issuer": pair.up_base(),
            "client_id": pair.upstream_client.id,
            "client_secret": pair.upstream_client.secret,
            "trusted_amr": ["mfa"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        (&created["trusted_amr"], &created["name_claim"]),
        (&json!(["mfa"]), &json!("name"))
    );
    assert!(
        created.get("client_secret").is_none(),
        "the secret is not shown: {created}"
    );
    assert_eq!(created["source"], "api");
    assert_eq!(
        created["redirect_uri"],
        json!(pair.down.state.federation.redirect_uri("corp"))
    );
    let listed: Value = api(reqwest::Method::GET, "/api/v1/admin/providers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sources: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["source"].as_str().unwrap()))
        .collect();
    assert_eq!(sources, [("up", "file"), ("corp", "api")]);
    let response = api(reqwest::Method::PATCH, "/api/v1/admin/providers/up")
        .json(&json!({"name": "Renamed"}))
        .send()
        .await
        .unwrap();
    crate::support::assert_error(response, StatusCode::CONFLICT, "provider_configured_in_file").await;

    // The upstream's redirect URI for "corp", then the application offers it, and people sign in through it.
    pair.up
        .state
        .oidc
        .clients
        .update(
            &pair.upstream_client.id,
            ClientSpec {
                name: Some("Downstream".into()),
                redirect_uris: vec![
                    pair.down.state.federation.redirect_uri("up"),
                    pair.down.state.federation.redirect_uri("corp"),
                ],
                first_party: true,
                ..ClientSpec::default()
            },
            pair.up.clock.now(),
        )
        .await
        .unwrap();
    let response = api(reqwest::Method::PATCH, &format!("/api/v1/admin/apps/{}", pair.app_id))
        .json(&json!({"login_methods": ["password", "external"], "external_providers": ["corp"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let olga = pair.up.signup("olga").await;
    let browser = pair.down.browser();
    let response = browser.authorize(&pair.client, &[]).await;
    let login = location(&response);
    let html = browser.get(&login).await.text().await.unwrap();
    assert!(html.contains("Sign in with Corp"), "{html}");
    let start = provider_link(&html, "corp");
    let upstream = location(&browser.get(&start).await);
    let callback = pair.sign_in_upstream(&browser, &upstream, &olga).await;
    let back = location(&browser.get(&callback).await);
    assert_eq!(pair.claims(&back).await["idp"], "corp");

    // In use: it stays until no application offers it.
    let response = api(reqwest::Method::DELETE, "/api/v1/admin/providers/corp")
        .send()
        .await
        .unwrap();
    let body = crate::support::assert_error(response, StatusCode::CONFLICT, "provider_in_use").await;
    assert!(body["detail"].as_str().unwrap().contains("shop"), "{body}");
    let response = api(reqwest::Method::PATCH, &format!("/api/v1/admin/apps/{}", pair.app_id))
        .json(&json!({"login_methods": ["password"], "external_providers": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = api(reqwest::Method::DELETE, "/api/v1/admin/providers/corp")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = api(reqwest::Method::GET, "/api/v1/admin/providers/corp")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A relying party sends a signed-in person to link an identity: they confirm on a page, sign in upstream, and
/// come back to the client's redirect URI with `linked`; a return URI that is not the client's is an error
/// page, and a browser without a recent sign-in goes back with `login_required`.
#[tokio::test]
async fn a_relying_party_sends_a_signed_in_person_to_link_an_identity() {
    let pair = Federated::start(registration(), |_| {}).await;
    let pia_up = pair.up.signup("pia").await;
    let pia = pair.down.signup("pia").await;
    let return_to = pair.client.redirect_uri.clone();
    let link = |redirect: &str| {
        format!(
            "/federation/up/link?client_id={}&redirect_uri={}&state=st-link",
            pair.client.id,
            urlencode(redirect)
        )
    };

    let stranger = pair.down.browser();
    let response = stranger.get(&link(&return_to)).await;
    assert_eq!(
        location(&response),
        format!("{return_to}?state=st-link&error=login_required")
    );
    assert_error_page(stranger.get(&link("https://evil.test/cb")).await).await;

    let browser = pair.down.browser();
    browser.sign_in(&pia).await;
    let page = browser.get(&link(&return_to)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Link <strong>Upstream</strong>"), "{html}");
    assert_eq!(crate::oidc_support::hidden(&html, "state").as_deref(), Some("st-link"));
    let csrf = crate::oidc_support::hidden(&html, "csrf").unwrap();
    let post = |decision: &'static str| {
        browser
            .client
            .post(browser.url("/federation/up/link"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("client_id", pair.client.id.as_str()),
                ("redirect_uri", return_to.as_str()),
                ("state", "st-link"),
                ("decision", decision),
            ])
            .send()
    };
    let cancelled = post("cancel").await.unwrap();
    assert_eq!(
        location(&cancelled),
        format!("{return_to}?state=st-link&error=access_denied")
    );
    let upstream = location(&post("link").await.unwrap());
    let callback = pair.sign_in_upstream(&browser, &upstream, &pia_up).await;
    let back = location(&browser.get(&callback).await);
    assert_eq!(back, format!("{return_to}?state=st-link&linked=up"));
    let (_, owner) = external_identities::find(&pair.down.state.db, pair.up_base().to_owned(), pia_up.id.clone())
        .await
        .unwrap()
        .expect("linked");
    assert_eq!(owner.id, pia.id);
}

/// An application signs in through the upstream over the REST API: it gets the authorization URL and a flow
/// token, the browser comes back to its redirect URI with a one-time code, and the flow token with that code
/// gives the token pair. The code alone, the token alone, or a code used twice sign nobody in.
#[tokio::test]
async fn an_application_signs_in_through_the_upstream_over_the_rest_api() {
    let pair = Federated::start(registration(), |_| {}).await;
    let key = pair.down.create_api_key(&pair.app_id, json!({"name": "shop"})).await;
    let shop = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    let url = pair.down.url("/api/v1/auth/external");
    let complete = pair.down.url("/api/v1/auth/external/complete");
    let rosa = pair.up.signup("rosa").await;

    let response = shop.post(&url).json(&json!({"provider": "up"})).send().await.unwrap();
    crate::support::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let foreign = json!({"provider": "up", "client_id": pair.client.id, "redirect_uri": "https://evil.test/cb"});
    let response = shop.post(&url).json(&foreign).send().await.unwrap();
    let body = crate::support::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"].get("redirect_uri").is_some(), "{body}");

    let request = json!({"provider": "up", "client_id": pair.client.id, "redirect_uri": pair.client.redirect_uri});
    let response = shop.post(&url).json(&request).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let started: Value = response.json().await.unwrap();
    assert_eq!(started["step"], "external");
    let flow_token = started["flow_token"].as_str().unwrap();
    let upstream = started["authorization_url"].as_str().unwrap();
    assert!(upstream.starts_with(pair.up_base()), "{upstream}");

    // Before the person came back, nothing finishes it.
    let early = json!({"flow_token": flow_token, "code": "tsx_nothing"});
    let response = shop.post(&complete).json(&early).send().await.unwrap();
    crate::support::assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;

    // The person's browser (the application opens one) signs in upstream and comes back with the code.
    let browser = pair.down.browser();
    let callback = pair.sign_in_upstream(&browser, upstream, &rosa).await;
    let back = location(&browser.get(&callback).await);
    assert!(back.starts_with(&pair.client.redirect_uri), "{back}");
    let code = query_param(&back, "code").expect("a code");

    let wrong = json!({"flow_token": flow_token, "code": "tsx_wrong"});
    let response = shop.post(&complete).json(&wrong).send().await.unwrap();
    crate::support::assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let right = json!({"flow_token": flow_token, "code": code});
    let response = shop.post(&complete).json(&right).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let claims = decode_segment(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["amr"], json!(["fed"]), "{claims}");
    assert_eq!(claims["idp"], json!("up"));
    assert!(tokens["refresh_token"].is_string());
    let response = shop.post(&complete).json(&right).send().await.unwrap();
    crate::support::assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;
}

/// Over the REST API, a refusal reaches the application at its redirect URI as the REST API's error code.
#[tokio::test]
async fn a_refused_rest_sign_in_through_the_upstream_comes_back_with_its_error_code() {
    let pair = Federated::start(
        json!({
            "access_mode": "invite_only",
            "login_methods": ["password", "external"],
            "external_providers": ["up"],
        }),
        |_| {},
    )
    .await;
    let key = pair.down.create_api_key(&pair.app_id, json!({"name": "shop"})).await;
    let shop = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    let stranger = pair.up.signup("sven").await;
    let request = json!({"provider": "up", "client_id": pair.client.id, "redirect_uri": pair.client.redirect_uri});
    let started: Value = shop
        .post(pair.down.url("/api/v1/auth/external"))
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let browser = pair.down.browser();
    let callback = pair
        .sign_in_upstream(&browser, started["authorization_url"].as_str().unwrap(), &stranger)
        .await;
    let back = location(&browser.get(&callback).await);
    assert_eq!(query_param(&back, "error").as_deref(), Some("not_a_member"), "{back}");
    assert!(query_param(&back, "code").is_none());
}

/// An administrator links a member's upstream identity (by provider and subject): the member then signs in to
/// the invite-only application through the upstream. An identity of another account, or an unknown provider,
/// is refused.
#[tokio::test]
async fn an_administrator_links_a_members_upstream_identity() {
    let pair = Federated::start(
        json!({
            "access_mode": "invite_only",
            "login_methods": ["password", "external"],
            "external_providers": ["up"],
        }),
        |_| {},
    )
    .await;
    let tom_up = pair.up.signup("tom").await;
    let tom = pair.down.signup("tom").await;
    let admin = pair.down.admin_login().await;
    let post = |path: String, body: Value| {
        pair.down
            .client
            .post(pair.down.url(&path))
            .bearer_auth(&admin.access)
            .json(&body)
            .send()
    };
    let response = post(
        format!("/api/v1/admin/apps/{}/members", pair.app_id),
        json!({"username": "tom"}),
    )
    .await
    .unwrap();
    assert!(response.status().is_success(), "{:?}", response.text().await);
    let link = json!({"provider": "up", "subject": tom_up.id});
    let response = post(format!("/api/v1/admin/users/{}/identities", tom.id), link.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let linked: Value = response.json().await.unwrap();
    assert_eq!(linked["provider"], "up");

    let browser = pair.down.browser();
    let callback = pair.through_upstream(&browser, &tom_up).await;
    let back = location(&browser.get(&callback).await);
    assert_eq!(pair.claims(&back).await["sub"], json!(tom.id));

    let uma = pair.down.signup("uma").await;
    let response = post(format!("/api/v1/admin/users/{}/identities", uma.id), link)
        .await
        .unwrap();
    crate::support::assert_error(response, StatusCode::CONFLICT, "identity_taken").await;
    let response = post(
        format!("/api/v1/admin/users/{}/identities", uma.id),
        json!({"provider": "nowhere", "subject": "x"}),
    )
    .await
    .unwrap();
    crate::support::assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let listed: Value = pair
        .down
        .get_authorized(&format!("/api/v1/admin/users/{}/identities", tom.id), &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}
