//! OpenID Connect Back-Channel Logout 1.0: a client that registered a `backchannel_logout_uri` gets a logout
//! token — signed with the JWKS' keys, `typ: logout+jwt`, the ID token's `sid`, no `nonce` — when its user's
//! session ends (RP-initiated logout, an administrator ending every sign-in), retried on the back-off schedule
//! as the hand-moved clock passes and given up after `backchannel_logout.max_attempts`. The receiver listens on
//! 127.0.0.1; the sender is driven by hand (`deliver_due`), never by waiting.

use std::time::Duration;

use actix_web::HttpRequest;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::oidc::backchannel::Run;
use tessera::oidc::clients::ClientSpec;
use tessera::store::backchannel_logouts;

use crate::jwks::{decode_segment, verify_with_jwks};
use crate::oidc_support::*;
use crate::standins::{PostReceiver, header};
use crate::support::{TestApp, TestUser, assert_error};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    content_type: String,
    logout_token: Option<String>,
}

type Receiver = PostReceiver<Received>;

fn record(req: &HttpRequest, body: &[u8]) -> Received {
    Received {
        content_type: header(req, "content-type"),
        logout_token: url::form_urlencoded::parse(body)
            .find(|(name, _)| name == "logout_token")
            .map(|(_, value)| value.into_owned()),
    }
}

/// A server whose sender runs only when the test says so, with `max_attempts` attempts.
async fn spawn(max_attempts: u32) -> TestApp {
    TestApp::spawn_with(|config| {
        config.backchannel_logout.enabled = false;
        config.backchannel_logout.max_attempts = max_attempts;
    })
    .await
}

/// A first-party client (no consent page) taking logout tokens at `uri`, when given.
async fn client_with(app: &TestApp, uri: Option<&str>) -> TestClient {
    app.register(ClientSpec {
        name: Some("Logout RP".into()),
        redirect_uris: vec![RP1_CB.into()],
        post_logout_redirect_uris: vec![RP1_LOGGED_OUT.into()],
        first_party: true,
        backchannel_logout_uri: uri.map(str::to_owned),
        ..ClientSpec::default()
    })
    .await
}

/// Signs `user` in at `client` in `browser` by the code flow (with a nonce) and returns the ID token.
async fn sign_in(app: &TestApp, browser: &Browser, client: &TestClient, user: &TestUser) -> String {
    let to = browser.authorize_through(client, &[("nonce", "n-1")], user).await;
    let tokens = app.exchange(client, &query_param(&to, "code").unwrap(), false).await;
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// RP-initiated logout with `hint` in `browser`.
async fn log_out(browser: &Browser, hint: &str) {
    let response = browser
        .client
        .get(browser.url("/oauth2/logout"))
        .query(&[("id_token_hint", hint), ("post_logout_redirect_uri", RP1_LOGGED_OUT)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn deliver(app: &TestApp) -> Run {
    app.state.backchannel.deliver_due(app.clock.now()).await.unwrap()
}

async fn outbox(app: &TestApp, client: &TestClient) -> Vec<backchannel_logouts::BackchannelLogoutRow> {
    backchannel_logouts::list_for_client(&app.state.db, client.id.clone())
        .await
        .unwrap()
}

async fn jwks(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/oauth2/jwks")).send().await.unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn rp_initiated_logout_sends_a_signed_logout_token_with_the_sid() {
    let app = spawn(5).await;
    let receiver = Receiver::start("/backchannel-logout", record);
    let user = app.signup("alice").await;
    let client = client_with(&app, Some(&receiver.url)).await;
    let silent = client_with(&app, None).await;
    let browser = app.browser();
    let id_token = sign_in(&app, &browser, &client, &user).await;
    sign_in(&app, &browser, &silent, &user).await;
    let sid = decode_segment(&id_token, 1)["sid"].as_str().unwrap().to_owned();

    log_out(&browser, &id_token).await;
    let run = deliver(&app).await;
    assert_eq!(
        run,
        Run {
            delivered: 1,
            ..Run::default()
        }
    );
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].content_type, "application/x-www-form-urlencoded");
    let token = seen[0].logout_token.clone().expect("a logout_token parameter");
    assert!(
        verify_with_jwks(&jwks(&app).await, &token),
        "signed with a published key"
    );
    let header = decode_segment(&token, 0);
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["alg"], "RS256");
    let claims = decode_segment(&token, 1);
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["events"], json!({ EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "§2.4: a logout token never has a nonce");
    assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() >= 16));
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(iat, app.clock.now());
    assert!(exp > iat && exp - iat <= 120, "short-lived: {iat}..{exp}");

    // The client without a URI was signed in in the same session and gets nothing.
    assert!(outbox(&app, &silent).await.is_empty());
    // Delivered once: the next run sends nothing.
    assert_eq!(deliver(&app).await, Run::default());
    assert_eq!(receiver.seen().len(), 1);
    let rows = outbox(&app, &client).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].delivered_at.is_some() && rows[0].failed_at.is_none());
}

