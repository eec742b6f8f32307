//! Applications' webhooks: an administrator subscribes an application to kinds of audit events, and Tessera
//! POSTs each matching event of that application, as JSON signed with HMAC-SHA256 under the webhook's secret,
//! to the webhook's URL. This module keeps the subscriptions (their URL checked, their secret sealed at rest
//! and shown only when made); `deliver` turns audit events into deliveries and sends them in the background,
//! retrying with back-off.

mod deliver;

use std::sync::Arc;
use std::time::Duration;

pub use deliver::{Run, retry_delay, signature};

use crate::apps::{AppError, AppService, Application};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::config::{Config, Secret, WebhooksConfig};
use crate::error::FieldError;
use crate::store::webhook_deliveries::{self, DeliveryRow};
use crate::store::webhooks::{self, WebhookChanges, WebhookRow};
use crate::store::{Database, StoreError};
use crate::tokens::opaque;
use crate::tokens::sealing::{self, Purpose, SealError};

/// What a webhook's secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// The longest URL accepted.
const URL_MAX: usize = 2048;
/// The longest description accepted, in characters.
const DESCRIPTION_MAX: usize = 200;
/// The most deliveries a listing shows.
pub const DELIVERIES_SHOWN: i64 = 50;

/// Why a webhook could not be made, changed or read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid webhook fields")]
    Invalid(Vec<FieldError>),
    /// The application is not there (or cannot be read).
    #[error(transparent)]
    Application(#[from] AppError),
    #[error("no such webhook")]
    NotFound,
    #[error("the webhook's secret cannot be opened: {0}")]
    Secret(SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which kinds of events a webhook wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKinds {
    All,
    Only(Vec<Kind>),
}

impl EventKinds {
    /// The stored form: `*`, or the kinds separated by spaces.
    fn stored(&self) -> String {
        match self {
            Self::All => "*".to_owned(),
            Self::Only(kinds) => kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" "),
        }
    }

    fn from_stored(text: &str) -> Self {
        match text.trim() {
            "*" => Self::All,
            text => Self::Only(text.split_whitespace().filter_map(Kind::parse).collect()),
        }
    }

    /// The names, as the API shows them (`["*"]` for every kind).
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Self::All => vec!["*"],
            Self::Only(kinds) => kinds.iter().map(|k| k.as_str()).collect(),
        }
    }
}

