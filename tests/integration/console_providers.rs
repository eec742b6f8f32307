//! Upstream providers in the administrators' console, with a second real Tessera on loopback as the upstream:
//! adding one (refusals shown on the form), editing it (an empty secret field keeps the secret), the
//! configuration file's shown but never changed, a test of the discovery URL that either shows what the
//! upstream publishes or says why it failed, deleting with a tick, each change audited, and the console's
//! guards (administrators only, the CSRF token).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::federation::Federated;
use crate::oidc_support::location;
use crate::support::TestApp;

/// The text of the element with `id`.
fn element(page: &str, id: &str) -> String {
    page.split(&format!("id=\"{id}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no #{id} in {page}"))
        .split('<')
        .next()
        .unwrap()
        .to_owned()
}

/// The add form's fields for a provider `id` at `issuer`, with `changes`.
fn provider_form<'a>(id: &'a str, issuer: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("id", id),
        ("name", "Corp"),
        ("kind", "oidc"),
        ("issuer", issuer),
        ("client_id", "downstream"),
        ("client_secret", "first-secret"),
        ("scopes", "email profile"),
        ("email_claim", "email"),
        ("username_claim", "preferred_username"),
        ("name_claim", "name"),
        ("trusted_amr", ""),
        ("allowed_domains", ""),
    ];
    for (name, value) in changes {
        form.retain(|(field, _)| field != name);
        form.push((name, value));
    }
    form
}

