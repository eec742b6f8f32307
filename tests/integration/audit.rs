//! The audit log and the administrators' account tools: what each change writes, who and where it names,
//! reading the log in pages, finding accounts, the administrator role, resetting factors, ending sign-ins.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, assert_error};

impl TestApp {
    /// `GET` an admin path as the bootstrap administrator; asserts 200 and returns the body.
    async fn admin_get(&self, path: &str) -> Value {
        let admin = self.admin_login().await;
        let response = self.get_authorized(path, &admin.access).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// The events `query` selects (one page of up to 200).
    async fn audit_events(&self, query: &str) -> Vec<Value> {
        let body = self.admin_get(&format!("/api/v1/admin/audit-events?{query}")).await;
        body["events"].as_array().unwrap().clone()
    }

    async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_sign_in_is_recorded_with_who_where_and_which_request() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "audit-test/1.0")
        .json(&json!({"login": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();

    // Signing up signed alice in once already.
    let events = app
        .audit_events(&format!("kind=sign_in.succeeded&actor={}", alice.id))
        .await;
    assert_eq!(events.len(), 2, "{events:?}");
    let event = &events[0];
    assert_eq!(event["subject_type"], "user");
    assert_eq!(event["subject_id"], alice.id.as_str());
    assert_eq!(event["ip"], "127.0.0.1");
    assert_eq!(event["user_agent"], "audit-test/1.0");
    assert_eq!(event["request_id"], request_id.as_str());
    assert_eq!(event["details"]["amr"], "pwd");
    let apps = app.admin_get("/api/v1/admin/apps").await;
    let default_app = apps.as_array().unwrap()[0]["id"].clone();
    assert_eq!(event["application_id"], default_app);
    assert!(event["occurred_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn refused_sign_ins_and_wrong_passwords_are_recorded_without_the_secret() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    assert_eq!(
        app.login_raw("nobody", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_raw("alice", "wrong horse battery staple").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let failed = app.audit_events("kind=sign_in.failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["details"]["reason"], "unknown_account");
    assert!(failed[0]["subject_id"].is_null());

    let refused = app
        .audit_events(&format!("kind=credential.refused&subject={}", alice.id))
        .await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["details"]["credential"], "password");
    assert_eq!(refused[0]["details"]["locks"], false);
    let all = serde_json::to_string(&app.audit_events("").await).unwrap();
    assert!(!all.contains("wrong horse"), "a password reached the log");
}

#[tokio::test]
async fn changes_name_the_account_that_made_them_and_never_a_secret() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let admin_id = app
        .get_authorized("/api/v1/user", &admin.access)
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .clone();
    let billing = app
        .create_application(json!({"name": "Billing", "slug": "billing"}))
        .await;
    let key = app.create_api_key("billing", json!({"name": "server"})).await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let token = app
        .post_bearer(
            "/api/v1/tokens",
            &session.access,
            &json!({"description": "backup", "scopes": [], "expires_at": tessera::clock::rfc3339(app.clock.now() + 86_400)}),
        )
        .await;
    assert_eq!(token.status(), StatusCode::CREATED);
    let token: Value = token.json().await.unwrap();
    app.enroll_totp(&session.access).await;
    let response = app
        .admin_send(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/users/{}", alice.id),
            &admin.access,
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let by_admin = app.audit_events(&format!("actor={}", admin_id.as_str().unwrap())).await;
    let admin_kinds = kinds(&by_admin);
    for kind in ["application.created", "api_key.created", "account.disabled"] {
        assert!(admin_kinds.contains(&kind), "{kind} missing from {admin_kinds:?}");
    }
    let created = by_admin.iter().find(|e| e["kind"] == "api_key.created").unwrap();
    assert_eq!(created["application_id"], billing["id"]);
    assert_eq!(created["subject_type"], "api_key");
    let disabled = by_admin.iter().find(|e| e["kind"] == "account.disabled").unwrap();
    assert_eq!(disabled["subject_id"], alice.id.as_str());

    let by_alice = app.audit_events(&format!("actor={}", alice.id)).await;
    let alice_kinds = kinds(&by_alice);
    for kind in ["sign_in.succeeded", "private_token.created", "factor.totp_enrolled"] {
        assert!(alice_kinds.contains(&kind), "{kind} missing from {alice_kinds:?}");
    }

    let log = serde_json::to_string(&app.audit_events("").await).unwrap();
    assert!(
        !log.contains(key["key"].as_str().unwrap()),
        "an API key reached the log"
    );
    assert!(
        !log.contains(token["token"].as_str().unwrap()),
        "a private token reached the log"
    );
    assert!(!log.contains(&session.access) && !log.contains(&session.refresh));
}

#[tokio::test]
async fn the_log_is_read_newest_first_in_pages_and_by_time() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    for _ in 0..5 {
        app.login_raw("alice", "not the password").await;
        app.advance_clock(Duration::from_secs(1));
    }
    let middle = tessera::clock::rfc3339(app.clock.now() - 3);
    let everything = app.audit_events("kind=credential.refused").await;
    assert_eq!(everything.len(), 5);

    let mut seen = Vec::new();
    let mut query = "kind=credential.refused&limit=2".to_owned();
    loop {
        let page = app.admin_get(&format!("/api/v1/admin/audit-events?{query}")).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 2);
        seen.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("kind=credential.refused&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<String> = everything
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected, "paging skipped or repeated events");
    let times: Vec<&str> = everything.iter().map(|e| e["occurred_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first: {times:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);

    let since = app
        .audit_events(&format!("kind=credential.refused&since={middle}"))
        .await;
    let until = app
        .audit_events(&format!("kind=credential.refused&until={middle}"))
        .await;
    assert_eq!(since.len(), 3);
    assert_eq!(since.len() + until.len(), 5);
}

#[tokio::test]
async fn a_query_the_log_cannot_answer_is_refused_with_its_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let get = |query: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            app.get_authorized(&format!("/api/v1/admin/audit-events?{query}"), &admin.access)
                .await
        }
    };
    let body = assert_error(
        get("kind=sign_in&since=yesterday&cursor=x&limit=500").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    for field in ["kind", "since", "cursor", "limit"] {
        assert!(body["fields"][field].is_string(), "{field} not named: {body}");
    }
    assert_error(get("limit=many").await, StatusCode::BAD_REQUEST, "malformed_request").await;
    assert_error(get("colour=blue").await, StatusCode::BAD_REQUEST, "malformed_request").await;
}

#[tokio::test]
async fn only_administrators_read_the_log_and_manage_accounts() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    for path in ["/api/v1/admin/audit-events", "/api/v1/admin/users?query=a"] {
        let response = app.get_authorized(path, &session.access).await;
        assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }
    let user_path = format!("/api/v1/admin/users/{}", alice.id);
    let response = app
        .admin_send(
            reqwest::Method::PATCH,
            &user_path,
            &session.access,
            Some(json!({"admin": true})),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    for path in [format!("{user_path}/factors"), format!("{user_path}/sessions")] {
        let response = app
            .admin_send(reqwest::Method::DELETE, &path, &session.access, None)
            .await;
        assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }
    let response = app
        .client
        .get(app.url("/api/v1/admin/audit-events"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "token_missing").await;
}

#[tokio::test]
async fn administrators_find_accounts_by_name_address_or_phone_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    for name in ["alice", "alicia", "bob", "al_x"] {
        app.signup(name).await;
    }
    let found = app.admin_get("/api/v1/admin/users?query=ALI").await;
    let names: Vec<&str> = found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "alicia"]);
    assert_eq!(found["total"], 2);

    let found = app.admin_get("/api/v1/admin/users?query=bob@example").await;
    assert_eq!(found["users"][0]["username"], "bob");
    // `_` and `%` are letters to look for, not wildcards.
    let found = app.admin_get("/api/v1/admin/users?query=l_").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["users"][0]["username"], "al_x");
    assert_eq!(app.admin_get("/api/v1/admin/users?query=%25").await["total"], 0);

    let everyone = app.admin_get("/api/v1/admin/users").await;
    assert_eq!(everyone["total"], 5, "four accounts and the administrator");
    let second = app.admin_get("/api/v1/admin/users?per_page=2&page=2").await;
    assert_eq!(second["page"], 2);
    assert_eq!(second["per_page"], 2);
    assert_eq!(second["users"], json!(everyone["users"].as_array().unwrap()[2..4]));

    let admin = app.admin_login().await;
    let response = app
        .get_authorized("/api/v1/admin/users?page=0&per_page=1000", &admin.access)
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["page"].is_string() && body["fields"]["per_page"].is_string());
}

#[tokio::test]
async fn the_administrator_role_is_granted_and_taken_but_never_from_the_last_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let admin_id = app
        .get_authorized("/api/v1/user", &admin.access)
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = app.signup("alice").await;
    let patch = |id: String, bearer: String, body: Value| {
        let app = &app;
        async move {
            app.admin_send(
                reqwest::Method::PATCH,
                &format!("/api/v1/admin/users/{id}"),
                &bearer,
                Some(body),
            )
            .await
        }
    };

