//! Every way an upstream ID token can be wrong, against a stand-in provider (a second Tessera cannot be made
//! to sign bad tokens): it publishes the test key and answers its token endpoint with the ID token each case
//! makes — a wrong nonce, audience or issuer, an expired token, `alg: none`, a broken signature, HS256 with the
//! client secret — each refused with the error page and no account; a right one signs in. Also a Google
//! provider limited to a Workspace domain, keys fetched again for a key id not seen before, and the upstream's
//! name and trusted methods passed on.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::config::{EmailTransport, ProviderConfig, ProviderKind, Secret};
use tessera::oidc::clients::ClientSpec;
use tessera::store::external_identities;
use tessera::tokens::jwt;
use tessera::tokens::keyring::Signer;

use crate::oidc_support::{location, query_param};
use crate::support::{TestApp, test_key};

/// The stand-in provider: discovery, keys (set by the test), and a token endpoint answering what the test set.
struct StubIdp {
    base: String,
    jwks: Arc<Mutex<String>>,
    id_token: Arc<Mutex<String>>,
}

type StubState = (String, Arc<Mutex<String>>, Arc<Mutex<String>>);

impl StubIdp {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let jwks = Arc::new(Mutex::new(String::new()));
        let id_token = Arc::new(Mutex::new(String::new()));
        let state: StubState = (base.clone(), jwks.clone(), id_token.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/jwks", web::get().to(keys))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { base, jwks, id_token }
    }
}

async fn discovery(state: web::Data<StubState>) -> HttpResponse {
    let base = &state.0;
    HttpResponse::Ok().json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn keys(state: web::Data<StubState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.1.lock().unwrap().clone())
}

async fn token(state: web::Data<StubState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "access_token": "stub-access-token",
        "token_type": "Bearer",
        "expires_in": 60,
        "id_token": state.2.lock().unwrap().clone(),
    }))
}

/// How a case spoils the claims of a right ID token: in place (then signed as usual), or by making the token
/// itself.
type Spoil = Box<dyn Fn(&mut Value) -> Option<String>>;

fn segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A downstream Tessera offering the stand-in as `stub` (configured by `customize`) in an application; returns
/// the stand-in, the server and the application's slug.
async fn downstream(customize: impl FnOnce(&mut ProviderConfig) + Send + 'static) -> (StubIdp, TestApp, String) {
    let (stub, down, shop) = downstream_app(customize).await;
    (stub, down, shop["slug"].as_str().unwrap().to_owned())
}

/// [`downstream`], with the application as the admin API shows it.
async fn downstream_app(customize: impl FnOnce(&mut ProviderConfig) + Send + 'static) -> (StubIdp, TestApp, Value) {
    let stub = StubIdp::start();
    let issuer = stub.base.clone();
    let down = TestApp::spawn_with(move |config| {
        config.email.transport = EmailTransport::Log;
        let mut provider = ProviderConfig {
            id: "stub".into(),
            name: "Stub".into(),
            kind: ProviderKind::Oidc,
            issuer,
            client_id: "downstream".into(),
            client_secret: Secret::new("client-secret"),
            scopes: vec!["email".into()],
            email_claim: "email".into(),
            username_claim: "preferred_username".into(),
            name_claim: "name".into(),
            trusted_amr: Vec::new(),
            allowed_domains: Vec::new(),
            trust_email: false,
        };
        customize(&mut provider);
        config.federation.providers = vec![provider];
    })
    .await;
    // The downstream signs with the test key; the stand-in publishes the same key.
    *stub.jwks.lock().unwrap() = String::from_utf8(down.state.keys.jwks().to_vec()).unwrap();
    let shop = down
        .create_application(json!({
            "name": "Shop",
            "access_mode": "registration",
            "login_methods": ["password", "external"],
            "external_providers": ["stub"],
            "verification_channels": ["email"],
        }))
        .await;
    (stub, down, shop)
}

