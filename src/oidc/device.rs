//! The device authorization grant's front half (RFC 8628 §3.1–3.3): a device asks for a device code and a user
//! code; the person types the user code into a browser, and from there it is an authorization request like any
//! other — the same sign-in, the same access policy of the client's application (`proceed`, `admit_to`) — that
//! ends on a page where the person approves or denies the device instead of with a redirect. The device's
//! polls are in `grants::device_code`; the state lives in `device_authorizations`, never in memory.

use serde::Serialize;

use super::authorize::{self, AuthorizationRequest, Rejection};
use super::clients::{Client, GrantType};
use super::interaction::{Browser, Outcome};
use super::params::Params;
use super::{ErrorCode, OAuthError, OidcService};
use crate::apps::rate_limit::Policy;
use crate::audit::{self, Event, Kind, Subject};
use crate::auth::BrowserSession;
use crate::clock::UnixTime;
use crate::store::StoreError;
use crate::store::authorization_requests;
use crate::store::device_authorizations::{self, Approval, DeviceAuthorizationRow, Status};
use crate::tokens::opaque::{self, random_bytes};

/// Prefix of device codes.
pub const DEVICE_CODE_PREFIX: &str = "tsd_";
/// How long a device code and its user code live.
const DEVICE_CODE_TTL: i64 = 600;
/// RFC 8628 §3.2: the seconds a device waits between polls, unless told to slow down.
pub const POLL_INTERVAL: i64 = 5;
/// RFC 8628 §6.1: consonants only — no vowels (no words), no look-alikes (no 0/O, 1/I/L confusion with digits).
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// 20^8 ≈ 2^34.6 codes (RFC 8628 §5.1, with the attempt limit below).
const USER_CODE_LEN: usize = 8;
/// RFC 8628 §5.1: wrong user codes one address may enter in a window.
const WRONG_CODES: Policy = Policy::Window {
    max: 10,
    window_ms: 15 * 60 * 1000,
};
/// Tries at a user code that no stored one has (a collision is about one in 2^34 per stored code).
const USER_CODE_TRIES: usize = 3;

/// RFC 8628 §3.2: the device authorization response.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    /// Shown as `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Why a user code typed on the device page leads nowhere.
#[derive(Debug)]
pub enum DeviceRefusal {
    /// No device waits with this code: mistyped, expired, or already answered.
    UnknownCode,
    /// Too many wrong codes from this address (RFC 8628 §5.1): try again after this many seconds.
    TooManyAttempts(u64),
    /// The authorization it started could not go on (the database, or an error page).
    Rejected(Rejection),
}

/// How a device authorization was answered in the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAnswer {
    Approved,
    /// The person denied it.
    Declined,
    /// The client's application does not admit this account, or not from this network.
    NotAdmitted,
}

impl DeviceAnswer {
    /// The name recorded in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::NotAdmitted => "not_admitted",
        }
    }
}

impl From<StoreError> for DeviceRefusal {
    fn from(error: StoreError) -> Self {
        Self::Rejected(Rejection::Store(error))
    }
}

