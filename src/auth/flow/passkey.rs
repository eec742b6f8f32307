//! Passkeys in the sign-in flow, in a browser: a usernameless sign-in (the first factor — any discoverable
//! passkey, with user verification, at an application that accepts the login method `passkey`), and a passkey
//! as the second factor of a flow waiting at its second-factor step. The ceremony's checks are in
//! `mfa::passkey`; what follows a proven passkey is `next_stage`, as for every other step.

use super::{Door, LiveFlow, Progress, Stage};
use crate::apps::Application;
use crate::auth::login::Attempt;
use crate::auth::mfa::passkey::{CeremonyPurpose, PasskeyUse};
use crate::auth::mfa::{Method, PasskeyChallenge};
use crate::auth::{AccessError, AuthError, Authentication, FactorError, Origin, SignIn};
use crate::clock::UnixTime;

impl SignIn {
    /// The options of a usernameless passkey sign-in at `app`, in the browser `binding`.
    pub async fn start_passkey_sign_in(
        &self,
        app: &Application,
        binding: &str,
        now: UnixTime,
    ) -> Result<PasskeyChallenge, AuthError> {
        if !app.policy.accepts_passkey() {
            return Err(AccessError::MethodNotAllowed("passkey").into());
        }
        self.factors.start_passkey_assertion(binding, None, now).await
    }

    /// A usernameless sign-in at `app`: the answer to the ceremony this browser started. A passkey that is
    /// unknown, another browser's ceremony, a spent or expired challenge, a disabled or locked account are all
    /// refused alike; a proven passkey goes on like any first factor.
    pub async fn sign_in_with_passkey(
        &self,
        app: &Application,
        binding: &str,
        ceremony: &str,
        response: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        if !app.policy.accepts_passkey() {
            return Err(AccessError::MethodNotAllowed("passkey").into());
        }
        super::super::access::check_network(app, origin.ip)?;
        let checked = self
            .factors
            .check_passkey_assertion(CeremonyPurpose::SignIn, ceremony, binding, response, now)
            .await;
        let used = match checked {
            Ok(used) => used,
            Err(AuthError::Factor(FactorError::PasskeyRefused)) => {
                self.factors.audit_passkey_failure(None, "passkey_refused", now).await;
                return Err(FactorError::PasskeyRefused.into());
            }
            Err(other) => return Err(other),
        };
        let locked = used.user.locked_until.is_some_and(|until| until > now);
        if !used.user.is_active || locked {
            self.factors
                .audit_passkey_failure(Some(&used.user), if locked { "locked" } else { "disabled" }, now)
                .await;
            return Err(FactorError::PasskeyRefused.into());
        }
        let how = Authentication::passkey(&used.amr);
        self.next_stage(used.user, app, Door::Browser(binding), how, None, origin, now)
            .await
    }

    /// The options of a passkey as the second factor of the flow `token` waits at, in the browser `binding`.
    pub async fn start_passkey_second_factor(
        &self,
        token: &str,
        binding: &str,
        now: UnixTime,
    ) -> Result<PasskeyChallenge, AuthError> {
        let flow = self.passkey_flow(token, binding, now).await?;
        self.factors
            .start_passkey_assertion(binding, Some((flow.account()?, &flow.row.id)), now)
            .await
    }

    /// Completes the second factor of the flow `token` with a passkey of its account: the answer to the
    /// ceremony started for this flow in this browser. A refused answer counts like a wrong code (on the flow
    /// and toward the account's lock-out); a locked account is refused unchecked.
    pub async fn complete_passkey_second_factor(
        &self,
        token: &str,
        binding: &str,
        ceremony: &str,
        response: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let door = Door::Browser(binding);
        let flow = self.passkey_flow(token, binding, now).await?;
        let user = flow.account()?;
        let locked = user.locked_until.is_some_and(|until| until > now);
        let checked = if locked {
            None
        } else {
            self.check_flow_passkey(&flow, ceremony, binding, response, now).await?
        };
        let Some(used) = checked else {
            self.count_wrong_answer(&flow, now).await?;
            if !locked {
                self.credentials.count_failure(user, Attempt::SecondFactor, now).await?;
            }
            tracing::warn!(user_id = %user.id, locked, "second factor refused: passkey");
            return Err(FactorError::PasskeyRefused.into());
        };
        tracing::info!(user_id = %user.id, "second factor accepted: passkey");
        let how = Authentication::from_flow(&flow.row.amr).then(&used.amr);
        let app = flow.app.clone();
        self.next_stage(user.clone(), &app, door, how, Some(&flow), origin, now)
            .await
    }

    /// The flow `token` of this browser, waiting for a second factor a passkey may give.
    async fn passkey_flow(&self, token: &str, binding: &str, now: UnixTime) -> Result<LiveFlow, AuthError> {
        let flow = self
            .live_flow(token, Door::Browser(binding), Stage::SecondFactor, now)
            .await?;
        if !self.flow_factors(&flow).await?.contains(&Method::Passkey) {
            return Err(FactorError::MethodUnavailable(Method::Passkey.as_str()).into());
        }
        Ok(flow)
    }

    /// The passkey answer for this flow: `None` when refused (the ceremony of another flow, a passkey of
    /// another account, or any failed check).
    async fn check_flow_passkey(
        &self,
        flow: &LiveFlow,
        ceremony: &str,
        binding: &str,
        response: &str,
        now: UnixTime,
    ) -> Result<Option<PasskeyUse>, AuthError> {
        let checked = self
            .factors
            .check_passkey_assertion(CeremonyPurpose::SecondFactor, ceremony, binding, response, now)
            .await;
        match checked {
            Ok(used) => {
                let same_flow = used.ceremony.flow_id.as_deref() == Some(flow.row.id.as_str());
                let same_account = flow.user.as_ref().is_some_and(|u| u.id == used.user.id);
                Ok((same_flow && same_account).then_some(used))
            }
            Err(AuthError::Factor(FactorError::PasskeyRefused)) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
