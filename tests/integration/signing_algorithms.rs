//! ES256 and EdDSA signing keys beside RS256: each algorithm has a published key (and its own rotation), a
//! client asks for its ID tokens and access tokens in another algorithm, and every token verifies against
//! the JWKS in the algorithm its key names.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;
use tessera::tokens::keys::SigningAlg;
use tessera::tokens::rotation;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::{TestApp, assert_error};

async fn every_algorithm() -> TestApp {
    TestApp::spawn_with(|config| config.keys.algorithms = SigningAlg::ALL.to_vec()).await
}

async fn jwks(app: &TestApp) -> Vec<Value> {
    let body: Value = app
        .client
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["keys"].as_array().unwrap().clone()
}

/// Checks `token`'s signature with the published key its header names, in that key's algorithm, and returns
/// the header's `alg`.
async fn verify_with_jwks(app: &TestApp, token: &str) -> String {
    let header = decode_segment(token, 0);
    let keys = jwks(app).await;
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("no published key {}", header["kid"]));
    assert_eq!(jwk["alg"], header["alg"], "a token is signed in its key's algorithm");
    let b64 = |member: &str| URL_SAFE_NO_PAD.decode(jwk[member].as_str().unwrap()).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let verified = match header["alg"].as_str().unwrap() {
        "RS256" => RsaPublicKeyComponents {
            n: b64("n"),
            e: b64("e"),
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature),
        "ES256" => {
            assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("EC"), Some("P-256")));
            let mut point = vec![4u8];
            point.extend(b64("x"));
            point.extend(b64("y"));
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(input.as_bytes(), &signature)
        }
        "EdDSA" => {
            assert_eq!(
                (jwk["kty"].as_str(), jwk["crv"].as_str()),
                (Some("OKP"), Some("Ed25519"))
            );
            UnparsedPublicKey::new(&ED25519, b64("x")).verify(input.as_bytes(), &signature)
        }
        other => panic!("unexpected alg {other}"),
    };
    assert!(verified.is_ok(), "the {} signature verifies", header["alg"]);
    header["alg"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn alg_01_each_algorithm_has_a_published_key_and_discovery_names_them() {
    let app = every_algorithm().await;
    let keys = jwks(&app).await;
    let mut kinds: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            (
                k["alg"].as_str().unwrap().to_owned(),
                k["kty"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [("ES256", "EC"), ("EdDSA", "OKP"), ("RS256", "RSA")].map(|(a, k)| (a.to_owned(), k.to_owned()))
    );
    for key in &keys {
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{key}");
        }
    }
    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );

    // A server keeping RS256 only publishes and names that one.
    let plain = TestApp::spawn().await;
    assert_eq!(jwks(&plain).await.len(), 1);
}

