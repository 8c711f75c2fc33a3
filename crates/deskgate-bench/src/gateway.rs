//! deskgate as the benchmark runs it: a separate process (so its resident memory, CPU time and
//! start-up are its own), listening on a loopback port, driven through its management API.
//!
//! By default the process is this very executable re-run as `deskgate-bench __deskgate serve …`,
//! which runs deskgate's own `main` (below, [`child_main`]) linked from the current source: a
//! plain `cargo run --release -p deskgate-bench` can never measure a stale `deskgate` binary.
//! `--deskgate-bin PATH` measures a given binary instead.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::system;
use crate::upstreams::Direct;

/// The hidden first argument that turns this executable into deskgate.
const CHILD_ARG: &str = "__deskgate";

/// When this process was started as deskgate, runs it (never returns `None` then): what
/// deskgate's `main.rs` does, with the same runtime, log setup and command dispatch.
pub fn child_main() -> Option<anyhow::Result<()>> {
    let mut args = std::env::args_os();
    let _program = args.next();
    if args.next().as_deref() != Some(OsStr::new(CHILD_ARG)) {
        return None;
    }
    let cli =
        deskgate::cli::Cli::parse_from(std::iter::once(OsString::from("deskgate")).chain(args));
    let run = async move {
        // The bench measures deskgate without trace export.
        deskgate::commands::init_logs(cli.log_format, None)?;
        deskgate::commands::run(cli.command).await
    };
    Some(crate::block_on(run))
}

/// How to start deskgate: which program, and the arguments that come before `serve`.
#[derive(Debug, Clone)]
pub struct Program {
    pub path: PathBuf,
    pub leading_args: Vec<OsString>,
    pub description: String,
}

impl Program {
    pub fn new(deskgate_bin: Option<PathBuf>) -> anyhow::Result<Self> {
        Ok(match deskgate_bin {
            Some(path) => Program {
                description: format!("`{}`", path.display()),
                path,
                leading_args: Vec::new(),
            },
            None => Program {
                path: std::env::current_exe().context("cannot find this executable")?,
                leading_args: vec![OsString::from(CHILD_ARG)],
                description: format!(
                    "deskgate's `main` linked into the bench binary ({} build)",
                    if cfg!(debug_assertions) {
                        "debug"
                    } else {
                        "release"
                    }
                ),
            },
        })
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        command.args(&self.leading_args);
        command
    }

    /// How long starting and ending the program takes when it does nothing (`--version`): the
    /// floor under deskgate's start-up time.
    pub async fn exec_floor(&self) -> anyhow::Result<Duration> {
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let status = self
                .command()
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .await?;
            anyhow::ensure!(status.success(), "`deskgate --version` failed");
            times.push(started.elapsed());
        }
        times.sort();
        Ok(times[times.len() / 2])
    }
}

/// Everything a deskgate process needs that outlives it (its database and keys).
#[derive(Debug, Clone)]
pub struct Setup {
    pub database_url: String,
    pub work_dir: PathBuf,
    pub admin_token: String,
    pub vault_key: String,
    /// `DESKGATE_LOG` for deskgate; `None` keeps deskgate's default.
    pub log_filter: Option<String>,
}

/// A running deskgate.
pub struct Deskgate {
    child: Child,
    pub pid: u32,
    pub base: String,
    /// From spawning the process to its first successful `GET /healthz`.
    pub first_response: Duration,
    spawned: Instant,
    admin_token: String,
}

