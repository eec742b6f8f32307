//! The administrators' console over HTTP: who may open it, finding an account, the changes its forms make
//! (each refused without the CSRF token, each audited), and the audit log page.

use std::time::Duration;

use reqwest::StatusCode;

use crate::oidc_support::{Browser, hidden, location};
use crate::support::{ADMIN_PASSWORD, PASSWORD, TestApp, TestUser};

impl TestApp {
    /// A browser signed in as the bootstrap administrator.
    pub async fn admin_browser(&self) -> Browser {
        let browser = self.browser();
        let admin = TestUser {
            id: String::new(),
            username: "admin".into(),
            email: String::new(),
            password: ADMIN_PASSWORD.into(),
        };
        let response = browser.submit_login("/login", &admin, ADMIN_PASSWORD).await;
        assert_eq!(location(&response), "/account");
        browser
    }
}

impl Browser {
    /// Sends the account page's form with `action`, with the page's CSRF token unless `csrf` says otherwise.
    async fn act(&self, user_id: &str, action: &str, csrf: Option<&str>) -> reqwest::Response {
        let path = format!("/admin/users/{user_id}");
        // The browser's token, from the account page when the console page is refused.
        let token = match csrf {
            Some(token) => token.to_owned(),
            None => {
                let page = self.get("/account").await.text().await.unwrap();
                hidden(&page, "csrf").expect("a CSRF field")
            }
        };
        self.client
            .post(self.url(&path))
            .form(&[("csrf", token.as_str()), ("action", action)])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_console_is_only_for_administrators_signed_in_recently() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;

    let stranger = app.browser();
    let response = stranger.get("/admin/users").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");

    let browser = app.browser();
    browser.sign_in(&alice).await;
    for path in ["/admin/users", "/admin/audit", &format!("/admin/users/{}", alice.id)] {
        assert_eq!(browser.get(path).await.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let response = browser.act(&alice.id, "grant_admin", None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let admin = app.admin_browser().await;
    let response = admin.get("/admin").await;
    assert_eq!(location(&response), "/admin/users");
    let response = admin.get("/admin/users").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(&format!("/admin/users/{}", alice.id))
    );

    // After mfa.reauth_max_age_secs the console asks for a new sign-in.
    app.advance_clock(Duration::from_secs(901));
    let response = admin.get("/admin/users").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("recent sign-in"));
}

#[tokio::test]
async fn an_administrator_with_an_authenticator_app_must_have_used_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser().await;
    assert_eq!(admin.get("/admin/users").await.status(), StatusCode::OK);
    let tokens = app.admin_login().await;
    app.enroll_totp(&tokens.access).await;
    let response = admin.get("/admin/users").await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a password-only session of an account with a factor"
    );
}

