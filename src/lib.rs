//! Tessera: an OpenID Connect identity provider. `main.rs` is a thin CLI over this library; tests start the
//! same server through [`startup::Application`].

pub mod apps;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod federation;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod qr;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod webhooks;
