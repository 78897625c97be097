//! Prometheus metrics: one registry per running service, rendered at `GET /metrics`.
//!
//! Labels are route templates, methods and status classes only; never anything a texter
//! or a caseworker typed.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an HTTP request: the route template (`/api/v1/tickets/{id}`), never the path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

/// Labels of a request duration: the route template and method.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteTimingLabels {
    pub method: String,
    pub route: String,
}

/// Labels of a provider webhook: the provider and what became of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub provider: String,
    pub outcome: String,
}

/// The service's metrics. Cheap to clone; all clones feed the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    http_requests: Family<RouteLabels, Counter>,
    http_duration: Family<RouteTimingLabels, Histogram>,
    db_pool_connections: Gauge,
    db_pool_idle: Gauge,
    webhooks: Family<WebhookLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("textline");
        let http_requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status class",
            http_requests.clone(),
        );
        let http_duration = Family::<RouteTimingLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            http_duration.clone(),
        );
        let db_pool_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections in the pool",
            db_pool_connections.clone(),
        );
        let db_pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle",
            "Idle database connections",
            db_pool_idle.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Provider webhooks by provider and outcome (stored, duplicate, refused reasons)",
            webhooks.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                http_requests,
                http_duration,
                db_pool_connections,
                db_pool_idle,
                webhooks,
            }),
        }
    }

    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = format!("{}xx", status / 100);
        let timing = RouteTimingLabels {
            method: method.to_owned(),
            route: route.to_owned(),
        };
        self.inner
            .http_duration
            .get_or_create(&timing)
            .observe(seconds);
        let labels = RouteLabels {
            method: timing.method,
            route: timing.route,
            status,
        };
        self.inner.http_requests.get_or_create(&labels).inc();
    }

    pub fn record_webhook(&self, provider: &str, outcome: &str) {
        let labels = WebhookLabels {
            provider: provider.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.inner.webhooks.get_or_create(&labels).inc();
    }

    pub fn set_pool(&self, connections: u32, idle: usize) {
        self.inner.db_pool_connections.set(i64::from(connections));
        self.inner
            .db_pool_idle
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.inner.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
