//! The record stage: what the audit log keeps of a call. A draft is opened when the call
//! starts and filled in by the stages as they learn things (the upstream request, its
//! status); it never holds argument values.
//!
//! When it is written (issue 18's decision): a write's record is committed **before** the
//! request goes upstream, as an intent (`pending`) with its target, and completed with the
//! outcome afterwards, so a write that reached the helpdesk can never be missing from the log
//! whatever the client or the process does. Every other record (reads, refusals, a write's
//! completion) is written behind the answer within `audit::WRITE_BEHIND_WINDOW`; a crash loses
//! at most that window of them.

use std::time::Instant;

use super::result::{CallResult, ClientInfo};
use crate::app::App;
use crate::audit::{Outcome, ToolCallRecord};
use crate::policy::{Decision, PolicyOutcome};
use crate::tenants::Tenant;
use crate::timestamp::Timestamp;
use crate::upstream;

/// Longest text kept in a record's field: a client chooses its name, version and the tool name
/// it asks for, and an upstream error can be long; none of them may grow the log unbounded.
const MAX_FIELD: usize = 200;
const MAX_ERROR: usize = 1000;

/// `text` cut to at most `max` bytes, on a character boundary, marked when cut.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub(3);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

pub(super) struct Draft {
    /// The record's id, chosen when the call starts: a write's intent and its completion are
    /// the same record.
    id: String,
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
            id: uuid::Uuid::now_v7().to_string(),
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

    /// A held call approved by a person: recorded as approved, naming who.
    pub(super) fn approved(&mut self, rule: Option<&str>, approver: &str) {
        let rule = format!("{} (approved by {approver})", rule.unwrap_or("policy"));
        self.policy = Some((PolicyOutcome::Approved, Some(rule)));
    }

    /// The request about to be sent upstream.
    pub(super) fn target(&mut self, request: &upstream::Request) {
        self.upstream_method = Some(request.method.as_str().to_owned());
        self.upstream_path = Some(request.path.clone());
    }

    /// `bucket`: the helpdesk's rate-limit bucket its answer reported, as (size, left).
    fn record(
        &self,
        outcome: Outcome,
        upstream_status: Option<u16>,
        error: Option<String>,
        bucket: Option<(u64, u64)>,
    ) -> ToolCallRecord {
        let text = |t: &Option<String>| t.clone().map(|t| bounded(t, MAX_FIELD));
        let oauth = self.client.as_ref().and_then(|c| c.oauth.as_ref());
        ToolCallRecord {
            id: self.id.clone(),
            mcp_server_id: self.mcp_server_id.clone(),
            integrated_account_id: self.integrated_account_id.clone(),
            at: Timestamp::now(),
            tool: bounded(self.tool.clone(), MAX_FIELD),
            client_name: text(&self.client.as_ref().map(|c| c.name.clone())),
            client_version: text(&self.client.as_ref().map(|c| c.version.clone())),
            upstream_method: self.upstream_method.clone(),
            upstream_path: self.upstream_path.clone().map(|p| bounded(p, MAX_ERROR)),
            upstream_status,
            duration_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            outcome,
            error: error.map(|e| bounded(e, MAX_ERROR)),
            policy_decision: self.policy.as_ref().map(|p| p.0),
            policy_rule: text(&self.policy.as_ref().and_then(|p| p.1.clone())),
            person_id: oauth.and_then(|o| o.person.as_ref()).map(|p| p.0.clone()),
            person_email: text(&oauth.and_then(|o| o.person.as_ref()).map(|p| p.1.clone())),
            oauth_client_id: text(&oauth.map(|o| o.client_id.clone())),
            ratelimit_limit: bucket.map(|(limit, _)| limit),
            ratelimit_remaining: bucket.map(|(_, left)| left),
        }
    }

    /// A write's record before it is sent: what it is about to do, outcome `pending`.
    pub(super) fn intent(&self) -> ToolCallRecord {
        self.record(Outcome::Pending, None, None, None)
    }

    /// The record of a call refused before anything ran.
    pub(super) fn refused(self, why: &str) -> ToolCallRecord {
        self.record(Outcome::Refused, None, Some(why.to_owned()), None)
    }

    /// The record of a call the upstream answered with a success.
    pub(super) fn succeeded(
        self,
        upstream_status: u16,
        bucket: Option<&integration_spec::RateLimit>,
    ) -> ToolCallRecord {
        self.record(
            Outcome::Ok,
            Some(upstream_status),
            None,
            bucket.map(|b| (b.limit, b.remaining)),
        )
    }

    /// The record of a call that produced `result`.
    pub(super) fn finished(self, result: &CallResult) -> ToolCallRecord {
        // The helpdesk's own bucket, from its answer (not deskgate's budget refusals, which
        // carry rate-limit values of their own and no upstream status).
        let bucket = result
            .rate_limit
            .as_ref()
            .filter(|_| result.upstream_status.is_some())
            .map(|limit| (limit.limit, limit.remaining));
        self.record(
            result.outcome,
            result.upstream_status,
            result.error_summary(),
            bucket,
        )
    }
}

impl App {
    /// Commits a write's intent before it is sent; `false` if the log could not take it, in
    /// which case the write must not be sent.
    #[tracing::instrument(target = "deskgate_trace", name = "audit.intent", skip_all)]
    pub(super) async fn record_intent(&self, record: ToolCallRecord) -> bool {
        self.audit_log.write(record).await
    }

    /// Writes a call's record behind its answer (see the module's note on when).
    #[tracing::instrument(target = "deskgate_trace", name = "audit.record", skip_all)]
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
        crate::telemetry::tool_call(
            &record.mcp_server_id,
            &record.tool,
            record.outcome,
            std::time::Duration::from_millis(record.duration_ms),
        );
        self.audit_log.write_behind(record).await;
    }
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_marked() {
        assert_eq!(bounded("short".into(), 200), "short");
        let cut = bounded("é".repeat(300), 200);
        assert!(cut.len() <= 200, "{}", cut.len());
        assert!(cut.ends_with("..."));
        assert!(cut.trim_end_matches("...").chars().all(|c| c == 'é'));
        assert_eq!(bounded("x".repeat(5_000_000), 1000).len(), 1000);
    }
}
