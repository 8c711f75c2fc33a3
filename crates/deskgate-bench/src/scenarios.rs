//! What is measured, in order, once per database backend: tools/call, tools/list, then the
//! memory scenarios (many servers, many clients, many SSE streams) and a restart over the
//! populated database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::floor::{self, Floor};
use crate::gateway::{Database, Deskgate, Program, Setup};
use crate::load::{self, Shape, Target};
use crate::mcp;
use crate::mcp::Era;
use crate::report::{
    BackendReport, CallRow, ContenderRow, FloorRow, ListRow, MemoryRow, Startup, StepRow,
};
use crate::upstreams::{Direct, FixedUpstream};

/// A part of a backend's run (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The floor proxies (once per run, before the backends).
    Floor,
    /// tools/call against the same GET sent straight to the upstream.
    Calls,
    /// deskgate against the bare rmcp proxy (and FastMCP), both eras.
    Contenders,
    /// `/healthz` and `ping` against the same baseline.
    Steps,
    /// tools/list against the same bytes served statically.
    Lists,
    /// Minting many servers, a restart over them, and the memory states.
    Memory,
}

/// How big a run is.
#[derive(Debug, Clone)]
pub struct Plan {
    pub concurrencies: Vec<usize>,
    pub round: Duration,
    pub rounds: usize,
    pub warmup: Duration,
    pub servers: usize,
    pub clients: usize,
    pub client_phase: Duration,
    pub sse_streams: usize,
    /// The scenarios to run; empty: all.
    pub only: Vec<Scenario>,
}

impl Plan {
    pub fn runs(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }

    pub fn full() -> Self {
        Plan {
            concurrencies: vec![1, 16, 256],
            round: Duration::from_millis(2000),
            rounds: 2,
            warmup: Duration::from_millis(300),
            servers: 10_000,
            clients: 1_000,
            client_phase: Duration::from_secs(3),
            sse_streams: 1_000,
            only: Vec::new(),
        }
    }

    pub fn quick() -> Self {
        Plan {
            concurrencies: vec![1, 16, 256],
            round: Duration::from_millis(250),
            rounds: 1,
            warmup: Duration::from_millis(50),
            servers: 200,
            clients: 50,
            client_phase: Duration::from_millis(300),
            sse_streams: 50,
            only: Vec::new(),
        }
    }

    fn shape(&self, concurrency: usize) -> Shape {
        Shape {
            concurrency,
            round: self.round,
            rounds: self.rounds,
            warmup: self.warmup,
        }
    }
}

/// The contender row of deskgate's fast path (the targets read it).
pub const DESKGATE_FAST_PATH: &str = "deskgate, fast path";

/// What the memory scenario measured besides its memory rows; all `None` when it did not run.
#[derive(Default)]
struct MemoryPhases {
    minted: Option<(usize, Duration)>,
    paced_clients: Option<(usize, load::Sample)>,
    saturating_clients: Option<(usize, load::Sample)>,
    sse_streams: Option<usize>,
}

/// What every backend's run shares: the upstreams, the program, the plan.
pub struct Bench {
    pub plan: Plan,
    pub program: Program,
    pub log_filter: Option<String>,
    pub sandbox: Direct,
    pub fixed: FixedUpstream,
    pub ticket_id: u64,
    pub work_dir: std::path::PathBuf,
    /// The Python to run the FastMCP contender with, when there is one.
    pub fastmcp_python: Option<std::path::PathBuf>,
}

/// A keep-alive HTTP client for one phase; dropping it closes its connections.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(60))
        .retry(reqwest::retry::never())
        .build()
        .expect("the HTTP client's fixed settings are valid")
}

fn progress(what: &str) {
    eprintln!("deskgate-bench: {what}");
}

impl Bench {
    /// The ticket GET every call scenario sends, at `base_url` with `direct`'s credentials.
    fn ticket_get(&self, base_url: &str, direct: &Direct) -> Arc<Target> {
        Arc::new(Target::get(
            format!("{base_url}/api/tickets/{}", self.ticket_id),
            direct.headers(),
        ))
    }