#[tokio::test]
async fn a_failed_delivery_is_retried_after_the_back_off_with_a_fresh_token() {
    let app = spawn(5).await;
    let receiver = Receiver::start("/backchannel-logout", record);
    receiver.answer(&[500]);
    let user = app.signup("alice").await;
    let client = client_with(&app, Some(&receiver.url)).await;
    let browser = app.browser();
    let id_token = sign_in(&app, &browser, &client, &user).await;
    log_out(&browser, &id_token).await;

    let run = deliver(&app).await;
    assert_eq!(
        run,
        Run {
            retrying: 1,
            ..Run::default()
        }
    );
    // Not due before the first back-off (30 s) has passed.
    app.advance_clock(Duration::from_secs(29));
    assert_eq!(deliver(&app).await, Run::default());
    app.advance_clock(Duration::from_secs(2));
    assert_eq!(deliver(&app).await.delivered, 1);

    let seen = receiver.seen();
    assert_eq!(seen.len(), 2);
    let first = decode_segment(seen[0].logout_token.as_deref().unwrap(), 1);
    let second = decode_segment(seen[1].logout_token.as_deref().unwrap(), 1);
    assert_ne!(first["jti"], second["jti"], "each attempt signs a fresh token");
    assert_eq!(second["iat"].as_i64().unwrap(), first["iat"].as_i64().unwrap() + 31);
    assert_eq!(first["sid"], second["sid"]);
    let rows = outbox(&app, &client).await;
    assert_eq!((rows[0].attempts, rows[0].last_status), (2, Some(200)));
}

#[tokio::test]
async fn delivery_is_given_up_after_the_last_attempt() {
    let app = spawn(2).await;
    let receiver = Receiver::start("/backchannel-logout", record);
    receiver.answer(&[500, 503, 500]);
    let user = app.signup("alice").await;
    let client = client_with(&app, Some(&receiver.url)).await;
    let browser = app.browser();
    let id_token = sign_in(&app, &browser, &client, &user).await;
    log_out(&browser, &id_token).await;

    assert_eq!(deliver(&app).await.retrying, 1);
    app.advance_clock(Duration::from_secs(30));
    assert_eq!(
        deliver(&app).await,
        Run {
            failed: 1,
            ..Run::default()
        }
    );
    app.advance_clock(Duration::from_secs(3600));
    assert_eq!(deliver(&app).await, Run::default());
    assert_eq!(receiver.seen().len(), 2);
    let rows = outbox(&app, &client).await;
    assert!(rows[0].failed_at.is_some() && rows[0].delivered_at.is_none());
    assert_eq!((rows[0].attempts, rows[0].last_status), (2, Some(503)));
}

#[tokio::test]
async fn an_administrator_ending_every_sign_in_sends_logout_tokens() {
    let app = spawn(5).await;
    let receiver = Receiver::start("/backchannel-logout", record);
    let user = app.signup("alice").await;
    let client = client_with(&app, Some(&receiver.url)).await;
    let silent = client_with(&app, None).await;
    let browser = app.browser();
    let id_token = sign_in(&app, &browser, &client, &user).await;
    sign_in(&app, &browser, &silent, &user).await;
    let sid = decode_segment(&id_token, 1)["sid"].clone();

    let admin = app.admin_login().await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/admin/users/{}/sessions", user.id)))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(deliver(&app).await.delivered, 1);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    let claims = decode_segment(seen[0].logout_token.as_deref().unwrap(), 1);
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["aud"], client.id.as_str());
    assert!(outbox(&app, &silent).await.is_empty());
}

