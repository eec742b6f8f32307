//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), validated by an ordered list of checks.
//! Until the client and its redirect URI are known to be valid, errors go to an error page; after that they
//! go back to the client with `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::clients::{Client, ClientService, GrantType};
use super::params::{Duplicated, Params};
use super::response_mode::{AuthorizationResponse, ResponseMode};
use super::scope::{OFFLINE_ACCESS, Scope};
use super::{ErrorCode, OAuthError, pkce, redirect_uri};
use crate::clock::UnixTime;
use crate::tokens::IdTokens;

/// A validated authorization request, kept while the user signs in and consents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The scopes to grant (requested, limited to what the client may have).
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    /// The subject of a valid `id_token_hint`.
    pub hint_subject: Option<String>,
    pub login_hint: Option<String>,
    /// How the response goes back (requests kept before `response_mode` existed answer in the query).
    #[serde(default)]
    pub response_mode: ResponseMode,
    pub created_at: UnixTime,
    /// The browser session that was signed in when the request arrived. Only a sign-in made for this request
    /// — a session other than this one — satisfies `prompt=login`, `max_age` and account selection.
    #[serde(default)]
    pub session_at_start: Option<String>,
    /// The user chose to go on with the signed-in account (`prompt=select_account`).
    #[serde(default)]
    pub account_chosen: bool,
    /// RFC 9449 §10: the DPoP key (its JWK thumbprint) the code is bound to — `dpop_jkt`, or the key of the
    /// proof that came with a pushed request.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// `acr_values`, in the client's order of preference.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// The device authorization (RFC 8628) this request answers, when a user code started it: it ends with the
    /// person approving or denying the device, never with a redirect.
    #[serde(default)]
    pub device: Option<String>,
}

impl AuthorizationRequest {
    pub fn prompts(&self, value: &str) -> bool {
        self.prompt.iter().any(|p| p == value)
    }

    /// Whether a guest may answer this request: the client asks for no account (no `prompt=login`, no
    /// `max_age`, no hint of who).
    pub fn welcomes_guest(&self) -> bool {
        !self.prompts("login") && self.max_age.is_none() && self.login_hint.is_none() && self.hint_subject.is_none()
    }

    pub fn scope(&self) -> Scope {
        Scope::stored(&self.scope)
    }

    /// Whether the client accepts only a sign-in with a second factor: it asks for `acr` `2` and for no lower
    /// level Tessera knows (`acr_values=2 1` prefers two factors but settles for one). Unknown values are
    /// ignored (OIDC Core §3.1.2.1: a preference, not an order).
    pub fn demands_second_factor(&self) -> bool {
        use crate::auth::{GUEST_ACR, MULTI_FACTOR_ACR, SINGLE_FACTOR_ACR};
        let asks = |level: &str| self.acr_values.iter().any(|v| v == level);
        asks(MULTI_FACTOR_ACR) && !asks(SINGLE_FACTOR_ACR) && !asks(GUEST_ACR)
    }

    /// Whether the client asks for a fresh proof of who is signed in (`prompt=login`, or a `max_age`).
    pub fn asks_fresh_proof(&self) -> bool {
        self.prompts("login") || self.max_age.is_some()
    }
}

/// A refused request.
#[derive(Debug)]
pub enum Rejection {
    /// The client or redirect URI cannot be trusted: show an error page, redirect nowhere.
    Page(String),
    /// Send the error back to the client's redirect URI.
    Redirect(ErrorRedirect),
    /// The request could not be looked at: the database failed.
    Store(crate::store::StoreError),
}

/// An error on its way back to the client.
#[derive(Debug)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub response_mode: ResponseMode,
    pub error: OAuthError,
}

impl ErrorRedirect {
    /// The error, `state` and `iss` for the registered redirect URI, in the requested response mode.
    pub fn response(&self, issuer: &str) -> AuthorizationResponse {
        let mut params = vec![
            ("error", self.error.code.as_str().to_owned()),
            ("error_description", self.error.description.clone()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state.clone()));
        }
        params.push(("iss", issuer.to_owned()));
        AuthorizationResponse {
            redirect_uri: self.redirect_uri.clone(),
            mode: self.response_mode,
            params,
        }
    }
}

impl From<crate::store::StoreError> for Rejection {
    fn from(error: crate::store::StoreError) -> Self {
        Rejection::Store(error)
    }
}

const PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];

/// Where an authorization request arrived: the checks are the same, the few that differ say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Through the browser, at the authorization endpoint.
    Browser,
    /// Pushed by the authenticated client to the PAR endpoint (RFC 9126 §2.1).
    Pushed,
}

/// Runs every check, in order, for a request that came through the browser. `now` stamps the request (for
/// `prompt=login` and `max_age`).
pub async fn validate(
    clients: &ClientService,
    id_tokens: &IdTokens,
    params: &Params,
    now: UnixTime,
) -> Result<(AuthorizationRequest, Client), Rejection> {
    let client = check_client(clients, params).await?;
    let request = validate_for(&client, id_tokens, params, Channel::Browser, now)?;
    Ok((request, client))
}

