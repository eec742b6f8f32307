//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4–3.5): the device polls with its
//! device code. In order: the code must be this client's (`invalid_grant`), unexpired (`expired_token`), and
//! polled no faster than its interval (`slow_down`, and the interval grows by 5 seconds); then the person's
//! answer decides — `authorization_pending`, `access_denied`, or tokens, issued once: the approved code is spent
//! by one conditional update together with the token family it produces, so of two polls only one gets tokens.

use super::{AccountGrant, TokenResponse, required};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::oidc::clients::{Client, GrantType};
use crate::oidc::device::DEVICE_CODE_PREFIX;
use crate::oidc::params::Params;
use crate::oidc::scope::{OFFLINE_ACCESS, Scope};
use crate::oidc::{ErrorCode, OAuthError, OidcService};
use crate::store::StoreError;
use crate::store::device_authorizations::{self, DeviceAuthorizationRow, Pace, Status};
use crate::store::refresh_tokens::NewRefreshToken;
use crate::store::sessions::NewSession;
use crate::store::users;
use crate::tokens::opaque::{self, REFRESH_TOKEN_PREFIX};

impl OidcService {
    pub(super) async fn exchange_device_code(
        &self,
        client: &Client,
        app: &Application,
        params: &Params,
        jkt: Option<&str>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let code = required(params, "device_code")?;
        // A string that is no device code of ours never reaches the database.
        let row = if opaque::is_well_formed(code, DEVICE_CODE_PREFIX) {
            device_authorizations::find_by_device_code(&self.db, opaque::hash(code)).await?
        } else {
            None
        };
        let Some(row) = row else {
            return Err(OAuthError::invalid_grant("unknown device code"));
        };
        // RFC 8628 §3.4 with RFC 6749 §5.2: a device code belongs to the client it was issued to.
        if row.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "the device code was issued to another client",
            ));
        }
        if now >= row.expires_at {
            return Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "the device code has expired: start a new device authorization",
            ));
        }
        if device_authorizations::pace(&self.db, row.id.clone(), now).await? == Pace::TooSoon {
            return Err(OAuthError::new(
                ErrorCode::PolledTooSoon,
                format!(
                    "polled before the interval passed: wait at least {} seconds between requests",
                    row.interval_secs + 5
                ),
            ));
        }
        match row.status()? {
            Status::Pending => Err(OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the person has not answered yet",
            )),
            Status::Denied => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the authorization request was denied",
            )),
            Status::Approved if row.used_at.is_some() => Err(spent()),
            Status::Approved => self.issue_for_device(row, client, app, jkt, now).await,
        }
    }

    /// Tokens for the approved device authorization `row`, exactly once.
    async fn issue_for_device(
        &self,
        row: DeviceAuthorizationRow,
        client: &Client,
        app: &Application,
        jkt: Option<&str>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("device authorization {}: {what}", row.id));
        let (Some(user_id), Some(auth_time), Some(amr), Some(acr)) =
            (row.user_id.clone(), row.auth_time, row.amr.clone(), row.acr.clone())
        else {
            return Err(corrupt("approved without its sign-in").into());
        };
        let user = users::find_by_id(&self.db, user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(|| OAuthError::invalid_grant("the account is no longer active"))?;
        let family_id = opaque::random_id();
        let expires_at = now + app.refresh_token_ttl_secs;
        let refresh = client
            .allows(GrantType::RefreshToken)
            .then(|| opaque::mint(REFRESH_TOKEN_PREFIX));
        // The device's tokens do not end with the browser session the person approved it in: that browser is
        // another device.
        let family = NewSession {
            id: family_id.clone(),
            user_id: user.id.clone(),
            auth_time,
            created_at: now,
            expires_at,
            application_id: Some(app.id.clone()),
            client_id: Some(client.id.clone()),
            scope: row.scope.clone(),
            amr: amr.clone(),
            acr: acr.clone(),
            browser_session_id: None,
            offline: Scope::stored(&row.scope).contains(OFFLINE_ACCESS),
            dpop_jkt: super::family_binding(client, jkt),
        };
        let refresh_row = refresh.as_ref().map(|token| NewRefreshToken {
            id: opaque::random_id(),
            session_id: family_id.clone(),
            token_hash: token.hash.clone(),
            parent_id: None,
            created_at: now,
            expires_at,
        });
        if !device_authorizations::redeem(&self.db, row.id.clone(), family, refresh_row).await? {
            tracing::warn!(client_id = %client.id, "device code presented again after its tokens were issued");
            return Err(spent());
        }
        let grant = AccountGrant {
            user_id: &user.id,
            family_id: &family_id,
            scope: row.scope.clone(),
            auth_time,
            amr: &amr,
            acr: &acr,
            nonce: None,
            browser_session_id: None,
            refresh_token: refresh.map(|r| r.value),
            jkt,
            metric: crate::metrics::Grant::DeviceCode,
        };
        let tokens = self.account_tokens(client, app, grant, now)?;
        tracing::info!(user_id = %user.id, client_id = %client.id, "device code exchanged");
        Ok(tokens)
    }
}

fn spent() -> OAuthError {
    OAuthError::invalid_grant("the device code was already used")
}
