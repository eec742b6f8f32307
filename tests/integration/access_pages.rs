//! Per-application access policy through the browser: the sign-in pages offer the application's methods, a
//! code sign-in and the verification step run on their own pages, an existing session meets the client's
//! application policy (verification, or access_denied for a non-member), and open applications make guests
//! without any page.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;

use crate::access::PolicyApp;
use crate::jwks::decode_segment;
use crate::oidc_support::{Browser, RP1_CB, TestClient, hidden, location, query_param};
use crate::support::PASSWORD;

const PHONE: &str = "+14155550111";

impl PolicyApp {
    /// A first-party client of the application.
    async fn client(&self) -> TestClient {
        self.app
            .register(ClientSpec {
                application: Some(self.id.clone()),
                name: Some("Shop Web".into()),
                redirect_uris: vec![RP1_CB.into()],
                first_party: true,
                ..ClientSpec::default()
            })
            .await
    }

    /// The ID token's claims for a callback's code.
    async fn id_token_claims(&self, client: &TestClient, callback: &str) -> Value {
        let code = query_param(callback, "code").unwrap_or_else(|| panic!("a code in {callback}"));
        let tokens = self.app.exchange(client, &code, false).await;
        decode_segment(tokens["id_token"].as_str().unwrap(), 1)
    }
}

impl Browser {
    /// Posts a form of the page at `page` to `action`, with its csrf and request fields and `fields`.
    async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let (csrf, request) = self.form_fields(page).await;
        let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf)];
        if let Some(request) = request {
            form.push(("request".into(), request));
        }
        form.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.client.post(self.url(action)).form(&form).send().await.unwrap()
    }
}

