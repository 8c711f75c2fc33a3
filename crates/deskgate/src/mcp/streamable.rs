//! The Streamable HTTP endpoint, `<base>/mcp/<token>`: what happens to a POST between the HTTP
//! request and the MCP service.
//!
//! rmcp's transport is stricter than the clients that really call deskgate, and answers some
//! malformed input with plain-text HTTP errors. So a POST is settled here first, and reaches
//! rmcp (or the fast path) only in a form both accept:
//!
//! 1. `Accept` ([`Framing`]): JSON wherever JSON is acceptable at all, a single-event SSE stream
//!    where only `text/event-stream` is, and 406 where neither is. rmcp itself insists on a
//!    list naming both, which real clients do not send: claude.ai's backend sends `*/*`
//!    (anthropics/claude-ai-mcp#76) or `text/event-stream` alone
//!    (modelcontextprotocol/python-sdk#2349), Claude Code 2.1.96 sends `application/json` alone
//!    (anthropics/claude-code#45368). deskgate always has exactly one JSON reply, so it can serve
//!    each of them.
//! 2. `Content-Type` must be JSON (415) and the body fit the limit (413, chunked bodies too),
//!    both with a JSON-RPC error body.
//! 3. The body must be JSON-RPC ([`inspect`]): malformed JSON is -32700, anything that is not a
//!    message -32600, and a method deskgate serves with params that do not fit it -32602 (rmcp
//!    would take it for an unknown custom method and answer -32601). Batches are served where
//!    the protocol version has them ([`batch`]).
//! 4. Then the fast path (`fast_path`) or rmcp, handed the `Accept` it demands; its JSON reply
//!    gets an `MCP-Protocol-Version` header (the version `initialize` agreed on, or the one the
//!    request named) and is framed as the client asked.
//!
//! GET and DELETE go to rmcp untouched (stateless serving answers both with 405).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use headers_accept::Accept;
use mediatype::{MediaType, Name, names};
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, ConstString,
    CustomRequest, DiscoverRequestMethod, ErrorCode, GetMeta, InitializeRequestParams,
    InitializeResultMethod, ListToolsRequestMethod, PaginatedRequestParams, PingRequestMethod,
    ProtocolVersion,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::{McpService, McpState, fast_path};

/// What rmcp demands of every POST, whatever the client sent.
const RMCP_ACCEPT: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");

/// `POST|GET|DELETE <base>/mcp/<token>`.
pub(super) async fn endpoint(State(state): State<McpState>, request: Request) -> Response {
    if request.method() != Method::POST {
        return to_rmcp(&state, request).await;
    }
    let Some(framing) = Framing::of(request.headers()) else {
        return transport_error(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable: this endpoint answers with application/json or text/event-stream, \
             and the Accept header allows neither",
        );
    };
    if !is_json(request.headers()) {
        return transport_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let (parts, body) = request.into_parts();
    let limit = state.app.config.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(e) if exceeds_limit(&e) => {
            return transport_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Payload Too Large: the body exceeds {limit} bytes"),
            );
        }
        Err(_) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: the body could not be read",
            );
        }
    };
    let version = parts.headers.get(MCP_PROTOCOL_VERSION).cloned();
    let is_initialize = version.is_none() && is_initialize(&bytes);
    let mut reply = answer(&state, parts, bytes).await;
    if reply.status().is_success() {
        if is_initialize {
            reply = with_negotiated_version(reply).await;
        } else if let Some(version) = version {
            reply.headers_mut().insert(MCP_PROTOCOL_VERSION, version);
        }
    }
    framing.frame(reply).await
}

const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// Whether the body is an `initialize` request (read only for requests without a version
/// header, which is how `initialize` comes).
fn is_initialize(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Method>(bytes)
        .is_ok_and(|m| m.method.as_deref() == Some(InitializeResultMethod::VALUE))
}