/// Runs every check after the client's, in order, for a request from `client` that arrived through `channel`.
pub fn validate_for(
    client: &Client,
    id_tokens: &IdTokens,
    params: &Params,
    channel: Channel,
    now: UnixTime,
) -> Result<AuthorizationRequest, Rejection> {
    let redirect_uri = check_redirect_uri(client, params)?;
    // A duplicated state cannot be echoed faithfully, so it is not echoed at all.
    let state = params.get("state").ok().flatten().map(str::to_owned);
    let back_in = |response_mode: ResponseMode| {
        let (redirect_uri, state) = (redirect_uri.clone(), state.clone());
        move |error: OAuthError| {
            Rejection::Redirect(ErrorRedirect {
                redirect_uri,
                state,
                response_mode,
                error,
            })
        }
    };
    // The mode is known before anything else is answered, so every later error travels in it; an unknown
    // mode is answered in the default one.
    let response_mode = check_response_mode(params).map_err(back_in(ResponseMode::default()))?;
    let back = |error: OAuthError| back_in(response_mode)(error);
    check_duplicates(params).map_err(back)?;
    check_request_objects(params, channel).map_err(back)?;
    check_pushed(client, channel).map_err(back)?;
    check_response_type(params, client).map_err(back)?;
    let scope = check_scope(params, client).map_err(back)?;
    let code_challenge = check_pkce(params, client).map_err(back)?;
    let dpop_jkt = check_dpop_jkt(params).map_err(back)?;
    let prompt = check_prompt(params).map_err(back)?;
    let max_age = check_max_age(params).map_err(back)?;
    let hint_subject = check_id_token_hint(params, id_tokens).map_err(back)?;
    let text = |name: &'static str| params.get(name).ok().flatten().map(str::to_owned);
    let request = AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scope: scope.to_string(),
        state: state.clone(),
        nonce: text("nonce"),
        code_challenge,
        prompt,
        max_age,
        hint_subject,
        login_hint: text("login_hint"),
        response_mode,
        created_at: now,
        session_at_start: None,
        account_chosen: false,
        dpop_jkt,
        acr_values: single(params, "acr_values")
            .map_err(back)?
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        device: None,
    };
    Ok(request)
}

fn single<'a>(params: &'a Params, name: &'static str) -> Result<Option<&'a str>, OAuthError> {
    params
        .get(name)
        .map_err(|Duplicated(name)| OAuthError::invalid_request(format!("{name} must not be repeated")))
}

/// RFC 6749 §4.1.2.1: an unknown, missing or repeated `client_id` is never redirected to.
pub(super) async fn check_client(clients: &ClientService, params: &Params) -> Result<Client, Rejection> {
    let id = match params.get("client_id") {
        Err(_) => return Err(Rejection::Page("The client_id parameter is repeated.".into())),
        Ok(None) => {
            return Err(Rejection::Page(
                "The request names no client (client_id is missing).".into(),
            ));
        }
        Ok(Some(id)) => id,
    };
    clients
        .find_active(id)
        .await?
        .ok_or_else(|| Rejection::Page("The application making this request is not registered here.".into()))
}

/// OIDC Core §3.1.2.1 (`redirect_uri` REQUIRED); RFC 9700 §4.1.3: exact string match (any loopback port
/// only for public clients, RFC 8252 §7.3).
fn check_redirect_uri(client: &Client, params: &Params) -> Result<String, Rejection> {
    let presented = match params.get("redirect_uri") {
        Err(_) => return Err(Rejection::Page("The redirect_uri parameter is repeated.".into())),
        Ok(None) => return Err(Rejection::Page("The request names no redirect_uri.".into())),
        Ok(Some(uri)) => uri,
    };
    if redirect_uri::is_registered(&client.redirect_uris, presented, client.is_public()) {
        Ok(presented.to_owned())
    } else {
        Err(Rejection::Page(
            "The redirect_uri is not registered for this application.".into(),
        ))
    }
}

/// OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and Form Post Response Mode: `query` (the default
/// for `code`), `fragment` or `form_post`; anything else is refused before any page is shown.
fn check_response_mode(params: &Params) -> Result<ResponseMode, OAuthError> {
    match single(params, "response_mode")? {
        None => Ok(ResponseMode::default()),
        Some(text) => ResponseMode::parse(text).ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "response_mode {text} is not supported: use query, fragment or form_post"
            ))
        }),
    }
}

/// RFC 6749 §3.1: parameters MUST NOT be included more than once.
fn check_duplicates(params: &Params) -> Result<(), OAuthError> {
    match params.first_duplicate() {
        Some(name) => Err(OAuthError::invalid_request(format!("{name} must not be repeated"))),
        None => Ok(()),
    }
}

