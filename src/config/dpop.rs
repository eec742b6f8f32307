//! `[dpop]`: sender-constrained tokens (RFC 9449) — whether every DPoP proof must carry a nonce the server
//! gave out.

use serde::Deserialize;

/// DPoP (see `tokens::dpop`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpopConfig {
    /// RFC 9449 §8–9: refuse a proof without a current server nonce (`use_dpop_nonce`, with a `DPoP-Nonce`
    /// header to retry with). Off by default: a proof's `iat` window and the replay record then bound it.
    pub require_nonce: bool,
}
