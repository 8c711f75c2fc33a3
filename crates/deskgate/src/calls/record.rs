//! The record stage: what the audit log keeps of a call. A draft is opened when the call
//! starts and filled in by the stages as they learn things (the upstream request, its
//! status); it never holds argument values.

use std::time::Instant;

use super::result::{CallResult, ClientInfo};
use crate::app::App;
use crate::audit::{Outcome, ToolCallRecord};
use crate::policy::{Decision, PolicyOutcome};
use crate::tenants::Tenant;
use crate::timestamp::Timestamp;
use crate::upstream;

pub(super) struct Draft {
    started: Instant,
    mcp_server_id: String,
    integrated_account_id: String,
    tool: String,
    client: Option<ClientInfo>,
    upstream_method: Option<String>,
    upstream_path: Option<String>,
    policy: Option<(PolicyOutcome, Option<String>)>,
}

impl Draft {
    pub(super) fn open(tenant: &Tenant, tool: &str, client: Option<&ClientInfo>) -> Self {
        Draft {
            started: Instant::now(),
            mcp_server_id: tenant.server.id.clone(),
            integrated_account_id: tenant.account.id.clone(),
            tool: tool.to_owned(),
            client: client.cloned(),
            upstream_method: None,
            upstream_path: None,
            policy: None,
        }
    }

    /// What the server's policy decided.
    pub(super) fn policy(&mut self, decision: &Decision) {
        self.policy = Some((decision.into(), decision.rule().map(str::to_owned)));
    }

    /// The request about to be sent upstream.
    pub(super) fn target(&mut self, request: &upstream::Request) {
        self.upstream_method = Some(request.method.as_str().to_owned());
        self.upstream_path = Some(request.path.clone());
    }

    fn record(
        self,
        outcome: Outcome,
        upstream_status: Option<u16>,
        error: Option<String>,
    ) -> ToolCallRecord {
        ToolCallRecord {
            id: uuid::Uuid::now_v7().to_string(),
            mcp_server_id: self.mcp_server_id,
            integrated_account_id: self.integrated_account_id,
            at: Timestamp::now(),
            tool: self.tool,
            client_name: self.client.as_ref().map(|c| c.name.clone()),
            client_version: self.client.map(|c| c.version),
            upstream_method: self.upstream_method,
            upstream_path: self.upstream_path,
            upstream_status,
            duration_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            outcome,
            error,
            policy_decision: self.policy.as_ref().map(|p| p.0),
            policy_rule: self.policy.and_then(|p| p.1),
        }
    }

    /// The record of a call refused before anything ran.
    pub(super) fn refused(self, why: &str) -> ToolCallRecord {
        self.record(Outcome::Refused, None, Some(why.to_owned()))
    }

    /// The record of a call the upstream answered with a success.
    pub(super) fn succeeded(self, upstream_status: u16) -> ToolCallRecord {
        self.record(Outcome::Ok, Some(upstream_status), None)
    }

    /// The record of a call that produced `result`.
    pub(super) fn finished(self, result: &CallResult) -> ToolCallRecord {
        self.record(
            result.outcome,
            result.upstream_status,
            result.error_summary(),
        )
    }
}

impl App {
    /// Writes the audit record. It is awaited (committed) before the call is answered, so a
    /// completed call is never missing from the log, even if this process dies right after.
    pub(super) async fn record(&self, record: ToolCallRecord) {
        tracing::info!(
            mcp_server.id = %record.mcp_server_id,
            tool.name = %record.tool,
            upstream.status = record.upstream_status,
            outcome = record.outcome.as_str(),
            policy.rule = record.policy_rule.as_deref(),
            duration_ms = record.duration_ms,
            "tool call"
        );
        self.audit_log.write(record).await;
    }
}
