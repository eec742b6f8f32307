//! `[metrics]`: whether Prometheus metrics are served, and on which listener.

use std::net::SocketAddr;

use serde::Deserialize;

use super::ConfigError;
use super::load::invalid;

/// Prometheus metrics at `/metrics`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` (off: it answers 404 like any unknown path).
    pub enabled: bool,
    /// A separate address for `/metrics` alone (kept off the public port); unset: the main port serves it.
    pub bind: Option<String>,
}

impl MetricsConfig {
    /// The separate listener's address, once validated.
    pub fn bind_address(&self) -> Option<SocketAddr> {
        self.bind.as_deref().and_then(|bind| bind.parse().ok())
    }

    /// `bind`, when given, must be an address other than the server's own.
    pub(super) fn validate(&mut self, server_bind: &str) -> Result<(), ConfigError> {
        // A blank variable in a compose file means "not set".
        self.bind.take_if(|bind| bind.trim().is_empty());
        let Some(bind) = &self.bind else {
            return Ok(());
        };
        let address: SocketAddr = bind.parse().map_err(|_| {
            invalid(
                "metrics.bind",
                "TESSERA_METRICS__BIND",
                format!("`{bind}` is not an address like 127.0.0.1:9090"),
            )
        })?;
        let same_as_server = server_bind.parse::<SocketAddr>().ok() == Some(address) && address.port() != 0;
        if same_as_server {
            return Err(invalid(
                "metrics.bind",
                "TESSERA_METRICS__BIND",
                format!("`{bind}` is server.bind; leave metrics.bind unset to serve /metrics on the main port"),
            ));
        }
        Ok(())
    }
}
