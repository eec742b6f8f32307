//! The second-factor step of a sign-in: the methods it may be completed with (never the channel of the first
//! factor), sending an SMS or e-mail code for it, and checking the code.

use super::{Door, LiveFlow, Progress, Stage};
use crate::auth::login::Attempt;
use crate::auth::mfa::codes::{CodePurpose, CodeRequest};
use crate::auth::mfa::{Channel, Method, SentCode};
use crate::auth::{AuthError, Authentication, FactorError, Origin, SignIn};
use crate::clock::UnixTime;
use crate::store::users::User;

impl SignIn {
    /// The account and the methods of a sign-in waiting for its second factor (for the second-factor page).
    pub async fn challenge_methods(
        &self,
        token: &str,
        door: Door<'_>,
        now: UnixTime,
    ) -> Result<(User, Vec<Method>), AuthError> {
        let flow = self.live_flow(token, door, Stage::SecondFactor, now).await?;
        let user = flow.account()?.clone();
        let methods = self.flow_factors(&flow).await?;
        Ok((user, methods))
    }

    /// Checks the code of a sign-in waiting for its second factor. On success the flow moves on (the sign-in
    /// is complete) and the account's failure count is cleared; a wrong code counts on the flow (void after
    /// `mfa.max_attempts`) and toward the account lock-out, and a locked account is refused even a right
    /// code — all with the same answer.
    pub async fn complete_second_factor(
        &self,
        token: &str,
        door: Door<'_>,
        method: Method,
        code: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let flow = self.live_flow(token, door, Stage::SecondFactor, now).await?;
        let user = flow.account()?;
        if !self.flow_factors(&flow).await?.contains(&method) {
            return Err(FactorError::MethodUnavailable(method.as_str()).into());
        }
        let locked = user.locked_until.is_some_and(|until| until > now);
        let accepted = !locked && self.factors.check_factor(user, method, code, &flow.row.id, now).await?;
        if !accepted {
            self.count_wrong_answer(&flow, now).await?;
            // Like a password, a code tried while locked is refused unchecked and does not extend the lock.
            if !locked {
                self.credentials.count_failure(user, Attempt::SecondFactor, now).await?;
            }
            tracing::warn!(user_id = %user.id, method = method.as_str(), locked, "second factor refused");
            return Err(FactorError::InvalidCode.into());
        }
        tracing::info!(user_id = %user.id, method = method.as_str(), "second factor accepted");
        let how = Authentication::from_flow(&flow.row.amr).then(method.amr());
        let app = flow.app.clone();
        self.next_stage(user.clone(), &app, door, how, Some(&flow), origin, now)
            .await
    }

    /// Sends a code for a sign-in waiting for its second factor, by SMS or e-mail.
    pub async fn send_second_factor_code(
        &self,
        token: &str,
        door: Door<'_>,
        method: Method,
        client: &str,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let flow = self.live_flow(token, door, Stage::SecondFactor, now).await?;
        let user = flow.account()?;
        if !self.flow_factors(&flow).await?.contains(&method) {
            return Err(FactorError::MethodUnavailable(method.as_str()).into());
        }
        let (channel, destination) = match (method, &user.phone) {
            (Method::Sms, Some(phone)) => (Channel::Sms, phone.clone()),
            (Method::Email, _) => match &user.email {
                Some(email) => (Channel::Email, email.clone()),
                None => return Err(FactorError::MethodUnavailable(method.as_str()).into()),
            },
            _ => return Err(FactorError::MethodUnavailable(method.as_str()).into()),
        };
        let request = CodeRequest {
            user: Some(user),
            purpose: CodePurpose::SignIn,
            binding: flow.row.id.clone(),
            channel,
            destination: &destination,
            ttl_secs: flow.app.policy.code_ttl_secs,
            notice: None,
        };
        self.factors.send_code(request, client, now).await
    }

    /// The second factors a flow's step may be completed with: not the channel its first factor used.
    pub(super) async fn flow_factors(&self, flow: &LiveFlow) -> Result<Vec<Method>, AuthError> {
        let first = Authentication::from_flow(&flow.row.amr);
        self.factors.second_factors_after(flow.account()?, &first).await
    }
}
