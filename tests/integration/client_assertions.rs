//! RFC 7523 client authentication: `private_key_jwt` with EC P-256, Ed25519 and RSA keys, `client_secret_jwt`
//! with the sealed secret, each assertion's claims checked, a `jti` accepted once on any instance, the method a
//! client registered enforced, and registration of the keys through the admin API, the console, the CLI's
//! rules and dynamic registration.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::oidc::clients::ClientSpec;

use crate::oidc_support::*;
use crate::support::{TestApp, assert_error};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A key a client signs its assertions with.
pub enum SigningKey {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
    Hmac(Vec<u8>),
}

impl SigningKey {
    pub fn ec() -> Self {
        Self::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    pub fn ed() -> Self {
        Self::Ed(Ed25519KeyPair::generate().unwrap())
    }

    fn rsa() -> Self {
        Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Ec(_) => "ES256",
            Self::Ed(_) => "EdDSA",
            Self::Rsa(_) => "RS256",
            Self::Hmac(_) => "HS256",
        }
    }

    /// The public JWK, with `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            Self::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]), "kid": kid})
            }
            Self::Ed(pair) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()), "kid": kid}),
            Self::Rsa(pair) => {
                let public = pair.public_key();
                json!({"kty": "RSA", "kid": kid,
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero())})
            }
            Self::Hmac(_) => unreachable!("a secret has no public key"),
        }
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let signature = match self {
            Self::Ec(pair) => pair.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Self::Ed(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
            Self::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
                    .unwrap();
                signature
            }
            Self::Hmac(secret) => hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes())
                .as_ref()
                .to_vec(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The claims of a good assertion by `client_id` to `aud`, now.
pub fn claims(app: &TestApp, client_id: &str, aud: &str) -> Value {
    let now = app.clock.now();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
        "jti": uuid::Uuid::new_v4().to_string()})
}

fn token_endpoint(app: &TestApp) -> String {
    format!("{}/oauth2/token", app.state.config.issuer())
}

/// An assertion by `key` (header `kid` when given) with `claims`.
pub fn assertion(key: &SigningKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": key.alg(), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    key.sign(&header, claims)
}

/// `POST path` with a client assertion and `form`.
async fn post_assertion(app: &TestApp, path: &str, assertion: &str, form: &[(&str, &str)]) -> Response {
    let mut body = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    body.extend_from_slice(form);
    app.client.post(app.url(path)).form(&body).send().await.unwrap()
}

pub async fn cc_with(app: &TestApp, assertion: &str) -> Response {
    post_assertion(app, "/oauth2/token", assertion, &[("grant_type", "client_credentials")]).await
}

/// A client-credentials client of `method`, with `jwks` when given.
async fn jwt_client(app: &TestApp, method: &str, jwks: Option<Value>) -> TestClient {
    app.register(ClientSpec {
        name: Some("Assertion service".into()),
        grant_types: Some(vec!["client_credentials".into()]),
        scopes: Some(vec!["api:read".into()]),
        token_endpoint_auth_method: Some(method.into()),
        jwks,
        ..ClientSpec::default()
    })
    .await
}