#[tokio::test]
async fn the_admin_api_takes_an_https_uri_without_a_fragment_and_discovery_says_so() {
    let app = spawn(5).await;
    let token = app.admin_login().await.access;
    let url = app.url("/api/v1/admin/clients");
    for refused in [
        "https://rp.example.test/logout#frag",
        "http://rp.example.test/logout",
        "ftp://rp.example.test/logout",
        "/logout",
    ] {
        let response = app
            .client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({
                "name": "RP",
                "redirect_uris": ["https://rp.example.test/cb"],
                "backchannel_logout_uri": refused
            }))
            .send()
            .await
            .unwrap();
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(
            body["fields"]["backchannel_logout_uri"].is_string(),
            "{refused}: {body}"
        );
    }
    let response = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({
            "name": "RP",
            "redirect_uris": ["https://rp.example.test/cb"],
            "backchannel_logout_uri": "https://rp.example.test/logout?from=op",
            "backchannel_logout_session_required": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        created["backchannel_logout_uri"],
        "https://rp.example.test/logout?from=op"
    );
    assert_eq!(created["backchannel_logout_session_required"], true);

    let doc: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn ending_a_browser_from_the_account_sessions_page_sends_its_sid() {
    let app = spawn(5).await;
    let receiver = Receiver::start("/backchannel-logout", record);
    let user = app.signup("alice").await;
    let client = client_with(&app, Some(&receiver.url)).await;
    let elsewhere = app.browser();
    let id_token = sign_in(&app, &elsewhere, &client, &user).await;
    let sid = decode_segment(&id_token, 1)["sid"].as_str().unwrap().to_owned();
    let here = app.browser();
    here.sign_in(&user).await;

    let response = here
        .submit_form(
            "/account/sessions/end",
            "/account/sessions",
            None,
            &[("kind", "browser"), ("id", sid.as_str())],
        )
        .await;
    assert_eq!(location(&response), "/account/sessions?done=ended");
    assert_eq!(deliver(&app).await.delivered, 1);
    let seen = receiver.seen();
    let claims = decode_segment(seen[0].logout_token.as_deref().unwrap(), 1);
    assert_eq!(
        (claims["sub"].as_str(), claims["sid"].as_str()),
        (Some(user.id.as_str()), Some(sid.as_str()))
    );
}

#[tokio::test]
async fn disabling_the_account_and_changing_the_password_send_logout_tokens() {
    let app = spawn(5).await;
    let receiver = Receiver::start("/backchannel-logout", record);
    let client = client_with(&app, Some(&receiver.url)).await;

    // A password change through the REST API ends every other sign-in: the browser's client is told.
    let user = app.signup("alice").await;
    let id_token = sign_in(&app, &app.browser(), &client, &user).await;
    let rest = app.login(&user.username, &user.password).await;
    let response = app
        .client
        .put(app.url("/api/v1/user/password"))
        .bearer_auth(&rest.access)
        .json(&json!({"current_password": user.password, "new_password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(deliver(&app).await.delivered, 1);
    let claims = decode_segment(receiver.seen()[0].logout_token.as_deref().unwrap(), 1);
    assert_eq!(claims["sid"], decode_segment(&id_token, 1)["sid"]);

    // An administrator disabling an account: every client holding its sign-ins is told.
    let bob = app.signup("bob").await;
    let id_token = sign_in(&app, &app.browser(), &client, &bob).await;
    let admin = app.admin_login().await;
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{}", bob.id)))
        .bearer_auth(&admin.access)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(deliver(&app).await.delivered, 1);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 2);
    let claims = decode_segment(seen[1].logout_token.as_deref().unwrap(), 1);
    assert_eq!(claims["sub"], bob.id.as_str());
    assert_eq!(claims["sid"], decode_segment(&id_token, 1)["sid"]);
    // Disabling it again owes nothing more.
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{}", bob.id)))
        .bearer_auth(&admin.access)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(deliver(&app).await.delivered, 0);
}
