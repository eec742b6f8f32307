//! `grant_type=refresh_token` (RFC 6749 §6; RFC 9700 §4.14.2): rotation on every use, reuse revokes the
//! family, the token is bound to its client, and the scope can only narrow. A refreshed ID token keeps the
//! original `sub`, `auth_time`, `acr` and `amr` (OIDC Core §12.2): refreshing never adds a factor.

use super::{AccountGrant, TokenResponse, param, required};
use crate::apps::Application;
use crate::auth::{FamilyOwner, Freshness};
use crate::clock::UnixTime;
use crate::oidc::clients::Client;
use crate::oidc::params::Params;
use crate::oidc::scope::Scope;
use crate::oidc::{ErrorCode, OAuthError, OidcService};
use crate::store::refresh_tokens;
use crate::tokens::opaque;

impl OidcService {
    pub(super) async fn exchange_refresh_token(
        &self,
        client: &Client,
        app: &Application,
        params: &Params,
        client_ip: Option<std::net::IpAddr>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = required(params, "refresh_token")?;
        let requested = param(params, "scope")?
            .map(|text| Scope::parse(text).ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope")))
            .transpose()?;
        // The scope is checked before the token is spent, so a refused request leaves the client its token.
        if let Some(requested) = &requested
            && let Some(found) = refresh_tokens::find_by_hash(&self.db, opaque::hash(presented)).await?
            && found.session.client_id.as_deref() == Some(client.id.as_str())
            && !requested.is_subset_of(&Scope::stored(&found.session.scope))
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "a refresh cannot widen the scope originally granted",
            ));
        }
        let rotated = self
            .sessions
            .rotate_refresh_token(
                presented,
                FamilyOwner::Client(&client.id),
                client_ip,
                Freshness::Refresh { resume: false },
                now,
            )
            .await?;
        let family = &rotated.family;
        let scope = requested.unwrap_or_else(|| Scope::stored(&family.scope)).to_string();
        let grant = AccountGrant {
            user_id: &rotated.user.id,
            family_id: &family.id,
            scope,
            auth_time: family.auth_time,
            amr: &family.amr,
            acr: &family.acr,
            nonce: None,
            browser_session_id: family.browser_session_id.as_deref(),
            refresh_token: Some(rotated.refresh_token.clone()),
            metric: crate::metrics::Grant::RefreshToken,
        };
        self.account_tokens(client, app, grant, now)
    }
}
