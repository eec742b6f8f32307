//! Two instances on one database, as behind a load balancer. On PostgreSQL they count limits in the shared
//! database: an application's budget and a signup window are one across instances. A SQLite file belongs to one
//! process, which counts in memory: two processes on one file each count their own (documented).

use reqwest::StatusCode;
use serde_json::json;

use crate::applications::with_key;
use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn an_applications_budget_is_one_across_instances_on_postgresql() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sibling(|_| {}).await;
    let shared = first.state.db.is_postgres();
    let app = first
        .create_application(json!({"name": "Metered", "rate_limit_per_minute": 10}))
        .await;
    let key = first
        .create_api_key(app["id"].as_str().unwrap(), json!({"name": "web"}))
        .await;
    let client = with_key(Some(key["key"].as_str().unwrap()));
    let mut passed = 0;
    for i in 0..14 {
        let instance = if i % 2 == 0 { &first } else { &second };
        let response = client.get(instance.url("/api/v1/user")).send().await.unwrap();
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            passed += 1;
        }
    }
    // The clock stands still: no token is refilled during the run.
    let expected = if shared { 10 } else { 14 };
    assert_eq!(passed, expected, "shared: {shared}");
}

#[tokio::test]
async fn a_signup_window_is_one_across_instances_on_postgresql() {
    let first = TestApp::spawn_with(|config| config.signup.rate_limit_email = 2).await;
    let second = first.spawn_sibling(|config| config.signup.rate_limit_email = 2).await;
    let shared = first.state.db.is_postgres();
    // One address counted three times (a +tag counts as the address), twice at the first instance.
    let attempts = [
        (&first, "amy", "amy+1@example.org"),
        (&first, "amz", "amy+2@example.org"),
        (&second, "ana", "amy+3@example.org"),
    ];
    let mut statuses = Vec::new();
    for (instance, username, email) in attempts {
        statuses.push(instance.signup_raw(username, email, PASSWORD).await.status());
    }
    let third = if shared {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::CREATED
    };
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CREATED, third],
        "shared: {shared}"
    );
}

#[tokio::test]
async fn a_revoked_api_key_stops_at_the_other_instance_at_once_on_postgresql() {
    let short_cache = |config: &mut tessera::config::Config| config.apps.cache_ttl_secs = 3;
    let first = TestApp::spawn_with(short_cache).await;
    let second = first.spawn_sibling(short_cache).await;
    let shared = first.state.db.is_postgres();
    let app = first.create_application(json!({"name": "Keyed"})).await;
    let app_id = app["id"].as_str().unwrap();
    let key = first.create_api_key(app_id, json!({"name": "web"})).await;
    let client = with_key(Some(key["key"].as_str().unwrap()));
    // The second instance knows (and caches) the key.
    let response = client.get(second.url("/api/v1/user")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "token_missing", "the key was accepted: {body}");

    let admin = first.admin_login().await;
    let response = first
        .client
        .delete(first.url(&format!(
            "/api/v1/admin/apps/{app_id}/api-keys/{}",
            key["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let revoked = std::time::Instant::now();
    loop {
        let response = client.get(second.url("/api/v1/user")).send().await.unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        if body["code"] == "api_key_invalid" {
            break;
        }
        assert!(
            revoked.elapsed() < std::time::Duration::from_secs(5),
            "still accepted: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // PostgreSQL tells the other instance; two processes on one SQLite file wait for the cache time.
    let bound = if shared { 1 } else { 4 };
    assert!(
        revoked.elapsed() < std::time::Duration::from_secs(bound),
        "refused after {:?} (shared: {shared})",
        revoked.elapsed()
    );
}

#[tokio::test]
async fn a_lock_out_is_reached_at_exactly_the_threshold_across_instances() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sibling(|_| {}).await;
    first.signup("eve").await;
    let threshold = first.state.config.login.max_failed_attempts;
    // Twice the threshold of wrong guesses at once, spread over both instances.
    let guesses = (0..threshold * 2).map(|i| {
        let instance = if i % 2 == 0 { &first } else { &second };
        instance.login_raw("eve", "not her password")
    });
    for response in futures_util::future::join_all(guesses).await {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let user = tessera::store::users::find_by_username(&first.state.db, "eve".into())
        .await
        .unwrap()
        .expect("the account");
    // Each check reads the count afresh, one at a time per account — across instances on PostgreSQL: the
    // guesses after the lock are refused unchecked and do not count. Two processes on one SQLite file each take
    // their own turns, so one more guess per extra process may be checked.
    if first.state.db.is_postgres() {
        assert_eq!(user.failed_logins, threshold);
    } else {
        assert!(
            (threshold..=threshold + 1).contains(&user.failed_logins),
            "{}",
            user.failed_logins
        );
    }
    assert!(user.locked_until.is_some());
    // The right password is refused at either instance while the lock lasts.
    for instance in [&first, &second] {
        let response = instance.login_raw("eve", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn many_accounts_signing_in_at_once_never_starve_the_pool() {
    // A pool of four: at most two connections hold an account's turn, the others serve the checks' queries.
    let app = TestApp::spawn_with(|config| config.database.max_connections = 4).await;
    let names: Vec<String> = (0..12).map(|i| format!("user{i}")).collect();
    for name in &names {
        app.signup(name).await;
    }
    let logins = names.iter().map(|name| app.login_raw(name, PASSWORD));
    for response in futures_util::future::join_all(logins).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// The kid in the header of a compact JWS.
fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_key_rotated_now_signs_at_every_instance_at_once_on_postgresql() {
    let slow_reload = |config: &mut tessera::config::Config| config.keys.reload_interval_secs = 3600;
    let first = TestApp::spawn_with(slow_reload).await;
    let second = first.spawn_sibling(slow_reload).await;
    let shared = first.state.db.is_postgres();
    let before = kid_of(&second.admin_login().await.access);

    // As `tessera keys rotate --now` does, on the servers' (hand-moved) clock.
    let policy = tessera::state::key_policy(&first.state.config);
    let new_kid = tessera::tokens::rotation::rotate(&first.state.db, policy, first.clock.now(), true)
        .await
        .unwrap()
        .remove(0)
        .kid;
    assert_ne!(new_kid, before);
    let rotated_at = std::time::Instant::now();
    for instance in [&first, &second] {
        loop {
            let jwks: serde_json::Value = instance
                .client
                .get(instance.url("/oauth2/jwks"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let published = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|key| key["kid"] == new_kid.as_str());
            if published || rotated_at.elapsed() > std::time::Duration::from_secs(2) {
                // PostgreSQL announces the key; an instance on a SQLite file reads it at its next reload.
                assert_eq!(published, shared, "published at {}", instance.address);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    if shared {
        assert!(rotated_at.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(kid_of(&second.admin_login().await.access), new_kid);
        assert_eq!(kid_of(&first.admin_login().await.access), new_kid);
    }
}
