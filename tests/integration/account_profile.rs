//! The account's profile, password and recovery codes, in the browser and over the REST API: a display name;
//! a new e-mail address that replaces the old one only when the code sent to it comes back (the old address
//! told); a phone number stored once its code comes back and removed with the password; a password changed
//! with the current one, ending every other sign-in but this browser; new recovery codes for the old ones.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::account_console::{element_text, signed_in};
use crate::mfa::{app_with_channels, totp_code};
use crate::oidc_support::location;
use crate::support::{PASSWORD, TestApp, assert_error};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn me(app: &TestApp, access: &str) -> Value {
    let response = app.get_authorized("/api/v1/user", access).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

impl TestApp {
    async fn patch_bearer(&self, path: &str, bearer: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_pages_need_a_signed_in_browser() {
    let app = TestApp::spawn().await;
    let stranger = app.browser();
    for path in ["/account/profile", "/account/password"] {
        let response = stranger.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/login", "{path}");
    }
    let (_, browser) = signed_in(&app, "alice").await;
    let overview = browser.page("/account").await;
    for link in ["/account/profile", "/account/password"] {
        assert!(overview.contains(&format!("href=\"{link}\"")), "{link}");
    }
}

#[tokio::test]
async fn a_display_name_is_set_and_cleared_in_the_browser_and_over_rest() {
    let app = TestApp::spawn().await;
    let (user, browser) = signed_in(&app, "alice").await;
    let response = browser
        .submit_form(
            "/account/profile/name",
            "/account/profile",
            None,
            &[("name", "  Alice Liddell ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.text().await.unwrap().contains("value=\"Alice Liddell\""));
    let rest = app.login(&user.username, PASSWORD).await;
    assert_eq!(me(&app, &rest.access).await["name"], "Alice Liddell");

    let long = "x".repeat(129);
    let response = browser
        .submit_form("/account/profile/name", "/account/profile", None, &[("name", &long)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("at most 128 characters"));
    assert_eq!(me(&app, &rest.access).await["name"], "Alice Liddell", "nothing stored");

    let cleared = app
        .patch_bearer("/api/v1/user", &rest.access, &json!({"name": null}))
        .await;
    assert_eq!(cleared.status(), StatusCode::OK);
    assert_eq!(cleared.json::<Value>().await.unwrap()["name"], Value::Null);
    let renamed = app
        .patch_bearer("/api/v1/user", &rest.access, &json!({"name": "Al"}))
        .await;
    assert_eq!(renamed.json::<Value>().await.unwrap()["name"], "Al");

    let missing = app.patch_bearer("/api/v1/user", &rest.access, &json!({})).await;
    assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let control = app
        .patch_bearer("/api/v1/user", &rest.access, &json!({"name": "a\u{7}b"}))
        .await;
    let body = assert_error(control, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body.to_string().contains("control characters"), "{body}");
    let unknown = app
        .patch_bearer("/api/v1/user", &rest.access, &json!({"name": "x", "admin": true}))
        .await;
    assert!(unknown.status().is_client_error());
    assert_eq!(me(&app, &rest.access).await["name"], "Al");

    let events: Value = app
        .get_authorized(
            &format!(
                "/api/v1/admin/audit-events?kind=account.profile_changed&subject={}",
                user.id
            ),
            &app.admin_login().await.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events["events"].as_array().unwrap().len(), 3, "{events}");
}

#[tokio::test]
async fn a_new_email_address_replaces_the_old_only_with_its_code() {
    let (app, channels) = app_with_channels(|_| {}).await;
    let (user, browser) = signed_in(&app, "alice").await;
    let new_address = "alice.new@example.com";
    let response = browser
        .submit_form(
            "/account/profile/email",
            "/account/profile",
            None,
            &[("email", new_address)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"pending-code\""), "{page}");
    assert!(page.contains("action=\"/account/profile/email/change/confirm\""));
    let rest = app.login(&user.username, PASSWORD).await;
    assert_eq!(
        me(&app, &rest.access).await["email"],
        user.email,
        "the old address stays meanwhile"
    );

    let code = channels.smtp.last_code_to(new_address).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = browser
        .submit_form(
            "/account/profile/email/change/confirm",
            "/account/profile",
            None,
            &[("code", wrong)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = browser
        .submit_form(
            "/account/profile/email/change/confirm",
            "/account/profile",
            None,
            &[("code", &code)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains(new_address) && page.contains("verified"), "{page}");
    let now = me(&app, &rest.access).await;
    assert_eq!(
        (now["email"].as_str(), now["email_verified"].as_bool()),
        (Some(new_address), Some(true))
    );
    let notice = channels.smtp.last_to(&user.email).await;
    assert!(
        notice.data.contains("security notice"),
        "the old address is told: {}",
        notice.data
    );

    // The code is spent; the new address signs in.
    let again = browser
        .submit_form(
            "/account/profile/email/change/confirm",
            "/account/profile",
            None,
            &[("code", &code)],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_raw(new_address, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_email_change_over_rest_checks_the_address_and_refuses_a_taken_one() {
    let (app, channels) = app_with_channels(|_| {}).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let rest = app.login("alice", PASSWORD).await;

    let bad = app
        .post_bearer(
            "/api/v1/user/email/change",
            &rest.access,
            &json!({"email": "not an address"}),
        )
        .await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let same = app
        .post_bearer(
            "/api/v1/user/email/change",
            &rest.access,
            &json!({"email": alice.email}),
        )
        .await;
    assert_error(same, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let missing = app
        .post_bearer("/api/v1/user/email/change", &rest.access, &json!({}))
        .await;
    assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    // Bob's address: the code proves the person holds it, and then it is still Bob's.
    let sent = app
        .post_bearer("/api/v1/user/email/change", &rest.access, &json!({"email": bob.email}))
        .await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let code = channels.smtp.last_code_to(&bob.email).await;
    let taken = app
        .post_bearer(
            "/api/v1/user/email/change/confirm",
            &rest.access,
            &json!({"code": code}),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(me(&app, &rest.access).await["email"], alice.email);

    // An old sign-in must sign in again first.
    app.advance_clock(Duration::from_secs(3600));
    let fresh_access = app.refresh_raw(&rest.refresh).await.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let stale = app
        .post_bearer(
            "/api/v1/user/email/change",
            &fresh_access,
            &json!({"email": "a2@example.com"}),
        )
        .await;
    assert_error(stale, StatusCode::UNAUTHORIZED, "reauthentication_required").await;
}

#[tokio::test]
async fn a_phone_number_is_stored_with_its_code_and_removed_with_the_password() {
    let (app, channels) = app_with_channels(|_| {}).await;
    let (user, browser) = signed_in(&app, "alice").await;
    // Before the number: with one, a sign-in asks for a code texted to it.
    let rest = app.login(&user.username, PASSWORD).await;
    let phone = "+14155550123";
    let response = browser
        .submit_form("/account/profile/phone", "/account/profile", None, &[("phone", "12")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("The phone number must be"));

    let response = browser
        .submit_form("/account/profile/phone", "/account/profile", None, &[("phone", phone)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("action=\"/account/profile/phone/confirm\"")
    );
    let code = channels.twilio.last_code_to(phone);
    let response = browser
        .submit_form(
            "/account/profile/phone/confirm",
            "/account/profile",
            None,
            &[("code", &code)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        element_text(&response.text().await.unwrap(), "phone").as_deref(),
        Some(phone)
    );

    let wrong = browser
        .submit_form(
            "/account/profile/phone/remove",
            "/account/profile",
            None,
            &[("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&app, &rest.access).await["phone"], phone);
    let removed = browser
        .submit_form(
            "/account/profile/phone/remove",
            "/account/profile",
            None,
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(removed.text().await.unwrap().contains("Your phone number is removed."));
    assert_eq!(me(&app, &rest.access).await["phone"], Value::Null);
}

#[tokio::test]
async fn a_password_change_in_the_browser_ends_every_other_sign_in() {
    let app = TestApp::spawn().await;
    let (user, browser) = signed_in(&app, "alice").await;
    let elsewhere = app.login(&user.username, PASSWORD).await;
    let other_browser = app.browser();
    other_browser.sign_in(&user).await;

    let form = |current: &'static str, new: &'static str, repeat: &'static str| {
        vec![
            ("current_password", current),
            ("new_password", new),
            ("repeat_password", repeat),
        ]
    };
    let cases = [
        (
            form(PASSWORD, NEW_PASSWORD, "something else"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "differ",
        ),
        (
            form(PASSWORD, "short", "short"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "The new password must",
        ),
        (
            form("wrong password", NEW_PASSWORD, NEW_PASSWORD),
            StatusCode::FORBIDDEN,
            "incorrect",
        ),
    ];
    for (fields, status, says) in &cases {
        let response = browser
            .submit_form("/account/password", "/account/password", None, fields)
            .await;
        assert_eq!(response.status(), *status, "{says}");
        assert!(response.text().await.unwrap().contains(says), "{says}");
    }
    assert_eq!(
        app.refresh_raw(&elsewhere.refresh).await.status(),
        StatusCode::OK,
        "nothing changed yet"
    );
    let elsewhere = app.login(&user.username, PASSWORD).await;

    let response = browser
        .submit_form(
            "/account/password",
            "/account/password",
            None,
            &form(PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Your password is changed."));
    assert_eq!(
        browser.get("/account").await.status(),
        StatusCode::OK,
        "this browser stays"
    );
    assert_eq!(
        location(&other_browser.get("/account").await),
        "/login",
        "the other browser is signed out"
    );
    assert_ne!(app.refresh_raw(&elsewhere.refresh).await.status(), StatusCode::OK);
    assert_ne!(app.login_raw(&user.username, PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        app.login_raw(&user.username, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_with_the_password_and_a_code() {
    let app = TestApp::spawn().await;
    let (user, browser) = signed_in(&app, "alice").await;
    let started = browser
        .submit_form("/account/security/totp", "/account/security", None, &[])
        .await;
    let secret = element_text(&started.text().await.unwrap(), "totp-secret").expect("a secret");
    let code = totp_code(&secret, app.clock.now());
    let confirmed = browser
        .submit_form(
            "/account/security/totp/confirm",
            "/account/security",
            None,
            &[("code", &code)],
        )
        .await;
    let page = confirmed.text().await.unwrap();
    let old_codes = recovery_codes(&page);
    assert_eq!(old_codes.len(), 10);
    assert!(page.contains("action=\"/account/security/recovery-codes\""));
    app.advance_clock(Duration::from_secs(30));

    let code = totp_code(&secret, app.clock.now());
    let wrong = browser
        .submit_form(
            "/account/security/recovery-codes",
            "/account/security",
            None,
            &[("password", "not it"), ("code", &code)],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let made = browser
        .submit_form(
            "/account/security/recovery-codes",
            "/account/security",
            None,
            &[("password", PASSWORD), ("code", &code)],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let new_codes = recovery_codes(&made.text().await.unwrap());
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|code| !old_codes.contains(code)));

    // An old code no longer completes a sign-in; a new one does.
    let mfa_token = app.mfa_token(&user.username).await;
    let old = app.complete_mfa(&mfa_token, "recovery_code", &old_codes[0]).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.complete_mfa(&mfa_token, "recovery_code", &new_codes[0]).await;
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn forms_without_the_browsers_csrf_token_change_nothing() {
    let (app, channels) = app_with_channels(|_| {}).await;
    let (user, browser) = signed_in(&app, "alice").await;
    let forged = Some("forged-token-forged-token-forged-token-0000");
    let forms: [(&str, Vec<(&str, &str)>); 8] = [
        ("/account/profile/name", vec![("name", "Mallory")]),
        ("/account/profile/email", vec![("email", "mallory@example.com")]),
        ("/account/profile/email/verify", vec![]),
        ("/account/profile/email/change/confirm", vec![("code", "123456")]),
        ("/account/profile/phone", vec![("phone", "+14155550199")]),
        ("/account/profile/phone/remove", vec![("password", PASSWORD)]),
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("repeat_password", NEW_PASSWORD),
            ],
        ),
        (
            "/account/security/recovery-codes",
            vec![("password", PASSWORD), ("code", "123456")],
        ),
    ];
    for (path, fields) in &forms {
        let response = browser.submit_form(path, "/account", forged, fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert!(channels.smtp.received().is_empty() && channels.twilio.sent().is_empty());
    let rest = app.login(&user.username, PASSWORD).await;
    let now = me(&app, &rest.access).await;
    assert_eq!(now["name"], Value::Null);
    assert_eq!(now["email"], user.email);
}

/// The recovery codes a page shows.
fn recovery_codes(html: &str) -> Vec<String> {
    let Some(start) = html.find("id=\"recovery-codes\"") else {
        return Vec::new();
    };
    let end = html[start..].find("</ol>").unwrap() + start;
    html[start..end]
        .split("<li>")
        .skip(1)
        .map(|item| item.split("</li>").next().unwrap().trim().to_owned())
        .collect()
}
