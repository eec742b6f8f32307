//! The account console over HTTP: its pages need a signed-in browser; private tokens are made (shown once,
//! working as a bearer token), rotated and revoked with the REST API's rules; sign-ins are listed and ended
//! one at a time or all but this browser; consents are listed and withdrawn, ending the client's tokens; every
//! form is refused without the browser's CSRF token.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;
use tessera::auth::NewAccount;

use crate::oidc_support::{Browser, TestClient, assert_oauth_error, hidden, location, query_param};
use crate::support::{PASSWORD, TestApp, TestUser};

/// A browser signed in as a new account `name`.
pub(crate) async fn signed_in(app: &TestApp, name: &str) -> (TestUser, Browser) {
    let user = app.signup(name).await;
    let browser = app.browser();
    browser.sign_in(&user).await;
    (user, browser)
}

impl Browser {
    /// The page at `path`, asserting it answers 200.
    pub(crate) async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    /// Posts `fields` to `path` with the CSRF token of the page at `from` (or `csrf` when given).
    pub(crate) async fn submit_form(
        &self,
        path: &str,
        from: &str,
        csrf: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Response {
        let token = match csrf {
            Some(token) => token.to_owned(),
            None => hidden(&self.page(from).await, "csrf").expect("a CSRF field"),
        };
        let mut form = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.client.post(self.url(path)).form(&form).send().await.unwrap()
    }
}

/// The text of the element whose id is `id`.
pub(crate) fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')?;
    Some(html[start..start + end].trim().to_owned())
}

/// The ids in the forms of the sessions page ending a sign-in of `kind`.
fn sign_in_ids(html: &str, kind: &str) -> Vec<String> {
    let marker = format!("name=\"kind\" value=\"{kind}\">");
    html.match_indices(&marker)
        .filter_map(|(at, _)| hidden(&html[at..], "id"))
        .collect()
}

/// The id of the token whose revoke form comes first on the tokens page.
fn first_token_id(html: &str) -> String {
    let start = html.find("/account/tokens/").expect("a token's form") + "/account/tokens/".len();
    let end = html[start..].find('/').unwrap();
    html[start..start + end].to_owned()
}

async fn make_token(browser: &Browser, fields: &[(&str, &str)]) -> Response {
    browser
        .submit_form("/account/tokens", "/account/tokens", None, fields)
        .await
}

#[tokio::test]
async fn the_console_needs_a_signed_in_browser() {
    let app = TestApp::spawn().await;
    let stranger = app.browser();
    for path in [
        "/account",
        "/account/tokens",
        "/account/sessions",
        "/account/applications",
    ] {
        let response = stranger.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/login", "{path}");
    }
    // A form with the browser's own token, but nobody signed in.
    let csrf = hidden(&stranger.page("/login").await, "csrf").unwrap();
    let response = stranger
        .submit_form("/account/sessions/end-others", "/login", Some(csrf.as_str()), &[])
        .await;
    assert_eq!(location(&response), "/login");

    let (_, browser) = signed_in(&app, "alice").await;
    let overview = browser.page("/account").await;
    for link in [
        "/account/security",
        "/account/tokens",
        "/account/sessions",
        "/account/applications",
    ] {
        assert!(overview.contains(&format!("href=\"{link}\"")), "{link} in {overview}");
    }
    assert!(overview.contains("action=\"/oauth2/logout\""));
}

