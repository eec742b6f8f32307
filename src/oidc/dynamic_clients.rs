//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), off unless
//! `oauth.dynamic_registration` is set. Registering takes an initial access token an administrator issued
//! (`initial_tokens`): it names the application the client joins and how many registrations it allows. Each
//! registered client gets a registration access token (its SHA-256 alone is kept) with which it reads,
//! replaces and deletes its own registration at its `registration_client_uri`. The metadata is checked by the
//! same rules as an administrator's registration.

mod initial_tokens;
mod metadata;

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::oidc::clients::{Client, ClientError, ClientService};
use crate::store::client_registrations::{self, ClientRegistrationRow};
use crate::store::registration_tokens::{self, RegistrationTokenRow};
use crate::store::{Database, StoreError};
use crate::tokens::opaque;

pub use initial_tokens::{IssuedRegistrationToken, NewRegistrationToken, RegistrationTokenInfo};
pub use metadata::{ClientInformation, ClientMetadata};

/// Prefix of initial access tokens.
pub const INITIAL_TOKEN_PREFIX: &str = "tsi_";
/// Prefix of registration access tokens.
pub const REGISTRATION_TOKEN_PREFIX: &str = "tsm_";
/// Path of the registration endpoint; a client's own registration is at `{path}/{client_id}`.
pub const REGISTRATION_PATH: &str = "/oauth2/register";

/// Why a registration request was refused (RFC 7591 §3.2.2, RFC 7592 §2).
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("dynamic client registration is not enabled on this server")]
    Disabled,
    /// The initial or registration access token is missing, unknown, spent, expired or another client's.
    #[error("the access token is not valid here")]
    InvalidToken,
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidMetadata(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ClientError> for RegistrationError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Validation(problems) => metadata::refusal(problems),
            // The client went away between the token's check and the change.
            ClientError::NotFound => Self::InvalidToken,
            ClientError::Store(e) => Self::Store(e),
        }
    }
}

/// Dynamic registration: its own switch, and the clients it registers through [`ClientService`].
pub struct DynamicClients {
    db: Database,
    clients: Arc<ClientService>,
    enabled: bool,
    issuer: String,
}

