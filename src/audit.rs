//! The audit log: security events — sign-ins, factor changes, tokens and keys made and revoked,
//! administrators' changes, linked identities — each with who acted, what it was about, the application, and
//! where the request came from.
//!
//! Services record an event where they make the change ([`record`]), so every front door (REST API, pages,
//! compatibility profiles, command line) writes the same event once. The request's own facts — its id, the
//! client's address and user agent — are set for the request's task by the HTTP layer ([`within`]); the
//! account behind the request and its application are added where they are resolved ([`note_actor`],
//! [`note_application`]), wherever that is.

use std::cell::RefCell;
use std::future::Future;

use serde_json::{Map, Value};

mod read;

pub use read::{MAX_LIMIT, Page, Query, ReadError, read};

use crate::clock::UnixTime;
use crate::store::Database;
use crate::store::audit_events::{self, AuditEventRow};

/// The longest user agent kept, in characters.
const USER_AGENT_MAX: usize = 256;

macro_rules! kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// What happened.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Kind {
            $($variant,)*
        }

        impl Kind {
            /// Every kind, in the order they are documented.
            pub const ALL: &[Kind] = &[$(Kind::$variant,)*];

            /// The name stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// The kind with this name.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|kind| kind.as_str() == name)
            }
        }
    };
}

kinds! {
    SignInSucceeded => "sign_in.succeeded",
    SignInFailed => "sign_in.failed",
    SignInRefused => "sign_in.refused",
    CredentialRefused => "credential.refused",
    AccountCreated => "account.created",
    AccountDisabled => "account.disabled",
    AccountEnabled => "account.enabled",
    PlanChanged => "account.plan_changed",
    AdminGranted => "account.admin_granted",
    AdminRevoked => "account.admin_revoked",
    PasswordChanged => "account.password_changed",
    ProfileChanged => "account.profile_changed",
    EmailChanged => "account.email_changed",
    EmailVerified => "account.email_verified",
    PhoneChanged => "account.phone_changed",
    PhoneRemoved => "account.phone_removed",
    FactorsReset => "account.factors_reset",
    SessionsRevoked => "account.sessions_revoked",
    SessionRevoked => "session.revoked",
    ConsentRevoked => "consent.revoked",
    DeviceApproved => "device.approved",
    DeviceDenied => "device.denied",
    TotpEnrolled => "factor.totp_enrolled",
    TotpRemoved => "factor.totp_removed",
    RecoveryCodesGenerated => "factor.recovery_codes_generated",
    PinSet => "factor.pin_set",
    PinRemoved => "factor.pin_removed",
    PasskeyAdded => "passkey.added",
    PasskeyRemoved => "passkey.removed",
    PrivateTokenCreated => "private_token.created",
    PrivateTokenRotated => "private_token.rotated",
    PrivateTokenRevoked => "private_token.revoked",
    IdentityLinked => "identity.linked",
    IdentityUnlinked => "identity.unlinked",
    ApplicationCreated => "application.created",
    ApplicationUpdated => "application.updated",
    ApplicationDeleted => "application.deleted",
    ApiKeyCreated => "api_key.created",
    ApiKeyRevoked => "api_key.revoked",
    MemberAdded => "member.added",
    MemberRemoved => "member.removed",
    InvitationCreated => "invitation.created",
    ClientCreated => "client.created",
    ClientUpdated => "client.updated",
    ClientSecretRotated => "client.secret_rotated",
    ClientDeleted => "client.deleted",
    RegistrationTokenCreated => "client.registration_token_created",
    RegistrationTokenRevoked => "client.registration_token_revoked",
    ProviderCreated => "provider.created",
    ProviderUpdated => "provider.updated",
    ProviderDeleted => "provider.deleted",
    SigningKeyCreated => "signing_key.created",
    WebhookCreated => "webhook.created",
    WebhookUpdated => "webhook.updated",
    WebhookSecretRotated => "webhook.secret_rotated",
    WebhookDeleted => "webhook.deleted",
    BackchannelLogoutDelivered => "logout.backchannel_delivered",
    BackchannelLogoutFailed => "logout.backchannel_failed",
}

/// What an event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    User(String),
    Application(String),
    ApiKey(String),
    Client(String),
    Provider(String),
    PrivateToken(String),
    Session(String),
    Invitation(String),
    SigningKey(String),
    Webhook(String),
    /// An initial access token for dynamic client registration.
    RegistrationToken(String),
}

