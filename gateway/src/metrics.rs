//! `GET /metrics` in Prometheus text format (prometheus-client): registrations, active
//! dialogs, proxy contexts, requests by method, responses by class, store lookups and their
//! latency, the core's input queue depth and connections by transport. The driver publishes
//! the core's counts once a second; lookups are timed where they run.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::core::{METHODS, Query, Stats};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabel {
    kind: &'static str,
}

/// Every metric, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    requests: Family<MethodLabel, Counter>,
    responses: Family<ClassLabel, Counter>,
    registrations: Gauge,
    dialogs: Gauge,
    subscriptions: Gauge,
    notifies: Counter,
    proxy_contexts: Gauge,
    parked: Gauge,
    queue_depth: Gauge,
    connections: Family<TransportLabel, Gauge>,
    lookups: Family<LookupLabel, Counter>,
    lookup_failures: Counter,
    lookup_seconds: Family<LookupLabel, Histogram>,
    /// What was published last (the core's counters are totals; Prometheus counters add).
    last: Mutex<Stats>,
}

const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"];

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("centrala");
        let requests = Family::<MethodLabel, Counter>::default();
        registry.register(
            "sip_requests",
            "SIP requests received, by method",
            requests.clone(),
        );
        let responses = Family::<ClassLabel, Counter>::default();
        registry.register(
            "sip_responses",
            "SIP responses sent, by class",
            responses.clone(),
        );
        let registrations = Gauge::default();
        registry.register("registrations", "Registered devices", registrations.clone());
        let subscriptions = Gauge::default();
        registry.register(
            "presence_subscriptions",
            "Presence and busy-lamp subscriptions served",
            subscriptions.clone(),
        );
        let notifies = Counter::default();
        registry.register(
            "presence_notifies",
            "NOTIFYs sent to watchers",
            notifies.clone(),
        );
        let dialogs = Gauge::default();
        registry.register(
            "dialogs",
            "Dialogs (calls and subscriptions) routed through the proxy",
            dialogs.clone(),
        );
        let proxy_contexts = Gauge::default();
        registry.register(
            "proxy_contexts",
            "Requests being proxied (and answered INVITEs lingering)",
            proxy_contexts.clone(),
        );
        let parked = Gauge::default();
        registry.register(
            "parked_requests",
            "Requests waiting for a store lookup",
            parked.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "core_queue_depth",
            "Inputs waiting for the core",
            queue_depth.clone(),
        );
        let connections = Family::<TransportLabel, Gauge>::default();
        registry.register(
            "connections",
            "Open flows, by transport",
            connections.clone(),
        );
        let lookups = Family::<LookupLabel, Counter>::default();
        registry.register("store_lookups", "Store lookups, by kind", lookups.clone());
        let lookup_failures = Counter::default();
        registry.register(
            "store_lookup_failures",
            "Store lookups that failed",
            lookup_failures.clone(),
        );
        let lookup_seconds = Family::<LookupLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 4.0, 9))
        });
        registry.register(
            "store_lookup_seconds",
            "Store lookup latency, by kind",
            lookup_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            responses,
            registrations,
            dialogs,
            subscriptions,
            notifies,
            proxy_contexts,
            parked,
            queue_depth,
            connections,
            lookups,
            lookup_failures,
            lookup_seconds,
            last: Mutex::new(Stats::default()),
        }
    }

    /// Publishes the core's counts (and the depth of its input queue).
    pub fn publish(&self, s: &Stats, queue_depth: usize) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        for (i, n) in s.requests.iter().enumerate() {
            let method = METHODS.get(i).copied().unwrap_or("other");
            let delta = n.saturating_sub(last.requests[i]);
            if delta > 0 {
                self.requests
                    .get_or_create(&MethodLabel { method })
                    .inc_by(delta);
            }
        }
        for (i, n) in s.responses.iter().enumerate() {
            let delta = n.saturating_sub(last.responses[i]);
            if delta > 0 {
                self.responses
                    .get_or_create(&ClassLabel { class: CLASSES[i] })
                    .inc_by(delta);
            }
        }
        self.notifies
            .inc_by(s.notifies.saturating_sub(last.notifies));
        *last = s.clone();
        self.subscriptions.set(s.subscriptions as i64);
        self.registrations.set(s.registrations as i64);
        self.dialogs.set(s.dialogs as i64);
        self.proxy_contexts.set(s.proxy_contexts as i64);
        self.parked.set(s.parked as i64);
        self.queue_depth.set(queue_depth as i64);
        for (i, transport) in ["ws", "udp", "tcp", "tls"].into_iter().enumerate() {
            self.connections
                .get_or_create(&TransportLabel { transport })
                .set(s.flows[i] as i64);
        }
    }

    /// One store lookup finished.
    pub fn lookup_done(&self, query: &Query, took: Duration, failed: bool) {
        let kind = match query {
            Query::User { .. } => "user",
            Query::Domain { .. } => "domain",
            Query::Number { .. } => "number",
            Query::Roster { .. } => "roster",
            Query::Mailbox { .. } => "mailbox",
        };
        self.lookups.get_or_create(&LookupLabel { kind }).inc();
        self.lookup_seconds
            .get_or_create(&LookupLabel { kind })
            .observe(took.as_secs_f64());
        if failed {
            self.lookup_failures.inc();
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
