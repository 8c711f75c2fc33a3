//! The report: every figure next to the baseline measured in the same run, as Markdown.

use std::fmt::Write;
use std::time::Duration;

use crate::floor;
use crate::load::{Comparison, Sample};
use crate::system::{Machine, Memory};

/// The name of the PostgreSQL backend's report (its database CPU is reported too).
pub const POSTGRES: &str = "PostgreSQL";

pub struct Report {
    pub machine: Machine,
    pub load_before: String,
    pub load_after: String,
    pub quick: bool,
    pub program: String,
    pub elapsed: Duration,
    /// The cheapest gateways there are, against the same baselines (see `floor`).
    pub floors: Vec<FloorRow>,
    pub backends: Vec<BackendReport>,
}

pub struct BackendReport {
    pub name: &'static str,
    pub calls: Vec<CallRow>,
    /// Contenders (deskgate's paths, FastMCP) against the bare rmcp proxy, fixed upstream.
    pub contenders: Vec<ContenderRow>,
    /// Why a contender is missing (FastMCP not installed), for the report.
    pub contender_notes: Vec<String>,
    /// Cheaper requests to deskgate at 1 client, against the same baseline as the calls: where
    /// the added time goes.
    pub steps: Vec<StepRow>,
    pub lists: Vec<ListRow>,
    pub startup: Startup,
    pub memory: Vec<MemoryRow>,
    /// Servers minted for the memory scenario, and how long minting them took.
    pub minted: Option<(usize, Duration)>,
    /// Many Streamable HTTP clients calling once a second each, with how many clients.
    pub paced_clients: Option<(usize, Sample)>,
    /// The same clients calling back-to-back.
    pub saturating_clients: Option<(usize, Sample)>,
    /// How many SSE streams were held open.
    pub sse_streams: Option<usize>,
}

pub struct CallRow {
    pub upstream: &'static str,
    pub concurrency: usize,
    pub comparison: Comparison,
}

/// A contender against the bare rmcp proxy (`comparison.baseline` is the proxy, measured in the
/// same interleaved rounds; each side's CPU time is its own process's).
pub struct ContenderRow {
    pub contender: &'static str,
    pub era: crate::mcp::Era,
    pub concurrency: usize,
    pub comparison: Comparison,
}

pub struct FloorRow {
    pub kind: floor::Kind,
    pub upstream: &'static str,
    pub concurrency: usize,
    pub comparison: Comparison,
}

pub struct StepRow {
    pub what: &'static str,
    pub comparison: Comparison,
}

pub struct ListRow {
    pub server: &'static str,
    pub tools: usize,
    pub bytes: usize,
    pub tokens: usize,
    pub comparison: Comparison,
}

impl ListRow {
    /// deskgate's p50 over the p50 of the same bytes served statically by their own process.
    fn p50_ratio(&self) -> f64 {
        let base = self.comparison.baseline.p50_us();
        if base == 0 {
            0.0
        } else {
            self.comparison.deskgate.p50_us() as f64 / base as f64
        }
    }
}

#[derive(Default)]
pub struct Startup {
    /// Starting and ending the program with `--version`: the floor.
    pub exec_floor: Duration,
    /// Spawn to first `/healthz` answer, empty database.
    pub fresh: Duration,
    /// The same with the minted servers in the database.
    pub populated: Option<Duration>,
    /// Spawn to the first answered `tools/call` (cold caches: token, catalog, custom fields).
    pub populated_first_call: Option<Duration>,
}

