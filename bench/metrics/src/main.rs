//! Records one request workload through tollgate's hand-written metrics module and through
//! prometheus-client, from 2 threads at once with a scraper rendering now and then, and prints
//! ns per observation and render time. See README.md.

mod hand_written;
mod prom;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Stand-in for tollgate's `crate::jobs` so the copied module compiles unchanged.
mod jobs {
    #[derive(Clone, Copy)]
    pub enum JobState {
        Pending,
        Running,
        Succeeded,
        Failed,
        Canceled,
    }
    impl JobState {
        pub const ALL: [JobState; 5] = [
            JobState::Pending,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Canceled,
        ];
        pub fn as_str(self) -> &'static str {
            match self {
                JobState::Pending => "pending",
                JobState::Running => "running",
                JobState::Succeeded => "succeeded",
                JobState::Failed => "failed",
                JobState::Canceled => "canceled",
            }
        }
    }
}

/// Route templates shaped like tollgate's (axum `MatchedPath` strings).
const ROUTES: [&str; 40] = [
    "/api/now/table/{table}",
    "/api/now/table/{table}/{sys_id}",
    "/api/now/attachment",
    "/api/now/attachment/{sys_id}",
    "/api/now/attachment/{sys_id}/file",
    "/api/now/import/{table}",
    "/api/now/stats/{table}",
    "/api/now/cmdb/instance/{class}",
    "/api/now/cmdb/instance/{class}/{sys_id}",
    "/api/now/cmdb/instance/{class}/{sys_id}/relation",
    "/api/sn_dpr/digital_product_release/release_calendar",
    "/api/sn_dpr/digital_product_release/release_calendar/{sys_id}",
    "/api/sn_dpr/digital_product_release/release",
    "/api/sn_dpr/digital_product_release/release/{sys_id}",
    "/api/sn_dpr/digital_product_release/release/{sys_id}/scope",
    "/api/sn_dpr/digital_product_release/release/{sys_id}/close",
    "/api/sn_dpr/digital_product_release/product/{sys_id}",
    "/api/sn_dpr/digital_product_release/product",
    "/api/sn_dpr/digital_product_release/policy",
    "/api/sn_dpr/digital_product_release/policy/{sys_id}",
    "/api/sn_cdm/applications/deployables",
    "/api/sn_cdm/applications/deployables/{sys_id}",
    "/api/sn_cdm/applications/uploads/components",
    "/api/sn_cdm/applications/uploads/{upload_id}",
    "/api/sn_cdm/snapshots",
    "/api/sn_cdm/snapshots/{sys_id}",
    "/api/sn_cdm/snapshots/{sys_id}/validate",
    "/api/sn_cdm/changesets/{sys_id}",
    "/api/sn_cdm/changesets/{sys_id}/commit",
    "/api/sn_cicd/update_set/create",
    "/api/sn_cicd/update_set/retrieve",
    "/api/sn_cicd/update_set/preview/{sys_id}",
    "/api/sn_cicd/update_set/commit/{sys_id}",
    "/api/sn_cicd/progress/{progress_id}",
    "/api/sn_sd/releases",
    "/api/sn_sd/releases/{sys_id}",
    "/api/sn_sd/releases/{sys_id}/tasks",
    "/api/sn_sd/release_calendars/{sys_id}",
    "/api/now/ui/meta/{table}",
    "unmatched",
];
const METHODS: [&str; 4] = ["GET", "POST", "PATCH", "DELETE"];

/// A fixed xorshift sequence: the same trace on every run and machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Request {
    method: &'static str,
    route: &'static str,
    status: u16,
    elapsed: Duration,
}

