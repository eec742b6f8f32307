//! Private tokens: long-lived credentials a user makes for scripts and back-end jobs, so they never hold the
//! password. A token belongs to one application, carries a subset of its owner's scopes, always expires, and
//! is stored as a SHA-256 hash. It works as a bearer token by itself, or is exchanged for a short-lived
//! access token that dies with it.

use std::net::IpAddr;

use super::{AuthError, Credential, Principal, PrivateTokenError, PrivateTokens, SessionError};
use crate::apps::Application;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::store::private_tokens::{self, PrivateTokenRow};
use crate::store::users::User;
use crate::tokens::opaque::{self, PRIVATE_TOKEN_PREFIX};
use crate::tokens::{AccessGrant, IssuedAccessToken, TokenError};

/// Characters of a token kept for display (the prefix and a few more).
const DISPLAY_PREFIX_LEN: usize = 12;
/// `last_used_at` is written at most this often per token (or when the address changes).
const TOUCH_EVERY_SECS: i64 = 60;
const MAX_DESCRIPTION_CHARS: usize = 200;

/// What a user asks for: every field as it arrived.
#[derive(Clone, Debug, Default)]
pub struct PrivateTokenRequest {
    pub description: Option<String>,
    pub expires_at: Option<UnixTime>,
    pub scopes: Option<Vec<String>>,
}

/// A private token as listed (never the token itself).
#[derive(Clone, Debug)]
pub struct PrivateTokenInfo {
    pub id: String,
    pub user_id: String,
    pub application_id: String,
    pub description: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
    pub last_used_ip: Option<String>,
}

impl From<PrivateTokenRow> for PrivateTokenInfo {
    fn from(row: PrivateTokenRow) -> Self {
        Self {
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
            id: row.id,
            user_id: row.user_id,
            application_id: row.application_id,
            description: row.description,
            prefix: row.prefix,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
            last_used_ip: row.last_used_ip,
        }
    }
}

/// A token just made: its description, and the token, shown this once.
#[derive(Debug)]
pub struct NewPrivateToken {
    pub info: PrivateTokenInfo,
    pub token: String,
}

/// A live private token and its owner, as a presented token resolves.
#[derive(Clone, Debug)]
pub struct LivePrivateToken {
    pub token: PrivateTokenRow,
    pub user: User,
}

impl PrivateTokens {
    /// `POST /api/v1/tokens`: a new private token for the caller, in the caller's application. Only an
    /// interactive sign-in may make one: a private token cannot mint another.
    pub async fn create_private_token(
        &self,
        caller: &Principal,
        app: &Application,
        request: PrivateTokenRequest,
        now: UnixTime,
    ) -> Result<NewPrivateToken, AuthError> {
        caller.require_interactive()?;
        caller.require_registered()?;
        let (description, expires_at, scopes) = self.validate_private_token(caller, request, now)?;
        let minted = opaque::mint(PRIVATE_TOKEN_PREFIX);
        let row = PrivateTokenRow {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: caller.user.id.clone(),
            application_id: app.id.clone(),
            description,
            prefix: minted.value.chars().take(DISPLAY_PREFIX_LEN).collect(),
            token_hash: minted.hash,
            scopes,
            created_at: now,
            expires_at,
            revoked_at: None,
            revoked_reason: None,
            last_used_at: None,
            last_used_ip: None,
        };
        private_tokens::insert(&self.db, row.clone()).await?;
        tracing::info!(user_id = %row.user_id, token_id = %row.id, expires_at, "private token created");
        audit::record(
            &self.db,
            Event::new(Kind::PrivateTokenCreated)
                .about(Subject::PrivateToken(row.id.clone()))
                .in_application(&row.application_id)
                .with("user", row.user_id.as_str()),
            now,
        )
        .await;
        Ok(NewPrivateToken {
            info: row.into(),
            token: minted.value,
        })
    }

    /// The tokens of `user_id`, newest first, live or not.
    pub async fn list_private_tokens(&self, user_id: &str) -> Result<Vec<PrivateTokenInfo>, AuthError> {
        let rows = private_tokens::list_for_user(&self.db, user_id.to_owned()).await?;
        Ok(rows.into_iter().map(PrivateTokenInfo::from).collect())
    }

    /// The latest expiry a private token made now may have (`tokens.private_token_max_ttl_days` from now).
    pub fn latest_expiry(&self, now: UnixTime) -> UnixTime {
        now + self.policy.private_token_max_ttl_days * 24 * 3600
    }

