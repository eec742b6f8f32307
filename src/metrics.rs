//! Prometheus metrics: one registry, owned by the running server (held in `AppState`, no global), with a typed
//! recording function per event and the gauges that are read at scrape time. Every label takes its value from a
//! small fixed set — a route's pattern, never its path; a known method, never the one sent — so no client can
//! grow the number of series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The media type of [`Metrics::render`]'s text (OpenMetrics 1.0, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How a sign-in ended, as the audit log records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInResult {
    /// The account is proven and may enter.
    Succeeded,
    /// A credential was wrong, or refused before it was compared (unknown, disabled, locked, too many failures).
    Failed,
    /// The credentials were right but the application does not admit the account.
    Refused,
}

impl SignInResult {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Refused => "refused",
        }
    }
}

/// How an access token was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// OAuth `authorization_code` (RFC 6749 §4.1).
    AuthorizationCode,
    /// OAuth `refresh_token` (RFC 6749 §6), or the REST API's refresh.
    RefreshToken,
    /// OAuth `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// OAuth token exchange (RFC 8693).
    TokenExchange,
    /// The device authorization grant (RFC 8628).
    DeviceCode,
    /// The REST API's sign-in (password, code, upstream provider, guest).
    SignIn,
    /// The REST API's exchange of a private token for a short-lived access token.
    PrivateToken,
}

impl Grant {
    fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::TokenExchange => "token_exchange",
            Self::DeviceCode => "device_code",
            Self::SignIn => "sign_in",
            Self::PrivateToken => "private_token",
        }
    }
}

/// What is read at scrape time rather than counted as it happens.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    /// Pooled database connections waiting to be used.
    pub db_idle: u64,
    /// Pooled database connections lent out.
    pub db_in_use: u64,
    /// Password hashes waiting for a turn.
    pub hash_queue: u64,
    /// Password hashes being computed.
    pub hash_in_progress: u64,
    /// Seconds since the key that signs now started signing, if one does.
    pub signing_key_age_secs: Option<i64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    method: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type DurationFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The registry and every metric in it.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
    sign_ins: Family<SignInLabels, Counter>,
    tokens: Family<GrantLabels, Counter>,
    rejections: Family<LimitLabels, Counter>,
    hash_queue: Gauge,
    hash_in_progress: Gauge,
    db_connections: Family<PoolLabels, Gauge>,
    signing_key_age: Gauge,
}

/// Latency buckets from 1 ms to about 16 s: a JWKS answer at the bottom, a slow argon2 queue at the top.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered (counters get `_total` from the encoder).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("tessera_http_requests", "HTTP requests answered", requests.clone());
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register(
            "tessera_http_request_duration_seconds",
            "Time to answer an HTTP request",
            durations.clone(),
        );
        let sign_ins = Family::<SignInLabels, Counter>::default();
        registry.register("tessera_sign_ins", "Sign-in outcomes by method", sign_ins.clone());
        let tokens = Family::<GrantLabels, Counter>::default();
        registry.register("tessera_tokens_issued", "Access tokens issued by grant", tokens.clone());
        let rejections = Family::<LimitLabels, Counter>::default();
        registry.register(
            "tessera_rate_limit_rejections",
            "Requests refused by a rate limit",
            rejections.clone(),
        );
        let hash_queue = Gauge::default();
        registry.register(
            "tessera_password_hash_queue_depth",
            "Password hashes waiting for a turn",
            hash_queue.clone(),
        );
        let hash_in_progress = Gauge::default();
        registry.register(
            "tessera_password_hash_in_progress",
            "Password hashes being computed",
            hash_in_progress.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "tessera_db_pool_connections",
            "Pooled database connections by state",
            db_connections.clone(),
        );
        let signing_key_age = Gauge::default();
        registry.register(
            "tessera_signing_key_age_seconds",
            "Seconds since the active signing key started signing",
            signing_key_age.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            sign_ins,
            tokens,
            rejections,
            hash_queue,
            hash_in_progress,
            db_connections,
            signing_key_age,
        }
    }

    /// An answered request: `route` is the matched route's pattern (or [`UNMATCHED_ROUTE`]).
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let method = known_method(method);
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method,
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method,
            })
            .observe(seconds);
    }

    /// A sign-in step's outcome; `method` is one of a few fixed names (`password`, `code`, `second_factor`…).
    pub fn sign_in(&self, method: &'static str, result: SignInResult) {
        self.sign_ins
            .get_or_create(&SignInLabels {
                method,
                result: result.as_str(),
            })
            .inc();
    }

    /// An access token signed.
    pub fn token_issued(&self, grant: Grant) {
        self.tokens.get_or_create(&GrantLabels { grant: grant.as_str() }).inc();
    }

    /// A request refused by the limit named `limit` (one of a few fixed names).
    pub fn rate_limited(&self, limit: &'static str) {
        self.rejections.get_or_create(&LimitLabels { limit }).inc();
    }

    /// The registry as OpenMetrics text, with the gauges set from `reading` first.
    pub fn render(&self, reading: &Reading) -> String {
        self.hash_queue.set(saturating_i64(reading.hash_queue));
        self.hash_in_progress.set(saturating_i64(reading.hash_in_progress));
        for (state, value) in [("idle", reading.db_idle), ("in_use", reading.db_in_use)] {
            self.db_connections
                .get_or_create(&PoolLabels { state })
                .set(saturating_i64(value));
        }
        self.signing_key_age.set(reading.signing_key_age_secs.unwrap_or(0));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The request method as a label: the standard ones, anything else `other`.
fn known_method(method: &str) -> &'static str {
    const KNOWN: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN.iter().find(|known| **known == method).copied().unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric_with_its_labels() {
        let metrics = Metrics::new();
        metrics.http_request("/api/v1/users/{id}", "GET", 200, 0.002);
        metrics.http_request("/api/v1/users/{id}", "BREW", 404, 0.002);
        metrics.sign_in("password", SignInResult::Failed);
        metrics.token_issued(Grant::ClientCredentials);
        metrics.rate_limited("application");
        let text = metrics.render(&Reading {
            db_idle: 3,
            db_in_use: 1,
            hash_queue: 2,
            hash_in_progress: 1,
            signing_key_age_secs: Some(60),
        });
        for line in [
            r#"tessera_http_requests_total{route="/api/v1/users/{id}",method="GET",status="200"} 1"#,
            r#"tessera_http_requests_total{route="/api/v1/users/{id}",method="other",status="404"} 1"#,
            r#"tessera_http_request_duration_seconds_count{route="/api/v1/users/{id}",method="GET"} 1"#,
            r#"tessera_sign_ins_total{method="password",result="failed"} 1"#,
            r#"tessera_tokens_issued_total{grant="client_credentials"} 1"#,
            r#"tessera_rate_limit_rejections_total{limit="application"} 1"#,
            "tessera_password_hash_queue_depth 2",
            "tessera_password_hash_in_progress 1",
            r#"tessera_db_pool_connections{state="idle"} 3"#,
            r#"tessera_db_pool_connections{state="in_use"} 1"#,
            "tessera_signing_key_age_seconds 60",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