    /// A baseline and a gateway at each concurrency, one row per concurrency.
    async fn compare_at(
        &self,
        client: &reqwest::Client,
        what: &str,
        (baseline, gateway): (&Arc<Target>, &Arc<Target>),
        concurrencies: &[usize],
        gateway_pid: u32,
    ) -> Vec<(usize, load::Comparison)> {
        let mut rows = Vec::new();
        for &concurrency in concurrencies {
            progress(&format!("{what}, {concurrency} clients"));
            let comparison = load::compare(
                client,
                baseline,
                gateway,
                self.plan.shape(concurrency),
                gateway_pid,
            )
            .await;
            rows.push((concurrency, comparison));
        }
        rows
    }

    fn setup(&self, database: &Database, name: &str) -> anyhow::Result<Setup> {
        let work_dir = self.work_dir.join(name);
        std::fs::create_dir_all(&work_dir)?;
        Ok(Setup {
            database_url: database.url.clone(),
            work_dir,
            admin_token: format!("bench-admin-{}", deskgate::tokens::random_urlsafe(16)),
            vault_key: deskgate::vault::Vault::generate_key_spec(),
            log_filter: self.log_filter.clone(),
        })
    }

    pub async fn run_backend(
        &self,
        name: &'static str,
        database: &Database,
    ) -> anyhow::Result<BackendReport> {
        let setup = self.setup(database, name)?;
        let client = http_client();
        let mut startup = Startup {
            exec_floor: self.program.exec_floor().await?,
            ..Startup::default()
        };
        progress(&format!("{name}: starting deskgate"));
        let deskgate = Deskgate::start(&self.program, &setup, &client, "deskgate-1").await?;
        startup.fresh = deskgate.first_response;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut memory = vec![MemoryRow {
            state: "idle, empty database".into(),
            memory: deskgate.memory(),
        }];

        let sandbox_account = deskgate.connect(&client, "Sandbox", &self.sandbox).await?;
        let fixed_account = deskgate
            .connect(&client, "Fixed upstream", &self.fixed.direct)
            .await?;
        let all_url = deskgate
            .mint(&client, &sandbox_account, "bench: all tools", json!({}))
            .await?;
        let discovery_url = deskgate
            .mint(
                &client,
                &sandbox_account,
                "bench: discovery",
                json!({"tool_exposure": "discovery"}),
            )
            .await?;
        let fixed_url = deskgate
            .mint(&client, &fixed_account, "bench: fixed upstream", json!({}))
            .await?;

        let plan = &self.plan;
        let calls = if plan.runs(Scenario::Calls) {
            self.calls(&client, &deskgate, &all_url, &fixed_url)
                .await
                .context("tools/call")?
        } else {
            Vec::new()
        };
        let (contenders, contender_notes) = if plan.runs(Scenario::Contenders) {
            self.contenders(&client, &deskgate, &fixed_url)
                .await
                .context("contenders")?
        } else {
            (Vec::new(), Vec::new())
        };
        let steps = if plan.runs(Scenario::Steps) {
            self.steps(&client, &deskgate, &fixed_url)
                .await
                .context("steps")?
        } else {
            Vec::new()
        };
        let lists = if plan.runs(Scenario::Lists) {
            self.lists(&client, &deskgate, &all_url, &discovery_url)
                .await
                .context("tools/list")?
        } else {
            Vec::new()
        };
        drop(client);
        tokio::time::sleep(Duration::from_millis(500)).await;
        memory.push(MemoryRow {
            state: "after the tools/call and tools/list runs".into(),
            memory: deskgate.memory(),
        });

        let phases = if plan.runs(Scenario::Memory) {
            self.memory_phases(
                name,
                deskgate,
                &setup,
                &sandbox_account,
                &mut startup,
                &mut memory,
            )
            .await?
        } else {
            deskgate.stop().await?;
            MemoryPhases::default()
        };
        Ok(BackendReport {
            name,
            calls,
            contenders,
            contender_notes,
            steps,
            lists,
            startup,
            memory,
            minted: phases.minted,
            paced_clients: phases.paced_clients,
            saturating_clients: phases.saturating_clients,
            sse_streams: phases.sse_streams,
        })
    }

