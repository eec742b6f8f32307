//! Checklist 2.D and 2.E: the token endpoint's authorization-code grant and common behaviour, and the ID
//! token.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use tessera::oidc::clients::ClientSpec;

use crate::jwks::decode_segment;
use crate::oidc_support::*;
use crate::support::{TestApp, TestUser};

async fn code_for(app: &TestApp, client: &TestClient, user: &TestUser) -> String {
    query_param(
        &app.browser()
            .authorize_through(client, &[("nonce", "n-0S6_WzA2Mj")], user)
            .await,
        "code",
    )
    .unwrap()
}

fn code_form(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", RP1_CB),
    ]
}

#[tokio::test]
async fn p_tok_01_16_a_successful_exchange() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let code = code_for(&app, &client, &user).await;
    let response = app.token(&client, &code_form(&code)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert!(body["token_type"].as_str().unwrap().eq_ignore_ascii_case("bearer"));
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert!(body["id_token"].is_string() && body["refresh_token"].is_string());
    let header = decode_segment(body["access_token"].as_str().unwrap(), 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    let claims = decode_segment(body["access_token"].as_str().unwrap(), 1);
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        assert!(!claims[claim].is_null(), "P-TOK-16: {claim}");
    }
    assert_eq!(claims["client_id"], client.id.as_str());
}

