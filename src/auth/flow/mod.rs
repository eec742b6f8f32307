//! The sign-in flow: one state machine for every front door. A sign-in starts for an application through
//! the REST API or in a browser and takes one step at a time — a password or a code sent to an address or
//! number (the first factor), a second factor, the proof of contact the application asks for — until the
//! account is proven (the REST API then mints tokens, the pages sign the browser in). The application's
//! policy decides which steps it may offer and who may finish at all. Between steps the state is a
//! `sign_in_flows` row named by an opaque token (stored as a hash), so any instance can continue it; the token
//! is good only at the door and for the application it started with, once, for minutes.

mod code;
mod external;
mod external_api;
mod link_api;
mod passkey;
mod reproof;
mod rest;
mod second_factor;
mod verification;

pub(super) use code::generated_username;
pub use external::{ExternalIdentity, FEDERATED_AMR};
pub use external_api::ExternalStart;
pub use reproof::{Demands, Reproof};
pub use rest::LoginStep;

use super::access::Admission;
use super::mfa::{Method, SentCode};
use super::{AccessError, AuthError, Authentication, FlowError, Origin, SignIn};
use crate::apps::Application;
use crate::apps::policy::ContactChannel;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::metrics::SignInResult;
use crate::store::sign_in_flows::{self, SignInFlowRow};
use crate::store::users::User;
use crate::tokens::opaque;

/// Prefix of flow tokens (the REST API's `flow_token`, also named `mfa_token` at the second factor).
pub const FLOW_TOKEN_PREFIX: &str = "tsm_";

/// Where a sign-in happens: its flow continues there only.
#[derive(Clone, Copy, Debug)]
pub enum Door<'a> {
    /// The REST API, for this application (the API key's).
    Api(&'a Application),
    /// The sign-in pages, in the browser with this binding.
    Browser(&'a str),
}

/// The step a flow waits at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// A code was sent to an address or number (a code sign-in); the account may not exist yet.
    Code,
    /// The account is known and its first factor proven; a second factor is due.
    SecondFactor,
    /// The account is proven; the application wants proof of an address or number first.
    Verification,
    /// The REST API sent someone to an upstream provider; the provider's callback records who came back.
    External,
    /// The REST API sent a signed-in person to an upstream provider to link an identity to their account; the
    /// callback keeps what the upstream proved until the application finishes the link.
    Link,
    /// A signed-in account proves it is them again with its PIN before an application with extra security.
    Pin,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::SecondFactor => "second_factor",
            Self::Verification => "verification",
            Self::External => "external",
            Self::Link => "link",
            Self::Pin => "pin",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Code,
            Self::SecondFactor,
            Self::Verification,
            Self::External,
            Self::Link,
            Self::Pin,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A sign-in that needs another step: the token that names it and what the step asks for.
#[derive(Debug)]
pub struct Next {
    pub token: String,
    pub step: NextStep,
}

/// What the next step asks for.
#[derive(Debug)]
pub enum NextStep {
    /// The code sent to the address or number given (the answer is the same whether or not it has an
    /// account).
    Code { sent: SentCode },
    /// A code of one of these second factors; one was sent already when the account's factor is a text
    /// message.
    SecondFactor {
        methods: Vec<Method>,
        sent: Option<SentCode>,
    },
    /// Proof of one of these channels: a code sent to the account's address (or one the person gives, when it
    /// has none), or to a number the person gives.
    Verification {
        channels: Vec<ContactChannel>,
        /// The account's address, masked, when it has one.
        email: Option<String>,
    },
    /// The account's PIN (a signed-in browser proving it is them again).
    Pin,
}

impl NextStep {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Code { .. } => "code",
            Self::SecondFactor { .. } => "second_factor",
            Self::Verification { .. } => "verification",
            Self::Pin => "pin",
        }
    }
}

