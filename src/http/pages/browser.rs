//! The browser's cookies: the session cookie (`__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite=Lax` on an
//! https issuer) and the CSRF cookie whose value every form repeats and whose hash binds a pending
//! authorization request to this browser.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::PageError;
use crate::auth::BrowserSession;
use crate::state::AppState;
use crate::tokens::opaque::{self, random_bytes};

/// The request's browser: who is signed in, its CSRF token, and the cookie to set if the token is new.
pub struct BrowserState {
    pub session: Option<BrowserSession>,
    pub csrf: String,
    /// Set this cookie on the response: the browser had no CSRF token yet.
    pub new_csrf_cookie: Option<Cookie<'static>>,
    /// Where the browser's requests come from: its address (by the trusted-proxy rules) and the key per-address
    /// limits count it under.
    pub origin: crate::auth::Origin,
}

impl BrowserState {
    /// What binds a pending authorization request to this browser.
    pub fn binding(&self) -> String {
        opaque::hash(&self.csrf)
    }

    /// Puts the new CSRF cookie, if this browser had none yet, on a response about to be built.
    pub fn keep_csrf(&self, response: &mut actix_web::HttpResponseBuilder) {
        if let Some(cookie) = &self.new_csrf_cookie {
            response.cookie(cookie.clone());
        }
    }

    /// The browser as the authorization logic sees it.
    pub fn as_browser<'a>(&'a self, binding: &'a str) -> crate::oidc::interaction::Browser<'a> {
        crate::oidc::interaction::Browser {
            session: self.session.as_ref(),
            binding,
            origin: &self.origin,
        }
    }
}

fn secure(state: &AppState) -> bool {
    !state.config.is_plain_http()
}

fn session_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera-session"
    } else {
        "tessera-session"
    }
}

fn csrf_name(secure: bool) -> &'static str {
    if secure { "__Host-tessera-csrf" } else { "tessera-csrf" }
}

fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

/// Reads the browser's session and CSRF token, minting a CSRF token if it has none.
pub async fn browser_state(req: &HttpRequest, state: &AppState) -> Result<BrowserState, PageError> {
    let secure = secure(state);
    let session = match req.cookie(session_name(secure)) {
        Some(cookie) => {
            state
                .auth
                .sessions
                .browser_session(cookie.value(), state.clock.now())
                .await?
        }
        None => None,
    };
    let (csrf, new_csrf_cookie) = match req.cookie(csrf_name(secure)) {
        Some(cookie) if cookie.value().len() >= 32 => (cookie.value().to_owned(), None),
        _ => {
            let value = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
            (value.clone(), Some(cookie(csrf_name(secure), value, secure)))
        }
    };
    Ok(BrowserState {
        session,
        csrf,
        new_csrf_cookie,
        origin: crate::http::client_ip::origin(crate::http::client_ip::request_ip(req)),
    })
}

/// The session cookie for a new sign-in, living as long as the session may.
pub fn session_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let secure = secure(state);
    let mut cookie = cookie(session_name(secure), value, secure);
    cookie.set_max_age(CookieDuration::seconds(state.config.session.absolute_timeout_secs));
    cookie
}

fn flow_name(secure: bool) -> &'static str {
    if secure { "__Host-tessera-flow" } else { "tessera-flow" }
}

/// The cookie carrying a sign-in flow's token between its steps (code, second factor, verification).
pub fn flow_cookie(state: &AppState, token: String) -> Cookie<'static> {
    let secure = secure(state);
    let mut cookie = cookie(flow_name(secure), token, secure);
    cookie.set_max_age(CookieDuration::seconds(state.config.mfa.challenge_ttl_secs));
    cookie
}

/// The token of a sign-in flow waiting for its next step in this browser, if any.
pub fn pending_flow(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(flow_name(secure(state))).map(|c| c.value().to_owned())
}

/// A cookie that removes the flow cookie.
pub fn clear_flow_cookie(state: &AppState) -> Cookie<'static> {
    let secure = secure(state);
    let mut cookie = cookie(flow_name(secure), String::new(), secure);
    cookie.make_removal();
    cookie
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(state: &AppState) -> Cookie<'static> {
    let secure = secure(state);
    let mut cookie = cookie(session_name(secure), String::new(), secure);
    cookie.make_removal();
    cookie
}

/// RFC 6749 §10.12, OWASP CSRF: a state-changing form must carry the browser's own CSRF token and must not
/// come from another site (`Origin`, `Sec-Fetch-Site`).
pub fn check_csrf(req: &HttpRequest, state: &AppState, submitted: &str) -> Result<(), PageError> {
    let refused = || {
        PageError::forbidden(
            "This form has expired or was not sent from this site. Please go back, reload the page and try again.",
        )
    };
    let headers = req.headers();
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site")
    {
        return Err(refused());
    }
    // Under the pages' `Referrer-Policy: no-referrer` browsers send `Origin: null` even for their own forms,
    // so `null` proves nothing either way; any real origin must be ours. The token below decides.
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != b"null"
        && origin.as_bytes() != issuer_origin(state.config.issuer()).as_bytes()
    {
        return Err(refused());
    }
    let Some(expected) = req.cookie(csrf_name(secure(state))) else {
        return Err(refused());
    };
    if expected.value().len() < 32 || !bool::from(expected.value().as_bytes().ct_eq(submitted.as_bytes())) {
        return Err(refused());
    }
    Ok(())
}

/// `scheme://host[:port]` of the issuer.
fn issuer_origin(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default()
}
