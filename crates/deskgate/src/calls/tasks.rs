//! A task tool, step by step: the task's own arguments are checked like any tool's, then each
//! step's call is planned by the API tool it names (its schema, rules and name resolution
//! apply) and sent, and the task's result is built from the answers. Steps run one after
//! another: each may read the answers before it.
//!
//! Sub-calls are deskgate's own and are not filtered again: the server's filter admitted the
//! task only because it allows every method the task's steps use (see `ToolFilter`), and the
//! task's data fixes what matters (an internal note's channel cannot be changed by the model).

use integration_spec::{ShapeContext, Task, Tool};
use serde_json::{Map, Value};

use super::record::Draft;
use super::result::{CallResult, Structured};
use super::{send, shape};
use crate::app::App;
use crate::audit::Outcome;
use crate::integration::AccountCatalog;
use crate::tenants::Tenant;

impl App {
    pub(super) async fn run_task(
        &self,
        tenant: &Tenant,
        catalog: &AccountCatalog,
        tool: &Tool,
        task: &Task,
        mut arguments: Map<String, Value>,
        draft: &mut Draft,
    ) -> CallResult {
        let invalid = |e: &integration_spec::ArgumentError| {
            shape::invalid_arguments(&self.integration, &tool.name, e)
        };
        let arguments = match self.resolve_names(tenant, tool, &mut arguments).await {
            Ok(()) => match tool.validate(&arguments) {
                Ok(valid) => valid,
                Err(e) => return invalid(&e),
            },
            Err(e) => return invalid(&e),
        };
        let format = tool.response_format(&arguments);
        let app_base = self.integration.base_url(&tenant.account.context);
        let cx = ShapeContext {
            app_base: &app_base,
        };
        let mut run = task.start(arguments);
        let mut rate_limit = None;
        let mut upstream_status = None;
        loop {
            let next = match run.next_call(&cx) {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(e) => return invalid(&e),
            };
            let Some(step_tool) = catalog.catalog.tool(&next.tool) else {
                // The loader checked every step's tool; a missing one is a bug, not input.
                return shape::failure(
                    &self.integration,
                    &send::CallFailure::Internal(format!(
                        "task step calls unknown tool {}",
                        next.tool
                    )),
                );
            };
            let mut step_arguments = next.arguments.clone();
            let planned = match self
                .resolve_names(tenant, step_tool, &mut step_arguments)
                .await
                .and_then(|()| step_tool.plan(&step_arguments))
            {
                Ok(planned) => planned,
                Err(e) => return invalid(&e),
            };
            let request = send::request(planned);
            draft.target(&request);
            let response = match self.send_as_account(tenant, &request).await {
                Ok(response) => response,
                Err(failure) => {
                    if run.failed(&next) {
                        continue;
                    }
                    return in_step(&next.step, shape::failure(&self.integration, &failure));
                }
            };
            rate_limit = shape::rate_limit_of(&self.integration, &response.headers).or(rate_limit);
            upstream_status = Some(response.status.as_u16());
            if !response.status.is_success() {
                if run.failed(&next) {
                    continue;
                }
                return in_step(&next.step, shape::response(&self.integration, response));
            }
            let answer = (!response.body.is_empty())
                .then(|| serde_json::from_slice(&response.body).ok())
                .flatten();
            run.succeeded(next, answer);
        }
        match run.result(format, &|name| catalog.catalog.tool(name), &cx) {
            Ok(result) => CallResult {
                outcome: Outcome::Ok,
                is_error: false,
                text: result.to_string(),
                structured: Structured::Value(result),
                rate_limit,
                upstream_status,
            },
            Err(e) => invalid(&e),
        }
    }
}

/// A step's failure, saying which step failed (the earlier steps' effects stand).
fn in_step(step: &str, mut result: CallResult) -> CallResult {
    result.text = format!(
        "Step `{step}` failed, the steps before it stand. {}",
        result.text
    );
    result
}
