//! Second factors through the REST API, against local stand-ins for Twilio and an SMTP server: TOTP
//! enrollment and sign-in, replay and concurrency, attempt limits, recovery codes, SMS and e-mail codes,
//! phone and address verification, and the `amr`/`acr` the tokens record.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::config::{EmailTransport, Secret, SmsProvider, SmtpTls};
use totp_rs::{Algorithm, Builder};

use crate::jwks::decode_segment;
use crate::standins::{SmtpReceiver, Twilio};
use crate::support::{PASSWORD, TestApp, Tokens, assert_error, tokens_of};

pub const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio auth token";
const SENDER: &str = "+15005550006";
const PHONE: &str = "+14155552671";

/// The stand-ins a test app sends through.
pub struct Channels {
    pub twilio: Twilio,
    pub smtp: SmtpReceiver,
}

/// A test app whose SMS go to a Twilio stand-in and whose e-mail goes to a local SMTP receiver.
pub async fn app_with_channels(customize: impl FnOnce(&mut tessera::config::Config)) -> (TestApp, Channels) {
    let twilio = Twilio::start();
    let smtp = SmtpReceiver::start().await;
    let (base_url, port) = (twilio.base_url.clone(), smtp.port);
    let app = TestApp::spawn_with(move |config| {
        config.sms.provider = SmsProvider::Twilio;
        config.sms.account_sid = TWILIO_SID.into();
        config.sms.auth_token = Some(Secret::new(TWILIO_TOKEN));
        config.sms.from_number = SENDER.into();
        config.sms.base_url = base_url;
        config.email.transport = EmailTransport::Smtp;
        config.email.host = "127.0.0.1".into();
        config.email.port = port;
        config.email.tls = SmtpTls::None;
        config.email.from = "Tessera <no-reply@tessera.test>".into();
        customize(config);
    })
    .await;
    (app, Channels { twilio, smtp })
}

/// The code an authenticator app with `secret` shows at `at`.
pub fn totp_code(secret: &str, at: i64) -> String {
    let seed = totp_rs::Secret::try_from_base32(secret).unwrap();
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(seed)
        .build()
        .unwrap()
        .generate(at as u64)
        .to_string()
}