/// What a step of a sign-in produced.
#[derive(Debug)]
pub enum Progress {
    /// The sign-in is complete: who, and how they proved it.
    Proven(Box<User>, Authentication),
    /// Another step is due.
    Next(Next),
}

/// A live flow, loaded for its next step.
pub(super) struct LiveFlow {
    pub row: SignInFlowRow,
    pub user: Option<User>,
    pub app: Application,
    /// The token that names it, as presented.
    pub token: String,
}

impl LiveFlow {
    /// The account signing in; every stage past a code knows it.
    pub fn account(&self) -> Result<&User, AuthError> {
        self.user.as_ref().ok_or(AuthError::Flow(FlowError::MfaTokenInvalid))
    }
}

impl SignIn {
    /// Whether `user` may receive tokens for `app` now (an existing browser session meeting an authorization
    /// request, say): `Ok(None)` yes, `Ok(Some(next))` after the step `next` of a new flow at `door`.
    pub async fn admit(
        &self,
        user: &User,
        app: &Application,
        door: Door<'_>,
        how: &Authentication,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Option<Next>, AuthError> {
        super::access::check_network(app, origin.ip)?;
        match self.access.admission(user, app).await? {
            Admission::Admitted => Ok(None),
            Admission::Refused => Err(self.refusal(user, app)),
            Admission::Verify(channels) => {
                let (token, row) = self.new_flow(app, door, Some(user), Stage::Verification, how, now);
                sign_in_flows::insert(&self.db, row).await?;
                Ok(Some(Next {
                    token,
                    step: verification_step(user, channels),
                }))
            }
        }
    }

    /// [`Self::admit`] for the application with this id.
    pub async fn admit_to(
        &self,
        user: &User,
        application_id: &str,
        door: Door<'_>,
        how: &Authentication,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Option<Next>, AuthError> {
        let app = self.apps.find(application_id).await?.ok_or(AccessError::NotMember)?;
        self.admit(user, &app, door, how, origin, now).await
    }

    /// Once `user` has proven `how` for `app` at `door`: the sign-in is complete, or the next step is due,
    /// as a new flow.
    pub async fn after_first_factor(
        &self,
        user: User,
        app: &Application,
        door: Door<'_>,
        how: Authentication,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        self.next_stage(user, app, door, how, None, origin, now).await
    }

    /// Decides what follows a proven step: refused (not allowed in), a second factor (not yet given), the
    /// proof of contact the application asks for, or done. `flow` is the flow this continues, if any (it moves
    /// on under the same token); otherwise a new one starts.
    #[expect(
        clippy::too_many_arguments,
        reason = "each is one fact about the step, named at the call"
    )]
    pub(super) async fn next_stage(
        &self,
        user: User,
        app: &Application,
        door: Door<'_>,
        how: Authentication,
        flow: Option<&LiveFlow>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        super::access::check_network(app, origin.ip)?;
        let admission = self.access.admission(&user, app).await?;
        if let Admission::Refused = admission {
            if let Some(flow) = flow {
                sign_in_flows::consume(&self.db, flow.row.id.clone(), now).await?;
            }
            let event = Event::new(Kind::SignInRefused)
                .about(Subject::User(user.id.clone()))
                .by(&user.id)
                .in_application(&app.id)
                .with("reason", "not_admitted");
            audit::record(&self.db, event, now).await;
            self.credentials
                .metrics
                .sign_in(first_factor(&how), SignInResult::Refused);
            return Err(self.refusal(&user, app));
        }
        let (stage, step_methods) = if how.has_second_factor() {
            (None, Vec::new())
        } else {
            let methods = self.factors.second_factors_after(&user, &how).await?;
            // Every sign-in needs a second factor: one the first factor's channel cannot be.
            if methods.is_empty() && self.policy.required {
                return Err(FlowError::SecondFactorUnavailable.into());
            }
            ((!methods.is_empty()).then_some(Stage::SecondFactor), methods)
        };
        let stage = stage.or(match &admission {
            Admission::Verify(_) => Some(Stage::Verification),
            Admission::Admitted | Admission::Refused => None,
        });
        let Some(stage) = stage else {
            if let Some(flow) = flow {
                self.finish_flow(flow, now).await?;
            }
            // The whole sign-in succeeded: the account's failure count starts again.
            self.credentials.clear_failures(&user).await?;
            let event = Event::new(Kind::SignInSucceeded)
                .about(Subject::User(user.id.clone()))
                .by(&user.id)
                .in_application(&app.id)
                .with("amr", how.amr.clone())
                .with("acr", how.acr);
            audit::record(&self.db, event, now).await;
            self.credentials
                .metrics
                .sign_in(first_factor(&how), SignInResult::Succeeded);
            return Ok(Progress::Proven(Box::new(user), how));
        };
        let (token, flow_id) = match flow {
            Some(flow) => {
                let mut row = flow.row.clone();
                row.user_id = Some(user.id.clone());
                row.stage = stage.as_str().into();
                row.amr = how.amr.clone();
                row.channel = None;
                row.destination = None;
                row.expires_at = now + self.flow_ttl(app);
                let from = Stage::parse(&flow.row.stage).map_or("", Stage::as_str);
                if !sign_in_flows::advance(&self.db, row, from).await? {
                    return Err(FlowError::MfaTokenInvalid.into());
                }
                (flow.token.clone(), flow.row.id.clone())
            }
            None => {
                let (token, row) = self.new_flow(app, door, Some(&user), stage, &how, now);
                sign_in_flows::insert(&self.db, row.clone()).await?;
                (token, row.id)
            }
        };
        let step = match (stage, admission) {
            (Stage::SecondFactor, _) => {
                tracing::info!(user_id = %user.id, application_id = %app.id, "first factor accepted; second factor required");
                let sent = self
                    .factors
                    .send_second_factor_at_once(&user, &step_methods, &flow_id, app.policy.code_ttl_secs, origin, now)
                    .await;
                NextStep::SecondFactor {
                    methods: step_methods,
                    sent,
                }
            }
            (_, Admission::Verify(channels)) => {
                tracing::info!(user_id = %user.id, application_id = %app.id, "signed in; proof of contact required");
                verification_step(&user, channels)
            }
            (
                Stage::Code | Stage::Verification | Stage::External | Stage::Link | Stage::Pin,
                Admission::Admitted | Admission::Refused,
            ) => {
                return Err(AuthError::Internal("a sign-in stage without its reason".into()));
            }
        };
        Ok(Progress::Next(Next { token, step }))
    }

