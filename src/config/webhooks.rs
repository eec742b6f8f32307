//! `[webhooks]`: the background sender of applications' webhooks — whether it runs, how often, how long an
//! attempt may take, how many are made, and whether plain-http URLs are accepted.

use serde::Deserialize;

use super::ConfigError;
use super::load::check_ranges;

/// Webhooks of audit events (see `webhooks`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Whether this server sends deliveries (off: webhooks can still be managed; nothing is sent from here).
    pub enabled: bool,
    /// How often the sender looks for new events and due deliveries.
    pub interval_secs: u64,
    /// The longest one attempt may take, connection included.
    pub timeout_secs: u64,
    /// Attempts made before a delivery is given up.
    pub max_attempts: u32,
    /// Accept `http://` URLs (tests, a receiver on the same host); off: `https://` only.
    pub allow_http: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 10,
            timeout_secs: 10,
            max_attempts: 8,
            allow_http: false,
        }
    }
}

impl WebhooksConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_ranges(&[
            (
                self.interval_secs,
                1..=3600,
                "webhooks.interval_secs",
                "TESSERA_WEBHOOKS__INTERVAL_SECS",
            ),
            (
                self.timeout_secs,
                1..=60,
                "webhooks.timeout_secs",
                "TESSERA_WEBHOOKS__TIMEOUT_SECS",
            ),
            (
                u64::from(self.max_attempts),
                1..=20,
                "webhooks.max_attempts",
                "TESSERA_WEBHOOKS__MAX_ATTEMPTS",
            ),
        ])
    }
}
