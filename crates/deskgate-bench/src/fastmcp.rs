//! The FastMCP contender: `FastMCP.from_openapi` (Python) over the OpenAPI document deskgate
//! exports for the same integration, in a process of its own (`fastmcp_contender.py`).
//!
//! Optional: it runs only where a Python with FastMCP is found (`--fastmcp-python`, or
//! `DESKGATE_BENCH_PYTHON`, or `.tools/bench-venv/bin/python` in the workspace, which
//! `crates/deskgate-bench/install-fastmcp.sh` creates); otherwise the report says it was skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SCRIPT: &str = include_str!("../fastmcp_contender.py");

/// The Python to run FastMCP with, if one is there.
pub fn python(explicit: Option<PathBuf>) -> Option<PathBuf> {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/bench-venv/bin/python");
    explicit
        .or_else(|| std::env::var_os("DESKGATE_BENCH_PYTHON").map(PathBuf::from))
        .or_else(|| default.is_file().then_some(default))
}

/// A running FastMCP server; its MCP endpoint is `url`.
pub struct FastMcp {
    _child: Child,
    pub pid: u32,
    pub url: String,
}

impl FastMcp {
    pub async fn start(
        python: &Path,
        work_dir: &Path,
        direct: &crate::upstreams::Direct,
    ) -> anyhow::Result<Self> {
        let integration = deskgate::integration::Integration::gorgias(Duration::from_secs(60))?;
        let spec = work_dir.join("gorgias.openapi.json");
        std::fs::write(&spec, serde_json::to_vec(&integration.openapi())?)?;
        let script = work_dir.join("fastmcp_contender.py");
        std::fs::write(&script, SCRIPT)?;
        let authorization = direct
            .headers()
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .context("the upstream has no Authorization")?
            .to_owned();
        let mut child = Command::new(python)
            .arg(&script)
            .arg(&spec)
            .arg(&direct.base_url)
            .env("DESKGATE_BENCH_UPSTREAM_AUTH", authorization)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start FastMCP with {}", python.display()))?;
        let pid = child.id().context("FastMCP exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("FastMCP did not start within 60 s")??;
        let Some(address) = line.trim().strip_prefix("listening ") else {
            bail!("FastMCP did not start: {line:?}");
        };
        Ok(FastMcp {
            url: format!("http://{address}/mcp"),
            _child: child,
            pid,
        })
    }
}
