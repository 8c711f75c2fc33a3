//! The page of one MCP server: how clients reach it and its settings, the tools it exposes
//! (with the token cost of its tool list), its usage over the last week (calls per day, errors,
//! latency percentiles, drawn from the audit log), its latest calls, and "Try this tool": a read
//! tool run from the console through the same call pipeline as an MCP client's call (filters,
//! policies, budgets, admission and the audit log all apply; the record names the console as
//! the client). Writes are not offered: a write tried by accident would act on the helpdesk.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::UiError;
use super::form::CheckedForm;
use super::logs::outcome_badge;
use super::page::{Tab, account_page, csrf_field, human_utc, notice, when};
use super::servers::{auth_label, exposure_label, filter_text, methods_text, render_preview};
use super::session::Operator;
use super::usage;
use crate::accounts::StoredAccount;
use crate::app::App;
use crate::audit::ToolCallQuery;
use crate::calls::{CallResult, ClientInfo, ToolCall};
use crate::mcp_servers::{AuthMode, McpServer};
use crate::timestamp::Timestamp;

/// Calls listed under "Recent calls".
const RECENT: usize = 10;
/// The longest result "Try this tool" shows; the rest is cut with a note.
const RESULT_CHARS: usize = 20_000;
/// How the console introduces itself in the audit log when it tries a tool.
pub const CONSOLE_CLIENT: &str = "deskgate console (try this tool)";

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    notice: Option<String>,
    /// The tool "Try a read tool" starts with (links from the Tools tab).
    tool: Option<String>,
    /// The usage chart's span.
    #[serde(default)]
    range: usage::Range,
}

/// What "Try this tool" ran (or is about to run), to show in and under its form.
struct Tried {
    tool: String,
    arguments: String,
    /// `None`: not run yet, only chosen.
    outcome: Option<Result<CallResult, String>>,
}

/// `GET /ui/accounts/{id}/servers/{server_id}`.
pub async fn page(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path((id, server_id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let server = app.mcp_server(&id, &server_id).await?;
    let chosen = query.tool.map(|tool| Tried {
        tool,
        arguments: "{}".to_owned(),
        outcome: None,
    });
    render(
        &app,
        &operator,
        &stored,
        &server,
        query.notice.as_deref(),
        chosen.as_ref(),
        query.range,
    )
    .await
}

/// `POST /ui/accounts/{id}/servers/{server_id}/try`: runs one read tool with the arguments
/// given (a JSON object) and shows the page with its result. Reading is safe to repeat, so the
/// answer is the page itself (no redirect).
pub async fn try_tool(
    State(app): State<Arc<App>>,
    Path((id, server_id)): Path<(String, String)>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    let server = app.mcp_server(&id, &server_id).await?;
    let tool = form.fields.text("tool").unwrap_or_default();
    let arguments = form.fields.text("arguments").unwrap_or_default();
    let outcome = app.try_read_tool(&server, &tool, &arguments).await;
    let status = match &outcome {
        Ok(_) => axum::http::StatusCode::OK,
        Err(_) => axum::http::StatusCode::BAD_REQUEST,
    };
    let tried = Tried {
        tool,
        arguments,
        outcome: Some(outcome),
    };
    let page = render(
        &app,
        &form.operator,
        &stored,
        &server,
        None,
        Some(&tried),
        usage::Range::default(),
    )
    .await?;
    Ok((status, page).into_response())
}

impl App {
    /// Runs a read tool of a server as a client of it would, through [`App::call_tool`]. Refused
    /// before anything runs: a tool this server does not offer, a tool that is not read-only,
    /// arguments that are not a JSON object.
    async fn try_read_tool(
        &self,
        server: &McpServer,
        name: &str,
        arguments: &str,
    ) -> Result<CallResult, String> {
        let now = Timestamp::now();
        let tenant = self
            .tenant_of(server.clone(), now)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not read the server to try a tool");
                "The server could not be read; try again.".to_owned()
            })?
            .ok_or("This server no longer serves calls (expired, or its config no longer fits the integration).")?;
        let catalog = self
            .account_catalog(&tenant.account, &tenant.sealed_credentials)
            .await;
        let tool = catalog
            .catalog
            .tool(name)
            .filter(|t| tenant.filter.matches(t))
            .ok_or_else(|| format!("“{name}” is not a tool this server offers."))?;
        if !tool.annotations.read_only {
            return Err(format!(
                "“{name}” changes the helpdesk; only read tools can be tried from the console."
            ));
        }
        let arguments = match arguments.trim() {
            "" => Map::new(),
            raw => match serde_json::from_str::<Value>(raw) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err("Arguments must be a JSON object, e.g. {\"limit\": 5}.".into()),
                Err(e) => return Err(format!("Arguments are not valid JSON: {e}.")),
            },
        };
        let call = ToolCall {
            name: name.to_owned(),
            arguments,
            client: Some(ClientInfo {
                name: CONSOLE_CLIENT.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                oauth: None,
            }),
        };
        self.call_tool(&tenant, call)
            .await
            .map_err(|_| format!("“{name}” is not a tool this server offers."))
    }
}

