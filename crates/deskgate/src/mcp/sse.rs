//! The deprecated HTTP+SSE transport (protocol 2024-11-05): `GET /mcp/<token>/sse` opens an
//! event stream whose first event names the endpoint to POST messages to; replies travel back
//! on the stream.
//!
//! rmcp deliberately ships no such transport, but ChatGPT's docs still list SSE and some agent
//! frameworks only speak it. So this is a thin adapter, written by hand: each POSTed message is
//! handed to the same path every Streamable HTTP POST goes through (`streamable::answer`: the
//! same checks, fast path, rmcp service, tenant, handler and audit), and its JSON reply is
//! pushed onto the stream.
//!
//! The stream lives on one replica, but behind a load balancer the POSTs land anywhere. On
//! PostgreSQL the holder registers each session in the database (and renews it while the stream
//! is open); a POST that lands elsewhere is answered where it landed, and its reply is queued in
//! the database for the holder, which is woken by NOTIFY on its own channel (see
//! `store::postgres`). The queue carries the reply because one can be far larger than a NOTIFY
//! payload may be. A replica that dies stops renewing, so its sessions lapse and POSTs to them
//! get 404 like any unknown session. On SQLite there is one process and the map below is all.
//!
//! Each stream holds a socket and a task for as long as the client keeps it open, so a replica
//! holds at most `sse_max_streams` of them, and at most `sse_max_streams_per_server` for one MCP
//! server (one URL cannot take them all); past either cap the GET gets a clear 429 or 503. A
//! stream ends when its server expires (a timer), and when its server is deleted or its account
//! is: after such a change on this replica, and on PostgreSQL after every change another replica
//! announces, the servers of the streams held here are looked up again and the streams of those
//! that are gone are ended.

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
use futures::StreamExt;
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{McpState, RateLimitSlot};
use crate::store::postgres::PgStore;
use crate::store::{Store, StoreError};
use crate::tenants::Tenant;

/// How long a registered session outlives its holder's last renewal: a replica that dies takes
/// its sessions with it after at most this long.
pub const SESSION_LEASE: Duration = Duration::from_secs(30);
/// How often the holder renews its sessions (well within the lease, so a slow round trip or
/// two cannot make a live session lapse).
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How many replies may wait for a slow reader before the stream is given up on.
const STREAM_BUFFER: usize = 64;

/// The streams this process holds, by session id, and (on PostgreSQL) the registry every
/// replica routes POSTs through.
#[derive(Clone)]
pub struct Sessions(Arc<Hub>);

struct Hub {
    local: Mutex<HashMap<String, Session>>,
    caps: Caps,
    /// This process's name among the replicas (`sse_sessions.replica_id`).
    replica_id: String,
    /// The database replicas share; `None` on SQLite.
    shared: Option<PgStore>,
}

struct Session {
    /// The MCP server the stream was opened for: a session only accepts messages from it.
    server_id: String,
    sender: mpsc::Sender<String>,
}

/// Where the replies to a POSTed message go.
enum Target {
    /// The stream is held here.
    Here(mpsc::Sender<String>),
    /// Another replica holds it.
    Relay { replica_id: String },
}

/// How many streams one replica holds.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub per_server: usize,
    pub total: usize,
}

#[derive(Debug, thiserror::Error)]
enum SseError {
    #[error("unknown SSE session")]
    UnknownSession,
    #[error("this MCP server already has {0} open SSE streams here, the most it may have")]
    TooManyForServer(usize),
    #[error("this replica already holds {0} open SSE streams, the most it may hold")]
    TooManyInTotal(usize),
    #[error("the SSE stream is closed or not being read")]
    StreamClosed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for SseError {
    fn into_response(self) -> Response {
        match self {
            SseError::UnknownSession => {
                (StatusCode::NOT_FOUND, "Not Found: unknown SSE session").into_response()
            }
            SseError::TooManyForServer(limit) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too Many Requests: this MCP server already has {limit} open SSE streams (the limit); \
                     close one first, or use Streamable HTTP at the server's URL"
                ),
            )
                .into_response(),
            SseError::TooManyInTotal(limit) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "30")],
                format!(
                    "Service Unavailable: this server holds {limit} open SSE streams, the most it may; \
                     try again later, or use Streamable HTTP at the server's URL"
                ),
            )
                .into_response(),
            SseError::StreamClosed => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the SSE stream is closed or not being read",
            )
                .into_response(),
            SseError::Store(e) => {
                tracing::error!(error = %e, "SSE session registry unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable: try again",
                )
                    .into_response()
            }
        }
    }
}

