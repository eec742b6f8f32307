//! Linking an upstream identity over the REST API, for a signed-in person: the application asks for a round
//! trip (`start_link_api`, after a recent interactive sign-in, like adding a factor: a flow at stage `link`,
//! naming the account, its token kept by the application), sends the person's browser to the provider, and the
//! provider's callback keeps what the upstream proved on the flow with a one-time result code
//! (`link_proven`), which reaches the application at one of its client's redirect URIs. The application
//! finishes with the same account's bearer token, the flow token and the code (`complete_link_api`): a link
//! page forged for someone else's browser (a link CSRF) cannot add their identity to the forger's account,
//! because that browser comes back without the forger's flow token.

use super::external_api::{ExternalStart, result_matches};
use super::{Door, ExternalIdentity, Stage};
use crate::apps::Application;
use crate::auth::{AuthError, Authentication, FactorError, FlowError, LinkedIdentity, Principal, SignIn};
use crate::clock::UnixTime;
use crate::store::sign_in_flows;
use crate::tokens::opaque;

/// Prefix of the one-time result code of a link the REST API started.
const LINK_RESULT_PREFIX: &str = "tsl_";

impl SignIn {
    /// Begins linking an identity to the caller's account over the REST API of `app`.
    pub async fn start_link_api(
        &self,
        caller: &Principal,
        app: &Application,
        now: UnixTime,
    ) -> Result<ExternalStart, AuthError> {
        self.accounts.may_link(caller, now)?;
        let (token, row) = self.new_flow(
            app,
            Door::Api(app),
            Some(&caller.user),
            Stage::Link,
            &Authentication::guest(),
            now,
        );
        let flow_id = row.id.clone();
        sign_in_flows::insert(&self.db, row).await?;
        Ok(ExternalStart { token, flow_id })
    }

    /// The provider's callback for the REST link `flow_id`: an identity of another account is refused at once;
    /// otherwise it is kept on the flow with a one-time result code, returned for the application.
    pub async fn link_proven(
        &self,
        flow_id: &str,
        identity: ExternalIdentity,
        now: UnixTime,
    ) -> Result<String, AuthError> {
        let (row, user) = self.waiting_for_upstream(flow_id, Stage::Link, now).await?;
        let user = user.ok_or(FlowError::MfaTokenInvalid)?;
        self.accounts.linkable(&user, &identity).await?;
        let code = opaque::mint(LINK_RESULT_PREFIX);
        let mut proven = row;
        proven.result_hash = Some(code.hash);
        proven.proven_identity =
            Some(serde_json::to_string(&identity).map_err(|e| AuthError::Internal(e.to_string()))?);
        if !sign_in_flows::advance(&self.db, proven, Stage::Link.as_str()).await? {
            return Err(FlowError::MfaTokenInvalid.into());
        }
        Ok(code.value)
    }

    /// Finishes a link the REST API of `app` started, for the caller (the account that started it), with the
    /// flow's token and the result code: the identity is linked. A wrong code (or none yet) counts against the
    /// flow.
    pub async fn complete_link_api(
        &self,
        caller: &Principal,
        token: &str,
        app: &Application,
        code: &str,
        now: UnixTime,
    ) -> Result<LinkedIdentity, AuthError> {
        let flow = self.live_flow(token, Door::Api(app), Stage::Link, now).await?;
        if flow.row.user_id.as_deref() != Some(caller.user.id.as_str()) {
            tracing::warn!(user_id = %caller.user.id, "link refused: the flow belongs to another account");
            return Err(FlowError::MfaTokenInvalid.into());
        }
        let proven = flow
            .row
            .proven_identity
            .as_deref()
            .filter(|_| result_matches(&flow.row, code));
        let Some(proven) = proven else {
            self.count_wrong_answer(&flow, now).await?;
            return Err(FactorError::InvalidCode.into());
        };
        let identity: ExternalIdentity =
            serde_json::from_str(proven).map_err(|e| AuthError::Internal(format!("a kept identity: {e}")))?;
        self.finish_flow(&flow, now).await?;
        self.accounts.link_identity(caller, identity, now).await
    }
}
