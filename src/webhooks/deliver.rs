//! The sender: turns each enabled webhook's new audit events into deliveries (one transaction with its cursor),
//! then sends the deliveries that are due, each leased first so two instances never send it at once. A 2xx
//! answer delivers; anything else — another status, a redirect, a timeout, a refused connection — is tried
//! again after a growing delay, until `webhooks.max_attempts`.

use aws_lc_rs::hmac;
use serde::Serialize;
use serde_json::Value;

use super::{EventKinds, WebhookError, Webhooks, url_problem};
use crate::clock::{UnixTime, rfc3339};
use crate::store::StoreError;
use crate::store::audit_events::AuditEventRow;
use crate::store::webhook_deliveries::{self, Attempt, DELIVERED, DeliveryRow, FAILED, PENDING, Scan};
use crate::store::webhooks::{self, WebhookRow};
use crate::tokens::opaque;
use crate::tokens::sealing::{self, Purpose};

/// How far behind its cursor a webhook looks again, for events whose transaction committed after later ones.
const LOOK_BACK_SECS: i64 = 300;
/// Events turned into deliveries per webhook and run at most.
const ENQUEUE_BATCH: i64 = 500;
/// Deliveries sent per run at most.
const SEND_BATCH: i64 = 100;
/// How much of an answer's body is kept, in characters.
const SNIPPET_CHARS: usize = 200;
/// Bytes of an answer's body read at most.
const SNIPPET_BYTES: usize = 1024;
/// The delays after the 1st, 2nd, … failed attempt; the last repeats.
const RETRY_DELAYS: [i64; 6] = [30, 120, 600, 3600, 6 * 3600, 24 * 3600];

/// What one run of the sender did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// Deliveries made from new audit events.
    pub enqueued: usize,
    pub delivered: usize,
    /// Failed attempts that will be tried again.
    pub retrying: usize,
    /// Deliveries given up on at this run.
    pub failed: usize,
}

/// The delay before the next attempt, after `attempts` failed ones: 30 s, 2 min, 10 min, 1 h, 6 h, then a day.
pub fn retry_delay(attempts: i32) -> i64 {
    let index = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
    RETRY_DELAYS[index.min(RETRY_DELAYS.len() - 1)]
}

/// The `Tessera-Signature` header of `body` sent at `timestamp`: `t=<unix>,v1=<hex HMAC-SHA256 of
/// "<unix>.<body>" under the secret>`.
pub fn signature(secret: &str, timestamp: UnixTime, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", opaque::hex(tag.as_ref()))
}

/// The JSON body of a delivery: the audit event as the admin API shows it.
#[derive(Serialize)]
struct Payload<'a> {
    id: &'a str,
    kind: &'a str,
    occurred_at: String,
    application_id: Option<&'a str>,
    actor_id: Option<&'a str>,
    subject_type: Option<&'a str>,
    subject_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    request_id: Option<&'a str>,
    details: Value,
    webhook_id: &'a str,
}

