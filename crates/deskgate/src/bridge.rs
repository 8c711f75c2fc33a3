//! `deskgate connect <url>`: a stdio bridge for clients that only launch local MCP servers
//! (Claude Desktop's config file, some IDEs). Each line on stdin is one JSON-RPC message; it is
//! POSTed to the MCP URL and every message of the reply is written to stdout, one per line.
//!
//! The bridge forwards raw JSON-RPC without interpreting it (beyond remembering the negotiated
//! protocol version for the `MCP-Protocol-Version` header), so it works with every protocol
//! revision the server speaks. An SDK client/server pair would re-encode every message and pin
//! the bridge to the SDK's revision; this is small enough to own.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, RwLock};

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The MCP URL, e.g. `https://deskgate.example.com/mcp/dgm_…`.
    pub url: url::Url,
    /// Extra request header, `Name: value` (repeatable), e.g. for `require_api_token_auth`:
    /// `--header "Authorization: Bearer dga_…"`.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Seconds to wait for one reply.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
}

struct Bridge {
    http: reqwest::Client,
    url: url::Url,
    headers: reqwest::header::HeaderMap,
    protocol_version: RwLock<Option<String>>,
    stdout: Mutex<tokio::io::Stdout>,
}

pub async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        matches!(args.url.scheme(), "http" | "https"),
        "the MCP URL must be http(s), got {}",
        args.url.scheme()
    );
    let mut headers = reqwest::header::HeaderMap::new();
    for raw in &args.headers {
        let (name, value) = raw
            .split_once(':')
            .with_context(|| format!("--header {raw:?} is not `Name: value`"))?;
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                .context("bad header name")?,
            reqwest::header::HeaderValue::from_str(value.trim()).context("bad header value")?,
        );
    }
    let bridge = Arc::new(Bridge {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(args.timeout_secs))
            .tcp_nodelay(true)
            .build()?,
        url: args.url,
        headers,
        protocol_version: RwLock::new(None),
        stdout: Mutex::new(tokio::io::stdout()),
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut pending = tokio::task::JoinSet::new();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let bridge = bridge.clone();
        // `initialize` must finish before anything else is sent (its reply sets the version).
        let is_initialize = line.contains("\"initialize\"");
        let task = async move { bridge.forward(line).await };
        if is_initialize {
            task.await;
        } else {
            pending.spawn(task);
        }
        while pending.try_join_next().is_some() {}
    }
    while pending.join_next().await.is_some() {}
    Ok(())
}

impl Bridge {
    async fn forward(&self, line: String) {
        let message: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                self.write(&json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("parse error: {e}")}}))
                    .await;
                return;
            }
        };
        let id = message.get("id").cloned();
        let is_initialize = message.get("method").and_then(Value::as_str) == Some("initialize");
        match self.post(&line).await {
            Ok(replies) => {
                for mut reply in replies {
                    // A refusal before any JSON-RPC (unknown or expired URL, missing API token)
                    // comes back with `"id": null`; a stdio client waits for its own id and would
                    // hang, so the error is given the id of the request it answers.
                    if reply.get("error").is_some()
                        && reply.get("id").is_none_or(Value::is_null)
                        && let Some(id) = id.as_ref().filter(|i| !i.is_null())
                    {
                        reply["id"] = id.clone();
                    }
                    if is_initialize
                        && let Some(version) = reply
                            .pointer("/result/protocolVersion")
                            .and_then(Value::as_str)
                    {
                        *self.protocol_version.write().await = Some(version.to_owned());
                    }
                    self.write(&reply).await;
                }
            }
            Err(why) => {
                eprintln!("deskgate connect: {why}");
                if let Some(id) = id.filter(|i| !i.is_null()) {
                    self.write(&json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": why}}))
                        .await;
                }
            }
        }
    }

    /// POSTs one message and returns the JSON-RPC messages of the reply.
    async fn post(&self, body: &str) -> Result<Vec<Value>, String> {
        let mut request = self
            .http
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .body(body.to_owned());
        if let Some(version) = self.protocol_version.read().await.as_deref() {
            request = request.header("MCP-Protocol-Version", version);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach the MCP server: {e}"))?;
        let status = response.status();
        let is_event_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let text = response
            .text()
            .await
            .map_err(|e| format!("the reply broke off: {e}"))?;
        if status == reqwest::StatusCode::ACCEPTED || text.trim().is_empty() {
            return if status.is_success() {
                Ok(Vec::new())
            } else {
                Err(format!("the MCP server answered HTTP {status}"))
            };
        }
        let payloads: Vec<String> = if is_event_stream {
            text.split("\n\n")
                .map(|event| {
                    event
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(|d| d.trim_start())
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .filter(|d| !d.trim().is_empty())
                .collect()
        } else {
            vec![text.clone()]
        };
        let messages: Vec<Value> = payloads
            .iter()
            .filter_map(|p| serde_json::from_str::<Value>(p).ok())
            .filter(|v| v.get("jsonrpc").is_some())
            .collect();
        if messages.is_empty() {
            let snippet: String = text.chars().take(200).collect();
            return Err(format!("the MCP server answered HTTP {status}: {snippet}"));
        }
        Ok(messages)
    }

    async fn write(&self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        let mut stdout = self.stdout.lock().await;
        // A closed stdout means the client went away; there is nobody left to tell.
        let _ = stdout.write_all(line.as_bytes()).await;
        let _ = stdout.flush().await;
    }
}