    /// The memory scenario: mints `plan.servers` servers through `deskgate`, stops it, and
    /// measures a fresh process over that database in each state (`memory` gets a row each).
    async fn memory_phases(
        &self,
        name: &'static str,
        deskgate: Deskgate,
        setup: &Setup,
        sandbox_account: &str,
        startup: &mut Startup,
        memory: &mut Vec<MemoryRow>,
    ) -> anyhow::Result<MemoryPhases> {
        let client = http_client();
        progress(&format!(
            "{name}: minting {} MCP servers",
            self.plan.servers
        ));
        let started = Instant::now();
        let urls = mint_many(&client, &deskgate, sandbox_account, self.plan.servers).await?;
        let minted = Some((urls.len(), started.elapsed()));
        drop(client);
        deskgate.stop().await?;

        // Memory is measured in a fresh process: resident memory never shrinks back after a
        // burst (the allocator keeps what it got), so each state gets a clean start.
        progress(&format!("{name}: restarting over the populated database"));
        let client = http_client();
        let deskgate = Deskgate::start(&self.program, setup, &client, "deskgate-2").await?;
        startup.populated = Some(deskgate.first_response);
        // The restarted process listens on another port: same token, new base.
        let urls: Vec<String> = urls.iter().map(|u| deskgate.rebase(u)).collect();
        mcp::once(&client, &mcp::call_ticket(&urls[0], self.ticket_id)).await?;
        startup.populated_first_call = Some(deskgate.since_spawn());
        tokio::time::sleep(Duration::from_millis(500)).await;
        memory.push(MemoryRow {
            state: format!("restarted, {} servers stored, one call served", urls.len()),
            memory: deskgate.memory(),
        });

        let pings: Vec<Arc<Target>> = urls.iter().map(|u| Arc::new(mcp::ping(u))).collect();
        touch_all(&client, &pings).await?;
        drop(client);
        tokio::time::sleep(Duration::from_millis(500)).await;
        memory.push(MemoryRow {
            state: format!("{} servers, each resolved once", urls.len()),
            memory: deskgate.memory(),
        });

        progress(&format!(
            "{name}: {} MCP clients, one call a second each",
            self.plan.clients
        ));
        let (paced_clients, peak) = self
            .many_clients(&deskgate, &urls, Some(Duration::from_secs(1)))
            .await;
        memory.push(MemoryRow {
            state: format!(
                "{} servers + {} connected clients, each calling once a second (max sampled)",
                urls.len(),
                self.plan.clients
            ),
            memory: peak,
        });
        tokio::time::sleep(Duration::from_millis(500)).await;

        progress(&format!("{name}: {} SSE streams", self.plan.sse_streams));
        let with_streams = self.sse_streams(&deskgate, &urls).await?;
        memory.push(MemoryRow {
            state: format!(
                "{} servers + {} open SSE streams",
                urls.len(),
                self.plan.sse_streams
            ),
            memory: with_streams,
        });
        tokio::time::sleep(Duration::from_millis(500)).await;

        progress(&format!(
            "{name}: {} MCP clients calling back-to-back",
            self.plan.clients
        ));
        let (saturating_clients, peak) = self.many_clients(&deskgate, &urls, None).await;
        memory.push(MemoryRow {
            state: format!(
                "{} servers + {} clients calling back-to-back: {} calls always in flight (max sampled)",
                urls.len(),
                self.plan.clients,
                self.plan.clients
            ),
            memory: peak,
        });
        deskgate.stop().await?;
        Ok(MemoryPhases {
            minted,
            paced_clients: Some((self.plan.clients, paced_clients)),
            saturating_clients: Some((self.plan.clients, saturating_clients)),
            sse_streams: Some(self.plan.sse_streams),
        })
    }