impl Sessions {
    pub fn new(store: &Store, replica_id: String, caps: Caps) -> Self {
        Self(Arc::new(Hub {
            local: Mutex::default(),
            caps,
            replica_id,
            shared: store.shared().cloned(),
        }))
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.0.local.lock().expect("sse sessions poisoned")
    }

    /// Opens a session here (within the caps) and, on PostgreSQL, registers it for every
    /// replica to see.
    async fn register(
        &self,
        id: &str,
        server_id: &str,
        sender: mpsc::Sender<String>,
    ) -> Result<Registration, SseError> {
        {
            let mut local = self.local();
            let caps = self.0.caps;
            if local.len() >= caps.total {
                return Err(SseError::TooManyInTotal(caps.total));
            }
            if local.values().filter(|s| s.server_id == server_id).count() >= caps.per_server {
                return Err(SseError::TooManyForServer(caps.per_server));
            }
            local.insert(
                id.to_owned(),
                Session {
                    server_id: server_id.to_owned(),
                    sender,
                },
            );
        }
        let registration = Registration {
            sessions: self.clone(),
            id: id.to_owned(),
        };
        if let Some(shared) = &self.0.shared {
            // On failure the registration is dropped, which forgets the local entry.
            shared
                .keep_sse_sessions(
                    &self.0.replica_id,
                    &[(id.to_owned(), server_id.to_owned())],
                    SESSION_LEASE,
                )
                .await?;
        }
        Ok(registration)
    }

    /// Where a message for `session_id`, POSTed to `server_id`'s URL, is to be answered.
    async fn route(&self, session_id: &str, server_id: &str) -> Result<Target, SseError> {
        if let Some(session) = self.local().get(session_id) {
            return if session.server_id == server_id {
                Ok(Target::Here(session.sender.clone()))
            } else {
                Err(SseError::UnknownSession)
            };
        }
        let Some(shared) = &self.0.shared else {
            return Err(SseError::UnknownSession);
        };
        match shared.sse_session(session_id).await? {
            Some(row) if row.mcp_server_id == server_id && row.replica_id != self.0.replica_id => {
                Ok(Target::Relay {
                    replica_id: row.replica_id,
                })
            }
            // Not registered, lapsed, another server's, or registered here but no longer open.
            _ => Err(SseError::UnknownSession),
        }
    }

    async fn send(
        &self,
        session_id: &str,
        target: Target,
        messages: Vec<String>,
    ) -> Result<(), SseError> {
        match target {
            Target::Here(sender) => {
                for message in messages {
                    sender
                        .try_send(message)
                        .map_err(|_| SseError::StreamClosed)?;
                }
                Ok(())
            }
            Target::Relay { replica_id } => {
                let shared = self.0.shared.as_ref().ok_or(SseError::UnknownSession)?;
                if shared
                    .enqueue_sse_messages(session_id, &replica_id, &messages)
                    .await?
                {
                    Ok(())
                } else {
                    Err(SseError::UnknownSession)
                }
            }
        }
    }

    /// Pushes the messages other replicas queued for a session held here onto its stream.
    pub async fn deliver(&self, session_id: &str) -> Result<(), StoreError> {
        let Some(shared) = &self.0.shared else {
            return Ok(());
        };
        let messages = shared.take_sse_messages(session_id).await?;
        if messages.is_empty() {
            return Ok(());
        }
        let Some(sender) = self.local().get(session_id).map(|s| s.sender.clone()) else {
            // The stream ended meanwhile; its row (and queue) is being deleted.
            return Ok(());
        };
        for message in messages {
            if sender.try_send(message).is_err() {
                // A reader this far behind (or gone) will not catch up: ending the stream tells
                // the client to reconnect, rather than leaving it waiting for a dropped reply.
                tracing::warn!("an SSE client is not reading its stream; closing it");
                self.local().remove(session_id);
                break;
            }
        }
        Ok(())
    }

    /// Delivers whatever is queued for every session held here (after notices were missed).
    pub async fn deliver_all(&self) -> Result<(), StoreError> {
        let ids: Vec<String> = self.local().keys().cloned().collect();
        for id in ids {
            self.deliver(&id).await?;
        }
        Ok(())
    }

    /// Renews the registration of every session held here (re-registering any that lapsed
    /// while this replica could not reach the database).
    pub async fn renew(&self) -> Result<(), StoreError> {
        let Some(shared) = &self.0.shared else {
            return Ok(());
        };
        let held: Vec<(String, String)> = self
            .local()
            .iter()
            .map(|(id, s)| (id.clone(), s.server_id.clone()))
            .collect();
        shared
            .keep_sse_sessions(&self.0.replica_id, &held, SESSION_LEASE)
            .await
    }