    let response = patch(alice.id.clone(), admin.access.clone(), json!({"admin": true})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["scopes"].as_array().unwrap().contains(&json!("admin")), "{body}");

    let alice_admin = app.login("alice", PASSWORD).await;
    let response = patch(admin_id.clone(), alice_admin.access.clone(), json!({"admin": false})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = patch(alice.id.clone(), alice_admin.access.clone(), json!({"admin": false})).await;
    assert_error(response, StatusCode::CONFLICT, "last_administrator").await;
    let response = patch(
        alice.id.clone(),
        alice_admin.access.clone(),
        json!({"is_active": false}),
    )
    .await;
    assert_error(response, StatusCode::CONFLICT, "last_administrator").await;
    let response = app.get_authorized("/api/v1/admin/users", &admin.access).await;
    assert_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;

    let events = app
        .audit_events_as(&alice_admin.access, &format!("subject={admin_id}"))
        .await;
    assert_eq!(kinds(&events)[0], "account.admin_revoked");
    assert_eq!(events[0]["actor_id"], alice.id.as_str());
    let events = app
        .audit_events_as(&alice_admin.access, &format!("subject={}", alice.id))
        .await;
    assert!(kinds(&events).contains(&"account.admin_granted"));
}

#[tokio::test]
async fn an_administrator_resets_lost_factors_and_ends_every_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    app.enroll_totp(&session.access).await;
    app.mfa_token("alice").await;

