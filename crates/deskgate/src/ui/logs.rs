//! The Logs tab: the account's audit log of tool calls, newest first, filtered by server, tool
//! and outcome, paged with the id of the last record shown (ids are time-ordered).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::UiError;
use super::page::{Tab, account_page, when};
use super::session::Operator;
use crate::app::App;
use crate::audit::{Outcome, ToolCallQuery};

const PAGE_SIZE: u32 = 50;

const OUTCOMES: [Outcome; 8] = [
    Outcome::Ok,
    Outcome::InvalidArguments,
    Outcome::RateLimited,
    Outcome::UpstreamClientError,
    Outcome::UpstreamFailure,
    Outcome::NeedsReauth,
    Outcome::Refused,
    Outcome::Pending,
];

fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "OK",
        Outcome::InvalidArguments => "Invalid arguments",
        Outcome::RateLimited => "Rate limited",
        Outcome::UpstreamClientError => "Refused by Gorgias",
        Outcome::UpstreamFailure => "Gorgias failed",
        Outcome::NeedsReauth => "Needs reconnecting",
        Outcome::Refused => "Tool not allowed",
        Outcome::Pending => "Sent, outcome unknown",
    }
}

fn outcome_badge(o: Outcome) -> Markup {
    let class = match o {
        Outcome::Ok => "badge ok",
        Outcome::InvalidArguments
        | Outcome::UpstreamClientError
        | Outcome::Refused
        | Outcome::Pending => "badge warn",
        Outcome::RateLimited | Outcome::UpstreamFailure | Outcome::NeedsReauth => "badge bad",
    };
    html! { span class=(class) { (outcome_label(o)) } }
}

#[derive(Debug, Default, Deserialize)]
pub struct LogsQuery {
    server: Option<String>,
    tool: Option<String>,
    outcome: Option<String>,
    before: Option<String>,
}

fn blank_to_none(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `GET /ui/accounts/{id}/logs`.
pub async fn page(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<LogsQuery>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    app.audit_log.flush().await;
    let server = blank_to_none(&query.server);
    let tool = blank_to_none(&query.tool);
    let outcome_raw = blank_to_none(&query.outcome);
    let outcome = outcome_raw.as_deref().and_then(Outcome::parse);
    let bad_outcome = outcome_raw.is_some() && outcome.is_none();
    let mut rows = app
        .store
        .list_tool_calls(
            &id,
            &ToolCallQuery {
                mcp_server_id: server.clone(),
                tool: tool.clone(),
                outcome,
                before_id: blank_to_none(&query.before),
                limit: PAGE_SIZE + 1,
            },
        )
        .await?;
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let servers = app.store.list_mcp_servers(&id).await?;
    let names: HashMap<&str, &str> = servers
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let base = format!("/ui/accounts/{id}/logs");
    let filters = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("server", &server),
            ("tool", &tool),
            ("outcome", &outcome_raw),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        q.finish()
    };
    let older = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
    let filtered = server.is_some() || tool.is_some() || outcome_raw.is_some();
    Ok(account_page(
        "Logs",
        &operator,
        &stored.account,
        Tab::Logs,
        html! {
            h2 { "Tool calls" }
            p.muted { "Every tool call through this account's MCP servers. Arguments are never recorded." }
            form.filters method="get" action=(base) role="search" aria-label="Filter the tool calls" {
                div.field {
                    label for="filter-server" { "Server" }
                    select #filter-server name="server" {
                        option value="" { "All servers" }
                        @for s in &servers {
                            option value=(s.id) selected[server.as_deref() == Some(s.id.as_str())] { (s.name) }
                        }
                    }
                }
                div.field {
                    label for="filter-tool" { "Tool" }
                    input #filter-tool name="tool" list="tool-names" value=[tool.as_deref()]
                        placeholder="Any tool" autocomplete="off" spellcheck="false";
                    datalist #tool-names {
                        @for t in app.integration.catalog().tools() { option value=(t.name) {} }
                    }
                }
                div.field {
                    label for="filter-outcome" { "Outcome" }
                    select #filter-outcome name="outcome" {
                        option value="" { "Any outcome" }
                        @for o in OUTCOMES {
                            option value=(o.as_str()) selected[outcome == Some(o)] { (outcome_label(o)) }
                        }
                    }
                }
                div.actions {
                    button.button.primary type="submit" { "Filter" }
                    @if filtered { a.button href=(base) { "Clear" } }
                }
            }
            @if bad_outcome {
                p.alert role="alert" { "Unknown outcome; showing every outcome." }
            }
            @if rows.is_empty() {
                section.card.empty {
                    p {
                        @if filtered { "No tool call matches these filters." }
                        @else { "No tool calls yet. They appear here as soon as a client calls a tool." }
                    }
                }
            } @else {
                table.data #logs {
                    caption { "Tool calls, newest first" }
                    thead { tr {
                        th scope="col" { "Time" }
                        th scope="col" { "Server" }
                        th scope="col" { "Tool" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Gorgias request" }
                        th scope="col" { "Duration" }
                        th scope="col" { "Client" }
                    } }
                    tbody {
                        @for r in &rows {
                            tr data-outcome=(r.outcome.as_str()) {
                                td data-label="Time" { (when(r.at)) }
                                td data-label="Server" {
                                    @match names.get(r.mcp_server_id.as_str()) {
                                        Some(name) => (name),
                                        None => span.muted { "(deleted)" },
                                    }
                                }
                                th scope="row" data-label="Tool" { code { (r.tool) } }
                                td data-label="Outcome" {
                                    (outcome_badge(r.outcome))
                                    @if let Some(error) = &r.error { div.small.muted { (error) } }
                                }
                                td data-label="Gorgias request" {
                                    @match (&r.upstream_method, &r.upstream_path) {
                                        (Some(m), Some(p)) => {
                                            code { (m) " " (p) }
                                            @if let Some(status) = r.upstream_status { " → " (status) }
                                        }
                                        _ => span.muted { "none" },
                                    }
                                }
                                td data-label="Duration" { (r.duration_ms) " ms" }
                                td data-label="Client" {
                                    @match &r.client_name {
                                        Some(name) => { (name) @if let Some(v) = &r.client_version { " " span.muted { (v) } } }
                                        None => span.muted { "unknown" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages of tool calls" {
                @if query.before.is_some() {
                    a href={ (base) "?" (filters) } { "← Newest" }
                }
                @if let Some(older) = older {
                    a href={ (base) "?" (filters) @if !filters.is_empty() { "&" } "before=" (older) } { "Older →" }
                }
            }
        },
    ))
}