#[tokio::test]
async fn ca_01_private_key_jwt_with_ec_ed25519_and_rsa_keys() {
    let app = TestApp::spawn().await;
    let (ec, ed, rsa) = (SigningKey::ec(), SigningKey::ed(), SigningKey::rsa());
    let client = jwt_client(
        &app,
        "private_key_jwt",
        Some(json!({"keys": [ec.jwk("ec"), ed.jwk("ed"), rsa.jwk("rsa")]})),
    )
    .await;
    assert!(client.secret.is_none(), "a private_key_jwt client has no secret");
    let issuer = app.state.config.issuer().to_owned();
    for (key, kid, aud) in [
        (&ec, Some("ec"), token_endpoint(&app)),
        (&ed, Some("ed"), issuer.clone()),
        (&rsa, Some("rsa"), token_endpoint(&app)),
        // Without a kid, every key of the algorithm is tried.
        (&ec, None, issuer.clone()),
    ] {
        let response = cc_with(&app, &assertion(key, kid, &claims(&app, &client.id, &aud))).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", key.alg());
        let body: Value = response.json().await.unwrap();
        let claims = crate::jwks::decode_segment(body["access_token"].as_str().unwrap(), 1);
        assert_eq!(claims["client_id"], client.id.as_str());
    }
    // The client_id beside the assertion must name the same client.
    let good = assertion(&ec, Some("ec"), &claims(&app, &client.id, &issuer));
    let response = post_assertion(
        &app,
        "/oauth2/token",
        &good,
        &[("grant_type", "client_credentials"), ("client_id", &client.id)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let other = jwt_client(&app, "private_key_jwt", Some(json!({"keys": [ec.jwk("ec")]}))).await;
    let response = post_assertion(
        &app,
        "/oauth2/token",
        &assertion(&ec, Some("ec"), &claims(&app, &client.id, &issuer)),
        &[("grant_type", "client_credentials"), ("client_id", &other.id)],
    )
    .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn ca_02_bad_stale_replayed_or_misaddressed_assertions_are_invalid_client() {
    let app = TestApp::spawn().await;
    let ec = SigningKey::ec();
    let client = jwt_client(&app, "private_key_jwt", Some(json!({"keys": [ec.jwk("ec")]}))).await;
    let issuer = app.state.config.issuer().to_owned();
    let good = || claims(&app, &client.id, &issuer);
    let now = app.clock.now();
    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut with = |what: &'static str, change: &dyn Fn(&mut Value)| {
        let mut claims = good();
        change(&mut claims);
        cases.push((what, assertion(&ec, Some("ec"), &claims)));
    };
    with("expired", &|c| c["exp"] = json!(now - 120));
    with("lives too long", &|c| c["exp"] = json!(now + 3_600));
    with("no exp", &|c| drop(c.as_object_mut().unwrap().remove("exp")));
    with("not yet valid", &|c| c["nbf"] = json!(now + 600));
    with("another audience", &|c| c["aud"] = json!("https://elsewhere.test"));
    with("iss is not the client", &|c| c["iss"] = json!("someone-else"));
    with("no jti", &|c| drop(c.as_object_mut().unwrap().remove("jti")));
    cases.push(("an unregistered key", assertion(&SigningKey::ec(), None, &good())));
    cases.push(("an unknown kid", assertion(&ec, Some("other"), &good())));
    cases.push((
        "alg none",
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(good().to_string())
        ),
    ));
    cases.push((
        "a critical extension",
        ec.sign(&json!({"alg": "ES256", "kid": "ec", "crit": ["exp"]}), &good()),
    ));
    cases.push(("not a JWT", "abc".into()));
    for (what, assertion) in cases {
        let response = cc_with(&app, &assertion).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{what}");
    }

    // A jti is accepted once: again here, or at another instance, is a replay.
    let once = assertion(&ec, Some("ec"), &good());
    assert_eq!(cc_with(&app, &once).await.status(), StatusCode::OK);
    assert_oauth_error(cc_with(&app, &once).await, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let sibling = app.spawn_sibling(|_| {}).await;
    assert_oauth_error(
        cc_with(&sibling, &once).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
    let fresh = assertion(&ec, Some("ec"), &good());
    assert_eq!(cc_with(&sibling, &fresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ca_03_client_secret_jwt_is_an_hmac_under_the_issued_secret() {
    let app = TestApp::spawn().await;
    let client = jwt_client(&app, "client_secret_jwt", None).await;
    let secret = client.secret.clone().expect("a client_secret_jwt client gets a secret");
    let key = SigningKey::Hmac(secret.clone().into_bytes());
    let issuer = app.state.config.issuer().to_owned();
    let response = cc_with(&app, &assertion(&key, None, &claims(&app, &client.id, &issuer))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token: Value = response.json().await.unwrap();

    // The secret is not accepted as such: the client registered for assertions.
    let response = app.token(&client, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let wrong = SigningKey::Hmac(b"not the secret".to_vec());
    let response = cc_with(&app, &assertion(&wrong, None, &claims(&app, &client.id, &issuer))).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // Introspection takes the assertion too, addressed to the introspection endpoint itself.
    let introspect = format!("{issuer}/oauth2/introspect");
    let response = post_assertion(
        &app,
        "/oauth2/introspect",
        &assertion(&key, None, &claims(&app, &client.id, &introspect)),
        &[("token", token["access_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true);

    // A rotated secret signs from then on; the old one no longer does.
    let rotated = app
        .state
        .oidc
        .clients
        .rotate_secret(&client.id, app.clock.now())
        .await
        .unwrap()
        .secret
        .unwrap();
    let response = cc_with(&app, &assertion(&key, None, &claims(&app, &client.id, &issuer))).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let key = SigningKey::Hmac(rotated.into_bytes());
    let response = cc_with(&app, &assertion(&key, None, &claims(&app, &client.id, &issuer))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn ca_04_one_method_per_request_and_the_registered_one() {
    let app = TestApp::spawn().await;
    let ec = SigningKey::ec();
    let keyed = jwt_client(&app, "private_key_jwt", Some(json!({"keys": [ec.jwk("ec")]}))).await;
    let issuer = app.state.config.issuer().to_owned();
    let good = assertion(&ec, Some("ec"), &claims(&app, &keyed.id, &issuer));
    let post = |form: Vec<(&'static str, String)>| {
        let request = app.client.post(app.url("/oauth2/token")).form(&form);
        async move { request.send().await.unwrap() }
    };
    let cc = ("grant_type", "client_credentials".to_owned());
    // An assertion without its type, or a type without an assertion.
    let response = post(vec![cc.clone(), ("client_assertion", good.clone())]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = post(vec![cc.clone(), ("client_assertion_type", ASSERTION_TYPE.into())]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    // RFC 7521 §4.2.1: an assertion type this server does not take.
    let response = post(vec![
        cc.clone(),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into(),
        ),
        ("client_assertion", good.clone()),
    ])
    .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    // An assertion and a secret at once.
    let response = post(vec![
        cc.clone(),
        ("client_assertion_type", ASSERTION_TYPE.into()),
        ("client_assertion", good.clone()),
        ("client_secret", "tss_whatever".into()),
    ])
    .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    // A private_key_jwt client presenting its id alone, and a secret client presenting an assertion.
    let response = post(vec![cc.clone(), ("client_id", keyed.id.clone())]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let svc = app.service_client().await;
    let hmac = SigningKey::Hmac(svc.secret.clone().unwrap().into_bytes());
    let response = cc_with(&app, &assertion(&hmac, None, &claims(&app, &svc.id, &issuer))).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    // The good assertion still works: nothing above spent it.
    assert_eq!(cc_with(&app, &good).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ca_05_keys_are_registered_checked_and_shown_through_the_admin_api() {
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
    let base = |extra: Value| {
        let mut body = json!({"name": "Keyed", "grant_types": ["client_credentials"], "scopes": ["api:read"]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let ed = SigningKey::ed();
    let mut private = ed.jwk("ed");
    private["d"] = json!("AAAA");
    for (what, body) in [
        (
            "no keys",
            base(json!({"token_endpoint_auth_method": "private_key_jwt"})),
        ),
        (
            "a private key",
            base(json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [private]}})),
        ),
        (
            "keys for a secret client",
            base(json!({"token_endpoint_auth_method": "client_secret_basic", "jwks": {"keys": [ed.jwk("ed")]}})),
        ),
        (
            "an unknown method",
            base(json!({"token_endpoint_auth_method": "tls_client_auth"})),
        ),
    ] {
        let body = assert_error(
            create(body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            body.to_string().contains("jwks") || what == "an unknown method",
            "{what}: {body}"
        );
    }
    let response = create(base(
        json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [ed.jwk("ed")]}}),
    ))
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(body["client_secret"].is_null());
    assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(body["jwks"]["keys"][0]["kid"], "ed");
    let id = body["client_id"].as_str().unwrap();
    let issuer = app.state.config.issuer().to_owned();
    let response = cc_with(&app, &assertion(&ed, Some("ed"), &claims(&app, id, &issuer))).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Moving the client to client_secret_jwt issues a secret and drops the keys.
    let response = app
        .client
        .put(app.url(&format!("/api/v1/admin/clients/{id}")))
        .bearer_auth(&admin)
        .json(&base(json!({"token_endpoint_auth_method": "client_secret_jwt"})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["jwks"].is_null());
    let secret = body["client_secret"].as_str().expect("a new secret").to_owned();
    let key = SigningKey::Hmac(secret.into_bytes());
    assert_eq!(
        cc_with(&app, &assertion(&key, None, &claims(&app, id, &issuer)))
            .await
            .status(),
        StatusCode::OK
    );

    // Discovery lists both methods and the algorithms.
    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for member in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        let methods = discovery[member].as_array().unwrap();
        assert!(methods.contains(&json!("private_key_jwt")) && methods.contains(&json!("client_secret_jwt")));
    }
    let algs = discovery["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    for alg in ["ES256", "EdDSA", "RS256", "HS256"] {
        assert!(algs.contains(&json!(alg)), "{alg}");
    }
    assert!(!algs.contains(&json!("none")));
}

#[tokio::test]
async fn ca_06_the_console_sets_the_method_and_the_keys() {
    let app = TestApp::spawn().await;
    let svc = app.service_client().await;
    let browser = app.admin_browser().await;
    let page = browser.get(&format!("/admin/clients/{}", svc.id)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    let ec = SigningKey::ec();
    let form = |method: &str, jwks: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Service".to_owned()),
            ("grant_client_credentials", "on".to_owned()),
            ("scopes", "api:read".to_owned()),
            ("token_endpoint_auth_method", method.to_owned()),
            ("jwks", jwks.to_owned()),
            ("active", "on".to_owned()),
        ]
    };
    let response = browser
        .client
        .post(browser.url(&format!("/admin/clients/{}", svc.id)))
        .form(&form("private_key_jwt", "not json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("JWK Set"));
    let jwks = json!({"keys": [ec.jwk("ec")]}).to_string();
    let response = browser
        .client
        .post(browser.url(&format!("/admin/clients/{}", svc.id)))
        .form(&form("private_key_jwt", &jwks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let client = app.state.oidc.clients.get(&svc.id).await.unwrap();
    assert_eq!(client.auth_method.as_str(), "private_key_jwt");
    let issuer = app.state.config.issuer().to_owned();
    assert_eq!(
        cc_with(&app, &assertion(&ec, Some("ec"), &claims(&app, &svc.id, &issuer)))
            .await
            .status(),
        StatusCode::OK
    );
    // The old secret stopped working with the change of method.
    let response = app.token(&svc, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let page = browser
        .get(&format!("/admin/clients/{}", svc.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("private_key_jwt") && !page.contains("Rotate the secret"));
}

#[tokio::test]
async fn ca_07_the_cli_registers_a_private_key_jwt_client_from_a_key_file() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let ed = SigningKey::ed();
    let file = dir.path().join("keys.json");
    std::fs::write(&file, json!({"keys": [ed.jwk("ed")]}).to_string()).unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(dir.path())
            .env_clear()
            .env("TESSERA_DATABASE__URL", &app.database.url)
            .env("TESSERA_LOG__LEVEL", "warn")
            .args([
                "admin",
                "create-client",
                "--name",
                "Keyed CLI client",
                "--grant-type",
                "client_credentials",
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let output = cli(&[
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(printed["client_secret"].is_null());
    let id = printed["client_id"].as_str().unwrap();
    let issuer = app.state.config.issuer().to_owned();
    assert_eq!(
        cc_with(&app, &assertion(&ed, Some("ed"), &claims(&app, id, &issuer)))
            .await
            .status(),
        StatusCode::OK
    );
    // A missing file, and private_key_jwt without keys, are refused with a reason.
    let output = cli(&["--auth-method", "private_key_jwt", "--jwks-file", "absent.json"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("absent.json"));
    let output = cli(&["--auth-method", "private_key_jwt"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("jwks"));
}
