//! The pages' shape: an HTML error page (never a redirect) with the status that fits, and `Retry-After` when
//! the database is away.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::http::body::{BodyError, FormError};
use crate::http::outage::{STORAGE_RETRY_AFTER, log_storage_outage};
use crate::http::pages::page;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A failure shown as an HTML page; never a redirect.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
    /// Seconds to wait before trying again (`Retry-After`), for a page that says "come back later".
    retry_after: Option<u64>,
}

impl PageError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "This request cannot be completed",
            message: message.into(),
            retry_after: None,
        }
    }

    /// A refusal with its own status (413, 408, …).
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            ..Self::bad_request(message)
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            title: "This request was refused",
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "page failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong",
            message: "An internal error occurred. It has been logged; please try again later.".into(),
            retry_after: None,
        }
    }

    /// The database cannot be reached: 503, come back in a few seconds.
    pub fn unavailable(cause: &str) -> Self {
        log_storage_outage(cause);
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Temporarily unavailable",
            message: "The service is temporarily unavailable; please try again in a moment.".into(),
            retry_after: Some(STORAGE_RETRY_AFTER),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.message)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorPage {
            title: self.title,
            message: &self.message,
        }
        .render()
        .unwrap_or_else(|_| self.message.clone());
        let mut response = page(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response.body(body)
    }
}

/// The words of a refusal to someone the application does not let in (the same for every account, and for
/// addresses without one).
pub const NOT_MEMBER_MESSAGE: &str =
    "This account has no access to this application. If you need access, ask its administrator for an invitation.";

/// What the pages meet from authentication that they do not answer themselves (the sign-in and sign-up pages
/// show their own messages for what a person can fix). Every variant is listed, so a new one is a decision
/// here, never a silent 500.
impl From<crate::auth::AuthError> for PageError {
    fn from(error: crate::auth::AuthError) -> Self {
        use crate::auth::{
            AccessError as Ac, AccountError as Acc, AuthError as A, CredentialError as C, FactorError as F,
            FlowError as Fl, PrivateTokenError as P, SessionError as S,
        };
        use crate::notify::CaptchaError;
        match error {
            A::Store(error) => error.into(),
            A::Captcha(CaptchaError::Unavailable(_)) => Self::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                "The captcha cannot be checked right now. Please try again in a moment.",
            ),
            A::Captcha(CaptchaError::Failed(_)) => Self::bad_request("Please solve the captcha, then try again."),
            A::Notify(_) => Self::with_status(
                StatusCode::BAD_GATEWAY,
                "The message could not be sent. Please try again later.",
            ),
            A::Credentials(C::LoginRateLimited(_))
            | A::Account(Acc::SignupRateLimited(..))
            | A::Factor(F::OtpRateLimited(_)) => Self::with_status(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts. Please wait a while, then try again.",
            ),
            A::Account(Acc::SignupClosed) => {
                Self::forbidden("Accounts are created by an administrator here; sign-up is closed.")
            }
            A::Access(Ac::NotMember) => Self::forbidden(NOT_MEMBER_MESSAGE),
            A::Access(Ac::VerificationRequired) => {
                Self::forbidden("This application asks for a proven address or number first. Please sign in again.")
            }
            A::Access(Ac::GuestAccount) => Self::forbidden("A guest cannot do this. Please register first."),
            A::Factor(F::PasskeyRefused) => Self::with_status(
                StatusCode::UNAUTHORIZED,
                "The passkey was not accepted. Please go back and try again.",
            ),
            A::Factor(F::MethodUnavailable(_)) => Self::with_status(
                StatusCode::NOT_FOUND,
                "This way of signing in is not available for this account, or on this server.",
            ),
            A::Flow(Fl::SecondFactorUnavailable) => Self::forbidden(
                "Every sign-in here needs a second factor, and this account has none besides the code. Please sign in with your password.",
            ),
            A::Access(Ac::MethodNotAllowed(_)) => {
                Self::forbidden("This application does not accept this way of signing in.")
            }
            A::Access(Ac::GuestsNotAllowed) => Self::forbidden("This application is not open to guests."),
            A::Access(Ac::IpNotAllowed) => Self::forbidden("This application cannot be used from your network."),
            A::Account(Acc::IdentityTaken) => Self::with_status(
                StatusCode::CONFLICT,
                "This account at the provider is already linked to another account here.",
            ),
            A::Account(Acc::LastAdministrator) => Self::with_status(
                StatusCode::CONFLICT,
                "This is the last active administrator. Make another account an administrator first.",
            ),
            A::Account(Acc::LastSignInMethod) => Self::with_status(
                StatusCode::CONFLICT,
                "This is your last way to sign in. Set a password or link another account first.",
            ),
            A::Account(Acc::UnknownAccount) => Self::with_status(StatusCode::NOT_FOUND, "There is no such account."),
            A::PrivateToken(P::InsufficientScope(_)) => Self::forbidden("This page is for administrators."),
            A::Session(S::UnknownSignIn) => Self::with_status(
                StatusCode::NOT_FOUND,
                "This sign-in has already ended, or is not yours. Reload the page to see those that are live.",
            ),
            A::Account(Acc::UnknownIdentity) => {
                Self::with_status(StatusCode::NOT_FOUND, "There is no such linked sign-in.")
            }
            A::Account(Acc::InvitationInvalid) => Self::with_status(
                StatusCode::NOT_FOUND,
                "This invitation has expired or was already used. Ask for a new one if you still need access.",
            ),
            A::Credentials(C::ReauthenticationRequired { .. })
            | A::Session(S::InteractiveLoginRequired | S::StepUpRequired(_)) => {
                Self::forbidden("This needs a recent sign-in. Please sign in again, then retry.")
            }
            // What the pages answer themselves before it could reach here.
            A::Credentials(C::InvalidCredentials | C::WrongPassword | C::WrongPin)
            | A::Validation(_)
            | A::Account(Acc::UsernameTaken | Acc::EmailTaken)
            | A::Session(
                S::RefreshInvalid | S::RefreshExpired | S::RefreshReused | S::RefreshRevoked | S::AppMismatch,
            )
            | A::PrivateToken(P::UnknownToken | P::ScopeNotHeld(_))
            | A::Flow(Fl::MfaTokenInvalid | Fl::CodeExpired)
            | A::Factor(F::InvalidCode | F::TotpAlreadyEnabled | F::TotpNotPending | F::AlreadyVerified(_))
            | A::Internal(_)
            | A::Token(_)
            | A::Dpop(_)
            | A::Password(_) => Self::internal(error),
        }
    }
}