/// The reply with an `MCP-Protocol-Version` header naming the version `initialize` agreed on,
/// so a client (a browser script too, see `guard`) can read it without parsing the result.
/// Later replies echo the version their request names.
async fn with_negotiated_version(reply: Response) -> Response {
    let (mut parts, body) = reply.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return unreadable_reply();
    };
    let negotiated = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|reply| {
            let version = reply.pointer("/result/protocolVersion")?.as_str()?;
            HeaderValue::from_str(version).ok()
        });
    if let Some(version) = negotiated {
        parts.headers.insert(MCP_PROTOCOL_VERSION, version);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Answers one POSTed body (a message or a batch) whose headers passed the checks above, with
/// a JSON reply. The legacy SSE transport's POSTs come here too.
pub(super) async fn answer(state: &McpState, parts: Parts, bytes: Bytes) -> Response {
    match answer_message(state, parts, bytes).await {
        Answered::Reply(response) => response,
        Answered::Batch(parts, items) => batch(state, parts, items).await,
    }
}

enum Answered {
    Reply(Response),
    /// The body is a JSON array; `batch` decides whether to serve it.
    Batch(Parts, Vec<Value>),
}

async fn answer_message(state: &McpState, mut parts: Parts, bytes: Bytes) -> Answered {
    parts.headers.insert(header::ACCEPT, RMCP_ACCEPT);
    let parts = match fast_path::answer(state, parts, &bytes).await {
        Ok(reply) => return Answered::Reply(reply),
        Err(parts) => parts,
    };
    match inspect(&parts.headers, &bytes) {
        Inspected::Message => {
            Answered::Reply(to_rmcp(state, Request::from_parts(parts, Body::from(bytes))).await)
        }
        Inspected::Batch(items) => Answered::Batch(parts, items),
        Inspected::Refused(reply) => Answered::Reply(reply),
    }
}

async fn to_rmcp(state: &McpState, request: Request) -> Response {
    match McpService::clone(&state.service).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

// --- Accept and Content-Type ---

/// The `Accept` values clients send almost always, which allow JSON: answered without parsing
/// (the parse and its allocations were about 1 % of a tool call's instructions).
const PLAINLY_JSON: [&str; 4] = [
    "application/json, text/event-stream",
    "application/json,text/event-stream",
    "application/json",
    "*/*",
];

/// How a reply is framed, from what the client's `Accept` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Json,
    /// `text/event-stream` only: the JSON reply as one `message` event, then the stream ends.
    EventStream,
}

impl Framing {
    /// `None` when the `Accept` allows neither JSON nor SSE. JSON wins whenever it is allowed at
    /// all, as it did before (rmcp's JSON mode ignores weights); a header that does not parse is
    /// read as no header, which allows anything.
    fn of(headers: &HeaderMap) -> Option<Self> {
        let mut all = headers.get_all(header::ACCEPT).iter();
        if let (Some(only), None) = (all.next(), all.next())
            && PLAINLY_JSON
                .iter()
                .any(|plain| only.as_bytes() == plain.as_bytes())
        {
            return Some(Self::Json);
        }
        Self::parsed(headers)
    }

    fn parsed(headers: &HeaderMap) -> Option<Self> {
        let values: Vec<&str> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .collect();
        if values.is_empty() {
            return Some(Self::Json);
        }
        let Ok(accept) = without_charset(&values.join(",")).parse::<Accept>() else {
            return Some(Self::Json);
        };
        if allows(&accept, names::APPLICATION, names::JSON) {
            Some(Self::Json)
        } else if allows(&accept, names::TEXT, names::EVENT_STREAM) {
            Some(Self::EventStream)
        } else {
            None
        }
    }

    async fn frame(self, reply: Response) -> Response {
        let is_json_reply = reply.status() == StatusCode::OK && is_json(reply.headers());
        if self == Self::Json || !is_json_reply {
            return reply;
        }
        let (mut parts, body) = reply.into_parts();
        let Ok(json) = axum::body::to_bytes(body, usize::MAX).await else {
            return unreadable_reply();
        };
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        parts
            .headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(single_event(&json)))
    }
}

/// Whether `accept` allows `ty/subty`.
fn allows(accept: &Accept, ty: Name, subty: Name) -> bool {
    accept.negotiate(&[MediaType::new(ty, subty)]).is_some()
}