#[tokio::test]
async fn the_console_finds_an_account_and_changes_it_with_each_change_audited() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let admin = app.admin_browser().await;

    let page = admin.get("/admin/users?query=ALI").await.text().await.unwrap();
    assert!(page.contains(">alice</a>") && !page.contains(">bob</a>"), "{page}");
    assert!(page.contains("1 account match"));

    let page = admin
        .get(&format!("/admin/users/{}", alice.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("alice@example.org") && page.contains("from 127.0.0.1"),
        "{page}"
    );
    assert!(page.contains("REST sign-in to"), "signing up signed alice in: {page}");

    // A form without this browser's token changes nothing.
    let response = admin
        .act(&alice.id, "disable", Some("forged-token-forged-token-forged-token"))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.login_raw("alice", PASSWORD).await.status(), StatusCode::OK);

    let response = admin.act(&alice.id, "disable", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/admin/users/{}?done=disable", alice.id));
    let page = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(
        page.contains("The account is disabled") && page.contains("id=\"status\">disabled"),
        "{page}"
    );
    assert_eq!(
        app.login_raw("alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    for action in ["enable", "grant_admin", "reset_factors", "end_sign_ins"] {
        let response = admin.act(&alice.id, action, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let page = admin
        .get(&format!("/admin/users/{}", alice.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("REST sign-in to"), "every sign-in ended: {page}");
    let response = admin.act(&alice.id, "delete_everything", None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = admin.act("no-such-account", "disable", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let page = admin
        .get(&format!("/admin/audit?subject={}", alice.id))
        .await
        .text()
        .await
        .unwrap();
    for kind in [
        "account.disabled",
        "account.enabled",
        "account.admin_granted",
        "account.factors_reset",
        "account.sessions_revoked",
    ] {
        assert!(page.contains(kind), "{kind} is not on the audit page");
    }
    let page = admin.get("/admin/audit?kind=sign_in").await.text().await.unwrap();
    assert!(page.contains("kind: is not an event name"), "{page}");
}

#[tokio::test]
async fn the_last_administrator_cannot_be_disabled_or_demoted_from_the_console() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser().await;
    let tokens = app.admin_login().await;
    let me: serde_json::Value = app
        .get_authorized("/api/v1/user", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();
    for action in ["disable", "revoke_admin"] {
        let response = admin.act(id, action, None).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{action}");
        assert!(response.text().await.unwrap().contains("last active administrator"));
    }
    assert_eq!(admin.get("/admin/users").await.status(), StatusCode::OK);
}

impl Browser {
    /// Posts `form` (with the browser's CSRF token) to `path`.
    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let page = self.get("/account").await.text().await.unwrap();
        let csrf = hidden(&page, "csrf").expect("a CSRF field");
        let mut form = form.to_vec();
        form.push(("csrf", &csrf));
        self.client.post(self.url(path)).form(&form).send().await.unwrap()
    }
}

/// The settings form as the page fills it for a new application, with `changes`.
fn settings<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "Billing"),
        ("rate_limit_per_minute", "1000"),
        ("access_token_ttl_secs", "3600"),
        ("refresh_token_ttl_secs", "2592000"),
        ("access_mode", "registration"),
        ("method_password", "on"),
        ("external_providers", ""),
        ("code_ttl_secs", "120"),
        ("ip_ranges", ""),
        ("idle_timeout_secs", ""),
        ("pin_format", "any"),
    ];
    for (name, value) in changes {
        form.retain(|(field, _)| field != name);
        form.push((name, value));
    }
    form
}

#[tokio::test]
async fn the_console_creates_an_application_its_settings_and_a_key_shown_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser().await;
    let page = admin.get("/admin/apps").await.text().await.unwrap();
    assert!(page.contains(">default</td>"), "{page}");

    let response = admin
        .post_form("/admin/apps", &[("name", "Billing"), ("slug", "billing")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = location(&response);
    let id = path
        .trim_start_matches("/admin/apps/")
        .trim_end_matches("?done=created")
        .to_owned();
    let response = admin
        .post_form("/admin/apps", &[("name", "Billing again"), ("slug", "billing")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("slug: another application has it")
    );

    let response = admin
        .post_form(
            &format!("/admin/apps/{id}/api-keys"),
            &[("name", "server"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let key = page
        .split("id=\"new-key\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("tsk_"), "{key}");
    let login = crate::applications::with_key(Some(&key))
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK, "the new key works");
    let page = admin.get(&format!("/admin/apps/{id}")).await.text().await.unwrap();
    assert!(!page.contains(&key), "a key is shown once");

    let path = format!("/admin/apps/{id}");
    let response = admin
        .post_form(&path, &settings(&[("rate_limit_per_minute", "lots")]))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("rate_limit_per_minute: must be a whole number")
    );
    let response = admin.post_form(&path, &settings(&[("access_mode", "everyone")])).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let changes = [
        ("access_mode", "invite_only"),
        ("rate_limit_per_minute", "60"),
        ("idle_timeout_secs", "600"),
    ];
    let response = admin.post_form(&path, &settings(&changes)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
    let tokens = app.admin_login().await;
    let stored: serde_json::Value = app
        .get_authorized(&format!("/api/v1/admin/apps/{id}"), &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["access_mode"], "invite_only");
    assert_eq!(stored["rate_limit_per_minute"], 60);
    assert_eq!(stored["idle_timeout_secs"], 600);

    let page = admin.get(&path).await.text().await.unwrap();
    let key_id = page
        .split(&format!("/admin/apps/{id}/api-keys/"))
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let response = admin
        .post_form(&format!("/admin/apps/{id}/api-keys/{key_id}/revoke"), &[])
        .await;
    assert_eq!(location(&response), format!("/admin/apps/{id}?done=key_revoked"));
    let refused = crate::applications::with_key(Some(&key))
        .get(app.url("/api/v1/user"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let response = admin.post_form(&format!("/admin/apps/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = admin
        .post_form(&format!("/admin/apps/{id}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(location(&response), "/admin/apps");
    assert_eq!(admin.get(&path).await.status(), StatusCode::NOT_FOUND);

    let page = admin
        .get(&format!("/admin/audit?subject={id}"))
        .await
        .text()
        .await
        .unwrap();
    for kind in ["application.created", "application.updated", "application.deleted"] {
        assert!(page.contains(kind), "{kind} is not on the audit page");
    }
    let page = admin
        .get("/admin/audit?kind=api_key.revoked")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&key_id));
}

#[tokio::test]
async fn the_console_registers_a_client_edits_it_and_rotates_its_secret_shown_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser().await;
    let apps: serde_json::Value = app
        .get_authorized("/api/v1/admin/apps", &app.admin_login().await.access)
        .await
        .json()
        .await
        .unwrap();
    let default_app = apps[0]["id"].as_str().unwrap().to_owned();

    let response = admin
        .post_form(
            "/admin/clients",
            &[
                ("application", &default_app),
                ("name", "Billing web"),
                ("redirect_uris", "not a uri"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("redirect_uris"));

    let form = [
        ("application", default_app.as_str()),
        ("name", "Billing web"),
        ("redirect_uris", "https://billing.example.com/callback"),
        ("grant_authorization_code", "on"),
        ("grant_refresh_token", "on"),
    ];
    let response = admin.post_form("/admin/clients", &form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let field = |page: &str, id: &str| {
        page.split(&format!("id=\"{id}\">"))
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    let (client_id, secret) = (field(&page, "client-id"), field(&page, "client-secret"));
    let token = |secret: String| {
        let (app, client_id) = (&app, client_id.clone());
        async move {
            app.client
                .post(app.url("/oauth2/token"))
                .basic_auth(&client_id, Some(&secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", "tsr_nothing")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // The secret authenticates the client (the refresh token itself is not one).
    assert_eq!(token(secret.clone()).await, StatusCode::BAD_REQUEST);
    let page = admin
        .get(&format!("/admin/clients/{client_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&secret), "a secret is shown once");

    let response = admin
        .post_form(&format!("/admin/clients/{client_id}/secret"), &[])
        .await;
    let rotated = field(&response.text().await.unwrap(), "client-secret");
    assert_ne!(rotated, secret);
    assert_eq!(
        token(secret).await,
        StatusCode::UNAUTHORIZED,
        "the old secret stops at once"
    );
    assert_eq!(token(rotated.clone()).await, StatusCode::BAD_REQUEST);

    // Saved without `active`: the client is disabled.
    let edit = [
        ("name", "Billing"),
        ("redirect_uris", "https://billing.example.com/callback"),
        ("grant_authorization_code", "on"),
        ("first_party", "on"),
    ];
    let response = admin.post_form(&format!("/admin/clients/{client_id}"), &edit).await;
    assert_eq!(location(&response), format!("/admin/clients/{client_id}?done=saved"));
    let page = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(
        page.contains("id=\"status\">disabled") && page.contains("<h1>Billing</h1>"),
        "{page}"
    );
    assert_eq!(
        token(rotated).await,
        StatusCode::UNAUTHORIZED,
        "a disabled client is refused"
    );

    let response = admin
        .post_form(&format!("/admin/clients/{client_id}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(location(&response), "/admin/clients");
    assert_eq!(
        admin.get(&format!("/admin/clients/{client_id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let page = admin
        .get(&format!("/admin/audit?subject={client_id}"))
        .await
        .text()
        .await
        .unwrap();
    for kind in [
        "client.created",
        "client.secret_rotated",
        "client.updated",
        "client.deleted",
    ] {
        assert!(page.contains(kind), "{kind} is not on the audit page");
    }
}

#[tokio::test]
async fn the_console_shows_the_key_timeline_and_rotates() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser().await;
    let jwks_size = || async {
        let jwks: serde_json::Value = app
            .client
            .get(app.url("/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"].as_array().unwrap().len()
    };
    let page = admin.get("/admin/keys").await.text().await.unwrap();
    assert_eq!(page.matches("<td>active</td>").count(), 1, "{page}");
    assert_eq!(jwks_size().await, 1);

    let response = admin.post_form("/admin/keys/rotate", &[("mode", "scheduled")]).await;
    assert_eq!(location(&response), "/admin/keys?done=scheduled");
    let page = admin.get("/admin/keys?done=scheduled").await.text().await.unwrap();
    assert!(
        page.contains("next: published, signs from") && page.contains("active until"),
        "{page}"
    );
    assert_eq!(jwks_size().await, 2, "the next key is published at once");

    let response = admin.post_form("/admin/keys/rotate", &[("mode", "scheduled")]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("already scheduled"));
    let response = admin.post_form("/admin/keys/rotate", &[("mode", "now")]).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "replacing at once needs the tick"
    );
    let response = admin
        .post_form("/admin/keys/rotate", &[("mode", "now"), ("confirm", "yes")])
        .await;
    assert_eq!(location(&response), "/admin/keys?done=now");
    assert_eq!(jwks_size().await, 3);

    let page = admin
        .get("/admin/audit?kind=signing_key.created")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("<td>signing_key.created</td>").count(), 3, "{page}");
}

#[tokio::test]
async fn the_console_adds_imports_invites_and_removes_members() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let shop = app
        .create_application(serde_json::json!({"name": "Shop", "access_mode": "invite_only"}))
        .await;
    let id = shop["id"].as_str().unwrap();
    let path = format!("/admin/apps/{id}/members");
    let admin = app.admin_browser().await;
    let page = admin.get(&path).await.text().await.unwrap();
    assert!(!page.contains("/admin/users/"), "no members yet");

    let response = admin.post_form(&path, &[("who", "alice")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("alice is a member now") && page.contains(&format!("/admin/users/{}", alice.id)));
    let response = admin.post_form(&path, &[("who", "not-an-address@")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let many = "bob\nnew@example.org\n\n+1";
    let page = admin
        .post_form(&format!("{path}/import"), &[("many", many)])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("2 of 3 added"), "{page}");
    assert!(page.contains("line 3: phone"), "{page}");
    assert!(page.contains(">bob</a>") && page.contains("new@example.org"));

    let response = admin
        .post_form(
            &format!("/admin/apps/{id}/invitations"),
            &[("email", "ina@example.org")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = response.text().await.unwrap();
    let link = page
        .split("id=\"invitation-link\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(link.contains("/invite/tsi_"), "{link}");

    let response = admin.post_form(&format!("{path}/{}/remove", alice.id), &[]).await;
    assert_eq!(location(&response), format!("{path}?done=removed"));
    let page = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(!page.contains(&format!("/admin/users/{}", alice.id)));

    for kind in ["member.added", "member.removed", "invitation.created"] {
        let page = admin
            .get(&format!("/admin/audit?kind={kind}&application={id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&format!("<td>{kind}</td>")),
            "{kind} is not on the audit page"
        );
    }
}
