//! The audit log: one record per `tools/call`, never holding argument values.

use serde::Serialize;
use tokio::sync::oneshot;

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
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct ToolCallQuery {
    pub mcp_server_id: Option<String>,
    pub tool: Option<String>,
    pub outcome: Option<Outcome>,
    /// Records strictly older than this record id (ids are time-ordered UUIDv7).
    pub before_id: Option<String>,
    pub limit: u32,
}

/// Writes tool-call records with group commit. A call's record is committed before the call is
/// answered (a completed call is never missing from the log, even if the process dies right
/// after answering). Whoever finds the writer idle writes at once, so a lone
/// call pays no hand-off; calls that arrive while a commit is running queue their records, and
/// the first of them to get its turn writes everything queued in one transaction. Under load a
/// commit (a WAL append on SQLite, a WAL flush on PostgreSQL) is paid once per batch.
pub struct AuditLog {
    store: Store,
    queue: std::sync::Mutex<Vec<Pending>>,
    /// Held while a batch is written; tokio's mutex is fair, so turns come in arrival order.
    writer: tokio::sync::Mutex<()>,
}

struct Pending {
    record: ToolCallRecord,
    written: oneshot::Sender<bool>,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            queue: std::sync::Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    /// Writes one record; returns once it is committed. Failures are logged here.
    pub async fn write(&self, record: ToolCallRecord) {
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
    }
}

async fn write_batch(store: &Store, batch: Vec<Pending>) {
    let (records, acks): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|p| (p.record, p.written)).unzip();
    match store.insert_tool_calls(&records).await {
        Ok(()) => {
            for ack in acks {
                let _ = ack.send(true);
            }
        }
        // One bad record must not cost the others theirs: write them one by one.
        Err(e) => {
            tracing::warn!(error = %e, records = records.len(), "audit batch failed; writing its records one by one");
            for (record, ack) in records.iter().zip(acks) {
                let written = store.insert_tool_calls(std::slice::from_ref(record)).await;
                if let Err(e) = &written {
                    tracing::error!(error = %e, "audit record rejected");
                }
                let _ = ack.send(written.is_ok());
            }
        }
    }
}