/// The header with `charset` parameters dropped: both replies are UTF-8, so a charset decides
/// nothing here, and headers-accept compares parameters exactly (a range naming a charset
/// would match neither reply).
fn without_charset(accept: &str) -> String {
    accept
        .split(',')
        .map(|range| {
            range
                .split(';')
                .filter(|part| {
                    !part
                        .trim_start()
                        .get(..8)
                        .is_some_and(|name| name.eq_ignore_ascii_case("charset="))
                })
                .collect::<Vec<_>>()
                .join(";")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One SSE `message` event carrying `json`. The upstream's JSON is passed through verbatim and
/// may hold line breaks (as whitespace), so every line gets its own `data:` field; a reader
/// joins them with `\n`, which leaves the JSON's meaning unchanged.
fn single_event(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 32);
    out.extend_from_slice(b"event: message\n");
    for line in json.split(|b| *b == b'\n' || *b == b'\r') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether reading the body stopped at the size limit (ours, or the server-wide layer's, which
/// ends a chunked body with the same error).
fn exceeds_limit(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

// --- JSON-RPC checks ---

enum Inspected {
    /// A JSON-RPC message rmcp can take as it is.
    Message,
    Batch(Vec<Value>),
    Refused(Response),
}

/// Methods deskgate serves, by era. rmcp reads a request whose params do not fit its method as
/// a custom request (and answers "method not found"); for these that is a params error. The
/// 2026-07-28 era removed `initialize` and `ping`: there rmcp's 404 and -32601 are right.
const SERVED_METHODS: [&str; 5] = [
    InitializeResultMethod::VALUE,
    PingRequestMethod::VALUE,
    DiscoverRequestMethod::VALUE,
    ListToolsRequestMethod::VALUE,
    CallToolRequestMethod::VALUE,
];
const SERVED_METHODS_2026: [&str; 3] = [
    DiscoverRequestMethod::VALUE,
    ListToolsRequestMethod::VALUE,
    CallToolRequestMethod::VALUE,
];

/// Whether a request is of the 2026-07-28 era: its header or its own `_meta` names that version
/// or a later one.
fn is_2026_era(headers: &HeaderMap, request: &CustomRequest) -> bool {
    let modern = |v: &str| v >= ProtocolVersion::V_2026_07_28.as_str();
    headers
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(modern)
        || request
            .get_meta()
            .protocol_version()
            .is_some_and(|v| modern(v.as_str()))
}

fn inspect(headers: &HeaderMap, bytes: &[u8]) -> Inspected {
    match serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        Ok(ClientJsonRpcMessage::Request(request)) => match &request.request {
            ClientRequest::CustomRequest(custom)
                if if is_2026_era(headers, custom) {
                    SERVED_METHODS_2026.contains(&&*custom.method)
                } else {
                    SERVED_METHODS.contains(&&*custom.method)
                } =>
            {
                let problem = params_problem(&custom.method, custom.params.as_ref());
                let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
                Inspected::Refused(jsonrpc_error(
                    StatusCode::OK,
                    id,
                    ErrorCode::INVALID_PARAMS,
                    &format!("Invalid params for {}: {problem}", custom.method),
                ))
            }
            _ => Inspected::Message,
        },
        Ok(_) => Inspected::Message,
        Err(_) => match serde_json::from_slice::<Value>(bytes) {
            Err(e) => Inspected::Refused(jsonrpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                ErrorCode::PARSE_ERROR,
                &format!("Parse error: the body is not valid JSON ({e})"),
            )),
            Ok(Value::Array(items)) => Inspected::Batch(items),
            Ok(other) => {
                let (id, problem) = invalid_request(&other);
                Inspected::Refused(jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    id,
                    ErrorCode::INVALID_REQUEST,
                    &format!("Invalid Request: {problem}"),
                ))
            }
        },
    }
}

/// What is wrong with a JSON value that is not a JSON-RPC message, and the id to answer with
/// (JSON-RPC 2.0: null where it cannot be read).
fn invalid_request(value: &Value) -> (Value, String) {
    let Value::Object(message) = value else {
        return (
            Value::Null,
            "a JSON-RPC message is a JSON object".to_owned(),
        );
    };
    let id = match message.get("id") {
        Some(id @ Value::String(_)) => id.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n.clone()),
        _ => Value::Null,
    };
    (id, message_problem(message).to_owned())
}

fn message_problem(message: &Map<String, Value>) -> &'static str {
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return "`jsonrpc` must be \"2.0\"";
    }
    match message.get("id") {
        None | Some(Value::String(_)) => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        Some(Value::Null) => return "`id` must not be null (leave it out for a notification)",
        Some(_) => return "`id` must be a string or an integer",
    }
    match message.get("method") {
        Some(Value::String(_)) => {}
        Some(_) => return "`method` must be a string",
        None if message.contains_key("result") || message.contains_key("error") => {
            return "not a valid JSON-RPC response";
        }
        None => return "a request or notification needs a `method`",
    }
    match message.get("params") {
        None | Some(Value::Object(_)) => "not a valid MCP message",
        Some(_) => "`params` must be an object",
    }
}

