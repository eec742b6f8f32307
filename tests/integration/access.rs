//! Per-application access policy through the REST API: who may enter (open, registration, invite_only) and
//! how (password, e-mail code, SMS code), for new, known and non-member people — each signs in, is sent to
//! verification, or is refused with the documented code. Also the settings' validation, members, invitations,
//! guests, the code-entry timeout and the access link.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::jwks::decode_segment;
use crate::mfa::{Channels, app_with_channels};
use crate::standins::first_code;
use crate::support::{PASSWORD, TestApp, Tokens, assert_error, tokens_of};

const PHONE: &str = "+14155550101";
const OTHER_PHONE: &str = "+14155550102";

/// A test app with SMS and e-mail stand-ins, and one application with its own API key.
pub struct PolicyApp {
    pub app: TestApp,
    pub channels: Channels,
    pub admin: Tokens,
    /// The application's id and slug.
    pub id: String,
    pub slug: String,
    /// Sends the application's API key.
    pub client: reqwest::Client,
}

impl PolicyApp {
    /// An application with `policy` (the admin API's fields) on a server that can send SMS and e-mail.
    pub async fn start(policy: Value) -> Self {
        let (app, channels) = app_with_channels(|_| {}).await;
        let admin = app.admin_login().await;
        let mut body = json!({"name": "Shop"});
        body.as_object_mut()
            .unwrap()
            .extend(policy.as_object().unwrap().clone());
        let response = app
            .client
            .post(app.url("/api/v1/admin/apps"))
            .bearer_auth(&admin.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        let created: Value = response.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let slug = created["slug"].as_str().unwrap().to_owned();
        let key = app.create_api_key(&id, json!({"name": "shop"})).await;
        let client = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
        Self {
            app,
            channels,
            admin,
            id,
            slug,
            client,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.app.url(path)).json(body).send().await.unwrap()
    }

    /// A request with the application's key and a bearer token.
    pub fn with_bearer(&self, method: reqwest::Method, path: &str, bearer: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.app.url(path)).bearer_auth(bearer)
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> Response {
        self.app
            .client
            .post(self.app.url(path))
            .bearer_auth(&self.admin.access)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> Response {
        self.app
            .client
            .get(self.app.url(path))
            .bearer_auth(&self.admin.access)
            .send()
            .await
            .unwrap()
    }

    /// Makes someone a member (`{"email"}`, `{"username"}` or `{"phone"}`).
    pub async fn add_member(&self, who: Value) -> Value {
        let response = self
            .admin_post(&format!("/api/v1/admin/apps/{}/members", self.id), &who)
            .await;
        assert!(response.status().is_success(), "{:?}", response.text().await);
        response.json().await.unwrap()
    }

    /// `POST /api/v1/auth/code` for an address (with `@`) or a number.
    pub async fn start_code(&self, identifier: &str) -> Response {
        let field = if identifier.contains('@') { "email" } else { "phone" };
        self.post("/api/v1/auth/code", &json!({ field: identifier })).await
    }

    /// The flow token of a step's answer, asserting the step.
    pub async fn next_step(response: Response, step: &str) -> (String, Value) {
        assert_eq!(response.status().as_u16() / 100, 2, "a step answer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["next"], step, "{body}");
        assert!(
            body.get("access_token").is_none(),
            "no token before the sign-in completes: {body}"
        );
        (body["flow_token"].as_str().unwrap().to_owned(), body)
    }

    /// The code last sent to `destination` (an address or a number).
    pub async fn code_to(&self, destination: &str) -> String {
        if destination.contains('@') {
            self.channels.smtp.last_code_to(&destination.to_lowercase()).await
        } else {
            self.channels.twilio.last_code_to(destination)
        }
    }

    /// A complete code sign-in: the code goes out, comes back, and the answer is returned.
    pub async fn sign_in_by_code(&self, identifier: &str) -> Response {
        let (flow, _) = Self::next_step(self.start_code(identifier).await, "code").await;
        let code = self.code_to(identifier).await;
        self.post("/api/v1/auth/code/verify", &json!({"flow_token": flow, "code": code}))
            .await
    }

    pub async fn login_raw(&self, login: &str, password: &str) -> Response {
        self.post("/api/v1/auth/login", &json!({"login": login, "password": password}))
            .await
    }

    /// The claims of an access token.
    pub fn claims(access: &str) -> Value {
        decode_segment(access, 1)
    }
}

/// A quoted-printable message body with its soft line breaks and `=3D` undone.
fn unfolded(data: &str) -> String {
    data.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The token pair of a successful answer.
async fn signed_in(response: Response) -> (Tokens, Value) {
    assert_eq!(response.status(), StatusCode::OK, "signed in");
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");
    (tokens_of(&body), body)
}

fn registration() -> Value {
    json!({
        "access_mode": "registration",
        "login_methods": ["password", "email_code", "sms_code"],
        "verification_channels": ["email", "sms"],
    })
}

#[tokio::test]
async fn registration_by_password_proves_an_address_before_the_first_token() {
    let shop = PolicyApp::start(json!({
        "access_mode": "registration",
        "login_methods": ["password", "email_code"],
        "verification_channels": ["email"],
    }))
    .await;

    // New: signing up answers with the verification step, not tokens.
    let response = shop
        .post(
            "/api/v1/users",
            &json!({"username": "nora", "email": "nora@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["next"], "verification", "{body}");
    assert_eq!(body["channels"], json!(["email"]));
    assert_eq!(body["email"], "n•••a@example.org");
    assert!(body.get("access_token").is_none());
    let flow = body["flow_token"].as_str().unwrap().to_owned();

    // Known but unproven: a password sign-in gets the same step.
    let (again, _) = PolicyApp::next_step(shop.login_raw("nora", PASSWORD).await, "verification").await;
    assert_ne!(again, flow);

    // A number is not what this application counts.
    let response = shop
        .post(
            "/api/v1/auth/verify/send",
            &json!({"flow_token": flow, "channel": "sms", "phone": PHONE}),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "method_unavailable").await;
    let response = shop
        .post(
            "/api/v1/auth/verify/send",
            &json!({"flow_token": flow, "channel": "email"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let sent: Value = response.json().await.unwrap();
    assert_eq!(sent["expires_in"], 60, "the application's code-entry timeout");
    let response = shop
        .post("/api/v1/auth/verify", &json!({"flow_token": flow, "code": "000000"}))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let code = shop.code_to("nora@example.org").await;
    let (tokens, body) = signed_in(
        shop.post("/api/v1/auth/verify", &json!({"flow_token": flow, "code": code}))
            .await,
    )
    .await;
    assert_eq!(body["user"]["email_verified"], true);
    assert_eq!(PolicyApp::claims(&tokens.access)["amr"], json!(["pwd"]));

    // Proven once, signed in at once from now on; the other flow is spent or useless.
    signed_in(shop.login_raw("nora@example.org", PASSWORD).await).await;
}

#[tokio::test]
async fn registration_by_email_code_signs_up_new_people_and_signs_in_known_ones() {
    let shop = PolicyApp::start(registration()).await;

    // New: the verified code makes the account, its address proven.
    let (tokens, body) = signed_in(shop.sign_in_by_code("Ada@Example.org").await).await;
    assert_eq!(body["user"]["email"], "ada@example.org");
    assert_eq!(body["user"]["email_verified"], true);
    assert!(body["user"]["username"].as_str().unwrap().starts_with("user-"));
    let claims = PolicyApp::claims(&tokens.access);
    assert_eq!(claims["amr"], json!(["otp"]));
    assert_eq!(claims["acr"], "1");
    let sub = claims["sub"].clone();

    // Known: the same account.
    shop.app.advance_clock(Duration::from_secs(31));
    let (tokens, _) = signed_in(shop.sign_in_by_code("ada@example.org").await).await;
    assert_eq!(PolicyApp::claims(&tokens.access)["sub"], sub);

    // A known account with a password and an unproven address: the code proves it — and the password set
    // before anyone proved the address goes, with every sign-in made with it (pre-hijacking).
    shop.app.signup("bert").await;
    let squatter = shop.app.login("bert", PASSWORD).await;
    let (_, body) = signed_in(shop.sign_in_by_code("bert@example.org").await).await;
    assert_eq!(body["user"]["username"], "bert");
    assert_eq!(body["user"]["email_verified"], true);
    assert_error(
        shop.login_raw("bert", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let response = shop.app.refresh_raw(&squatter.refresh).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
}

#[tokio::test]
async fn registration_by_sms_code_signs_up_by_number_and_asks_for_the_channel_the_application_counts() {
    let shop = PolicyApp::start(registration()).await;
    let (tokens, body) = signed_in(shop.sign_in_by_code(PHONE).await).await;
    assert_eq!(body["user"]["phone"], PHONE);
    assert_eq!(body["user"]["email"], Value::Null);
    assert_eq!(PolicyApp::claims(&tokens.access)["amr"], json!(["sms"]));
    let message = shop.channels.twilio.sent().pop().unwrap();
    assert!(message.body.contains("expires in 1 minute."), "{}", message.body);

    // An application that counts only e-mail: the number signs up, then an address must be proven.
    let strict = PolicyApp::start(json!({
        "access_mode": "registration",
        "login_methods": ["sms_code"],
        "verification_channels": ["email"],
    }))
    .await;
    let (flow, body) = PolicyApp::next_step(strict.sign_in_by_code(PHONE).await, "verification").await;
    assert_eq!(body["email"], Value::Null, "the account has no address yet");
    let response = strict
        .post(
            "/api/v1/auth/verify/send",
            &json!({"flow_token": flow, "channel": "email"}),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let response = strict
        .post(
            "/api/v1/auth/verify/send",
            &json!({"flow_token": flow, "channel": "email", "email": "phoebe@example.org"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let code = strict.code_to("phoebe@example.org").await;
    let (_, body) = signed_in(
        strict
            .post("/api/v1/auth/verify", &json!({"flow_token": flow, "code": code}))
            .await,
    )
    .await;
    assert_eq!(body["user"]["email"], "phoebe@example.org");
    assert_eq!(body["user"]["phone"], PHONE);
}

#[tokio::test]
async fn invite_only_lets_in_members_and_refuses_everyone_else_alike() {
    let shop = PolicyApp::start(json!({
        "access_mode": "invite_only",
        "login_methods": ["password", "email_code", "sms_code"],
    }))
    .await;
    let member = shop.app.signup("mia").await;
    let outsider = shop.app.signup("otto").await;
    // An address nobody proved names no member: whoever registered it may not be its owner.
    let response = shop
        .admin_post(
            &format!("/api/v1/admin/apps/{}/members", shop.id),
            &json!({"email": member.email}),
        )
        .await;
    let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(error["fields"]["email"].as_str().unwrap().contains("invite"), "{error}");
    let added = shop.add_member(json!({"username": member.username})).await;
    assert_eq!(added["result"], "added");
    let created = shop.add_member(json!({"phone": PHONE})).await;
    assert_eq!(created["result"], "created");
    assert_eq!(
        shop.add_member(json!({"username": "mia"})).await["result"],
        "already_member"
    );

    // Password: the member signs in; the outsider is refused by name; nobody is a wrong password.
    signed_in(shop.login_raw("mia", PASSWORD).await).await;
    let response = shop.login_raw("otto", PASSWORD).await;
    let body = assert_error(response, StatusCode::FORBIDDEN, "not_a_member").await;
    assert!(body["detail"].as_str().unwrap().contains("administrator"), "{body}");
    assert_error(
        shop.login_raw("nobody", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    // No self-signup here.
    let response = shop
        .post(
            "/api/v1/users",
            &json!({"username": "eve", "email": "eve@example.org", "password": PASSWORD}),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "signup_closed").await;

    // E-mail code: the member signs in (the code proves the address).
    let (tokens, body) = signed_in(shop.sign_in_by_code(&member.email).await).await;
    assert_eq!(body["user"]["email_verified"], true);
    assert_eq!(PolicyApp::claims(&tokens.access)["sub"], member.id);
    // SMS code: the member the administrator added by number.
    let (_, body) = signed_in(shop.sign_in_by_code(PHONE).await).await;
    assert_eq!(body["user"]["id"], created["user"]["id"]);

    // A non-member and an unknown address get the same answer, and a notice instead of a code.
    let known = shop.start_code(&outsider.email).await;
    let unknown = shop.start_code("stranger@example.org").await;
    let (known_flow, known_body) = PolicyApp::next_step(known, "code").await;
    let (_, unknown_body) = PolicyApp::next_step(unknown, "code").await;
    let shape = |mut body: Value| {
        body.as_object_mut().unwrap().remove("flow_token");
        body["code_sent"].as_object_mut().unwrap().remove("destination");
        body
    };
    assert_eq!(shape(known_body), shape(unknown_body));
    for address in [outsider.email.as_str(), "stranger@example.org"] {
        let mail = shop.channels.smtp.last_to(address).await;
        assert!(unfolded(&mail.data).contains("has no access"), "{}", mail.data);
        assert!(
            first_code(&mail.data).is_none(),
            "no code for someone who may not enter"
        );
    }
    let response = shop
        .post(
            "/api/v1/auth/code/verify",
            &json!({"flow_token": known_flow, "code": "123456"}),
        )
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    // By number too.
    let (_, body) = PolicyApp::next_step(shop.start_code(OTHER_PHONE).await, "code").await;
    assert_eq!(body["code_sent"]["channel"], "sms");
    let text = shop.channels.twilio.sent().pop().unwrap();
    assert!(text.body.contains("has no access"), "{}", text.body);

    // Removing the member ends what it holds here. (Its code sign-in proved the address, so the password set
    // before that is gone: it signs in by code.)
    assert_error(
        shop.login_raw("mia", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    shop.app.advance_clock(Duration::from_secs(31));
    let (member_tokens, _) = signed_in(shop.sign_in_by_code(&member.email).await).await;
    let response = shop
        .app
        .client
        .delete(
            shop.app
                .url(&format!("/api/v1/admin/apps/{}/members/{}", shop.id, member.id)),
        )
        .bearer_auth(&shop.admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = shop
        .post("/api/v1/auth/refresh", &json!({"refresh_token": member_tokens.refresh}))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
    shop.app.advance_clock(Duration::from_secs(31));
    let (flow, _) = PolicyApp::next_step(shop.start_code(&member.email).await, "code").await;
    let response = shop
        .post(
            "/api/v1/auth/code/verify",
            &json!({"flow_token": flow, "code": "123456"}),
        )
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    // The outsider, added by name, signs in by password.
    shop.add_member(json!({"username": outsider.username})).await;
    signed_in(shop.login_raw(&outsider.username, PASSWORD).await).await;
}

#[tokio::test]
async fn open_applications_make_guests_that_can_register_and_keep_their_sub() {
    let shop = PolicyApp::start(json!({"access_mode": "open"})).await;
    let body: Value = shop
        .admin_get(&format!("/api/v1/admin/apps/{}", shop.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["login_methods"], json!([]));

    let (guest, body) = signed_in(shop.post("/api/v1/auth/guest", &json!({})).await).await;
    assert_eq!(body["user"]["email"], Value::Null);
    let claims = PolicyApp::claims(&guest.access);
    assert_eq!(claims["acr"], "0");
    assert!(claims.get("amr").is_none(), "a guest proved nothing: {claims}");
    let sub = claims["sub"].clone();
    // The device keeps its guest.
    let (again, _) = signed_in(
        shop.post("/api/v1/auth/guest", &json!({"refresh_token": guest.refresh}))
            .await,
    )
    .await;
    assert_eq!(PolicyApp::claims(&again.access)["sub"], sub);
    // Another device, another guest; no body at all works too.
    let response = shop
        .client
        .post(shop.app.url("/api/v1/auth/guest"))
        .send()
        .await
        .unwrap();
    let (other, _) = signed_in(response).await;
    assert_ne!(PolicyApp::claims(&other.access)["sub"], sub);

    // Codes are no method of an open application; accounts still sign in by password.
    assert_error(
        shop.start_code("someone@example.org").await,
        StatusCode::FORBIDDEN,
        "login_method_not_allowed",
    )
    .await;
    shop.app.signup("paula").await;
    signed_in(shop.login_raw("paula", PASSWORD).await).await;

    // The guest registers by proving an address: the same sub, no longer a guest.
    let response = shop
        .with_bearer(reqwest::Method::POST, "/api/v1/user/email/verify", &again.access)
        .json(&json!({"email": "gus@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let code = shop.code_to("gus@example.org").await;
    let response = shop
        .with_bearer(reqwest::Method::POST, "/api/v1/user/email/confirm", &again.access)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["id"], sub);
    assert_eq!(user["email"], "gus@example.org");
    assert_eq!(user["email_verified"], true);
    // … and can now sign in by password once it sets one.
    let response = shop
        .with_bearer(reqwest::Method::PUT, "/api/v1/user/password", &again.access)
        .json(&json!({"new_password": "a guest no longer 42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (tokens, _) = signed_in(shop.login_raw("gus@example.org", "a guest no longer 42").await).await;
    assert_eq!(PolicyApp::claims(&tokens.access)["sub"], sub);

    // Other applications do not make guests.
    let response = shop.app.post_json("/api/v1/auth/guest", &json!({})).await;
    assert_error(response, StatusCode::FORBIDDEN, "guests_not_allowed").await;
}

#[tokio::test]
async fn a_sign_in_code_lives_exactly_the_applications_timeout() {
    let shop = PolicyApp::start(json!({
        "access_mode": "registration",
        "login_methods": ["email_code"],
        "verification_channels": ["email"],
        "code_ttl_secs": 45,
    }))
    .await;
    let (flow, body) = PolicyApp::next_step(shop.start_code("tim@example.org").await, "code").await;
    assert_eq!(body["code_sent"]["expires_in"], 45);
    let code = shop.code_to("tim@example.org").await;
    shop.app.advance_clock(Duration::from_secs(45));
    let response = shop
        .post("/api/v1/auth/code/verify", &json!({"flow_token": flow, "code": code}))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "code_expired").await;

    let (flow, _) = PolicyApp::next_step(shop.start_code("tim@example.org").await, "code").await;
    let code = shop.code_to("tim@example.org").await;
    shop.app.advance_clock(Duration::from_secs(44));
    signed_in(
        shop.post("/api/v1/auth/code/verify", &json!({"flow_token": flow, "code": code}))
            .await,
    )
    .await;
}

#[tokio::test]
async fn code_sign_in_answers_alike_for_known_and_unknown_addresses_and_cools_down_per_address() {
    // Sign-up closed for everyone: an unknown address may not sign up, yet its answer is the same.
    let shop = PolicyApp::start(registration()).await;
    let known = shop.app.signup("kim").await;
    let (flow, known_body) = PolicyApp::next_step(shop.start_code(&known.email).await, "code").await;
    let (_, unknown_body) = PolicyApp::next_step(shop.start_code("new@example.org").await, "code").await;
    assert_eq!(
        known_body["code_sent"]["expires_in"],
        unknown_body["code_sent"]["expires_in"]
    );
    assert_eq!(known_body["code_sent"]["sent"], unknown_body["code_sent"]["sent"]);

    // Asking again at once is refused alike, whoever the address belongs to.
    let again_known = shop.start_code(&known.email).await;
    let again_unknown = shop.start_code("new@example.org").await;
    assert_eq!(again_known.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(again_unknown.status(), StatusCode::TOO_MANY_REQUESTS);
    // Resend follows the same cool-down.
    let response = shop
        .post("/api/v1/auth/code/resend", &json!({"flow_token": flow}))
        .await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "otp_rate_limited").await;
    shop.app.advance_clock(Duration::from_secs(30));
    let response = shop
        .post("/api/v1/auth/code/resend", &json!({"flow_token": flow}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // Bad input is a named field, never a step.
    let response = shop
        .post("/api/v1/auth/code", &json!({"email": "not an address"}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let response = shop.post("/api/v1/auth/code", &json!({"phone": "12345"})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let response = shop
        .post("/api/v1/auth/code", &json!({"email": "a@example.org", "phone": PHONE}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // A flow belongs to its application: another API key cannot continue it.
    let response = shop
        .app
        .post_json(
            "/api/v1/auth/code/verify",
            &json!({"flow_token": flow, "code": "123456"}),
        )
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;
}

#[tokio::test]
async fn invalid_policies_are_refused_with_the_field_that_is_wrong() {
    // No SMS provider here: only e-mail can carry codes.
    let app = TestApp::spawn_with(|config| {
        config.email.transport = tessera::config::EmailTransport::Log;
        config.email.from = "Tessera <no-reply@tessera.test>".into();
    })
    .await;
    let admin = app.admin_login().await;
    let created = app.create_application(json!({"name": "Plain"})).await;
    // A new application starts with today's rules: registration by password, no proof asked.
    assert_eq!(created["access_mode"], "registration");
    assert_eq!(created["login_methods"], json!(["password"]));
    assert_eq!(created["verification_channels"], json!([]));
    assert_eq!(created["code_ttl_secs"], 60);
    let path = format!("/api/v1/admin/apps/{}", created["id"].as_str().unwrap());
    let patch = |body: Value| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&admin.access)
            .json(&body)
            .send()
    };
    for (body, field) in [
        (
            json!({"access_mode": "open", "login_methods": ["password"]}),
            "login_methods",
        ),
        (json!({"access_mode": "registration"}), "verification_channels"),
        (json!({"login_methods": ["sms_code"]}), "login_methods"),
        (json!({"verification_channels": ["sms"]}), "verification_channels"),
        (json!({"login_methods": []}), "login_methods"),
        (json!({"code_ttl_secs": 29}), "code_ttl_secs"),
        (json!({"code_ttl_secs": 601}), "code_ttl_secs"),
        (json!({"access_mode": "closed"}), "access_mode"),
        (json!({"home_client_id": "no-such-client"}), "home_client_id"),
    ] {
        let response = patch(body.clone()).await.unwrap();
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(error["fields"].get(field).is_some(), "{body} → {error}");
    }
    let response = patch(json!({
        "access_mode": "registration",
        "login_methods": ["password", "email_code"],
        "verification_channels": ["email"],
        "code_ttl_secs": 120,
    }))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["login_methods"], json!(["password", "email_code"]));
    assert_eq!(body["code_ttl_secs"], 120);
    // Renaming keeps the policy; becoming open drops the methods.
    let body: Value = patch(json!({"name": "Renamed"})).await.unwrap().json().await.unwrap();
    assert_eq!(body["verification_channels"], json!(["email"]));
    let body: Value = patch(json!({"access_mode": "open"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["login_methods"], json!([]));
    assert_eq!(body["verification_channels"], json!([]));

    // The default application keeps today's behaviour.
    let body: Value = app
        .client
        .get(app.url("/api/v1/admin/apps/default"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["access_mode"], "registration");
    assert_eq!(body["verification_channels"], json!([]));
}

#[tokio::test]
async fn members_are_imported_in_bulk_and_every_row_is_answered() {
    let shop = PolicyApp::start(json!({"access_mode": "invite_only", "login_methods": ["email_code"]})).await;
    shop.app.signup("ivy").await;
    let path = format!("/api/v1/admin/apps/{}/members/import", shop.id);
    let response = shop
        .admin_post(
            &path,
            &json!({"members": [
                {"username": "ivy"},
                {"email": "new@example.org", "username": "newbie"},
                {"phone": "12"},
                {"username": "ivy"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["added"], 1);
    assert_eq!(report["created"], 1);
    assert_eq!(report["failed"], 1);
    assert_eq!(report["already_member"], 1);
    assert_eq!(report["rows"][2]["code"], "validation_failed");
    assert!(report["rows"][2]["detail"].as_str().unwrap().contains("phone"));

    let csv = "email,username,phone\ncsv@example.org,csvuser,\n,,+14155550199\nbad,,\n";
    let response = shop
        .app
        .client
        .post(shop.app.url(&path))
        .bearer_auth(&shop.admin.access)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["failed"], 1);
    assert_eq!(report["rows"][2]["row"], 3);
    let response = shop
        .app
        .client
        .post(shop.app.url(&path))
        .bearer_auth(&shop.admin.access)
        .header("content-type", "text/csv")
        .body("mail\nx@example.org\n")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let members: Value = shop
        .admin_get(&format!("/api/v1/admin/apps/{}/members?per_page=2&page=2", shop.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    // The imported members sign in.
    signed_in(shop.sign_in_by_code("csv@example.org").await).await;
}

#[tokio::test]
async fn an_invitation_makes_a_member_once() {
    let shop = PolicyApp::start(json!({"access_mode": "invite_only", "login_methods": ["password"]})).await;
    let path = format!("/api/v1/admin/apps/{}/invitations", shop.id);
    let response = shop.admin_post(&path, &json!({"email": "Ina@Example.org"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let invitation: Value = response.json().await.unwrap();
    assert_eq!(invitation["sent"], true);
    assert_eq!(invitation["email"], "ina@example.org");
    let link = invitation["link"].as_str().unwrap().to_owned();
    let mail = shop.channels.smtp.last_to("ina@example.org").await;
    assert!(
        unfolded(&mail.data).contains(&link),
        "the mail carries the link: {}",
        mail.data
    );
    let listed: Value = shop.admin_get(&path).await.json().await.unwrap();
    assert!(listed[0].get("link").is_none(), "the link is shown once");

    let browser = shop.app.browser();
    let page = browser.get(&link).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Shop") && html.contains("ina@example.org"), "{html}");
    let csrf = crate::oidc_support::hidden(&html, "csrf").unwrap();
    let response = browser
        .client
        .post(&link)
        .form(&[("csrf", csrf.as_str()), ("username", "ina"), ("password", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a password is needed here"
    );
    let response = browser
        .client
        .post(&link)
        .form(&[("csrf", csrf.as_str()), ("username", "ina"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::oidc_support::location(&response), format!("/a/{}", shop.slug));
    let (_, body) = signed_in(shop.login_raw("ina", PASSWORD).await).await;
    assert_eq!(body["user"]["email_verified"], true, "the link proved the address");
    // Once only.
    assert_eq!(browser.get(&link).await.status(), StatusCode::NOT_FOUND);
    // Expired invitations do not open.
    let response = shop
        .admin_post(&path, &json!({"email": "late@example.org", "expires_in_days": 1}))
        .await;
    let late: Value = response.json().await.unwrap();
    shop.app.advance_clock(Duration::from_secs(24 * 3600));
    assert_eq!(
        browser.get(late["link"].as_str().unwrap()).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_access_link_and_its_qr_code() {
    let shop = PolicyApp::start(json!({"access_mode": "open"})).await;
    let body: Value = shop
        .admin_get(&format!("/api/v1/admin/apps/{}/access-link", shop.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["url"], shop.app.url(&format!("/a/{}", shop.slug)));
    let svg = shop
        .admin_get(&format!("/api/v1/admin/apps/{}/access-link.svg", shop.id))
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().starts_with("<svg"));
    let png = shop
        .admin_get(&format!("/api/v1/admin/apps/{}/access-link.png", shop.id))
        .await;
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(&png.bytes().await.unwrap()[1..4], b"PNG");
    // Administrators only.
    let user = shop.app.signup("uma").await;
    let tokens = shop.app.login(&user.username, PASSWORD).await;
    let response = shop
        .app
        .get_authorized(&format!("/api/v1/admin/apps/{}/access-link", shop.id), &tokens.access)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Open: the link signs a guest in at once.
    let browser = shop.app.browser();
    let response = browser.get(&format!("/a/{}", shop.slug)).await;
    assert_eq!(crate::oidc_support::location(&response), "/account");
    assert_eq!(browser.get("/account").await.status(), StatusCode::OK);
    // Unknown applications are a page, not a redirect.
    crate::oidc_support::assert_error_page(browser.get("/a/no-such-app").await).await;
}

#[tokio::test]
async fn after_a_code_by_text_message_the_phone_is_no_second_factor() {
    let shop = PolicyApp::start(registration()).await;
    let user = shop.app.signup("tess").await;
    let session = shop.app.login(&user.username, PASSWORD).await;
    let response = shop
        .app
        .post_bearer("/api/v1/user/phone", &session.access, &json!({"phone": PHONE}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let code = shop.channels.twilio.last_code_to(PHONE);
    let response = shop
        .app
        .post_bearer("/api/v1/user/phone/confirm", &session.access, &json!({"code": code}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (secret, _) = shop.app.enroll_totp(&session.access).await;

    shop.app.advance_clock(Duration::from_secs(31));
    let (flow, body) = PolicyApp::next_step(shop.sign_in_by_code(PHONE).await, "second_factor").await;
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    // Neither sending nor answering by text message again passes the step.
    let response = shop
        .post(
            "/api/v1/auth/mfa/challenge",
            &json!({"mfa_token": flow, "method": "sms"}),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "method_unavailable").await;
    let response = shop
        .post(
            "/api/v1/auth/mfa",
            &json!({"mfa_token": flow, "method": "sms", "code": "123456"}),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "method_unavailable").await;
    shop.app.advance_clock(Duration::from_secs(30));
    let code = crate::mfa::totp_code(&secret, shop.app.clock.now());
    let (tokens, _) = signed_in(
        shop.post(
            "/api/v1/auth/mfa",
            &json!({"mfa_token": flow, "method": "totp", "code": code}),
        )
        .await,
    )
    .await;
    let claims = PolicyApp::claims(&tokens.access);
    assert_eq!(claims["amr"], json!(["sms", "otp", "mfa"]));
    assert_eq!(claims["acr"], "2");
}

#[tokio::test]
async fn tokens_stop_refreshing_when_the_policy_no_longer_lets_the_account_in() {
    // Today's rules: an account suffices.
    let shop = PolicyApp::start(json!({})).await;
    let user = shop.app.signup("fay").await;
    let (tokens, _) = signed_in(shop.login_raw(&user.username, PASSWORD).await).await;
    let response = shop
        .app
        .client
        .patch(shop.app.url(&format!("/api/v1/admin/apps/{}", shop.id)))
        .bearer_auth(&shop.admin.access)
        .json(&json!({"verification_channels": ["email"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = shop
        .post("/api/v1/auth/refresh", &json!({"refresh_token": tokens.refresh}))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "verification_required").await;
    // The refresh token was not spent: once the address is proven, it works.
    let (flow, _) = PolicyApp::next_step(shop.login_raw(&user.username, PASSWORD).await, "verification").await;
    shop.post(
        "/api/v1/auth/verify/send",
        &json!({"flow_token": flow, "channel": "email"}),
    )
    .await;
    let code = shop.code_to(&user.email).await;
    signed_in(
        shop.post("/api/v1/auth/verify", &json!({"flow_token": flow, "code": code}))
            .await,
    )
    .await;
    signed_in(
        shop.post("/api/v1/auth/refresh", &json!({"refresh_token": tokens.refresh}))
            .await,
    )
    .await;

    // Invite-only now: no member, no refresh, no private token.
    let private = shop
        .with_bearer(reqwest::Method::POST, "/api/v1/tokens", &tokens.access)
        .json(&json!({
            "description": "backup",
            "expires_at": tessera::clock::rfc3339(shop.app.clock.now() + 30 * 24 * 3600),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), StatusCode::CREATED);
    let private: Value = private.json().await.unwrap();
    let response = shop
        .app
        .client
        .patch(shop.app.url(&format!("/api/v1/admin/apps/{}", shop.id)))
        .bearer_auth(&shop.admin.access)
        .json(&json!({"access_mode": "invite_only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = shop
        .with_bearer(reqwest::Method::GET, "/api/v1/user", private["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "not_a_member").await;
}

#[tokio::test]
async fn guests_cannot_make_credentials_and_come_in_limited_numbers() {
    let (app, _channels) = app_with_channels(|config| config.apps.max_guests_per_ip_per_hour = 2).await;
    let admin = app.admin_login().await;
    let created: Value = app
        .client
        .post(app.url("/api/v1/admin/apps"))
        .bearer_auth(&admin.access)
        .json(&json!({"name": "Kiosk", "access_mode": "open"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = app
        .create_api_key(created["id"].as_str().unwrap(), json!({"name": "kiosk"}))
        .await;
    let kiosk = crate::applications::with_key(Some(key["key"].as_str().unwrap()));
    let guest = |client: reqwest::Client| {
        let url = app.url("/api/v1/auth/guest");
        async move { client.post(url).send().await.unwrap() }
    };
    let (tokens, _) = signed_in(guest(kiosk.clone()).await).await;
    let response = kiosk
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&tokens.access)
        .json(&json!({"description": "forever"}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "guest_account").await;
    let response = kiosk
        .post(app.url("/api/v1/user/mfa/totp"))
        .bearer_auth(&tokens.access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "guest_account").await;
    signed_in(guest(kiosk.clone()).await).await;
    assert_error(guest(kiosk).await, StatusCode::TOO_MANY_REQUESTS, "signup_rate_limited").await;
}

#[tokio::test]
async fn where_every_sign_in_needs_a_second_factor_a_code_alone_is_not_enough() {
    let (app, channels) = app_with_channels(|config| config.mfa.required = true).await;
    // The administrator needs a second factor too here: the application is made directly.
    let spec = tessera::apps::AppSpec {
        name: Some("Shop".into()),
        policy: tessera::apps::policy::PolicySpec {
            access_mode: Some("registration".into()),
            login_methods: Some(vec!["email_code".into()]),
            verification_channels: Some(vec!["email".into()]),
            ..Default::default()
        },
        ..Default::default()
    };
    let now = app.clock.now();
    let created = app.state.apps.create(spec, now).await.unwrap();
    let key = app
        .state
        .apps
        .create_api_key(&created.id, "s", None, now)
        .await
        .unwrap();
    let shop = crate::applications::with_key(Some(&key.key));
    let body: Value = shop
        .post(app.url("/api/v1/auth/code"))
        .json(&json!({"email": "zoe@example.org"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = channels.smtp.last_code_to("zoe@example.org").await;
    let response = shop
        .post(app.url("/api/v1/auth/code/verify"))
        .json(&json!({"flow_token": body["flow_token"], "code": code}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "second_factor_unavailable").await;
}
