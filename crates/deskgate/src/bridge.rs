//! `deskgate connect <url>`: a stdio bridge for clients that only launch local MCP servers
//! (Claude Desktop's config file, some IDEs). Each line on stdin is one JSON-RPC message; it is
//! POSTed to the MCP URL and every message of the reply is written to stdout, one per line.
//!
//! The bridge forwards raw JSON-RPC without interpreting it, so it works with every protocol
//! revision the server speaks. It only reads what the HTTP headers need ([`message_headers`]):
//! the version `initialize` negotiated, or in the 2026-07-28 era the version each message
//! carries in its `_meta`, with that era's `Mcp-Method` and `Mcp-Name` headers. An SDK
//! client/server pair would re-encode every message and pin the bridge to the SDK's revision;
//! this is small enough to own.
//!
//! The MCP URL is the credential, so it is never printed whole: errors name it with its token
//! cut out, as the server's logs do.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, RwLock};

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The MCP URL, e.g. `https://deskgate.example.com/mcp/dgm_…`. Read as text and parsed
    /// here, so that a mistyped URL is never echoed with its token (clap quotes bad values).
    pub url: String,
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
    let url = url::Url::parse(&args.url).map_err(|e| {
        anyhow::anyhow!("the MCP URL is not a URL ({e}); expected https://<host>/mcp/<token>")
    })?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https"),
        "the MCP URL must be http(s), got {}",
        url.scheme()
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
        url,
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
        match self.post(&message, &line).await {
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
    async fn post(&self, message: &Value, body: &str) -> Result<Vec<Value>, String> {
        let negotiated = self.protocol_version.read().await.clone();
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
        for (name, value) in message_headers(message, negotiated.as_deref()) {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| {
            format!(
                "cannot reach the MCP server at {}: {}",
                redacted_url(&self.url),
                error_chain(&e.without_url())
            )
        })?;
        let status = response.status();
        let is_event_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let text = response
            .text()
            .await
            .map_err(|e| format!("the reply broke off: {}", error_chain(&e.without_url())))?;
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

/// The headers a message needs besides the fixed ones. `MCP-Protocol-Version` is the version
/// the message carries in its own `_meta` (the 2026-07-28 era, where every request names it),
/// else the one `initialize` negotiated. A message that carries its version also gets SEP-2243's
/// `Mcp-Method` and, for the methods that name a target, `Mcp-Name`, which servers of that era
/// check against the body (-32020 when they are missing or differ).
///
/// The rules follow the spec as rmcp implements them (its `transport::common::mcp_headers`,
/// crate-private): the name comes from `params.name` (tools/call, prompts/get), `params.uri`
/// (resources/read, subscribe, unsubscribe) or `params.taskId` (tasks/get, update, cancel), and a
/// value that cannot travel as a plain header value is sent as `=?base64?<base64>?=`.
/// `Mcp-Param-*` headers are not sent: they exist for tool arguments whose schema asks for them
/// (`x-mcp-header`), and deskgate's tools ask for none.
fn message_headers(message: &Value, negotiated: Option<&str>) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = Vec::new();
    let own_version = message
        .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
        .and_then(Value::as_str);
    if let Some(version) = own_version.or(negotiated)
        && let Ok(value) = HeaderValue::from_str(version)
    {
        headers.push((HeaderName::from_static("mcp-protocol-version"), value));
    }
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return headers;
    };
    if own_version.is_none() {
        return headers;
    }
    if let Ok(value) = HeaderValue::from_str(method) {
        headers.push((HeaderName::from_static("mcp-method"), value));
    }
    let name_key = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    };
    if let Some(name) = name_key
        .and_then(|key| message.get("params")?.get(key))
        .and_then(Value::as_str)
        && let Ok(value) = HeaderValue::from_str(&header_safe(name))
    {
        headers.push((HeaderName::from_static("mcp-name"), value));
    }
    headers
}

const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// A value as SEP-2243 sends it: as it is when it can be a plain header value, else Base64 in
/// the `=?base64?…?=` sentinel (leading or trailing space or tab, control or non-ASCII
/// characters, or a value that itself looks like the sentinel).
fn header_safe(value: &str) -> String {
    let needs_base64 = value.starts_with([' ', '\t'])
        || value.ends_with([' ', '\t'])
        || value.chars().any(|c| !(' '..='~').contains(&c))
        || (value.starts_with(BASE64_PREFIX) && value.ends_with(BASE64_SUFFIX));
    if needs_base64 {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        format!("{BASE64_PREFIX}{encoded}{BASE64_SUFFIX}")
    } else {
        value.to_owned()
    }
}

/// The MCP URL as it may be shown: no token, no query.
fn redacted_url(url: &url::Url) -> String {
    format!(
        "{}{}",
        url.origin().ascii_serialization(),
        crate::mcp::redacted_path(url.path())
    )
}

/// An error and its causes on one line (reqwest's own message leaves the cause out).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(message: Value, negotiated: Option<&str>) -> Vec<(String, String)> {
        message_headers(&message, negotiated)
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    fn meta() -> Value {
        json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": {}})
    }

    #[test]
    fn era_2026_messages_name_their_version_method_and_target() {
        let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                              "params": {"_meta": meta()}});
        assert_eq!(
            headers(discover, None),
            [
                ("mcp-protocol-version".to_owned(), "2026-07-28".to_owned()),
                ("mcp-method".to_owned(), "server/discover".to_owned()),
            ]
        );
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                          "params": {"name": "list_all_gorgias_tags", "arguments": {}, "_meta": meta()}});
        assert_eq!(
            headers(call, Some("2025-11-25")),
            [
                ("mcp-protocol-version".to_owned(), "2026-07-28".to_owned()),
                ("mcp-method".to_owned(), "tools/call".to_owned()),
                ("mcp-name".to_owned(), "list_all_gorgias_tags".to_owned()),
            ]
        );
        let read = json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read",
                          "params": {"uri": "file:///a", "_meta": meta()}});
        assert_eq!(headers(read, None)[2].1, "file:///a");
    }

    #[test]
    fn older_era_messages_carry_only_the_negotiated_version() {
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                          "params": {"name": "x", "arguments": {}}});
        assert_eq!(
            headers(call.clone(), Some("2025-06-18")),
            [("mcp-protocol-version".to_owned(), "2025-06-18".to_owned())]
        );
        assert!(headers(call, None).is_empty());
    }

    #[test]
    fn names_that_cannot_be_header_values_travel_as_base64() {
        assert_eq!(
            header_safe("list_all_gorgias_tags"),
            "list_all_gorgias_tags"
        );
        assert_eq!(header_safe("café"), "=?base64?Y2Fmw6k=?=");
        assert_eq!(header_safe(" padded"), "=?base64?IHBhZGRlZA==?=");
        assert_eq!(header_safe("a\nb"), "=?base64?YQpi?=");
        assert_eq!(
            header_safe("=?base64?eA==?="),
            "=?base64?PT9iYXNlNjQ/ZUE9PT89?="
        );
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                          "params": {"name": "ツール", "_meta": meta()}});
        assert_eq!(headers(call, None)[2].1, "=?base64?44OE44O844Or?=");
    }

    #[test]
    fn urls_are_shown_without_their_token() {
        let url: url::Url = "https://deskgate.example.com/mcp/dgm_secret?x=1"
            .parse()
            .unwrap();
        assert_eq!(
            redacted_url(&url),
            "https://deskgate.example.com/mcp/<token>"
        );
    }
}