/// A webhook as its administrators see it (never its secret).
#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: String,
    pub application_id: String,
    pub url: String,
    pub events: EventKinds,
    pub enabled: bool,
    pub description: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Self {
            events: EventKinds::from_stored(&row.event_kinds),
            id: row.id,
            application_id: row.application_id,
            url: row.url,
            enabled: row.enabled,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A webhook with its secret, on the one answer that shows it (creation, rotation).
#[derive(Debug)]
pub struct WithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// What an administrator sends; `None` leaves a field as it is (creation needs `url` and `events`).
#[derive(Clone, Debug, Default)]
pub struct WebhookSpec {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// One delivery as its administrators see it (the body it sends is the event itself).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_kind: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<UnixTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Self {
            next_attempt_at: (row.status == webhook_deliveries::PENDING).then_some(row.next_attempt_at),
            id: row.id,
            event_id: row.event_id,
            event_kind: row.event_kind,
            status: row.status,
            attempts: row.attempts,
            last_status: row.last_status,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Applications' webhooks: managing them, and the sender (`deliver_due`).
pub struct Webhooks {
    db: Database,
    apps: Arc<AppService>,
    secret_key: Option<Secret>,
    config: WebhooksConfig,
    client: reqwest::Client,
}

impl Webhooks {
    /// The service, with an HTTP client that follows no redirect and waits `webhooks.timeout_secs` at most.
    pub fn new(config: &Config, db: Database, apps: Arc<AppService>) -> Result<Self, reqwest::Error> {
        let timeout = Duration::from_secs(config.webhooks.timeout_secs);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            db,
            apps,
            secret_key: config.secret_key.clone(),
            config: config.webhooks.clone(),
            client,
        })
    }

    /// Subscribes an application (by id or slug); the secret is in the answer, and never again.
    pub async fn create(&self, app: &str, spec: WebhookSpec, now: UnixTime) -> Result<WithSecret, WebhookError> {
        let app = self.apps.get(app).await?;
        let mut problems = Vec::new();
        let url = match &spec.url {
            Some(url) => self.check_url(url, &mut problems),
            None => missing("url", &mut problems),
        };
        let events = match &spec.events {
            Some(events) => check_events(events, &mut problems),
            None => missing("events", &mut problems),
        };
        let description = check_description(spec.description.as_deref().unwrap_or_default(), &mut problems);
        let (Some(url), Some(events), Some(description), true) = (url, events, description, problems.is_empty()) else {
            return Err(WebhookError::Invalid(problems));
        };
        let secret = new_secret();
        // A v7 id sorts after every audit event already written: the webhook's deliveries start after it.
        let id = uuid::Uuid::now_v7().to_string();
        let row = WebhookRow {
            secret: self.seal(&secret)?,
            application_id: app.id.clone(),
            url,
            event_kinds: events.stored(),
            enabled: spec.enabled.unwrap_or(true),
            description,
            cursor_at: now,
            cursor_id: id.clone(),
            created_at: now,
            updated_at: now,
            id,
        };
        webhooks::insert(&self.db, row.clone()).await?;
        let webhook = Webhook::from(row);
        self.record(Kind::WebhookCreated, &app, &webhook, now).await;
        Ok(WithSecret { webhook, secret })
    }

    /// An application's webhooks, oldest first.
    pub async fn list(&self, app: &str) -> Result<Vec<Webhook>, WebhookError> {
        let app = self.apps.get(app).await?;
        let rows = webhooks::list_for_application(&self.db, app.id).await?;
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    pub async fn get(&self, app: &str, id: &str) -> Result<Webhook, WebhookError> {
        let app = self.apps.get(app).await?;
        Ok(self.row(&app, id).await?.into())
    }

    /// Changes the fields `spec` names.
    pub async fn update(&self, app: &str, id: &str, spec: WebhookSpec, now: UnixTime) -> Result<Webhook, WebhookError> {
        let app = self.apps.get(app).await?;
        let current = Webhook::from(self.row(&app, id).await?);
        let mut problems = Vec::new();
        let url = spec.url.as_deref().map(|url| self.check_url(url, &mut problems));
        let events = spec.events.as_deref().map(|events| check_events(events, &mut problems));
        let description = spec
            .description
            .as_deref()
            .map(|text| check_description(text, &mut problems));
        if !problems.is_empty() {
            return Err(WebhookError::Invalid(problems));
        }
        let changes = WebhookChanges {
            url: url.flatten().unwrap_or(current.url),
            event_kinds: events.flatten().unwrap_or(current.events).stored(),
            enabled: spec.enabled.unwrap_or(current.enabled),
            description: description.flatten().unwrap_or(current.description),
            updated_at: now,
        };
        let row = webhooks::update(&self.db, app.id.clone(), id.to_owned(), changes)
            .await?
            .ok_or(WebhookError::NotFound)?;
        let webhook = Webhook::from(row);
        self.record(Kind::WebhookUpdated, &app, &webhook, now).await;
        Ok(webhook)
    }

    /// Gives the webhook a new secret (the old one stops signing at once); the secret is in the answer only.
    pub async fn rotate_secret(&self, app: &str, id: &str, now: UnixTime) -> Result<WithSecret, WebhookError> {
        let app = self.apps.get(app).await?;
        let mut webhook = Webhook::from(self.row(&app, id).await?);
        let secret = new_secret();
        if !webhooks::set_secret(&self.db, app.id.clone(), id.to_owned(), self.seal(&secret)?, now).await? {
            return Err(WebhookError::NotFound);
        }
        webhook.updated_at = now;
        self.record(Kind::WebhookSecretRotated, &app, &webhook, now).await;
        Ok(WithSecret { webhook, secret })
    }

    /// Deletes the webhook and its deliveries.
    pub async fn delete(&self, app: &str, id: &str, now: UnixTime) -> Result<(), WebhookError> {
        let app = self.apps.get(app).await?;
        let webhook = Webhook::from(self.row(&app, id).await?);
        if !webhooks::delete(&self.db, app.id.clone(), id.to_owned()).await? {
            return Err(WebhookError::NotFound);
        }
        self.record(Kind::WebhookDeleted, &app, &webhook, now).await;
        Ok(())
    }

    /// The webhook's latest deliveries, newest first.
    pub async fn deliveries(&self, app: &str, id: &str) -> Result<Vec<Delivery>, WebhookError> {
        let app = self.apps.get(app).await?;
        let webhook = self.row(&app, id).await?;
        let rows = webhook_deliveries::list_for_webhook(&self.db, webhook.id, DELIVERIES_SHOWN).await?;
        Ok(rows.into_iter().map(Delivery::from).collect())
    }

    async fn row(&self, app: &Application, id: &str) -> Result<WebhookRow, WebhookError> {
        webhooks::find(&self.db, app.id.clone(), id.to_owned())
            .await?
            .ok_or(WebhookError::NotFound)
    }

    fn seal(&self, secret: &str) -> Result<String, WebhookError> {
        sealing::seal(Purpose::WebhookSecret, secret.as_bytes(), self.secret_key.as_ref()).map_err(WebhookError::Secret)
    }

    /// Where deliveries may go: an absolute `https://` URL (or `http://` with `webhooks.allow_http`) with a host,
    /// no credentials and no fragment.
    fn check_url(&self, url: &str, problems: &mut Vec<FieldError>) -> Option<String> {
        let problem = match url_problem(url, self.config.allow_http) {
            None => return Some(url.trim().to_owned()),
            Some(problem) => problem,
        };
        problems.push(FieldError {
            field: "url",
            message: problem,
        });
        None
    }

    async fn record(&self, kind: Kind, app: &Application, webhook: &Webhook, now: UnixTime) {
        let event = Event::new(kind)
            .about(Subject::Webhook(webhook.id.clone()))
            .in_application(&app.id)
            .with("url", webhook.url.as_str())
            .with("enabled", webhook.enabled)
            .with("events", webhook.events.names());
        audit::record(&self.db, event, now).await;
    }
}

/// What is wrong with `url` as a webhook's address, if anything.
pub fn url_problem(url: &str, allow_http: bool) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return Some("is required".into());
    }
    if url.len() > URL_MAX {
        return Some(format!("must be at most {URL_MAX} characters"));
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return Some("is not an absolute URL".into());
    };
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Some("must be https:// (plain http is refused unless webhooks.allow_http is on)".into()),
        _ => return Some("must be an https:// URL".into()),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Some("must name a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("must not carry credentials; the signature authenticates Tessera".into());
    }
    if parsed.fragment().is_some() {
        return Some("must not have a fragment".into());
    }
    None
}