pub struct MemoryRow {
    pub state: String,
    pub memory: Memory,
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn signed(v: i64) -> String {
    if v > 0 {
        format!("+{v}")
    } else {
        v.to_string()
    }
}

impl Report {
    /// Failed requests over every load in the run (a reply that was not a 2xx, or a tool error).
    pub fn errors(&self) -> u64 {
        let floors: u64 = self
            .floors
            .iter()
            .map(|f| f.comparison.baseline.errors + f.comparison.deskgate.errors)
            .sum();
        floors
            + self
                .backends
                .iter()
                .map(|b| {
                    let comparisons = b
                        .calls
                        .iter()
                        .map(|c| &c.comparison)
                        .chain(b.steps.iter().map(|s| &s.comparison))
                        .chain(b.contenders.iter().map(|c| &c.comparison))
                        .chain(b.lists.iter().map(|l| &l.comparison))
                        .map(|c| c.baseline.errors + c.deskgate.errors)
                        .sum::<u64>();
                    let clients = [&b.paced_clients, &b.saturating_clients]
                        .into_iter()
                        .flatten()
                        .map(|(_, s)| s.errors)
                        .sum::<u64>();
                    comparisons + clients
                })
                .sum::<u64>()
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "# deskgate benchmark report{}\n",
            if self.quick {
                " (--quick: smoke run, small numbers)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "- Machine: {} CPUs ({}), {} MiB RAM, Linux {}.",
            m.cpus, m.cpu_model, m.memory_mib, m.kernel
        );
        let _ = writeln!(
            out,
            "- Load average (1/5/15 min) before: {}; after: {}. Run took {:.0} s.",
            self.load_before,
            self.load_after,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(out, "- deskgate: {}, its own process.", self.program);
        let _ = writeln!(
            out,
            "- Upstreams (in the bench process): the Gorgias sandbox with its rate limit raised to 10^9 requests/s, \
             and a fixed-response upstream replaying bytes captured from it. Baselines use the same HTTP client \
             (reqwest, keep-alive, TCP_NODELAY) as the load against deskgate; rounds interleave ABBA."
        );
        if !self.floors.is_empty() {
            self.floors(&mut out);
        }
        for b in &self.backends {
            b.markdown(&mut out);
        }
        self.targets(&mut out);
        out
    }

    fn floors(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n## The floor: the cheapest gateway in its own process, vs. the same GET sent straight to the upstream\n"
        );
        let _ = writeln!(
            out,
            "\"bare proxy\" forwards the GET and its reply and does nothing else; \"proxy + SQLite insert\" also commits one \
             row per request before answering (see `crates/deskgate-bench/src/floor.rs`).\n"
        );
        comparison_table(
            out,
            "gateway",
            &["gateway", "upstream", "clients"],
            self.floors.iter().map(|f| {
                (
                    vec![
                        f.kind.label().to_owned(),
                        f.upstream.to_owned(),
                        f.concurrency.to_string(),
                    ],
                    &f.comparison,
                )
            }),
        );
    }