    /// The floor proxies vs. the same GET straight to the upstream, at the concurrencies the
    /// targets name: what any gateway in its own process costs on this machine.
    pub async fn floors(&self) -> anyhow::Result<Vec<FloorRow>> {
        let client = http_client();
        let mut rows = Vec::new();
        for kind in [floor::Kind::BareProxy, floor::Kind::ProxyWithInsert] {
            for (upstream, direct) in [("fixed", &self.fixed.direct), ("sandbox", &self.sandbox)] {
                let proxy = Floor::start(kind, &direct.base_url, &self.work_dir).await?;
                let baseline = self.ticket_get(&direct.base_url, direct);
                let gateway = self.ticket_get(&proxy.base, direct);
                mcp::once(&client, &gateway).await?;
                let what = format!("floor: {}, {upstream} upstream", kind.label());
                let compared = self
                    .compare_at(&client, &what, (&baseline, &gateway), &[1, 16], proxy.pid)
                    .await;
                rows.extend(
                    compared
                        .into_iter()
                        .map(|(concurrency, comparison)| FloorRow {
                            kind,
                            upstream,
                            concurrency,
                            comparison,
                        }),
                );
            }
        }
        Ok(rows)
    }

    /// tools/call through deskgate vs. the same GET straight to the upstream.
    async fn calls(
        &self,
        client: &reqwest::Client,
        deskgate: &Deskgate,
        sandbox_url: &str,
        fixed_url: &str,
    ) -> anyhow::Result<Vec<CallRow>> {
        let mut rows = Vec::new();
        for (upstream, direct, url) in [
            ("fixed", &self.fixed.direct, fixed_url),
            ("sandbox", &self.sandbox, sandbox_url),
        ] {
            let baseline = self.ticket_get(&direct.base_url, direct);
            let gateway = Arc::new(mcp::call_ticket(url, self.ticket_id));
            mcp::once(client, &baseline).await?;
            mcp::once(client, &gateway).await?;
            let what = format!("tools/call, {upstream} upstream");
            let compared = self
                .compare_at(
                    client,
                    &what,
                    (&baseline, &gateway),
                    &self.plan.concurrencies,
                    deskgate.pid,
                )
                .await;
            rows.extend(
                compared
                    .into_iter()
                    .map(|(concurrency, comparison)| CallRow {
                        upstream,
                        concurrency,
                        comparison,
                    }),
            );
        }
        Ok(rows)
    }

