//! Prometheus metrics: request counts and latencies by route and status,
//! and job counts by state (read from the database at scrape time).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone, Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; 13],
}

/// Request metrics by route template, then (method, status). Keyed by route
/// first so that recording a request looks up a `&str` and allocates nothing
/// once its series exists.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<String, Vec<MethodStatusSeries>>>,
}

/// (method, status, series) within one route.
type MethodStatusSeries = (String, u16, Series);

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(route) {
            map.insert(route.to_owned(), Vec::new());
        }
        let Some(by_route) = map.get_mut(route) else {
            return;
        };
        let index = match by_route
            .iter()
            .position(|(m, s, _)| m == method && *s == status)
        {
            Some(i) => i,
            None => {
                by_route.push((method.to_owned(), status, Series::default()));
                by_route.len() - 1
            }
        };
        let series = &mut by_route[index].2;
        series.count += 1;
        series.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                series.buckets[i] += 1;
            }
        }
    }

    /// The text exposition format; `jobs` are (state, count) pairs.
    pub fn render(&self, jobs: &[(String, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP tollgate_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE tollgate_http_requests_total counter\n");
        // Copy the series out and format after releasing the lock: requests
        // record into the same map, and formatting hundreds of series takes
        // milliseconds they would otherwise wait.
        let mut all: Vec<(String, String, u16, Series)> = {
            let map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            map.iter()
                .flat_map(|(route, v)| {
                    v.iter()
                        .map(move |(m, st, s)| (m.clone(), route.clone(), *st, s.clone()))
                })
                .collect()
        };
        all.sort_by(|a, b| (&a.1, &a.0, a.2).cmp(&(&b.1, &b.0, b.2)));
        for (method, route, status, s) in &all {
            let _ = writeln!(
                out,
                "tollgate_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        out.push_str("# HELP tollgate_http_request_duration_seconds HTTP request latency by route and status.\n");
        out.push_str("# TYPE tollgate_http_request_duration_seconds histogram\n");
        for (method, route, status, s) in &all {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "tollgate_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "tollgate_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "tollgate_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "tollgate_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out.push_str("# HELP tollgate_jobs Background jobs by state.\n");
        out.push_str("# TYPE tollgate_jobs gauge\n");
        for state in crate::jobs::JobState::ALL {
            let n = jobs
                .iter()
                .find(|(s, _)| s == state.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let _ = writeln!(out, "tollgate_jobs{{state=\"{}\"}} {n}", state.as_str());
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_by_route_and_status() {
        let m = Metrics::default();
        m.observe(
            "GET",
            "/api/now/table/{table}",
            200,
            Duration::from_millis(2),
        );
        m.observe(
            "GET",
            "/api/now/table/{table}",
            200,
            Duration::from_millis(20),
        );
        let text = m.render(&[("pending".into(), 3)]);
        assert!(text.contains("tollgate_http_requests_total{method=\"GET\",route=\"/api/now/table/{table}\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("tollgate_jobs{state=\"pending\"} 3"));
        assert!(text.contains("tollgate_jobs{state=\"failed\"} 0"));
    }
}
