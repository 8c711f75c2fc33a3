//! Plain stateless `tools/call`, `tools/list` and `ping` POSTs, answered without rmcp's
//! per-request service.
//!
//! In stateless mode rmcp builds a whole service for every POST (task spawns, channels, a
//! span), and its result type holds the structured content as a `serde_json::Value`, so the
//! upstream's reply had to be parsed into a tree, serialized back and dropped. Together that
//! was most of the instructions of a call (see BENCHMARKS.md). Here, a request that is plainly
//! a `tools/call` of either protocol era is handled directly, and the upstream's JSON object is
//! written into the reply as received; a plain `tools/list` is answered with the server's
//! pre-serialized tool array (`tool_list`).
//!
//! "Plainly" is deliberately narrow, so that rmcp's answer and this one cannot differ. By the
//! time a body gets here `streamable` has settled `Accept`, `Content-Type` and the size limit
//! for both paths alike; what is left to check, per era:
//! - **older** (≤ 2025-11-25, or no `MCP-Protocol-Version`): a body that is exactly
//!   `{jsonrpc: "2.0", id, method: "tools/call", params: {name, arguments?}}`, or a
//!   `tools/list` or `ping` with no params or empty ones (no `_meta`, no cursor). (rmcp
//!   refuses a `ping` in the 2026-07-28 era; that stays with rmcp.)
//! - **stateless 2026-07-28**: `MCP-Protocol-Version: 2026-07-28` once, the SEP-2243 header
//!   `Mcp-Method` once and naming the method (for a call, `Mcp-Name: <the tool>` once and
//!   plainly spelled; for a list, no `Mcp-Name`), and params that are exactly `{name,
//!   arguments?, _meta}` (a list: `{_meta}`) whose `_meta` holds the protocol version (the
//!   same as the header), the client's capabilities (as rmcp's own type reads them) and
//!   optionally its `clientInfo`, nothing else. That is every check rmcp makes of such a
//!   request (its header, `_meta` and version validation); its replies differ from the older
//!   era's only by the members the era adds (`resultType`, and a list's caching hints).
//!
//! Calls go this way for a server that exposes all its tools; lists and pings for every server.
//! Everything else (initialize, discovery-mode calls, a progress token, a cursor,
//! base64-wrapped header values, anything malformed) goes on to rmcp untouched, with the same
//! body. `tests/it/mcp.rs` sends each kind of outcome both ways in both eras and requires the
//! same reply.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    ClientCapabilities, ErrorData, Implementation, ProtocolVersion, RequestId, ServerJsonRpcMessage,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::McpState;
use super::handler::{Caller, Gateway};
use crate::calls::{CallResult, ClientInfo, ToolCall};
use crate::mcp_servers::ToolExposure;

/// The protocol era a request is plainly in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Era {
    /// No `MCP-Protocol-Version`, or a known one before 2026-07-28.
    Older,
    /// `MCP-Protocol-Version: 2026-07-28`: per-request `_meta`, SEP-2243 headers.
    Stateless,
}

/// The message shapes this path answers: a `tools/call` or a `tools/list`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainMessage {
    jsonrpc: String,
    id: RequestId,
    method: String,
    /// Absent is `None`; `null` does not parse (rmcp's to judge).
    #[serde(default, deserialize_with = "present")]
    params: Option<PlainParams>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PlainParams>, D::Error> {
    PlainParams::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainParams {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
    #[serde(default, rename = "_meta")]
    meta: Option<StatelessMeta>,
}

/// A 2026-07-28 request's `_meta`, exactly what the era requires (and `clientInfo`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatelessMeta {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: String,
    /// Read only so that a request whose capabilities rmcp could not read goes to rmcp.
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
    _capabilities: ClientCapabilities,
    #[serde(default, rename = "io.modelcontextprotocol/clientInfo")]
    client_info: Option<Implementation>,
}

/// A request this path answers exactly as rmcp does.
#[expect(
    clippy::large_enum_variant,
    reason = "one per request, moved once and never stored"
)]
enum Plain {
    Call {
        id: RequestId,
        name: String,
        arguments: Map<String, Value>,
        client_info: Option<Implementation>,
    },
    List {
        id: RequestId,
    },
    Ping {
        id: RequestId,
    },
}