/// A result as the model would read it, pretty-printed when it is JSON, cut when very long.
fn result_text(result: &CallResult) -> String {
    let text = match serde_json::from_str::<Value>(&result.text) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_else(|_| result.text.clone()),
        Err(_) => result.text.clone(),
    };
    match text.char_indices().nth(RESULT_CHARS) {
        None => text,
        Some((cut, _)) => format!(
            "{}\n… (cut here: {} characters in all)",
            &text[..cut],
            text.chars().count()
        ),
    }
}

async fn render(
    app: &App,
    operator: &Operator,
    stored: &StoredAccount,
    server: &McpServer,
    notice_code: Option<&str>,
    tried: Option<&Tried>,
    range: usage::Range,
) -> Result<Markup, UiError> {
    let account = &stored.account;
    let now = Timestamp::now();
    let preview = app.preview(stored, &server.config).await;
    app.audit_log.flush().await;
    let records = app
        .store
        .list_tool_calls(
            &account.id,
            &ToolCallQuery {
                mcp_server_id: Some(server.id.clone()),
                since: Some(range.start(now)),
                limit: usage::LIMIT,
                ..Default::default()
            },
        )
        .await?;
    let recent = if records.is_empty() {
        // Older calls still make the server's history.
        app.store
            .list_tool_calls(
                &account.id,
                &ToolCallQuery {
                    mcp_server_id: Some(server.id.clone()),
                    limit: RECENT as u32,
                    ..Default::default()
                },
            )
            .await?
    } else {
        records.iter().take(RECENT).cloned().collect()
    };
    let usage = usage::usage(records.iter().map(usage::call_of), now, range);
    let read_tools: Vec<(String, String)> = match &preview {
        Ok(p) => p
            .tools
            .iter()
            .filter(|t| t.read_only)
            .map(|t| (t.name.clone(), t.title.clone()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let base = format!("/ui/accounts/{}/servers", account.id);
    let here = format!("{base}/{}", server.id);
    let logs = format!("/ui/accounts/{}/logs?server={}", account.id, server.id);
    let c = &server.config;
    Ok(account_page(
        &server.name,
        operator,
        account,
        Tab::Servers,
        html! {
            nav.breadcrumbs aria-label="MCP server" {
                a href=(base) { "MCP servers" } " / " span { (server.name) }
            }
            div.page-head {
                h2 #server-name { (server.name) }
                div.row-actions {
                    a.button href={ (here) "/edit" } { "Edit access" }
                    a.button href=(logs) { "Logs" }
                    a.button href={ (here) "/webhook" } { "Webhook" }
                    @if server.auth == AuthMode::Oauth {
                        a.button #server-access href={ (here) "/access" } { "People & applications" }
                    }
                    a.button.danger href={ (here) "/delete" } { "Delete" }
                }
            }
            (notice(notice_code))
            div.columns {
                section.card aria-labelledby="settings-heading" #server-settings {
                    h3 #settings-heading { "Settings" }
                    dl.details {
                        dt { "Authentication" } dd #server-auth { (auth_label(server)) }
                        dt { "URL" } dd {
                            @match server.auth {
                                AuthMode::Oauth => code.wrap { (app.oauth_server_url(&server.id)) }
                                AuthMode::UrlToken => span.muted { "Secret: shown once, when the server was created" }
                            }
                        }
                        dt { "Methods" } dd #server-methods {
                            (methods_text(&c.methods))
                            @if c.admin_tools { ", with admin tools" }
                        }
                        dt { "Tags" } dd { (filter_text(&c.tags)) }
                        dt { "Tools" } dd #server-tools {
                            @match &c.tools { None => "all the methods and tags allow", Some(t) => (t.join(", ")) }
                        }
                        dt { "Exposure" } dd { (exposure_label(c.tool_exposure)) @if c.chatgpt { ", with ChatGPT's search and fetch" } }
                        dt { "Policies" } dd {
                            @if c.policies.is_empty() { "None" }
                            @for rule in &c.policies { (rule.summary()) br; }
                        }
                        dt { "Budget" } dd {
                            @match c.budget {
                                None => "No limit",
                                Some(b) => {
                                    @if let Some(n) = b.calls_per_minute { (n) " calls per minute" }
                                    @if b.calls_per_minute.is_some() && b.writes_per_day.is_some() { ", " }
                                    @if let Some(n) = b.writes_per_day { (n) " writes per day" }
                                }
                            }
                        }
                        dt { "Expires" } dd { @match server.expires_at { Some(at) => (when(at)), None => "Never" } }
                        dt { "Created" } dd { (when(server.created_at)) }
                        dt { "Last changed" } dd { (when(server.updated_at)) }
                    }
                }
                (usage::section("server-usage", "h3", &here, &usage, records.len() as u32 >= usage::LIMIT))
            }
            section.card aria-labelledby="tools-heading" #server-tool-list {
                h3 #tools-heading { "Tools it exposes" }
                (render_preview(&preview))
            }
            section.card aria-labelledby="recent-heading" #server-recent {
                div.page-head {
                    h3 #recent-heading { "Recent calls" }
                    a href=(logs) { "All calls in the logs →" }
                }
                @if recent.is_empty() {
                    p.muted { "No calls yet." }
                } @else {
                    div.table-scroll {
                        table.data.compact #recent-calls {
                            caption.visually-hidden { "Recent calls of " (server.name) }
                            thead { tr {
                                th scope="col" { "When" }
                                th scope="col" { "Tool" }
                                th scope="col" { "Outcome" }
                                th scope="col" { "Duration" }
                                th scope="col" { "Client" }
                            } }
                            tbody {
                                @for r in &recent {
                                    tr {
                                        td data-label="When" { (when(r.at)) }
                                        td data-label="Tool" {
                                            a href={ (logs) "&tool=" (r.tool) } { code { (r.tool) } }
                                        }
                                        td data-label="Outcome" { (outcome_badge(r.outcome)) }
                                        td data-label="Duration" { (r.duration_ms) " ms" }
                                        td data-label="Client" { (r.client_name.as_deref().unwrap_or("—")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="try-heading" #try-tool {
                h3 #try-heading { "Try a read tool" }
                p.muted {
                    "Runs the tool against " (account.name) " exactly as a client of this server would: its filters, policies and budget apply, and the call is in its log (client “" (CONSOLE_CLIENT) "”). Only read tools are offered."
                }
                @if read_tools.is_empty() {
                    p { "This server exposes no read tool." }
                } @else {
                    form method="post" action={ (here) "/try" } #try-form {
                        (csrf_field(operator))
                        div.field {
                            label for="try-tool-name" { "Tool" }
                            select #try-tool-name name="tool" {
                                @for (name, title) in &read_tools {
                                    option value=(name) selected[tried.is_some_and(|t| &t.tool == name)] { (name) " — " (title) }
                                }
                            }
                        }
                        div.field {
                            label for="try-arguments" { "Arguments (JSON)" }
                            textarea #try-arguments name="arguments" rows="4" spellcheck="false"
                                placeholder=r#"{"limit": 5}"# aria-describedby="try-arguments-hint" {
                                (tried.map(|t| t.arguments.as_str()).unwrap_or("{}"))
                            }
                            p.hint #try-arguments-hint { "The tool's arguments as a JSON object; its schema is on the Tools tab." }
                        }
                        div.actions { button.button.primary type="submit" { "Run" } }
                    }
                }
                @if let Some((t, Some(outcome))) = tried.map(|t| (t, t.outcome.as_ref())) {
                    div #try-result aria-live="polite" {
                        @match outcome {
                            Err(why) => div.alert role="alert" #try-error { (why) }
                            Ok(result) => {
                                p {
                                    code { (t.tool) } " → " (outcome_badge(result.outcome))
                                    @if let Some(status) = result.upstream_status { " " span.muted { "Gorgias answered HTTP " (status) } }
                                    " " span.muted { "at " (human_utc(Timestamp::now())) }
                                }
                                pre.result #try-output { code { (result_text(result)) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}