#[tokio::test]
async fn every_way_an_upstream_id_token_can_be_wrong_is_refused() {
    let (stub, down, slug) = downstream(|_| {}).await;
    let signer = Signer::from_material(&test_key()).unwrap();

    let cases: Vec<(&str, Spoil)> = vec![
        (
            "a wrong nonce",
            Box::new(|c: &mut Value| {
                c["nonce"] = json!("another");
                None
            }),
        ),
        (
            "another audience",
            Box::new(|c: &mut Value| {
                c["aud"] = json!("someone-else");
                None
            }),
        ),
        (
            "another issuer",
            Box::new(|c: &mut Value| {
                c["iss"] = json!("https://evil.test");
                None
            }),
        ),
        (
            "an expired token",
            Box::new(|c: &mut Value| {
                let now = c["iat"].as_i64().unwrap();
                c["iat"] = json!(now - 600);
                c["exp"] = json!(now - 300);
                None
            }),
        ),
        (
            "alg none",
            Box::new(|c: &mut Value| {
                Some(format!(
                    "{}.{}.",
                    segment(&json!({"alg": "none", "typ": "JWT"})),
                    segment(c)
                ))
            }),
        ),
        (
            "HS256 with the client secret",
            Box::new(|c: &mut Value| {
                let key = jsonwebtoken::EncodingKey::from_secret(b"client-secret");
                Some(jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), c, &key).unwrap())
            }),
        ),
    ];
    let browser = down.browser();
    // A round trip begun: the `state` and `nonce` sent upstream.
    let start = || async {
        let started = browser.get(&format!("/federation/stub/start?app={slug}")).await;
        let upstream = location(&started);
        (
            query_param(&upstream, "state").unwrap(),
            query_param(&upstream, "nonce").unwrap(),
        )
    };
    let claims = |nonce: &str| {
        let now = down.clock.now();
        json!({"iss": stub.base, "sub": "stub-user", "aud": "downstream", "iat": now, "exp": now + 60, "nonce": nonce})
    };
    for (what, mutate) in &cases {
        let (state, nonce) = start().await;
        let mut made = claims(&nonce);
        let token = match mutate(&mut made) {
            Some(token) => token,
            None => jwt::sign(&signer, "JWT", &made).unwrap(),
        };
        *stub.id_token.lock().unwrap() = token;
        let response = browser
            .get(&format!("/federation/stub/callback?code=c&state={state}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{what}");
    }
    // A broken signature.
    let (state, nonce) = start().await;
    let good = jwt::sign(&signer, "JWT", &claims(&nonce)).unwrap();
    let (head, tail) = good.split_at(good.len() - 2);
    let flipped = if tail.starts_with('A') { "B" } else { "A" };
    *stub.id_token.lock().unwrap() = format!("{head}{flipped}{}", &tail[1..]);
    let response = browser
        .get(&format!("/federation/stub/callback?code=c&state={state}"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "a broken signature");
    let none = external_identities::find(&down.state.db, stub.base.clone(), "stub-user".into()).await;
    assert!(none.unwrap().is_none(), "no identity was kept");

    // The right token signs in.
    let (state, nonce) = start().await;
    *stub.id_token.lock().unwrap() = jwt::sign(&signer, "JWT", &claims(&nonce)).unwrap();
    let response = browser
        .get(&format!("/federation/stub/callback?code=c&state={state}"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
    let kept = external_identities::find(&down.state.db, stub.base.clone(), "stub-user".into()).await;
    assert!(kept.unwrap().is_some());
}

/// A Google provider limited to a domain admits only accounts of that Workspace domain (`hd`), not a personal
/// account that verified an address of the domain.
#[tokio::test]
async fn a_google_provider_limited_to_a_domain_needs_its_workspace() {
    let (stub, down, slug) = downstream(|provider| {
        provider.kind = ProviderKind::Google;
        provider.allowed_domains = vec!["corp.test".into()];
    })
    .await;
    let signer = Signer::from_material(&test_key()).unwrap();
    let browser = down.browser();
    for (hd, expected) in [
        (None, StatusCode::FORBIDDEN),
        (Some("corp.test"), StatusCode::SEE_OTHER),
    ] {
        let started = browser.get(&format!("/federation/stub/start?app={slug}")).await;
        let upstream = location(&started);
        let state = query_param(&upstream, "state").unwrap();
        let nonce = query_param(&upstream, "nonce").unwrap();
        let now = down.clock.now();
        let mut claims = json!({"iss": stub.base, "sub": "ana", "aud": "downstream", "iat": now, "exp": now + 60,
                                "nonce": nonce, "email": "ana@corp.test", "email_verified": true});
        if let Some(hd) = hd {
            claims["hd"] = json!(hd);
        }
        *stub.id_token.lock().unwrap() = jwt::sign(&signer, "JWT", &claims).unwrap();
        let response = browser
            .get(&format!("/federation/stub/callback?code=c&state={state}"))
            .await;
        assert_eq!(response.status(), expected, "hd {hd:?}");
    }
}

/// The provider's keys are kept; a token signed with a key id not seen before fetches them again, once: a key
/// the provider has since published is found, one it never published is not.
#[tokio::test]
async fn a_new_upstream_key_is_fetched_once_when_a_token_names_it() {
    let (stub, down, slug) = downstream(|_| {}).await;
    let browser = down.browser();
    let round_trip = |signer: Signer| {
        let browser = &browser;
        let stub = &stub;
        let slug = &slug;
        let down = &down;
        async move {
            let started = browser.get(&format!("/federation/stub/start?app={slug}")).await;
            let upstream = location(&started);
            let state = query_param(&upstream, "state").unwrap();
            let nonce = query_param(&upstream, "nonce").unwrap();
            let now = down.clock.now();
            let claims = json!({"iss": stub.base, "sub": "kai", "aud": "downstream", "iat": now, "exp": now + 60,
                                "nonce": nonce});
            *stub.id_token.lock().unwrap() = jwt::sign(&signer, "JWT", &claims).unwrap();
            browser
                .get(&format!("/federation/stub/callback?code=c&state={state}"))
                .await
                .status()
        }
    };
    let first = Signer::from_material(&test_key()).unwrap();
    assert_eq!(round_trip(first).await, StatusCode::SEE_OTHER, "the published key");

    // The provider rotates: a new key, published beside the old one after Tessera fetched its keys.
    let rotated = tessera::tokens::keys::KeyMaterial::generate(2048).unwrap();
    let published: Value = serde_json::from_str(&stub.jwks.lock().unwrap()).unwrap();
    let mut keys = published["keys"].as_array().unwrap().clone();
    keys.push(rotated.jwk());
    *stub.jwks.lock().unwrap() = json!({"keys": keys}).to_string();
    let signer = Signer::from_material(&rotated).unwrap();
    assert_eq!(
        round_trip(signer).await,
        StatusCode::SEE_OTHER,
        "the new key, fetched again"
    );

    let never = tessera::tokens::keys::KeyMaterial::generate(2048).unwrap();
    let signer = Signer::from_material(&never).unwrap();
    assert_eq!(
        round_trip(signer).await,
        StatusCode::BAD_GATEWAY,
        "a key never published"
    );
}

/// The methods the provider is trusted for reach the tokens' `amr` beside `fed` (the others do not), and the
/// upstream's `name` becomes the new account's display name.
#[tokio::test]
async fn an_upstreams_trusted_methods_and_name_reach_the_tokens_and_the_account() {
    let (stub, down, shop) = downstream_app(|provider| provider.trusted_amr = vec!["mfa".into()]).await;
    let app_id = shop["id"].as_str().unwrap();
    let client = down
        .register(ClientSpec {
            application: Some(app_id.to_owned()),
            name: Some("Shop Web".into()),
            redirect_uris: vec![down.url("/health/live")],
            first_party: true,
            ..ClientSpec::default()
        })
        .await;
    let key = down.create_api_key(app_id, json!({"name": "shop"})).await;
    let api = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    let started: Value = api
        .post(down.url("/api/v1/auth/external"))
        .json(&json!({"provider": "stub", "client_id": client.id, "redirect_uri": client.redirect_uri}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upstream = started["authorization_url"].as_str().unwrap();
    let state = query_param(upstream, "state").unwrap();
    let nonce = query_param(upstream, "nonce").unwrap();
    let now = down.clock.now();
    let claims = json!({"iss": stub.base, "sub": "lia", "aud": "downstream", "iat": now, "exp": now + 60,
                        "nonce": nonce, "amr": ["pwd", "mfa", "hwk"], "name": "Lia Costa"});
    let signer = Signer::from_material(&test_key()).unwrap();
    *stub.id_token.lock().unwrap() = jwt::sign(&signer, "JWT", &claims).unwrap();
    let back = location(
        &down
            .browser()
            .get(&format!("/federation/stub/callback?code=c&state={state}"))
            .await,
    );
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("a code in {back}"));
    let tokens: Value = api
        .post(down.url("/api/v1/auth/external/complete"))
        .json(&json!({"flow_token": started["flow_token"], "code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap_or_else(|| panic!("{tokens}"));
    let claims = crate::jwks::decode_segment(access, 1);
    assert_eq!(claims["amr"], json!(["fed", "mfa"]), "{claims}");
    assert_eq!(claims["idp"], json!("stub"));
    let me: Value = api
        .get(down.url("/api/v1/user"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], json!("Lia Costa"), "{me}");
}
