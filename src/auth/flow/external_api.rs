//! Sign-in through an upstream provider over the REST API: the application asks for a round trip
//! (`start_external_api`: a flow at stage `external`, its token kept by the application), sends the person's
//! browser to the provider, and the provider's callback records who came back with a one-time result code
//! (`external_proven`), which reaches the application at one of its client's redirect URIs. The application
//! finishes with the flow token and the code (`complete_external_api`): both are needed, so neither a stolen
//! redirect nor a stolen flow token signs anyone in. Then the flow goes on like any first step.

use subtle::ConstantTimeEq;

use super::{Door, ExternalIdentity, LiveFlow, Progress, Stage};
use crate::apps::Application;
use crate::auth::{AccessError, AuthError, Authentication, FactorError, FlowError, Origin, SignIn};
use crate::clock::UnixTime;
use crate::store::sign_in_flows::{self, SignInFlowRow};
use crate::store::users::User;
use crate::tokens::opaque;

/// Prefix of the one-time result code of a REST sign-in through an upstream provider.
const RESULT_PREFIX: &str = "tsx_";

/// A REST sign-in through an upstream provider, begun: the flow's token and id.
#[derive(Debug)]
pub struct ExternalStart {
    pub token: String,
    pub flow_id: String,
}

impl SignIn {
    /// Begins a REST sign-in to `app` through `provider_id`: a flow waiting at stage `external`.
    pub async fn start_external_api(
        &self,
        app: &Application,
        provider_id: &str,
        now: UnixTime,
    ) -> Result<ExternalStart, AuthError> {
        self.external_allowed(app, provider_id)?;
        let (token, row) = self.new_flow(
            app,
            Door::Api(app),
            None,
            Stage::External,
            &Authentication::guest(),
            now,
        );
        let flow_id = row.id.clone();
        sign_in_flows::insert(&self.db, row).await?;
        Ok(ExternalStart { token, flow_id })
    }

    /// The provider's callback for the REST flow `flow_id`: the account of `identity` (made just in time as
    /// for any upstream sign-in) is recorded on the flow with a one-time result code, returned for the
    /// application.
    pub async fn external_proven(
        &self,
        flow_id: &str,
        identity: ExternalIdentity,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<String, AuthError> {
        let (row, _) = self.waiting_for_upstream(flow_id, Stage::External, now).await?;
        let app = self
            .apps
            .find(&row.application_id)
            .await?
            .ok_or(AccessError::NotMember)?;
        let user = self.external_user(&app, &identity, origin, now).await?;
        let code = opaque::mint(RESULT_PREFIX);
        let mut proven = row;
        proven.user_id = Some(user.id);
        proven.amr = Authentication::federated(&identity.provider_id, &identity.amr).amr;
        proven.result_hash = Some(code.hash);
        if !sign_in_flows::advance(&self.db, proven, Stage::External.as_str()).await? {
            return Err(FlowError::MfaTokenInvalid.into());
        }
        Ok(code.value)
    }

    /// Finishes a REST sign-in through an upstream provider with the flow's token and the result code the
    /// application received: the next step, or the finished sign-in. A wrong code (or none yet) counts
    /// against the flow.
    pub async fn complete_external_api(
        &self,
        token: &str,
        door: Door<'_>,
        code: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let flow: LiveFlow = self.live_flow(token, door, Stage::External, now).await?;
        let matches = result_matches(&flow.row, code);
        let Some(user) = flow.user.clone().filter(|_| matches) else {
            self.count_wrong_answer(&flow, now).await?;
            return Err(FactorError::InvalidCode.into());
        };
        let how = Authentication::from_flow(&flow.row.amr);
        self.next_stage(user, &flow.app, door, how, Some(&flow), origin, now)
            .await
    }

    /// The REST flow `flow_id` waiting at `stage` for the upstream's callback (not proven yet, unspent, live),
    /// and its account.
    pub(super) async fn waiting_for_upstream(
        &self,
        flow_id: &str,
        stage: Stage,
        now: UnixTime,
    ) -> Result<(SignInFlowRow, Option<User>), AuthError> {
        let (row, user) = sign_in_flows::find_by_id(&self.db, flow_id.to_owned())
            .await?
            .ok_or(FlowError::MfaTokenInvalid)?;
        let waiting = row.stage == stage.as_str()
            && row.browser_binding.is_none()
            && row.consumed_at.is_none()
            && row.result_hash.is_none()
            && row.expires_at > now;
        if !waiting {
            return Err(FlowError::MfaTokenInvalid.into());
        }
        Ok((row, user))
    }
}

/// Whether `code` is the result code the upstream's callback recorded on the flow (none yet: no).
pub(super) fn result_matches(row: &SignInFlowRow, code: &str) -> bool {
    row.result_hash
        .as_deref()
        .is_some_and(|hash| bool::from(hash.as_bytes().ct_eq(opaque::hash(code.trim()).as_bytes())))
}