    fn targets(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Targets\n");
        let floors = [floor::Kind::BareProxy, floor::Kind::ProxyWithInsert]
            .into_iter()
            .filter(|k| self.floors.iter().any(|f| f.kind == *k));
        let mut header = "| target |".to_owned();
        let mut rule = "| --- |".to_owned();
        for b in &self.backends {
            let _ = write!(header, " deskgate, {} |", b.name);
            rule.push_str(" --- |");
        }
        for kind in floors.clone() {
            let _ = write!(header, " floor: {} |", kind.label());
            rule.push_str(" --- |");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for target in CALL_TARGETS {
            let mut line = format!("| {} |", target.name);
            for b in &self.backends {
                cell(
                    &mut line,
                    b.call(target.upstream, target.clients)
                        .map(|c| target.judge(&c.comparison)),
                );
            }
            for kind in floors.clone() {
                let row = self.floors.iter().find(|f| {
                    f.kind == kind
                        && f.upstream == target.upstream
                        && f.concurrency == target.clients
                });
                cell(&mut line, row.map(|f| target.judge(&f.comparison)));
            }
            let _ = writeln!(out, "{line}");
        }
        type Check = fn(&BackendReport) -> Option<(String, bool)>;
        let rows: [(&str, Check); 10] = [
            (
                "PostgreSQL CPU per read call ≤ 30 µs at 16 clients (fixed upstream)",
                |b| {
                    if b.name != POSTGRES {
                        return None;
                    }
                    let v = b
                        .call("fixed", 16)?
                        .comparison
                        .deskgate
                        .database_cpu_per_request_us();
                    Some((format!("{v:.0} µs"), v <= 30.0))
                },
            ),
            ("tools/list, full catalog, p50 ≤ 1 ms", |b| {
                let l = b.lists.iter().find(|l| l.server == "all tools")?;
                let v = l.comparison.deskgate.p50_us();
                Some((format!("{v} µs"), v <= 1000))
            }),
            (
                "tools/list, full catalog, p50 ≤ 2× the same bytes served statically",
                |b| {
                    let l = b.lists.iter().find(|l| l.server == "all tools")?;
                    Some((format!("{:.2}×", l.p50_ratio()), l.p50_ratio() <= 2.0))
                },
            ),
            (
                "tools/list, full catalog, CPU per list ≤ 2× the static server's",
                |b| {
                    let l = b.lists.iter().find(|l| l.server == "all tools")?;
                    let r = l.comparison.cpu_ratio();
                    Some((format!("{r:.2}×"), r <= 2.0))
                },
            ),
            (
                "tools/call ≥ 1.0× the bare rmcp proxy's throughput, 2025-11-25, 1 / 16 clients",
                |b| {
                    b.against_proxy(
                        crate::mcp::Era::Initialize,
                        Comparison::throughput_ratio,
                        |r| r >= 1.0,
                    )
                },
            ),
            (
                "tools/call ≥ 1.0× the bare rmcp proxy's throughput, 2026-07-28, 1 / 16 clients",
                |b| {
                    b.against_proxy(
                        crate::mcp::Era::Stateless,
                        Comparison::throughput_ratio,
                        |r| r >= 1.0,
                    )
                },
            ),
            (
                "tools/call CPU ≤ the bare rmcp proxy's, 2025-11-25, 1 / 16 clients",
                |b| {
                    b.against_proxy(crate::mcp::Era::Initialize, Comparison::cpu_ratio, |r| {
                        r <= 1.0
                    })
                },
            ),
            (
                "tools/call CPU ≤ the bare rmcp proxy's, 2026-07-28, 1 / 16 clients",
                |b| {
                    b.against_proxy(crate::mcp::Era::Stateless, Comparison::cpu_ratio, |r| {
                        r <= 1.0
                    })
                },
            ),
            (
                "≤ 100 MiB resident, 10,000 servers + 1,000 clients each calling once a second",
                |b| b.peak_rss("once a second"),
            ),
            (
                "(the same clients calling back-to-back: 1,000 calls always in flight)",
                |b| b.peak_rss("back-to-back"),
            ),
        ];
        for (name, check) in rows {
            let mut line = format!("| {name} |");
            for b in &self.backends {
                cell(&mut line, check(b));
            }
            for _ in floors.clone() {
                line.push_str(" – |");
            }
            let _ = writeln!(out, "{line}");
        }
    }
}

/// A target on the ticket call, judged the same way for deskgate and for the floors.
struct CallTarget {
    name: &'static str,
    upstream: &'static str,
    clients: usize,
    /// At most this many µs added at p50, or else at least this throughput ratio.
    max_added_p50_us: Option<i64>,
    min_ratio: Option<f64>,
}

const CALL_TARGETS: [CallTarget; 3] = [
    CallTarget {
        name: "added p50 per tools/call ≤ 150 µs (1 client, fixed upstream)",
        upstream: "fixed",
        clients: 1,
        max_added_p50_us: Some(150),
        min_ratio: None,
    },
    CallTarget {
        name: "added p50 per tools/call ≤ 150 µs (1 client, sandbox)",
        upstream: "sandbox",
        clients: 1,
        max_added_p50_us: Some(150),
        min_ratio: None,
    },
    CallTarget {
        name: "throughput ≥ 80 % of direct at 16 clients (sandbox)",
        upstream: "sandbox",
        clients: 16,
        max_added_p50_us: None,
        min_ratio: Some(0.8),
    },
];

impl CallTarget {
    fn judge(&self, c: &Comparison) -> (String, bool) {
        match (self.max_added_p50_us, self.min_ratio) {
            (Some(max), _) => {
                let v = c.added_p50_us();
                (format!("{v} µs"), v <= max)
            }
            (None, Some(min)) => {
                let v = c.throughput_ratio();
                (format!("{:.0} %", v * 100.0), v >= min)
            }
            (None, None) => unreachable!("every call target has a bound"),
        }
    }
}

fn cell(line: &mut String, judged: Option<(String, bool)>) {
    match judged {
        Some((value, met)) => {
            let _ = write!(line, " {value} {} |", if met { "✅" } else { "❌" });
        }
        None => line.push_str(" – |"),
    }
}

/// A table of comparisons: the leading columns name each row, then the same figures for the
/// direct path and for `who` (deskgate, or a floor gateway).
fn comparison_table<'a>(
    out: &mut String,
    who: &str,
    leading: &[&str],
    rows: impl Iterator<Item = (Vec<String>, &'a Comparison)>,
) {
    let _ = writeln!(
        out,
        "| {} | direct req/s | {who} req/s | ratio | direct p50 µs | {who} p50 µs | added p50 µs | direct p99 µs | {who} p99 µs | added p99 µs | {who} CPU µs/call | errors |",
        leading.join(" | ")
    );
    let _ = writeln!(
        out,
        "|{} ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        " --- |".repeat(leading.len())
    );
    for (cells, c) in rows {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0} % | {} | {} | {} | {} | {} | {} | {:.0} | {} |",
            cells.join(" | "),
            c.baseline.throughput(),
            c.deskgate.throughput(),
            c.throughput_ratio() * 100.0,
            c.baseline.p50_us(),
            c.deskgate.p50_us(),
            signed(c.added_p50_us()),
            c.baseline.p99_us(),
            c.deskgate.p99_us(),
            signed(c.added_p99_us()),
            c.deskgate.cpu_per_request_us().0,
            c.baseline.errors + c.deskgate.errors,
        );
    }
}

