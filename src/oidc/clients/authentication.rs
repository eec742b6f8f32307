//! Client authentication at the token, revocation, introspection, device-authorization and pushed-request
//! endpoints (RFC 6749 §2.3; RFC 7523 §2.2; OpenID Connect Core §9): a secret, a client assertion, or — for a
//! public client — its id alone. The method the client registered is the one it must use.

use subtle::ConstantTimeEq;

use super::assertion::{self, Verifier};
use super::{AuthMethod, Client, ClientService};
use crate::clock::UnixTime;
use crate::oidc::OAuthError;
use crate::oidc::discovery::TOKEN_PATH;
use crate::store::replay_markers;
use crate::tokens::opaque;
use crate::tokens::sealing::{self, Purpose};

/// How a request identified its client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `Authorization: Basic` (RFC 6749 §2.3.1), id and secret already form-decoded.
    Basic { id: String, secret: String },
    /// `client_id` and `client_secret` in the form body.
    Post { id: String, secret: String },
    /// RFC 7523 §2.2: `client_assertion` with the JWT-bearer `client_assertion_type`, and the `client_id` if
    /// the request names it.
    Assertion { id: Option<String>, assertion: String },
    /// `client_id` alone: a public client.
    Public { id: String },
}

impl ClientCredentials {
    /// Whether these credentials prove nothing (a public client's bare id).
    pub fn is_public(&self) -> bool {
        matches!(self, Self::Public { .. })
    }
}

impl ClientService {
    /// Identifies and authenticates the client, the same way at every endpoint that takes client
    /// credentials; `endpoint_url` is the URL the request was sent to (an assertion may name it as its
    /// audience). The registered method is enforced: a secret for `client_secret_basic` / `_post` (sent
    /// either way RFC 6749 §2.3.1 allows), an assertion signed by a registered key for `private_key_jwt` or
    /// under the secret for `client_secret_jwt`, nothing for a public client. Unknown clients, wrong secrets,
    /// bad or replayed assertions, disabled clients and the wrong kind of credential all fail alike with
    /// `invalid_client`; the log says why.
    pub async fn authenticate(
        &self,
        credentials: &ClientCredentials,
        endpoint_url: &str,
        now: UnixTime,
    ) -> Result<Client, OAuthError> {
        match credentials {
            ClientCredentials::Basic { id, secret } | ClientCredentials::Post { id, secret } => {
                // Hash what was presented even when the client is unknown, so both cost the same.
                let presented = opaque::hash(secret);
                let client = self
                    .find_active(id)
                    .await?
                    .ok_or_else(|| refused(id, "no such active client"))?;
                let secret_method = matches!(
                    client.auth_method,
                    AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                );
                let matches = client
                    .secret_hash
                    .as_ref()
                    .is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(presented.as_bytes())));
                match (secret_method, matches) {
                    (true, true) => Ok(client),
                    (false, _) => Err(refused(id, "the client authenticates with another method")),
                    (true, false) => Err(refused(id, "wrong client secret")),
                }
            }
            ClientCredentials::Public { id } => {
                let client = self
                    .find_active(id)
                    .await?
                    .ok_or_else(|| refused(id, "no such active client"))?;
                if client.is_public() {
                    Ok(client)
                } else {
                    Err(refused(id, "a confidential client presented no credentials"))
                }
            }
            ClientCredentials::Assertion { id, assertion } => {
                self.check_assertion(id.as_deref(), assertion, endpoint_url, now).await
            }
        }
    }

    /// RFC 7523 §3 for the client the assertion names.
    async fn check_assertion(
        &self,
        named: Option<&str>,
        assertion: &str,
        endpoint_url: &str,
        now: UnixTime,
    ) -> Result<Client, OAuthError> {
        let named_or_unknown = named.unwrap_or("unknown");
        let unverified = assertion::read(assertion).map_err(|why| refused(named_or_unknown, why))?;
        // RFC 7523 §3 item 2: the client is the subject; a `client_id` sent beside it must agree.
        let id = match (named, unverified.subject()) {
            (_, None) => return Err(refused(named_or_unknown, "the client assertion has no sub")),
            (Some(named), Some(sub)) if named != sub => {
                return Err(refused(named, "client_id differs from the assertion's sub"));
            }
            (_, Some(sub)) => sub.to_owned(),
        };
        let fail = |why| refused(&id, why);
        let client = self
            .find_active(&id)
            .await?
            .ok_or_else(|| fail("no such active client"))?;
        let secret;
        let verifier = match client.auth_method {
            AuthMethod::PrivateKeyJwt => {
                Verifier::Keys(client.keys.as_ref().ok_or_else(|| fail("no registered keys"))?)
            }
            AuthMethod::ClientSecretJwt => {
                let sealed = client
                    .secret_sealed
                    .as_deref()
                    .ok_or_else(|| fail("the client's secret is not kept for client_secret_jwt"))?;
                secret = sealing::unseal(Purpose::ClientSecret, sealed, self.secret_key.as_ref())
                    .map_err(|e| OAuthError::server(format_args!("client {}: its sealed secret: {e}", client.id)))?;
                Verifier::Secret(&secret)
            }
            _ => return Err(fail("the client authenticates with another method")),
        };
        let token_endpoint = format!("{}{TOKEN_PATH}", self.issuer);
        let audiences = [self.issuer.as_str(), token_endpoint.as_str(), endpoint_url];
        let accepted = unverified.check(verifier, &client.id, &audiences, now).map_err(fail)?;
        // Item 7: once only, on every instance, while it could be accepted.
        let marker = opaque::hash(&format!("client-assertion:{}:{}", client.id, accepted.jti));
        if replay_markers::insert_once(&self.db, marker, accepted.expires_at).await? {
            Ok(client)
        } else {
            Err(fail("the client assertion's jti was already used"))
        }
    }
}

/// `invalid_client`, the same for every reason; the log keeps the reason.
fn refused(client_id: &str, why: &str) -> OAuthError {
    tracing::warn!(client_id, reason = why, "client authentication failed");
    OAuthError::invalid_client()
}
