//! Writes held for a person's approval (issue 15, item 3).
//!
//! A server's policy in `approve` mode lets a valid call through every check, then stores it
//! instead of sending it: its arguments sealed with the vault (they hold the exact text of a
//! note or reply), the tool and the rule. The model is told at once that it waits, with the
//! action's id. An operator lists pending actions (`GET /integrated-account/:id/actions`),
//! approves one (optionally with edited arguments: what is approved is exactly what is sent)
//! or rejects it with a reason. Approval runs the call through the same pipeline as any call
//! (filters, validation, the audit log), recorded as `approved` by the token that approved it.
//! A decision is taken once across replicas; an action not decided in time (24 hours unless
//! `--approval-expiry-secs` says otherwise) expires.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::calls::{CallResult, ToolCall};
use crate::error::ApiError;
use crate::tenants::Tenant;
use crate::timestamp::Timestamp;

/// How long an action waits for a decision unless the configuration says otherwise.
pub const DEFAULT_EXPIRY_SECS: u64 = 24 * 3600;
const MAX_EXPIRY_SECS: u64 = 10 * 365 * 24 * 3600;

/// The tool a server that holds calls offers, so the model can ask what became of one.
pub const STATUS_TOOL: &str = "get_pending_action_status";

/// The status tool as `tools/list` shows it: read-only, one argument.
pub fn status_tool_json() -> Value {
    json!({
        "name": STATUS_TOOL,
        "description": "What became of a call this server held for a person's approval: pending, approved (with the call's answer), rejected (with the reason) or expired.",
        "inputSchema": {
            "type": "object",
            "properties": {"action_id": {"type": "string", "description": "The action_id a held call answered with."}},
            "required": ["action_id"],
            "additionalProperties": false
        },
        "annotations": {"title": "Status of a held action", "readOnlyHint": true, "openWorldHint": false}
    })
}

/// The ticket an action is about, when its arguments name one: `ticket_id`, or `id` for the
/// tools that act on a ticket by id.
pub fn ticket_id(tool: &str, arguments: &Value) -> Option<i64> {
    let number = |v: &Value| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok());
    if let Some(id) = arguments.get("ticket_id").and_then(number) {
        return Some(id);
    }
    tool.contains("_ticket_by_id")
        .then(|| arguments.get("id").and_then(number))
        .flatten()
}

