//! A real relying party: the `openidconnect` crate's `CoreClient` drives discovery, the code flow with PKCE
//! and nonce through the HTML sign-in form, checks the ID token with `CoreIdTokenVerifier`, then userinfo,
//! refresh and logout.

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::oidc_support::*;
use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn the_openidconnect_crate_signs_in_refreshes_and_logs_out() {
    let app = TestApp::spawn().await;
    let user = app.signup("alice").await;
    let registered = app.first_party().await;
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();

    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(RP1_CB.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser part: follow the authorization URL through the sign-in form.
    let browser = app.browser();
    let response = browser.get(authorize_url.as_str()).await;
    let login = location(&response);
    let response = browser.submit_login(&login, &user, PASSWORD).await;
    let callback = location(&response);
    assert_eq!(query_param(&callback, "state").as_deref(), Some(csrf.secret().as_str()));
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(app.address.as_str()));
    let code = query_param(&callback, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("CoreIdTokenVerifier accepts the ID token");
    assert_eq!(claims.subject().as_str(), user.id);
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user.id);
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.org"));

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let refreshed_id = refreshed.id_token().expect("a refreshed ID token");
    let refreshed_claims = refreshed_id
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("verified");
    assert_eq!(refreshed_claims.subject(), claims.subject());
    assert_eq!(refreshed_claims.auth_time(), claims.auth_time());

    let response = browser
        .client
        .get(browser.url("/oauth2/logout"))
        .query(&[
            ("id_token_hint", refreshed_id.to_string().as_str()),
            ("post_logout_redirect_uri", RP1_LOGGED_OUT),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{RP1_LOGGED_OUT}?state=bye"));
    // offline_access was granted, so the refresh token outlives the browser session.
    let again = client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(again.is_ok(), "an offline grant survives logout");
}