    /// The refusal of an account the application does not let in: a non-member, or a guest.
    fn refusal(&self, user: &User, app: &Application) -> AuthError {
        tracing::warn!(user_id = %user.id, application_id = %app.id, "sign-in refused: not allowed in this application");
        AccessError::NotMember.into()
    }

    /// A new flow's row for `app` at `door`, waiting at `stage`, and the token that names it.
    pub(super) fn new_flow(
        &self,
        app: &Application,
        door: Door<'_>,
        user: Option<&User>,
        stage: Stage,
        how: &Authentication,
        now: UnixTime,
    ) -> (String, SignInFlowRow) {
        let token = opaque::mint(FLOW_TOKEN_PREFIX);
        let row = SignInFlowRow {
            id: opaque::random_id(),
            token_hash: token.hash,
            application_id: app.id.clone(),
            browser_binding: match door {
                Door::Api(_) => None,
                Door::Browser(binding) => Some(binding.to_owned()),
            },
            user_id: user.map(|u| u.id.clone()),
            stage: stage.as_str().into(),
            amr: how.amr.clone(),
            channel: None,
            destination: None,
            created_at: now,
            expires_at: now + self.flow_ttl(app),
            attempts: 0,
            consumed_at: None,
            result_hash: None,
            proven_identity: None,
        };
        (token.value, row)
    }

