//! Logging: `tracing` to standard error (standard output is for what commands print), as text or JSON
//! lines, filtered by `log.level` or `RUST_LOG`. What a client's garbage makes the HTTP layer report as an
//! error (a request that is not HTTP, a connection dropped mid-request) is the client's doing, not a fault
//! of Tessera: it is logged at debug level, so no one can fill the log at error level from outside.

use std::fmt::Write as _;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter};

use crate::config::{LogConfig, LogFormat};

/// Where actix-http reports what it could not make sense of on a connection.
const CONNECTION_ERRORS: &str = "actix_http::h1::dispatcher";

/// Installs the global subscriber once, at start.
pub fn init(config: &LogConfig) {
    let level = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let output = tracing_subscriber::fmt::layer()
        .with_target(false)
        // Colour only for a person at a terminal; files and log collectors get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let output = match config.format {
        LogFormat::Json => output.json().boxed(),
        LogFormat::Text => output.boxed(),
    };
    let not_client_garbage = filter::filter_fn(|meta| !is_client_garbage(meta));
    let _ = tracing_subscriber::registry()
        .with(output.with_filter(filter::FilterExt::and(level, not_client_garbage)))
        .with(ClientGarbage.with_filter(filter::filter_fn(is_client_garbage)))
        .try_init();
}

fn is_client_garbage(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::ERROR && meta.target() == CONNECTION_ERRORS
}

/// Reports actix-http's connection errors again at debug level, under Tessera's own name.
struct ClientGarbage;

impl<S: Subscriber> Layer<S> for ClientGarbage {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = MessageText(String::new());
        event.record(&mut message);
        tracing::debug!(target: "tessera::http", reason = %message.0, "a client connection was dropped");
    }
}

/// The text of an event's `message` field.
struct MessageText(String);

impl Visit for MessageText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}