impl BackendReport {
    fn contenders(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n### tools/call `{}` (fixed upstream): contenders vs. the bare rmcp proxy, same rounds\n",
            crate::mcp::TICKET_TOOL
        );
        let _ = writeln!(
            out,
            "The bare rmcp proxy (`crates/deskgate-bench/src/rmcp_proxy.rs`): rmcp + reqwest, stateless JSON, one tool, \
             no auth, no audit. Ratios are contender / proxy; CPU is each process's own.\n"
        );
        for note in &self.contender_notes {
            let _ = writeln!(out, "- {note}");
        }
        if !self.contender_notes.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "| contender | era | clients | proxy req/s | contender req/s | throughput ratio | proxy p50 µs | contender p50 µs | proxy CPU µs/call | contender CPU µs/call | CPU ratio | errors |"
        );
        let _ = writeln!(
            out,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for row in &self.contenders {
            let c = &row.comparison;
            let proxy_cpu = c.baseline.cpu_per_request_us().0;
            let contender_cpu = c.deskgate.cpu_per_request_us().0;

            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.0} | {:.2}× | {} | {} | {:.0} | {:.0} | {:.2}× | {} |",
                row.contender,
                row.era.label(),
                row.concurrency,
                c.baseline.throughput(),
                c.deskgate.throughput(),
                c.throughput_ratio(),
                c.baseline.p50_us(),
                c.deskgate.p50_us(),
                proxy_cpu,
                contender_cpu,
                if proxy_cpu > 0.0 {
                    contender_cpu / proxy_cpu
                } else {
                    0.0
                },
                c.baseline.errors + c.deskgate.errors,
            );
        }
    }

    /// The memory row whose state mentions `what`, against the 100 MiB target.
    fn peak_rss(&self, what: &str) -> Option<(String, bool)> {
        let rss = self
            .memory
            .iter()
            .find(|r| r.state.contains(what))?
            .memory
            .rss_kib;
        Some((format!("{} MiB", mib(rss)), rss <= 100 * 1024))
    }

    /// deskgate's fast path against the bare rmcp proxy in `era` at 1 and 16 clients: both
    /// ratios, met when both pass.
    fn against_proxy(
        &self,
        era: crate::mcp::Era,
        ratio: fn(&Comparison) -> f64,
        passes: fn(f64) -> bool,
    ) -> Option<(String, bool)> {
        let at = |clients: usize| {
            self.contenders
                .iter()
                .find(|r| {
                    r.contender == crate::scenarios::DESKGATE_FAST_PATH
                        && r.era == era
                        && r.concurrency == clients
                })
                .map(|r| ratio(&r.comparison))
        };
        let (one, sixteen) = (at(1)?, at(16)?);
        Some((
            format!("{one:.2}× / {sixteen:.2}×"),
            passes(one) && passes(sixteen),
        ))
    }

    fn call(&self, upstream: &str, concurrency: usize) -> Option<&CallRow> {
        self.calls
            .iter()
            .find(|c| c.upstream == upstream && c.concurrency == concurrency)
    }

    fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "\n## {}\n", self.name);
        if !self.calls.is_empty() {
            let _ = writeln!(
                out,
                "### tools/call `{}` vs. the same GET sent straight to the upstream\n",
                crate::mcp::TICKET_TOOL
            );
            comparison_table(
                out,
                "deskgate",
                &["upstream", "clients"],
                self.calls.iter().map(|row| {
                    (
                        vec![row.upstream.to_owned(), row.concurrency.to_string()],
                        &row.comparison,
                    )
                }),
            );
        }
        if self.name == POSTGRES {
            let _ = writeln!(
                out,
                "\n### Database CPU per tools/call (all PostgreSQL processes on the machine, read from `/proc`)\n"
            );
            let _ = writeln!(
                out,
                "| upstream | clients | deskgate CPU µs/call | PostgreSQL CPU µs/call |\n| --- | ---: | ---: | ---: |"
            );
            for row in &self.calls {
                let d = &row.comparison.deskgate;
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} | {:.0} |",
                    row.upstream,
                    row.concurrency,
                    d.cpu_per_request_us().0,
                    d.database_cpu_per_request_us()
                );
            }
        }
        if !self.contenders.is_empty() || !self.contender_notes.is_empty() {
            self.contenders(out);
        }
        if !self.steps.is_empty() {
            let _ = writeln!(
                out,
                "\n### Where the added time goes (1 client; baseline: the ticket GET straight to the fixed upstream)\n"
            );
            let _ = writeln!(
                out,
                "| request to deskgate | p50 µs | added p50 µs | p99 µs | deskgate CPU µs/request |\n| --- | ---: | ---: | ---: | ---: |"
            );
            let fixed_call = self
                .call("fixed", 1)
                .map(|c| ("tools/call (fixed upstream): everything", &c.comparison));
            for (what, c) in self
                .steps
                .iter()
                .map(|s| (s.what, &s.comparison))
                .chain(fixed_call)
            {
                let _ = writeln!(
                    out,
                    "| {what} | {} | {} | {} | {:.0} |",
                    c.deskgate.p50_us(),
                    signed(c.added_p50_us()),
                    c.deskgate.p99_us(),
                    c.deskgate.cpu_per_request_us().0,
                );
            }
        }
        if !self.lists.is_empty() {
            let _ = writeln!(
                out,
                "\n### tools/list (warm caches, 1 client) vs. the same bytes served statically by a process of their own\n"
            );
            let _ = writeln!(
                out,
                "| server | tools | bytes | ≈ tokens | deskgate p50 µs | deskgate p99 µs | static p50 µs | added p50 µs | p50 ratio | deskgate req/s | deskgate CPU µs/list | static CPU µs/list | CPU ratio | errors |"
            );
            let _ = writeln!(
                out,
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            for l in &self.lists {
                let c = &l.comparison;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2}× | {:.0} | {:.0} | {:.0} | {:.2}× | {} |",
                    l.server,
                    l.tools,
                    l.bytes,
                    l.tokens,
                    c.deskgate.p50_us(),
                    c.deskgate.p99_us(),
                    c.baseline.p50_us(),
                    signed(c.added_p50_us()),
                    l.p50_ratio(),
                    c.deskgate.throughput(),
                    c.deskgate.cpu_per_request_us().0,
                    c.baseline.cpu_per_request_us().0,
                    c.cpu_ratio(),
                    c.baseline.errors + c.deskgate.errors,
                );
            }
        }
        let s = &self.startup;
        let _ = writeln!(out, "\n### Start-up\n");
        let _ = writeln!(out, "| measurement | time |\n| --- | ---: |");
        let _ = writeln!(
            out,
            "| floor: start and exit the same executable (`--version`) | {} |",
            ms(s.exec_floor)
        );
        let _ = writeln!(
            out,
            "| spawn → first `/healthz` answer, empty database | {} |",
            ms(s.fresh)
        );
        if let (Some(populated), Some((servers, _))) = (s.populated, self.minted) {
            let _ = writeln!(
                out,
                "| spawn → first `/healthz` answer, {servers} servers stored | {} |",
                ms(populated)
            );
        }
        if let Some(first) = s.populated_first_call {
            let _ = writeln!(
                out,
                "| spawn → first `tools/call` answered (cold token, catalog and custom fields) | {} |",
                ms(first)
            );
        }
        if let Some((servers, took)) = self.minted {
            let _ = writeln!(
                out,
                "\nMinting {servers} MCP servers through the management API (16 at a time) took {} ({:.0} per second).",
                ms(took),
                servers as f64 / took.as_secs_f64()
            );
        }
        for (how, run) in [
            ("each calling once a second", &self.paced_clients),
            ("calling back-to-back", &self.saturating_clients),
        ] {
            if let Some((clients, sample)) = run {
                let _ = writeln!(
                    out,
                    "{clients} Streamable HTTP clients (one connection and one server each, sandbox upstream) {how}: \
                     {:.0} calls/s, p50 {} µs, p99 {} µs, {} errors.",
                    sample.throughput(),
                    sample.p50_us(),
                    sample.p99_us(),
                    sample.errors
                );
            }
        }
        if let Some(streams) = self.sse_streams {
            let _ = writeln!(
                out,
                "{streams} legacy SSE streams held open, each proven live by a tools/call answered on it."
            );
        }
        let _ = writeln!(out, "\n### Resident memory of the deskgate process\n");
        let _ = writeln!(
            out,
            "| state | RSS MiB | vs. idle MiB | peak so far (VmHWM) MiB |\n| --- | ---: | ---: | ---: |"
        );
        let idle = self.memory.first().map_or(0, |r| r.memory.rss_kib);
        for row in &self.memory {
            let delta = row.memory.rss_kib as i64 - idle as i64;
            let _ = writeln!(
                out,
                "| {} | {} | {}{} | {} |",
                row.state,
                mib(row.memory.rss_kib),
                if delta >= 0 { "+" } else { "-" },
                mib(delta.unsigned_abs()),
                mib(row.memory.peak_kib),
            );
        }
    }
}
