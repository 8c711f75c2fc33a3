//! One tool call, whatever transport it came by (the Streamable HTTP fast path, the rmcp
//! handler, legacy SSE, discovery mode's `call_tool`): every one of them runs
//! [`App::call_tool`], and that function is the order of the stages, top to bottom:
//!
//! 1. resolve — the account's catalog (completed with its custom fields);
//! 2. authorize (`authorize`) — the server's filter (a tool it filters out does not exist),
//!    then its policy (`crate::policy`): a denied call ends here, naming the rule;
//! 3. names (`names`) — teams, users and tags given by name become what Gorgias takes;
//! 4. plan — arguments to one upstream request, pure, in `integration-spec`;
//! 5. send (`send`) — one request with the account's credentials, never retried;
//! 6. shape (`shape`) — what happened, as a result the model can act on: a read's concise view
//!    or the upstream's body as sent (`response_format`), a write's short confirmation;
//! 7. record (`record`) — the audit record: a write's intent committed before step 5, every
//!    other record written behind the answer (see `record` for the bound).
//!
//! A task tool (`tasks`) runs stages 3 to 6 once per step, each step's call planned and
//! validated as the API tool it calls, and shapes its own result.
//!
//! Nothing here knows about MCP: `mcp/` maps [`CallResult`] onto the protocol.

mod admission;
mod authorize;
mod budget;
mod names;
mod record;
mod result;
mod send;
mod shape;
mod tasks;

use serde_json::{Map, Value};
use tracing::Instrument as _;

pub use admission::Admission;
pub use budget::Buckets;
pub use result::{CallResult, ClientInfo, OAuthAttribution, Structured, UnknownTool};
pub use send::CallFailure;

use crate::app::App;
use crate::tenants::Tenant;

/// A `tools/call` as the pipeline takes it.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub name: String,
    pub arguments: Map<String, Value>,
    pub client: Option<ClientInfo>,
}

impl App {
    /// Runs one `tools/call` for a tenant.
    pub async fn call_tool(
        &self,
        tenant: &Tenant,
        call: ToolCall,
    ) -> Result<CallResult, UnknownTool> {
        let span = call_span(tenant);
        let result = self
            .run_stages(tenant, call, None)
            .instrument(span.clone())
            .await;
        record_outcome(&span, &result);
        // What the upstream said of its rate limit (not deskgate's own budget refusals): the
        // account's headroom, for operators and for the account's reserve.
        if let Ok(CallResult {
            rate_limit: Some(limit),
            upstream_status: Some(_),
            ..
        }) = &result
        {
            self.buckets.observe(&tenant.account.id, limit);
            crate::telemetry::rate_limit_headroom(&tenant.account.id, limit.remaining, limit.limit);
        }
        result
    }

    /// Runs a call a person approved (see `crate::approvals`): the policy's hold is lifted,
    /// everything else (filters, validation, budgets, the audit log) applies as to any call.
    pub async fn call_tool_approved(
        &self,
        tenant: &Tenant,
        call: ToolCall,
        approver: &str,
    ) -> Result<CallResult, UnknownTool> {
        let span = call_span(tenant);
        let result = self
            .run_stages(tenant, call, Some(approver))
            .instrument(span.clone())
            .await;
        record_outcome(&span, &result);
        result
    }