impl PlainMessage {
    /// What this message is, when it is plain with these headers in this era.
    fn plain(self, era: Era, headers: &HeaderMap) -> Option<Plain> {
        if self.jsonrpc != "2.0" {
            return None;
        }
        let params = self.params;
        let meta = params.as_ref().and_then(|p| p.meta.as_ref());
        let era_fits = match (era, meta) {
            (Era::Older, None) => true,
            (Era::Stateless, Some(meta)) => {
                meta.protocol_version == ProtocolVersion::V_2026_07_28.as_str()
                    && sole_header(headers, "mcp-method") == Some(self.method.as_str())
            }
            _ => false,
        };
        if !era_fits {
            return None;
        }
        match self.method.as_str() {
            "tools/call" => {
                let params = params?;
                let name = params.name?;
                let named = era == Era::Older
                    || (plainly_named(&name)
                        && sole_header(headers, "mcp-name") == Some(name.as_str()));
                named.then(|| Plain::Call {
                    id: self.id,
                    name,
                    arguments: params.arguments.unwrap_or_default(),
                    client_info: params.meta.and_then(|m| m.client_info),
                })
            }
            "tools/list" => {
                let plain = params
                    .as_ref()
                    .is_none_or(|p| p.name.is_none() && p.arguments.is_none())
                    && headers.get("mcp-name").is_none();
                plain.then_some(Plain::List { id: self.id })
            }
            // rmcp refuses a ping in the 2026-07-28 era (the era has none); that refusal
            // stays rmcp's.
            "ping" if era == Era::Older => {
                let plain = params
                    .as_ref()
                    .is_none_or(|p| p.name.is_none() && p.arguments.is_none())
                    && headers.get("mcp-name").is_none();
                plain.then_some(Plain::Ping { id: self.id })
            }
            _ => None,
        }
    }
}

/// Answers a plain call or list with its JSON reply; anything else is handed back for rmcp.
pub(super) async fn answer(
    state: &McpState,
    parts: Parts,
    bytes: &Bytes,
) -> Result<Response, Parts> {
    let Some(era) = era(&parts.headers) else {
        return Err(parts);
    };
    let plain = serde_json::from_slice::<PlainMessage>(bytes)
        .ok()
        .and_then(|m| m.plain(era, &parts.headers));
    let caller = Caller::of(&parts);
    let (Some(plain), Some(caller)) = (plain, caller) else {
        return Err(parts);
    };
    let reply = match plain {
        Plain::List { id } => list(state, &caller, &id, era).await,
        Plain::Ping { id } => Body::from(ping(&id)),
        Plain::Call { .. } if caller.tenant.server.config.tool_exposure != ToolExposure::All => {
            return Err(parts);
        }
        Plain::Call {
            id,
            name,
            arguments,
            client_info,
        } => Body::from(
            call(
                state,
                &caller,
                id,
                ToolCall {
                    name,
                    arguments,
                    client: None,
                },
                client_info,
                era,
            )
            .await,
        ),
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

async fn call(
    state: &McpState,
    caller: &Caller,
    id: RequestId,
    mut call: ToolCall,
    client_info: Option<Implementation>,
    era: Era,
) -> Vec<u8> {
    // As the rmcp handler does: the request's own `clientInfo` first, else the one remembered.
    let declared = client_info.map(|i| ClientInfo {
        name: i.name,
        version: i.version,
        ..ClientInfo::default()
    });
    call.client = caller.attributed(declared.or_else(|| caller.known_client(&state.clients)));
    match state.app.call_tool(&caller.tenant, call).await {
        Ok(result) => {
            if let Some(limit) = result.rate_limit {
                caller.slot.set(limit);
            }
            tool_result(&id, &result, era)
        }
        // As rmcp answers a handler's `invalid_params` in both eras: a JSON-RPC error, HTTP 200.
        Err(unknown) => serde_json::to_vec(&ServerJsonRpcMessage::error(
            ErrorData::invalid_params(unknown.to_string(), None),
            Some(id),
        ))
        .expect("a JSON-RPC error always serializes"),
    }
}

/// `{"jsonrpc":"2.0","id":…,"result":{"tools":[…]}}` with the tool array from the cache
/// (`tool_list`), sent as it is kept rather than copied into the reply; a 2026-07-28 peer's
/// result also has the members rmcp adds for that era (`resultType`, and the SEP-2549 caching
/// hints it fills in: `ttlMs` 0, `cacheScope` private).
async fn list(state: &McpState, caller: &Caller, id: &RequestId, era: Era) -> Body {
    let gateway = Gateway::new(state.app.clone(), state.clients.clone());
    let catalog = gateway.catalog(&caller.tenant).await;
    let tools = state.tool_lists.tools_json(&caller.tenant, &catalog, || {
        gateway.listed_tools(&caller.tenant, &catalog)
    });
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut head, id).expect("a request id always serializes");
    head.extend_from_slice(match era {
        Era::Older => br#","result":{"tools":"#.as_slice(),
        Era::Stateless => {
            br#","result":{"resultType":"complete","ttlMs":0,"cacheScope":"private","tools":"#
                .as_slice()
        }
    });
    Body::new(Pieces::new([
        Bytes::from(head),
        tools,
        Bytes::from_static(b"}}"),
    ]))
}

/// A reply body sent as the pieces it is made of, with its exact length known (so the reply
/// still has a `Content-Length`). A 76 KB tool list copied into one buffer per request was
/// about half of a `tools/list`'s instructions.
struct Pieces(VecDeque<Bytes>);

impl Pieces {
    fn new(pieces: impl IntoIterator<Item = Bytes>) -> Self {
        Self(pieces.into_iter().filter(|p| !p.is_empty()).collect())
    }
}

impl hyper::body::Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.0
                .pop_front()
                .map(|piece| Ok(hyper::body::Frame::data(piece))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.0.iter().map(|p| p.len() as u64).sum())
    }
}

