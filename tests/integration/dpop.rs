//! RFC 9449 DPoP: tokens bound to a key (`cnf.jkt`, `token_type: DPoP`), proofs checked at the token endpoint,
//! userinfo and the REST API, replay refused across instances, nonces when required, refresh by the same key,
//! and introspection's `cnf`.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::{TestApp, TestUser};

/// A client's DPoP key: a P-256 pair, its public JWK and thumbprint.
struct DpopKey {
    pair: EcdsaKeyPair,
    jwk: Value,
    jkt: String,
}

/// What a proof says beyond its key; `None` members are left out.
#[derive(Clone, Default)]
struct Claims<'a> {
    htm: &'a str,
    htu: String,
    iat: i64,
    jti: Option<String>,
    ath: Option<String>,
    nonce: Option<&'a str>,
}

impl DpopKey {
    fn new() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..65]),
        );
        // RFC 7638: the required members in order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let jkt = URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()));
        Self {
            pair,
            jwk: json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }),
            jkt,
        }
    }

    /// A proof with these claims (a fresh `jti` unless given).
    fn sign(&self, claims: &Claims<'_>) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let mut body = json!({
            "htm": claims.htm,
            "htu": claims.htu,
            "iat": claims.iat,
            "jti": claims.jti.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        });
        if let Some(ath) = &claims.ath {
            body["ath"] = json!(ath);
        }
        if let Some(nonce) = claims.nonce {
            body["nonce"] = json!(nonce);
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(body.to_string())
        );
        let signature = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// A proof for `method` at `path` of `app` now, with `ath` of `token` when given.
    fn proof(&self, app: &TestApp, method: &str, path: &str, token: Option<&str>) -> String {
        self.sign(&claims_for(app, method, path, token))
    }
}

/// The claims of a proof for `method` at `path` of `app` now, with `ath` of `token` when given.
fn claims_for<'a>(app: &TestApp, method: &'a str, path: &str, token: Option<&str>) -> Claims<'a> {
    Claims {
        htm: method,
        htu: app.url(path),
        iat: app.clock.now(),
        ath: token.map(ath),
        ..Claims::default()
    }
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}