#[tokio::test]
async fn a_new_person_signs_up_by_email_code_through_the_pages() {
    let shop = PolicyApp::start(json!({
        "access_mode": "registration",
        "login_methods": ["password", "email_code"],
        "verification_channels": ["email"],
    }))
    .await;
    let client = shop.client().await;
    let browser = shop.app.browser();
    let response = browser.authorize(&client, &[("nonce", "n-1")]).await;
    let login = location(&response);
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(page.contains("action=\"/login\""), "the password form");
    assert!(page.contains("action=\"/login/code/start\""), "the code form");
    assert!(page.contains("E-mail address"));

    let response = browser
        .submit(&login, "/login/code/start", &[("identifier", "nina@example.org")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let code_page = location(&response);
    assert!(code_page.starts_with("/login/code?request="), "{code_page}");
    let html = browser.get(&code_page).await.text().await.unwrap();
    assert!(html.contains("n•••a@example.org"), "{html}");
    // The sign-in page leads back to the step while it is open.
    assert!(location(&browser.get(&login).await).starts_with("/login/code"));

    let response = browser.submit(&code_page, "/login/code", &[("code", "000000")]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let code = shop.code_to("nina@example.org").await;
    let response = browser.submit(&code_page, "/login/code", &[("code", &code)]).await;
    let callback = location(&response);
    assert!(callback.starts_with(RP1_CB), "{callback}");
    let claims = shop.id_token_claims(&client, &callback).await;
    assert_eq!(claims["amr"], json!(["otp"]));
    assert_eq!(claims["email_verified"], Value::Null, "scope openid only");
}

#[tokio::test]
async fn a_signed_in_account_proves_its_address_before_entering_an_application_that_asks() {
    let shop = PolicyApp::start(json!({
        "access_mode": "registration",
        "login_methods": ["password"],
        "verification_channels": ["email"],
    }))
    .await;
    let client = shop.client().await;
    let vera = shop.app.signup("vera").await;
    let browser = shop.app.browser();
    // Signed in at the default application, which asks for nothing.
    browser.sign_in(&vera).await;

    let response = browser.authorize(&client, &[("nonce", "n-2")]).await;
    let verify = location(&response);
    assert!(verify.starts_with("/login/verify?request="), "{verify}");
    // prompt=none cannot show the step.
    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("interaction_required")
    );

    let html = browser.get(&verify).await.text().await.unwrap();
    assert!(html.contains("v•••a@example.org"), "{html}");
    let response = browser
        .submit(&verify, "/login/verify/send", &[("channel", "email")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let code = shop.code_to(&vera.email).await;
    let response = browser.submit(&verify, "/login/verify", &[("code", &code)]).await;
    let callback = location(&response);
    assert!(callback.starts_with(RP1_CB), "{callback}");
    let claims = shop.id_token_claims(&client, &callback).await;
    assert_eq!(claims["sub"], vera.id);

    // Proven: the next authorization goes straight through.
    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    assert!(query_param(&location(&response), "code").is_some());
}

#[tokio::test]
async fn invite_only_refuses_non_members_on_the_page_and_at_the_authorization_endpoint() {
    let shop = PolicyApp::start(json!({
        "access_mode": "invite_only",
        "login_methods": ["password", "sms_code"],
    }))
    .await;
    let client = shop.client().await;
    let member = shop.app.signup("max").await;
    let outsider = shop.app.signup("olga").await;
    shop.add_member(json!({"username": member.username})).await;
    shop.add_member(json!({"phone": PHONE})).await;

    // The page: a non-member's right password is refused with a clear message.
    let browser = shop.app.browser();
    let response = browser.authorize(&client, &[]).await;
    let login = location(&response);
    let response = browser.submit_login(&login, &outsider, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("no access to this application"), "{html}");
    assert!(html.contains("Phone number"), "the code form is offered for SMS");

    // A member signs in by SMS code.
    let response = browser
        .submit(&login, "/login/code/start", &[("identifier", PHONE)])
        .await;
    let code_page = location(&response);
    let code = shop.code_to(PHONE).await;
    let response = browser.submit(&code_page, "/login/code", &[("code", &code)]).await;
    let callback = location(&response);
    let claims = shop.id_token_claims(&client, &callback).await;
    assert_eq!(claims["amr"], json!(["sms"]));

    // A session of someone else, made elsewhere, is refused at the authorization endpoint.
    let elsewhere = shop.app.browser();
    elsewhere.sign_in(&outsider).await;
    let response = elsewhere.authorize(&client, &[]).await;
    let back = location(&response);
    assert!(back.starts_with(RP1_CB), "{back}");
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));

    // The member by password.
    let member_browser = shop.app.browser();
    let callback = member_browser.authorize_through(&client, &[], &member).await;
    assert!(query_param(&callback, "code").is_some());
}

#[tokio::test]
async fn an_open_application_takes_a_browser_in_as_a_guest_unless_the_client_asks_for_an_account() {
    let shop = PolicyApp::start(json!({"access_mode": "open"})).await;
    let client = shop.client().await;
    let browser = shop.app.browser();
    let response = browser.authorize(&client, &[("nonce", "n-3")]).await;
    let callback = location(&response);
    assert!(callback.starts_with(RP1_CB), "no page at all: {callback}");
    let claims = shop.id_token_claims(&client, &callback).await;
    assert_eq!(claims["acr"], "0");
    assert!(claims.get("amr").is_none(), "{claims}");
    let sub = claims["sub"].clone();
    // The same browser stays the same guest.
    let response = browser.authorize(&client, &[("prompt", "none")]).await;
    let claims = shop.id_token_claims(&client, &location(&response)).await;
    assert_eq!(claims["sub"], sub);

    // prompt=login asks for an account: the sign-in page (password, for people who have one).
    let fresh = shop.app.browser();
    let response = fresh.authorize(&client, &[("prompt", "login")]).await;
    assert!(location(&response).starts_with("/login?request="));
    let paula = shop.app.signup("paula").await;
    let callback = fresh.authorize_through(&client, &[("prompt", "login")], &paula).await;
    let claims = shop.id_token_claims(&client, &callback).await;
    assert_eq!(claims["sub"], paula.id);
    assert_eq!(claims["acr"], "1");

    // The access link of an open application signs a guest in too.
    let visitor = shop.app.browser();
    let response = visitor.get(&format!("/a/{}", shop.slug)).await;
    assert_eq!(location(&response), "/account");
}

#[tokio::test]
async fn the_access_link_signs_in_per_the_mode_or_hands_over_to_the_home_client() {
    let shop = PolicyApp::start(json!({
        "access_mode": "registration",
        "login_methods": ["password", "email_code"],
        "verification_channels": ["email"],
    }))
    .await;
    let browser = shop.app.browser();
    let response = browser.get(&format!("/a/{}", shop.slug)).await;
    let login = location(&response);
    assert_eq!(login, format!("/login?app={}", shop.slug));
    let html = browser.get(&login).await.text().await.unwrap();
    assert_eq!(hidden(&html, "app").as_deref(), Some(shop.slug.as_str()));
    assert!(
        html.contains("/login/code/start"),
        "the application's methods, not the default's"
    );
    // Signing in there follows this application's policy: the address is proven first.
    let rosa = shop.app.signup("rosa").await;
    let response = browser
        .submit(
            &login,
            "/login",
            &[("login", "rosa"), ("password", PASSWORD), ("app", &shop.slug)],
        )
        .await;
    let verify = location(&response);
    assert_eq!(verify, "/login/verify");
    browser
        .submit(&verify, "/login/verify/send", &[("channel", "email")])
        .await;
    let code = shop.code_to(&rosa.email).await;
    let response = browser.submit(&verify, "/login/verify", &[("code", &code)]).await;
    assert_eq!(location(&response), "/account");
    // Signed in and let in: the link goes to the account page.
    assert_eq!(location(&browser.get(&format!("/a/{}", shop.slug)).await), "/account");

    // A home client that can start a sign-in takes over (third-party-initiated login).
    let home = shop
        .app
        .register(ClientSpec {
            application: Some(shop.id.clone()),
            name: Some("Shop Home".into()),
            redirect_uris: vec!["https://shop.test/cb".into()],
            initiate_login_uri: Some("https://shop.test/login?from=tessera".into()),
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let response = shop
        .app
        .client
        .patch(shop.app.url(&format!("/api/v1/admin/apps/{}", shop.id)))
        .bearer_auth(&shop.admin.access)
        .json(&json!({"home_client_id": home.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = shop.app.browser().get(&format!("/a/{}", shop.slug)).await;
    let handed = location(&response);
    assert!(
        handed.starts_with("https://shop.test/login?from=tessera&iss="),
        "{handed}"
    );
    assert_eq!(query_param(&handed, "iss").as_deref(), Some(shop.app.address.as_str()));
    assert_eq!(
        query_param(&handed, "target_link_uri").as_deref(),
        Some("https://shop.test/cb"),
        "only the client's own redirect URI"
    );
    // Extra parameters on the link change nothing.
    let response = shop
        .app
        .browser()
        .get(&format!(
            "/a/{}?target_link_uri=https://evil.test/&iss=https://evil.test",
            shop.slug
        ))
        .await;
    assert_eq!(location(&response), handed);
    // A client without initiate_login_uri cannot be the home client.
    let plain = shop.client().await;
    let response = shop
        .app
        .client
        .patch(shop.app.url(&format!("/api/v1/admin/apps/{}", shop.id)))
        .bearer_auth(&shop.admin.access)
        .json(&json!({"home_client_id": plain.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The administrators' page shows the link and its QR code.
    let admin = shop.app.browser();
    let response = admin
        .submit(
            "/login",
            "/login",
            &[("login", "admin"), ("password", crate::support::ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/account");
    let page = admin.get(&format!("/admin/apps/{}/access-link", shop.id)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("/a/{}", shop.slug)) && html.contains("data:image/png;base64,"));
    let page = browser.get(&format!("/admin/apps/{}/access-link", shop.id)).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN, "not for everyone");
}
