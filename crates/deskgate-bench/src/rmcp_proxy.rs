//! The bare rmcp proxy: the baseline contender issue 18 measures deskgate against.
//!
//! A complete MCP server written the plain way with the same SDK deskgate uses (rmcp, same
//! version, same features, stateless Streamable HTTP with JSON replies) plus reqwest: one tool,
//! `get_single_gorgias_ticket_by_id`, no auth, no audit, no filters, no policies. A call is
//! forwarded as `GET {upstream}/api/tickets/{id}` with the upstream's Basic credentials, and
//! answered as deskgate answers an older-era call: the body as a text block and the parsed
//! object as `structuredContent` (an upstream 4xx/5xx is a tool error).
//!
//! It runs as its own process (this executable re-run as `deskgate-bench __rmcp_proxy URL`, the
//! `Authorization` value in `DESKGATE_BENCH_UPSTREAM_AUTH`, never on the command line), on
//! the same tokio runtime as deskgate, so its CPU time and memory are its own. rmcp negotiates
//! both protocol eras by itself, so the same process is the baseline for both.

use std::ffi::OsStr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::serve::ListenerExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// The hidden first argument that turns this executable into the rmcp proxy.
const CHILD_ARG: &str = "__rmcp_proxy";
/// Where the child finds the upstream's `Authorization` value.
const AUTH_ENV: &str = "DESKGATE_BENCH_UPSTREAM_AUTH";
const TOOL: &str = crate::mcp::TICKET_TOOL;

/// When this process was started as the rmcp proxy, runs it: `__rmcp_proxy UPSTREAM_BASE`.
pub fn child_main() -> Option<anyhow::Result<()>> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(CHILD_ARG)) {
        return None;
    }
    let upstream = args.next()?.into_string().ok()?;
    let authorization = std::env::var(AUTH_ENV).ok()?;
    Some(crate::block_on(serve(upstream, authorization)))
}

#[derive(Clone)]
struct Proxy {
    client: reqwest::Client,
    upstream: Arc<str>,
    authorization: Arc<str>,
    tool: Tool,
}

async fn serve(upstream: String, authorization: String) -> anyhow::Result<()> {
    let schema = match json!({
        "type": "object",
        "properties": {"id": {"type": "integer", "description": "The ticket's id."}},
        "required": ["id"],
    }) {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("a literal object"),
    };
    let proxy = Proxy {
        // Set up like deskgate's upstream client.
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .build()?,
        upstream: upstream.into(),
        authorization: authorization.into(),
        tool: Tool::new(TOOL, "Get one Gorgias ticket by its id.", schema),
    };
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts();
    let service = StreamableHttpService::new(
        move || Ok(proxy.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let router = Router::new().nest_service("/mcp", service);
    axum::serve(listener, router.into_make_service()).await?;
    Ok(())
}

impl ServerHandler for Proxy {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![self.tool.clone()]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != TOOL {
            return Err(ErrorData::invalid_params(
                format!("unknown tool: {}", request.name),
                None,
            ));
        }
        let arguments = request.arguments.unwrap_or_default();
        let Some(id) = arguments.get("id").and_then(Value::as_u64) else {
            return Ok(error_result("`id` must be a ticket id (an integer)".into()));
        };
        let reply = self
            .client
            .get(format!("{}/api/tickets/{id}", self.upstream))
            .header(reqwest::header::AUTHORIZATION, &*self.authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => return Ok(error_result(format!("the upstream failed: {e}"))),
        };
        let status = reply.status();
        let text = match reply.text().await {
            Ok(text) => text,
            Err(e) => return Ok(error_result(format!("the upstream failed: {e}"))),
        };
        if !status.is_success() {
            return Ok(error_result(format!(
                "the upstream answered {status}: {text}"
            )));
        }
        let structured = match serde_json::from_str::<Value>(&text) {
            Ok(value @ Value::Object(_)) => value,
            Ok(other) => Value::Object(Map::from_iter([("result".to_owned(), other)])),
            Err(e) => return Ok(error_result(format!("the upstream's JSON is invalid: {e}"))),
        };
        let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
        result.structured_content = Some(structured);
        Ok(result.into())
    }
}

fn error_result(message: String) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message)]).into()
}

/// A running rmcp proxy; its MCP endpoint is `{base}/mcp`.
pub struct RmcpProxy {
    _child: Child,
    pub pid: u32,
    pub url: String,
}

impl RmcpProxy {
    /// Starts the proxy in front of `direct`'s upstream, with its credentials.
    pub async fn start(direct: &crate::upstreams::Direct) -> anyhow::Result<Self> {
        let authorization = direct
            .headers()
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .context("the upstream has no Authorization")?
            .to_owned();
        let mut child = Command::new(std::env::current_exe()?)
            .arg(CHILD_ARG)
            .arg(&direct.base_url)
            .env(AUTH_ENV, authorization)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the rmcp proxy")?;
        let pid = child.id().context("the rmcp proxy exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("the rmcp proxy did not start within 30 s")??;
        let Some(address) = line.trim().strip_prefix("listening ") else {
            bail!("the rmcp proxy did not start: {line:?}");
        };
        Ok(RmcpProxy {
            url: format!("http://{address}/mcp"),
            _child: child,
            pid,
        })
    }
}
