//! The load generator: N workers sharing one keep-alive HTTP client, each sending one request
//! after another for a fixed time, latencies in an HDR histogram. Two paths (a baseline and
//! deskgate) are compared by interleaving short rounds of each, in ABBA order, so that noise
//! from other work on the machine lands on both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use reqwest::header::HeaderMap;

use crate::system;

/// One request, sent over and over.
#[derive(Debug, Clone)]
pub struct Target {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// A reply whose body contains this is counted as an error (e.g. `"isError":true`).
    pub error_marker: Option<&'static str>,
}

impl Target {
    pub fn get(url: String, headers: HeaderMap) -> Self {
        Target {
            method: reqwest::Method::GET,
            url,
            headers,
            body: None,
            error_marker: None,
        }
    }

    /// Sends the request once; returns whether it succeeded and the reply's body.
    pub async fn send(&self, client: &reqwest::Client) -> (bool, Bytes) {
        let mut request = client
            .request(self.method.clone(), &self.url)
            .headers(self.headers.clone());
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        let Ok(response) = request.send().await else {
            return (false, Bytes::new());
        };
        let status = response.status();
        let Ok(body) = response.bytes().await else {
            return (false, Bytes::new());
        };
        let marked = self
            .error_marker
            .is_some_and(|m| contains(&body, m.as_bytes()));
        (status.is_success() && !marked, body)
    }
}

/// A substring search fast enough to be left out of the figures: the naive scan over every
/// window took about 150 µs for a 76 KB `tools/list` answer, counted in each list's latency
/// (and the load generator's CPU), while the static baseline's answer was never scanned.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

/// What one path did over one or more rounds.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Latency of successful requests, in microseconds.
    pub latency: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    /// Wall time the workers ran.
    pub elapsed: Duration,
    /// CPU time deskgate's process used meanwhile (zero for a path that does not touch it).
    pub deskgate_cpu: Duration,
    /// CPU time this process (load generator and upstreams) used meanwhile.
    pub bench_cpu: Duration,
    /// CPU time PostgreSQL's processes used meanwhile (see `system::database_cpu_time`).
    pub database_cpu: Duration,
}

impl Sample {
    fn empty() -> Self {
        Sample {
            latency: new_histogram(),
            ok: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            deskgate_cpu: Duration::ZERO,
            bench_cpu: Duration::ZERO,
            database_cpu: Duration::ZERO,
        }
    }

    fn merge(&mut self, other: &Sample) {
        self.latency
            .add(&other.latency)
            .expect("histograms share their bounds");
        self.ok += other.ok;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.deskgate_cpu += other.deskgate_cpu;
        self.bench_cpu += other.bench_cpu;
        self.database_cpu += other.database_cpu;
    }

    /// PostgreSQL's CPU microseconds per successful request.
    pub fn database_cpu_per_request_us(&self) -> f64 {
        if self.ok == 0 {
            0.0
        } else {
            self.database_cpu.as_secs_f64() * 1e6 / self.ok as f64
        }
    }

    pub fn throughput(&self) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            self.ok as f64 / self.elapsed.as_secs_f64()
        }
    }

    pub fn p50_us(&self) -> u64 {
        self.latency.value_at_quantile(0.50)
    }

    pub fn p99_us(&self) -> u64 {
        self.latency.value_at_quantile(0.99)
    }

    /// CPU microseconds per successful request, of deskgate's process and of this one.
    pub fn cpu_per_request_us(&self) -> (f64, f64) {
        let per = |d: Duration| {
            if self.ok == 0 {
                0.0
            } else {
                d.as_secs_f64() * 1e6 / self.ok as f64
            }
        };
        (per(self.deskgate_cpu), per(self.bench_cpu))
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at three significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// How long and how hard to push.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub concurrency: usize,
    pub round: Duration,
    /// Rounds per path (each path gets this many rounds, interleaved).
    pub rounds: usize,
    pub warmup: Duration,
}

/// Runs `concurrency` workers for `duration`; worker `i` sends `targets[i % targets.len()]`.
pub async fn run(
    client: &reqwest::Client,
    targets: &[Arc<Target>],
    concurrency: usize,
    duration: Duration,
    deskgate_pid: Option<u32>,
) -> Sample {
    run_paced(client, targets, concurrency, duration, None, deskgate_pid).await
}

