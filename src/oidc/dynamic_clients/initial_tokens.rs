//! Initial access tokens (RFC 7591 §3): made, listed and revoked by administrators. A token lets its holder
//! register clients in one application, until it expires, is revoked, or has made its number of
//! registrations. The token is shown once; only its SHA-256 is stored.

use super::{DynamicClients, INITIAL_TOKEN_PREFIX};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::oidc::clients::{ClientError, ClientSpec};
use crate::store::registration_tokens::{self, RegistrationTokenRow};
use crate::tokens::opaque;

const DAY: i64 = 24 * 60 * 60;
/// Lifetime of a token when none is asked for, and the longest allowed.
const DEFAULT_DAYS: i64 = 7;
const MAX_DAYS: i64 = 365;

/// What an administrator asks for.
#[derive(Clone, Debug, Default)]
pub struct NewRegistrationToken {
    /// The application (id or slug) the clients will join; the default application when absent.
    pub application: Option<String>,
    pub description: String,
    /// Days it lives (1 to 365, default 7).
    pub expires_in_days: Option<i64>,
    /// How many clients it may register; any number when absent.
    pub uses: Option<i64>,
}

/// A token as administrators see it (never the token itself).
#[derive(Clone, Debug)]
pub struct RegistrationTokenInfo {
    pub id: String,
    pub application_id: String,
    pub description: String,
    pub uses_left: Option<i64>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl From<RegistrationTokenRow> for RegistrationTokenInfo {
    fn from(row: RegistrationTokenRow) -> Self {
        Self {
            id: row.id,
            application_id: row.application_id,
            description: row.description,
            uses_left: row.uses_left,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A token just made: shown this once.
#[derive(Debug)]
pub struct IssuedRegistrationToken {
    pub token: String,
    pub info: RegistrationTokenInfo,
}

impl DynamicClients {
    /// Makes an initial access token.
    pub async fn issue_registration_token(
        &self,
        new: NewRegistrationToken,
        now: UnixTime,
    ) -> Result<IssuedRegistrationToken, ClientError> {
        let mut problems = Vec::new();
        let description = new.description.trim().to_owned();
        if description.chars().count() > 200 || description.chars().any(char::is_control) {
            problems.push(field(
                "description",
                "must be at most 200 characters, without control characters",
            ));
        }
        let days = new.expires_in_days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            problems.push(field("expires_in_days", "must be 1 to 365"));
        }
        if new.uses.is_some_and(|uses| uses < 1) {
            problems.push(field("uses", "must be at least 1"));
        }
        if !problems.is_empty() {
            return Err(ClientError::Validation(problems));
        }
        let spec = ClientSpec {
            application: new.application,
            ..ClientSpec::default()
        };
        let application_id = self.clients.application_of(&spec, None).await?;
        let token = opaque::mint(INITIAL_TOKEN_PREFIX);
        let row = RegistrationTokenRow {
            id: opaque::random_id(),
            token_hash: token.hash,
            application_id,
            description,
            uses_left: new.uses,
            created_at: now,
            expires_at: now + days * DAY,
            revoked_at: None,
        };
        registration_tokens::insert(&self.db, row.clone()).await?;
        let event = Event::new(Kind::RegistrationTokenCreated)
            .about(Subject::RegistrationToken(row.id.clone()))
            .in_application(&row.application_id);
        audit::record(&self.db, event, now).await;
        Ok(IssuedRegistrationToken {
            token: token.value,
            info: row.into(),
        })
    }

    /// Every initial access token, newest first.
    pub async fn registration_tokens(&self) -> Result<Vec<RegistrationTokenInfo>, ClientError> {
        let rows = registration_tokens::list(&self.db).await?;
        Ok(rows.into_iter().map(RegistrationTokenInfo::from).collect())
    }

    /// Revokes an initial access token; clients it registered stay.
    pub async fn revoke_registration_token(&self, id: &str, now: UnixTime) -> Result<(), ClientError> {
        if !registration_tokens::revoke(&self.db, id.to_owned(), now).await? {
            return Err(ClientError::NotFound);
        }
        let event = Event::new(Kind::RegistrationTokenRevoked).about(Subject::RegistrationToken(id.to_owned()));
        audit::record(&self.db, event, now).await;
        Ok(())
    }
}

fn field(field: &'static str, message: &str) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}