/// What an action would do, in plain words, for the people who decide and the webhook.
pub fn summary(tool: &str, title: Option<&str>, arguments: &Value) -> String {
    let text = |key: &str| arguments.get(key).and_then(Value::as_str);
    let ticket = match ticket_id(tool, arguments) {
        Some(id) => format!("ticket #{id}"),
        None => "a ticket".to_owned(),
    };
    match tool {
        "add_gorgias_internal_note" => {
            format!("Add an internal note to {ticket} (agents only; the customer never sees it)")
        }
        "reply_to_gorgias_customer" => match text("channel") {
            Some(channel) => {
                format!("Send a public reply by {channel} to the customer of {ticket}")
            }
            None => {
                format!("Send a public reply to the customer of {ticket}, on the ticket's channel")
            }
        },
        "create_a_gorgias_message" => {
            let public = arguments.get("public").and_then(Value::as_bool) != Some(false)
                && text("channel") != Some("internal-note");
            let channel = text("channel").unwrap_or("unknown channel");
            if public {
                format!(
                    "Add a public {channel} message to {ticket} (Gorgias may send it to the customer)"
                )
            } else {
                format!("Add an internal message to {ticket}")
            }
        }
        _ => {
            let on = match ticket_id(tool, arguments) {
                Some(id) => format!(" on ticket #{id}"),
                None => String::new(),
            };
            match title {
                Some(title) => format!("{title} ({tool}){on}"),
                None => format!("Run {tool}{on}"),
            }
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingActionRow {
    pub id: String,
    pub mcp_server_id: String,
    pub integrated_account_id: String,
    pub tool: String,
    pub sealed_arguments: Vec<u8>,
    pub policy_rule: String,
    pub status: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub result_outcome: Option<String>,
    pub result_text: Option<String>,
}

/// A pending action as the API shows it to the people who decide.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PendingAction {
    pub id: String,
    pub mcp_server_id: String,
    pub tool: String,
    /// Exactly what will be sent if approved as is; once approved, exactly what was sent
    /// (edited or not).
    #[schema(value_type = Object)]
    pub arguments: Value,
    pub policy_rule: String,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the call answered once approved (`ok`, or why it failed) and its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_text: Option<String>,
}

impl App {
    /// Answers the status tool for a server: only its own actions, never their arguments.
    pub(crate) async fn pending_action_status(
        &self,
        tenant: &Tenant,
        arguments: &Map<String, Value>,
    ) -> CallResult {
        let Some(id) = arguments.get("action_id").and_then(Value::as_str) else {
            return CallResult::error(
                crate::audit::Outcome::InvalidArguments,
                "Invalid argument `action_id`: the action_id a held call answered with is required.".into(),
                json!({"error": {"kind": "invalid_arguments", "field": "action_id"}}),
            );
        };
        let row = match self.store.get_pending_action(&tenant.account.id, id).await {
            Ok(Some(row)) if row.mcp_server_id == tenant.server.id => row,
            Ok(_) => {
                return CallResult::error(
                    crate::audit::Outcome::InvalidArguments,
                    format!("No action {id:?} was held by this server."),
                    json!({"error": {"kind": "not_found", "field": "action_id"}}),
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "reading a held action failed");
                return CallResult::error(
                    crate::audit::Outcome::UpstreamFailure,
                    "The action's status could not be read just now; try again shortly.".into(),
                    json!({"error": {"kind": "internal"}}),
                );
            }
        };
        let expired = row.status == "pending" && row.expires_at <= Timestamp::now().millis();
        let status = if expired {
            "expired"
        } else {
            row.status.as_str()
        };
        let mut answer = json!({"action_id": row.id, "tool": row.tool, "status": status});
        for (key, value) in [
            ("reason", &row.reason),
            ("result_outcome", &row.result_outcome),
            ("result", &row.result_text),
        ] {
            if let Some(v) = value {
                answer[key] = json!(v);
            }
        }
        let text = serde_json::to_string(&answer).expect("an answer serializes");
        CallResult::held(text, answer).with_outcome(crate::audit::Outcome::Ok)
    }

    /// Stores a held call; returns the model's answer.
    pub(crate) async fn hold(
        &self,
        tenant: &Tenant,
        tool: &str,
        arguments: &Map<String, Value>,
        rule: &str,
    ) -> Result<CallResult, crate::store::StoreError> {
        let now = Timestamp::now();
        let id = uuid::Uuid::now_v7().to_string();
        let plain = serde_json::to_vec(arguments).expect("arguments serialize");
        let row = PendingActionRow {
            id: id.clone(),
            mcp_server_id: tenant.server.id.clone(),
            integrated_account_id: tenant.account.id.clone(),
            tool: tool.to_owned(),
            sealed_arguments: self.vault.seal(&id, &plain),
            policy_rule: rule.to_owned(),
            status: "pending".into(),
            created_at: now.millis(),
            // At most ten years, so the milliseconds never overflow.
            expires_at: now
                .plus_secs(self.config.approval_expiry.as_secs().min(MAX_EXPIRY_SECS) as i64)
                .millis(),
            decided_at: None,
            decided_by: None,
            reason: None,
            result_outcome: None,
            result_text: None,
        };
        self.store.insert_pending_action(&row).await?;
        let held = Value::Object(arguments.clone());
        self.notify_pending(
            tenant,
            crate::webhooks::PendingNotice {
                action_id: id.clone(),
                tool: tool.to_owned(),
                ticket_id: ticket_id(tool, &held),
                summary: summary(tool, self.tool_title(tool), &held),
                created_at: now,
                expires_at: Timestamp(row.expires_at),
            },
        )
        .await;
        let expires = Timestamp(row.expires_at).to_rfc3339();
        let text = format!(
            "Held for approval ({rule}): nothing was sent. An operator must approve action {id} in deskgate \
             before {tool} runs; it expires at {expires}. Do not retry it; tell the user it awaits approval."
        );
        Ok(CallResult::held(
            text,
            json!({"status": "pending_approval", "action_id": id, "tool": tool, "expires_at": expires}),
        ))
    }

    /// A tool's title in the catalog, for summaries.
    pub fn tool_title(&self, tool: &str) -> Option<&str> {
        self.integration
            .catalog()
            .tools()
            .iter()
            .find(|t| t.name == tool)
            .map(|t| t.title.as_str())
    }

    /// The held arguments, unsealed.
    fn held_arguments(&self, row: &PendingActionRow) -> Result<Value, ApiError> {
        let plain = self
            .vault
            .open(&row.id, &row.sealed_arguments)
            .map_err(ApiError::internal)?;
        serde_json::from_str(secrecy::ExposeSecret::expose_secret(&plain))
            .map_err(ApiError::internal)
    }

    fn view(&self, row: PendingActionRow) -> Result<PendingAction, ApiError> {
        // One action whose arguments no key opens (the vault check rejected it at start) must
        // not hide every other: it shows no arguments.
        let arguments = self.held_arguments(&row).unwrap_or_else(|_| {
            tracing::warn!(action.id = %row.id, "a held action's arguments cannot be opened");
            Value::Null
        });
        let expired = row.status == "pending" && row.expires_at <= Timestamp::now().millis();
        Ok(PendingAction {
            id: row.id,
            mcp_server_id: row.mcp_server_id,
            tool: row.tool,
            arguments,
            policy_rule: row.policy_rule,
            status: if expired {
                "expired".into()
            } else {
                row.status
            },
            created_at: Timestamp(row.created_at),
            expires_at: Timestamp(row.expires_at),
            decided_by: row.decided_by,
            reason: row.reason,
            result_outcome: row.result_outcome,
            result_text: row.result_text,
        })
    }

    pub async fn pending_actions(&self, account_id: &str) -> Result<Vec<PendingAction>, ApiError> {
        self.account(account_id).await?;
        self.store
            .list_pending_actions(account_id, 200)
            .await?
            .into_iter()
            .map(|row| self.view(row))
            .collect()
    }

    /// One action as the people who decide see it.
    pub async fn pending_action_view(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<PendingAction, ApiError> {
        self.view(self.pending_action(account_id, id).await?)
    }

    /// A ticket as Gorgias returns it, read with the account's credentials for the person who
    /// reviews an action on it; `Err` says why it cannot be shown.
    pub async fn ticket_for_review(&self, account_id: &str, ticket: i64) -> Result<Value, String> {
        let stored = self.account(account_id).await.map_err(|e| e.to_string())?;
        let authorization = self
            .authorization(&stored.account, &stored.sealed_credentials)
            .await
            .map_err(|e| e.to_string())?;
        let base_url = self.integration.base_url(&stored.account.context);
        let target = crate::upstream::Target {
            base_url: &base_url,
            authorization: &authorization,
        };
        let request = crate::upstream::Request {
            method: http::Method::GET,
            path: format!("/api/tickets/{ticket}"),
            query: Vec::new(),
            body: None,
            encoding: crate::upstream::BodyEncoding::Json,
        };
        let response = self
            .upstream
            .send(&target, &request)
            .await
            .map_err(|e| e.to_string())?;
        if !response.status.is_success() {
            return Err(format!(
                "Gorgias answered HTTP {}",
                response.status.as_u16()
            ));
        }
        serde_json::from_slice(&response.body).map_err(|_| "Gorgias's answer is not JSON".into())
    }

    async fn pending_action(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<PendingActionRow, ApiError> {
        self.store
            .get_pending_action(account_id, id)
            .await?
            .ok_or(ApiError::NotFound("pending action"))
    }

    /// Approves an action (with `edited` arguments if given) and sends it; returns the action
    /// with the call's answer.
    pub async fn approve_action(
        &self,
        account_id: &str,
        id: &str,
        edited: Option<Map<String, Value>>,
        approver: &str,
    ) -> Result<PendingAction, ApiError> {
        let row = self.pending_action(account_id, id).await?;
        let was_edited = edited.is_some();
        let arguments = match edited {
            Some(arguments) => arguments,
            None => match self.held_arguments(&row)? {
                Value::Object(map) => map,
                _ => {
                    return Err(ApiError::Conflict(
                        "the held arguments cannot be read back; reject the action".into(),
                    ));
                }
            },
        };
        if !self
            .store
            .decide_pending_action(id, "approved", approver, None, Timestamp::now())
            .await?
        {
            return Err(ApiError::Conflict(
                "this action was already decided, or has expired".into(),
            ));
        }
        if was_edited {
            // The record keeps what was sent, not the draft that was edited.
            let plain = serde_json::to_vec(&arguments).expect("arguments serialize");
            self.store
                .set_pending_action_arguments(id, &self.vault.seal(id, &plain))
                .await?;
        }
        let tenant = match self
            .store
            .get_mcp_server(account_id, &row.mcp_server_id)
            .await?
        {
            Some(server) => self.tenant_of(server, Timestamp::now()).await?,
            None => None,
        };
        let result = match tenant {
            None => CallResult::error(
                crate::audit::Outcome::Refused,
                "Its MCP server is gone or expired; nothing was sent.".into(),
                json!({"error": {"kind": "server_gone"}}),
            ),
            Some(tenant) => {
                let call = ToolCall {
                    name: row.tool.clone(),
                    arguments,
                    client: None,
                };
                match self.call_tool_approved(&tenant, call, approver).await {
                    Ok(result) => result,
                    Err(unknown) => CallResult::error(
                        crate::audit::Outcome::Refused,
                        unknown.to_string(),
                        json!({"error": {"kind": "unknown_tool"}}),
                    ),
                }
            }
        };
        let text: String = result.text.chars().take(2000).collect();
        self.store
            .set_pending_action_result(id, result.outcome.as_str(), &text)
            .await?;
        self.view(self.pending_action(account_id, id).await?)
    }

    pub async fn reject_action(
        &self,
        account_id: &str,
        id: &str,
        reason: &str,
        who: &str,
    ) -> Result<PendingAction, ApiError> {
        self.pending_action(account_id, id).await?;
        if !self
            .store
            .decide_pending_action(id, "rejected", who, Some(reason), Timestamp::now())
            .await?
        {
            return Err(ApiError::Conflict(
                "this action was already decided, or has expired".into(),
            ));
        }
        self.view(self.pending_action(account_id, id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_comes_from_ticket_id_or_a_ticket_tools_id() {
        assert_eq!(
            ticket_id("reply_to_gorgias_customer", &json!({"ticket_id": 42})),
            Some(42)
        );
        assert_eq!(
            ticket_id("add_gorgias_internal_note", &json!({"ticket_id": "7"})),
            Some(7)
        );
        assert_eq!(
            ticket_id("update_a_gorgias_ticket_by_id", &json!({"id": 9})),
            Some(9)
        );
        // `id` of anything else is not a ticket.
        assert_eq!(
            ticket_id("update_a_gorgias_customer_by_id", &json!({"id": 9})),
            None
        );
    }

    #[test]
    fn summaries_say_who_sees_what() {
        let args = json!({"ticket_id": 5, "body_text": "hi"});
        assert_eq!(
            summary("add_gorgias_internal_note", None, &args),
            "Add an internal note to ticket #5 (agents only; the customer never sees it)"
        );
        assert_eq!(
            summary("reply_to_gorgias_customer", None, &args),
            "Send a public reply to the customer of ticket #5, on the ticket's channel"
        );
        assert_eq!(
            summary(
                "create_a_gorgias_message",
                None,
                &json!({"ticket_id": 5, "channel": "email", "public": true})
            ),
            "Add a public email message to ticket #5 (Gorgias may send it to the customer)"
        );
        assert_eq!(
            summary(
                "create_a_gorgias_message",
                None,
                &json!({"ticket_id": 5, "channel": "internal-note", "public": false})
            ),
            "Add an internal message to ticket #5"
        );
        assert_eq!(
            summary(
                "update_a_gorgias_ticket_by_id",
                Some("Update a ticket"),
                &json!({"id": 3, "status": "closed"})
            ),
            "Update a ticket (update_a_gorgias_ticket_by_id) on ticket #3"
        );
    }
}
