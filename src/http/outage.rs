//! Telling clients and operators that the database cannot be reached: how long to wait (`Retry-After`), and
//! a log that reports an outage once per burst rather than once per failed request.

/// Seconds a client is asked to wait (`Retry-After`) when the database cannot be reached.
pub const STORAGE_RETRY_AFTER: u64 = 5;

/// How often, at most, a continuing storage outage is logged.
const OUTAGE_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Logs that the database cannot be reached: the first failure of a burst with its cause, then at most one
/// line per [`OUTAGE_LOG_EVERY`] saying how many requests failed meanwhile — not a line per request, which
/// under load would flood the log while telling nothing new.
pub fn log_storage_outage(cause: &str) {
    struct Burst {
        logged_at: std::time::Instant,
        unlogged: u64,
    }
    static BURST: std::sync::Mutex<Option<Burst>> = std::sync::Mutex::new(None);
    let now = std::time::Instant::now();
    let Ok(mut burst) = BURST.lock() else {
        return;
    };
    match burst.as_mut() {
        Some(b) if now.duration_since(b.logged_at) < OUTAGE_LOG_EVERY => b.unlogged += 1,
        Some(b) => {
            tracing::error!(error = %cause, failed_since_last_report = b.unlogged, "database unavailable");
            *b = Burst {
                logged_at: now,
                unlogged: 0,
            };
        }
        None => {
            tracing::error!(error = %cause, "database unavailable; answering 503 until it is back");
            *burst = Some(Burst {
                logged_at: now,
                unlogged: 0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;

    use super::log_storage_outage;

    /// Counts the events it sees.
    struct Count(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> Layer<S> for Count {
        fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn an_outage_is_logged_once_per_burst_not_once_per_request() {
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Count(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..1000 {
                log_storage_outage("connection refused");
            }
        });
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }
}