impl Subject {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Self::User(id) => ("user", id),
            Self::Application(id) => ("application", id),
            Self::ApiKey(id) => ("api_key", id),
            Self::Client(id) => ("client", id),
            Self::Provider(id) => ("provider", id),
            Self::PrivateToken(id) => ("private_token", id),
            Self::Session(id) => ("session", id),
            Self::Invitation(id) => ("invitation", id),
            Self::SigningKey(id) => ("signing_key", id),
            Self::Webhook(id) => ("webhook", id),
            Self::RegistrationToken(id) => ("registration_token", id),
        }
    }
}

/// One event, as a service describes it.
#[derive(Clone, Debug)]
pub struct Event {
    kind: Kind,
    subject: Option<Subject>,
    actor: Option<String>,
    application: Option<String>,
    details: Map<String, Value>,
}

impl Event {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            subject: None,
            actor: None,
            application: None,
            details: Map::new(),
        }
    }

    /// What the event is about.
    pub fn about(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The account that acted, when the request does not say (a sign-in: the account signing in).
    pub fn by(mut self, user_id: &str) -> Self {
        self.actor = Some(user_id.to_owned());
        self
    }

    /// The application the event happened in (instead of the request's).
    pub fn in_application(mut self, application_id: &str) -> Self {
        self.application = Some(application_id.to_owned());
        self
    }

    /// One more fact about the event; never a secret.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }
}

/// The facts of the request an event happens in.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The account behind the request, once resolved.
    pub actor: Option<String>,
    /// The application the request came through, once resolved.
    pub application: Option<String>,
}

tokio::task_local! {
    static REQUEST: RefCell<RequestContext>;
}

/// Runs `work` as the request described by `context`: events it records carry those facts.
pub async fn within<F: Future>(mut context: RequestContext, work: F) -> F::Output {
    context.user_agent = context
        .user_agent
        .map(|agent| agent.chars().take(USER_AGENT_MAX).collect());
    REQUEST.scope(RefCell::new(context), work).await
}

/// The account behind the current request (a bearer token or a browser session resolved to it).
pub fn note_actor(user_id: &str) {
    if note(|context| &mut context.actor, user_id) {
        // The request's log lines from here on name the account (the HTTP layer's span declares `user`).
        tracing::Span::current().record("user", user_id);
    }
}

/// The application the current request came through.
pub fn note_application(application_id: &str) {
    if note(|context| &mut context.application, application_id) {
        // The request's log lines from here on name the application (the HTTP layer's span declares `app`).
        tracing::Span::current().record("app", application_id);
    }
}

/// Sets a fact of the current request; whether it changed (nothing changes outside a request). A span field
/// recorded twice would be printed twice in text logs, hence the question.
fn note(fact: impl FnOnce(&mut RequestContext) -> &mut Option<String>, value: &str) -> bool {
    REQUEST
        .try_with(|context| {
            let mut context = context.borrow_mut();
            let slot = fact(&mut context);
            let changed = slot.as_deref() != Some(value);
            *slot = Some(value.to_owned());
            changed
        })
        .unwrap_or(false)
}

/// The current request's facts, if any (none on the command line or in background work).
pub fn current() -> RequestContext {
    REQUEST.try_with(|context| context.borrow().clone()).unwrap_or_default()
}

/// Writes `event`, at `now`, with the current request's facts. An event that cannot be written is logged:
/// the change it describes is already made, and is not undone for the log's sake.
pub async fn record(db: &Database, event: Event, now: UnixTime) {
    let context = current();
    let kind = event.kind.as_str();
    let (subject_type, subject_id) = match &event.subject {
        Some(subject) => {
            let (kind, id) = subject.parts();
            (Some(kind.to_owned()), Some(id.to_owned()))
        }
        None => (None, None),
    };
    let row = AuditEventRow {
        id: uuid::Uuid::now_v7().to_string(),
        occurred_at: now,
        kind: kind.to_owned(),
        actor_id: event.actor.or(context.actor),
        subject_type,
        subject_id,
        application_id: event.application.or(context.application),
        ip: context.ip,
        user_agent: context.user_agent,
        request_id: context.request_id,
        details: Value::Object(event.details).to_string(),
    };
    tracing::info!(target: "tessera::audit", event = kind, subject = ?row.subject_id, actor = ?row.actor_id, "audit event");
    if let Err(e) = audit_events::insert(db, row).await {
        tracing::error!(event = kind, error = %e, "an audit event could not be written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(Kind::parse("sign_in"), None);
    }
}