/// A realistic mix: a few hot routes, mostly GET, mostly 2xx, latencies 0.2 ms to ~100 ms.
fn trace(seed: u64, len: usize) -> Vec<Request> {
    let mut rng = Rng(seed);
    (0..len)
        .map(|_| {
            let r = rng.next();
            // Skewed: half the traffic on the first 4 routes.
            let route = if r.is_multiple_of(2) {
                (r >> 8) % 4
            } else {
                (r >> 8) % 40
            } as usize;
            // Collections take GET and POST, items GET, PATCH and DELETE (as in tollgate).
            let item = ROUTES[route].ends_with('}');
            let method = match ((r >> 20) % 10, item) {
                (0..=6, _) => 0,
                (_, false) => 1,
                (7..=8, true) => 2,
                _ => 3,
            };
            let status = match (r >> 28) % 50 {
                0..=39 => [200, 201, 200, 204][method],
                40..=43 => 400,
                44..=46 => 404,
                47..=48 => 401,
                _ => 500,
            };
            let micros = 200 + ((r >> 36) % 2000) * ((r >> 48) % 50 + 1);
            Request {
                method: METHODS[method],
                route: ROUTES[route],
                status,
                elapsed: Duration::from_micros(micros),
            }
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    /// The middleware's own work only (two `to_owned`), no metrics: the floor.
    Floor,
    HandWritten,
    /// prometheus-client through today's `observe(&str, &str, ..)`.
    Prom,
    /// prometheus-client with the label set moved in from the middleware's owned strings.
    PromOwned,
}

enum Sink {
    Floor,
    Hand(hand_written::Metrics),
    Prom(prom::Metrics),
}

impl Sink {
    fn new(v: Variant) -> Sink {
        match v {
            Variant::Floor => Sink::Floor,
            Variant::HandWritten => Sink::Hand(Default::default()),
            Variant::Prom | Variant::PromOwned => Sink::Prom(Default::default()),
        }
    }
    fn record(&self, v: Variant, req: &Request) {
        // What tollgate's middleware does per request before it records.
        let method = req.method.to_owned();
        let route = req.route.to_owned();
        match self {
            Sink::Floor => {
                black_box((&method, &route));
            }
            Sink::Hand(m) => m.observe(&method, &route, req.status, req.elapsed),
            Sink::Prom(m) if v == Variant::PromOwned => m.observe_owned(
                &prom::RequestLabels {
                    method,
                    route,
                    status: req.status,
                },
                req.elapsed,
            ),
            Sink::Prom(m) => m.observe(&method, &route, req.status, req.elapsed),
        }
    }
    fn render(&self) -> String {
        let jobs = [("pending".to_owned(), 3), ("failed".to_owned(), 1)];
        match self {
            Sink::Floor => String::new(),
            Sink::Hand(m) => m.render(&jobs),
            Sink::Prom(m) => m.render(&jobs),
        }
    }
}

struct Run {
    ns_per_obs: f64,
    cpu_ns_per_obs: f64,
    renders_during: u64,
    render_us: f64,
    series: usize,
    bytes: usize,
}

fn run(
    v: Variant,
    threads: usize,
    per_thread: usize,
    scrape: Duration,
    traces: &[Vec<Request>],
) -> Run {
    let sink = Sink::new(v);
    let start = Barrier::new(threads + 1);
    let done = AtomicBool::new(false);
    let renders = AtomicU64::new(0);
    let (elapsed, cpu) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (sink, start, trace) = (&sink, &start, &traces[t]);
                s.spawn(move || {
                    start.wait();
                    let cpu0 = thread_cpu_ns();
                    for i in 0..per_thread {
                        sink.record(v, &trace[i % trace.len()]);
                    }
                    thread_cpu_ns() - cpu0
                })
            })
            .collect();
        // The scraper: a render every `scrape` while the load runs (a real one scrapes every
        // 15 s; this is far more often, to make its lock holding count).
        let scraper = s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(scrape);
                black_box(sink.render());
                renders.fetch_add(1, Ordering::Relaxed);
            }
        });
        let t0 = Instant::now();
        start.wait();
        let cpu: f64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let elapsed = t0.elapsed();
        done.store(true, Ordering::Relaxed);
        scraper.join().unwrap();
        (elapsed, cpu)
    });
    // Render time on the populated registry, on its own: median of 21.
    let mut times: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            black_box(sink.render());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let text = sink.render();
    Run {
        ns_per_obs: elapsed.as_secs_f64() * 1e9 / per_thread as f64,
        cpu_ns_per_obs: cpu / (per_thread * threads) as f64,
        renders_during: renders.load(Ordering::Relaxed),
        render_us: times[times.len() / 2],
        series: text
            .lines()
            .filter(|l| l.starts_with("tollgate_http_requests_total{"))
            .count(),
        bytes: text.len(),
    }
}

