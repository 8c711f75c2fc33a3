//! Speaking MCP to deskgate, as a load generator needs to: ready-made Streamable HTTP requests
//! (stateless JSON mode: no `initialize` needed before a call) and legacy HTTP+SSE streams.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use crate::load::Target;

/// The protocol revision the requests announce.
const PROTOCOL_VERSION: &str = "2025-11-25";

/// The tool measured: one Gorgias ticket by id.
pub const TICKET_TOOL: &str = "get_single_gorgias_ticket_by_id";

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    headers.insert(
        "mcp-protocol-version",
        HeaderValue::from_static(PROTOCOL_VERSION),
    );
    headers
}

pub fn request(url: &str, message: &Value) -> Target {
    Target {
        method: reqwest::Method::POST,
        url: url.to_owned(),
        headers: headers(),
        body: Some(Bytes::from(message.to_string())),
        // A tool error (an upstream 4xx, a 429) is a 200 at the HTTP level.
        error_marker: Some(r#""isError":true"#),
    }
}

pub fn call_ticket(url: &str, ticket_id: u64) -> Target {
    request(url, &call_ticket_message(ticket_id))
}

/// The protocol era a request is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `initialize`-era (2025-11-25) requests, sent statelessly without an `initialize`.
    Initialize,
    /// The stateless 2026-07-28 era: version and capabilities in every request's `_meta`,
    /// SEP-2243 `Mcp-Method`/`Mcp-Name` headers.
    Stateless,
}

impl Era {
    pub const ALL: [Era; 2] = [Era::Initialize, Era::Stateless];

    pub fn label(self) -> &'static str {
        match self {
            Era::Initialize => "2025-11-25",
            Era::Stateless => "2026-07-28",
        }
    }
}

/// The ticket call as a client of `era` sends it. `extra_meta` adds a `_meta` member that
/// nothing needs (a progress token): deskgate then answers through rmcp rather than its fast
/// path, which is how the bench measures both.
pub fn call_ticket_in(url: &str, ticket_id: u64, era: Era, extra_meta: bool) -> Target {
    let mut message = call_ticket_message(ticket_id);
    let mut target = match era {
        Era::Initialize => {
            if extra_meta {
                message["params"]["_meta"] = json!({"progressToken": "bench"});
            }
            request(url, &message)
        }
        Era::Stateless => {
            let mut meta = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            });
            if extra_meta {
                meta["progressToken"] = json!("bench");
            }
            message["params"]["_meta"] = meta;
            let mut target = request(url, &message);
            target.headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_static("2026-07-28"),
            );
            target
                .headers
                .insert("mcp-method", HeaderValue::from_static("tools/call"));
            target
                .headers
                .insert("mcp-name", HeaderValue::from_static(TICKET_TOOL));
            target
        }
    };
    target.body = Some(Bytes::from(message.to_string()));
    target
}

/// `tools/list` as a client of `era` sends it.
pub fn list_tools_in(url: &str, era: Era) -> Target {
    match era {
        Era::Initialize => list_tools(url),
        Era::Stateless => {
            let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            }}});
            let mut target = request(url, &message);
            target.headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_static("2026-07-28"),
            );
            target
                .headers
                .insert("mcp-method", HeaderValue::from_static("tools/list"));
            target
        }
    }
}

fn call_ticket_message(ticket_id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": TICKET_TOOL, "arguments": {"id": ticket_id}}})
}

pub fn list_tools(url: &str) -> Target {
    request(
        url,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
}

pub fn ping(url: &str) -> Target {
    request(url, &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
}

/// Sends a request once and checks it succeeded; returns the reply body.
pub async fn once(client: &reqwest::Client, target: &Target) -> anyhow::Result<Bytes> {
    let (ok, body) = target.send(client).await;
    if !ok {
        bail!(
            "{} failed: {}",
            target.url.split("/mcp/").next().unwrap_or_default(),
            String::from_utf8_lossy(&body[..body.len().min(500)])
        );
    }
    Ok(body)
}

/// One open legacy HTTP+SSE stream, proven live by a tool call answered on it.
pub struct SseStream {
    _response: reqwest::Response,
}

impl SseStream {
    /// `GET <url>/sse`, reads the `endpoint` event, posts a `tools/call` to it and reads the
    /// reply off the stream.
    pub async fn open(client: &reqwest::Client, url: &str, ticket_id: u64) -> anyhow::Result<Self> {
        let base = url.split("/mcp/").next().unwrap_or_default().to_owned();
        let mut response = client
            .get(format!("{url}/sse"))
            .header(ACCEPT, "text/event-stream")
            .send()
            .await?
            .error_for_status()?;
        let mut buffer = String::new();
        let endpoint = read_event(&mut response, &mut buffer, "endpoint").await?;
        let posted = client
            .post(format!("{base}{endpoint}"))
            .header(CONTENT_TYPE, "application/json")
            .body(call_ticket_message(ticket_id).to_string())
            .send()
            .await?;
        if posted.status() != reqwest::StatusCode::ACCEPTED {
            bail!("posting on an SSE session answered {}", posted.status());
        }
        let reply = read_event(&mut response, &mut buffer, "message").await?;
        if reply.contains(r#""isError":true"#) {
            bail!("the call on an SSE stream failed: {reply}");
        }
        Ok(SseStream {
            _response: response,
        })
    }
}

/// Reads the stream until an event named `name` is complete; returns its data.
async fn read_event(
    response: &mut reqwest::Response,
    buffer: &mut String,
    name: &str,
) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let mut kind = "message";
            let mut data = Vec::new();
            for line in event.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            if kind == name {
                return Ok(data.join("\n"));
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .with_context(|| format!("no `{name}` event within 30 s"))??
            .with_context(|| format!("the SSE stream ended before a `{name}` event"))?;
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}