/// A public client's authorization code, by PKCE.
async fn code_for(app: &TestApp, client: &TestClient, user: &TestUser) -> String {
    let extra = [
        ("scope", "openid profile"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let callback = app.browser().authorize_through(client, &extra, user).await;
    query_param(&callback, "code").expect("a code")
}

/// `POST /oauth2/token` as `client` (Basic for a confidential one), with `proof` in `DPoP`.
async fn token_request(app: &TestApp, client: &TestClient, form: &[(&str, &str)], proof: Option<&str>) -> Response {
    let mut form = form.to_vec();
    let mut request = app.client.post(app.url("/oauth2/token"));
    match &client.secret {
        Some(secret) => request = request.basic_auth(&client.id, Some(secret)),
        None => form.push(("client_id", &client.id)),
    }
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.form(&form).send().await.unwrap()
}

/// The DPoP-bound tokens of a code flow of `client` for `user`, proven by `key`.
async fn bound_tokens(app: &TestApp, client: &TestClient, user: &TestUser, key: &DpopKey) -> Value {
    let code = code_for(app, client, user).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let proof = key.proof(app, "POST", "/oauth2/token", None);
    let response = token_request(app, client, &form, Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK, "DPoP code exchange");
    response.json().await.unwrap()
}

/// `GET path` with `Authorization: DPoP token` and the proofs given (none, one, or a repeated header).
fn dpop_get(app: &TestApp, path: &str, token: &str, proofs: &[&str]) -> RequestBuilder {
    let mut request = app
        .client
        .get(app.url(path))
        .header("Authorization", format!("DPoP {token}"));
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    request
}

/// A 401 with the `DPoP` challenge naming `error` (and the accepted algorithms).
async fn assert_dpop_refusal(response: Response, error: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "refused with {error}");
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(challenge.contains(&format!(r#"error="{error}""#)), "{challenge}");
    assert!(challenge.contains("ES256"), "{challenge}");
}

#[tokio::test]
async fn dpop_01_a_bound_token_works_at_userinfo_only_with_a_proof_by_its_key() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let tokens = bound_tokens(&app, &client, &user, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(decode_segment(access, 1)["cnf"]["jkt"], key.jkt);

    let proof = key.proof(&app, "GET", "/oauth2/userinfo", Some(access));
    let response = dpop_get(&app, "/oauth2/userinfo", access, &[&proof])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["sub"], user.id);

    // RFC 9449 §7.1: a bound token presented as a bearer token is refused.
    let as_bearer = app.get_authorized("/oauth2/userinfo", access).await;
    assert_oauth_error(as_bearer, StatusCode::UNAUTHORIZED, "invalid_token").await;
    // And with the DPoP scheme but no proof.
    let unproven = dpop_get(&app, "/oauth2/userinfo", access, &[]).send().await.unwrap();
    assert_dpop_refusal(unproven, "invalid_dpop_proof").await;
}

#[tokio::test]
async fn dpop_02_proofs_for_another_key_request_or_time_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let tokens = bound_tokens(&app, &client, &user, &key).await;
    let access = tokens["access_token"].as_str().unwrap();
    let path = "/oauth2/userinfo";
    let good = claims_for(&app, "GET", path, Some(access));

    let other_key = DpopKey::new().sign(&good);
    let wrong_method = key.sign(&Claims {
        htm: "POST",
        ..good.clone()
    });
    let wrong_url = key.sign(&Claims {
        htu: app.url("/oauth2/token"),
        ..good.clone()
    });
    let no_ath = key.sign(&Claims {
        ath: None,
        ..good.clone()
    });
    let stale = key.sign(&Claims {
        iat: app.clock.now() - 120,
        ..good.clone()
    });
    let future = key.sign(&Claims {
        iat: app.clock.now() + 120,
        ..good.clone()
    });
    for proof in [
        other_key,
        wrong_method,
        wrong_url,
        no_ath,
        stale,
        future,
        "not.a.proof".into(),
    ] {
        let response = dpop_get(&app, path, access, &[&proof]).send().await.unwrap();
        assert_dpop_refusal(response, "invalid_dpop_proof").await;
    }
    // RFC 9449 §4.3: exactly one DPoP header.
    let (one, two) = (key.sign(&good), key.sign(&good));
    let repeated = dpop_get(&app, path, access, &[&one, &two]).send().await.unwrap();
    assert_dpop_refusal(repeated, "invalid_dpop_proof").await;
    // The query is not part of htu.
    let with_query = dpop_get(&app, &format!("{path}?x=1"), access, &[&one])
        .send()
        .await
        .unwrap();
    assert_eq!(with_query.status(), StatusCode::OK);
}

#[tokio::test]
async fn dpop_03_a_proof_is_accepted_once_on_any_instance() {
    let app = TestApp::spawn().await;
    let sibling = app.spawn_sibling(|_| {}).await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let tokens = bound_tokens(&app, &client, &user, &key).await;
    let access = tokens["access_token"].as_str().unwrap();

    let proof = key.proof(&app, "GET", "/oauth2/userinfo", Some(access));
    let first = dpop_get(&app, "/oauth2/userinfo", access, &[&proof])
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let again = dpop_get(&app, "/oauth2/userinfo", access, &[&proof])
        .send()
        .await
        .unwrap();
    assert_dpop_refusal(again, "invalid_dpop_proof").await;
    // The other instance knows it too (same issuer, so the same htu).
    let elsewhere = dpop_get(&sibling, "/oauth2/userinfo", access, &[&proof])
        .send()
        .await
        .unwrap();
    assert_dpop_refusal(elsewhere, "invalid_dpop_proof").await;
    let fresh = key.proof(&app, "GET", "/oauth2/userinfo", Some(access));
    let fresh = dpop_get(&sibling, "/oauth2/userinfo", access, &[&fresh])
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[tokio::test]
async fn dpop_04_required_nonces_are_asked_for_then_accepted() {
    let app = TestApp::spawn_with(|config| config.dpop.require_nonce = true).await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let code = code_for(&app, &client, &user).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let proof = key.proof(&app, "POST", "/oauth2/token", None);
    let asked = token_request(&app, &client, &form, Some(&proof)).await;
    let nonce = asked.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_oauth_error(asked, StatusCode::BAD_REQUEST, "use_dpop_nonce").await;

    // The code was not spent by the refused request.
    let claims = Claims {
        nonce: Some(&nonce),
        ..claims_for(&app, "POST", "/oauth2/token", None)
    };
    let response = token_request(&app, &client, &form, Some(&key.sign(&claims))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("dpop-nonce"));
    let tokens: Value = response.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let without = key.proof(&app, "GET", "/oauth2/userinfo", Some(access));
    let asked = dpop_get(&app, "/oauth2/userinfo", access, &[&without])
        .send()
        .await
        .unwrap();
    let nonce = asked.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_dpop_refusal(asked, "use_dpop_nonce").await;
    let claims = Claims {
        nonce: Some(&nonce),
        ..claims_for(&app, "GET", "/oauth2/userinfo", Some(access))
    };
    let response = dpop_get(&app, "/oauth2/userinfo", access, &[&key.sign(&claims)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A nonce of the server's but made up: refused.
    let forged = Claims {
        nonce: Some("1.AAAA"),
        ..claims_for(&app, "GET", "/oauth2/userinfo", Some(access))
    };
    let response = dpop_get(&app, "/oauth2/userinfo", access, &[&key.sign(&forged)])
        .send()
        .await
        .unwrap();
    assert_dpop_refusal(response, "use_dpop_nonce").await;
}

#[tokio::test]
async fn dpop_05_a_public_clients_refresh_needs_the_same_key() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let tokens = bound_tokens(&app, &client, &user, &key).await;
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];

    let other = DpopKey::new().proof(&app, "POST", "/oauth2/token", None);
    let response = token_request(&app, &client, &form, Some(&other)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = token_request(&app, &client, &form, None).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;

    // Neither refusal spent the token.
    let proof = key.proof(&app, "POST", "/oauth2/token", None);
    let response = token_request(&app, &client, &form, Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    assert_eq!(refreshed["token_type"], "DPoP");
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(decode_segment(access, 1)["cnf"]["jkt"], key.jkt);
}

#[tokio::test]
async fn dpop_06_introspection_names_the_key_and_confidential_clients_may_change_keys() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let key = DpopKey::new();
    let tokens = bound_tokens(&app, &client, &user, &key).await;
    let access = tokens["access_token"].as_str().unwrap();

    let response = app
        .client_post("/oauth2/introspect", &client, &[("token", access)])
        .await;
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "DPoP");
    assert_eq!(answer["cnf"]["jkt"], key.jkt);

    // RFC 9449 §5: a confidential client's refresh tokens are bound to its authentication, not to a key.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let new_key = DpopKey::new();
    let proof = new_key.proof(&app, "POST", "/oauth2/token", None);
    let response = token_request(&app, &client, &form, Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(decode_segment(access, 1)["cnf"]["jkt"], new_key.jkt);

    // Without a proof, a plain bearer token.
    let refresh = refreshed["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let plain: Value = token_request(&app, &client, &form, None).await.json().await.unwrap();
    assert_eq!(plain["token_type"], "Bearer");
    let access = plain["access_token"].as_str().unwrap();
    assert!(decode_segment(access, 1)["cnf"].is_null());
    let answer: Value = app
        .client_post("/oauth2/introspect", &client, &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer["cnf"].is_null());
}

#[tokio::test]
async fn dpop_07_the_rest_api_takes_a_bound_token_with_its_proof() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let tokens = bound_tokens(&app, &client, &user, &key).await;
    let access = tokens["access_token"].as_str().unwrap();

    let proof = key.proof(&app, "GET", "/api/v1/user", Some(access));
    let response = dpop_get(&app, "/api/v1/user", access, &[&proof]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let as_bearer = app.get_authorized("/api/v1/user", access).await;
    assert_eq!(as_bearer.status(), StatusCode::UNAUTHORIZED);
    let body: Value = as_bearer.json().await.unwrap();
    assert_eq!(body["code"], "token_invalid");

    let replayed = dpop_get(&app, "/api/v1/user", access, &[&proof]).send().await.unwrap();
    assert_dpop_refusal(replayed, "invalid_dpop_proof").await;
    let body: Value = dpop_get(&app, "/api/v1/user", access, &[])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["code"], "invalid_dpop_proof");

    // A token that is not bound is refused with the DPoP scheme (RFC 9449 §7.1).
    let plain = app.login(&user.username, &user.password).await;
    let proof = key.proof(&app, "GET", "/api/v1/user", Some(&plain.access));
    let response = dpop_get(&app, "/api/v1/user", &plain.access, &[&proof])
        .send()
        .await
        .unwrap();
    assert_dpop_refusal(response, "invalid_token").await;
}

#[tokio::test]
async fn dpop_08_discovery_names_the_proof_algorithms() {
    let app = TestApp::spawn().await;
    let document: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs = document["dpop_signing_alg_values_supported"].as_array().unwrap();
    assert!(algs.contains(&json!("ES256")) && algs.contains(&json!("EdDSA")));
    assert!(!algs.iter().any(|alg| alg.as_str().unwrap().starts_with("HS")));
}

/// The form of a code exchange by a public client with PKCE.
fn exchange_form<'a>(code: &'a str, client: &'a TestClient) -> [(&'a str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code_verifier", VERIFIER),
    ]
}

#[tokio::test]
async fn dpop_09_a_code_bound_by_dpop_jkt_is_exchanged_only_with_that_key() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let bound_code = || async {
        let extra = [
            ("scope", "openid"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("dpop_jkt", key.jkt.as_str()),
        ];
        let callback = app.browser().authorize_through(&client, &extra, &user).await;
        query_param(&callback, "code").expect("a code")
    };

    // Without a proof, or with another key's, the code is refused (and spent: codes are spent first).
    let code = bound_code().await;
    let response = token_request(&app, &client, &exchange_form(&code, &client), None).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
    let code = bound_code().await;
    let other = DpopKey::new().proof(&app, "POST", "/oauth2/token", None);
    let response = token_request(&app, &client, &exchange_form(&code, &client), Some(&other)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;

    let code = bound_code().await;
    let proof = key.proof(&app, "POST", "/oauth2/token", None);
    let response = token_request(&app, &client, &exchange_form(&code, &client), Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(
        decode_segment(tokens["access_token"].as_str().unwrap(), 1)["cnf"]["jkt"],
        key.jkt
    );

    // A dpop_jkt that is no thumbprint goes back to the client as invalid_request.
    let extra = [
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("dpop_jkt", "not-a-thumbprint"),
    ];
    let response = app.browser().authorize(&client, &extra).await;
    let back = location(&response);
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
}

#[tokio::test]
async fn dpop_10_a_proof_sent_with_a_pushed_request_binds_its_code() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.public_client().await;
    let key = DpopKey::new();
    let push = |proof: String, extra: Vec<(&'static str, String)>| {
        let mut form = vec![
            ("response_type", "code".to_owned()),
            ("client_id", client.id.clone()),
            ("redirect_uri", client.redirect_uri.clone()),
            ("scope", "openid".to_owned()),
            ("code_challenge", CHALLENGE.to_owned()),
            ("code_challenge_method", "S256".to_owned()),
        ];
        form.extend(extra);
        let request = app
            .client
            .post(app.url("/oauth2/par"))
            .header("DPoP", proof)
            .form(&form);
        async move { request.send().await.unwrap() }
    };

    // A dpop_jkt naming another key than the proof's is refused.
    let other = DpopKey::new();
    let response = push(
        key.proof(&app, "POST", "/oauth2/par", None),
        vec![("dpop_jkt", other.jkt.clone())],
    )
    .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;

    let response = push(key.proof(&app, "POST", "/oauth2/par", None), Vec::new()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let pushed: Value = response.json().await.unwrap();
    let uri = pushed["request_uri"].as_str().unwrap();
    let callback = app
        .browser()
        .authorize_through(&client, &[("request_uri", uri)], &user)
        .await;
    let code = query_param(&callback, "code").expect("a code");
    let proof = other.proof(&app, "POST", "/oauth2/token", None);
    let response = token_request(&app, &client, &exchange_form(&code, &client), Some(&proof)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;

    let response = push(key.proof(&app, "POST", "/oauth2/par", None), Vec::new()).await;
    let pushed: Value = response.json().await.unwrap();
    let callback = app
        .browser()
        .authorize_through(
            &client,
            &[("request_uri", pushed["request_uri"].as_str().unwrap())],
            &user,
        )
        .await;
    let code = query_param(&callback, "code").expect("a code");
    let proof = key.proof(&app, "POST", "/oauth2/token", None);
    let response = token_request(&app, &client, &exchange_form(&code, &client), Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
}