#[tokio::test]
async fn the_console_adds_edits_and_deletes_a_provider_with_each_change_audited() {
    let pair = Federated::start(json!({}), |_| {}).await;
    let (down, up_issuer) = (&pair.down, pair.up_base().to_owned());
    let admin = down.admin_browser().await;

    let response = admin.get("/admin/providers").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("/admin/providers/up") && page.contains("the configuration file"),
        "{page}"
    );
    assert!(page.contains(&down.state.federation.redirect_uri("up")), "{page}");

    // Bad settings are refused on the form, each naming its field; nothing is stored.
    let bad = provider_form(
        "Corp!",
        "http://login.example.test",
        &[("client_secret", ""), ("name_claim", " ")],
    );
    let response = admin.post_form("/admin/providers", &bad).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    for refusal in [
        "id: ",
        "issuer: ",
        "client_secret: is required",
        "name_claim: must name a claim",
    ] {
        assert!(page.contains(refusal), "{refusal}: {page}");
    }
    // The file's id is taken.
    let response = admin
        .post_form("/admin/providers", &provider_form("up", &up_issuer, &[]))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("id: another provider has it"));
    assert_eq!(down.state.federation.providers.all().await.unwrap().len(), 1);

    let response = admin
        .post_form("/admin/providers", &provider_form("corp", &up_issuer, &[]))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/providers/corp?done=created");
    let page = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(page.contains("The provider is added"), "{page}");
    assert_eq!(
        element(&page, "redirect-uri"),
        down.state.federation.redirect_uri("corp")
    );
    assert!(!page.contains("first-secret"), "the secret is never shown back");

    // An edit with the secret field empty keeps the secret.
    let edit = provider_form(
        "corp",
        &up_issuer,
        &[
            ("name", "Corp 2"),
            ("client_secret", ""),
            ("allowed_domains", "Example.org"),
        ],
    );
    let response = admin.post_form("/admin/providers/corp", &edit).await;
    assert_eq!(location(&response), "/admin/providers/corp?done=saved");
    let page = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(
        page.contains("<h1>Corp 2</h1>") && page.contains("The settings are saved"),
        "{page}"
    );
    let (stored, _) = down.state.federation.providers.find("corp").await.unwrap();
    assert_eq!(stored.client_secret.expose(), "first-secret");
    assert_eq!(stored.allowed_domains, ["example.org"]);
    // A refused edit shows what was sent and changes nothing; a new secret replaces the old.
    let refused = provider_form(
        "corp",
        &up_issuer,
        &[("name", "Corp 3"), ("scopes", "email"), ("kind", "saml")],
    );
    let response = admin.post_form("/admin/providers/corp", &refused).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("kind: must be google or oidc") && page.contains("value=\"Corp 3\""),
        "{page}"
    );
    let changed = provider_form(
        "corp",
        &up_issuer,
        &[("name", "Corp 2"), ("client_secret", "second-secret")],
    );
    let response = admin.post_form("/admin/providers/corp", &changed).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (stored, _) = down.state.federation.providers.find("corp").await.unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.client_secret.expose()),
        ("Corp 2", "second-secret")
    );

    // Deleting needs the tick, and an application offering it keeps it.
    let response = admin.post_form("/admin/providers/corp/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let tokens = down.admin_login().await;
    let offer = |providers: Value, methods: Value| {
        down.client
            .patch(down.url(&format!("/api/v1/admin/apps/{}", pair.app_id)))
            .bearer_auth(&tokens.access)
            .json(&json!({"login_methods": methods, "external_providers": providers}))
            .send()
    };
    let response = offer(json!(["corp"]), json!(["password", "external"])).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let response = admin
        .post_form("/admin/providers/corp/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("shop"));
    let response = offer(json!([]), json!(["password"])).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = admin
        .post_form("/admin/providers/corp/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(location(&response), "/admin/providers?done=deleted");
    assert_eq!(admin.get("/admin/providers/corp").await.status(), StatusCode::NOT_FOUND);

    let page = admin.get("/admin/audit?subject=corp").await.text().await.unwrap();
    for kind in ["provider.created", "provider.updated", "provider.deleted"] {
        assert!(page.contains(kind), "{kind} is not on the audit page");
    }
}

#[tokio::test]
async fn the_files_provider_is_read_only_and_the_discovery_test_says_what_it_found() {
    let pair = Federated::start(json!({}), |_| {}).await;
    let (down, up_issuer) = (&pair.down, pair.up_base().to_owned());
    let admin = down.admin_browser().await;

    let page = admin.get("/admin/providers/up").await.text().await.unwrap();
    assert!(page.contains("id=\"read-only\""), "{page}");
    assert!(
        !page.contains("action=\"/admin/providers/up\"") && !page.contains("/admin/providers/up/delete"),
        "no edit or delete form for the file's provider: {page}"
    );
    let edit = provider_form("up", &up_issuer, &[("name", "Renamed")]);
    let response = admin.post_form("/admin/providers/up", &edit).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("configuration file"));
    let response = admin
        .post_form("/admin/providers/up/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        down.state.federation.providers.find("up").await.unwrap().0.name,
        "Upstream"
    );

    // The upstream answers: its issuer, endpoints and keys.
    let response = admin.post_form("/admin/providers/up/test", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert_eq!(element(&page, "found-issuer"), up_issuer);
    assert_eq!(
        element(&page, "found-authorization"),
        format!("{up_issuer}/oauth2/authorize")
    );
    assert_eq!(element(&page, "found-token"), format!("{up_issuer}/oauth2/token"));
    assert!(element(&page, "found-keys").parse::<usize>().unwrap() >= 1, "{page}");

    // Nobody answers: the page says why, not a 500.
    let form = provider_form("gone", "http://127.0.0.1:9", &[]);
    let response = admin.post_form("/admin/providers", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = admin.post_form("/admin/providers/gone/test", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    let result = element(&page, "discovery-result");
    assert!(
        result.starts_with("The discovery failed: ") && result.contains("127.0.0.1:9"),
        "{result}"
    );

    let response = admin.post_form("/admin/providers/nowhere/test", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_administrators_with_the_browsers_token_change_providers() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    let browser = app.browser();
    browser.sign_in(&alice).await;
    assert_eq!(browser.get("/admin/providers").await.status(), StatusCode::FORBIDDEN);
    let form = provider_form("corp", "https://login.example.test", &[]);
    let response = browser.post_form("/admin/providers", &form).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let stranger = app.browser();
    assert_eq!(location(&stranger.get("/admin/providers").await), "/login");

    let admin = app.admin_browser().await;
    let mut forged = form.clone();
    forged.push(("csrf", "forged-token-forged-token-forged-token"));
    let response = admin
        .client
        .post(admin.url("/admin/providers"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(app.state.federation.providers.all().await.unwrap().is_empty());

    let response = admin.post_form("/admin/providers", &form).await;
    assert_eq!(location(&response), "/admin/providers/corp?done=created");
    let response = admin
        .client
        .post(admin.url("/admin/providers/corp/delete"))
        .form(&[("csrf", "forged-token-forged-token-forged-token"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(app.state.federation.providers.find("corp").await.is_ok());
}
