//! RFC 7591 §2: the client metadata a registration sends, read into the same [`ClientSpec`] an administrator's
//! registration is checked as, and the client information answered (§3.2.1, RFC 7592 §3).

use serde::{Deserialize, Serialize};

use super::RegistrationError;
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::oidc::clients::{Client, ClientSpec, GrantType};

/// The metadata of a registration request, or of a replacement (RFC 7592 §2.2, which adds `client_id` and
/// may carry `client_secret`). Members Tessera does not keep (`client_uri`, `logo_uri`, `contacts`…) are
/// ignored, as RFC 7591 §2 allows; the answer lists what was registered.
#[derive(Debug, Default, Deserialize)]
pub struct ClientMetadata {
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    /// Space-separated scopes the client may ask for.
    scope: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    initiate_login_uri: Option<String>,
    require_pushed_authorization_requests: Option<bool>,
    /// Back-Channel Logout 1.0 §2.2.
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: Option<bool>,
    /// RFC 7591 §2: the client's public keys by value, for `private_key_jwt`.
    jwks: Option<serde_json::Value>,
    /// Keys by reference are not fetched: a registration naming `jwks_uri` is refused.
    jwks_uri: Option<String>,
    /// OpenID Connect Dynamic Client Registration §2.
    id_token_signed_response_alg: Option<String>,
    access_token_signed_response_alg: Option<String>,
}

/// Name given to a client that registered without `client_name`.
const UNNAMED: &str = "Unnamed client";

impl ClientMetadata {
    /// Reads a JSON body; a body that is not a JSON object of these members is `invalid_client_metadata`.
    pub fn parse(body: &[u8]) -> Result<Self, RegistrationError> {
        serde_json::from_slice(body)
            .map_err(|e| RegistrationError::InvalidMetadata(format!("the body is not valid client metadata: {e}")))
    }

    pub(super) fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    pub(super) fn client_secret(&self) -> Option<&str> {
        self.client_secret.as_deref()
    }

    /// The registration to check, in `application_id`. Dynamically registered clients are never first-party
    /// (people always see the consent page) and never resource servers. RFC 7591 §2 defaults: the
    /// `authorization_code` grant, the `code` response type, `client_secret_basic`.
    pub(super) fn into_spec(self, application_id: &str) -> Result<ClientSpec, RegistrationError> {
        let grant_types = self
            .grant_types
            .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().to_owned()]);
        let response_types = self.response_types.unwrap_or_else(|| vec!["code".to_owned()]);
        check_response_types(&response_types, &grant_types)?;
        if let Some(name) = &self.client_name
            && name.chars().any(char::is_control)
        {
            return Err(RegistrationError::InvalidMetadata(
                "client_name must not contain control characters".into(),
            ));
        }
        if self.jwks_uri.is_some() {
            return Err(RegistrationError::InvalidMetadata(
                "jwks_uri is not supported: send the public keys by value in jwks".into(),
            ));
        }
        let method = self.token_endpoint_auth_method;
        let public = method.as_deref() == Some("none");
        Ok(ClientSpec {
            application: Some(application_id.to_owned()),
            name: Some(self.client_name.unwrap_or_else(|| UNNAMED.to_owned())),
            redirect_uris: self.redirect_uris.unwrap_or_default(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.unwrap_or_default(),
            public,
            grant_types: Some(grant_types),
            scopes: self.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()),
            token_endpoint_auth_method: method,
            jwks: self.jwks,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            access_token_signed_response_alg: self.access_token_signed_response_alg,
            first_party: false,
            resource_server: false,
            initiate_login_uri: self.initiate_login_uri,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests.unwrap_or(false),
            backchannel_logout_uri: self.backchannel_logout_uri,
            backchannel_logout_session_required: self.backchannel_logout_session_required.unwrap_or(false),
            is_active: None,
        })
    }
}

/// RFC 7591 §2.1: only `code` is served, and it goes with the `authorization_code` grant both ways.
fn check_response_types(response_types: &[String], grant_types: &[String]) -> Result<(), RegistrationError> {
    let code = GrantType::AuthorizationCode.as_str();
    if let Some(other) = response_types.iter().find(|t| *t != "code") {
        return Err(RegistrationError::InvalidMetadata(format!(
            "response_type {other:?} is not supported; only \"code\" is"
        )));
    }
    let has_code = response_types.iter().any(|t| t == "code");
    let has_grant = grant_types.iter().any(|g| g == code);
    if has_code != has_grant {
        return Err(RegistrationError::InvalidMetadata(
            "the \"code\" response type and the authorization_code grant go together".into(),
        ));
    }
    Ok(())
}

/// The checks' refusals as RFC 7591 §3.2.2 words them: a bad redirect URI is `invalid_redirect_uri`, any
/// other field `invalid_client_metadata`.
pub(super) fn refusal(problems: Vec<FieldError>) -> RegistrationError {
    let text = |problems: &[&FieldError]| {
        problems
            .iter()
            .map(|p| format!("{}: {}", wire_name(p.field), p.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (redirects, others): (Vec<&FieldError>, Vec<&FieldError>) =
        problems.iter().partition(|p| p.field == "redirect_uris");
    if others.is_empty() {
        RegistrationError::InvalidRedirectUri(text(&redirects))
    } else {
        RegistrationError::InvalidMetadata(text(&others))
    }
}

/// The metadata member a registration check's field is named by.
fn wire_name(field: &str) -> &str {
    match field {
        "name" => "client_name",
        "scopes" => "scope",
        other => other,
    }
}

/// The client information response (RFC 7591 §3.2.1 with RFC 7592 §3).
#[derive(Debug, Serialize)]
pub struct ClientInformation {
    pub client_id: String,
    /// Only when it was just issued: it is stored as a hash and cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: UnixTime,
    /// 0: the secret does not expire (present whenever the client is confidential).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<UnixTime>,
    pub registration_access_token: String,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<&'static str>,
    pub response_types: Vec<&'static str>,
    pub token_endpoint_auth_method: &'static str,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiate_login_uri: Option<String>,
    pub require_pushed_authorization_requests: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    pub id_token_signed_response_alg: &'static str,
    pub access_token_signed_response_alg: &'static str,
}

impl ClientInformation {
    pub(super) fn of(client: Client, secret: Option<String>, access_token: &str, uri: String) -> Self {
        let has_code = client.allows(GrantType::AuthorizationCode);
        Self {
            client_secret_expires_at: client.auth_method.has_secret().then_some(0),
            client_secret: secret,
            client_id_issued_at: client.created_at,
            registration_access_token: access_token.to_owned(),
            registration_client_uri: uri,
            grant_types: client.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: if has_code { vec!["code"] } else { Vec::new() },
            token_endpoint_auth_method: client.auth_method.as_str(),
            id_token_signed_response_alg: client.id_token_alg().as_str(),
            access_token_signed_response_alg: client.access_token_alg().as_str(),
            scope: client.scopes.to_string(),
            client_id: client.id,
            client_name: client.name,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            initiate_login_uri: client.initiate_login_uri,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            backchannel_logout_uri: client.backchannel_logout_uri,
            backchannel_logout_session_required: client.backchannel_logout_session_required,
            jwks: client.jwks,
        }
    }
}