/// A client the console asked for is gone; registration refusals are shown on the console's own form.
impl From<crate::oidc::clients::ClientError> for PageError {
    fn from(error: crate::oidc::clients::ClientError) -> Self {
        use crate::oidc::clients::ClientError as E;
        match error {
            E::NotFound => Self::with_status(StatusCode::NOT_FOUND, "There is no such client."),
            E::Store(error) => error.into(),
            E::Validation(_) => Self::internal(error),
        }
    }
}

/// A consent the account page cannot withdraw.
impl From<crate::oidc::ConsentError> for PageError {
    fn from(error: crate::oidc::ConsentError) -> Self {
        use crate::oidc::ConsentError as E;
        match error {
            E::UnknownConsent => Self::with_status(
                StatusCode::NOT_FOUND,
                "This application has no access to withdraw. Reload the page to see those that do.",
            ),
            E::Store(error) => error.into(),
        }
    }
}

/// The key ring could not be read or a rotation failed; a rotation already scheduled is said on the keys page.
impl From<crate::tokens::keyring::KeyRingError> for PageError {
    fn from(error: crate::tokens::keyring::KeyRingError) -> Self {
        use crate::tokens::keyring::KeyRingError as E;
        match error {
            E::Store(error) => error.into(),
            E::AlreadyScheduled { .. } => Self::with_status(StatusCode::CONFLICT, error.to_string()),
            E::Token(_) => Self::internal(error),
        }
    }
}

