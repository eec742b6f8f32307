//! The JWKS document, third-party verification of access tokens, and key rotation.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyId};
use reqwest::StatusCode;
use serde_json::Value;
use tessera::tokens::rotation::{self, KeyPolicy};

use crate::support::{TestApp, test_key};

async fn jwks(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/oauth2/jwks")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

pub fn decode_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

#[tokio::test]
async fn jwks_publishes_public_rsa_signing_keys_only() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/oauth2/jwks")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body: Value = response.json().await.unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(!key.contains_key(private), "private member {private} published");
    }
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    assert!(n.len() * 8 >= 2048, "modulus of {} bits", n.len() * 8);

    // RFC 7638: kid = base64url(SHA-256({"e","kty","n"} in that order, no whitespace)).
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        key["e"].as_str().unwrap(),
        key["n"].as_str().unwrap()
    );
    let thumbprint = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()));
    assert_eq!(key["kid"], thumbprint);
}

/// Verifies `token`'s signature with nothing but the JWKS, through an independent JOSE implementation.
pub fn verify_with_jwks(jwks: &Value, token: &str) -> bool {
    let set: CoreJsonWebKeySet = serde_json::from_value(jwks.clone()).unwrap();
    let header = decode_segment(token, 0);
    let kid = JsonWebKeyId::new(header["kid"].as_str().unwrap().to_owned());
    let Some(key) = set.keys().iter().find(|k| k.key_id() == Some(&kid)) else {
        return false;
    };
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        signing_input.as_bytes(),
        &signature,
    )
    .is_ok()
}

#[tokio::test]
async fn a_third_party_verifies_access_tokens_from_the_jwks_alone() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let tokens = app.login(&user.username, &user.password).await;

    let jwks = jwks(&app).await;
    assert!(verify_with_jwks(&jwks, &tokens.access));

    let header = decode_segment(&tokens.access, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], test_key().kid);

    // A token whose payload was changed no longer verifies.
    let mut parts: Vec<String> = tokens.access.split('.').map(str::to_owned).collect();
    let mut claims = decode_segment(&tokens.access, 1);
    claims["scope"] = "admin".into();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert!(!verify_with_jwks(&jwks, &parts.join(".")));
}

/// The kid an access token from a fresh login carries.
async fn signing_kid(app: &TestApp, user: &crate::support::TestUser) -> String {
    let tokens = app.login(&user.username, &user.password).await;
    decode_segment(&tokens.access, 0)["kid"].as_str().unwrap().to_owned()
}

fn policy() -> KeyPolicy<'static> {
    KeyPolicy {
        secret: None,
        algorithms: &[tessera::tokens::keys::SigningAlg::Rs256],
        rsa_bits: 2048,
        lead: KeyPolicy::lead_for(30),
    }
}

#[tokio::test]
async fn a_new_key_is_published_before_it_signs_and_the_old_one_until_its_tokens_expire() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let old = app.login(&user.username, &user.password).await;
    let old_kid = decode_segment(&old.access, 0)["kid"].as_str().unwrap().to_owned();

    let lead = policy().lead;
    assert!(
        lead > rotation::JWKS_MAX_AGE_SECS,
        "longer than a relying party caches the JWKS"
    );
    let new = rotation::rotate(&app.state.db, policy(), app.clock.now(), false)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(new.activates_at, app.clock.now() + lead);
    app.reload_keys().await;
    let published = kids(&jwks(&app).await);
    assert!(
        published.contains(&old_kid) && published.contains(&new.kid),
        "{published:?}"
    );
    assert_eq!(signing_kid(&app, &user).await, old_kid, "published, not yet signing");

    app.advance_clock(Duration::from_secs(lead as u64 - 1));
    assert_eq!(signing_kid(&app, &user).await, old_kid);
    // At its time the new key signs, without waiting for a reload.
    app.advance_clock(Duration::from_secs(1));
    assert_eq!(signing_kid(&app, &user).await, new.kid);
    let response = app.get_authorized("/api/v1/user", &old.access).await;
    assert_eq!(response.status(), StatusCode::OK, "a token of the old key still works");
    assert!(verify_with_jwks(&jwks(&app).await, &old.access));

    // Once everything the old key signed has expired, it leaves the JWKS.
    let window = tessera::state::publish_window(&app.state.config);
    app.advance_clock(Duration::from_secs(window as u64 + 1));
    app.reload_keys().await;
    assert_eq!(kids(&jwks(&app).await), vec![new.kid]);
}