/// OIDC Core §6: request objects are not supported, and nothing is ever fetched from `request_uri` (a pushed
/// request's `request_uri` is taken before these checks run, in `par`). RFC 9126 §2.1: a pushed request that
/// itself carries `request_uri` is `invalid_request`.
fn check_request_objects(params: &Params, channel: Channel) -> Result<(), OAuthError> {
    if channel == Channel::Pushed && params.has("request_uri") {
        return Err(OAuthError::invalid_request(
            "request_uri must not be provided in a pushed authorization request",
        ));
    }
    if params.has("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.has("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    Ok(())
}

/// RFC 9126 §6: a client registered with `require_pushed_authorization_requests` must push its requests first.
fn check_pushed(client: &Client, channel: Channel) -> Result<(), OAuthError> {
    match channel {
        Channel::Browser if client.require_pushed_authorization_requests => Err(OAuthError::invalid_request(
            "this client must push its authorization requests to the pushed authorization request endpoint",
        )),
        Channel::Browser | Channel::Pushed => Ok(()),
    }
}

/// Only the authorization code flow (RFC 9700 §2.1.2: no implicit or hybrid flows).
fn check_response_type(params: &Params, client: &Client) -> Result<(), OAuthError> {
    match single(params, "response_type")? {
        None => Err(OAuthError::invalid_request("response_type is required")),
        Some("code") if client.allows(GrantType::AuthorizationCode) => Ok(()),
        Some("code") => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        )),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}

/// RFC 6749 §3.3: the scopes must be well formed and allowed for the client. `offline_access` is dropped
/// for clients that cannot hold refresh tokens (OIDC Core §11).
pub(super) fn check_scope(params: &Params, client: &Client) -> Result<Scope, OAuthError> {
    let requested = single(params, "scope")?.unwrap_or_default();
    let scope = Scope::parse(requested).ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?;
    if let Some(extra) = scope.missing_from(&client.scopes).next() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope {extra} is not available to this client"),
        ));
    }
    if client.allows(GrantType::RefreshToken) {
        Ok(scope)
    } else {
        Ok(scope.without(OFFLINE_ACCESS))
    }
}

/// RFC 7636 with RFC 9700 §2.1.1: S256 only; public clients must use it.
fn check_pkce(params: &Params, client: &Client) -> Result<Option<String>, OAuthError> {
    let challenge = single(params, "code_challenge")?;
    let method = single(params, "code_challenge_method")?;
    match (challenge, method) {
        (None, None) if client.is_public() => Err(OAuthError::invalid_request(
            "code challenge required: public clients must use PKCE with S256",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(challenge), Some(pkce::S256)) if pkce::is_valid_challenge(challenge) => Ok(Some(challenge.to_owned())),
        (Some(_), Some(pkce::S256)) => Err(OAuthError::invalid_request(
            "code_challenge must be the base64url SHA-256 of the verifier",
        )),
        // RFC 7636 §4.3: an omitted method means `plain`, which is refused, never silently taken as S256.
        (Some(_), _) => Err(OAuthError::invalid_request(
            "transform algorithm not supported: use code_challenge_method=S256",
        )),
    }
}

/// RFC 9449 §10: `dpop_jkt` is a JWK SHA-256 thumbprint, base64url without padding (43 characters).
fn check_dpop_jkt(params: &Params) -> Result<Option<String>, OAuthError> {
    match single(params, "dpop_jkt")? {
        None => Ok(None),
        Some(jkt) if jkt.len() == 43 && URL_SAFE_NO_PAD.decode(jkt).is_ok_and(|bytes| bytes.len() == 32) => {
            Ok(Some(jkt.to_owned()))
        }
        Some(_) => Err(OAuthError::invalid_request(
            "dpop_jkt must be the base64url SHA-256 thumbprint of the DPoP key",
        )),
    }
}

/// OIDC Core §3.1.2.1: known values only; `none` stands alone.
fn check_prompt(params: &Params) -> Result<Vec<String>, OAuthError> {
    let prompt: Vec<String> = single(params, "prompt")?
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(unknown) = prompt.iter().find(|p| !PROMPTS.contains(&p.as_str())) {
        return Err(OAuthError::invalid_request(format!("unknown prompt value {unknown}")));
    }
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

fn check_max_age(params: &Params) -> Result<Option<i64>, OAuthError> {
    single(params, "max_age")?
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .filter(|age| *age >= 0)
                .ok_or_else(|| OAuthError::invalid_request("max_age must be a non-negative integer"))
        })
        .transpose()
}

/// OIDC Core §3.1.2.1: the hint must be an ID token Tessera signed (expired is fine); its subject is kept
/// to compare with the signed-in user. A forged or foreign hint is refused, never trusted.
fn check_id_token_hint(params: &Params, id_tokens: &IdTokens) -> Result<Option<String>, OAuthError> {
    let Some(hint) = single(params, "id_token_hint")? else {
        return Ok(None);
    };
    id_tokens
        .verify_hint(hint)
        .map(|claims| Some(claims.sub))
        .map_err(|_| OAuthError::invalid_request("id_token_hint is not an ID token issued here"))
}