    /// How long a flow waits at a step: the flow timeout, and never less than the application's codes live.
    fn flow_ttl(&self, app: &Application) -> i64 {
        self.policy.challenge_ttl_secs.max(app.policy.code_ttl_secs)
    }

    /// The live flow a presented token names, at this door only, waiting at `stage`.
    pub(super) async fn live_flow(
        &self,
        token: &str,
        door: Door<'_>,
        stage: Stage,
        now: UnixTime,
    ) -> Result<LiveFlow, AuthError> {
        if !opaque::is_well_formed(token, FLOW_TOKEN_PREFIX) {
            return Err(FlowError::MfaTokenInvalid.into());
        }
        let (row, user) = sign_in_flows::find_by_hash(&self.db, opaque::hash(token))
            .await?
            .ok_or(FlowError::MfaTokenInvalid)?;
        let same_door = match door {
            Door::Api(app) => row.browser_binding.is_none() && row.application_id == app.id,
            Door::Browser(binding) => row.browser_binding.as_deref() == Some(binding),
        };
        let live = row.consumed_at.is_none() && row.expires_at > now && user.as_ref().is_none_or(|u| u.is_active);
        if !(same_door && live && Stage::parse(&row.stage) == Some(stage)) {
            return Err(FlowError::MfaTokenInvalid.into());
        }
        let app = match door {
            Door::Api(app) => app.clone(),
            Door::Browser(_) => self
                .apps
                .find(&row.application_id)
                .await?
                .ok_or(FlowError::MfaTokenInvalid)?,
        };
        Ok(LiveFlow {
            row,
            user,
            app,
            token: token.to_owned(),
        })
    }

    /// The stage a live flow of this browser waits at and the application it is for, if any (to send the
    /// browser back to it, and show that application's sign-in).
    pub async fn waiting_flow(
        &self,
        token: &str,
        binding: &str,
        now: UnixTime,
    ) -> Result<Option<(Stage, Application)>, AuthError> {
        for stage in [Stage::Code, Stage::SecondFactor, Stage::Verification, Stage::Pin] {
            match self.live_flow(token, Door::Browser(binding), stage, now).await {
                Ok(flow) => return Ok(Some((stage, flow.app))),
                Err(AuthError::Flow(FlowError::MfaTokenInvalid)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(None)
    }

    /// Counts a wrong answer at the flow's step: after `mfa.max_attempts` the flow is void.
    pub(super) async fn count_wrong_answer(&self, flow: &LiveFlow, now: UnixTime) -> Result<(), AuthError> {
        sign_in_flows::record_attempt(&self.db, flow.row.id.clone(), self.policy.max_attempts, now).await?;
        Ok(())
    }

    /// Spends the flow at its last step; a second use (a race) is refused.
    pub(super) async fn finish_flow(&self, flow: &LiveFlow, now: UnixTime) -> Result<(), AuthError> {
        if !sign_in_flows::consume(&self.db, flow.row.id.clone(), now).await? {
            return Err(FlowError::MfaTokenInvalid.into());
        }
        Ok(())
    }
}

fn verification_step(user: &User, channels: Vec<ContactChannel>) -> NextStep {
    NextStep::Verification {
        channels,
        email: user.email.as_deref().map(super::mfa::mask_email),
    }
}

/// The first factor of a sign-in, as the metrics name it (the names of failed attempts, where they match).
fn first_factor(how: &Authentication) -> &'static str {
    match how.amr.split_whitespace().next() {
        None => "guest",
        Some(super::session::PASSWORD_AMR) => "password",
        Some(super::session::EMAIL_CODE_AMR | super::session::SMS_CODE_AMR) => "sign_in_code",
        Some(external::FEDERATED_AMR) => "external",
        Some("hwk" | "swk") => "passkey",
        Some(_) => "other",
    }
}