#[tokio::test]
async fn alg_02_a_client_gets_its_tokens_in_the_algorithms_it_asked_for() {
    let app = every_algorithm().await;
    let user = app.signup("alice").await;
    for (id_alg, access_alg) in [("ES256", "EdDSA"), ("EdDSA", "ES256"), ("RS256", "RS256")] {
        let client = app
            .register(ClientSpec {
                name: Some(format!("{id_alg} client")),
                redirect_uris: vec![RP1_CB.into()],
                first_party: true,
                id_token_signed_response_alg: Some(id_alg.into()),
                access_token_signed_response_alg: Some(access_alg.into()),
                ..ClientSpec::default()
            })
            .await;
        let tokens = app.code_flow(&client, &user, "openid profile").await;
        let id_token = tokens["id_token"].as_str().unwrap();
        let access_token = tokens["access_token"].as_str().unwrap();
        assert_eq!(verify_with_jwks(&app, id_token).await, id_alg);
        assert_eq!(verify_with_jwks(&app, access_token).await, access_alg);
        // at_hash: the left half of the access token's hash under the ID token's algorithm (SHA-512 for
        // Ed25519).
        let alg = SigningAlg::parse(id_alg).unwrap();
        assert_eq!(
            decode_segment(id_token, 1)["at_hash"],
            tessera::tokens::id_token::at_hash(access_token, alg)
        );
        // Tessera takes its own tokens in every algorithm: at userinfo, and as an id_token_hint.
        let response = app.get_authorized("/oauth2/userinfo", access_token).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{access_alg} access token at userinfo"
        );
        let hint = app
            .state
            .oidc
            .id_tokens()
            .verify_hint(id_token)
            .expect("the ID token as a hint");
        assert_eq!(hint.aud, client.id);
    }

    // A service's client-credentials tokens, introspected by itself.
    let svc = app
        .register(ClientSpec {
            name: Some("EdDSA service".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            scopes: Some(vec!["api:read".into()]),
            access_token_signed_response_alg: Some("EdDSA".into()),
            ..ClientSpec::default()
        })
        .await;
    let token = app.client_credentials_token(&svc).await;
    assert_eq!(verify_with_jwks(&app, &token).await, "EdDSA");
    let body: Value = app
        .client_post("/oauth2/introspect", &svc, &[("token", &token)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], true);
}

#[tokio::test]
async fn alg_03_unknown_and_unkept_algorithms_are_refused_at_registration() {
    let app = TestApp::spawn().await;
    let admin = app.admin_login().await.access;
    let create = |body: Value| {
        let request = app
            .client
            .post(app.url("/api/v1/admin/clients"))
            .bearer_auth(&admin)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let base = json!({"name": "Picky", "redirect_uris": [RP1_CB]});
    for (member, alg) in [
        ("id_token_signed_response_alg", "HS256"),
        ("id_token_signed_response_alg", "none"),
        // This server keeps RS256 only.
        ("access_token_signed_response_alg", "ES256"),
    ] {
        let mut body = base.clone();
        body[member] = json!(alg);
        let refused = assert_error(
            create(body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(refused.to_string().contains(member), "{refused}");
    }
    let response = create(base).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id_token_signed_response_alg"], "RS256");
    assert_eq!(body["access_token_signed_response_alg"], "RS256");
}

#[tokio::test]
async fn alg_04_a_rotation_replaces_the_key_of_every_algorithm() {
    let app = every_algorithm().await;
    let user = app.signup("alice").await;
    let client = app
        .register(ClientSpec {
            name: Some("ES256 client".into()),
            redirect_uris: vec![RP1_CB.into()],
            first_party: true,
            id_token_signed_response_alg: Some("ES256".into()),
            ..ClientSpec::default()
        })
        .await;
    let before = app.code_flow(&client, &user, "openid").await;
    let old_kid = decode_segment(before["id_token"].as_str().unwrap(), 0)["kid"].clone();

    let policy = tessera::state::key_policy(&app.state.config);
    let made = rotation::rotate(&app.state.db, policy, app.clock.now(), true)
        .await
        .unwrap();
    let mut algs: Vec<&str> = made.iter().map(|key| key.alg.as_str()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    app.reload_keys().await;
    // Six keys published: the new ones, and the replaced ones for the tokens they signed.
    assert_eq!(jwks(&app).await.len(), 6);
    let after = app.code_flow(&client, &user, "openid").await;
    let id_token = after["id_token"].as_str().unwrap();
    let new_kid = decode_segment(id_token, 0)["kid"].clone();
    assert_ne!(new_kid, old_kid);
    let es256 = made.iter().find(|key| key.alg == SigningAlg::Es256).unwrap();
    assert_eq!(new_kid, es256.kid.as_str());
    assert_eq!(verify_with_jwks(&app, id_token).await, "ES256");
    // A token signed by the replaced ES256 key still verifies while that key is published.
    assert_eq!(
        verify_with_jwks(&app, before["id_token"].as_str().unwrap()).await,
        "ES256"
    );
}
