//! OAuth clients: their grant types and methods (`methods`), the registration rules, the stored form, and
//! client authentication (`authentication`, with RFC 7523's client assertions in `assertion`).

mod assertion;
mod authentication;
mod methods;
mod registration;

use std::time::Duration;

use subtle::ConstantTimeEq;

use super::scope::Scope;
use super::{ErrorCode, OAuthError};
use crate::apps::DEFAULT_SLUG;
use crate::audit::{self, Event, Kind, Subject};
use crate::cache::TtlCache;
use crate::clock::UnixTime;
use crate::config::Secret;
use crate::error::FieldError;
use crate::store::applications;
use crate::store::changes::{self, Change};
use crate::store::clients::{self, ClientRow};
use crate::store::{Database, StoreError};
use crate::tokens::jwk::JwkSet;
use crate::tokens::keys::SigningAlg;
use crate::tokens::opaque;
use crate::tokens::sealing::{self, Purpose};

pub use assertion::ASSERTION_TYPE;
pub use authentication::ClientCredentials;
pub use methods::{AuthMethod, GrantType};
pub use registration::ClientSpec;
use registration::validate;

/// Prefix of client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "tss_";

/// A registered client.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    /// The application the client belongs to: its budget and token lifetimes apply.
    pub application_id: String,
    pub name: String,
    secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub auth_method: AuthMethod,
    /// Trusted first-party applications skip the consent page.
    pub first_party: bool,
    /// An API gateway of its application: may introspect every token of the application, not only its own.
    pub resource_server: bool,
    /// Where a third party starts a sign-in at this client (OpenID Connect Core §4): the application's
    /// access link lands there.
    pub initiate_login_uri: Option<String>,
    /// RFC 9126 §6: the authorization endpoint takes only pushed requests (`request_uri`) from this client.
    pub require_pushed_authorization_requests: bool,
    /// Back-Channel Logout 1.0 §2.2: where this client takes logout tokens.
    pub backchannel_logout_uri: Option<String>,
    /// Back-Channel Logout 1.0 §2.2: the client needs `sid` in its logout tokens.
    pub backchannel_logout_session_required: bool,
    /// `private_key_jwt`: the client's public keys as registered (a JWK Set), and read for checking.
    pub jwks: Option<serde_json::Value>,
    keys: Option<JwkSet>,
    /// `client_secret_jwt`: the secret, sealed (the HMAC key of the client's assertions).
    secret_sealed: Option<String>,
    /// The algorithm of the client's ID tokens and logout tokens; RS256 when `None`.
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// The algorithm of the client's access tokens; RS256 when `None`.
    pub access_token_signed_response_alg: Option<SigningAlg>,
    pub is_active: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Client {
    /// Whether the client has no secret (and must use PKCE).
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Whether `presented` is this confidential client's secret (compared as hashes, in constant time).
    pub fn holds_secret(&self, presented: &str) -> bool {
        self.secret_hash
            .as_ref()
            .is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(opaque::hash(presented).as_bytes())))
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The algorithm this client's ID tokens (and logout tokens) are signed with.
    pub fn id_token_alg(&self) -> SigningAlg {
        self.id_token_signed_response_alg.unwrap_or(SigningAlg::Rs256)
    }

    /// The algorithm this client's access tokens are signed with.
    pub fn access_token_alg(&self) -> SigningAlg {
        self.access_token_signed_response_alg.unwrap_or(SigningAlg::Rs256)
    }

    fn from_row(row: ClientRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("client {}: {what}", row.id));
        let uris = |json: &str| serde_json::from_str::<Vec<String>>(json).map_err(|_| corrupt("redirect URIs"));
        let jwks = row
            .jwks
            .as_deref()
            .map(serde_json::from_str::<serde_json::Value>)
            .transpose()
            .map_err(|_| corrupt("jwks"))?;
        let keys = jwks
            .as_ref()
            .map(JwkSet::parse)
            .transpose()
            .map_err(|_| corrupt("jwks"))?;
        let alg = |stored: &Option<String>| {
            stored
                .as_deref()
                .map(|name| SigningAlg::parse(name).ok_or_else(|| corrupt("signing algorithm")))
                .transpose()
        };
        let id_token_signed_response_alg = alg(&row.id_token_signed_response_alg)?;
        let access_token_signed_response_alg = alg(&row.access_token_signed_response_alg)?;
        Ok(Self {
            redirect_uris: uris(&row.redirect_uris)?,
            post_logout_redirect_uris: uris(&row.post_logout_redirect_uris)?,
            grant_types: row
                .grant_types
                .split_whitespace()
                .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("grant type")))
                .collect::<Result<_, _>>()?,
            scopes: Scope::stored(&row.scopes),
            auth_method: AuthMethod::parse(&row.token_endpoint_auth_method).ok_or_else(|| corrupt("auth method"))?,
            id: row.id,
            application_id: row.application_id,
            name: row.name,
            secret_hash: row.secret_hash,
            first_party: row.first_party,
            resource_server: row.resource_server,
            initiate_login_uri: row.initiate_login_uri,
            require_pushed_authorization_requests: row.require_pushed_authorization_requests,
            backchannel_logout_uri: row.backchannel_logout_uri,
            backchannel_logout_session_required: row.backchannel_logout_session_required,
            keys,
            jwks,
            secret_sealed: row.secret_sealed,
            id_token_signed_response_alg,
            access_token_signed_response_alg,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    fn to_row(&self) -> ClientRow {
        ClientRow {
            id: self.id.clone(),
            application_id: self.application_id.clone(),
            name: self.name.clone(),
            secret_hash: self.secret_hash.clone(),
            redirect_uris: serde_json::to_string(&self.redirect_uris).unwrap_or_else(|_| "[]".into()),
            post_logout_redirect_uris: serde_json::to_string(&self.post_logout_redirect_uris)
                .unwrap_or_else(|_| "[]".into()),
            grant_types: self
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            scopes: self.scopes.to_string(),
            token_endpoint_auth_method: self.auth_method.as_str().into(),
            first_party: self.first_party,
            resource_server: self.resource_server,
            initiate_login_uri: self.initiate_login_uri.clone(),
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            jwks: self.jwks.as_ref().map(serde_json::Value::to_string),
            secret_sealed: self.secret_sealed.clone(),
            id_token_signed_response_alg: self.id_token_signed_response_alg.map(|alg| alg.as_str().to_owned()),
            access_token_signed_response_alg: self.access_token_signed_response_alg.map(|alg| alg.as_str().to_owned()),
            is_active: self.is_active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid client registration")]
    Validation(Vec<FieldError>),
    #[error("no such client")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client and, when one was just made, its secret (shown this once).
#[derive(Debug)]
pub struct RegisteredClient {
    pub client: Client,
    pub secret: Option<String>,
}

/// Client registration and authentication.
pub struct ClientService {
    db: Database,
    /// Active clients by id (`None`: no such active client), read on every token request.
    cache: TtlCache<String, Option<Client>>,
    /// Seals `client_secret_jwt` secrets.
    secret_key: Option<Secret>,
    /// The audience of client assertions.
    issuer: String,
    /// The algorithms a client may ask its tokens in (`keys.algorithms`).
    algorithms: Vec<SigningAlg>,
}

impl ClientService {
    pub fn new(
        db: Database,
        cache_ttl: Duration,
        secret_key: Option<Secret>,
        issuer: String,
        algorithms: Vec<SigningAlg>,
    ) -> Self {
        Self {
            db,
            cache: TtlCache::new(cache_ttl),
            secret_key,
            issuer,
            algorithms,
        }
    }

    /// Gives `client` a new secret: its hash, and for `client_secret_jwt` the secret sealed; `None` for a
    /// client that holds no secret.
    fn issue_secret(&self, client: &mut Client) -> Result<Option<String>, ClientError> {
        client.secret_hash = None;
        client.secret_sealed = None;
        if !client.auth_method.has_secret() {
            return Ok(None);
        }
        let secret = opaque::mint(CLIENT_SECRET_PREFIX);
        client.secret_hash = Some(secret.hash);
        if client.auth_method == AuthMethod::ClientSecretJwt {
            let sealed = sealing::seal(Purpose::ClientSecret, secret.value.as_bytes(), self.secret_key.as_ref())
                .map_err(|e| StoreError::Corrupt(format!("sealing a client secret failed: {e}")))?;
            client.secret_sealed = Some(sealed);
        }
        Ok(Some(secret.value))
    }

    /// Drops this instance's cached copy of a client another instance changed.
    pub fn heard(&self, change: &Change) {
        if let Change::Client(id) = change {
            self.cache.invalidate(id);
        }
    }

    /// Drops the cached copy of client `id` here, and tells the other instances to.
    async fn forget(&self, id: &str) {
        self.cache.invalidate(&id.to_owned());
        if let Err(e) = changes::announce(&self.db, Change::Client(id.to_owned())).await {
            tracing::warn!(error = %e, "announcing a client change failed; other instances see it within the cache time");
        }
    }

    /// Registers a client; confidential clients get a secret, returned once.
    pub async fn create(&self, spec: ClientSpec, now: UnixTime) -> Result<RegisteredClient, ClientError> {
        let application_id = self.application_of(&spec, None).await?;
        let mut client = validate(spec, application_id, None, &self.algorithms, now)?;
        let secret = self.issue_secret(&mut client)?;
        clients::insert(&self.db, client.to_row()).await?;
        self.cache.invalidate(&client.id);
        tracing::info!(client_id = %client.id, "client registered");
        audit::record(
            &self.db,
            Event::new(Kind::ClientCreated)
                .about(Subject::Client(client.id.clone()))
                .in_application(&client.application_id),
            now,
        )
        .await;
        Ok(RegisteredClient { client, secret })
    }

    /// The application a registration names (by id or slug), else the client's current one, else the
    /// default application.
    pub(crate) async fn application_of(
        &self,
        spec: &ClientSpec,
        current: Option<&Client>,
    ) -> Result<String, ClientError> {
        let wanted = match (&spec.application, current) {
            (Some(named), _) => named.clone(),
            (None, Some(current)) => return Ok(current.application_id.clone()),
            (None, None) => DEFAULT_SLUG.to_owned(),
        };
        let found = match applications::find(&self.db, wanted.clone()).await? {
            Some(app) => Some(app),
            None => applications::find_by_slug(&self.db, wanted.clone()).await?,
        };
        found.map(|app| app.id).ok_or_else(|| {
            ClientError::Validation(vec![FieldError {
                field: "application",
                message: format!("there is no application {wanted:?}"),
            }])
        })
    }

    pub async fn list(&self) -> Result<Vec<Client>, ClientError> {
        let rows = clients::list(&self.db).await?;
        Ok(rows.into_iter().map(Client::from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get(&self, id: &str) -> Result<Client, ClientError> {
        let row = clients::find(&self.db, id.to_owned())
            .await?
            .ok_or(ClientError::NotFound)?;
        Ok(Client::from_row(row)?)
    }

    /// The client, if it exists and is active.
    pub async fn find_active(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let key = id.to_owned();
        if let Some(cached) = self.cache.get(&key) {
            return Ok(cached);
        }
        let client = match clients::find(&self.db, key.clone()).await? {
            Some(row) if row.is_active => Some(Client::from_row(row)?),
            _ => None,
        };
        self.cache.insert(key, client.clone());
        Ok(client)
    }

    /// The active client `id` when `uri` is one of its redirect URIs (as the authorization endpoint matches
    /// them): where the client may have the browser sent back.
    pub async fn with_redirect(&self, id: &str, uri: &str) -> Result<Option<Client>, StoreError> {
        Ok(self
            .find_active(id)
            .await?
            .filter(|client| super::redirect_uri::is_registered(&client.redirect_uris, uri, client.is_public())))
    }

    /// Replaces a client's registration. A client that comes to need a secret it does not hold — turned
    /// confidential, or moved to `client_secret_jwt`, whose secret must be kept sealed — is issued one; a
    /// client that no longer uses a secret drops it.
    pub async fn update(&self, id: &str, spec: ClientSpec, now: UnixTime) -> Result<RegisteredClient, ClientError> {
        let current = self.get(id).await?;
        let application_id = self.application_of(&spec, Some(&current)).await?;
        let mut client = validate(spec, application_id, Some(&current), &self.algorithms, now)?;
        let kept = match client.auth_method {
            AuthMethod::ClientSecretJwt => current.secret_sealed.is_some(),
            method => method.has_secret() && current.secret_hash.is_some(),
        };
        let secret = if kept {
            client.secret_hash = current.secret_hash.clone();
            // The sealed copy is kept only while the secret is an HMAC key.
            client.secret_sealed = current
                .secret_sealed
                .clone()
                .filter(|_| client.auth_method == AuthMethod::ClientSecretJwt);
            None
        } else {
            self.issue_secret(&mut client)?
        };
        if !clients::update(&self.db, client.to_row()).await? {
            return Err(ClientError::NotFound);
        }
        self.forget(&client.id).await;
        let event = Event::new(Kind::ClientUpdated)
            .about(Subject::Client(client.id.clone()))
            .in_application(&client.application_id)
            .with("secret_issued", secret.is_some());
        audit::record(&self.db, event, now).await;
        Ok(RegisteredClient { client, secret })
    }

    /// Replaces a confidential client's secret; the old one stops working at once.
    pub async fn rotate_secret(&self, id: &str, now: UnixTime) -> Result<RegisteredClient, ClientError> {
        let mut client = self.get(id).await?;
        if !client.auth_method.has_secret() {
            return Err(ClientError::Validation(vec![FieldError {
                field: "client_secret",
                message: format!("a client of {} has no secret", client.auth_method.as_str()),
            }]));
        }
        let secret = self.issue_secret(&mut client)?;
        client.updated_at = now;
        if !clients::update(&self.db, client.to_row()).await? {
            return Err(ClientError::NotFound);
        }
        self.forget(&client.id).await;
        tracing::info!(client_id = %client.id, "client secret rotated");
        audit::record(
            &self.db,
            Event::new(Kind::ClientSecretRotated)
                .about(Subject::Client(client.id.clone()))
                .in_application(&client.application_id),
            now,
        )
        .await;
        Ok(RegisteredClient { client, secret })
    }

    pub async fn delete(&self, id: &str, now: UnixTime) -> Result<(), ClientError> {
        self.forget(id).await;
        if clients::delete(&self.db, id.to_owned()).await? {
            tracing::info!(client_id = %id, "client deleted");
            audit::record(
                &self.db,
                Event::new(Kind::ClientDeleted).about(Subject::Client(id.to_owned())),
                now,
            )
            .await;
            Ok(())
        } else {
            Err(ClientError::NotFound)
        }
    }
}

impl From<ClientError> for OAuthError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Store(e) => e.into(),
            other => OAuthError::new(ErrorCode::InvalidRequest, other.to_string()),
        }
    }
}