    /// deskgate (fast path and rmcp path) and FastMCP against the bare rmcp proxy, in both
    /// protocol eras, at 1 and 16 clients, all in front of the fixed upstream.
    async fn contenders(
        &self,
        client: &reqwest::Client,
        deskgate: &Deskgate,
        fixed_url: &str,
    ) -> anyhow::Result<(Vec<ContenderRow>, Vec<String>)> {
        let direct = &self.fixed.direct;
        let proxy = crate::rmcp_proxy::RmcpProxy::start(direct).await?;
        let mut notes = Vec::new();
        let fastmcp = match &self.fastmcp_python {
            Some(python) => {
                progress("starting FastMCP");
                let dir = self.work_dir.join("fastmcp");
                std::fs::create_dir_all(&dir)?;
                // Optional: a Python that cannot run it is said in the report, not fatal.
                match crate::fastmcp::FastMcp::start(python, &dir, direct).await {
                    Ok(fastmcp) => Some(fastmcp),
                    Err(e) => {
                        notes.push(format!(
                            "FastMCP was skipped: it did not start with {} ({e:#}).",
                            python.display()
                        ));
                        None
                    }
                }
            }
            None => {
                notes.push(
                    "FastMCP was skipped: no Python with FastMCP found (`crates/deskgate-bench/install-fastmcp.sh` \
                     installs one; or `--fastmcp-python`)."
                        .to_owned(),
                );
                None
            }
        };
        let mut rows = Vec::new();
        for era in Era::ALL {
            let baseline = Arc::new(mcp::call_ticket_in(&proxy.url, self.ticket_id, era, false));
            mcp::once(client, &baseline).await?;
            let mut contenders: Vec<(&'static str, Arc<Target>, u32)> = vec![
                (
                    DESKGATE_FAST_PATH,
                    Arc::new(mcp::call_ticket_in(fixed_url, self.ticket_id, era, false)),
                    deskgate.pid,
                ),
                (
                    "deskgate, rmcp path (a `_meta.progressToken`)",
                    Arc::new(mcp::call_ticket_in(fixed_url, self.ticket_id, era, true)),
                    deskgate.pid,
                ),
            ];
            if let Some(fastmcp) = &fastmcp {
                contenders.push((
                    "FastMCP `from_openapi`",
                    Arc::new(mcp::call_ticket_in(
                        &fastmcp.url,
                        self.ticket_id,
                        era,
                        false,
                    )),
                    fastmcp.pid,
                ));
            }
            for (contender, target, pid) in contenders {
                mcp::once(client, &target)
                    .await
                    .with_context(|| format!("{contender}, {}", era.label()))?;
                for concurrency in [1, 16] {
                    progress(&format!(
                        "contenders: {contender}, {}, {concurrency} clients",
                        era.label()
                    ));
                    let comparison = load::compare_processes(
                        client,
                        (&baseline, proxy.pid),
                        (&target, pid),
                        self.plan.shape(concurrency),
                    )
                    .await;
                    rows.push(ContenderRow {
                        contender,
                        era,
                        concurrency,
                        comparison,
                    });
                }
            }
        }
        Ok((rows, notes))
    }

    /// Requests that stop earlier in deskgate than a tool call, against the same baseline: the
    /// HTTP hop alone (`/healthz`), then token resolution and the MCP layer (`ping`).
    async fn steps(
        &self,
        client: &reqwest::Client,
        deskgate: &Deskgate,
        fixed_url: &str,
    ) -> anyhow::Result<Vec<StepRow>> {
        let baseline = self.ticket_get(&self.fixed.direct.base_url, &self.fixed.direct);
        let mut rows = Vec::new();
        for (what, target) in [
            (
                "GET /healthz: the HTTP hop",
                Target::get(format!("{}/healthz", deskgate.base), Default::default()),
            ),
            ("MCP ping: + token, tenant, MCP layer", mcp::ping(fixed_url)),
        ] {
            progress(&format!("where the time goes: {what}"));
            let target = Arc::new(target);
            mcp::once(client, &target).await?;
            let comparison =
                load::compare(client, &baseline, &target, self.plan.shape(1), deskgate.pid).await;
            rows.push(StepRow { what, comparison });
        }
        Ok(rows)
    }

    /// tools/list (all tools with custom fields, and discovery mode) vs. the same bytes served
    /// statically by a process of their own (a [`Floor`] of static bytes) to the same request:
    /// both answers cross a process boundary, and each side's CPU is read from its own process.
    async fn lists(
        &self,
        client: &reqwest::Client,
        deskgate: &Deskgate,
        all_url: &str,
        discovery_url: &str,
    ) -> anyhow::Result<Vec<ListRow>> {
        let mut rows = Vec::new();
        for (server, url, era) in [
            ("all tools", all_url, Era::Initialize),
            ("all tools, 2026-07-28", all_url, Era::Stateless),
            ("discovery", discovery_url, Era::Initialize),
        ] {
            progress(&format!("tools/list, {server}"));
            let gateway = Arc::new(mcp::list_tools_in(url, era));
            let body = mcp::once(client, &gateway).await?;
            let reply: Value = serde_json::from_slice(&body)?;
            let tools = reply["result"]["tools"].as_array().map_or(0, Vec::len);
            let statically = Floor::serving(&body, &self.work_dir).await?;
            // The same request (method, headers, body) as deskgate gets, to the static server.
            let baseline = Arc::new(mcp::list_tools_in(&statically.base, era));
            mcp::once(client, &baseline).await?;
            let comparison = load::compare_processes(
                client,
                (&baseline, statically.pid),
                (&gateway, deskgate.pid),
                self.plan.shape(1),
            )
            .await;
            rows.push(ListRow {
                server,
                tools,
                bytes: body.len(),
                tokens: integration_spec::tokens::count(&String::from_utf8_lossy(&body)),
                comparison,
            });
        }
        Ok(rows)
    }