impl OidcService {
    /// `POST /oauth2/device_authorization` (RFC 8628 §3.1–3.2) for an authenticated (or public) `client`.
    pub async fn authorize_device(
        &self,
        client: &Client,
        params: &Params,
        now: UnixTime,
    ) -> Result<DeviceAuthorizationResponse, OAuthError> {
        if let Some(name) = params.first_duplicate() {
            return Err(OAuthError::invalid_request(format!("{name} must not be repeated")));
        }
        // RFC 8628 §3.1 with RFC 6749 §5.2: a client not registered for the grant is unauthorized_client.
        if !client.allows(GrantType::DeviceCode) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the device authorization grant",
            ));
        }
        // The same scope rules as the authorization endpoint.
        let scope = authorize::check_scope(params, client)?.to_string();
        for _ in 0..USER_CODE_TRIES {
            let device_code = opaque::mint(DEVICE_CODE_PREFIX);
            let user_code = new_user_code();
            let row = DeviceAuthorizationRow {
                id: opaque::random_id(),
                device_code_hash: device_code.hash.clone(),
                user_code_hash: opaque::hash(&user_code),
                client_id: client.id.clone(),
                scope: scope.clone(),
                created_at: now,
                expires_at: now + DEVICE_CODE_TTL,
                interval_secs: POLL_INTERVAL,
                next_poll_at: now,
                status: Status::Pending.as_str().to_owned(),
                user_id: None,
                auth_time: None,
                amr: None,
                acr: None,
                decided_at: None,
                used_at: None,
                session_id: None,
            };
            match device_authorizations::insert(&self.db, row).await {
                Ok(()) => {}
                Err(StoreError::Duplicate(_)) => continue,
                Err(other) => return Err(other.into()),
            }
            tracing::info!(client_id = %client.id, "device authorization started");
            let shown = shown_user_code(&user_code);
            return Ok(DeviceAuthorizationResponse {
                device_code: device_code.value,
                verification_uri_complete: self.verification_uri_complete_of(&shown),
                verification_uri: self.verification_uri(),
                user_code: shown,
                expires_in: DEVICE_CODE_TTL,
                interval: POLL_INTERVAL,
            });
        }
        Err(OAuthError::server("no free user code was found"))
    }

    /// Where people enter user codes (RFC 8628 §3.2 `verification_uri`).
    fn verification_uri(&self) -> String {
        format!("{}{}", self.issuer, super::discovery::DEVICE_VERIFICATION_PATH)
    }

    fn verification_uri_complete_of(&self, shown: &str) -> String {
        super::with_query(&self.verification_uri(), &[("user_code", shown)])
    }

    /// `verification_uri_complete` for a user code as typed (RFC 8628 §3.3.1, the URI a device may show as a
    /// QR code), or `None` unless it is a well-formed code. Nothing is looked up: whether a code is pending
    /// is told only where the person enters it, under that page's limit.
    pub fn verification_uri_complete(&self, typed: &str) -> Option<String> {
        normalize_user_code(typed).map(|code| self.verification_uri_complete_of(&shown_user_code(&code)))
    }

    /// The person typed `typed` on the device page (RFC 8628 §3.3). Wrong codes count against the browser's
    /// address; a right one starts an authorization request for the device's client in this browser, which
    /// signs the person in if needed, applies the application's access policy, and asks for approval.
    pub async fn enter_user_code(
        &self,
        typed: &str,
        browser: Browser<'_>,
        now: UnixTime,
    ) -> Result<Outcome, DeviceRefusal> {
        let key = format!("device-code-ip:{}", browser.origin.key);
        let standing = self.limiter.check(&key, WRONG_CODES, now * 1000).await?;
        if !standing.allowed {
            tracing::warn!(client = %browser.origin.key, "user code refused: too many wrong codes from this address");
            return Err(DeviceRefusal::TooManyAttempts(standing.retry_after_secs));
        }
        let found = match normalize_user_code(typed) {
            Some(code) => device_authorizations::find_pending_by_user_code(&self.db, opaque::hash(&code), now).await?,
            None => None,
        };
        let client = match found {
            Some(row) => self.clients.find_active(&row.client_id).await?.map(|c| (row, c)),
            None => None,
        };
        let Some((row, client)) = client else {
            self.limiter.take(&key, WRONG_CODES, now * 1000).await?;
            tracing::info!("a user code that no waiting device has was entered");
            return Err(DeviceRefusal::UnknownCode);
        };
        let request = AuthorizationRequest::for_device(row.id, &client, row.scope, browser.session, now);
        self.proceed(request, client, None, browser, false, now)
            .await
            .map_err(DeviceRefusal::Rejected)
    }

    /// The person approved the device `device_id` as `session`'s account: the device's next poll gets tokens.
    pub(super) async fn approve_device(
        &self,
        device_id: &str,
        client: &Client,
        session: &BrowserSession,
        pending_id: Option<String>,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        answer_pending(self, pending_id, now).await?;
        let approval = Approval {
            user_id: session.user.id.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: session.acr.clone(),
        };
        if !device_authorizations::decide(&self.db, device_id.to_owned(), Some(approval), now).await? {
            return Err(gone());
        }
        tracing::info!(user_id = %session.user.id, client_id = %client.id, "device approved");
        let event = Event::new(Kind::DeviceApproved)
            .about(Subject::Client(client.id.clone()))
            .by(&session.user.id)
            .in_application(&client.application_id);
        audit::record(&self.db, event, now).await;
        Ok(Outcome::DeviceAnswered {
            client_name: client.name.clone(),
            answer: DeviceAnswer::Approved,
        })
    }

    /// The device `device_id` is refused — the person declined, or the application does not admit them: the
    /// device's next poll gets `access_denied`.
    pub(super) async fn deny_device(
        &self,
        device_id: &str,
        client: &Client,
        user_id: Option<&str>,
        pending_id: Option<String>,
        answer: DeviceAnswer,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        answer_pending(self, pending_id, now).await?;
        if !device_authorizations::decide(&self.db, device_id.to_owned(), None, now).await? {
            return Err(gone());
        }
        tracing::info!(client_id = %client.id, reason = answer.as_str(), "device denied");
        let mut event = Event::new(Kind::DeviceDenied)
            .about(Subject::Client(client.id.clone()))
            .in_application(&client.application_id)
            .with("reason", answer.as_str());
        if let Some(user_id) = user_id {
            event = event.by(user_id);
        }
        audit::record(&self.db, event, now).await;
        Ok(Outcome::DeviceAnswered {
            client_name: client.name.clone(),
            answer,
        })
    }
}