impl DynamicClients {
    pub fn new(db: Database, clients: Arc<ClientService>, enabled: bool, issuer: &str) -> Self {
        Self {
            db,
            clients,
            enabled,
            issuer: issuer.to_owned(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// RFC 7591 §3: registers a client with `initial_token` (a bearer token) into that token's application,
    /// spending one of its uses (given back when the metadata is refused).
    pub async fn register(
        &self,
        initial_token: Option<&str>,
        metadata: ClientMetadata,
        now: UnixTime,
    ) -> Result<ClientInformation, RegistrationError> {
        let token = self.spend_initial_token(initial_token, now).await?;
        if metadata.client_id().is_some() || metadata.client_secret().is_some() {
            self.give_back(&token).await;
            return Err(RegistrationError::InvalidMetadata(
                "client_id and client_secret are issued by the server".into(),
            ));
        }
        let created = match metadata.into_spec(&token.application_id) {
            Ok(spec) => self.clients.create(spec, now).await.map_err(RegistrationError::from),
            Err(refused) => Err(refused),
        };
        let registered = match created {
            Ok(registered) => registered,
            Err(refused) => {
                self.give_back(&token).await;
                return Err(refused);
            }
        };
        let access_token = opaque::mint(REGISTRATION_TOKEN_PREFIX);
        let row = ClientRegistrationRow {
            client_id: registered.client.id.clone(),
            access_token_hash: access_token.hash,
            registration_token_id: Some(token.id),
            created_at: now,
        };
        if let Err(error) = client_registrations::insert(&self.db, row).await {
            // Without its registration access token the client could never be managed: take it back.
            let _ = self.clients.delete(&registered.client.id, now).await;
            return Err(error.into());
        }
        tracing::info!(client_id = %registered.client.id, "client registered dynamically");
        let uri = self.client_uri(&registered.client.id);
        Ok(ClientInformation::of(
            registered.client,
            registered.secret,
            &access_token.value,
            uri,
        ))
    }

    /// RFC 7592 §2.1: the registration as it stands.
    pub async fn read(
        &self,
        client_id: &str,
        access_token: Option<&str>,
    ) -> Result<ClientInformation, RegistrationError> {
        let (client, presented) = self.managed(client_id, access_token).await?;
        let uri = self.client_uri(&client.id);
        Ok(ClientInformation::of(client, None, presented, uri))
    }

    /// RFC 7592 §2.2: replaces the registration with `metadata`, which names the client and, if it carries
    /// the secret, carries the right one. The secret and the application stay; a client made confidential
    /// gets a secret, returned this once.
    pub async fn replace(
        &self,
        client_id: &str,
        access_token: Option<&str>,
        metadata: ClientMetadata,
        now: UnixTime,
    ) -> Result<ClientInformation, RegistrationError> {
        let (client, presented) = self.managed(client_id, access_token).await?;
        if metadata.client_id() != Some(client.id.as_str()) {
            return Err(RegistrationError::InvalidMetadata(
                "client_id must be present and name this client".into(),
            ));
        }
        if let Some(secret) = metadata.client_secret()
            && !client.holds_secret(secret)
        {
            return Err(RegistrationError::InvalidMetadata(
                "client_secret is not this client's".into(),
            ));
        }
        let spec = metadata.into_spec(&client.application_id)?;
        let updated = self.clients.update(&client.id, spec, now).await?;
        let uri = self.client_uri(&client.id);
        Ok(ClientInformation::of(updated.client, updated.secret, presented, uri))
    }

    /// RFC 7592 §2.3: deletes the client, its registration access token and everything issued to it.
    pub async fn delete(
        &self,
        client_id: &str,
        access_token: Option<&str>,
        now: UnixTime,
    ) -> Result<(), RegistrationError> {
        let (client, _) = self.managed(client_id, access_token).await?;
        self.clients.delete(&client.id, now).await?;
        Ok(())
    }

    /// The client `client_id` when `access_token` is its registration access token. Unknown tokens, other
    /// clients' tokens and clients that are gone are all `InvalidToken` (RFC 7592 §2: 401).
    async fn managed<'t>(
        &self,
        client_id: &str,
        access_token: Option<&'t str>,
    ) -> Result<(Client, &'t str), RegistrationError> {
        if !self.enabled {
            return Err(RegistrationError::Disabled);
        }
        let presented = access_token
            .filter(|t| opaque::is_well_formed(t, REGISTRATION_TOKEN_PREFIX))
            .ok_or(RegistrationError::InvalidToken)?;
        let row = client_registrations::find_by_hash(&self.db, opaque::hash(presented))
            .await?
            .filter(|row| row.client_id == client_id)
            .ok_or(RegistrationError::InvalidToken)?;
        let client = self.clients.get(&row.client_id).await?;
        Ok((client, presented))
    }

    async fn spend_initial_token(
        &self,
        presented: Option<&str>,
        now: UnixTime,
    ) -> Result<RegistrationTokenRow, RegistrationError> {
        if !self.enabled {
            return Err(RegistrationError::Disabled);
        }
        let presented = presented
            .filter(|t| opaque::is_well_formed(t, INITIAL_TOKEN_PREFIX))
            .ok_or(RegistrationError::InvalidToken)?;
        registration_tokens::spend(&self.db, opaque::hash(presented), now)
            .await?
            .ok_or(RegistrationError::InvalidToken)
    }

    async fn give_back(&self, token: &RegistrationTokenRow) {
        if token.uses_left.is_some()
            && let Err(error) = registration_tokens::give_back(&self.db, token.id.clone()).await
        {
            tracing::warn!(error = %error, "giving back an initial access token's use failed");
        }
    }

    fn client_uri(&self, client_id: &str) -> String {
        format!("{}{REGISTRATION_PATH}/{client_id}", self.issuer)
    }
}
