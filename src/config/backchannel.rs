//! `[backchannel_logout]`: the background sender of logout tokens (OpenID Connect Back-Channel Logout 1.0) —
//! whether it runs, how often, how long an attempt may take and how many are made.

use serde::Deserialize;

use super::ConfigError;
use super::load::check_ranges;

/// Back-channel logout delivery (see `oidc::backchannel`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackchannelLogoutConfig {
    /// Whether this server sends logout tokens (off: they wait in the outbox for an instance that does).
    pub enabled: bool,
    /// How often the sender looks for due logout tokens.
    pub interval_secs: u64,
    /// The longest one attempt may take, connection included.
    pub timeout_secs: u64,
    /// Attempts made before a logout token is given up.
    pub max_attempts: u32,
}

impl Default for BackchannelLogoutConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 5,
            timeout_secs: 5,
            max_attempts: 5,
        }
    }
}

impl BackchannelLogoutConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_ranges(&[
            (
                self.interval_secs,
                1..=3600,
                "backchannel_logout.interval_secs",
                "TESSERA_BACKCHANNEL_LOGOUT__INTERVAL_SECS",
            ),
            (
                self.timeout_secs,
                1..=60,
                "backchannel_logout.timeout_secs",
                "TESSERA_BACKCHANNEL_LOGOUT__TIMEOUT_SECS",
            ),
            (
                u64::from(self.max_attempts),
                1..=10,
                "backchannel_logout.max_attempts",
                "TESSERA_BACKCHANNEL_LOGOUT__MAX_ATTEMPTS",
            ),
        ])
    }
}