#[tokio::test]
async fn a_second_rotation_waits_for_the_first_unless_now_is_asked_for() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let first = rotation::rotate(&app.state.db, policy(), app.clock.now(), false)
        .await
        .unwrap()
        .remove(0);
    let refused = rotation::rotate(&app.state.db, policy(), app.clock.now(), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains(&first.kid), "{refused}");
    // After a compromise: a key that signs at once, replacing the scheduled one too.
    let urgent = rotation::rotate(&app.state.db, policy(), app.clock.now(), true)
        .await
        .unwrap()
        .remove(0);
    app.reload_keys().await;
    assert_eq!(signing_kid(&app, &user).await, urgent.kid);
    app.advance_clock(Duration::from_secs(policy().lead as u64 + 1));
    assert_eq!(
        signing_kid(&app, &user).await,
        urgent.kid,
        "the replaced schedule never takes over"
    );
}

#[tokio::test]
async fn instances_on_one_database_agree_on_the_signing_key() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sibling(|_| {}).await;
    let user = first.signup("alice").await;
    let old_kid = signing_kid(&first, &user).await;
    let new = rotation::rotate(&first.state.db, policy(), first.clock.now(), false)
        .await
        .unwrap()
        .remove(0);
    first.reload_keys().await;
    second.reload_keys().await;
    for app in [&first, &second] {
        assert!(kids(&jwks(app).await).contains(&new.kid));
        assert_eq!(signing_kid(app, &user).await, old_kid);
    }
    first.advance_clock(Duration::from_secs(policy().lead as u64));
    for app in [&first, &second] {
        assert_eq!(signing_kid(app, &user).await, new.kid);
    }
    // A token signed by one instance works at the other.
    let tokens = first.login(&user.username, &user.password).await;
    let response = second.get_authorized("/api/v1/user", &tokens.access).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn keys_rotate_on_schedule_once_however_many_instances_are_due() {
    let first = TestApp::spawn_with(|config| config.keys.rotate_after_days = 30).await;
    let second = first.spawn_sibling(|config| config.keys.rotate_after_days = 30).await;
    let user = first.signup("alice").await;
    let old_kid = signing_kid(&first, &user).await;

    tessera::startup::rotate_if_due(&first.state).await;
    assert_eq!(kids(&jwks(&first).await), vec![old_kid.clone()], "not due yet");

    first.advance_clock(Duration::from_secs(30 * 24 * 3600));
    join_all([
        tessera::startup::rotate_if_due(&first.state),
        tessera::startup::rotate_if_due(&second.state),
    ])
    .await;
    let rows = tessera::store::signing_keys::list(&first.state.db).await.unwrap();
    assert_eq!(rows.len(), 2, "exactly one instance rotated");
    first.reload_keys().await;
    second.reload_keys().await;
    let new_kid = rows.iter().find(|r| r.kid != old_kid).unwrap().kid.clone();
    assert!(kids(&jwks(&second).await).contains(&new_kid));
    assert_eq!(signing_kid(&second, &user).await, old_kid, "published first");
    first.advance_clock(Duration::from_secs(policy().lead as u64));
    assert_eq!(signing_kid(&second, &user).await, new_kid);
    // Not due again until the new key is as old.
    tessera::startup::rotate_if_due(&first.state).await;
    assert_eq!(
        tessera::store::signing_keys::list(&first.state.db).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn a_rotation_made_elsewhere_reaches_the_running_server() {
    let app = TestApp::spawn_with(|config| config.keys.reload_interval_secs = 1).await;
    let new = rotation::rotate(&app.state.db, policy(), app.clock.now(), false)
        .await
        .unwrap()
        .remove(0);
    // The server re-reads its keys every second; give it a bounded while to do so.
    for _ in 0..50 {
        if kids(&jwks(&app).await).contains(&new.kid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the running server never published the rotated key");
}