    let path = format!("/api/v1/admin/users/{}/factors", alice.id);
    let response = app
        .admin_send(reqwest::Method::DELETE, &path, &admin.access, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let fresh = app.login("alice", PASSWORD).await;

    let path = format!("/api/v1/admin/users/{}/sessions", alice.id);
    let response = app
        .admin_send(reqwest::Method::DELETE, &path, &admin.access, None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["ended"].as_u64().unwrap() >= 2, "{body}");
    for access in [&session.access, &fresh.access] {
        let response = app.get_authorized("/api/v1/user", access).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.refresh_raw(&fresh.refresh).await.status(), StatusCode::UNAUTHORIZED);

    let events = app.audit_events(&format!("subject={}", alice.id)).await;
    let kinds = kinds(&events);
    assert_eq!(
        kinds[..3],
        ["account.sessions_revoked", "sign_in.succeeded", "account.factors_reset"],
        "{kinds:?}"
    );

    let response = app
        .admin_send(
            reqwest::Method::DELETE,
            "/api/v1/admin/users/nobody/factors",
            &admin.access,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

impl TestApp {
    async fn audit_events_as(&self, bearer: &str, query: &str) -> Vec<Value> {
        let response = self
            .get_authorized(&format!("/api/v1/admin/audit-events?{query}"), bearer)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["events"]
            .as_array()
            .unwrap()
            .clone()
    }
}