#[tokio::test]
async fn p_tok_02_a_replayed_code_revokes_what_it_produced() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let code = code_for(&app, &client, &user).await;
    let first: Value = app.token(&client, &code_form(&code)).await.json().await.unwrap();
    let response = app.token(&client, &code_form(&code)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let access = first["access_token"].as_str().unwrap();
    let response = app.get_authorized("/oauth2/userinfo", access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let introspection: Value = app
        .client_post("/oauth2/introspect", &client, &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(introspection, serde_json::json!({"active": false}));
    let refresh = first["refresh_token"].as_str().unwrap();
    let response = app
        .token(&client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// P-TOK-03, Tessera's policy: of parallel redemptions at most one gets tokens — exactly one when every other
/// comes after its grant is written; none when a replay overtakes it (an ID token cannot be revoked, so none is
/// handed out for a replayed code) — and whatever was issued dies with the replays.
#[tokio::test]
async fn p_tok_03_parallel_redemptions_let_at_most_one_through_and_its_tokens_die() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let code = code_for(&app, &client, &user).await;
    let form = code_form(&code);
    let responses = join_all((0..20).map(|_| app.token(&client, &form))).await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count() <= 1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST)
    );
    // Nineteen replays, whenever they came — before the winner's grant was written or after — leave the
    // tokens of that one redemption revoked.
    let mut winner = None;
    for response in responses {
        if response.status() == StatusCode::OK {
            winner = Some(response.json::<Value>().await.unwrap());
        }
    }
    let Some(winner) = winner else {
        return; // a replay overtook every redemption: nothing was issued
    };
    let access = winner["access_token"].as_str().unwrap();
    let introspection: Value = app
        .client_post("/oauth2/introspect", &client, &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(introspection, serde_json::json!({"active": false}));
    let response = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", winner["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// The replay overtakes the first redemption: the code is spent, then replayed, and only then does the first
/// redemption write its grant. The grant is born revoked, and the redemption hands out nothing.
#[tokio::test]
async fn p_tok_03b_a_replay_before_the_grant_is_written_still_revokes_it() {
    use tessera::store::authorization_codes::{self, Grant, Spend};
    use tessera::store::sessions::{self, NewSession};
    use tessera::tokens::opaque;

    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let code = code_for(&app, &client, &user).await;
    let now = app.clock.now();
    let db = &app.state.db;
    // The first redemption spends the code...
    let Spend::Spent(row) = authorization_codes::spend(db, opaque::hash(&code), now).await.unwrap() else {
        panic!("the first redemption spends the code");
    };
    // ...a replay arrives through the token endpoint before its grant exists...
    let response = app.token(&client, &code_form(&code)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // ...and then the first redemption writes its grant.
    let family = NewSession {
        id: opaque::random_id(),
        user_id: row.user_id.clone(),
        auth_time: row.auth_time,
        created_at: now,
        expires_at: now + 3600,
        application_id: None,
        client_id: Some(client.id.clone()),
        scope: row.scope.clone(),
        amr: row.amr.clone(),
        acr: row.acr.clone(),
        browser_session_id: Some(row.browser_session_id.clone()),
        offline: false,
        dpop_jkt: None,
    };
    let grant = authorization_codes::create_family(db, opaque::hash(&code), family.clone(), None)
        .await
        .unwrap();
    assert_eq!(grant, Grant::BornRevoked, "the grant of a replayed code is not live");
    let stored = sessions::find(db, family.id).await.unwrap().unwrap();
    assert!(stored.revoked_at.is_some(), "born revoked");
    assert_eq!(stored.revoked_reason.as_deref(), Some("authorization_code_reused"));
}

#[tokio::test]
async fn p_tok_04_05_06_codes_are_bound_to_client_redirect_and_value() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let c1 = app.first_party().await;
    let c2 = app.first_party().await;

    let code = code_for(&app, &c1, &user).await;
    assert_oauth_error(
        app.token(&c2, &code_form(&code)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        app.token(&c1, &code_form(&code)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    for redirect in [None, Some("https://rp1.test/cb/")] {
        let code = code_for(&app, &c1, &user).await;
        let mut form = vec![("grant_type", "authorization_code"), ("code", code.as_str())];
        if let Some(redirect) = redirect {
            form.push(("redirect_uri", redirect));
        }
        assert_oauth_error(app.token(&c1, &form).await, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }

    let code = code_for(&app, &c1, &user).await;
    for bad in [
        format!("{code}x"),
        code[..20].to_owned(),
        "random-garbage".into(),
        "".into(),
    ] {
        let response = app.token(&c1, &code_form(&bad)).await;
        assert!(response.status() == StatusCode::BAD_REQUEST, "never 500");
    }
}

#[tokio::test]
async fn p_tok_07_08_09_14_client_authentication_failures_are_uniform_401s() {
    let app = TestApp::spawn().await;
    let c1 = app.first_party().await;
    let form = [("grant_type", "client_credentials")];
    let wrong = TestClient {
        secret: Some("tss_wrong".into()),
        ..c1.clone()
    };
    let unknown = TestClient {
        id: "unknown".into(),
        ..c1.clone()
    };
    let mut bodies = Vec::new();
    for client in [&wrong, &unknown] {
        let response = app.token(client, &form).await;
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        bodies.push(assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await);
    }
    assert_eq!(bodies[0], bodies[1], "unknown client and wrong secret look alike");

    // P-TOK-08: a wrong secret in the body is refused the same way.
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c1.id.as_str()),
            ("client_secret", "tss_wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // P-TOK-14: a confidential client with no authentication; a public client with a secret.
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .form(&[("grant_type", "authorization_code"), ("client_id", c1.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let public = app.public_client().await;
    let response = app
        .token(
            &TestClient {
                secret: Some("anything".into()),
                ..public
            },
            &form,
        )
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

/// P-TOK-09, Tessera's policy: a confidential client's secret is accepted in the Authorization header or in
/// the body, whichever method it was registered with, at the token, revocation and introspection endpoints
/// alike — as the discovery document says. A public client can never authenticate with a secret.
#[tokio::test]
async fn p_tok_09_a_confidential_client_may_send_its_secret_either_way_at_every_endpoint() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    for method in ["client_secret_basic", "client_secret_post"] {
        let client = app
            .register(ClientSpec {
                name: Some(method.into()),
                redirect_uris: vec![RP1_CB.into()],
                first_party: true,
                token_endpoint_auth_method: Some(method.into()),
                ..ClientSpec::default()
            })
            .await;
        let secret = client.secret.clone().unwrap();
        for endpoint in ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"] {
            let tokens = app.code_flow(&client, &user, "openid").await;
            let refresh = tokens["refresh_token"].as_str().unwrap();
            let form: Vec<(&str, &str)> = match endpoint {
                "/oauth2/token" => vec![("grant_type", "refresh_token"), ("refresh_token", refresh)],
                _ => vec![("token", refresh)],
            };
            let basic = app
                .client
                .post(app.url(endpoint))
                .basic_auth(&client.id, Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(basic.status(), StatusCode::OK, "{method} client, Basic, at {endpoint}");
            let tokens = app.code_flow(&client, &user, "openid").await;
            let refresh = tokens["refresh_token"].as_str().unwrap();
            let mut form: Vec<(&str, &str)> = match endpoint {
                "/oauth2/token" => vec![("grant_type", "refresh_token"), ("refresh_token", refresh)],
                _ => vec![("token", refresh)],
            };
            form.extend([("client_id", client.id.as_str()), ("client_secret", secret.as_str())]);
            let post = app.client.post(app.url(endpoint)).form(&form).send().await.unwrap();
            assert_eq!(post.status(), StatusCode::OK, "{method} client, body, at {endpoint}");
        }
    }
}

#[tokio::test]
async fn p_tok_10_11_12_13_request_rules() {
    let app = TestApp::spawn().await;
    let post_client = app
        .register(ClientSpec {
            name: Some("Posting".into()),
            redirect_uris: vec![RP1_CB.into()],
            grant_types: Some(vec!["client_credentials".into()]),
            scopes: Some(vec!["api:read".into()]),
            token_endpoint_auth_method: Some("client_secret_post".into()),
            ..ClientSpec::default()
        })
        .await;
    let secret = post_client.secret.clone().unwrap();

    // P-TOK-10: two authentication methods at once.
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(&post_client.id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("client_secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    // P-TOK-12: a secret in the URL, or a GET.
    let response = app
        .client
        .post(app.url(&format!("/oauth2/token?client_secret={secret}")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", post_client.id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app.client.get(app.url("/oauth2/token")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    // P-TOK-13.
    let svc = app.service_client().await;
    let c1 = app.first_party().await;
    for (client, form, error) in [
        (&svc, vec![("scope", "api:read")], "invalid_request"),
        (&svc, vec![("grant_type", "foo")], "unsupported_grant_type"),
        (
            &svc,
            vec![("grant_type", "password"), ("username", "a"), ("password", "b")],
            "unsupported_grant_type",
        ),
        (&c1, vec![("grant_type", "client_credentials")], "unauthorized_client"),
        (
            &svc,
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            "invalid_request",
        ),
    ] {
        let response = app.token(client, &form).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, error).await;
    }
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(&svc.id, svc.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn p_tok_11_secrets_with_reserved_characters_are_form_encoded_in_basic() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let svc = app.service_client().await;
    // Our secrets are URL-safe, so encoding changes nothing; a client that encodes anyway still works.
    let id: String = url::form_urlencoded::byte_serialize(svc.id.as_bytes()).collect();
    let secret: String = url::form_urlencoded::byte_serialize(svc.secret.as_deref().unwrap().as_bytes()).collect();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let response = app
        .client
        .post(app.url("/oauth2/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn p_idt_01_02_05_the_id_token() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let code = code_for(&app, &client, &user).await;
    let body: Value = app.token(&client, &code_form(&code)).await.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let header = decode_segment(id_token, 0);
    assert_eq!(header["alg"], "RS256");
    let claims = decode_segment(id_token, 1);
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["azp"], client.id.as_str());
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    let now = app.clock.now();
    assert!(claims["exp"].as_i64().unwrap() > now);
    assert!(claims["iat"].as_i64().unwrap() <= now && claims["iat"].as_i64().unwrap() > now - 300);
    assert!(claims["auth_time"].is_i64());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["acr"].is_string() && claims["sid"].is_string());
    let at_hash = tessera::tokens::id_token::at_hash(
        body["access_token"].as_str().unwrap(),
        tessera::tokens::keys::SigningAlg::Rs256,
    );
    assert_eq!(claims["at_hash"], at_hash.as_str());
    // P-IDT-07: profile claims come from userinfo, not the ID token.
    for claim in ["email", "preferred_username", "name"] {
        assert!(claims[claim].is_null(), "{claim}");
    }
}

#[tokio::test]
async fn p_idt_02b_03_no_nonce_no_claim_and_sub_is_stable_but_never_reused() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let client = app.first_party().await;
    let browser = app.browser();
    let to = browser.authorize_through(&client, &[], &user).await;
    let first = app.exchange(&client, &query_param(&to, "code").unwrap(), false).await;
    let claims = decode_segment(first["id_token"].as_str().unwrap(), 1);
    assert!(claims["nonce"].is_null());
    let again = app.code_flow(&client, &user, "openid").await;
    assert_eq!(
        decode_segment(again["id_token"].as_str().unwrap(), 1)["sub"],
        claims["sub"]
    );
    // A new account gets a new sub (ids are random, never reassigned).
    let other = app.signup("alice2").await;
    assert_ne!(other.id, user.id);
}