fn check_events(events: &[String], problems: &mut Vec<FieldError>) -> Option<EventKinds> {
    let mut kinds = Vec::new();
    let mut all = false;
    for name in events {
        match (name.trim(), Kind::parse(name.trim())) {
            ("*", _) => all = true,
            (_, Some(kind)) => {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            (name, None) => {
                problems.push(FieldError {
                    field: "events",
                    message: format!("`{}` is not an event kind", name.chars().take(64).collect::<String>()),
                });
                return None;
            }
        }
    }
    match (all, kinds.is_empty()) {
        (true, true) => Some(EventKinds::All),
        (true, false) => {
            problems.push(FieldError {
                field: "events",
                message: "`*` (every kind) cannot be combined with named kinds".into(),
            });
            None
        }
        (false, true) => {
            problems.push(FieldError {
                field: "events",
                message: "name at least one event kind, or `*` for every kind".into(),
            });
            None
        }
        (false, false) => Some(EventKinds::Only(kinds)),
    }
}

fn check_description(text: &str, problems: &mut Vec<FieldError>) -> Option<String> {
    let text = text.trim();
    if text.chars().count() > DESCRIPTION_MAX || text.chars().any(char::is_control) {
        problems.push(FieldError {
            field: "description",
            message: format!("must be at most {DESCRIPTION_MAX} characters, without control characters"),
        });
        return None;
    }
    Some(text.to_owned())
}

fn missing<T>(field: &'static str, problems: &mut Vec<FieldError>) -> Option<T> {
    problems.push(FieldError {
        field,
        message: "is required".into(),
    });
    None
}

/// A new secret: `whsec_` and 256 random bits.
fn new_secret() -> String {
    opaque::mint(SECRET_PREFIX).value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_with_a_host_and_no_credentials() {
        assert_eq!(url_problem("https://hooks.example.com/tessera?x=1", false), None);
        assert!(url_problem("http://hooks.example.com/", false).is_some());
        assert_eq!(url_problem("http://127.0.0.1:9000/", true), None);
        assert!(url_problem("ftp://hooks.example.com/", true).is_some());
        assert!(url_problem("https://user:pw@hooks.example.com/", false).is_some());
        assert!(url_problem("https://hooks.example.com/#x", false).is_some());
        assert!(url_problem("/relative", false).is_some());
        assert!(url_problem("", false).is_some());
    }

    #[test]
    fn kinds_are_named_or_all() {
        let mut problems = Vec::new();
        assert_eq!(check_events(&["*".into()], &mut problems), Some(EventKinds::All));
        let only = check_events(&["webhook.created".into(), "webhook.created".into()], &mut problems);
        assert_eq!(only, Some(EventKinds::Only(vec![Kind::WebhookCreated])));
        assert!(problems.is_empty());
        assert_eq!(check_events(&["nope".into()], &mut problems), None);
        assert_eq!(check_events(&[], &mut problems), None);
        assert_eq!(
            check_events(&["*".into(), "webhook.created".into()], &mut problems),
            None
        );
        assert_eq!(problems.len(), 3);
        assert_eq!(EventKinds::from_stored(&EventKinds::All.stored()), EventKinds::All);
    }
}
