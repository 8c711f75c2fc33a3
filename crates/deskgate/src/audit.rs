//! The audit log: one record per `tools/call`, never holding argument values.

use serde::Serialize;
use std::time::Duration;

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::store::Store;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The upstream answered 2xx.
    Ok,
    /// The arguments failed validation; nothing was sent upstream.
    InvalidArguments,
    /// The upstream answered 429.
    RateLimited,
    /// The upstream answered another 4xx.
    UpstreamClientError,
    /// The upstream answered 5xx, timed out or could not be reached.
    UpstreamFailure,
    /// The account must be reconnected (its OAuth grant is gone).
    NeedsReauth,
    /// The tool is unknown or filtered out for this server, or its policy refused the call.
    Refused,
    /// A write about to be sent upstream: recorded before it is sent, completed with its
    /// outcome afterwards. One that stays pending was sent (or about to be) and its outcome is
    /// unknown: the client hung up, or the process died, before it was recorded.
    Pending,
    /// Held for a person's approval by the server's policy; nothing was sent (yet).
    Held,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::InvalidArguments => "invalid_arguments",
            Outcome::RateLimited => "rate_limited",
            Outcome::UpstreamClientError => "upstream_client_error",
            Outcome::UpstreamFailure => "upstream_failure",
            Outcome::NeedsReauth => "needs_reauth",
            Outcome::Refused => "refused",
            Outcome::Pending => "pending",
            Outcome::Held => "held",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Outcome::Ok,
            Outcome::InvalidArguments,
            Outcome::RateLimited,
            Outcome::UpstreamClientError,
            Outcome::UpstreamFailure,
            Outcome::NeedsReauth,
            Outcome::Refused,
            Outcome::Pending,
            Outcome::Held,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ToolCallRecord {
    pub id: String,
    pub mcp_server_id: String,
    pub integrated_account_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub tool: String,
    pub client_name: Option<String>,
    pub client_version: Option<String>,
    pub upstream_method: Option<String>,
    pub upstream_path: Option<String>,
    pub upstream_status: Option<u16>,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// A short, secret-free reason for a failed call.
    pub error: Option<String>,
    /// What the server's policy decided; absent when the call never reached it (an unknown
    /// tool).
    pub policy_decision: Option<crate::policy::PolicyOutcome>,
    /// The policy rule that governed the call, e.g. `policies[0] (deny class write)`.
    pub policy_rule: Option<String>,
    /// On an `oauth` server: the person who approved the client that made the call.
    pub person_id: Option<String>,
    /// Their email when the call was made.
    pub person_email: Option<String>,
    /// On an `oauth` server: the OAuth client (its registered `client_id`) that made the call.
    pub oauth_client_id: Option<String>,
    /// The helpdesk's rate-limit bucket as the call's answer reported it: its size...
    pub ratelimit_limit: Option<u64>,
    /// ...and what was left of it.
    pub ratelimit_remaining: Option<u64>,
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct ToolCallQuery {
    pub mcp_server_id: Option<String>,
    pub tool: Option<String>,
    /// Part of the tool's name, any case.
    pub tool_contains: Option<String>,
    /// Records at or after this time, and strictly before `until`.
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub outcome: Option<Outcome>,
    /// What the server's policy decided (allowed, denied, held, approved).
    pub policy_decision: Option<crate::policy::PolicyOutcome>,
    /// Calls made through grants this person approved.
    pub person_id: Option<String>,
    /// Records strictly older than this record id (ids are time-ordered UUIDv7).
    pub before_id: Option<String>,
    pub limit: u32,
}

/// How long a read's record may wait to be written behind its answer, and how many wait at
/// most in one batch. A crash (`kill -9`) loses at most the records of this window.
pub const WRITE_BEHIND_WINDOW: Duration = Duration::from_millis(50);
const WRITE_BEHIND_BATCH: usize = 256;
/// Records queued behind answers at most; a call beyond this waits for room (back-pressure)
/// rather than growing the queue.
const WRITE_BEHIND_QUEUE: usize = 4096;

/// Writes tool-call records, two ways:
///
/// - [`AuditLog::write`] commits before it returns, with group commit: whoever finds the writer
///   idle writes at once, so a lone call pays no hand-off; calls that arrive while a commit
///   runs queue their records, and the first of them to get its turn writes everything queued
///   in one transaction. A write's intent goes this way, before the write is sent upstream.
/// - [`AuditLog::write_behind`] queues the record and returns: a writer task commits the queue
///   in batches within [`WRITE_BEHIND_WINDOW`]. Reads, refusals and a write's completion go
///   this way; [`AuditLog::flush`] waits for everything queued before it (graceful shutdown,
///   and before the log is read on this replica).
pub struct AuditLog {
    store: Store,
    queue: std::sync::Mutex<Vec<Pending>>,
    /// Held while a batch is written; tokio's mutex is fair, so turns come in arrival order.
    writer: tokio::sync::Mutex<()>,
    behind: mpsc::Sender<Behind>,
    /// Wakes the write-behind task within a window: a batch is full, or a flush waits.
    due: Arc<Notify>,
}

struct Pending {
    record: ToolCallRecord,
    written: oneshot::Sender<bool>,
}

enum Behind {
    Record(Box<ToolCallRecord>),
    Flush(oneshot::Sender<()>),
}

impl AuditLog {
    /// Starts the write-behind task on the current runtime.
    pub fn new(store: Store) -> Self {
        let (behind, queued) = mpsc::channel(WRITE_BEHIND_QUEUE);
        let due = Arc::new(Notify::new());
        tokio::spawn(write_behind_forever(store.clone(), queued, due.clone()));
        Self {
            store,
            queue: std::sync::Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(()),
            behind,
            due,
        }
    }

    /// Writes one record; returns once it is committed, with whether it was. Failures are
    /// logged here.
    pub async fn write(&self, record: ToolCallRecord) -> bool {
        let server = record.mcp_server_id.clone();
        let (written, mut done) = oneshot::channel();
        self.queue
            .lock()
            .expect("audit queue poisoned")
            .push(Pending { record, written });
        let turn = self.writer.lock().await;
        // A writer before us may have taken our record with its batch.
        let committed = match done.try_recv() {
            Ok(committed) => committed,
            Err(oneshot::error::TryRecvError::Closed) => false,
            Err(oneshot::error::TryRecvError::Empty) => {
                let batch = std::mem::take(&mut *self.queue.lock().expect("audit queue poisoned"));
                match batch.len() {
                    0 => {}
                    // Only ours: written right here, as a call without group commit would.
                    1 => write_batch(&self.store, batch).await,
                    // Other calls' records too: in a task of its own, so that they are still
                    // written if this call is cancelled mid-write.
                    _ => {
                        let store = self.store.clone();
                        let _ = tokio::spawn(async move { write_batch(&store, batch).await }).await;
                    }
                }
                drop(turn);
                // Ours was in this batch, or in one a cancelled writer left running.
                done.await.unwrap_or(false)
            }
        };
        if !committed {
            tracing::error!(mcp_server.id = %server, "could not write the audit record");
        }
        committed
    }

    /// Queues one record to be written behind the answer; waits only when the queue is full.
    pub async fn write_behind(&self, record: ToolCallRecord) {
        if self
            .behind
            .send(Behind::Record(Box::new(record)))
            .await
            .is_err()
        {
            tracing::error!("the audit writer has stopped; a record was lost");
        } else if self.behind.max_capacity() - self.behind.capacity() >= WRITE_BEHIND_BATCH {
            self.due.notify_one();
        }
    }

    /// Returns once every record queued before this call is written (or failed).
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.behind.send(Behind::Flush(done)).await.is_ok() {
            self.due.notify_one();
            let _ = flushed.await;
        }
    }
}