/// Why `params` do not fit a method deskgate serves, in serde's words.
fn params_problem(method: &str, params: Option<&Value>) -> String {
    fn problem<T: DeserializeOwned>(params: Option<&Value>) -> Option<String> {
        let params = params.cloned().unwrap_or(Value::Null);
        serde_json::from_value::<T>(params)
            .err()
            .map(|e| e.to_string())
    }
    // The two mistakes a model or client makes in a call, said in MCP's words rather than serde's.
    if method == CallToolRequestMethod::VALUE
        && let Some(Value::Object(call)) = params
    {
        if !call.get("name").is_some_and(Value::is_string) {
            return "`name` must be the tool's name, a string".to_owned();
        }
        if call
            .get("arguments")
            .is_some_and(|a| !a.is_object() && !a.is_null())
        {
            return "`arguments` must be an object of the tool's arguments".to_owned();
        }
    }
    let found = match method {
        CallToolRequestMethod::VALUE => problem::<CallToolRequestParams>(params),
        InitializeResultMethod::VALUE => problem::<InitializeRequestParams>(params),
        ListToolsRequestMethod::VALUE => problem::<PaginatedRequestParams>(params),
        _ => None,
    };
    match (found, params) {
        (_, None) => "`params` are missing".to_owned(),
        (Some(problem), _) => problem,
        (None, Some(_)) => "they do not fit the method".to_owned(),
    }
}

/// A JSON-RPC error as the whole reply.
fn jsonrpc_error(status: StatusCode, id: Value, code: ErrorCode, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code.0, "message": message}}),
        ),
    )
        .into_response()
}

/// Replies are written whole in memory, so one that cannot be read back is a bug, not input.
fn unreadable_reply() -> Response {
    tracing::error!("an MCP reply could not be read back");
    transport_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error: the reply could not be read",
    )
}

/// A refusal of the HTTP request itself (Accept, Content-Type, size), in the JSON-RPC error
/// shape clients parse, with no id to answer.
fn transport_error(status: StatusCode, message: &str) -> Response {
    jsonrpc_error(status, Value::Null, ErrorCode::INVALID_REQUEST, message)
}

// --- batches ---

/// A JSON array of messages. MCP 2025-03-26 requires servers to accept batches (its
/// Streamable HTTP transport: "an array batching one or more requests and/or notifications");
/// 2025-06-18 removed them. deskgate still offers 2025-03-26 (older SDKs pin it), so batches
/// are served wherever that version may be in effect: with `MCP-Protocol-Version: 2025-03-26`,
/// with 2024-11-05 (plain JSON-RPC 2.0), or with no header (the spec says to assume
/// 2025-03-26 then). A header naming a later version gets -32600.
///
/// The messages run one after the other, each through the same path as a single POST (fast
/// path, checks, rmcp), so a batch costs what the same requests sent one by one would, and never
/// gets more concurrency than one connection.
async fn batch(state: &McpState, parts: Parts, items: Vec<Value>) -> Response {
    if let Some(version) = version_without_batches(&parts.headers) {
        return transport_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Invalid Request: JSON-RPC batches are part of MCP 2025-03-26 only, and this \
                 request is for {version}; send one message per POST"
            ),
        );
    }
    if items.is_empty() {
        return transport_error(StatusCode::BAD_REQUEST, "Invalid Request: an empty batch");
    }
    let mut replies = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        if item.get("method").and_then(Value::as_str) == Some(InitializeResultMethod::VALUE) {
            replies.push(error_value(
                id,
                ErrorCode::INVALID_REQUEST,
                "Invalid Request: initialize must not be part of a batch (MCP 2025-03-26)",
            ));
            continue;
        }
        let bytes = Bytes::from(serde_json::to_vec(&item).expect("a JSON value serializes"));
        let reply = match answer_message(state, parts.clone(), bytes).await {
            Answered::Reply(reply) => reply,
            Answered::Batch(..) => {
                replies.push(error_value(
                    Value::Null,
                    ErrorCode::INVALID_REQUEST,
                    "Invalid Request: batches do not nest",
                ));
                continue;
            }
        };
        if let Some(reply) = batch_member(reply, id).await {
            replies.push(reply);
        }
    }
    if replies.is_empty() {
        // Only notifications (and responses): nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    }
    (StatusCode::OK, axum::Json(Value::Array(replies))).into_response()
}

