//! Reading client credentials from a request (RFC 6749 §2.3.1, RFC 7521 §4.2): HTTP Basic with form-encoded id
//! and secret, `client_id`/`client_secret` in the body, a JWT `client_assertion`, or a bare `client_id` for
//! public clients — never two methods at once.

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::http::body::has_nul;
use crate::http::extract::single_header;
use crate::oidc::OAuthError;
use crate::oidc::clients::{ASSERTION_TYPE, ClientCredentials};
use crate::oidc::params::Params;

/// The credentials a request presents.
pub fn client_credentials(req: &HttpRequest, params: &Params) -> Result<ClientCredentials, OAuthError> {
    let field = |name: &'static str| {
        params
            .get(name)
            .map_err(|_| OAuthError::invalid_request(format!("{name} must not be repeated")))
    };
    let body_id = field("client_id")?;
    let body_secret = field("client_secret")?;
    let basic = basic_credentials(req)?;
    match (field("client_assertion_type")?, field("client_assertion")?) {
        (None, None) => {}
        (Some(ASSERTION_TYPE), Some(assertion)) => {
            if basic.is_some() || body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not a client_assertion and a secret",
                ));
            }
            return Ok(ClientCredentials::Assertion {
                id: body_id.map(str::to_owned),
                assertion: assertion.to_owned(),
            });
        }
        (Some(ASSERTION_TYPE), None) => {
            return Err(OAuthError::invalid_request(
                "client_assertion is required with client_assertion_type",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type is required with client_assertion",
            ));
        }
        // RFC 7521 §4.2.1: an assertion of a type this server does not take.
        (Some(_), _) => {
            return Err(OAuthError::invalid_client());
        }
    }
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not both Basic and client_secret",
        )),
        (Some((id, _)), Some(body_id), None) if id != body_id => Err(OAuthError::invalid_request(
            "client_id differs from the Basic credentials",
        )),
        (Some((id, secret)), _, None) => Ok(ClientCredentials::Basic { id, secret }),
        (None, Some(id), Some(secret)) => Ok(ClientCredentials::Post {
            id: id.to_owned(),
            secret: secret.to_owned(),
        }),
        (None, Some(id), None) => Ok(ClientCredentials::Public { id: id.to_owned() }),
        (None, None, _) => Err(OAuthError::invalid_client()),
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, if present. A repeated header is
/// `invalid_request`; credentials holding a NUL character are no client's.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let value = single_header(req, "authorization")
        .map_err(|_| OAuthError::invalid_request("the Authorization header must not be repeated"))?;
    let Some(value) = value else {
        return Ok(None);
    };
    let malformed = OAuthError::invalid_client;
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    if has_nul(decoded.as_bytes()) {
        return Err(malformed());
    }
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let decode = |part: &str| -> String {
        url::form_urlencoded::parse(format!("v={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}
