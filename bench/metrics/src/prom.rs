// The candidate: the same metrics through prometheus-client, as src/metrics.rs would record them
// with its signature unchanged (`observe(&self, method: &str, route: &str, ..)`): the label set
// must own its strings, so each observation builds one (two allocations) to look the series up.
// There is no histogram-derived counter in the crate, so a request is two lookups: one in the
// counter family, one in the histogram family.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    state: &'static str,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    jobs: Family<JobLabels, Gauge>,
    /// Setting the job gauges and encoding is one step, so two scrapes do not mix their counts.
    render: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: HistogramFamily = Family::new_with_constructor(|| Histogram::new(BUCKETS));
        let jobs = Family::<JobLabels, Gauge>::default();
        let mut registry = Registry::default();
        registry.register(
            "tollgate_http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "tollgate_http_request_duration_seconds",
            "HTTP request latency by route and status",
            durations.clone(),
        );
        registry.register("tollgate_jobs", "Background jobs by state", jobs.clone());
        Metrics {
            registry,
            requests,
            durations,
            jobs,
            render: Mutex::new(()),
        }
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.observe_owned(&labels, elapsed);
    }

    /// The best case: the caller already owns the label set (not possible through today's
    /// `observe(&str, &str, ..)` without changing the middleware; measured to bound the cost).
    pub fn observe_owned(&self, labels: &RequestLabels, elapsed: Duration) {
        self.requests.get_or_create(labels).inc();
        self.durations
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn render(&self, jobs: &[(String, i64)]) -> String {
        let _one_at_a_time = self.render.lock().unwrap_or_else(|e| e.into_inner());
        for state in crate::jobs::JobState::ALL {
            let n = jobs
                .iter()
                .find(|(s, _)| s == state.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            self.jobs
                .get_or_create(&JobLabels {
                    state: state.as_str(),
                })
                .set(n);
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        out
    }
}