/// `{"jsonrpc":"2.0","id":…,"result":{}}`, as rmcp answers an older-era ping.
fn ping(id: &RequestId) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut out, id).expect("a request id always serializes");
    out.extend_from_slice(br#","result":{}}"#);
    out
}

/// The era named by the request's one `MCP-Protocol-Version` (none: older); `None` for a
/// version rmcp does not know, or more than one header.
fn era(headers: &HeaderMap) -> Option<Era> {
    let mut values = headers.get_all("mcp-protocol-version").iter();
    let Some(version) = values.next() else {
        return Some(Era::Older);
    };
    if values.next().is_some() {
        return None;
    }
    let version = version.to_str().ok()?;
    if version == ProtocolVersion::V_2026_07_28.as_str() {
        Some(Era::Stateless)
    } else if version < ProtocolVersion::V_2026_07_28.as_str()
        && ProtocolVersion::KNOWN_VERSIONS
            .iter()
            .any(|known| known.as_str() == version)
    {
        Some(Era::Older)
    } else {
        None
    }
}

/// The header's value when it is there exactly once and readable.
fn sole_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    values
        .next()
        .is_none()
        .then(|| value.to_str().ok())
        .flatten()
}

/// A tool name that SEP-2243 carries in `Mcp-Name` as it is (never base64-wrapped).
fn plainly_named(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `{"jsonrpc":"2.0","id":…,"result":{"content":[{"type":"text","text":…}],"structuredContent":…,"isError":…}}`,
/// the same members rmcp writes for an older-era peer; a 2026-07-28 peer's result opens with
/// `"resultType":"complete"` (SEP-2322), as rmcp writes it. Written here rather than through
/// rmcp's `CallToolResult` because that type can only hold the structured content as a parsed
/// tree; the framing is fixed and every value in it is written by serde_json.
fn tool_result(id: &RequestId, result: &CallResult, era: Era) -> Vec<u8> {
    let mut out = Vec::with_capacity(result.text.len() * 2 + 160);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut out, id).expect("a request id always serializes");
    out.extend_from_slice(match era {
        Era::Older => br#","result":{"content":[{"type":"text","text":"#.as_slice(),
        Era::Stateless => {
            br#","result":{"resultType":"complete","content":[{"type":"text","text":"#.as_slice()
        }
    });
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

    #[test]
    fn the_era_comes_from_one_known_version() {
        let era_of = |pairs: &[(&'static str, &'static str)]| era(&headers(pairs));
        assert_eq!(era_of(&[]), Some(Era::Older));
        assert_eq!(
            era_of(&[("mcp-protocol-version", "2025-11-25")]),
            Some(Era::Older)
        );
        assert_eq!(
            era_of(&[("mcp-protocol-version", "2025-06-18")]),
            Some(Era::Older)
        );
        assert_eq!(
            era_of(&[("mcp-protocol-version", "2026-07-28")]),
            Some(Era::Stateless)
        );
        assert_eq!(era_of(&[("mcp-protocol-version", "1999-01-01")]), None);
        assert_eq!(era_of(&[("mcp-protocol-version", "2027-01-01")]), None);
        assert_eq!(
            era_of(&[
                ("mcp-protocol-version", "2025-11-25"),
                ("mcp-protocol-version", "2025-11-25")
            ]),
            None
        );
    }

    #[test]
    fn only_the_plain_message_shape_parses() {
        let parses = |body: &str| serde_json::from_str::<PlainMessage>(body).is_ok();
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
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p"}}}"#
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

    const MODERN: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_x","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    const MODERN_HEADERS: [(&str, &str); 3] = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "get_x"),
    ];

    fn plain(body: &str, era: Era, pairs: &[(&'static str, &'static str)]) -> bool {
        serde_json::from_str::<PlainMessage>(body)
            .ok()
            .and_then(|m| m.plain(era, &headers(pairs)))
            .is_some()
    }

    #[test]
    fn a_2026_call_is_plain_only_with_its_headers_and_meta() {
        assert!(plain(MODERN, Era::Stateless, &MODERN_HEADERS));
        // The same body in the older era, or an older body in the new one: rmcp's to judge.
        assert!(!plain(MODERN, Era::Older, &[]));
        assert!(!plain(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_x"}}"#,
            Era::Stateless,
            &MODERN_HEADERS
        ));
        // SEP-2243 headers missing, contradicting, repeated or base64-wrapped.
        for pairs in [
            &MODERN_HEADERS[..2],
            &[MODERN_HEADERS[0], MODERN_HEADERS[2]][..],
            &[MODERN_HEADERS[0], MODERN_HEADERS[1], ("mcp-name", "get_y")][..],
            &[
                MODERN_HEADERS[0],
                ("mcp-method", "tools/list"),
                MODERN_HEADERS[2],
            ][..],
            &[
                MODERN_HEADERS[0],
                MODERN_HEADERS[1],
                MODERN_HEADERS[2],
                ("mcp-name", "get_x"),
            ][..],
            &[
                MODERN_HEADERS[0],
                MODERN_HEADERS[1],
                ("mcp-name", "=?base64?Z2V0X3g=?="),
            ][..],
        ] {
            assert!(!plain(MODERN, Era::Stateless, pairs), "{pairs:?}");
        }
        // `_meta` that names another version, lacks the capabilities, or carries more.
        for body in [
            MODERN.replace("2026-07-28", "2025-11-25"),
            MODERN.replace(r#","io.modelcontextprotocol/clientCapabilities":{}"#, ""),
            MODERN.replace(
                r#""io.modelcontextprotocol/clientCapabilities":{}"#,
                r#""io.modelcontextprotocol/clientCapabilities":5"#,
            ),
            MODERN.replace(
                r#"clientCapabilities":{}"#,
                r#"clientCapabilities":{},"progressToken":"p""#,
            ),
        ] {
            assert!(!plain(&body, Era::Stateless, &MODERN_HEADERS), "{body}");
        }
        // A client that names itself is still plain.
        let named = MODERN.replace(
            r#"clientCapabilities":{}"#,
            r#"clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}"#,
        );
        assert!(serde_json::from_str::<Value>(&named).is_ok(), "{named}");
        assert!(plain(&named, Era::Stateless, &MODERN_HEADERS), "{named}");
    }
}
