//! `grant_type=refresh_token` (RFC 6749 §6; RFC 9700 §4.14.2): rotation on every use, reuse revokes the
//! family, the token is bound to its client, and the scope can only narrow. A refreshed ID token keeps the
//! original `sub`, `auth_time`, `acr` and `amr` (OIDC Core §12.2): refreshing never adds a factor. A family
//! bound to a DPoP key (a public client's, RFC 9449 §5) refreshes only with a proof by that key.

use super::{AccountGrant, TokenResponse, param, required};
use crate::apps::Application;
use crate::auth::{FamilyOwner, Freshness};
use crate::clock::UnixTime;
use crate::oidc::clients::Client;
use crate::oidc::params::Params;
use crate::oidc::scope::Scope;
use crate::oidc::{ErrorCode, OAuthError, OidcService};
use crate::store::refresh_tokens;
use crate::tokens::opaque::{self, REFRESH_TOKEN_PREFIX};

impl OidcService {
    pub(super) async fn exchange_refresh_token(
        &self,
        client: &Client,
        app: &Application,
        params: &Params,
        jkt: Option<&str>,
        client_ip: Option<std::net::IpAddr>,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = required(params, "refresh_token")?;
        let requested = param(params, "scope")?
            .map(|text| Scope::parse(text).ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope")))
            .transpose()?;
        // The scope and the DPoP key are checked before the token is spent, so a refused request leaves the
        // client its token.
        let found = if opaque::is_well_formed(presented, REFRESH_TOKEN_PREFIX) {
            refresh_tokens::find_by_hash(&self.db, opaque::hash(presented)).await?
        } else {
            None
        };
        if let Some(found) = found.filter(|found| found.session.client_id.as_deref() == Some(client.id.as_str())) {
            if let Some(requested) = &requested
                && !requested.is_subset_of(&Scope::stored(&found.session.scope))
            {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "a refresh cannot widen the scope originally granted",
                ));
            }
            check_key(found.session.dpop_jkt.as_deref(), jkt)?;
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
            jkt,
            metric: crate::metrics::Grant::RefreshToken,
        };
        self.account_tokens(client, app, grant, now)
    }
}

/// RFC 9449 §5: a family bound to a DPoP key refreshes only with a proof by that key.
fn check_key(bound: Option<&str>, proved: Option<&str>) -> Result<(), OAuthError> {
    match (bound, proved) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "this refresh token is bound to a DPoP key: send a DPoP proof signed by it",
        )),
        (Some(bound), Some(proved)) if bound == proved => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "the refresh token is bound to another DPoP key than the proof's",
        )),
    }
}