/// Like [`run`], but with a `pace` each worker sends one request per period (starts spread
/// over the first period) instead of back-to-back: clients that think between calls.
pub async fn run_paced(
    client: &reqwest::Client,
    targets: &[Arc<Target>],
    concurrency: usize,
    duration: Duration,
    pace: Option<Duration>,
    deskgate_pid: Option<u32>,
) -> Sample {
    let me = std::process::id();
    let cpu_before = (deskgate_pid.map(system::cpu_time), system::cpu_time(me));
    let database_before = system::database_cpu_time();
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|i| {
            let client = client.clone();
            let target = targets[i % targets.len()].clone();
            tokio::spawn(async move {
                let mut sample = Sample::empty();
                let mut next = pace.map(|p| started + p.mul_f64(i as f64 / concurrency as f64));
                while Instant::now() < deadline {
                    if let (Some(at), Some(period)) = (next.as_mut(), pace) {
                        tokio::time::sleep_until((*at).into()).await;
                        *at += period;
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    let sent = Instant::now();
                    let (ok, _) = target.send(&client).await;
                    if ok {
                        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                        sample.latency.saturating_record(micros.max(1));
                        sample.ok += 1;
                    } else {
                        sample.errors += 1;
                    }
                }
                sample
            })
        })
        .collect();
    let mut total = Sample::empty();
    for worker in workers {
        total.merge(&worker.await.expect("a load worker panicked"));
    }
    total.elapsed = started.elapsed();
    if let (Some(pid), Some(before)) = (deskgate_pid, cpu_before.0) {
        total.deskgate_cpu = system::cpu_time(pid).saturating_sub(before);
    }
    total.bench_cpu = system::cpu_time(me).saturating_sub(cpu_before.1);
    total.database_cpu = system::database_cpu_time().saturating_sub(database_before);
    total
}

/// A baseline and deskgate under the same load, rounds interleaved ABBA.
pub struct Comparison {
    pub baseline: Sample,
    pub deskgate: Sample,
}

impl Comparison {
    /// deskgate's throughput as a fraction of the baseline's.
    pub fn throughput_ratio(&self) -> f64 {
        let base = self.baseline.throughput();
        if base == 0.0 {
            0.0
        } else {
            self.deskgate.throughput() / base
        }
    }

    /// The second path's CPU per request over the first's, each read from its own process (see
    /// [`compare_processes`]).
    pub fn cpu_ratio(&self) -> f64 {
        let base = self.baseline.cpu_per_request_us().0;
        if base == 0.0 {
            0.0
        } else {
            self.deskgate.cpu_per_request_us().0 / base
        }
    }

    pub fn added_p50_us(&self) -> i64 {
        self.deskgate.p50_us() as i64 - self.baseline.p50_us() as i64
    }

    pub fn added_p99_us(&self) -> i64 {
        self.deskgate.p99_us() as i64 - self.baseline.p99_us() as i64
    }
}

pub async fn compare(
    client: &reqwest::Client,
    baseline: &Arc<Target>,
    deskgate: &Arc<Target>,
    shape: Shape,
    deskgate_pid: u32,
) -> Comparison {
    compare_processes(
        client,
        (baseline, deskgate_pid),
        (deskgate, deskgate_pid),
        shape,
    )
    .await
}

/// Like [`compare`], with each path's CPU time read from its own process: two gateways side
/// by side (the bare rmcp proxy and a contender). Each sample's `deskgate_cpu` is then the CPU
/// of the process that path went to.
pub async fn compare_processes(
    client: &reqwest::Client,
    (baseline, baseline_pid): (&Arc<Target>, u32),
    (deskgate, deskgate_pid): (&Arc<Target>, u32),
    shape: Shape,
) -> Comparison {
    // Warm-up opens the connections and fills caches; it is not counted.
    let baseline = std::slice::from_ref(baseline);
    let deskgate = std::slice::from_ref(deskgate);
    run(client, baseline, shape.concurrency, shape.warmup, None).await;
    run(client, deskgate, shape.concurrency, shape.warmup, None).await;
    let mut base = Sample::empty();
    let mut gate = Sample::empty();
    for round in 0..shape.rounds * 2 {
        // A B B A A B …: each path goes first as often as second.
        let deskgate_turn = matches!(round % 4, 1 | 2);
        if deskgate_turn {
            let s = run(
                client,
                deskgate,
                shape.concurrency,
                shape.round,
                Some(deskgate_pid),
            )
            .await;
            gate.merge(&s);
        } else {
            let s = run(
                client,
                baseline,
                shape.concurrency,
                shape.round,
                Some(baseline_pid),
            )
            .await;
            base.merge(&s);
        }
    }
    Comparison {
        baseline: base,
        deskgate: gate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_anywhere() {
        assert!(contains(br#"{"isError":true}"#, br#""isError":true"#));
        assert!(!contains(br#"{"isError":false}"#, br#""isError":true"#));
        assert!(!contains(b"", b"x"));
    }

    #[test]
    fn merged_samples_add_up() {
        let mut a = Sample::empty();
        a.latency.record(100).unwrap();
        a.ok = 1;
        a.elapsed = Duration::from_secs(1);
        let mut b = Sample::empty();
        b.latency.record(300).unwrap();
        b.ok = 1;
        b.errors = 2;
        b.elapsed = Duration::from_secs(1);
        a.merge(&b);
        assert_eq!(a.ok, 2);
        assert_eq!(a.errors, 2);
        assert!((a.throughput() - 1.0).abs() < 1e-9);
        assert_eq!(a.latency.len(), 2);
    }
}
