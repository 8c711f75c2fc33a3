//! Prometheus metrics: what an operator watches (docs/operations.md says what each means).
//!
//! The `metrics` facade records; `metrics-exporter-prometheus` renders the exposition format at
//! `GET /metrics` (see [`router`]). The recorder is installed once per process
//! ([`install`]); the functions below are what the rest of the service calls, so metric names
//! and labels live in this one file.
//!
//! Labels stay bounded: ids the operator created (MCP servers, accounts), tool names from the
//! catalog (anything else is counted as `other`), fixed enumerations (outcomes, methods, status
//! classes). Never a token, a URL path or free text.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `deskgate_tool_calls_total` | counter | `mcp_server_id`, `tool`, `outcome` |
//! | `deskgate_tool_call_duration_seconds` | histogram | `outcome` |
//! | `deskgate_upstream_request_duration_seconds` | histogram | `method`, `status` |
//! | `deskgate_upstream_rate_limited_total` | counter | — |
//! | `deskgate_upstream_rate_limit_remaining` / `_limit` | gauge | `integrated_account_id` |
//! | `deskgate_audit_write_duration_seconds` | histogram | — |
//! | `deskgate_tenant_cache_lookups_total` | counter | `result` (`hit`, `miss`) |
//! | `deskgate_sse_streams_open` | gauge | — |
//! | `deskgate_db_pool_connections` | gauge | `state` (`in_use`, `idle`) |
//! | `deskgate_build_info` | gauge | `version` |

use std::collections::HashSet;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::App;
use crate::audit::Outcome;

/// Bucket bounds (seconds) for every duration histogram: from a cached read (~1 ms) to the
/// upstream timeout's range.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The label a tool name outside the catalog is counted under (a client can send any name).
const OTHER_TOOL: &str = "other";

/// Tools deskgate serves besides the catalog's (discovery and ChatGPT's search/fetch).
const BUILT_IN_TOOLS: &[&str] = &[
    "search_tools",
    "get_tool_schema",
    "call_tool",
    "call_write_tool",
    "search",
    "fetch",
];

struct Telemetry {
    handle: PrometheusHandle,
    known_tools: RwLock<HashSet<Arc<str>>>,
}

static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();

/// Installs the process's recorder (once; later calls only add `tools` to the known names) and
/// returns the handle `/metrics` renders from. A recorder another library installed first
/// leaves deskgate's metrics unrecorded; that is logged, not fatal.
pub fn install<'a>(tools: impl IntoIterator<Item = &'a str>) -> &'static PrometheusHandle {
    let telemetry = TELEMETRY.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
            .expect("the duration buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        // Histogram samples are buffered until upkeep folds them in: do it even when nobody
        // scrapes, so memory stays flat.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .expect("spawn the metrics upkeep thread");
        gauge!("deskgate_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Telemetry {
            handle,
            known_tools: RwLock::new(BUILT_IN_TOOLS.iter().map(|&t| Arc::from(t)).collect()),
        }
    });
    let mut known = telemetry
        .known_tools
        .write()
        .expect("metrics tool names lock poisoned");
    for tool in tools {
        if !known.contains(tool) {
            known.insert(Arc::from(tool));
        }
    }
    &telemetry.handle
}

/// The tool as a label: its name when the catalog has it, else `other`.
fn tool_label(tool: &str) -> Arc<str> {
    TELEMETRY
        .get()
        .and_then(|t| {
            t.known_tools
                .read()
                .expect("metrics tool names lock poisoned")
                .get(tool)
                .cloned()
        })
        .unwrap_or_else(|| Arc::from(OTHER_TOOL))
}

// --- what the service records ---

/// One finished `tools/call` (any transport), with how long it took end to end.
pub fn tool_call(mcp_server_id: &str, tool: &str, outcome: Outcome, duration: Duration) {
    counter!(
        "deskgate_tool_calls_total",
        "mcp_server_id" => mcp_server_id.to_owned(),
        "tool" => tool_label(tool).to_string(),
        "outcome" => outcome.as_str(),
    )
    .increment(1);
    histogram!("deskgate_tool_call_duration_seconds", "outcome" => outcome.as_str())
        .record(duration.as_secs_f64());
}