/// The version a request names when batches are not part of it.
fn version_without_batches(headers: &HeaderMap) -> Option<String> {
    let version = headers.get(MCP_PROTOCOL_VERSION)?;
    let version = version.to_str().unwrap_or("(unreadable)");
    let with_batches = [ProtocolVersion::V_2024_11_05, ProtocolVersion::V_2025_03_26];
    (!with_batches.iter().any(|v| v.as_str() == version)).then(|| version.to_owned())
}

/// A batch member's reply as a JSON value: its JSON-RPC message, nothing for an accepted
/// notification, or an error carrying a transport-level refusal's text.
async fn batch_member(reply: Response, id: Value) -> Option<Value> {
    let status = reply.status();
    let bytes = axum::body::to_bytes(reply.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Ok(message) = serde_json::from_slice::<Value>(&bytes) {
        return Some(message);
    }
    let code = if status.is_server_error() {
        ErrorCode::INTERNAL_ERROR
    } else {
        ErrorCode::INVALID_REQUEST
    };
    Some(error_value(id, code, &String::from_utf8_lossy(&bytes)))
}

fn error_value(id: Value, code: ErrorCode, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code.0, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(accept: &[&'static str]) -> Option<Framing> {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(header::ACCEPT, HeaderValue::from_static(value));
        }
        Framing::of(&headers)
    }

    #[test]
    fn json_wherever_json_is_acceptable() {
        for accept in [
            &[][..],
            &["*/*"],
            &["application/*"],
            &["application/json"],
            &["application/json, text/event-stream"],
            &["text/event-stream, application/json"],
            &["text/event-stream", "application/json"],
            &["application/json;q=0.1, text/event-stream"],
            &["application/json; charset=utf-8"],
            &["application/json;charset=UTF-8"],
            &["text/html, */*;q=0.8"],
            &[""],
            &["not a media type at all;;"],
        ] {
            assert_eq!(framing(accept), Some(Framing::Json), "{accept:?}");
        }
    }

    #[test]
    fn the_values_answered_without_parsing_parse_to_json() {
        for plain in PLAINLY_JSON {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(plain));
            assert_eq!(Framing::parsed(&headers), Some(Framing::Json), "{plain}");
        }
    }

    #[test]
    fn event_stream_where_only_sse_is_acceptable() {
        for accept in [
            &["text/event-stream"][..],
            &["text/*"],
            &["text/event-stream, application/json;q=0"],
            &["text/event-stream; charset=utf-8"],
            &["application/json;charset=utf-8;q=0, text/event-stream"],
            &["*/*, application/json;q=0"],
        ] {
            assert_eq!(framing(accept), Some(Framing::EventStream), "{accept:?}");
        }
    }

    #[test]
    fn nothing_acceptable_is_refused() {
        for accept in [
            &["text/html"][..],
            &["application/xml, image/*"],
            &["application/json;q=0, text/event-stream;q=0"],
            &["*/*;q=0"],
        ] {
            assert_eq!(framing(accept), None, "{accept:?}");
        }
    }

    #[test]
    fn a_single_event_keeps_every_line_of_the_json() {
        let event = single_event(b"{\"a\":\n  1,\r\n\"b\":2}");
        let text = String::from_utf8(event).unwrap();
        assert!(text.starts_with("event: message\n"), "{text}");
        assert!(text.ends_with("\n\n"), "{text}");
        let data: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        let joined = data.join("\n");
        let parsed: Value = serde_json::from_str(&joined).unwrap();
        assert_eq!(parsed, json!({"a": 1, "b": 2}));
        assert_eq!(
            single_event(b"{}"),
            b"event: message\ndata: {}\n\n".to_vec()
        );
    }

    fn refusal(body: &str) -> Option<(StatusCode, Value)> {
        refusal_with(&HeaderMap::new(), body)
    }

    fn refusal_with(headers: &HeaderMap, body: &str) -> Option<(StatusCode, Value)> {
        match inspect(headers, body.as_bytes()) {
            Inspected::Refused(response) => {
                let status = response.status();
                let bytes = futures::executor::block_on(axum::body::to_bytes(
                    response.into_body(),
                    usize::MAX,
                ))
                .unwrap();
                Some((status, serde_json::from_slice(&bytes).unwrap()))
            }
            _ => None,
        }
    }

    #[test]
    fn malformed_json_is_a_parse_error() {
        let (status, body) = refusal(r#"{"jsonrpc": "2.0", "id": 1, "method": "#).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], -32700);
        assert_eq!(body["id"], Value::Null);
    }

    #[test]
    fn what_is_not_a_message_is_an_invalid_request() {
        for (body, id, says) in [
            ("42", Value::Null, "JSON object"),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
                json!(1),
                "jsonrpc",
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","method":5}"#,
                json!("a"),
                "method",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#,
                Value::Null,
                "`id`",
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#,
                Value::Null,
                "null",
            ),
            (r#"{"jsonrpc":"2.0","id":3}"#, json!(3), "method"),
            (
                r#"{"jsonrpc":"2.0","id":4,"method":"no/such/method","params":[1]}"#,
                json!(4),
                "params",
            ),
        ] {
            let (status, reply) = refusal(body).unwrap_or_else(|| panic!("{body} was accepted"));
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(reply["error"]["code"], -32600, "{body}");
            assert_eq!(reply["id"], id, "{body}");
            let message = reply["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{body}: {message}");
        }
    }

    #[test]
    fn params_that_do_not_fit_a_served_method_are_a_params_error() {
        let (status, reply) = refusal(
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#,
        )
        .unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reply["error"]["code"], -32602);
        assert_eq!(reply["id"], 7);
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains("tools/call"), "{message}");
        assert!(
            message.contains("`arguments` must be an object"),
            "{message}"
        );
        let (_, reply) = refusal(r#"{"jsonrpc":"2.0","id":8,"method":"tools/call"}"#).unwrap();
        assert_eq!(reply["error"]["code"], -32602);
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing")
        );
    }

    #[test]
    fn valid_messages_and_unknown_methods_pass_to_rmcp() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"no/such/method","params":{"a":1}}"#,
        ] {
            assert!(
                matches!(
                    inspect(&HeaderMap::new(), body.as_bytes()),
                    Inspected::Message
                ),
                "{body}"
            );
        }
        assert!(matches!(
            inspect(&HeaderMap::new(), b"[]"),
            Inspected::Batch(items) if items.is_empty()
        ));
        // `initialize` and `ping` are gone in 2026-07-28: rmcp answers them 404 and -32601.
        let mut modern = HeaderMap::new();
        modern.insert(MCP_PROTOCOL_VERSION, HeaderValue::from_static("2026-07-28"));
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"_meta":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":[]}}"#,
        ] {
            assert!(
                matches!(inspect(&modern, body.as_bytes()), Inspected::Message),
                "{body}"
            );
        }
        let meta_only = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        assert!(matches!(
            inspect(&HeaderMap::new(), meta_only.as_bytes()),
            Inspected::Message
        ));
        // ...while a 2026 tools/call with bad arguments is still a params error.
        let call =
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":5}}"#;
        assert_eq!(
            refusal_with(&modern, call).unwrap().1["error"]["code"],
            -32602
        );
    }

    #[test]
    fn batches_are_for_2025_03_26_and_earlier() {
        let with = |version: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = version {
                headers.insert("mcp-protocol-version", HeaderValue::from_static(v));
            }
            version_without_batches(&headers)
        };
        assert_eq!(with(None), None);
        assert_eq!(with(Some("2025-03-26")), None);
        assert_eq!(with(Some("2024-11-05")), None);
        assert_eq!(with(Some("2025-06-18")).as_deref(), Some("2025-06-18"));
        assert_eq!(with(Some("2026-07-28")).as_deref(), Some("2026-07-28"));
    }
}
