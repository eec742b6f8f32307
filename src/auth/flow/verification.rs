//! The verification step: an application that asks for proof of contact lets an account in only once it has
//! proven an address or number over one of the application's channels — by a code sent to the account's
//! address (or one the person gives, when it has none) or to a number the person gives.

use super::{Door, LiveFlow, Progress, Stage};
use crate::apps::policy::ContactChannel;
use crate::auth::mfa::SentCode;
use crate::auth::{AuthError, Authentication, FactorError, Origin, SignIn};
use crate::clock::UnixTime;
use crate::store::sign_in_flows;

impl SignIn {
    /// Sends the code of a verification step over `channel`: to the account's address (or `destination`,
    /// for an account without one), or to the number `destination`.
    pub async fn send_verification_code(
        &self,
        token: &str,
        door: Door<'_>,
        channel: ContactChannel,
        destination: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<SentCode, AuthError> {
        let flow = self.live_flow(token, door, Stage::Verification, now).await?;
        if !flow.app.policy.verification_channels.contains(&channel) {
            return Err(FactorError::MethodUnavailable(channel.as_str()).into());
        }
        let user = flow.account()?;
        let ttl = flow.app.policy.code_ttl_secs;
        let sent = match channel {
            ContactChannel::Email => {
                self.factors
                    .send_email_proof(user, destination, &origin.key, ttl, now)
                    .await?
            }
            ContactChannel::Sms => {
                let Some(phone) = destination else {
                    return Err(AuthError::Validation(vec![crate::error::FieldError {
                        field: "phone",
                        message: "is required: the number to verify".into(),
                    }]));
                };
                self.factors
                    .send_phone_proof(user, phone, &origin.key, ttl, now)
                    .await?
            }
        };
        sign_in_flows::set_channel(&self.db, flow.row.id.clone(), channel.as_str()).await?;
        Ok(sent)
    }

    /// The code of a verification step: the address or number is the account's, verified, and the sign-in
    /// is complete. A wrong code counts on the flow.
    pub async fn complete_verification(
        &self,
        token: &str,
        door: Door<'_>,
        code: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let flow = self.live_flow(token, door, Stage::Verification, now).await?;
        let user = flow.account()?;
        let proven = match flow.row.channel.as_deref().and_then(ContactChannel::parse) {
            Some(ContactChannel::Email) => self.factors.prove_email(user, code, now).await,
            Some(ContactChannel::Sms) => self.factors.prove_phone(user, code, now).await,
            None => Err(FactorError::InvalidCode.into()),
        };
        let user = match proven {
            Ok(user) => user,
            Err(AuthError::Factor(FactorError::InvalidCode)) => {
                self.count_wrong_answer(&flow, now).await?;
                return Err(FactorError::InvalidCode.into());
            }
            Err(other) => return Err(other),
        };
        let how = Authentication::from_flow(&flow.row.amr);
        let app = flow.app.clone();
        self.next_stage(user, &app, door, how, Some(&flow), origin, now).await
    }

    /// The flow behind a verification step (for its page).
    pub async fn verification_channels(
        &self,
        token: &str,
        door: Door<'_>,
        now: UnixTime,
    ) -> Result<(Vec<ContactChannel>, Option<String>), AuthError> {
        let flow: LiveFlow = self.live_flow(token, door, Stage::Verification, now).await?;
        let email = flow.account()?.email.as_deref().map(crate::auth::mfa::mask_email);
        Ok((flow.app.policy.verification_channels.clone(), email))
    }
}