impl TestApp {
    pub async fn post_bearer(&self, path: &str, bearer: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn delete_bearer(&self, path: &str, bearer: &str, body: &Value) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Adds an authenticator to the account signed in with `access`; returns its secret and recovery codes.
    pub async fn enroll_totp(&self, access: &str) -> (String, Vec<String>) {
        let started: Value = self
            .post_bearer("/api/v1/user/mfa/totp", access, &json!({}))
            .await
            .json()
            .await
            .unwrap();
        let secret = started["secret"].as_str().expect("a secret").to_owned();
        let code = totp_code(&secret, self.clock.now());
        let response = self
            .post_bearer("/api/v1/user/mfa/totp/confirm", access, &json!({"code": code}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let codes = body["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        // The confirming code's step is spent; sign-ins in the same test use later steps.
        self.advance_clock(Duration::from_secs(30));
        (secret, codes)
    }

    /// Signs in with the password and expects a second-factor challenge; returns its `mfa_token`.
    pub async fn mfa_token(&self, login: &str) -> String {
        let response = self.login_raw(login, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["mfa_required"], true, "{body}");
        assert!(body.get("access_token").is_none() && body.get("refresh_token").is_none());
        body["mfa_token"].as_str().unwrap().to_owned()
    }

    pub async fn complete_mfa(&self, mfa_token: &str, method: &str, code: &str) -> Response {
        self.post_json(
            "/api/v1/auth/mfa",
            &json!({"mfa_token": mfa_token, "method": method, "code": code}),
        )
        .await
    }

    async fn send_mfa_code(&self, mfa_token: &str, method: &str) -> Response {
        self.post_json(
            "/api/v1/auth/mfa/challenge",
            &json!({"mfa_token": mfa_token, "method": method}),
        )
        .await
    }

    /// Verifies `phone` for the account signed in with `access`, reading the code from the Twilio stand-in.
    async fn verify_phone(&self, access: &str, twilio: &Twilio, phone: &str) {
        let response = self
            .post_bearer("/api/v1/user/phone", access, &json!({"phone": phone}))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let code = twilio.last_code_to(phone);
        let response = self
            .post_bearer("/api/v1/user/phone/confirm", access, &json!({"code": code}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

async fn signed_in(response: Response) -> Tokens {
    assert_eq!(response.status(), StatusCode::OK);
    tokens_of(&response.json().await.unwrap())
}

#[tokio::test]
async fn an_authenticator_app_is_enrolled_with_a_qr_code_and_then_required_at_sign_in() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;

    let response = app
        .post_bearer("/api/v1/user/mfa/totp", &session.access, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let started: Value = response.json().await.unwrap();
    let secret = started["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = started["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Tessera:alice%40example.org?"), "{uri}");
    assert!(
        uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Tessera"),
        "{uri}"
    );
    let png = STANDARD.decode(started["qr_png_base64"].as_str().unwrap()).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // Not on until a code confirms it.
    app.login("alice", PASSWORD).await;
    let response = app
        .post_bearer(
            "/api/v1/user/mfa/totp/confirm",
            &session.access,
            &json!({"code": "000000"}),
        )
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let code = totp_code(secret, app.clock.now());
    let response = app
        .post_bearer("/api/v1/user/mfa/totp/confirm", &session.access, &json!({"code": code}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let codes: Value = response.json().await.unwrap();
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);
    let response = app
        .post_bearer("/api/v1/user/mfa/totp", &session.access, &json!({}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "totp_already_enabled").await;

    let mfa_token = app.mfa_token("alice").await;
    // The code that confirmed the enrollment is spent: the same step never works twice.
    let response = app.complete_mfa(&mfa_token, "totp", &code).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    app.advance_clock(Duration::from_secs(30));
    let tokens = signed_in(
        app.complete_mfa(&mfa_token, "totp", &totp_code(secret, app.clock.now()))
            .await,
    )
    .await;
    let claims = decode_segment(&tokens.access, 1);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "2");
    let response = app
        .complete_mfa(&mfa_token, "totp", &totp_code(secret, app.clock.now() + 30))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;

    // Refreshing keeps what the sign-in proved, and adds nothing.
    let refreshed = tokens_of(&app.refresh_raw(&tokens.refresh).await.json().await.unwrap());
    assert_eq!(
        decode_segment(&refreshed.access, 1)["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    let status: Value = app
        .get_authorized("/api/v1/user/mfa", &refreshed.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status,
        json!({"methods": ["totp", "recovery_code"], "recovery_codes_left": 10})
    );

    // A password alone signs in with `pwd` only.
    app.signup("bob").await;
    let plain = app.login("bob", PASSWORD).await;
    let claims = decode_segment(&plain.access, 1);
    assert_eq!(
        (claims["amr"].clone(), claims["acr"].clone()),
        (json!(["pwd"]), json!("1"))
    );
}

#[tokio::test]
async fn codes_within_one_step_of_drift_pass_and_each_step_passes_once() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let (secret, _) = app.enroll_totp(&session.access).await;
    // One more step, so that t − 1 is not the step the enrollment spent.
    app.advance_clock(Duration::from_secs(30));
    let now = app.clock.now();

    for (offset, accepted) in [(-60, false), (60, false), (-30, true), (0, true), (30, true)] {
        let token = app.mfa_token("alice").await;
        let response = app
            .complete_mfa(&token, "totp", &totp_code(&secret, now + offset))
            .await;
        let expected = if accepted {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(response.status(), expected, "offset {offset}");
    }
    // Step t+1 was spent last: t and t−1 are now earlier steps and refused.
    let token = app.mfa_token("alice").await;
    let response = app.complete_mfa(&token, "totp", &totp_code(&secret, now)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
}

#[tokio::test]
async fn one_code_submitted_concurrently_signs_in_exactly_once() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let (secret, _) = app.enroll_totp(&session.access).await;
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(app.mfa_token("alice").await);
    }
    let code = totp_code(&secret, app.clock.now());
    let attempts = tokens.iter().map(|token| app.complete_mfa(token, "totp", &code));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test]
async fn wrong_codes_void_the_challenge_and_lock_the_account() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let (secret, _) = app.enroll_totp(&session.access).await;

    let token = app.mfa_token("alice").await;
    for _ in 0..5 {
        let response = app.complete_mfa(&token, "totp", "000000").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let response = app
        .complete_mfa(&token, "totp", &totp_code(&secret, app.clock.now()))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;
    // Five failures lock the account: the right password is refused like a wrong one…
    let response = app.login_raw("alice", PASSWORD).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    // …until the lock-out has passed. A correct password does not reset the count of guessed codes.
    app.advance_clock(Duration::from_secs(61));
    let token = app.mfa_token("alice").await;
    let response = app.complete_mfa(&token, "totp", "000000").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let response = app
        .complete_mfa(&token, "totp", &totp_code(&secret, app.clock.now()))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    app.advance_clock(Duration::from_secs(121));
    let token = app.mfa_token("alice").await;
    signed_in(
        app.complete_mfa(&token, "totp", &totp_code(&secret, app.clock.now()))
            .await,
    )
    .await;
    // Success clears the count.
    let token = app.mfa_token("alice").await;
    app.complete_mfa(&token, "totp", "000000").await;
    app.advance_clock(Duration::from_secs(30));
    signed_in(
        app.complete_mfa(&token, "totp", &totp_code(&secret, app.clock.now()))
            .await,
    )
    .await;
}

#[tokio::test]
async fn recovery_codes_work_once_each_and_can_be_replaced() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let (secret, codes) = app.enroll_totp(&session.access).await;

    let token = app.mfa_token("alice").await;
    let tokens = signed_in(
        app.complete_mfa(&token, "recovery_code", &codes[0].to_uppercase())
            .await,
    )
    .await;
    assert_eq!(decode_segment(&tokens.access, 1)["amr"], json!(["pwd", "otp", "mfa"]));
    let token = app.mfa_token("alice").await;
    let response = app.complete_mfa(&token, "recovery_code", &codes[0]).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    signed_in(app.complete_mfa(&token, "recovery_code", &codes[1]).await).await;

    let response = app
        .post_bearer(
            "/api/v1/user/mfa/recovery-codes",
            &tokens.access,
            &json!({"password": PASSWORD, "code": totp_code(&secret, app.clock.now())}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let fresh: Value = response.json().await.unwrap();
    let token = app.mfa_token("alice").await;
    let response = app.complete_mfa(&token, "recovery_code", &codes[2]).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let fresh_code = fresh["recovery_codes"][0].as_str().unwrap();
    signed_in(app.complete_mfa(&token, "recovery_code", fresh_code).await).await;
}

#[tokio::test]
async fn turning_the_authenticator_off_needs_the_password_and_a_current_code() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let (secret, _) = app.enroll_totp(&session.access).await;
    let code = totp_code(&secret, app.clock.now());

    let body = json!({"password": "not the password", "code": code});
    let response = app.delete_bearer("/api/v1/user/mfa/totp", &session.access, &body).await;
    assert_error(response, StatusCode::FORBIDDEN, "wrong_password").await;
    let body = json!({"password": PASSWORD, "code": "000000"});
    let response = app.delete_bearer("/api/v1/user/mfa/totp", &session.access, &body).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let body = json!({"password": PASSWORD});
    let response = app.delete_bearer("/api/v1/user/mfa/totp", &session.access, &body).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let body = json!({"password": PASSWORD, "code": code});
    let response = app.delete_bearer("/api/v1/user/mfa/totp", &session.access, &body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn factors_change_only_after_a_recent_password_sign_in() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    app.advance_clock(Duration::from_secs(16 * 60));
    let response = app
        .post_bearer("/api/v1/user/mfa/totp", &session.access, &json!({}))
        .await;
    // RFC 9470: the challenge says what sign-in would do.
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains(r#"error="insufficient_user_authentication""#) && challenge.contains("max_age=900"),
        "{challenge}"
    );
    assert_error(response, StatusCode::UNAUTHORIZED, "reauthentication_required").await;

    let fresh = app.login("alice", PASSWORD).await;
    let body = json!({"description": "ci", "expires_at": tessera::clock::rfc3339(app.clock.now() + 86400)});
    let created: Value = app
        .post_bearer("/api/v1/tokens", &fresh.access, &body)
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .post_bearer("/api/v1/user/mfa/totp", created["token"].as_str().unwrap(), &json!({}))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "interactive_login_required").await;
    let response = app
        .post_bearer(
            "/api/v1/user/mfa/totp/confirm",
            &fresh.access,
            &json!({"code": "123456"}),
        )
        .await;
    assert_error(response, StatusCode::CONFLICT, "totp_not_pending").await;
}

#[tokio::test]
async fn a_phone_is_verified_by_sms_through_twilio_and_then_a_factor() {
    let (app, channels) = app_with_channels(|_| {}).await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;

    let response = app
        .post_bearer("/api/v1/user/phone", &session.access, &json!({"phone": "415 555"}))
        .await;
    let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(error["fields"]["phone"].is_string());

    let response = app
        .post_bearer(
            "/api/v1/user/phone",
            &session.access,
            &json!({"phone": "+1 (415) 555-2671"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let answer = response.text().await.unwrap();
    let sent = channels.twilio.sent();
    let message = sent.last().unwrap();
    let code = channels.twilio.last_code_to(PHONE);
    assert!(!answer.contains(&code), "the code is never in a response: {answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["destination"], "+•••••••2671");
    assert_eq!(message.account, TWILIO_SID);
    assert_eq!(message.from.as_deref(), Some(SENDER));
    assert_eq!(message.messaging_service, None);
    let basic = format!("Basic {}", STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}")));
    assert_eq!(message.authorization, basic);
    assert!(message.body.contains("verify your phone number"), "{}", message.body);

    let response = app
        .post_bearer(
            "/api/v1/user/phone/confirm",
            &session.access,
            &json!({"code": "000000"}),
        )
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let response = app
        .post_bearer("/api/v1/user/phone/confirm", &session.access, &json!({"code": code}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["phone"], PHONE);

    // The phone is now a second factor, and the password sends its code at once.
    app.advance_clock(Duration::from_secs(30));
    let response = app.login_raw("alice", PASSWORD).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["methods"], json!(["sms"]));
    // A sign-in code lasts the application's code-entry timeout (60 s by default).
    assert_eq!(
        body["code_sent"],
        json!({"sent": true, "channel": "sms", "destination": "+•••••••2671", "expires_in": 60})
    );
    let token = body["mfa_token"].as_str().unwrap();
    // The verification code cannot complete a sign-in.
    let response = app.complete_mfa(token, "sms", &code).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let code = channels.twilio.last_code_to(PHONE);
    assert!(!body.to_string().contains(&code), "the code is never in a response");
    let tokens = signed_in(app.complete_mfa(token, "sms", &code).await).await;
    let claims = decode_segment(&tokens.access, 1);
    assert_eq!(claims["amr"], json!(["pwd", "sms", "mfa"]));
    assert_eq!(claims["acr"], "2");
}

#[tokio::test]
async fn sms_codes_are_single_use_bound_short_lived_and_limited() {
    let (app, channels) = app_with_channels(|_| {}).await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    app.verify_phone(&session.access, &channels.twilio, PHONE).await;
    app.advance_clock(Duration::from_secs(30));

    // The sign-in sends a code; a resend needs a pause, then makes a new code and voids the old one.
    let first = app.mfa_token("alice").await;
    let code_a = channels.twilio.last_code_to(PHONE);
    let response = app.send_mfa_code(&first, "sms").await;
    assert!(response.headers().contains_key("retry-after"));
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "otp_rate_limited").await;
    app.advance_clock(Duration::from_secs(30));
    assert_eq!(app.send_mfa_code(&first, "sms").await.status(), StatusCode::ACCEPTED);
    let code_b = channels.twilio.last_code_to(PHONE);
    if code_a != code_b {
        let response = app.complete_mfa(&first, "sms", &code_a).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }

    // A code belongs to its own sign-in; a newer sign-in's code replaces it.
    app.advance_clock(Duration::from_secs(30));
    let second = app.mfa_token("alice").await;
    let code_c = channels.twilio.last_code_to(PHONE);
    let response = app.complete_mfa(&second, "sms", &code_b).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    signed_in(app.complete_mfa(&second, "sms", &code_c).await).await;
    let response = app.complete_mfa(&second, "sms", &code_c).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;

    // Five minutes, then it is dead.
    app.advance_clock(Duration::from_secs(30));
    let fourth = app.mfa_token("alice").await;
    let late = channels.twilio.last_code_to(PHONE);
    app.advance_clock(Duration::from_secs(5 * 60 + 1));
    let response = app.complete_mfa(&fourth, "sms", &late).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;
    let third = app.mfa_token("alice").await;
    let response = app.complete_mfa(&third, "sms", &late).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;

    // Five sends per number per hour (against SMS pumping).
    let mut statuses = Vec::new();
    for _ in 0..5 {
        app.advance_clock(Duration::from_secs(31));
        statuses.push(app.send_mfa_code(&third, "sms").await.status());
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");

    // A number nobody verified is never a factor; e-mail is not offered for an unverified address.
    app.signup("bob").await;
    let bob = app.login("bob", PASSWORD).await;
    assert!(bob.access.starts_with("ey"));
}

#[tokio::test]
async fn twilio_errors_become_a_clear_502() {
    let (app, channels) = app_with_channels(|_| {}).await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    channels
        .twilio
        .fail_with(400, 21211, "The 'To' number +14155552671 is not a valid phone number.");
    let response = app
        .post_bearer("/api/v1/user/phone", &session.access, &json!({"phone": PHONE}))
        .await;
    assert_error(response, StatusCode::BAD_GATEWAY, "sms_delivery_failed").await;

    // A messaging service instead of a sender number.
    let (app, channels) = app_with_channels(|c| {
        c.sms.from_number = String::new();
        c.sms.messaging_service_sid = "MG0123".into();
    })
    .await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let response = app
        .post_bearer("/api/v1/user/phone", &session.access, &json!({"phone": PHONE}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let sent = channels.twilio.sent();
    assert_eq!(sent[0].messaging_service.as_deref(), Some("MG0123"));
    assert_eq!(sent[0].from, None);
}

#[tokio::test]
async fn the_email_address_is_verified_by_a_code_over_smtp_and_can_be_a_factor() {
    let (app, channels) = app_with_channels(|_| {}).await;
    let alice = app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;

    let response = app
        .post_bearer("/api/v1/user/email/verify", &session.access, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mail = channels.smtp.last_to(&alice.email).await;
    assert_eq!(mail.from, "no-reply@tessera.test");
    assert!(mail.data.contains("multipart/alternative"), "text and HTML parts");
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    let code = channels.smtp.last_code_to(&alice.email).await;
    let response = app
        .post_bearer("/api/v1/user/email/confirm", &session.access, &json!({"code": code}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["email_verified"], true);
    let response = app
        .post_bearer("/api/v1/user/email/confirm", &session.access, &json!({"code": code}))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;

    // With an authenticator, the verified address is a second way in.
    let (_, _) = app.enroll_totp(&session.access).await;
    let response = app.login_raw("alice", PASSWORD).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["methods"], json!(["totp", "email", "recovery_code"]));
    let token = body["mfa_token"].as_str().unwrap();
    assert_eq!(app.send_mfa_code(token, "email").await.status(), StatusCode::ACCEPTED);
    let code = channels.smtp.last_code_to(&alice.email).await;
    let tokens = signed_in(app.complete_mfa(token, "email", &code).await).await;
    assert_eq!(decode_segment(&tokens.access, 1)["amr"], json!(["pwd", "otp", "mfa"]));
    // A security notice reached the owner when the authenticator was added.
    let notices = channels
        .smtp
        .received()
        .into_iter()
        .filter(|m| m.data.contains("security notice"))
        .count();
    assert!(notices >= 1);
}

#[tokio::test]
async fn when_required_every_sign_in_needs_a_second_factor() {
    let (app, channels) = app_with_channels(|c| c.mfa.required = true).await;
    let alice = app.signup("alice").await;
    let token = app.mfa_token("alice").await;
    let response = app.login_raw("alice", PASSWORD).await;
    assert_eq!(response.json::<Value>().await.unwrap()["methods"], json!(["email"]));
    let response = app.send_mfa_code(&token, "sms").await;
    assert_error(response, StatusCode::BAD_REQUEST, "method_unavailable").await;
    assert_eq!(app.send_mfa_code(&token, "email").await.status(), StatusCode::ACCEPTED);
    let code = channels.smtp.last_code_to(&alice.email).await;
    signed_in(app.complete_mfa(&token, "email", &code).await).await;
}

/// Under `mfa.required` a self-service signup is a sign-in like any other: an `mfa_token`, no token pair, until
/// the second factor.
#[tokio::test]
async fn a_signup_under_mfa_required_answers_an_mfa_token_not_tokens() {
    let (app, channels) = app_with_channels(|c| c.mfa.required = true).await;
    let response = app.signup_raw("alice", "alice@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["mfa_required"], true);
    assert_eq!(body["methods"], json!(["email"]));
    for absent in ["access_token", "refresh_token"] {
        assert!(body.get(absent).is_none(), "{absent} before the second factor: {body}");
    }
    let token = body["mfa_token"].as_str().unwrap();
    assert_eq!(app.send_mfa_code(token, "email").await.status(), StatusCode::ACCEPTED);
    let code = channels.smtp.last_code_to("alice@example.org").await;
    let tokens = signed_in(app.complete_mfa(token, "email", &code).await).await;
    let claims = decode_segment(&tokens.access, 1);
    assert_eq!(claims["acr"], "2");
}

#[tokio::test]
async fn an_mfa_token_is_useless_anywhere_else() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let session = app.login("alice", PASSWORD).await;
    let (secret, _) = app.enroll_totp(&session.access).await;
    let token = app.mfa_token("alice").await;

    let response = app.get_authorized("/api/v1/user", &token).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let response = app.refresh_raw(&token).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_invalid").await;
    // Another application's key cannot complete it.
    app.create_application(json!({"name": "Billing", "slug": "billing"}))
        .await;
    let key = app.create_api_key("billing", json!({"name": "billing"})).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/mfa"))
        .header("x-api-key", key["key"].as_str().unwrap())
        .json(&json!({"mfa_token": token, "method": "totp", "code": totp_code(&secret, app.clock.now())}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;
    // It expires.
    app.advance_clock(Duration::from_secs(301));
    let response = app
        .complete_mfa(&token, "totp", &totp_code(&secret, app.clock.now()))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "mfa_token_invalid").await;
    let response = app.complete_mfa(&token, "carrier-pigeon", "123456").await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}
