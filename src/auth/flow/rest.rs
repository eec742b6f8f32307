//! The REST API's view of a sign-in: a password sign-in and its second factor as one call each, and every
//! step's answer as tokens (a new session) or the next step.

use super::{Door, Next, Progress};
use crate::apps::Application;
use crate::auth::mfa::Method;
use crate::auth::{AuthError, Authentication, Origin, SignIn, TokenPair};
use crate::clock::UnixTime;

/// What a sign-in through the REST API answers: tokens, or the next step.
#[derive(Debug)]
pub enum LoginStep {
    SignedIn(Box<TokenPair>),
    Next(Next),
}

impl SignIn {
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
            .credentials
            .sign_in_with_password(app, login, password, captcha, origin, now)
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
        origin: &Origin,
        now: UnixTime,
    ) -> Result<LoginStep, AuthError> {
        let progress = self
            .complete_second_factor(token, Door::Api(app), method, code, origin, now)
            .await?;
        self.tokens_or_next(progress, app, now).await
    }

    /// A REST sign-in's answer to a step: a new session's token pair once it is complete.
    pub async fn tokens_or_next(
        &self,
        progress: Progress,
        app: &Application,
        now: UnixTime,
    ) -> Result<LoginStep, AuthError> {
        Ok(match progress {
            Progress::Proven(user, how) => {
                LoginStep::SignedIn(Box::new(self.sessions.start_session(*user, app, how, now).await?))
            }
            Progress::Next(next) => LoginStep::Next(next),
        })
    }
}