    /// Revokes one of `user_id`'s tokens at once. An unknown or already revoked token is `UnknownToken`.
    pub async fn revoke_private_token(
        &self,
        user_id: &str,
        token_id: &str,
        reason: &'static str,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        if !private_tokens::revoke(&self.db, user_id.to_owned(), token_id.to_owned(), reason, now).await? {
            return Err(PrivateTokenError::UnknownToken.into());
        }
        tracing::info!(%user_id, %token_id, reason, "private token revoked");
        audit::record(
            &self.db,
            Event::new(Kind::PrivateTokenRevoked)
                .about(Subject::PrivateToken(token_id.to_owned()))
                .with("user", user_id)
                .with("reason", reason),
            now,
        )
        .await;
        Ok(())
    }

    /// Revokes every live token of `user_id`; returns how many.
    pub async fn revoke_all_private_tokens(
        &self,
        user_id: &str,
        reason: &'static str,
        now: UnixTime,
    ) -> Result<usize, AuthError> {
        let count = private_tokens::revoke_all_for_user(&self.db, user_id.to_owned(), reason, now).await?;
        if count > 0 {
            tracing::info!(%user_id, count, reason, "private tokens revoked");
            audit::record(
                &self.db,
                Event::new(Kind::PrivateTokenRevoked)
                    .about(Subject::User(user_id.to_owned()))
                    .with("count", count)
                    .with("reason", reason),
                now,
            )
            .await;
        }
        Ok(count)
    }

    /// `POST /api/v1/tokens/{id}/rotate`: a replacement with the same description, scopes and expiry; the old
    /// token is revoked in the same transaction.
    pub async fn rotate_private_token(
        &self,
        caller: &Principal,
        token_id: &str,
        now: UnixTime,
    ) -> Result<NewPrivateToken, AuthError> {
        caller.require_interactive()?;
        let (old, _) = private_tokens::find_with_user(&self.db, token_id.to_owned())
            .await?
            .filter(|(row, _)| row.user_id == caller.user.id && row.revoked_at.is_none())
            .ok_or(PrivateTokenError::UnknownToken)?;
        if old.expires_at <= now {
            return Err(AuthError::Validation(vec![FieldError {
                field: "expires_at",
                message: "the token has expired; create a new one instead".into(),
            }]));
        }
        let minted = opaque::mint(PRIVATE_TOKEN_PREFIX);
        let replacement = PrivateTokenRow {
            id: uuid::Uuid::new_v4().to_string(),
            prefix: minted.value.chars().take(DISPLAY_PREFIX_LEN).collect(),
            token_hash: minted.hash,
            created_at: now,
            revoked_at: None,
            revoked_reason: None,
            last_used_at: None,
            last_used_ip: None,
            ..old.clone()
        };
        if !private_tokens::rotate(
            &self.db,
            caller.user.id.clone(),
            old.id.clone(),
            replacement.clone(),
            now,
        )
        .await?
        {
            return Err(PrivateTokenError::UnknownToken.into());
        }
        tracing::info!(user_id = %caller.user.id, old = %old.id, new = %replacement.id, "private token rotated");
        audit::record(
            &self.db,
            Event::new(Kind::PrivateTokenRotated)
                .about(Subject::PrivateToken(old.id.clone()))
                .in_application(&old.application_id)
                .with("replacement", replacement.id.as_str()),
            now,
        )
        .await;
        Ok(NewPrivateToken {
            info: replacement.into(),
            token: minted.value,
        })
    }

    /// Resolves a presented private token: well formed, known, live, of an active account, and issued for
    /// `app`. One indexed look-up; nothing is cached, so revocation applies to the very next request.
    pub async fn resolve_private_token(
        &self,
        presented: &str,
        app_id: &str,
        now: UnixTime,
    ) -> Result<LivePrivateToken, AuthError> {
        if !opaque::is_well_formed(presented, PRIVATE_TOKEN_PREFIX) {
            return Err(TokenError::Invalid("The private token is malformed.").into());
        }
        let (token, user) = private_tokens::find_by_hash(&self.db, opaque::hash(presented))
            .await?
            .ok_or(TokenError::Invalid("The private token is not known."))?;
        let live = LivePrivateToken { token, user };
        check_live(&live, app_id, now)?;
        self.access.still_admitted(&live.user, app_id).await?;
        Ok(live)
    }

    /// The private token with this id, if it is still live for `app_id`: what an access token exchanged for
    /// it checks on every use.
    pub async fn live_private_token(
        &self,
        token_id: &str,
        app_id: &str,
        now: UnixTime,
    ) -> Result<LivePrivateToken, AuthError> {
        let (token, user) = private_tokens::find_with_user(&self.db, token_id.to_owned())
            .await?
            .ok_or(TokenError::Revoked(
                "The private token behind this token no longer exists.",
            ))?;
        let live = LivePrivateToken { token, user };
        check_live(&live, app_id, now)?;
        self.access.still_admitted(&live.user, app_id).await?;
        Ok(live)
    }

    /// Whether private tokens of `app` may be used (directly, or exchanged) from `client_ip`: its networks.
    pub fn usable_from(&self, app: &Application, client_ip: Option<IpAddr>) -> Result<(), AuthError> {
        super::access::check_network(app, client_ip)
    }

    /// A bearer request made with a private token itself: it acts with the token's scopes.
    pub(in crate::auth) async fn authenticate_private_token(
        &self,
        presented: &str,
        app: &Application,
        client_ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<Principal, AuthError> {
        self.usable_from(app, client_ip)?;
        let live = self.resolve_private_token(presented, &app.id, now).await?;
        self.record_use(&live.token, client_ip, now);
        Ok(Principal {
            scope: live.token.scopes,
            credential: Credential::PrivateToken(live.token.id),
            user: live.user,
        })
    }

    /// `POST /api/v1/auth/login` with `application_token`: a short-lived access token for `app`, with the
    /// private token's scopes, no refresh token, and no longer-lived than the private token.
    pub async fn exchange_private_token(
        &self,
        presented: &str,
        app: &Application,
        client_ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<IssuedAccessToken, AuthError> {
        self.usable_from(app, client_ip)?;
        let live = self.resolve_private_token(presented, &app.id, now).await?;
        self.record_use(&live.token, client_ip, now);
        Ok(self.tokens.issue(
            AccessGrant {
                subject: &live.user.id,
                family: None,
                scope: &live.token.scopes,
                client_id: None,
                application: Some(&app.id),
                private_token: Some(&live.token.id),
                amr: None,
                acr: None,
                auth_time: None,
                jkt: None,
                lifetime: exchanged_lifetime(app, &live.token, now),
                grant: crate::metrics::Grant::PrivateToken,
                alg: crate::tokens::keys::SigningAlg::Rs256,
            },
            now,
        )?)
    }

    /// Writes `last_used_at` / `last_used_ip` in the background when they are stale: at most once a minute
    /// per token unless the address changed.
    pub fn record_use(&self, token: &PrivateTokenRow, client_ip: Option<IpAddr>, now: UnixTime) {
        let recent = token.last_used_at.is_some_and(|at| now - at < TOUCH_EVERY_SECS);
        let same_address = token.last_used_ip.as_deref().and_then(|ip| ip.parse().ok()) == client_ip;
        if recent && same_address {
            return;
        }
        let db = self.db.clone();
        let id = token.id.clone();
        tokio::spawn(async move {
            let ip = client_ip.map(|ip| ip.to_string());
            if let Err(e) = private_tokens::touch(&db, id, ip, now).await {
                tracing::warn!(error = %e, "recording a private token's use failed");
            }
        });
    }

    fn validate_private_token(
        &self,
        caller: &Principal,
        request: PrivateTokenRequest,
        now: UnixTime,
    ) -> Result<(String, UnixTime, String), AuthError> {
        let mut problems = Vec::new();
        let mut problem = |field: &'static str, message: String| problems.push(FieldError { field, message });
        let description = request.description.unwrap_or_default().trim().to_owned();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
            problem(
                "description",
                format!("is required, 1 to {MAX_DESCRIPTION_CHARS} characters"),
            );
        }
        let max_days = self.policy.private_token_max_ttl_days;
        let latest = self.latest_expiry(now);
        let expires_at = request.expires_at.unwrap_or(0);
        match request.expires_at {
            None => problem("expires_at", "is required: private tokens always expire".into()),
            Some(at) if at <= now => problem("expires_at", "must be in the future".into()),
            Some(at) if at > latest => problem("expires_at", format!("must be at most {max_days} days from now")),
            Some(_) => {}
        }
        let mut scopes: Vec<String> = Vec::new();
        for scope in request.scopes.unwrap_or_default() {
            if !caller.has_scope(&scope) {
                // Asking for more than one holds is an authorization failure, not a malformed field.
                return Err(PrivateTokenError::ScopeNotHeld(scope).into());
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if problems.is_empty() {
            Ok((description, expires_at, scopes.join(" ")))
        } else {
            Err(AuthError::Validation(problems))
        }
    }
}

/// Live: not revoked, not expired, an active owner, the right application.
fn check_live(live: &LivePrivateToken, app_id: &str, now: UnixTime) -> Result<(), AuthError> {
    if live.token.application_id != app_id {
        return Err(SessionError::AppMismatch.into());
    }
    if live.token.revoked_at.is_some() {
        return Err(TokenError::Revoked("The private token was revoked.").into());
    }
    if !live.user.is_active {
        return Err(TokenError::Revoked("The account is disabled.").into());
    }
    if live.token.expires_at <= now {
        return Err(TokenError::Expired.into());
    }
    Ok(())
}

/// An exchanged access token lives for the application's access-token lifetime, but never past the private
/// token it came from.
pub fn exchanged_lifetime(app: &Application, token: &PrivateTokenRow, now: UnixTime) -> i64 {
    app.access_token_ttl_secs.min(token.expires_at - now).max(1)
}