/// CPU time of the calling thread: unlike wall time, it leaves out the time this thread was
/// descheduled for other processes on the shared machine.
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    let per_thread: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let threads: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(2);
    let scrape = Duration::from_millis(args.get(4).and_then(|a| a.parse().ok()).unwrap_or(200));
    let traces: Vec<Vec<Request>> = (0..threads)
        .map(|t| trace(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1), 1 << 16))
        .collect();
    let variants = [
        Variant::Floor,
        Variant::HandWritten,
        Variant::Prom,
        Variant::PromOwned,
    ];
    println!(
        "{threads} threads x {per_thread} observations, a render every {scrape:?}, {runs} rounds, variants interleaved"
    );
    let mut results: Vec<Vec<Run>> = variants.iter().map(|_| Vec::new()).collect();
    for round in 0..runs {
        // Rotate the order each round so no variant always runs first or last.
        for k in 0..variants.len() {
            let i = (k + round) % variants.len();
            results[i].push(run(variants[i], threads, per_thread, scrape, &traces));
        }
    }
    println!(
        "{:<12} {:>9} {:>19} {:>11} {:>19} {:>11} {:>7} {:>8} {:>8}",
        "variant",
        "wall ns",
        "min..max",
        "cpu ns",
        "min..max",
        "render us",
        "series",
        "bytes",
        "renders"
    );
    for (v, rs) in variants.iter().zip(&results) {
        let mut ns: Vec<f64> = rs.iter().map(|r| r.ns_per_obs).collect();
        let mut cpu: Vec<f64> = rs.iter().map(|r| r.cpu_ns_per_obs).collect();
        let (clo, chi) = (
            cpu.iter().copied().fold(f64::MAX, f64::min),
            cpu.iter().copied().fold(0.0, f64::max),
        );
        let mut us: Vec<f64> = rs.iter().map(|r| r.render_us).collect();
        let (lo, hi) = (
            ns.iter().copied().fold(f64::MAX, f64::min),
            ns.iter().copied().fold(0.0, f64::max),
        );
        let renders: u64 = rs.iter().map(|r| r.renders_during).sum();
        println!(
            "{:<12} {:>9.1} {:>9.1}..{:<9.1} {:>11.1} {:>9.1}..{:<9.1} {:>9.1} {:>7} {:>8} {:>8}",
            format!("{v:?}"),
            median(&mut ns),
            lo,
            hi,
            median(&mut cpu),
            clo,
            chi,
            median(&mut us),
            rs[0].series,
            rs[0].bytes,
            renders
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both variants expose the same samples (names, labels, values) for the same trace, so the
    /// benchmark compares like with like. The text differs only in form: prometheus-client writes
    /// `# TYPE tollgate_http_requests counter` (the family name without `_total`), a bucket bound
    /// of 1 as `le="1.0"`, `le` as the first label, sums in 17 digits, and its series in hash
    /// order; no `# EOF` (`encode_registry`), and HELP gains a "." (so it is left off here).
    #[test]
    fn both_variants_expose_the_same_samples() {
        let hand = Sink::new(Variant::HandWritten);
        let prom = Sink::new(Variant::Prom);
        for req in &trace(7, 5_000) {
            hand.record(Variant::HandWritten, req);
            prom.record(Variant::Prom, req);
        }
        // Labels sorted by name, `le="1.0"` read as `le="1"` (the trace's routes hold no `",`),
        // values compared as numbers.
        fn normalise(line: &str) -> String {
            let (name, rest) = line.split_once('{').unwrap();
            let (labels, value) = rest.rsplit_once("} ").unwrap();
            let mut labels: Vec<String> = labels
                .trim_end_matches('"')
                .split("\",")
                .map(|l| format!("{l}\"").replace(".0\"", "\""))
                .collect();
            labels.sort();
            // Values as numbers: the two print the same f64 in different digits.
            let value: f64 = value.parse().unwrap();
            format!("{name}{{{}}} {value}", labels.join(","))
        }
        let samples = |text: String| {
            let mut lines: Vec<String> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(normalise)
                .collect();
            lines.sort();
            lines
        };
        let (a, b) = (samples(hand.render()), samples(prom.render()));
        assert!(a.len() > 1000, "{}", a.len());
        let only_a: Vec<_> = a.iter().filter(|l| !b.contains(l)).take(5).collect();
        let only_b: Vec<_> = b.iter().filter(|l| !a.contains(l)).take(5).collect();
        assert!(
            only_a.is_empty() && only_b.is_empty() && a.len() == b.len(),
            "hand-written only: {only_a:#?}\nprometheus-client only: {only_b:#?}"
        );
    }
}