    /// `plan.clients` clients at once, each with its own connection and its own server, calling
    /// the sandbox once per `pace` (or back-to-back); deskgate's memory is sampled meanwhile and
    /// the largest sample kept.
    async fn many_clients(
        &self,
        deskgate: &Deskgate,
        urls: &[String],
        pace: Option<Duration>,
    ) -> (load::Sample, crate::system::Memory) {
        let client = http_client();
        let stride = (urls.len() / self.plan.clients).max(1);
        let targets: Vec<Arc<Target>> = (0..self.plan.clients)
            .map(|i| {
                Arc::new(mcp::call_ticket(
                    &urls[(i * stride) % urls.len()],
                    self.ticket_id,
                ))
            })
            .collect();
        let pid = deskgate.pid;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sampler = tokio::spawn(async move {
            let mut peak = crate::system::memory(pid);
            loop {
                tokio::select! {
                    _ = &mut stopped => break peak,
                    () = tokio::time::sleep(Duration::from_millis(50)) => {
                        let now = crate::system::memory(pid);
                        if now.rss_kib > peak.rss_kib {
                            peak = now;
                        }
                    }
                }
            }
        });
        let sample = load::run_paced(
            &client,
            &targets,
            self.plan.clients,
            self.plan.client_phase,
            pace,
            Some(pid),
        )
        .await;
        let _ = stop.send(());
        let peak = sampler.await.unwrap_or_default();
        (sample, peak)
    }

    /// Opens `plan.sse_streams` legacy SSE streams (each on its own server) and holds them while
    /// deskgate's memory is read.
    async fn sse_streams(
        &self,
        deskgate: &Deskgate,
        urls: &[String],
    ) -> anyhow::Result<crate::system::Memory> {
        let client = http_client();
        let stride = (urls.len() / self.plan.sse_streams).max(1);
        let gate = Arc::new(tokio::sync::Semaphore::new(64));
        let opening: Vec<_> = (0..self.plan.sse_streams)
            .map(|i| {
                let client = client.clone();
                let url = urls[(i * stride) % urls.len()].clone();
                let gate = gate.clone();
                let ticket = self.ticket_id;
                tokio::spawn(async move {
                    let _permit = gate.acquire_owned().await;
                    mcp::SseStream::open(&client, &url, ticket).await
                })
            })
            .collect();
        let mut streams = Vec::new();
        for task in opening {
            streams.push(task.await.context("an SSE task panicked")??);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let memory = deskgate.memory();
        drop(streams);
        Ok(memory)
    }
}

/// Mints `count` MCP servers, 16 requests at a time; returns their URLs.
async fn mint_many(
    client: &reqwest::Client,
    deskgate: &Deskgate,
    account_id: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    use futures::StreamExt;
    let minted: Vec<anyhow::Result<String>> = futures::stream::iter(0..count)
        .map(|i| async move {
            deskgate
                .mint(client, account_id, &format!("bench server {i}"), json!({}))
                .await
        })
        .buffer_unordered(16)
        .collect()
        .await;
    minted.into_iter().collect()
}

/// Sends one `ping` to each server, 64 at a time, so each token is resolved (and cached) once.
async fn touch_all(client: &reqwest::Client, pings: &[Arc<Target>]) -> anyhow::Result<()> {
    use futures::StreamExt;
    let results: Vec<anyhow::Result<bytes::Bytes>> = futures::stream::iter(pings)
        .map(|p| mcp::once(client, p))
        .buffer_unordered(64)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(())
}
