//! What happens after a valid authorization request: sign-in when needed (`prompt`, `max_age`,
//! `id_token_hint`), consent for third-party clients, then a single-use code back to the client. A request
//! that needs the user is kept server-side, bound to the browser that started it.

use super::authorize::{self, AuthorizationRequest, ErrorRedirect, Rejection};
use super::clients::Client;
use super::device::DeviceAnswer;
use super::params::Params;
use super::response_mode::AuthorizationResponse;
use super::scope::Scope;
use super::{ErrorCode, OAuthError, OidcService};
use crate::auth::Origin;
use crate::auth::flow::{Demands, Door, Reproof, Stage};
use crate::auth::identity::names;
use crate::auth::{AccessError, AuthError, Authentication, BrowserSession};
use crate::clock::UnixTime;
use crate::store::authorization_requests;
use crate::store::consents;

mod answers;

/// How long a pending request waits for the user.
const REQUEST_TTL: i64 = 600;

/// The browser behind a request: its live session, and the binding (hash of its CSRF cookie).
#[derive(Clone, Copy, Debug)]
pub struct Browser<'a> {
    pub session: Option<&'a BrowserSession>,
    pub binding: &'a str,
    /// Where the browser's requests come from (its networks are checked; per-address limits count under its
    /// key).
    pub origin: &'a Origin,
}

/// Where the browser goes next.
#[derive(Debug)]
pub enum Outcome {
    /// Back to the client, with a code or an error, in the requested response mode.
    Respond(AuthorizationResponse),
    /// To the sign-in page, then back to the request.
    Login { request_id: String },
    /// To the consent page.
    Consent { request_id: String },
    /// To the account choice: go on as the signed-in user, or sign in as someone else.
    SelectAccount { request_id: String },
    /// To a step of a flow for the signed-in account (the flow's token goes in its cookie) — the proof of
    /// contact the client's application asks for, its PIN, a second factor — then back to the request.
    Step {
        request_id: String,
        flow_token: String,
        stage: Stage,
    },
    /// To setting up a second factor, which the client demands and the account lacks; then back to the request.
    Enroll { request_id: String },
    /// A guest of an open application was signed in to this browser (its session cookie to set); then on.
    Guest { cookie: String, then: Box<Outcome> },
    /// To the page where the signed-in person approves or denies a device (RFC 8628 §3.3).
    ConfirmDevice { request_id: String },
    /// The person's answer to a device is recorded; the device learns it at its next poll.
    DeviceAnswered { client_name: String, answer: DeviceAnswer },
}

/// A pending request, for the pages that show it.
#[derive(Clone, Debug)]
pub struct Pending {
    pub id: String,
    pub request: AuthorizationRequest,
    pub client: Client,
}

enum Step {
    Login,
    /// The signed-in account must prove it is them now (`prompt=login`, `max_age`).
    Reprove,
    SelectAccount,
    Consent,
    Issue,
}

impl OidcService {
    /// `GET`/`POST /oauth2/authorize`: a request in the parameters, or one pushed before (RFC 9126 §4).
    pub async fn authorize(&self, params: &Params, browser: Browser<'_>, now: UnixTime) -> Result<Outcome, Rejection> {
        let (mut request, client) = if params.has("request_uri") {
            self.pushed_request(params, now).await?
        } else {
            authorize::validate(&self.clients, &self.id_tokens, params, now).await?
        };
        request.session_at_start = browser.session.map(|session| session.id.clone());
        self.proceed(request, client, None, browser, false, now).await
    }

