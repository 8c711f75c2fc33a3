//! `deskgate-bench`: what deskgate costs, as ratios against the upstream itself measured in the
//! same run on the same machine.
//!
//! ```text
//! cargo run --release -p deskgate-bench -- [--quick] [--postgres URL] [--out report.md]
//! ```
//!
//! Map of the crate:
//! - `scenarios`: what is measured, in order (tools/call, tools/list, memory, start-up).
//! - `load`: the load generator and the interleaved baseline-vs-deskgate comparison.
//! - `gateway`: deskgate as a separate process, its management API, its database.
//! - `floor`: the cheapest gateways there are, measured like deskgate (the floor under it).
//! - `rmcp_proxy`, `fastmcp`: the contenders deskgate's MCP endpoint is measured against (a
//!   bare rmcp proxy, the baseline; FastMCP `from_openapi`, when Python and FastMCP are there).
//! - `upstreams`: the sandbox (rate limit raised) and the fixed-response upstream.
//! - `mcp`: MCP requests and legacy SSE streams as a client sends them.
//! - `system`: the machine, and a process's memory and CPU time from `/proc`.
//! - `report`: the Markdown report.

mod fastmcp;
mod floor;
mod gateway;
mod load;
mod mcp;
mod report;
mod rmcp_proxy;
mod scenarios;
mod system;
mod upstreams;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use crate::gateway::{Database, Deskgate, Program};
use crate::scenarios::{Bench, Plan};

#[derive(Debug, Parser)]
#[command(
    name = "deskgate-bench",
    about = "Measure what deskgate costs against the upstream it fronts"
)]
struct Args {
    /// A smoke run: every scenario, with short rounds and small counts (seconds, not minutes).
    #[arg(long)]
    quick: bool,
    /// Also measure on PostgreSQL at this server URL (e.g. postgres://postgres@127.0.0.1:5432/test);
    /// the bench creates its own database there (deskgate_bench_<pid>) and drops it after.
    #[arg(long, env = "DESKGATE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Skip SQLite (with --postgres).
    #[arg(long, requires = "postgres")]
    postgres_only: bool,
    /// Also write the report (Markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measure this deskgate executable instead of deskgate linked into the bench binary.
    #[arg(long)]
    deskgate_bin: Option<PathBuf>,
    /// `DESKGATE_LOG` for deskgate (default: deskgate's own default), e.g. `warn` to see what
    /// per-call logging costs.
    #[arg(long, value_name = "FILTER")]
    deskgate_log: Option<String>,
    /// Profiling aid: start everything, print deskgate's pid, run tools/call (`--hold-clients`)
    /// against the sandbox for this many seconds (attach `perf record -p PID` meanwhile), exit.
    #[arg(long, value_name = "SECONDS")]
    hold: Option<u64>,
    /// The Python to run the FastMCP contender with (default: `DESKGATE_BENCH_PYTHON`, else
    /// `.tools/bench-venv/bin/python` when it exists; without one FastMCP is skipped).
    #[arg(long, value_name = "PATH")]
    fastmcp_python: Option<PathBuf>,
    /// Run only these scenarios (comma-separated), e.g. `--only memory` or
    /// `--only contenders,lists`; the default is all of them.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<scenarios::Scenario>,
    /// Clients for `--hold`.
    #[arg(long, default_value_t = 16, requires = "hold")]
    hold_clients: usize,
}

fn main() -> anyhow::Result<()> {
    if let Some(deskgate) = gateway::child_main() {
        return deskgate;
    }
    if let Some(floor) = floor::child_main() {
        return floor;
    }
    if let Some(proxy) = rmcp_proxy::child_main() {
        return proxy;
    }
    let args = Args::parse();
    block_on(run(args))
}

