//! Plain stateless `tools/call` POSTs, answered without rmcp's per-request service.
//!
//! In stateless mode rmcp builds a whole service for every POST (task spawns, channels, a
//! span), and its result type holds the structured content as a `serde_json::Value`, so the
//! upstream's reply had to be parsed into a tree, serialized back and dropped. Together that
//! was most of the instructions of a call (see BENCHMARKS.md). Here, a request that is plainly
//! an older-era (≤ 2025-11-25) `tools/call` is handled directly, and the upstream's JSON object
//! is written into the reply as received.
//!
//! "Plainly" is deliberately narrow, so that rmcp's answer and this one cannot differ: the
//! POST has a JSON `Content-Type`, an `Accept` listing both JSON and SSE without parameters, a
//! declared length within the body limit, no or a pre-2026 `MCP-Protocol-Version` (so no
//! SEP-2243 header rules apply), and a body that is exactly `{jsonrpc: "2.0", id, method:
//! "tools/call", params: {name, arguments?}}` (no `_meta`, nothing else), for a server that
//! exposes all its tools. Everything else (initialize, tools/list, discovery mode, newer
//! protocol versions, anything malformed) goes to rmcp untouched, with the same body.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::model::{ErrorData, ProtocolVersion, RequestId, ServerJsonRpcMessage};
use serde::Deserialize;
use serde_json::{Map, Value};
use tower::ServiceExt;

use super::McpState;
use super::handler::Caller;
use crate::calls::{CallResult, ToolCall};
use crate::mcp_servers::ToolExposure;

/// The one message shape this path answers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainCall {
    jsonrpc: String,
    id: RequestId,
    method: String,
    params: PlainParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainParams {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

/// `<base>/mcp/<token>` over Streamable HTTP: plain calls here, everything else to rmcp.
pub(super) async fn streamable_http(State(state): State<McpState>, request: Request) -> Response {
    let limit = state.app.config.max_body_bytes;
    if !is_plain_post(request.method(), request.headers(), limit) {
        return to_rmcp(&state, request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "Bad Request: the body could not be read",
            )
                .into_response();
        }
    };
    let plain = serde_json::from_slice::<PlainCall>(&bytes)
        .ok()
        .filter(|c| c.jsonrpc == "2.0" && c.method == "tools/call");
    let caller = Caller::of(&parts);
    let (Some(call), Some(caller)) = (plain, caller) else {
        return to_rmcp(&state, Request::from_parts(parts, Body::from(bytes))).await;
    };
    if caller.tenant.server.config.tool_exposure != ToolExposure::All {
        return to_rmcp(&state, Request::from_parts(parts, Body::from(bytes))).await;
    }

    let client = caller.known_client(&state.clients);
    let arguments = call.params.arguments.unwrap_or_default();
    let reply = match state
        .app
        .call_tool(
            &caller.tenant,
            ToolCall {
                name: call.params.name,
                arguments,
                client,
            },
        )
        .await
    {
        Ok(result) => {
            if let Some(limit) = result.rate_limit {
                caller.slot.set(limit);
            }
            tool_result(&call.id, &result)
        }
        // As rmcp answers a handler's `invalid_params`: a JSON-RPC error, HTTP 200.
        Err(unknown) => serde_json::to_vec(&ServerJsonRpcMessage::error(
            ErrorData::invalid_params(unknown.to_string(), None),
            Some(call.id),
        ))
        .expect("a JSON-RPC error always serializes"),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        reply,
    )
        .into_response()
}

async fn to_rmcp(state: &McpState, request: Request) -> Response {
    match state.service.clone().oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

fn is_plain_post(method: &Method, headers: &HeaderMap, limit: usize) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let json_body = text(header::CONTENT_TYPE).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    });
    // Weights or parameters are left to rmcp's full Accept parsing.
    let accepts_both = text(header::ACCEPT).is_some_and(|accept| {
        !accept.contains(';') && {
            let types: Vec<&str> = accept.split(',').map(str::trim).collect();
            ["application/json", "text/event-stream"]
                .iter()
                .all(|wanted| types.iter().any(|t| t.eq_ignore_ascii_case(wanted)))
        }
    });
    let within_limit = text(header::CONTENT_LENGTH)
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|length| length <= limit);
    let older_era = match headers.get("mcp-protocol-version") {
        None => true,
        Some(version) => version.to_str().is_ok_and(|v| {
            v < ProtocolVersion::V_2026_07_28.as_str()
                && ProtocolVersion::KNOWN_VERSIONS
                    .iter()
                    .any(|known| known.as_str() == v)
        }),
    };
    method == Method::POST && json_body && accepts_both && within_limit && older_era
}

/// `{"jsonrpc":"2.0","id":…,"result":{"content":[{"type":"text","text":…}],"structuredContent":…,"isError":…}}`,
/// the same members rmcp writes for an older-era peer. Written here rather than through
/// rmcp's `CallToolResult` because that type can only hold the structured content as a parsed
/// tree; the framing is fixed and every value in it is written by serde_json.
fn tool_result(id: &RequestId, result: &CallResult) -> Vec<u8> {
    let mut out = Vec::with_capacity(result.text.len() * 2 + 128);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut out, id).expect("a request id always serializes");
    out.extend_from_slice(br#","result":{"content":[{"type":"text","text":"#);
    serde_json::to_writer(&mut out, &result.text).expect("a string always serializes");
    out.extend_from_slice(br#"}],"structuredContent":"#);
    result.structured.write_json(&result.text, &mut out);
    out.extend_from_slice(if result.is_error {
        br#","isError":true}}"#
    } else {
        br#","isError":false}}"#
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    const PLAIN: [(&str, &str); 3] = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("content-length", "100"),
    ];

    #[test]
    fn only_plain_older_era_posts_qualify() {
        assert!(is_plain_post(&Method::POST, &headers(&PLAIN), 1000));
        let with = |extra: (&'static str, &'static str)| {
            let mut h = headers(&PLAIN);
            h.insert(extra.0, HeaderValue::from_static(extra.1));
            is_plain_post(&Method::POST, &h, 1000)
        };
        assert!(with(("mcp-protocol-version", "2025-11-25")));
        assert!(with(("mcp-protocol-version", "2025-06-18")));
        assert!(!with(("mcp-protocol-version", "2026-07-28")));
        assert!(!with(("mcp-protocol-version", "1999-01-01")));
        assert!(!with(("accept", "application/json")));
        assert!(!with(("accept", "application/json;q=0, text/event-stream")));
        assert!(!with(("content-type", "text/plain")));
        assert!(!with(("content-length", "1001")));
        assert!(!is_plain_post(&Method::GET, &headers(&PLAIN), 1000));
        let mut chunked = headers(&PLAIN);
        chunked.remove("content-length");
        assert!(!is_plain_post(&Method::POST, &chunked, 1000));
    }

    #[test]
    fn only_the_plain_message_shape_parses() {
        let parses = |body: &str| serde_json::from_str::<PlainCall>(body).is_ok();
        assert!(parses(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":1}}}"#
        ));
        assert!(parses(
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"x"}}"#
        ));
        assert!(!parses(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{}}}"#
        ));
        assert!(!parses(
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}"#
        ));
        assert!(!parses(
            r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"x"}}"#
        ));
        assert!(!parses(
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}]"#
        ));
    }
}