    /// The user chose, on the account page, to go on as the account it showed (`shown_session`). If the
    /// browser has signed in as someone else since, the page is shown again.
    pub async fn continue_as_signed_in(
        &self,
        request_id: &str,
        shown_session: &str,
        browser: Browser<'_>,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        let mut pending = self.pending(request_id, browser.binding, now).await?;
        match browser.session {
            None => return Ok(Outcome::Login { request_id: pending.id }),
            Some(session) if session.id != shown_session => {
                return Ok(Outcome::SelectAccount { request_id: pending.id });
            }
            Some(_) => {}
        }
        pending.request.account_chosen = true;
        let parameters = serde_json::to_string(&pending.request)
            .map_err(|_| Rejection::Page("The request could not be kept.".into()))?;
        if !authorization_requests::update_parameters(&self.db, pending.id.clone(), parameters).await? {
            return Err(spent());
        }
        self.proceed(pending.request, pending.client, Some(pending.id), browser, false, now)
            .await
    }

    /// Continues a pending request after the user signed in.
    pub async fn resume(&self, request_id: &str, browser: Browser<'_>, now: UnixTime) -> Result<Outcome, Rejection> {
        let pending = self.pending(request_id, browser.binding, now).await?;
        self.proceed(pending.request, pending.client, Some(pending.id), browser, false, now)
            .await
    }

    /// The user's answer on the consent page.
    pub async fn answer_consent(
        &self,
        request_id: &str,
        approved: bool,
        browser: Browser<'_>,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        let pending = self.pending(request_id, browser.binding, now).await?;
        if let (false, Some(device)) = (approved, &pending.request.device) {
            let user = browser.session.map(|session| session.user.id.as_str());
            return self
                .deny_device(
                    device,
                    &pending.client,
                    user,
                    Some(pending.id),
                    DeviceAnswer::Declined,
                    now,
                )
                .await;
        }
        if !approved {
            if !authorization_requests::consume(&self.db, pending.id, now).await? {
                return Err(spent());
            }
            let error = OAuthError::new(ErrorCode::AccessDenied, "the user declined");
            return Ok(Outcome::Respond(back(&pending.request, error).response(&self.issuer)));
        }
        let Some(session) = browser.session else {
            return Ok(Outcome::Login { request_id: pending.id });
        };
        let granted = pending.request.scope();
        let previous = consents::find(&self.db, session.user.id.clone(), pending.client.id.clone()).await?;
        let all = Scope::stored(&previous.unwrap_or_default()).union(&granted);
        consents::save(
            &self.db,
            session.user.id.clone(),
            pending.client.id.clone(),
            all.to_string(),
            now,
        )
        .await?;
        tracing::info!(user_id = %session.user.id, client_id = %pending.client.id, "consent given");
        self.proceed(pending.request, pending.client, Some(pending.id), browser, true, now)
            .await
    }

    /// A pending request, if it exists, is unanswered, unexpired, and belongs to this browser.
    pub async fn pending(&self, request_id: &str, binding: &str, now: UnixTime) -> Result<Pending, Rejection> {
        let gone = || {
            Rejection::Page(
                "This sign-in request has expired or was already completed. Please start again from the application."
                    .into(),
            )
        };
        let row = authorization_requests::find(&self.db, request_id.to_owned())
            .await?
            .ok_or_else(gone)?;
        if row.consumed_at.is_some() || row.expires_at <= now {
            return Err(gone());
        }
        // Dex CVE-2022-39222 class: a request started in one browser cannot be finished in another.
        if row.browser_binding != binding {
            return Err(Rejection::Page(
                "This sign-in request belongs to another browser. Please start again from the application.".into(),
            ));
        }
        let request: AuthorizationRequest = serde_json::from_str(&row.parameters)
            .map_err(|_| Rejection::Page("This sign-in request cannot be read. Please start again.".into()))?;
        let client = self
            .clients
            .find_active(&row.client_id)
            .await?
            .ok_or_else(|| Rejection::Page("The application is no longer registered here.".into()))?;
        Ok(Pending {
            id: row.id,
            request,
            client,
        })
    }

