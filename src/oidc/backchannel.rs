//! The sender of back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.5): the outbox rows
//! `auth::backchannel` wrote when a session ended are leased one at a time (so two instances never send one at
//! once), a fresh logout token is signed for each attempt (its `exp` stays short), and POSTed as
//! `logout_token=…` to the client's `backchannel_logout_uri`. A 200 or 204 delivers it (§2.8); anything else —
//! another status, a redirect, a timeout, a refused connection — is tried again after a growing delay, until
//! `backchannel_logout.max_attempts`.

use std::time::Duration;

use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::config::{BackchannelLogoutConfig, Config};
use crate::store::backchannel_logouts::{self, BackchannelLogoutRow, Claimed, Outcome};
use crate::store::{Database, StoreError};
use crate::tokens::IdTokens;
use crate::tokens::keys::SigningAlg;
use crate::tokens::opaque;

use super::redirect_uri;

/// Logout tokens sent per run at most.
const SEND_BATCH: i64 = 100;
/// The delays after the 1st, 2nd, … failed attempt; the last repeats.
const RETRY_DELAYS: [i64; 4] = [30, 120, 600, 3600];

/// The delay before the next attempt, after `attempts` failed ones: 30 s, 2 min, 10 min, then an hour.
pub fn retry_delay(attempts: i32) -> i64 {
    let index = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
    RETRY_DELAYS[index.min(RETRY_DELAYS.len() - 1)]
}

/// What one run of the sender did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Run {
    pub delivered: usize,
    /// Failed attempts that will be tried again.
    pub retrying: usize,
    /// Logout tokens given up on at this run.
    pub failed: usize,
}

/// Signs and sends the logout tokens the outbox holds.
pub struct BackchannelSender {
    db: Database,
    id_tokens: IdTokens,
    client: reqwest::Client,
    config: BackchannelLogoutConfig,
}

impl BackchannelSender {
    pub fn new(config: &Config, db: Database, id_tokens: IdTokens) -> Result<Self, reqwest::Error> {
        let timeout = Duration::from_secs(config.backchannel_logout.timeout_secs);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Tessera-Logout/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            db,
            id_tokens,
            client,
            config: config.backchannel_logout.clone(),
        })
    }

    /// One run of the sender at `now`: every due logout token leased, sent and recorded. The background task
    /// calls it every `backchannel_logout.interval_secs`; tests call it with the hand-moved clock.
    pub async fn deliver_due(&self, now: UnixTime) -> Result<Run, StoreError> {
        let mut run = Run::default();
        let lease_secs = i64::try_from(self.config.timeout_secs).unwrap_or(60) + 60;
        for id in backchannel_logouts::due(&self.db, now, SEND_BATCH).await? {
            let lease = opaque::random_id();
            let Some(claimed) = backchannel_logouts::claim(&self.db, id, lease.clone(), now, now + lease_secs).await?
            else {
                continue;
            };
            let status = self.send(&claimed, now).await;
            let row = claimed.row;
            let attempts = row.attempts.saturating_add(1);
            let max_attempts = i32::try_from(self.config.max_attempts).unwrap_or(i32::MAX);
            // Back-Channel Logout 1.0 §2.8: the RP answers 200 (or 204, which some send) when it logged out.
            let outcome = match (status, attempts >= max_attempts) {
                (Some(200 | 204), _) => Outcome::Delivered,
                (_, true) => Outcome::Failed,
                (_, false) => Outcome::Retry(now + retry_delay(attempts)),
            };
            let last_status = status.map(i32::from);
            let row_id = row.id.clone();
            if backchannel_logouts::finish(&self.db, row_id, lease, attempts, last_status, outcome, now).await? {
                self.record(&row, attempts, last_status, outcome, now).await;
                match outcome {
                    Outcome::Delivered => run.delivered += 1,
                    Outcome::Failed => run.failed += 1,
                    Outcome::Retry(_) => run.retrying += 1,
                }
            }
        }
        Ok(run)
    }

    /// POSTs a freshly signed logout token for the claimed row to its client's URI, signed like the client's ID
    /// tokens: the answer's status, or `None` when none came (or nothing could be sent).
    async fn send(&self, claimed: &Claimed, now: UnixTime) -> Option<u16> {
        let row = &claimed.row;
        // The client may have dropped its URI, or registered one the rules no longer accept, since.
        let uri = claimed
            .uri
            .as_deref()
            .filter(|uri| redirect_uri::registration_problem(uri).is_none())?;
        let alg = claimed
            .alg
            .as_deref()
            .and_then(SigningAlg::parse)
            .unwrap_or(SigningAlg::Rs256);
        let token = match self
            .id_tokens
            .logout_token(&row.client_id, &row.sub, row.sid.as_deref(), alg, now)
        {
            Ok(token) => token,
            Err(e) => {
                tracing::error!(client_id = %row.client_id, error = %e, "a logout token could not be signed");
                return None;
            }
        };
        // §2.5: an HTTP POST of `application/x-www-form-urlencoded` `logout_token`.
        let request = self.client.post(uri).form(&[("logout_token", token)]);
        match request.send().await {
            Ok(response) => Some(response.status().as_u16()),
            Err(e) => {
                tracing::info!(client_id = %row.client_id, timeout = e.is_timeout(), connect = e.is_connect(), "a back-channel logout request failed");
                None
            }
        }
    }

    /// The audit event of a logout token delivered or given up on (none for one that will be tried again).
    async fn record(
        &self,
        row: &BackchannelLogoutRow,
        attempts: i32,
        last_status: Option<i32>,
        outcome: Outcome,
        now: UnixTime,
    ) {
        let kind = match outcome {
            Outcome::Delivered => Kind::BackchannelLogoutDelivered,
            Outcome::Failed => Kind::BackchannelLogoutFailed,
            Outcome::Retry(_) => return,
        };
        let mut event = Event::new(kind)
            .about(Subject::Client(row.client_id.clone()))
            .with("user_id", row.sub.as_str())
            .with("attempts", attempts);
        if let Some(sid) = &row.sid {
            event = event.with("sid", sid.as_str());
        }
        if let Some(status) = last_status {
            event = event.with("status", status);
        }
        audit::record(&self.db, event, now).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_wait_an_hour() {
        let delays: Vec<i64> = (1..=6).map(retry_delay).collect();
        assert_eq!(delays, [30, 120, 600, 3600, 3600, 3600]);
    }
}