/// Commits queued records in batches: the first record opens a window of
/// [`WRITE_BEHIND_WINDOW`]; what arrives within it (up to a batch) goes in the same commit.
///
/// Within a window the task sleeps rather than waiting on the queue: waiting on it would wake
/// the task (and, on an idle runtime, a second worker thread) for every record. It is woken
/// early only when a batch is full or a flush waits ([`AuditLog`]'s `due`).
async fn write_behind_forever(store: Store, mut queued: mpsc::Receiver<Behind>, due: Arc<Notify>) {
    while let Some(first) = queued.recv().await {
        let deadline = tokio::time::Instant::now() + WRITE_BEHIND_WINDOW;
        let mut records = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        loop {
            match next.take() {
                Some(Behind::Record(r)) => records.push(*r),
                Some(Behind::Flush(done)) => flushes.push(done),
                None => {
                    // Nothing queued just now: sleep until the window ends or a batch is due.
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = due.notified() => {}
                    }
                    // What came in the window's last moments still goes in this batch.
                    next = queued.try_recv().ok();
                    if next.is_none() && tokio::time::Instant::now() >= deadline {
                        break;
                    }
                    continue;
                }
            }
            if !flushes.is_empty() || records.len() >= WRITE_BEHIND_BATCH {
                break;
            }
            next = queued.try_recv().ok();
        }
        if !records.is_empty() {
            commit(&store, &records).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn write_batch(store: &Store, batch: Vec<Pending>) {
    let (records, acks): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|p| (p.record, p.written)).unzip();
    for (written, ack) in commit(store, &records).await.into_iter().zip(acks) {
        let _ = ack.send(written);
    }
}

/// Writes records in one transaction; if that fails, one by one, so that one bad record does
/// not cost the others theirs. Returns whether each was written.
async fn commit(store: &Store, records: &[ToolCallRecord]) -> Vec<bool> {
    let started = std::time::Instant::now();
    let written = store.insert_tool_calls(records).await;
    crate::telemetry::audit_write(started.elapsed());
    match written {
        Ok(()) => vec![true; records.len()],
        Err(e) => {
            tracing::warn!(error = %e, records = records.len(), "audit batch failed; writing its records one by one");
            let mut written = Vec::with_capacity(records.len());
            for record in records {
                let one = store.insert_tool_calls(std::slice::from_ref(record)).await;
                if let Err(e) = &one {
                    tracing::error!(error = %e, "audit record rejected");
                }
                written.push(one.is_ok());
            }
            written
        }
    }
}
