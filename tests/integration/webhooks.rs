//! Applications' webhooks: managed over the admin API and the console, delivered to a receiver on 127.0.0.1 that
//! records each request, signed with the webhook's secret, only the subscribed kinds of that application, retried
//! on the back-off schedule as the hand-moved clock passes, and given up after `webhooks.max_attempts`. The
//! sender is driven by hand (`deliver_due`), never by waiting; finished deliveries are pruned with the rest.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::HttpRequest;
use aws_lc_rs::hmac;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera::webhooks::Run;

use crate::oidc_support::{hidden, location};
use crate::standins::{PostReceiver, header};
use crate::support::{TestApp, assert_error};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    signature: String,
    event: String,
    event_id: String,
    body: String,
}

type Receiver = PostReceiver<Received>;

fn record(req: &HttpRequest, body: &[u8]) -> Received {
    Received {
        signature: header(req, "tessera-signature"),
        event: header(req, "tessera-event"),
        event_id: header(req, "tessera-event-id"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// Checks a `Tessera-Signature` header the way the README tells a receiver to: HMAC-SHA256 of
/// `"<t>.<body>"` under the secret, compared in constant time.
fn verifies(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header.strip_prefix("t=").and_then(|rest| rest.split_once(",v1=")) else {
        return false;
    };
    let Ok(tag) = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(v1.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, format!("{t}.{body}").as_bytes(), &tag).is_ok()
}

/// A server that accepts the receiver's plain-http URL and sends only when the test says so.
async fn spawn(max_attempts: u32) -> TestApp {
    TestApp::spawn_with(|config| {
        config.webhooks.allow_http = true;
        config.webhooks.enabled = false;
        config.webhooks.max_attempts = max_attempts;
    })
    .await
}

impl TestApp {
    async fn admin_call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let admin = self.admin_login().await;
        let mut request = self.client.request(method, self.url(path)).bearer_auth(&admin.access);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Subscribes the default application; the webhook with its secret.
    async fn subscribe(&self, url: &str, events: &[&str]) -> Value {
        let body = json!({"url": url, "events": events, "description": "test receiver"});
        let response = self
            .admin_call(Method::POST, "/api/v1/admin/apps/default/webhooks", Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    async fn deliver(&self) -> Run {
        self.state.webhooks.deliver_due(self.clock.now()).await.unwrap()
    }

    async fn deliveries(&self, webhook_id: &str) -> Vec<Value> {
        let path = format!("/api/v1/admin/apps/default/webhooks/{webhook_id}/deliveries");
        let response = self.admin_call(Method::GET, &path, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap().as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn subscribed_events_of_the_application_arrive_signed_once() {
    let app = spawn(5).await;
    let receiver = Receiver::start("/hooks/tessera", record);
    let webhook = app.subscribe(&receiver.url, &["sign_in.succeeded"]).await;
    let secret = webhook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{webhook}");
    assert_eq!(webhook["events"], json!(["sign_in.succeeded"]));

    // Signing up signs alice in (subscribed) and creates her account (not subscribed); another application's
    // events are not this webhook's.
    let alice = app.signup("alice").await;
    let response = app
        .admin_call(
            Method::POST,
            "/api/v1/admin/apps",
            Some(json!({"name": "Other", "slug": "other"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let run = app.deliver().await;
    let seen = receiver.seen();
    // The administrator's sign-ins of this test: before the webhook (not sent) and after it (sent).
    let alices: Vec<&Received> = seen
        .iter()
        .filter(|r| serde_json::from_str::<Value>(&r.body).unwrap()["actor_id"] == alice.id.as_str())
        .collect();
    assert_eq!(alices.len(), 1, "{seen:?}");
    assert!(seen.iter().all(|r| r.event == "sign_in.succeeded"), "{seen:?}");
    assert_eq!(run.delivered, seen.len());
    assert_eq!(run.enqueued, seen.len());

    let received = alices[0];
    assert!(verifies(secret, &received.signature, &received.body), "{received:?}");
    assert!(!verifies("whsec_another", &received.signature, &received.body));
    assert!(received.signature.starts_with(&format!("t={},v1=", app.clock.now())));
    let body: Value = serde_json::from_str(&received.body).unwrap();
    assert_eq!(body["kind"], "sign_in.succeeded");
    assert_eq!(body["id"], received.event_id.as_str());
    assert_eq!(body["webhook_id"], webhook["id"]);
    let apps = app.admin_call(Method::GET, "/api/v1/admin/apps/default", None).await;
    assert_eq!(body["application_id"], apps.json::<Value>().await.unwrap()["id"]);

    // Nothing is sent twice.
    app.advance_clock(Duration::from_secs(3600));
    let before = receiver.seen().len();
    let run = app.deliver().await;
    assert_eq!(
        receiver.seen().len() - before,
        run.delivered,
        "only the new sign-ins of admin_call"
    );
    assert!(
        receiver
            .seen()
            .iter()
            .filter(|r| r.event_id == received.event_id)
            .count()
            == 1,
        "one delivery per event"
    );

    let deliveries = app.deliveries(webhook["id"].as_str().unwrap()).await;
    let delivery = deliveries
        .iter()
        .find(|d| d["event_id"] == received.event_id.as_str())
        .unwrap();
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_status"], 200);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_when_its_back_off_has_passed() {
    let app = spawn(5).await;
    let receiver = Receiver::start("/hooks/tessera", record);
    let webhook = app.subscribe(&receiver.url, &["account.created"]).await;
    receiver.answer(&[500, 503]);
    app.signup("alice").await;

    assert_eq!(app.deliver().await.retrying, 1);
    assert_eq!(receiver.seen().len(), 1);
    let deliveries = app.deliveries(webhook["id"].as_str().unwrap()).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["status"], "pending");
    assert_eq!(deliveries[0]["attempts"], 1);
    assert_eq!(deliveries[0]["last_status"], 500);
    assert_eq!(deliveries[0]["last_error"], "the receiver's answer");

    // 30 s after the first failure, then 2 minutes after the second.
    app.advance_clock(Duration::from_secs(29));
    assert_eq!(app.deliver().await, Run::default());
    app.advance_clock(Duration::from_secs(1));
    assert_eq!(app.deliver().await.retrying, 1);
    assert_eq!(receiver.seen().len(), 2);
    app.advance_clock(Duration::from_secs(119));
    assert_eq!(app.deliver().await, Run::default());
    app.advance_clock(Duration::from_secs(1));
    assert_eq!(app.deliver().await.delivered, 1);

    let seen = receiver.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|r| r.event_id == seen[0].event_id && r.body == seen[0].body)
    );
    let deliveries = app.deliveries(webhook["id"].as_str().unwrap()).await;
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(deliveries[0]["attempts"], 3);
}

#[tokio::test]
async fn a_delivery_is_given_up_after_max_attempts() {
    let app = spawn(3).await;
    let receiver = Receiver::start("/hooks/tessera", record);
    let webhook = app.subscribe(&receiver.url, &["account.created"]).await;
    receiver.answer(&[500; 10]);
    app.signup("alice").await;

    assert_eq!(app.deliver().await.retrying, 1);
    app.advance_clock(Duration::from_secs(30));
    assert_eq!(app.deliver().await.retrying, 1);
    app.advance_clock(Duration::from_secs(120));
    assert_eq!(app.deliver().await.failed, 1);
    app.advance_clock(Duration::from_secs(7 * 24 * 3600));
    assert_eq!(app.deliver().await.failed, 0);
    assert_eq!(receiver.seen().len(), 3);
    let deliveries = app.deliveries(webhook["id"].as_str().unwrap()).await;
    assert_eq!(deliveries[0]["status"], "failed");
    assert_eq!(deliveries[0]["attempts"], 3);
    assert_eq!(deliveries[0]["next_attempt_at"], Value::Null);

    // Pruned with the rest once `retention.days` have passed since the last attempt.
    app.advance_clock(Duration::from_secs(
        24 * 3600 * u64::try_from(app.state.config.retention.days).unwrap(),
    ));
    tessera::startup::prune(&app.state).await;
    assert!(app.deliveries(webhook["id"].as_str().unwrap()).await.is_empty());
}

#[tokio::test]
async fn a_receiver_that_is_not_there_is_retried_and_a_disabled_webhook_gets_nothing() {
    let app = spawn(5).await;
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/gone", closed.local_addr().unwrap());
    drop(closed);
    let webhook = app.subscribe(&url, &["*"]).await;
    let id = webhook["id"].as_str().unwrap();
    app.signup("alice").await;
    let run = app.deliver().await;
    assert!(run.retrying >= 2 && run.delivered == 0, "{run:?}");
    let deliveries = app.deliveries(id).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d["last_status"].is_null() && d["status"] == "pending")
    );
    assert!(
        deliveries.iter().all(|d| d["last_error"] == "the connection failed"),
        "{deliveries:?}"
    );

    let path = format!("/api/v1/admin/apps/default/webhooks/{id}");
    let response = app
        .admin_call(Method::PATCH, &path, Some(json!({"enabled": false})))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["enabled"], false);
    app.advance_clock(Duration::from_secs(24 * 3600));
    assert_eq!(
        app.deliver().await,
        Run::default(),
        "nothing is made or sent for a disabled webhook"
    );
}

/// Two senders at the same moment: on PostgreSQL two servers sharing the database, as behind a load balancer; a
/// SQLite file belongs to one process, where two runs of its sender overlap.
#[tokio::test]
async fn two_senders_at_the_same_moment_send_each_event_once() {
    let app = spawn(5).await;
    let sibling = match app.state.db.is_postgres() {
        true => Some(
            app.spawn_sibling(|config| {
                config.webhooks.allow_http = true;
                config.webhooks.enabled = false;
            })
            .await,
        ),
        false => None,
    };
    let other = sibling.as_ref().map_or(&app.state, |sibling| &sibling.state);
    let receiver = Receiver::start("/hooks/tessera", record);
    app.subscribe(&receiver.url, &["account.created", "sign_in.succeeded"])
        .await;
    for name in ["alice", "bob", "carol"] {
        app.signup(name).await;
    }
    let now = app.clock.now();
    let (first, second) = tokio::join!(app.state.webhooks.deliver_due(now), other.webhooks.deliver_due(now));
    let (first, second) = (first.unwrap(), second.unwrap());
    let seen = receiver.seen();
    let mut ids: Vec<&str> = seen.iter().map(|r| r.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), seen.len(), "no event twice: {seen:?}");
    assert!(seen.len() >= 6, "three accounts made, three sign-ins: {seen:?}");
    assert_eq!(first.delivered + second.delivered, seen.len());
    assert_eq!(first.enqueued + second.enqueued, seen.len());
}

#[tokio::test]
async fn bad_input_is_named_and_unknown_ids_are_not_found() {
    // The default configuration: https only.
    let app = TestApp::spawn().await;
    let hooks = "/api/v1/admin/apps/default/webhooks";

    let response = app
        .admin_call(
            Method::POST,
            hooks,
            Some(json!({"url": "http://hooks.example.com/x", "events": ["*"]})),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["url"].as_str().unwrap().contains("https"), "{body}");

    let response = app
        .admin_call(
            Method::POST,
            hooks,
            Some(json!({"url": "https://hooks.example.com/x", "events": ["sign_in.succeeded", "no.such_kind"]})),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(
        body["fields"]["events"].as_str().unwrap().contains("no.such_kind"),
        "{body}"
    );

    let response = app.admin_call(Method::POST, hooks, Some(json!({}))).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(
        body["fields"]["url"].is_string() && body["fields"]["events"].is_string(),
        "{body}"
    );

    let response = app
        .admin_call(
            Method::POST,
            hooks,
            Some(json!({"url": "https://a:b@hooks.example.com/", "events": [], "description": "x\u{7}"})),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["fields"].as_object().unwrap().len(), 3, "{body}");

    let response = app
        .admin_call(
            Method::POST,
            hooks,
            Some(json!({"url": "https://hooks.example.com/", "events": ["*"], "secret": "mine"})),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let response = app
        .admin_call(
            Method::POST,
            "/api/v1/admin/apps/no-such-app/webhooks",
            Some(json!({"url": "https://hooks.example.com/", "events": ["*"]})),
        )
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    let missing = format!("{hooks}/0190a1b2-0000-7000-8000-000000000000");
    for (method, path, body) in [
        (Method::GET, missing.clone(), None),
        (Method::PATCH, missing.clone(), Some(json!({"enabled": false}))),
        (Method::DELETE, missing.clone(), None),
        (Method::POST, format!("{missing}/rotate-secret"), None),
        (Method::GET, format!("{missing}/deliveries"), None),
    ] {
        let response = app.admin_call(method.clone(), &path, body).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    // Not an administrator.
    let alice = app.signup("alice").await;
    let tokens = app.login(&alice.username, &alice.password).await;
    let response = app.get_authorized(hooks, &tokens.access).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_secret_is_shown_only_when_made_and_every_change_is_audited() {
    let app = TestApp::spawn().await;
    let webhook = app.subscribe("https://hooks.example.com/tessera", &["*"]).await;
    let id = webhook["id"].as_str().unwrap();
    let first = webhook["secret"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/apps/default/webhooks/{id}");

    let listed = app
        .admin_call(Method::GET, "/api/v1/admin/apps/default/webhooks", None)
        .await
        .text()
        .await
        .unwrap();
    let one = app.admin_call(Method::GET, &path, None).await.text().await.unwrap();
    for text in [&listed, &one] {
        assert!(
            text.contains(id) && !text.contains("whsec_") && !text.contains("secret"),
            "{text}"
        );
    }

    let response = app
        .admin_call(
            Method::PATCH,
            &path,
            Some(json!({"events": ["sign_in.failed"], "description": "only failures"})),
        )
        .await;
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["events"], json!(["sign_in.failed"]));
    assert_eq!(changed["url"], "https://hooks.example.com/tessera");
    assert!(changed.get("secret").is_none());

    let response = app
        .admin_call(Method::POST, &format!("{path}/rotate-secret"), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let rotated = response.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(rotated.starts_with("whsec_") && rotated != first);

    let response = app.admin_call(Method::DELETE, &path, None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.admin_call(Method::GET, &path, None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let events = app
        .admin_call(Method::GET, &format!("/api/v1/admin/audit-events?subject={id}"), None)
        .await
        .text()
        .await
        .unwrap();
    let events: Value = serde_json::from_str(&events).unwrap();
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "webhook.deleted",
            "webhook.secret_rotated",
            "webhook.updated",
            "webhook.created"
        ]
    );
    let text = events.to_string();
    assert!(
        !text.contains(&first) && !text.contains(&rotated),
        "no secret in the log"
    );
    assert_eq!(events["events"][0]["subject_type"], "webhook");
}

#[tokio::test]
async fn the_console_makes_changes_and_deletes_webhooks_only_with_its_csrf_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser().await;
    let page = admin.get("/admin/apps/default").await.text().await.unwrap();
    assert!(
        page.contains("/webhooks\">Webhooks</a>"),
        "the application's page links to its webhooks"
    );
    let response = admin.get("/admin/apps/default/webhooks").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");

    let form = [
        ("url", "https://hooks.example.com/console"),
        ("events", "sign_in.failed, credential.refused"),
        ("description", "from the console"),
    ];
    let mut forged = form.to_vec();
    forged.push(("csrf", "forged-token-forged-token-forged-token"));
    let response = admin
        .client
        .post(admin.url("/admin/apps/default/webhooks"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let listed = app
        .admin_call(Method::GET, "/api/v1/admin/apps/default/webhooks", None)
        .await;
    assert_eq!(listed.json::<Value>().await.unwrap(), json!([]));

    let response = admin.post_form("/admin/apps/default/webhooks", &form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"new-secret\">whsec_"), "{page}");
    let listed: Value = app
        .admin_call(Method::GET, "/api/v1/admin/apps/default/webhooks", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["events"], json!(["sign_in.failed", "credential.refused"]));
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let page = admin.get("/admin/apps/default/webhooks").await.text().await.unwrap();
    assert!(
        page.contains(&id) && !page.contains("whsec_"),
        "the secret is not shown again"
    );

    let response = admin
        .post_form(
            "/admin/apps/default/webhooks",
            &[("url", "ftp://x"), ("events", "nope")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("url: ") && page.contains("events: "), "{page}");

    // Saving without the "enabled" tick turns it off.
    let edit = format!("/admin/apps/default/webhooks/{id}");
    let response = admin
        .post_form(&edit, &[("url", "https://hooks.example.com/moved"), ("events", "*")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let one: Value = app
        .admin_call(Method::GET, &format!("/api/v1/admin/apps/default/webhooks/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["enabled"], false);
    assert_eq!(one["events"], json!(["*"]));
    assert_eq!(one["url"], "https://hooks.example.com/moved");

    let response = admin.post_form(&format!("{edit}/rotate"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("id=\"new-secret\">whsec_"));

    let response = admin
        .client
        .post(admin.url(&format!("{edit}/delete")))
        .form(&[("csrf", "forged-token-forged-token-forged-token"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = admin.post_form(&format!("{edit}/delete"), &[("confirm", "yes")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with("/webhooks?done=deleted"));
    let page = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(!page.contains(&id) && hidden(&page, "csrf").is_some());
}