impl From<crate::audit::ReadError> for PageError {
    fn from(error: crate::audit::ReadError) -> Self {
        match error {
            crate::audit::ReadError::Invalid(_) => {
                Self::bad_request("The audit log cannot be read with these filters.")
            }
            crate::audit::ReadError::Store(e) => e.into(),
        }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError as E;
        match error {
            E::Unavailable(cause) => Self::unavailable(&cause),
            E::Duplicate(_) | E::Connect(_) | E::Migration(_) | E::Corrupt(_) | E::Panicked | E::Query(_) => {
                Self::internal(error)
            }
        }
    }
}

/// The application a page works for is gone (deleted while a sign-in was under way) or was never there.
impl From<crate::apps::AppError> for PageError {
    fn from(error: crate::apps::AppError) -> Self {
        use crate::apps::AppError as E;
        match error {
            E::NotFound => Self::with_status(StatusCode::NOT_FOUND, "This application does not exist (any more)."),
            E::Store(error) => error.into(),
            E::Validation(_) | E::SlugTaken => Self::internal(error),
        }
    }
}

/// A round trip through an upstream provider that cannot finish: the person can start again, except when the
/// upstream itself is away. Causes are logged by `federation`; the page says what a person can do. And the
/// console's changes to a provider that cannot be made.
impl From<crate::federation::FederationError> for PageError {
    fn from(error: crate::federation::FederationError) -> Self {
        use crate::federation::FederationError as E;
        match error {
            E::UnknownProvider => Self::with_status(StatusCode::NOT_FOUND, "There is no such sign-in provider here."),
            E::StateInvalid | E::IssuerMismatch => Self::bad_request(
                "This sign-in could not be completed: it expired, was already used, or came back to another browser. Please sign in again.",
            ),
            E::Refused(_) => Self::forbidden(
                "The sign-in was cancelled at the provider. Please sign in again, or choose another way.",
            ),
            E::DomainNotAllowed => Self::forbidden("Accounts of this domain cannot sign in here with this provider."),
            E::Upstream(cause) | E::IdToken(cause) => {
                tracing::warn!(%cause, "upstream sign-in failed");
                Self::with_status(
                    StatusCode::BAD_GATEWAY,
                    "The sign-in provider did not answer as expected. Please try again later, or choose another way.",
                )
            }
            E::Store(error) => error.into(),
            E::ProviderInUse(apps) => Self::with_status(
                StatusCode::CONFLICT,
                format!(
                    "Applications still offer this provider: {}. Take it out of their sign-in methods first.",
                    apps.join(", ")
                ),
            ),
            E::ConfiguredInFile => Self::with_status(
                StatusCode::CONFLICT,
                "This provider is configured in the configuration file; change it there.",
            ),
            // The console shows these on its provider form.
            E::Invalid(_) | E::ProviderExists => Self::internal(error),
            E::Internal(cause) => Self::internal(cause),
        }
    }
}

/// A webhook or its application that is not there; the console's forms show refused fields themselves.
impl From<crate::webhooks::WebhookError> for PageError {
    fn from(error: crate::webhooks::WebhookError) -> Self {
        use crate::webhooks::WebhookError as E;
        match error {
            E::Application(error) => error.into(),
            E::NotFound => Self::with_status(StatusCode::NOT_FOUND, "There is no such webhook."),
            E::Store(error) => error.into(),
            E::Invalid(_) | E::Secret(_) => Self::internal(error),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> Self {
        Self::internal(error)
    }
}

/// A page's form that could not be taken.
impl From<FormError> for PageError {
    fn from(error: FormError) -> Self {
        const UNREADABLE: &str = "The form could not be read. Please go back and try again.";
        match error {
            FormError::NotForm | FormError::Body(BodyError::Broken) => Self::bad_request(UNREADABLE),
            FormError::Nul => Self::bad_request("The form contains a character that cannot be taken (NUL)."),
            FormError::Body(BodyError::TooLarge) => Self::with_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large. Please go back and try again.",
            ),
            FormError::Body(BodyError::TimedOut) => Self::with_status(
                StatusCode::REQUEST_TIMEOUT,
                "The form did not arrive in time. Please try again.",
            ),
        }
    }
}