impl AuthorizationRequest {
    /// The request a user code starts: the device's client and scopes, nothing to redirect to.
    fn for_device(
        device_id: String,
        client: &Client,
        scope: String,
        session: Option<&BrowserSession>,
        now: UnixTime,
    ) -> Self {
        Self {
            client_id: client.id.clone(),
            redirect_uri: String::new(),
            scope,
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Vec::new(),
            max_age: None,
            hint_subject: None,
            login_hint: None,
            response_mode: Default::default(),
            created_at: now,
            session_at_start: session.map(|s| s.id.clone()),
            account_chosen: false,
            dpop_jkt: None,
            acr_values: Vec::new(),
            device: Some(device_id),
        }
    }
}

/// Marks the kept request answered, when there is one; only one answer counts.
async fn answer_pending(oidc: &OidcService, pending_id: Option<String>, now: UnixTime) -> Result<(), Rejection> {
    if let Some(id) = pending_id
        && !authorization_requests::consume(&oidc.db, id, now).await?
    {
        return Err(gone());
    }
    Ok(())
}

fn gone() -> Rejection {
    Rejection::Page("This code has expired or was already answered. Please start again on your device.".into())
}

/// A user code as people read it: two groups of four letters.
fn shown_user_code(code: &str) -> String {
    format!("{}-{}", &code[..4], &code[4..])
}

/// A new user code: `USER_CODE_LEN` letters of the alphabet, uniformly (bytes past the last whole multiple of
/// 20 are drawn again).
fn new_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LEN);
    while code.len() < USER_CODE_LEN {
        for byte in random_bytes::<16>() {
            if code.len() < USER_CODE_LEN && byte < 240 {
                code.push(char::from(USER_CODE_ALPHABET[usize::from(byte % 20)]));
            }
        }
    }
    code
}

/// RFC 8628 §6.1: what the person typed, in either case, with or without the dash or spaces; `None` unless it
/// is a code of the alphabet's length.
fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_alphabet_only() {
        for _ in 0..100 {
            let code = new_user_code();
            assert_eq!(code.len(), USER_CODE_LEN);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
        }
    }

    #[test]
    fn user_codes_are_read_in_either_case_with_or_without_the_dash() {
        for typed in ["WDJB-MJHT", "wdjbmjht", " wdjb-MJHT ", "WDJB MJHT"] {
            assert_eq!(normalize_user_code(typed).as_deref(), Some("WDJBMJHT"), "{typed}");
        }
        for typed in ["WDJB-MJH", "WDJB-MJHTX", "WDJA-MJHT", "WDJB-MJH0", "", "ÉDJB-MJHT"] {
            assert_eq!(normalize_user_code(typed), None, "{typed}");
        }
    }
}