#[tokio::test]
async fn a_private_token_is_shown_once_works_rotates_and_is_revoked() {
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in(&app, "alice").await;
    assert!(browser.page("/account/tokens").await.contains("None yet."));

    let response = make_token(&browser, &[("description", "nightly backup"), ("days", "30")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let token = element_text(&page, "token-secret").expect("the new token on the page");
    assert!(token.starts_with("tsp_"), "{token}");
    let me = app.get_authorized("/api/v1/user", &token).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "alice");

    // Listed, never shown again.
    let list = browser.page("/account/tokens").await;
    assert!(list.contains("nightly backup") && list.contains(&token[..12]), "{list}");
    assert!(!list.contains(&token), "the secret is shown only once");
    assert!(list.contains("active"));

    // Rotation: a new secret, shown once; the old one stops.
    let id = first_token_id(&list);
    let rotated = browser
        .submit_form(&format!("/account/tokens/{id}/rotate"), "/account/tokens", None, &[])
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let new_token = element_text(&rotated.text().await.unwrap(), "token-secret").unwrap();
    assert_ne!(new_token, token);
    let old = app.get_authorized("/api/v1/user", &token).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.get_authorized("/api/v1/user", &new_token).await;
    assert_eq!(new.status(), StatusCode::OK);

    // Revoked: refused at once.
    let list = browser.page("/account/tokens").await;
    let id = first_token_id(&list);
    let response = browser
        .submit_form(&format!("/account/tokens/{id}/revoke"), "/account/tokens", None, &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/tokens?done=revoked");
    let refused = app.get_authorized("/api/v1/user", &new_token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let list = browser.page("/account/tokens?done=revoked").await;
    assert!(list.contains("The token is revoked"));
    assert!(
        !list.contains(&format!("/account/tokens/{id}/revoke")),
        "no second revoke"
    );
    // Revoking it again: no such live token.
    let again = browser
        .submit_form(&format!("/account/tokens/{id}/revoke"), "/account/tokens", None, &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_follow_the_rest_apis_rules() {
    let app = TestApp::spawn().await;
    let account = NewAccount {
        username: Some("rita".into()),
        email: Some("rita@example.org".into()),
        password: Some(PASSWORD.into()),
    };
    let rita = app
        .state
        .auth
        .accounts
        .create_user(account, &["reports:read"], app.clock.now())
        .await
        .unwrap();
    let browser = app.browser();
    browser
        .sign_in(&TestUser {
            id: rita.id,
            username: "rita".into(),
            email: "rita@example.org".into(),
            password: PASSWORD.into(),
        })
        .await;
    assert!(browser.page("/account/tokens").await.contains("value=\"reports:read\""));

    let more = make_token(&browser, &[("description", "x"), ("days", "30"), ("scope", "admin")]).await;
    assert_eq!(more.status(), StatusCode::FORBIDDEN);
    assert!(more.text().await.unwrap().contains("does not hold the scope"));
    let long = make_token(&browser, &[("description", "x"), ("days", "100000")]).await;
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(long.text().await.unwrap().contains("Choose an expiry of 1 to 365 days"));
    let unnamed = make_token(&browser, &[("description", " "), ("days", "30")]).await;
    assert_eq!(unnamed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(browser.page("/account/tokens").await.contains("None yet."));

    let made = make_token(
        &browser,
        &[("description", "ci"), ("days", "7"), ("scope", "reports:read")],
    )
    .await;
    assert_eq!(made.status(), StatusCode::OK);
    let access = app.login("rita", PASSWORD).await.access;
    let tokens: Value = app
        .get_authorized("/api/v1/tokens", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens[0]["scopes"], serde_json::json!(["reports:read"]));
    assert_eq!(tokens[0]["description"], "ci");
}

#[tokio::test]
async fn forms_without_the_browsers_csrf_token_change_nothing() {
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in(&app, "alice").await;
    let made = make_token(&browser, &[("description", "kept"), ("days", "30")]).await;
    let token = element_text(&made.text().await.unwrap(), "token-secret").unwrap();
    let id = first_token_id(&browser.page("/account/tokens").await);
    let rest = app.login("alice", PASSWORD).await;

    let forged = Some("forged-token-forged-token-forged-token-0000");
    let forms: [(String, Vec<(&str, &str)>); 5] = [
        ("/account/tokens".into(), vec![("description", "evil"), ("days", "30")]),
        (format!("/account/tokens/{id}/revoke"), vec![]),
        (format!("/account/tokens/{id}/rotate"), vec![]),
        ("/account/sessions/end-others".into(), vec![]),
        ("/account/applications/revoke".into(), vec![("client_id", "x")]),
    ];
    for (path, fields) in &forms {
        let response = browser.submit_form(path, "/account", forged, fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let list = browser.page("/account/tokens").await;
    assert!(!list.contains("evil"));
    let me = app.get_authorized("/api/v1/user", &token).await;
    assert_eq!(me.status(), StatusCode::OK, "the token still works");
    assert_eq!(
        app.refresh_raw(&rest.refresh).await.status(),
        StatusCode::OK,
        "the sign-in is live"
    );
}

#[tokio::test]
async fn sign_ins_are_listed_and_ended_one_or_all_but_this_browser() {
    let app = TestApp::spawn().await;
    let (alice, browser) = signed_in(&app, "alice").await;
    let other = app.browser();
    other.sign_in(&alice).await;
    // The sign-up was a REST sign-in too; this one is newer.
    app.advance_clock(Duration::from_secs(1));
    let rest = app.login("alice", PASSWORD).await;

    let page = browser.page("/account/sessions").await;
    assert!(page.contains("this browser"), "{page}");
    assert_eq!(
        sign_in_ids(&page, "browser").len(),
        1,
        "the other browser, with a button"
    );
    let families = sign_in_ids(&page, "family");
    assert_eq!(families.len(), 2, "the sign-up's and the later sign-in's families");
    assert!(page.contains("Sign-in through the API"));

    // One family ended: its refresh token is refused.
    let end = |kind: &'static str, id: String| {
        let browser = &browser;
        async move {
            browser
                .submit_form(
                    "/account/sessions/end",
                    "/account/sessions",
                    None,
                    &[("kind", kind), ("id", id.as_str())],
                )
                .await
        }
    };
    let response = end("family", families[0].clone()).await;
    assert_eq!(location(&response), "/account/sessions?done=ended");
    let refused = app.refresh_raw(&rest.refresh).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    // Ending it again, or this browser, or a made-up one: no such sign-in.
    assert_eq!(end("family", families[0].clone()).await.status(), StatusCode::NOT_FOUND);

    // The other browser ended: it is signed out.
    let browsers = sign_in_ids(&browser.page("/account/sessions").await, "browser");
    end("browser", browsers[0].clone()).await;
    assert_eq!(location(&other.get("/account").await), "/login");
    assert_eq!(end("browser", "nope".into()).await.status(), StatusCode::NOT_FOUND);

    // All but this browser.
    let third = app.browser();
    third.sign_in(&alice).await;
    let second_rest = app.login("alice", PASSWORD).await;
    let response = browser
        .submit_form("/account/sessions/end-others", "/account/sessions", None, &[])
        .await;
    assert_eq!(location(&response), "/account/sessions?done=others");
    assert_eq!(
        app.refresh_raw(&second_rest.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(location(&third.get("/account").await), "/login");
    let page = browser.page("/account/sessions?done=others").await;
    assert!(page.contains("Every other sign-in has ended"));
    assert!(page.contains("this browser"));
    assert!(sign_in_ids(&page, "browser").is_empty() && sign_in_ids(&page, "family").is_empty());

    let events = audit_events(&app, "session.revoked").await;
    assert!(events.len() >= 3, "{events:?}");
}

/// The audit events of `kind`, newest first, read by the administrator.
async fn audit_events(app: &TestApp, kind: &str) -> Vec<Value> {
    let admin = app.admin_login().await;
    let response = app
        .get_authorized(&format!("/api/v1/admin/audit-events?kind={kind}"), &admin.access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["events"]
        .as_array()
        .unwrap()
        .clone()
}

async fn consented(app: &TestApp, browser: &Browser, client: &TestClient, user: &TestUser) -> String {
    let callback = browser
        .authorize_through(client, &[("scope", "openid email"), ("nonce", "n-1")], user)
        .await;
    let code = query_param(&callback, "code").expect("a code");
    let tokens = app.exchange(client, &code, false).await;
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn withdrawing_a_consent_ends_the_clients_tokens() {
    let app = TestApp::spawn().await;
    let (alice, browser) = signed_in(&app, "alice").await;
    assert!(browser.page("/account/applications").await.contains("None."));
    let client = app.c1().await;
    let refresh_token = consented(&app, &browser, &client, &alice).await;

    let page = browser.page("/account/applications").await;
    assert!(page.contains("RP One") && page.contains("openid email"), "{page}");
    assert_eq!(hidden(&page, "client_id").as_deref(), Some(client.id.as_str()));
    let sessions = browser.page("/account/sessions").await;
    assert!(sessions.contains("RP One") && sessions.contains("granted in this browser"));

    let response = browser
        .submit_form(
            "/account/applications/revoke",
            "/account/applications",
            None,
            &[("client_id", client.id.as_str())],
        )
        .await;
    assert_eq!(location(&response), "/account/applications?done=revoked");
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    assert_oauth_error(
        app.token(&client, &refresh).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let page = browser.page("/account/applications?done=revoked").await;
    assert!(
        page.contains("access is withdrawn") && !page.contains("RP One"),
        "{page}"
    );
    // Withdrawn once; the client asks again next time.
    let again = browser
        .submit_form(
            "/account/applications/revoke",
            "/account",
            None,
            &[("client_id", client.id.as_str())],
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let asks = browser.authorize(&client, &[("scope", "openid email")]).await;
    assert!(location(&asks).starts_with("/consent"), "{}", location(&asks));

    let events = audit_events(&app, "consent.revoked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["subject_id"], client.id.as_str());
    assert_eq!(events[0]["details"]["families"], 1);
}
