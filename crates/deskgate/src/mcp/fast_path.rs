//! Plain stateless `tools/call` POSTs, answered without rmcp's per-request service.
//!
//! In stateless mode rmcp builds a whole service for every POST (task spawns, channels, a
//! span), and its result type holds the structured content as a `serde_json::Value`, so the
//! upstream's reply had to be parsed into a tree, serialized back and dropped. Together that
//! was most of the instructions of a call (see BENCHMARKS.md). Here, a request that is plainly
//! an older-era (≤ 2025-11-25) `tools/call` is handled directly, and the upstream's JSON object
//! is written into the reply as received.
//!
//! "Plainly" is deliberately narrow, so that rmcp's answer and this one cannot differ. By the
//! time a body gets here `streamable` has settled `Accept`, `Content-Type` and the size limit
//! for both paths alike; what is left to check is no or a pre-2026 `MCP-Protocol-Version` (so
//! no SEP-2243 header rules apply), and a body that is exactly `{jsonrpc: "2.0", id, method:
//! "tools/call", params: {name, arguments?}}` (no `_meta`, nothing else), for a server that
//! exposes all its tools. Everything else (initialize, tools/list, discovery mode, newer
//! protocol versions, anything malformed) goes on to rmcp untouched, with the same body.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use rmcp::model::{ErrorData, ProtocolVersion, RequestId, ServerJsonRpcMessage};
use serde::Deserialize;
use serde_json::{Map, Value};

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

/// Answers a plain call with its JSON reply; anything else is handed back for rmcp.
pub(super) async fn answer(
    state: &McpState,
    parts: Parts,
    bytes: &Bytes,
) -> Result<Response, Parts> {
    if !older_era(&parts.headers) {
        return Err(parts);
    }
    let plain = serde_json::from_slice::<PlainCall>(bytes)
        .ok()
        .filter(|c| c.jsonrpc == "2.0" && c.method == "tools/call");
    let caller = Caller::of(&parts);
    let (Some(call), Some(caller)) = (plain, caller) else {
        return Err(parts);
    };
    if caller.tenant.server.config.tool_exposure != ToolExposure::All {
        return Err(parts);
    }

    let client = caller.attributed(caller.known_client(&state.clients));
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
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        reply,
    )
        .into_response())
}

/// No `MCP-Protocol-Version`, or a known one before 2026-07-28.
fn older_era(headers: &HeaderMap) -> bool {
    match headers.get("mcp-protocol-version") {
        None => true,
        Some(version) => version.to_str().is_ok_and(|v| {
            v < ProtocolVersion::V_2026_07_28.as_str()
                && ProtocolVersion::KNOWN_VERSIONS
                    .iter()
                    .any(|known| known.as_str() == v)
        }),
    }
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

    #[test]
    fn only_older_era_versions_qualify() {
        let with = |version: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = version {
                headers.insert("mcp-protocol-version", HeaderValue::from_static(v));
            }
            older_era(&headers)
        };
        assert!(with(None));
        assert!(with(Some("2025-11-25")));
        assert!(with(Some("2025-06-18")));
        assert!(!with(Some("2026-07-28")));
        assert!(!with(Some("1999-01-01")));
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
