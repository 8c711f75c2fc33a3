//! The deprecated HTTP+SSE transport (protocol 2024-11-05): `GET /mcp/<token>/sse` opens an
//! event stream whose first event names the endpoint to POST messages to; replies travel back
//! on the stream.
//!
//! rmcp deliberately ships no such transport, but ChatGPT's docs still list SSE and some agent
//! frameworks only speak it. So this is a thin adapter, written by hand: each POSTed message is
//! handed to the same Streamable HTTP service every other request goes through (same tenant,
//! same handler, same audit), and its JSON reply is pushed onto the stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{McpState, RateLimitSlot};
use crate::tenants::Tenant;

/// Open streams on this process, by session id.
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

struct Session {
    /// The MCP server the stream was opened for: a session only accepts messages from it.
    server_id: String,
    sender: mpsc::Sender<String>,
}

/// Removes its session when the stream is dropped (the client went away).
struct Registration {
    sessions: Sessions,
    id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.sessions
            .0
            .lock()
            .expect("sse sessions poisoned")
            .remove(&self.id);
    }
}

/// How many replies may wait for a slow reader before new ones are refused.
const STREAM_BUFFER: usize = 64;

pub async fn open(
    State(state): State<McpState>,
    Path(token): Path<String>,
    Extension(tenant): Extension<Arc<Tenant>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let id = crate::tokens::random_urlsafe(18);
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    state.sse.0.lock().expect("sse sessions poisoned").insert(
        id.clone(),
        Session {
            server_id: tenant.server.id.clone(),
            sender,
        },
    );
    let registration = Registration {
        sessions: state.sse.clone(),
        id: id.clone(),
    };
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/mcp/{token}/message?sessionId={id}"));
    let messages = ReceiverStream::new(receiver).map(move |message| {
        let _alive = &registration;
        Ok(Event::default().event("message").data(message))
    });
    let stream = futures::stream::once(async move { Ok(endpoint) }).chain(messages);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[derive(Deserialize)]
pub struct MessageQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

pub async fn message(
    State(state): State<McpState>,
    Path(token): Path<String>,
    Query(query): Query<MessageQuery>,
    Extension(tenant): Extension<Arc<Tenant>>,
    Extension(slot): Extension<RateLimitSlot>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sender = {
        let sessions = state.sse.0.lock().expect("sse sessions poisoned");
        match sessions.get(&query.session_id) {
            Some(session) if session.server_id == tenant.server.id => session.sender.clone(),
            _ => return (StatusCode::NOT_FOUND, "Not Found: unknown SSE session").into_response(),
        }
    };

    let mut request = http::Request::post(format!("/mcp/{token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream");
    for name in [
        header::HOST,
        header::USER_AGENT,
        header::HeaderName::from_static("mcp-protocol-version"),
    ] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    let mut request = request
        .body(axum::body::Body::from(body))
        .expect("a request built from valid parts");
    request.extensions_mut().insert(tenant);
    request.extensions_mut().insert(slot);

    let reply = state.service.handle(request).await;
    let status = reply.status();
    let is_event_stream = reply
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let bytes = match reply.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let messages: Vec<String> = if bytes.is_empty() {
        Vec::new()
    } else if is_event_stream {
        event_stream_data(&bytes)
    } else if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
        vec![String::from_utf8_lossy(&bytes).into_owned()]
    } else {
        // Not JSON-RPC (a transport-level refusal): the POST itself carries it.
        return (status, bytes).into_response();
    };
    for message in messages {
        if sender.try_send(message).is_err() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the SSE stream is closed or not being read",
            )
                .into_response();
        }
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}

/// The `data:` payloads of an SSE body (rmcp may frame a reply as events).
fn event_stream_data(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut messages = Vec::new();
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if !data.is_empty() && !data.iter().all(|d| d.is_empty()) {
            messages.push(data.join("\n"));
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_stream_payloads_are_extracted() {
        let body = b"id: 0\ndata: \nretry: 3000\n\nevent: message\ndata: {\"a\":1}\n\n";
        assert_eq!(event_stream_data(body), vec!["{\"a\":1}".to_owned()]);
    }
}