/// What became of one upstream (Gorgias) request, as [`upstream_latency`] labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamResult {
    /// An answer with this status.
    Status(u16),
    Timeout,
    Unreachable,
    Interrupted,
}

impl UpstreamResult {
    fn label(self) -> &'static str {
        match self {
            UpstreamResult::Status(429) => "429",
            UpstreamResult::Status(200..=299) => "2xx",
            UpstreamResult::Status(300..=399) => "3xx",
            UpstreamResult::Status(400..=499) => "4xx",
            UpstreamResult::Status(_) => "5xx",
            UpstreamResult::Timeout => "timeout",
            UpstreamResult::Unreachable => "unreachable",
            UpstreamResult::Interrupted => "interrupted",
        }
    }
}

/// One upstream request: its method, what came of it and how long it took. A 429 is also
/// counted in `deskgate_upstream_rate_limited_total`.
pub fn upstream_latency(method: &http::Method, result: UpstreamResult, duration: Duration) {
    let method = match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        _ => "other",
    };
    histogram!(
        "deskgate_upstream_request_duration_seconds",
        "method" => method,
        "status" => result.label(),
    )
    .record(duration.as_secs_f64());
    if result == UpstreamResult::Status(429) {
        counter!("deskgate_upstream_rate_limited_total").increment(1);
    }
}

/// The rate-limit headroom Gorgias last reported for an account (its `ratelimit-*` headers).
pub fn rate_limit_headroom(integrated_account_id: &str, remaining: u64, limit: u64) {
    gauge!("deskgate_upstream_rate_limit_remaining", "integrated_account_id" => integrated_account_id.to_owned())
        .set(remaining as f64);
    gauge!("deskgate_upstream_rate_limit_limit", "integrated_account_id" => integrated_account_id.to_owned())
        .set(limit as f64);
}

/// One write of audit records (a group commit), with how long it took.
pub fn audit_write(duration: Duration) {
    histogram!("deskgate_audit_write_duration_seconds").record(duration.as_secs_f64());
}

/// One MCP token lookup: served from the tenant cache, or read from the store.
pub fn tenant_lookup(cache_hit: bool) {
    counter!(
        "deskgate_tenant_cache_lookups_total",
        "result" => if cache_hit { "hit" } else { "miss" },
    )
    .increment(1);
}

// --- the endpoint ---

/// `GET /metrics`. Behind an admin API token unless the server was started with
/// `--public-metrics` (a scraper inside a private network).
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    if !app.config.public_metrics {
        let headers = request.headers();
        let client = app.client_address(headers, request.extensions());
        match app
            .authenticate_api_token(crate::api::bearer_token(headers), client)
            .await
            .and_then(|token| token.require_admin())
        {
            Ok(()) => {}
            Err(e) => return e.into_response(),
        }
    }
    // Gauges read at scrape time: what is open now.
    gauge!("deskgate_sse_streams_open").set(app.sse.open_streams() as f64);
    let (in_use, idle) = app.store.pool_usage();
    gauge!("deskgate_db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    gauge!("deskgate_db_pool_connections", "state" => "idle").set(f64::from(idle));
    let handle = install([]);
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tools_are_counted_as_other() {
        install(["list_all_gorgias_tickets"]);
        assert_eq!(
            &*tool_label("list_all_gorgias_tickets"),
            "list_all_gorgias_tickets"
        );
        assert_eq!(&*tool_label("search_tools"), "search_tools");
        assert_eq!(&*tool_label("'; drop table --"), OTHER_TOOL);
    }

    #[test]
    fn status_classes_are_bounded() {
        assert_eq!(UpstreamResult::Status(429).label(), "429");
        assert_eq!(UpstreamResult::Status(404).label(), "4xx");
        assert_eq!(UpstreamResult::Status(201).label(), "2xx");
        assert_eq!(UpstreamResult::Status(503).label(), "5xx");
        assert_eq!(UpstreamResult::Status(999).label(), "5xx");
    }
}
