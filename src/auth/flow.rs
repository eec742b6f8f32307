//! The sign-in flow: one state machine for every front door. A sign-in starts for an application through
//! the REST API or in a browser, takes one step at a time, and ends with a proven account (the REST API then
//! mints tokens, the pages sign the browser in). Between steps its state is a `sign_in_flows` row named by an
//! opaque token (stored as a hash), so any instance can continue it; the token is good only at the door and
//! for the application it started with, once, for minutes.

use super::mfa::{Method, SentCode};
use super::{AuthError, AuthService, Authentication, Origin, TokenPair};
use crate::apps::Application;
use crate::clock::UnixTime;
use crate::store::sign_in_flows::{self, SignInFlowRow};
use crate::store::users::User;
use crate::tokens::opaque;

/// Prefix of flow tokens (the REST API's `mfa_token`).
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
    /// The account is known and its first factor proven; a second factor is due.
    SecondFactor,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Self::SecondFactor => "second_factor",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "second_factor" => Some(Self::SecondFactor),
            _ => None,
        }
    }
}

/// A sign-in that needs another step: the token that names it (shown once) and what the step asks for.
#[derive(Debug)]
pub struct Next {
    pub token: String,
    pub step: NextStep,
}

/// What the next step asks for.
#[derive(Debug)]
pub enum NextStep {
    /// A code of one of these second factors; one was sent already when the account's factor is a text
    /// message.
    SecondFactor {
        methods: Vec<Method>,
        sent: Option<SentCode>,
    },
}

/// What a step of a sign-in produced.
#[derive(Debug)]
pub enum Progress {
    /// The sign-in is complete: who, and how they proved it.
    Proven(User, Authentication),
    /// Another step is due.
    Next(Next),
}

/// A live flow, loaded for its next step.
pub(super) struct LiveFlow {
    pub row: SignInFlowRow,
    pub user: Option<User>,
}

impl LiveFlow {
    /// The account signing in; every stage so far knows it.
    pub fn account(&self) -> Result<&User, AuthError> {
        self.user.as_ref().ok_or(AuthError::MfaTokenInvalid)
    }
}

impl AuthService {
    /// Once `user` has proven `how` for `app` at `door`: the sign-in is complete, or the next step is due
    /// (a second factor), as a new flow.
    pub async fn after_first_factor(
        &self,
        user: User,
        app: &Application,
        door: Door<'_>,
        how: Authentication,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<Progress, AuthError> {
        let methods = self.second_factors(&user).await?;
        if methods.is_empty() {
            return Ok(Progress::Proven(user, how));
        }
        let (token, row) = self.new_flow(app, door, Some(&user), Stage::SecondFactor, &how, now);
        sign_in_flows::insert(&self.db, row.clone()).await?;
        tracing::info!(user_id = %user.id, application_id = %app.id, "first factor accepted; second factor required");
        let sent = self
            .send_second_factor_at_once(&user, &methods, &row.id, origin, now)
            .await;
        Ok(Progress::Next(Next {
            token,
            step: NextStep::SecondFactor { methods, sent },
        }))
    }

    /// A new flow's row for `app` at `door`, waiting at `stage`, and the token that names it.
    fn new_flow(
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
            expires_at: now + self.mfa_policy.challenge_ttl_secs,
            attempts: 0,
            consumed_at: None,
        };
        (token.value, row)
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
            return Err(AuthError::MfaTokenInvalid);
        }
        let (row, user) = sign_in_flows::find_by_hash(&self.db, opaque::hash(token))
            .await?
            .ok_or(AuthError::MfaTokenInvalid)?;
        let same_door = match door {
            Door::Api(app) => row.browser_binding.is_none() && row.application_id == app.id,
            Door::Browser(binding) => row.browser_binding.as_deref() == Some(binding),
        };
        let live = row.consumed_at.is_none() && row.expires_at > now && user.as_ref().is_none_or(|u| u.is_active);
        let at = Stage::parse(&row.stage);
        if !(same_door && live && at == Some(stage)) {
            return Err(AuthError::MfaTokenInvalid);
        }
        Ok(LiveFlow { row, user })
    }

    /// Counts a wrong answer at the flow's step: after `mfa.max_attempts` the flow is void.
    pub(super) async fn count_wrong_answer(&self, flow: &LiveFlow, now: UnixTime) -> Result<(), AuthError> {
        sign_in_flows::record_attempt(&self.db, flow.row.id.clone(), self.mfa_policy.max_attempts, now).await?;
        Ok(())
    }

    /// Spends the flow at its last step; a second use (a race) is refused.
    pub(super) async fn finish_flow(&self, flow: &LiveFlow, now: UnixTime) -> Result<(), AuthError> {
        if !sign_in_flows::consume(&self.db, flow.row.id.clone(), now).await? {
            return Err(AuthError::MfaTokenInvalid);
        }
        Ok(())
    }
}

/// What a sign-in through the REST API answers: tokens, or the next step.
#[derive(Debug)]
pub enum LoginStep {
    SignedIn(TokenPair),
    Next(Next),
}

impl AuthService {
    /// `POST /api/v1/auth/login`: a username or e-mail and a password from `origin`, for `app`.
    pub async fn login(
        &self,
        app: &Application,
        login: &str,
        password: &str,
        captcha: Option<&str>,
        origin: &Origin,
        now: UnixTime,
    ) -> Result<LoginStep, AuthError> {
        let user = self
            .sign_in_with_password(login, password, captcha, origin, now)
            .await?;
        let progress = self
            .after_first_factor(user, app, Door::Api(app), Authentication::password(), origin, now)
            .await?;
        self.tokens_or_next(progress, app, now).await
    }

    /// `POST /api/v1/auth/mfa`: the second factor of a REST sign-in.
    pub async fn login_second_factor(
        &self,
        app: &Application,
        token: &str,
        method: Method,
        code: &str,
        now: UnixTime,
    ) -> Result<LoginStep, AuthError> {
        let progress = self
            .complete_second_factor(token, Door::Api(app), method, code, now)
            .await?;
        self.tokens_or_next(progress, app, now).await
    }

    /// A REST sign-in's answer to a step: a new session's token pair once it is complete.
    pub(super) async fn tokens_or_next(
        &self,
        progress: Progress,
        app: &Application,
        now: UnixTime,
    ) -> Result<LoginStep, AuthError> {
        Ok(match progress {
            Progress::Proven(user, how) => LoginStep::SignedIn(self.start_session(user, app, how, now).await?),
            Progress::Next(next) => LoginStep::Next(next),
        })
    }
}