    pub(super) async fn proceed(
        &self,
        request: AuthorizationRequest,
        client: Client,
        pending_id: Option<String>,
        browser: Browser<'_>,
        consented_now: bool,
        now: UnixTime,
    ) -> Result<Outcome, Rejection> {
        let resumed = pending_id.is_some();
        let mut step = self
            .next_step(&request, &client, browser.session, resumed, consented_now, now)
            .await?;
        // A browser without a session at an open application's request gets a guest, unless the client asks
        // for an account (prompt=login, max_age, a hint).
        if matches!(step, Step::Login) && browser.session.is_none() && request.welcomes_guest() {
            let guest = self
                .accounts
                .browser_guest(&client.application_id, browser.origin, now)
                .await;
            if let Some(signed_in) = guest.map_err(auth_rejection)? {
                let session = signed_in.session.clone();
                let as_guest = Browser {
                    session: Some(&session),
                    binding: browser.binding,
                    origin: browser.origin,
                };
                let then = Box::pin(self.proceed(request, client, pending_id, as_guest, consented_now, now)).await?;
                return Ok(Outcome::Guest {
                    cookie: signed_in.cookie,
                    then: Box::new(then),
                });
            }
        }
        // The client, or its application, may ask more of the session than being signed in.
        if let (Some(session), true) = (
            browser.session,
            matches!(step, Step::Reprove | Step::Issue | Step::Consent),
        ) {
            let demands = Demands {
                fresh_proof: matches!(step, Step::Reprove),
                second_factor: request.demands_second_factor(),
                silent: request.prompts("none"),
            };
            let door = Door::Browser(browser.binding);
            let reproof = self
                .sign_in
                .browser_reproof(session, &client.application_id, demands, door, browser.origin, now)
                .await;
            match reproof {
                Ok(Reproof::None) => {}
                Ok(Reproof::SignIn) => step = Step::Login,
                Ok(Reproof::Interaction { second_factor }) => {
                    let error = if second_factor {
                        OAuthError::new(
                            ErrorCode::UnmetAuthenticationRequirements,
                            "the client asks for a second factor, but prompt=none",
                        )
                    } else {
                        OAuthError::new(
                            ErrorCode::LoginRequired,
                            "the user must prove it is them, but prompt=none",
                        )
                    };
                    return Ok(Outcome::Respond(back(&request, error).response(&self.issuer)));
                }
                Ok(Reproof::Step(next)) => return self.to_step(&request, pending_id, browser, next, now).await,
                Ok(Reproof::Enroll) => {
                    return Ok(Outcome::Enroll {
                        request_id: self.keep(&request, pending_id, browser.binding, now).await?,
                    });
                }
                Err(AuthError::Access(AccessError::IpNotAllowed)) => {
                    return self
                        .refuse(&request, &client, pending_id, AccessError::IpNotAllowed, now)
                        .await;
                }
                Err(other) => return Err(auth_rejection(other)),
            }
        }
        // The account signed in must be let into the client's application.
        // Only once the session is the one that will answer: the account choice may still pick another.
        if let (Some(session), true) = (browser.session, matches!(step, Step::Issue | Step::Consent)) {
            let how = Authentication::of_session(&session.amr, &session.acr);
            let door = Door::Browser(browser.binding);
            match self
                .sign_in
                .admit_to(&session.user, &client.application_id, door, &how, browser.origin, now)
                .await
            {
                Ok(None) => {}
                Ok(Some(_)) if request.prompts("none") => {
                    let error = OAuthError::new(
                        ErrorCode::InteractionRequired,
                        "the application needs the account to prove an address or number first",
                    );
                    return Ok(Outcome::Respond(back(&request, error).response(&self.issuer)));
                }
                Ok(Some(next)) => return self.to_step(&request, pending_id, browser, next, now).await,
                // A guest may sign in as someone who may enter.
                Err(AuthError::Access(AccessError::NotMember)) if session.user.guest => step = Step::Login,
                Err(AuthError::Access(refused @ (AccessError::NotMember | AccessError::IpNotAllowed))) => {
                    return self.refuse(&request, &client, pending_id, refused, now).await;
                }
                Err(other) => return Err(auth_rejection(other)),
            }
        }
        let needs_user = !matches!(step, Step::Issue);
        if needs_user && request.prompts("none") {
            let code = match step {
                Step::Login | Step::Reprove => ErrorCode::LoginRequired,
                Step::SelectAccount => ErrorCode::AccountSelectionRequired,
                Step::Consent | Step::Issue => ErrorCode::ConsentRequired,
            };
            let error = OAuthError::new(code, "the user must interact, but prompt=none");
            return Ok(Outcome::Respond(back(&request, error).response(&self.issuer)));
        }
        match (step, browser.session) {
            (Step::Issue, Some(session)) => match &request.device {
                Some(device) => self.approve_device(device, &client, session, pending_id, now).await,
                None => self.issue_code(&request, session, pending_id, now).await,
            },
            (Step::Login | Step::Reprove | Step::Issue, _) => Ok(Outcome::Login {
                request_id: self.keep(&request, pending_id, browser.binding, now).await?,
            }),
            (Step::SelectAccount, _) => Ok(Outcome::SelectAccount {
                request_id: self.keep(&request, pending_id, browser.binding, now).await?,
            }),
            (Step::Consent, _) => {
                let request_id = self.keep(&request, pending_id, browser.binding, now).await?;
                Ok(match request.device {
                    Some(_) => Outcome::ConfirmDevice { request_id },
                    None => Outcome::Consent { request_id },
                })
            }
        }
    }

