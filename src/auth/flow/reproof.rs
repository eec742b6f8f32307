//! A browser that is signed in already meets an authorization request that wants more of it: the application
//! says the person must prove it is them again (its idle time passed since the session's last proof, or the
//! client asks for a fresh proof with `prompt=login` or `max_age`), or the client accepts only two factors
//! (`acr_values=2`). The answer is one more step of the sign-in flow for the signed-in account — its PIN at an
//! application with extra security after idle time, a second factor — or a whole new sign-in, or, when two
//! factors are demanded of an account that has none, setting one up first. A step proven here signs the browser
//! in again (a new session: `auth_time` now, `amr` with the method added).

use super::{Door, Next, NextStep, Progress, Stage};
use crate::auth::access::check_network;
use crate::auth::step_up::PIN_AMR;
use crate::auth::{AccessError, AuthError, Authentication, BrowserSession, CredentialError, Origin, SignIn};
use crate::clock::UnixTime;

/// What a client asks of the signed-in session beyond being signed in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Demands {
    /// A proof made now (`prompt=login`, or `max_age` passed): the session's own does not count.
    pub fresh_proof: bool,
    /// Two factors (`acr_values=2`).
    pub second_factor: bool,
    /// The client wants no page shown (`prompt=none`): nothing is started, nothing sent.
    pub silent: bool,
}

/// What the browser's account must do before the session answers for the application.
#[derive(Debug)]
pub enum Reproof {
    /// Nothing: the session will do.
    None,
    /// A step of a new flow for the signed-in account: its PIN, or a second factor.
    Step(Next),
    /// A whole new sign-in.
    SignIn,
    /// Two factors are demanded and the account has no second factor: it must set one up first.
    Enroll,
    /// The request is silent and the account would have to interact: for a second factor (`true`), or to prove
    /// it is them again (`false`).
    Interaction { second_factor: bool },
}

impl SignIn {
    /// What `session` must do before it answers a request for the application `application_id` that asks
    /// `demands` of it, at `door`. An application with `idle_timeout_secs` asks for the account's PIN when its idle
    /// time has passed since the session's last proof, or when the client asks for a fresh proof (the app was
    /// offloaded); an account without a PIN signs in again. Elsewhere a fresh proof is a new sign-in.
    pub async fn browser_reproof(
        &self,
        session: &BrowserSession,
        application_id: &str,
        demands: Demands,
        door: Door<'_>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Reproof, AuthError> {
        let app = self.apps.find(application_id).await?.ok_or(AccessError::NotMember)?;
        check_network(&app, origin.ip)?;
        let user = &session.user;
        let how = Authentication::of_session(&session.amr, &session.acr);
        let idle = app.policy.idle_timeout_secs;
        let idled = idle.is_some_and(|idle| now - session.auth_time > idle);
        if idled || demands.fresh_proof {
            if user.guest || user.pin_hash.is_none() || idle.is_none() {
                return Ok(Reproof::SignIn);
            }
            if demands.silent {
                return Ok(Reproof::Interaction { second_factor: false });
            }
            let (token, row) = self.new_flow(&app, door, Some(user), Stage::Pin, &how, now);
            crate::store::sign_in_flows::insert(&self.db, row).await?;
            tracing::info!(user_id = %user.id, application_id = %app.id, idled, "PIN required before the application");
            return Ok(Reproof::Step(Next {
                token,
                step: NextStep::Pin,
            }));
        }
        if !demands.second_factor || how.has_second_factor() {
            return Ok(Reproof::None);
        }
        if user.guest {
            return Ok(Reproof::SignIn);
        }
        if demands.silent {
            return Ok(Reproof::Interaction { second_factor: true });
        }
        let methods = self.factors.second_factors_after(user, &how).await?;
        if methods.is_empty() {
            return Ok(Reproof::Enroll);
        }
        let (token, row) = self.new_flow(&app, door, Some(user), Stage::SecondFactor, &how, now);
        crate::store::sign_in_flows::insert(&self.db, row.clone()).await?;
        tracing::info!(user_id = %user.id, application_id = %app.id, "second factor asked for by the client");
        let sent = self
            .factors
            .send_second_factor_at_once(user, &methods, &row.id, app.policy.code_ttl_secs, origin, now)
            .await;
        Ok(Reproof::Step(Next {
            token,
            step: NextStep::SecondFactor { methods, sent },
        }))
    }

    /// Checks the PIN of a flow waiting for it. A wrong PIN counts on the flow (void after `mfa.max_attempts`)
    /// and toward the account's lock-out; a right one adds `pin` to the session's methods and the flow goes on
    /// like any proven step.
    pub async fn complete_pin(
        &self,
        token: &str,
        door: Door<'_>,
        pin: &str,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let flow = self.live_flow(token, door, Stage::Pin, now).await?;
        let user = flow.account()?.clone();
        match self.credentials.check_pin(&user, pin, now).await {
            Ok(()) => {}
            Err(AuthError::Credentials(CredentialError::WrongPin)) => {
                self.count_wrong_answer(&flow, now).await?;
                return Err(CredentialError::WrongPin.into());
            }
            Err(other) => return Err(other),
        }
        tracing::info!(user_id = %user.id, application_id = %flow.app.id, "PIN accepted");
        let mut how = Authentication::from_flow(&flow.row.amr);
        how.amr = crate::tokens::amr::adding(&how.amr, PIN_AMR);
        let app = flow.app.clone();
        self.next_stage(user, &app, door, how, Some(&flow), origin, now).await
    }
}