    /// How many streams this replica holds.
    pub fn open_streams(&self) -> usize {
        self.local().len()
    }

    /// Ends the streams held here whose MCP server is gone (deleted, expired, or deleted with
    /// its account); returns how many ended.
    pub async fn end_orphaned(&self, store: &Store) -> Result<usize, StoreError> {
        let held: Vec<(String, String)> = self
            .local()
            .iter()
            .map(|(id, s)| (id.clone(), s.server_id.clone()))
            .collect();
        if held.is_empty() {
            return Ok(0);
        }
        let mut servers: Vec<String> = held.iter().map(|(_, server)| server.clone()).collect();
        servers.sort_unstable();
        servers.dedup();
        let now = crate::timestamp::Timestamp::now();
        let live: std::collections::HashSet<String> = store
            .find_mcp_servers(&servers)
            .await?
            .into_iter()
            .filter(|s| !s.is_expired(now))
            .map(|s| s.id)
            .collect();
        let mut local = self.local();
        let mut ended = 0;
        for (session, server) in held {
            if !live.contains(&server) && local.remove(&session).is_some() {
                ended += 1;
            }
        }
        if ended > 0 {
            tracing::info!(
                count = ended,
                "ended the SSE streams of deleted or expired MCP servers"
            );
        }
        Ok(ended)
    }

    /// Ends every stream held here and forgets their sessions (shutting down: an open stream
    /// would otherwise hold the graceful shutdown forever).
    pub async fn close_all(&self) -> Result<(), StoreError> {
        self.local().clear();
        match &self.0.shared {
            Some(shared) => shared
                .delete_sse_sessions_of(&self.0.replica_id)
                .await
                .map(drop),
            None => Ok(()),
        }
    }
}

/// Forgets its session when the stream is dropped (the client went away, or it was closed).
struct Registration {
    sessions: Sessions,
    id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.sessions.local().remove(&self.id);
        if let Some(shared) = self.sessions.0.shared.clone()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let id = std::mem::take(&mut self.id);
            runtime.spawn(async move {
                // If this fails the row lapses by itself within the lease.
                if let Err(e) = shared.delete_sse_session(&id).await {
                    tracing::debug!(error = %e, "could not unregister a closed SSE session");
                }
            });
        }
    }
}

pub async fn open(
    State(state): State<McpState>,
    Path(token): Path<String>,
    Extension(tenant): Extension<Arc<Tenant>>,
) -> Response {
    let id = crate::tokens::random_urlsafe(18);
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    let registration = match state.app.sse.register(&id, &tenant.server.id, sender).await {
        Ok(registration) => registration,
        Err(e) => return e.into_response(),
    };
    // Under the public URL's own path, so a deskgate its proxy mounts under a prefix
    // (`--public-url https://host/helpdesk`) hands out a path that reaches it again.
    let prefix = url::Url::parse(&state.app.public_url)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("{prefix}/mcp/{token}/message?sessionId={id}"));
    let messages = ReceiverStream::new(receiver).map(move |message| {
        let _alive = &registration;
        Ok::<_, Infallible>(Event::default().event("message").data(message))
    });
    // A server that expires ends its streams then, on the dot; deletion ends them through
    // `end_orphaned`.
    let expiry = match tenant.server.expires_at {
        Some(at) => {
            let left = at
                .millis()
                .saturating_sub(crate::timestamp::Timestamp::now().millis());
            tokio::time::Instant::now() + Duration::from_millis(u64::try_from(left).unwrap_or(0))
        }
        None => tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86_400),
    };
    let stream = futures::stream::once(async move { Ok(endpoint) })
        .chain(messages)
        .take_until(tokio::time::sleep_until(expiry));
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
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
    let sessions = &state.app.sse;
    // Checked before the message runs: a POST to no stream must not call anything.
    let target = match sessions.route(&query.session_id, &tenant.server.id).await {
        Ok(target) => target,
        Err(e) => return e.into_response(),
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
        .body(body)
        .expect("a request built from valid parts");
    request.extensions_mut().insert(tenant);
    request.extensions_mut().insert(slot);

    let (parts, body) = request.into_parts();
    let reply = super::streamable::answer(&state, parts, body).await;
    let status = reply.status();
    let is_event_stream = reply
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let bytes = match reply.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        // Replies are written whole in memory; one that cannot be read is a bug, not input.
        Err(e) => {
            tracing::error!(error = %e, "could not read an MCP reply for an SSE stream");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
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
    if !messages.is_empty()
        && let Err(e) = sessions.send(&query.session_id, target, messages).await
    {
        return e.into_response();
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