    async fn next_step(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        session: Option<&BrowserSession>,
        resumed: bool,
        consented_now: bool,
        now: UnixTime,
    ) -> Result<Step, Rejection> {
        let Some(session) = session else {
            return Ok(Step::Login);
        };
        // Only a sign-in made while this request waited — a new session, not the one it found — satisfies
        // prompt=login, max_age and the account choice. Sessions are told apart by id, not by auth_time, which
        // has whole seconds only.
        let signed_in_for_this = resumed
            && session.auth_time >= request.created_at
            && request.session_at_start.as_deref() != Some(session.id.as_str());
        // OIDC Core §3.1.2.1: max_age=0 asks for a sign-in now, like prompt=login.
        let too_old = request
            .max_age
            .is_some_and(|max| max == 0 || now - session.auth_time > max);
        let other_user = request.hint_subject.as_ref().is_some_and(|sub| *sub != session.user.id);
        if other_user {
            return Ok(Step::Login);
        }
        if !signed_in_for_this && (request.prompts("login") || too_old) {
            return Ok(Step::Reprove);
        }
        // A choice is needed when asked for, or when the login_hint names someone other than who is signed in.
        let hint_names_another = request
            .login_hint
            .as_deref()
            .is_some_and(|hint| !names(&session.user, hint));
        if !signed_in_for_this && !request.account_chosen && (request.prompts("select_account") || hint_names_another) {
            return Ok(Step::SelectAccount);
        }
        if consented_now {
            return Ok(Step::Issue);
        }
        // RFC 8628 §5.4: the person always confirms a device, first party or not, remembered consent or not —
        // a user code may have been passed on by someone else's device.
        if request.device.is_some() {
            return Ok(Step::Consent);
        }
        if client.first_party && !request.prompts("consent") {
            return Ok(Step::Issue);
        }
        let stored = consents::find(&self.db, session.user.id.clone(), client.id.clone()).await?;
        let covered = stored.is_some_and(|s| request.scope().is_subset_of(&Scope::stored(&s)));
        Ok(if covered && !request.prompts("consent") {
            Step::Issue
        } else {
            Step::Consent
        })
    }
}

fn back(request: &AuthorizationRequest, error: OAuthError) -> ErrorRedirect {
    ErrorRedirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        response_mode: request.response_mode,
        error,
    }
}

fn spent() -> Rejection {
    Rejection::Page("This sign-in request was already completed. Please start again from the application.".into())
}

/// A failure of authentication met while answering a request: the database's, or an error page.
fn auth_rejection(error: AuthError) -> Rejection {
    match error {
        AuthError::Store(error) => Rejection::Store(error),
        other => {
            tracing::error!(error = %other, "authorization request failed");
            Rejection::Page("This sign-in cannot go on right now. Please try again later.".into())
        }
    }
}