impl Deskgate {
    pub async fn start(
        program: &Program,
        setup: &Setup,
        client: &reqwest::Client,
        log_name: &str,
    ) -> anyhow::Result<Self> {
        let mut command = program.command();
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(["--database-url", &setup.database_url])
            .arg("--allow-custom-upstream")
            .arg("--vault-key-file")
            .arg(setup.work_dir.join("deskgate.key"))
            .env("DESKGATE_ADMIN_TOKEN", &setup.admin_token)
            .env("DESKGATE_VAULT_KEY", &setup.vault_key)
            .env("DESKGATE_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        match &setup.log_filter {
            // The address is read from the "deskgate is serving" line, whatever else is filtered.
            Some(filter) => {
                command.env("DESKGATE_LOG", format!("{filter},deskgate::commands=info"))
            }
            None => command.env_remove("DESKGATE_LOG"),
        };
        // Logs go straight to a file: copying them through this process would bill their cost
        // to the load generator.
        let log_path = setup.work_dir.join(format!("{log_name}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        command.stderr(Stdio::from(log));
        let spawned = Instant::now();
        let mut child = command.spawn().context("cannot start deskgate")?;
        let pid = child.id().context("deskgate exited at once")?;
        let address = loop {
            if let Some(address) = listening_address(&log_path) {
                break address;
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!(
                    "deskgate exited ({status}) before listening; see {}",
                    log_path.display()
                );
            }
            if spawned.elapsed() > Duration::from_secs(60) {
                bail!("deskgate did not start listening within 60 s");
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        let base = format!("http://{address}");
        let first_response = loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status().is_success()
            {
                break spawned.elapsed();
            }
            if spawned.elapsed() > Duration::from_secs(60) {
                bail!("deskgate did not answer /healthz within 60 s");
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        Ok(Deskgate {
            child,
            pid,
            base,
            first_response,
            spawned,
            admin_token: setup.admin_token.clone(),
        })
    }

    /// An MCP URL minted by another deskgate process, pointed at this one.
    pub fn rebase(&self, url: &str) -> String {
        match url.find("/mcp/") {
            Some(at) => format!("{}{}", self.base, &url[at..]),
            None => url.to_owned(),
        }
    }

    /// Time since the process was spawned.
    pub fn since_spawn(&self) -> Duration {
        self.spawned.elapsed()
    }

    pub fn memory(&self) -> system::Memory {
        system::memory(self.pid)
    }

    /// Asks deskgate to stop (SIGTERM, its graceful path) and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }

    async fn api(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let response = client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path} answered {status}: {body}");
        Ok(body)
    }

    /// Connects an account to an upstream; returns its id.
    pub async fn connect(
        &self,
        client: &reqwest::Client,
        name: &str,
        upstream: &Direct,
    ) -> anyhow::Result<String> {
        let body = json!({
            "integration": "gorgias",
            "name": name,
            "credentials": {"subdomain": upstream.subdomain, "email": upstream.email, "api_key": upstream.api_key},
            "api_base_url": upstream.base_url,
        });
        let created = self
            .api(client, reqwest::Method::POST, "/integrated-account", body)
            .await?;
        created["id"]
            .as_str()
            .map(str::to_owned)
            .context("the created account has no id")
    }

    /// Mints an MCP server on an account; returns its URL.
    pub async fn mint(
        &self,
        client: &reqwest::Client,
        account_id: &str,
        name: &str,
        config: Value,
    ) -> anyhow::Result<String> {
        let created = self
            .api(
                client,
                reqwest::Method::POST,
                &format!("/integrated-account/{account_id}/mcp"),
                json!({"name": name, "config": config}),
            )
            .await?;
        created["url"]
            .as_str()
            .map(str::to_owned)
            .context("the minted server has no url")
    }
}

/// The address in the "deskgate is serving" line of a JSON log, once it is there.
fn listening_address(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|line| {
        let record: Value = serde_json::from_str(line).ok()?;
        (record["fields"]["message"] == "deskgate is serving")
            .then(|| record["fields"]["listen"].as_str().map(str::to_owned))
            .flatten()
    })
}

/// A database for one backend's run: a SQLite file in the work directory, or a PostgreSQL
/// database created for this run (`deskgate_bench_<pid>`) and dropped after.
pub struct Database {
    pub url: String,
    /// The server URL and the database name to drop, for PostgreSQL.
    postgres: Option<(String, String)>,
}

impl Database {
    pub fn sqlite(work_dir: &Path) -> Self {
        Database {
            url: format!("sqlite:{}", work_dir.join("deskgate.db").display()),
            postgres: None,
        }
    }

    pub async fn postgres(server_url: &str) -> anyhow::Result<Self> {
        use sqlx::Connection;
        let name = format!("deskgate_bench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(server_url)
            .await
            .with_context(|| "cannot connect to the PostgreSQL server given with --postgres")?;
        // The name is ours (a number), not input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .context("cannot create the benchmark database")?;
        let mut url = url::Url::parse(server_url).context("--postgres is not a URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Database {
            url: url.to_string(),
            postgres: Some((server_url.to_owned(), name)),
        })
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        use sqlx::Connection;
        if let Some((server_url, name)) = self.postgres {
            let mut admin = sqlx::PgConnection::connect(&server_url).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
        }
        Ok(())
    }
}