    async fn run_stages(
        &self,
        tenant: &Tenant,
        call: ToolCall,
        approver: Option<&str>,
    ) -> Result<CallResult, UnknownTool> {
        let mut draft = record::Draft::open(tenant, &call.name, call.client.as_ref());
        // Held until the call is answered (dropped with this function's frame).
        let _admitted = match self.admission.admit(&tenant.server.id).await {
            Ok(admitted) => admitted,
            Err(busy) => {
                let result = shape::busy(busy, self.admission.retry_after());
                self.record(draft.finished(&result)).await;
                return Ok(result);
            }
        };

        let catalog = self
            .account_catalog(&tenant.account, &tenant.sealed_credentials)
            .instrument(tracing::info_span!(target: TRACE, "resolve"))
            .await;

        // The status of a held call: deskgate's own tool, offered by servers that hold calls.
        if call.name == crate::approvals::STATUS_TOOL && tenant.filter.policy.holds_any() {
            let result = self.pending_action_status(tenant, &call.arguments).await;
            self.record(draft.finished(&result)).await;
            return Ok(result);
        }
        let authorizing = tracing::info_span!(target: TRACE, "authorize", policy.decision = tracing::field::Empty);
        let tool = match authorizing.in_scope(|| authorize::tool(tenant, &catalog, &call.name)) {
            Ok(tool) => tool,
            Err(unknown) => {
                self.record(draft.refused("unknown or filtered-out tool"))
                    .await;
                return Err(unknown);
            }
        };
        // Known to the catalog now, so a bounded value: never the name a client made up.
        tracing::Span::current().record("tool.name", tool.name.as_str());

        let mut arguments = call.arguments;
        let decision = authorizing.in_scope(|| authorize::policy(tenant, tool, &mut arguments));
        authorizing.record(
            "policy.decision",
            crate::policy::PolicyOutcome::from(&decision).as_str(),
        );
        drop(authorizing);
        draft.policy(&decision);
        if let crate::policy::Decision::Denied { rule, reason } = &decision {
            let result = shape::denied(&self.integration, &tool.name, rule, reason);
            self.record(draft.finished(&result)).await;
            return Ok(result);
        }
        let held = match (&decision, approver) {
            (crate::policy::Decision::Held { rule }, None) => Some(rule.clone()),
            (crate::policy::Decision::Held { rule }, Some(who)) => {
                draft.approved(Some(rule), who);
                None
            }
            _ => None,
        };
        if let Some(budget) = &tenant.server.config.budget
            && let Err(refusal) = self
                .spend_budget(&tenant.server.id, budget, !tool.annotations.read_only)
                .await
        {
            let result = shape::budget_refused(&refusal);
            self.record(draft.finished(&result)).await;
            return Ok(result);
        }
        if let Some(reserve) = tenant.account.rate_limit_reserve
            && let Err(refusal) = self.check_reserve(&tenant.account.id, reserve)
        {
            let result = shape::budget_refused(&refusal);
            self.record(draft.finished(&result)).await;
            return Ok(result);
        }
        if let Some(rule) = held {
            // Only a valid call is held: what a person approves must be able to run.
            let checked = match tool.task() {
                Some(_) => tool.validate(&arguments).map(|_| ()),
                None => {
                    let mut resolved = arguments.clone();
                    match self.resolve_names(tenant, tool, &mut resolved).await {
                        Ok(()) => tool.plan(&resolved).map(|_| ()),
                        Err(e) => Err(e),
                    }
                }
            };
            let result = match checked {
                Err(e) => shape::invalid_arguments(&self.integration, &tool.name, &e),
                Ok(()) => match self.hold(tenant, &tool.name, &arguments, &rule).await {
                    Ok(result) => result,
                    Err(e) => shape::failure(
                        &self.integration,
                        &CallFailure::Internal(format!("could not store the held call: {e}")),
                    ),
                },
            };
            self.record(draft.finished(&result)).await;
            return Ok(result);
        }
        if let Some(task) = tool.task() {
            // A task that may write is recorded before any of its steps is sent.
            if !tool.annotations.read_only && !self.record_intent(draft.intent()).await {
                return Ok(unrecorded(&self.integration));
            }
            let result = self
                .run_task(tenant, &catalog, tool, task, arguments, &mut draft)
                .await;
            self.record(draft.finished(&result)).await;
            return Ok(result);
        }
        let planned = match async {
            self.resolve_names(tenant, tool, &mut arguments).await?;
            tool.plan(&arguments)
        }
        .instrument(tracing::info_span!(target: TRACE, "plan"))
        .await
        {
            Ok(planned) => planned,
            Err(e) => {
                let result = shape::invalid_arguments(&self.integration, &tool.name, &e);
                self.record(draft.finished(&result)).await;
                return Ok(result);
            }
        };

        let request = send::request(planned);
        draft.target(&request);
        if !tool.annotations.read_only && !self.record_intent(draft.intent()).await {
            return Ok(unrecorded(&self.integration));
        }
        let result = match self.send_as_account(tenant, &request).await {
            Ok(response) => {
                // A success is recorded before its reply is shaped: should the record wait
                // for room in the audit queue, the call holds the upstream's bytes rather than
                // the shaped reply, several times larger (this bounds memory under a burst).
                if response.status.is_success() {
                    let status = response.status.as_u16();
                    let bucket = shape::rate_limit_of(&self.integration, &response.headers);
                    self.record(draft.succeeded(status, bucket.as_ref())).await;
                    let app_base = self.integration.base_url(&tenant.account.context);
                    let _shaping = tracing::info_span!(target: TRACE, "shape").entered();
                    return Ok(shape::success(
                        &self.integration,
                        tool,
                        &arguments,
                        response,
                        &app_base,
                    ));
                }
                shape::response(&self.integration, response)
            }
            Err(failure) => shape::failure(&self.integration, &failure),
        };
        self.record(draft.finished(&result)).await;
        Ok(result)
    }
}

/// The `tracing` target of the exported spans (see `crate::traces`).
const TRACE: &str = crate::traces::TARGET;

/// The span of one call: ids and, once the catalog knows the tool, its name; the outcome when
/// it is answered. Bounded values only (no token, no argument, no text from the client).
fn call_span(tenant: &Tenant) -> tracing::Span {
    tracing::info_span!(
        target: TRACE,
        "tool_call",
        mcp_server.id = %tenant.server.id,
        integrated_account.id = %tenant.account.id,
        tool.name = tracing::field::Empty,
        upstream.status = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

fn record_outcome(span: &tracing::Span, result: &Result<CallResult, UnknownTool>) {
    match result {
        Ok(result) => {
            span.record("outcome", if result.is_error { "error" } else { "ok" });
            if let Some(status) = result.upstream_status {
                span.record("upstream.status", status);
            }
        }
        Err(_) => {
            span.record("outcome", "unknown_tool");
        }
    }
}

/// The answer to a write that was not sent because its intent could not be recorded: an
/// unrecorded write is worse than a refused one.
fn unrecorded(integration: &crate::integration::Integration) -> CallResult {
    shape::failure(
        integration,
        &CallFailure::Internal(
            "the audit log could not record this write, so it was not sent".into(),
        ),
    )
}