/// Runs a future on the runtime deskgate's own `main` uses (multi-threaded, everything enabled):
/// the bench, deskgate as its child, and the floor proxies all run on the same kind.
pub fn block_on(future: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    // A thousand clients and a thousand SSE streams need a few thousand sockets on each side;
    // deskgate, started from here, inherits the raised limit.
    let nofile = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    let machine = system::Machine::current();
    let load_before = system::load_average();
    let mut plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    plan.only = args.only.clone();
    let work_dir = std::env::temp_dir().join(format!("deskgate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    eprintln!(
        "deskgate-bench: work directory {} (deskgate logs are kept there); open files limit {nofile}",
        work_dir.display()
    );

    let sandbox = upstreams::start_sandbox().await?;
    let sandbox_direct = upstreams::Direct::of_sandbox(&sandbox);
    let client = scenarios::http_client();
    let ticket_id = first_ticket(&client, &sandbox_direct).await?;
    let fixed = upstreams::FixedUpstream::start(&client, &sandbox_direct, ticket_id).await?;
    let bench = Bench {
        plan,
        program: Program::new(args.deskgate_bin.clone())?,
        log_filter: args.deskgate_log.clone(),
        sandbox: sandbox_direct,
        fixed,
        ticket_id,
        work_dir: work_dir.clone(),
        fastmcp_python: fastmcp::python(args.fastmcp_python.clone()),
    };

    if let Some(seconds) = args.hold {
        return hold(&bench, Duration::from_secs(seconds), args.hold_clients).await;
    }

    let floors = if bench.plan.runs(scenarios::Scenario::Floor) {
        bench.floors().await.context("the floor")?
    } else {
        Vec::new()
    };
    let mut backends = Vec::new();
    if !args.postgres_only {
        let database = Database::sqlite(&work_dir.join("sqlite"));
        std::fs::create_dir_all(work_dir.join("sqlite"))?;
        backends.push(bench.run_backend("SQLite", &database).await?);
    }
    if let Some(url) = &args.postgres {
        let database = Database::postgres(url).await?;
        let result = bench.run_backend(report::POSTGRES, &database).await;
        database.drop_database().await?;
        backends.push(result?);
    }

    let report = report::Report {
        machine,
        load_before,
        load_after: system::load_average(),
        quick: args.quick,
        program: bench.program.description.clone(),
        elapsed: started.elapsed(),
        floors,
        backends,
    };
    let text = report.markdown();
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, &text).with_context(|| format!("cannot write {}", out.display()))?;
    }
    let _ = std::fs::remove_dir_all(&work_dir);
    // Figures are never judged here, but a failed request means something is broken.
    let errors = report.errors();
    anyhow::ensure!(errors == 0, "{errors} requests failed during the run");
    Ok(())
}

/// The id of a ticket the sandbox holds (the one every call reads).
async fn first_ticket(
    client: &reqwest::Client,
    sandbox: &upstreams::Direct,
) -> anyhow::Result<u64> {
    let page: serde_json::Value = client
        .get(format!("{}/api/tickets?limit=1", sandbox.base_url))
        .headers(sandbox.headers())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    page["data"][0]["id"]
        .as_u64()
        .context("the sandbox lists no ticket")
}

/// `--hold`: deskgate under a steady tools/call load, for a profiler to attach to.
async fn hold(bench: &Bench, duration: Duration, clients: usize) -> anyhow::Result<()> {
    let database = Database::sqlite(&bench.work_dir);
    let setup = gateway::Setup {
        database_url: database.url.clone(),
        work_dir: bench.work_dir.clone(),
        admin_token: format!("bench-admin-{}", deskgate::tokens::random_urlsafe(16)),
        vault_key: deskgate::vault::Vault::generate_key_spec(),
        log_filter: bench.log_filter.clone(),
    };
    let client = scenarios::http_client();
    let deskgate = Deskgate::start(&bench.program, &setup, &client, "deskgate-hold").await?;
    let account = deskgate.connect(&client, "Sandbox", &bench.sandbox).await?;
    let url = deskgate
        .mint(&client, &account, "hold", serde_json::json!({}))
        .await?;
    let target = Arc::new(mcp::call_ticket(&url, bench.ticket_id));
    mcp::once(&client, &target).await?;
    println!("deskgate pid {}", deskgate.pid);
    eprintln!(
        "deskgate-bench: tools/call at {clients} clients for {} s; e.g. perf record -F 999 -g -p {} -- sleep {}",
        duration.as_secs(),
        deskgate.pid,
        duration.as_secs().saturating_sub(2).max(1)
    );
    let sample = load::run(&client, &[target], clients, duration, Some(deskgate.pid)).await;
    let (cpu, bench_cpu) = sample.cpu_per_request_us();
    eprintln!(
        "deskgate-bench: {} calls, {:.0} calls/s, p50 {} µs, p99 {} µs, deskgate CPU {cpu:.0} µs/call, bench CPU {bench_cpu:.0} µs/call, {} errors",
        sample.ok,
        sample.throughput(),
        sample.p50_us(),
        sample.p99_us(),
        sample.errors
    );
    deskgate.stop().await?;
    let _ = std::fs::remove_dir_all(&bench.work_dir);
    Ok(())
}