fn payload(webhook_id: &str, event: &AuditEventRow) -> String {
    let body = Payload {
        id: &event.id,
        kind: &event.kind,
        occurred_at: rfc3339(event.occurred_at),
        application_id: event.application_id.as_deref(),
        actor_id: event.actor_id.as_deref(),
        subject_type: event.subject_type.as_deref(),
        subject_id: event.subject_id.as_deref(),
        ip: event.ip.as_deref(),
        user_agent: event.user_agent.as_deref(),
        request_id: event.request_id.as_deref(),
        details: serde_json::from_str(&event.details).unwrap_or_default(),
        webhook_id,
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// How one attempt ended.
enum Answer {
    /// The receiver answered with this status and the start of this body.
    Status(u16, String),
    /// No answer: why, in words that carry no secret and no URL.
    NoAnswer(&'static str),
}

impl Webhooks {
    /// One run of the sender at `now`: new events into deliveries, then the due deliveries sent. The
    /// background task calls it every `webhooks.interval_secs`; tests call it with the hand-moved clock.
    pub async fn deliver_due(&self, now: UnixTime) -> Result<Run, WebhookError> {
        let mut run = Run::default();
        for webhook in webhooks::list_enabled(&self.db).await? {
            match self.enqueue(webhook, now).await {
                Ok(made) => run.enqueued += made,
                // Another instance made the same deliveries at the same moment; the next run goes on.
                Err(StoreError::Duplicate(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for id in webhook_deliveries::due(&self.db, now, SEND_BATCH).await? {
            let claim = opaque::random_id();
            let lease = now + i64::try_from(self.config.timeout_secs).unwrap_or(60) + 60;
            let Some(delivery) = webhook_deliveries::claim(&self.db, id, claim.clone(), now, lease).await? else {
                continue;
            };
            let attempt = self.attempt(&delivery, now).await;
            let status = attempt.status;
            if webhook_deliveries::finish(&self.db, delivery.id, claim, attempt).await? {
                match status {
                    DELIVERED => run.delivered += 1,
                    FAILED => run.failed += 1,
                    _ => run.retrying += 1,
                }
            }
        }
        Ok(run)
    }

    async fn enqueue(&self, webhook: WebhookRow, now: UnixTime) -> Result<usize, StoreError> {
        let kinds = match EventKinds::from_stored(&webhook.event_kinds) {
            EventKinds::All => None,
            EventKinds::Only(kinds) => Some(kinds.iter().map(|k| k.as_str().to_owned()).collect()),
        };
        let scan = Scan {
            after: (webhook.created_at, webhook.id.clone()),
            since: webhook.cursor_at - LOOK_BACK_SECS,
            webhook_id: webhook.id.clone(),
            application_id: webhook.application_id,
            kinds,
            limit: ENQUEUE_BATCH,
            now,
        };
        let id = webhook.id;
        webhook_deliveries::enqueue(&self.db, scan, move |event| payload(&id, event)).await
    }

    /// Sends `delivery` once and says what became of it.
    async fn attempt(&self, delivery: &DeliveryRow, now: UnixTime) -> Attempt {
        let answer = self.send(delivery, now).await;
        let attempts = delivery.attempts.saturating_add(1);
        let (last_status, last_error, delivered) = match answer {
            Answer::Status(status, snippet) => (
                Some(i32::from(status)),
                (!snippet.is_empty()).then_some(snippet),
                (200..300).contains(&status),
            ),
            Answer::NoAnswer(why) => (None, Some(why.to_owned()), false),
        };
        let max_attempts = i32::try_from(self.config.max_attempts).unwrap_or(i32::MAX);
        let (status, next_attempt_at) = match (delivered, attempts >= max_attempts) {
            (true, _) => (DELIVERED, now),
            (false, true) => (FAILED, now),
            (false, false) => (PENDING, now + retry_delay(attempts)),
        };
        if status != DELIVERED {
            tracing::info!(
                webhook_id = %delivery.webhook_id,
                delivery_id = %delivery.id,
                attempts,
                status = ?last_status,
                gave_up = status == FAILED,
                "a webhook delivery failed"
            );
        }
        Attempt {
            status,
            attempts,
            next_attempt_at,
            last_status,
            last_error,
            now,
        }
    }

    async fn send(&self, delivery: &DeliveryRow, now: UnixTime) -> Answer {
        let webhook = match webhooks::find_by_id(&self.db, delivery.webhook_id.clone()).await {
            Ok(Some(webhook)) => webhook,
            Ok(None) => return Answer::NoAnswer("the webhook is gone"),
            Err(_) => return Answer::NoAnswer("the database could not be read"),
        };
        // The setting may have changed since the URL was accepted.
        if url_problem(&webhook.url, self.config.allow_http).is_some() {
            return Answer::NoAnswer("the URL is not allowed (https only unless webhooks.allow_http)");
        }
        let secret = match sealing::unseal(Purpose::WebhookSecret, &webhook.secret, self.secret_key.as_ref()) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                tracing::error!(webhook_id = %webhook.id, error = %e, "a webhook's secret cannot be opened");
                return Answer::NoAnswer("the webhook's secret cannot be opened");
            }
        };
        let request = self
            .client
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Tessera-Signature", signature(&secret, now, &delivery.payload))
            .header("Tessera-Event-Id", &delivery.event_id)
            .header("Tessera-Event", &delivery.event_kind)
            .header("Tessera-Delivery-Id", &delivery.id)
            .body(delivery.payload.clone());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Answer::NoAnswer("timed out"),
            Err(e) if e.is_connect() => return Answer::NoAnswer("the connection failed"),
            Err(_) => return Answer::NoAnswer("the request failed"),
        };
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < SNIPPET_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        body.truncate(SNIPPET_BYTES);
        let snippet = String::from_utf8_lossy(&body)
            .chars()
            .filter(|c| !c.is_control())
            .take(SNIPPET_CHARS)
            .collect();
        Answer::Status(status, snippet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_wait_a_day() {
        let delays: Vec<i64> = (1..=8).map(retry_delay).collect();
        assert_eq!(delays, [30, 120, 600, 3600, 21_600, 86_400, 86_400, 86_400]);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 does not cover this framing; the value is checked against an independent computation
        // (`printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test`).
        assert_eq!(
            signature("whsec_test", 1_700_000_000, "{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }
}
